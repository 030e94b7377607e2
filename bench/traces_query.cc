// sprout-traces-query: the query half of the trace store benchmark (bench/run_traces_bench.sh).
// Three modes, each a fixed number of requests on --concurrency keep-alive connections, with
// latency percentiles in one JSON line on stdout (traceql: one line per query):
//
//   id      GET /api/traces/<id> with Accept: application/protobuf, for trace IDs sampled
//           uniformly (by --sample-seed) from the corpus's first --traces traces (the IDs are
//           TracesCorpus::TraceId(--seed, i): nothing to generate). Every answer must be 200
//           with a non-empty body; 404s and errors are counted and reported.
//   search  GET /api/search?tags=...&limit=..[&start=..&end=..], cycling through tag queries
//           whose values occur in the corpus (service.name of each service, http.status_code,
//           db.system, messaging.destination.name, and pairs); reports the summed
//           metrics.inspectedBytes of the answers, and MB/s over the run's wall time.
//   traceql GET /api/search?q=<TraceQL>&limit=..[&start=..&end=..], --requests times for each
//           query (--q, repeatable, and the lines of --q-file; in the order given); per query:
//           latency percentiles, the hits (traces) of its answers, and metrics.inspectedBytes,
//           inspectedTraces and inspectedSpans per request (their mean over the answers).
//
//   sprout-traces-query --url http://127.0.0.1:3200 --mode id --traces 200000 --requests 2000
//   sprout-traces-query --url http://127.0.0.1:3200 --mode search --requests 200
//   sprout-traces-query --mode traceql --q '{span.http.status_code >= 500}' --limit 20
//       --requests 5 --start 1767225600 --end 1767229200

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "net/http_client.h"
#include "traces_corpus.h"

namespace {

using namespace sprout;

// Value of the number `name` (the last occurrence) in a search answer, e.g. "inspectedBytes" in
// its metrics (Tempo writes uint64s as strings); 0 when absent (jsonpb omits zeros).
int64_t JsonNumber(const std::string& body, const std::string& name) {
  const std::string key = absl::StrCat("\"", name, "\"");
  size_t at = body.rfind(key);
  if (at == std::string::npos) return 0;
  at += key.size();
  while (at < body.size() && (body[at] == ':' || body[at] == ' ' || body[at] == '"')) ++at;
  int64_t v = 0;
  while (at < body.size() && body[at] >= '0' && body[at] <= '9') v = v * 10 + (body[at++] - '0');
  return v;
}
int64_t InspectedBytes(const std::string& body) { return JsonNumber(body, "inspectedBytes"); }

// Traces in a search answer: each has one "traceID" key.
int64_t Hits(const std::string& body) {
  int64_t n = 0;
  for (size_t at = 0; (at = body.find("\"traceID\"", at)) != std::string::npos; at += 9) ++n;
  return n;
}

std::string UrlEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, "%", absl::BytesToHexString(std::string(1, static_cast<char>(c))));
    }
  }
  return out;
}

std::vector<std::string> SearchTags() {
  std::vector<std::string> tags;
  for (int i = 0; i < bench::TracesCorpus::ServiceCount(); ++i) {
    tags.push_back(absl::StrCat("service.name=", bench::TracesCorpus::ServiceName(i)));
  }
  for (const char* t : {"http.status_code=500", "http.response.status_code=503", "db.system=redis",
                        "db.system=postgresql", "messaging.destination.name=orders.created",
                        "service.name=checkout http.response.status_code=200",
                        "service.name=frontend http.status_code=404",
                        "http.route=/api/v1/orders/{id}", "peer.service=payment"}) {
    tags.push_back(t);
  }
  return tags;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

// Per-run totals of the answers.
struct Run {
  std::vector<double> latencies_ms;
  int64_t ok = 0, not_found = 0, errors = 0, body_bytes = 0;
  int64_t inspected = 0, inspected_traces = 0, inspected_spans = 0, hits = 0;
  int64_t min_hits = -1, max_hits = 0;
  double wall_seconds = 0;
};

// Sends every URL once, on `concurrency` threads sharing the client's connections.
Run Send(net::HttpClient& client, const std::vector<std::string>& urls,
         const std::vector<std::pair<std::string, std::string>>& headers, int concurrency,
         bool search) {
  std::vector<std::vector<double>> latencies(concurrency);
  std::atomic<int64_t> ok{0}, not_found{0}, errors{0}, inspected{0}, inspected_traces{0},
      inspected_spans{0}, hits{0}, body_bytes{0};
  std::atomic<int64_t> min_hits{INT64_MAX}, max_hits{0};
  std::atomic<size_t> cursor{0};
  const absl::Time t0 = absl::Now();
  std::vector<std::thread> threads;
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i; (i = cursor++) < urls.size();) {
        const absl::Time s = absl::Now();
        auto response = client.Do("GET", urls[i], headers, "", absl::Seconds(600));
        latencies[t].push_back(absl::ToDoubleMilliseconds(absl::Now() - s));
        if (response.status == 200 && !response.body.empty()) {
          ++ok;
          body_bytes += static_cast<int64_t>(response.body.size());
          if (search) {
            inspected += InspectedBytes(response.body);
            inspected_traces += JsonNumber(response.body, "inspectedTraces");
            inspected_spans += JsonNumber(response.body, "inspectedSpans");
            const int64_t h = Hits(response.body);
            hits += h;
            for (int64_t m = min_hits.load(); h < m && !min_hits.compare_exchange_weak(m, h);) {
            }
            for (int64_t m = max_hits.load(); h > m && !max_hits.compare_exchange_weak(m, h);) {
            }
          }
        } else if (response.status == 404) {
          ++not_found;
        } else {
          if (errors++ == 0) {
            std::fprintf(stderr, "first error: %s: HTTP %d %s %s\n", urls[i].c_str(),
                         response.status, response.error.c_str(),
                         response.body.substr(0, 200).c_str());
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  Run run;
  run.wall_seconds = absl::ToDoubleSeconds(absl::Now() - t0);
  for (const auto& v : latencies) {
    run.latencies_ms.insert(run.latencies_ms.end(), v.begin(), v.end());
  }
  run.ok = ok;
  run.not_found = not_found;
  run.errors = errors;
  run.body_bytes = body_bytes;
  run.inspected = inspected;
  run.inspected_traces = inspected_traces;
  run.inspected_spans = inspected_spans;
  run.hits = hits;
  run.min_hits = run.ok > 0 ? min_hits.load() : 0;
  run.max_hits = max_hits;
  return run;
}

// A JSON string literal of `s`.
std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      absl::StrAppend(&out, "\\u00", absl::BytesToHexString(std::string(1, static_cast<char>(c))));
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"trace-by-ID, tag search and TraceQL search latency against Tempo's HTTP API"};
  std::string url = "http://127.0.0.1:3200";
  std::string mode = "id";
  int64_t traces = 0;
  uint64_t seed = 1, sample_seed = 42;
  int requests = 1000, concurrency = 1, limit = 20;
  int64_t start = 0, end = 0;
  std::string tenant, q_file;
  std::vector<std::string> queries;
  app.add_option("--url", url, "base URL of sprout traces' HTTP API")->capture_default_str();
  app.add_option("--mode", mode, "id, search or traceql")->capture_default_str();
  app.add_option("--traces", traces, "id: sample from the corpus's first N traces")
      ->capture_default_str();
  app.add_option("--seed", seed, "corpus seed")->capture_default_str();
  app.add_option("--sample-seed", sample_seed, "seed of the trace-ID sample")
      ->capture_default_str();
  app.add_option("--requests", requests, "requests in total (traceql: per query)")
      ->capture_default_str();
  app.add_option("--concurrency", concurrency, "concurrent connections")->capture_default_str();
  app.add_option("--limit", limit, "search, traceql: limit (Grafana sends 20)")
      ->capture_default_str();
  app.add_option("--start", start, "search, traceql: start (Unix s; 0: not sent)")
      ->capture_default_str();
  app.add_option("--end", end, "search, traceql: end (Unix s; 0: not sent)")->capture_default_str();
  app.add_option("--tenant", tenant, "X-Scope-OrgID (empty: none)");
  app.add_option("--q", queries, "traceql: a query (repeatable)");
  app.add_option("--q-file", q_file,
                 "traceql: a file of queries, one a line (blank lines and lines starting with # "
                 "are skipped)");
  CLI11_PARSE(app, argc, argv);
  if (mode != "id" && mode != "search" && mode != "traceql") {
    std::fprintf(stderr, "--mode: id, search or traceql\n");
    return 2;
  }
  if (mode == "id" && traces <= 0) {
    std::fprintf(stderr, "--mode id needs --traces\n");
    return 2;
  }
  if (!q_file.empty()) {
    std::ifstream in(q_file);
    if (!in) {
      std::fprintf(stderr, "cannot read %s\n", q_file.c_str());
      return 2;
    }
    for (std::string line; std::getline(in, line);) {
      const size_t first = line.find_first_not_of(" \t\r");
      if (first == std::string::npos || line[first] == '#') continue;
      queries.push_back(line.substr(first, line.find_last_not_of(" \t\r") + 1 - first));
    }
  }
  if (mode == "traceql" && queries.empty()) {
    std::fprintf(stderr, "--mode traceql needs --q or --q-file\n");
    return 2;
  }

  net::HttpClientOptions options;
  options.user_agent = "sprout-traces-query";
  options.max_idle_connections = concurrency;
  auto client = net::HttpClient::Create(options);
  if (!client.ok()) {
    std::fprintf(stderr, "%s\n", std::string(client.status().message()).c_str());
    return 2;
  }
  std::vector<std::pair<std::string, std::string>> headers;
  if (mode == "id") headers.emplace_back("Accept", "application/protobuf");
  if (!tenant.empty()) headers.emplace_back("X-Scope-OrgID", tenant);
  const auto search_url = [&](const std::string& param, const std::string& value) {
    std::string u =
        absl::StrCat(url, "/api/search?", param, "=", UrlEncode(value), "&limit=", limit);
    if (start > 0) absl::StrAppend(&u, "&start=", start);
    if (end > 0) absl::StrAppend(&u, "&end=", end);
    return u;
  };

  if (mode == "traceql") {
    int64_t errors = 0;
    for (const std::string& q : queries) {
      const std::vector<std::string> urls(static_cast<size_t>(requests), search_url("q", q));
      const Run run = Send(**client, urls, headers, concurrency, /*search=*/true);
      errors += run.errors;
      const double n = std::max<int64_t>(1, run.ok);
      std::printf(
          "{\"mode\": \"traceql\", \"query\": %s, \"limit\": %d, \"requests\": %zu, \"ok\": %lld, "
          "\"errors\": %lld, \"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, "
          "\"max_ms\": %.3f, \"wall_seconds\": %.3f, \"hits_per_request\": %.1f, "
          "\"min_hits\": %lld, \"max_hits\": %lld, \"response_bytes_per_request\": %.0f, "
          "\"inspected_bytes_per_request\": %.0f, \"inspected_traces_per_request\": %.0f, "
          "\"inspected_spans_per_request\": %.0f, \"inspected_bytes\": %lld}\n",
          JsonString(q).c_str(), limit, run.latencies_ms.size(), static_cast<long long>(run.ok),
          static_cast<long long>(run.errors), Percentile(run.latencies_ms, 0.5),
          Percentile(run.latencies_ms, 0.9), Percentile(run.latencies_ms, 0.99),
          Percentile(run.latencies_ms, 1.0), run.wall_seconds, run.hits / n,
          static_cast<long long>(run.min_hits), static_cast<long long>(run.max_hits),
          run.body_bytes / n, run.inspected / n, run.inspected_traces / n, run.inspected_spans / n,
          static_cast<long long>(run.inspected));
      std::fflush(stdout);
    }
    return errors == 0 ? 0 : 1;
  }

  // The request URLs, fixed before the run.
  std::vector<std::string> urls;
  uint64_t rng = sample_seed * 0x9e3779b97f4a7c15ULL + 1;
  auto next = [&] {
    uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  const auto tags = SearchTags();
  for (int i = 0; i < requests; ++i) {
    if (mode == "id") {
      const uint64_t index = next() % static_cast<uint64_t>(traces);
      urls.push_back(absl::StrCat(
          url, "/api/traces/", absl::BytesToHexString(bench::TracesCorpus::TraceId(seed, index))));
    } else {
      urls.push_back(search_url("tags", tags[i % tags.size()]));
    }
  }

  const Run run = Send(**client, urls, headers, concurrency, mode == "search");
  const double wall = run.wall_seconds;
  std::printf(
      "{\"mode\": \"%s\", \"requests\": %zu, \"ok\": %lld, \"not_found\": %lld, \"errors\": %lld, "
      "\"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f, "
      "\"wall_seconds\": %.3f, \"response_bytes\": %lld, \"inspected_bytes\": %lld, "
      "\"inspected_mb_per_second\": %.1f}\n",
      mode.c_str(), run.latencies_ms.size(), static_cast<long long>(run.ok),
      static_cast<long long>(run.not_found), static_cast<long long>(run.errors),
      Percentile(run.latencies_ms, 0.5), Percentile(run.latencies_ms, 0.9),
      Percentile(run.latencies_ms, 0.99), Percentile(run.latencies_ms, 1.0), wall,
      static_cast<long long>(run.body_bytes), static_cast<long long>(run.inspected),
      run.inspected / 1e6 / wall);
  return run.errors == 0 ? 0 : 1;
}
