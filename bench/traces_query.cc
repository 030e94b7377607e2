// sprout-traces-query: the query half of the trace store benchmark (bench/run_traces_bench.sh).
// Two modes, each a fixed number of requests on --concurrency keep-alive connections, with
// latency percentiles in one JSON line on stdout:
//
//   id      GET /api/traces/<id> with Accept: application/protobuf, for trace IDs sampled
//           uniformly (by --sample-seed) from the corpus's first --traces traces (the IDs are
//           TracesCorpus::TraceId(--seed, i): nothing to generate). Every answer must be 200
//           with a non-empty body; 404s and errors are counted and reported.
//   search  GET /api/search?tags=...&limit=..[&start=..&end=..], cycling through tag queries
//           whose values occur in the corpus (service.name of each service, http.status_code,
//           db.system, messaging.destination.name, and pairs); reports the summed
//           metrics.inspectedBytes of the answers, and MB/s over the run's wall time.
//
//   sprout-traces-query --url http://127.0.0.1:3200 --mode id --traces 200000 --requests 2000
//   sprout-traces-query --url http://127.0.0.1:3200 --mode search --requests 200

#include <algorithm>
#include <atomic>
#include <cstdio>
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

// Value of "inspectedBytes" in a search answer's metrics (Tempo writes uint64s as strings).
int64_t InspectedBytes(const std::string& body) {
  const std::string key = "\"inspectedBytes\"";
  size_t at = body.rfind(key);
  if (at == std::string::npos) return 0;
  at += key.size();
  while (at < body.size() && (body[at] == ':' || body[at] == ' ' || body[at] == '"')) ++at;
  int64_t v = 0;
  while (at < body.size() && body[at] >= '0' && body[at] <= '9') v = v * 10 + (body[at++] - '0');
  return v;
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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"trace-by-ID and search latency against Tempo's HTTP API"};
  std::string url = "http://127.0.0.1:3200";
  std::string mode = "id";
  int64_t traces = 0;
  uint64_t seed = 1, sample_seed = 42;
  int requests = 1000, concurrency = 1, limit = 20;
  int64_t start = 0, end = 0;
  std::string tenant;
  app.add_option("--url", url, "base URL of sprout traces' HTTP API")->capture_default_str();
  app.add_option("--mode", mode, "id or search")->capture_default_str();
  app.add_option("--traces", traces, "id: sample from the corpus's first N traces")
      ->capture_default_str();
  app.add_option("--seed", seed, "corpus seed")->capture_default_str();
  app.add_option("--sample-seed", sample_seed, "seed of the trace-ID sample")
      ->capture_default_str();
  app.add_option("--requests", requests, "requests in total")->capture_default_str();
  app.add_option("--concurrency", concurrency, "concurrent connections")->capture_default_str();
  app.add_option("--limit", limit, "search: limit")->capture_default_str();
  app.add_option("--start", start, "search: start (Unix s; 0: not sent)")->capture_default_str();
  app.add_option("--end", end, "search: end (Unix s; 0: not sent)")->capture_default_str();
  app.add_option("--tenant", tenant, "X-Scope-OrgID (empty: none)");
  CLI11_PARSE(app, argc, argv);
  if (mode != "id" && mode != "search") {
    std::fprintf(stderr, "--mode: id or search\n");
    return 2;
  }
  if (mode == "id" && traces <= 0) {
    std::fprintf(stderr, "--mode id needs --traces\n");
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
      std::string u = absl::StrCat(url, "/api/search?tags=", UrlEncode(tags[i % tags.size()]),
                                   "&limit=", limit);
      if (start > 0) absl::StrAppend(&u, "&start=", start);
      if (end > 0) absl::StrAppend(&u, "&end=", end);
      urls.push_back(std::move(u));
    }
  }

  std::vector<std::vector<double>> latencies(concurrency);
  std::atomic<int64_t> ok{0}, not_found{0}, errors{0}, inspected{0}, body_bytes{0};
  std::atomic<size_t> cursor{0};
  const absl::Time t0 = absl::Now();
  std::vector<std::thread> threads;
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i; (i = cursor++) < urls.size();) {
        const absl::Time s = absl::Now();
        auto response = (*client)->Do("GET", urls[i], headers, "", absl::Seconds(60));
        latencies[t].push_back(absl::ToDoubleMilliseconds(absl::Now() - s));
        if (response.status == 200 && !response.body.empty()) {
          ++ok;
          body_bytes += static_cast<int64_t>(response.body.size());
          if (mode == "search") inspected += InspectedBytes(response.body);
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
  const double wall = absl::ToDoubleSeconds(absl::Now() - t0);
  std::vector<double> all;
  for (const auto& v : latencies) all.insert(all.end(), v.begin(), v.end());
  std::printf(
      "{\"mode\": \"%s\", \"requests\": %zu, \"ok\": %lld, \"not_found\": %lld, \"errors\": %lld, "
      "\"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f, "
      "\"wall_seconds\": %.3f, \"response_bytes\": %lld, \"inspected_bytes\": %lld, "
      "\"inspected_mb_per_second\": %.1f}\n",
      mode.c_str(), all.size(), static_cast<long long>(ok.load()),
      static_cast<long long>(not_found.load()), static_cast<long long>(errors.load()),
      Percentile(all, 0.5), Percentile(all, 0.9), Percentile(all, 0.99), Percentile(all, 1.0), wall,
      static_cast<long long>(body_bytes.load()), static_cast<long long>(inspected.load()),
      inspected.load() / 1e6 / wall);
  return errors.load() == 0 ? 0 : 1;
}
