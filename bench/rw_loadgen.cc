// sprout-rw-loadgen: sends the same node_exporter-like remote-write 1.0 stream to any receiver
// (Prometheus, VictoriaMetrics, sprout metrics), for bench/run_metrics_bench.sh.
//
//   sprout-rw-loadgen --url http://127.0.0.1:9090/api/v1/write
//   sprout-rw-loadgen --url http://127.0.0.1:8080/api/v1/push --series 20000 --scrapes 10
//       --server-pid 1234 --tenant bench
//
// The stream: --series series (bench/rw_series.h: ~330 node_exporter metric names over hosts,
// ~8 labels each), --scrapes scrapes --interval apart in sample time (default start: now minus
// scrapes × interval, aligned to the interval), sent as fast as the server answers. Series are
// sharded by a hash of their labels over --concurrency threads, each with its own keep-alive
// connection, so one series always travels on one connection in time order; a request holds
// --batch series with one sample each (protobuf WriteRequest, snappy block, remote write 1.0
// headers). Scrapes are separated by a barrier: every shard finishes scrape k before any starts
// k+1, so per-scrape figures (wall time, and the server's CPU when --server-pid is given, read
// from /proc) are the server's cost of exactly that scrape. Every request body is built and
// compressed before the first one is sent (--build-per-scrape builds each scrape's bodies
// between scrapes instead, outside the timed windows, for when memory is short).
//
// --realtime paces the stream as a live Prometheus would: scrape k is sent when the wall clock
// reaches its sample time (start: the next whole interval after the bodies are built), so
// --series S --interval 1 is a steady S samples/s (bench/run_all_load.sh); the waits are not in
// the timed windows.
//
// --protocol v2 sends the same stream as remote write 2.0 (io.prometheus.write.v2.Request: a
// symbol table per request, labels as references; Content-Type
// application/x-protobuf;proto=io.prometheus.write.v2.Request, X-Prometheus-Remote-Write-Version
// 2.0.0). --protocol otlp sends it as OTLP/HTTP metrics (an ExportMetricsServiceRequest per
// request, bench/rw_series.h BuildOtlpRequest: a resource per host, a Sum or Gauge per metric
// name, a data point per series; protobuf, gzip as the Collector's otlphttp exporter sends by
// default; Content-Type application/x-protobuf) to e.g. sprout metrics' /otlp/v1/metrics.
//
// Output: one JSON object on stdout (requests, failed requests by status, samples, elapsed,
// samples/s, first scrape vs later scrapes, each scrape). Exit status 0 even when requests
// failed (the JSON says so); 2 on bad flags.

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "net/compression.h"
#include "net/http_client.h"
#include "rw_series.h"

namespace {

using namespace sprout;

// utime + stime of a process in seconds, or -1 if it cannot be read.
double ProcessCpuSeconds(int pid) {
  if (pid <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = text.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return -1;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0;
  // Fields after the name start at field 3 (state); utime is 14, stime 15.
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// A reusable barrier whose last arrival runs `on_complete` before anyone continues.
class Barrier {
 public:
  explicit Barrier(int n) : n_(n) {}
  template <typename F>
  void Arrive(F on_complete) {
    std::unique_lock lock(mu_);
    const int generation = generation_;
    if (++arrived_ == n_) {
      on_complete();
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
      return;
    }
    cv_.wait(lock, [&] { return generation_ != generation; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int n_;
  int arrived_ = 0;
  int generation_ = 0;
};

struct ScrapeTiming {
  double seconds = 0;
  double server_cpu_seconds = -1;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"remote-write 1.0/2.0 and OTLP load generator: node_exporter-like series"};
  std::string url;
  int64_t series_count = 200000;
  int scrapes = 40;
  int64_t interval_s = 15;
  int64_t start_ms = 0;
  int batch = 2000;
  int concurrency = 4;
  uint64_t seed = 1;
  std::string tenant;
  int server_pid = 0;
  bool build_per_scrape = false;
  int print_series = 0;
  double timeout_s = 120;
  bool realtime = false;
  std::string protocol = "v1";
  app.add_option("--url", url, "remote-write endpoint, e.g. http://127.0.0.1:9090/api/v1/write")
      ->required();
  app.add_option("--series", series_count, "series in the stream")->capture_default_str();
  app.add_option("--scrapes", scrapes, "scrapes (one sample per series each)")
      ->capture_default_str();
  app.add_option("--interval", interval_s, "seconds between scrapes, in sample time")
      ->capture_default_str();
  app.add_option("--start-ms", start_ms,
                 "timestamp of scrape 0 (ms); 0: now - scrapes*interval, aligned to the interval");
  app.add_option("--batch", batch, "series (samples) per request")->capture_default_str();
  app.add_option("--concurrency", concurrency, "connections; series are sharded over them")
      ->capture_default_str();
  app.add_option("--seed", seed, "the series set and its values follow from it")
      ->capture_default_str();
  app.add_option("--tenant", tenant, "sent as X-Scope-OrgID");
  app.add_option("--server-pid", server_pid,
                 "the receiver's pid: its CPU (utime+stime) is read at each scrape boundary");
  app.add_flag("--build-per-scrape", build_per_scrape,
               "build each scrape's bodies between scrapes instead of all up front");
  app.add_option("--print-series", print_series, "print the first N label sets to stderr");
  app.add_option("--timeout", timeout_s, "seconds per request")->capture_default_str();
  app.add_flag("--realtime", realtime,
               "send scrape k when the wall clock reaches its sample time (a live stream)");
  app.add_option("--protocol", protocol,
                 "v1 (prometheus.WriteRequest), v2 (remote write 2.0) or otlp (OTLP/HTTP "
                 "protobuf, gzip)")
      ->check(CLI::IsMember({"v1", "v2", "otlp"}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  const bool v2 = protocol == "v2";
  const bool otlp = protocol == "otlp";
  if (series_count <= 0 || scrapes <= 0 || batch <= 0 || concurrency <= 0 || interval_s <= 0) {
    std::fprintf(stderr, "--series, --scrapes, --batch, --concurrency, --interval must be > 0\n");
    return 2;
  }
  const int64_t interval_ms = interval_s * 1000;
  if (start_ms == 0 && !realtime) {
    const int64_t now_ms = absl::ToUnixMillis(absl::Now());
    start_ms = (now_ms - scrapes * interval_ms) / interval_ms * interval_ms;
  }

  if (start_ms == 0) {  // realtime: the first whole interval at least 2 s from now
    const int64_t now_ms = absl::ToUnixMillis(absl::Now()) + 2000;
    start_ms = (now_ms + interval_ms - 1) / interval_ms * interval_ms;
  }
  // Realtime: wait until scrape k's sample time on the wall clock.
  const auto wait_for_scrape = [&](int k) {
    if (realtime) absl::SleepFor(absl::FromUnixMillis(start_ms + k * interval_ms) - absl::Now());
  };

  const absl::Time gen_start = absl::Now();
  bench::NodeExporterSeries set = bench::NodeExporterSeries::Generate(series_count, seed);
  for (int i = 0; i < print_series && i < static_cast<int>(set.size()); ++i) {
    std::string line;
    for (const auto& [name, value] : set.series(i).labels)
      absl::StrAppend(&line, line.empty() ? "{" : ", ", name, "=\"", value, "\"");
    std::fprintf(stderr, "%s} = %g\n", line.c_str(), set.value(i));
  }

  // Shards: series indices per connection, in series order; then requests of `batch`.
  std::vector<std::vector<uint32_t>> shard_series(concurrency);
  for (size_t i = 0; i < set.size(); ++i)
    shard_series[bench::ShardOf(set.series(i), concurrency)].push_back(static_cast<uint32_t>(i));
  std::vector<std::vector<std::vector<uint32_t>>> shard_requests(concurrency);
  for (int s = 0; s < concurrency; ++s) {
    const auto& all = shard_series[s];
    for (size_t b = 0; b < all.size(); b += batch)
      shard_requests[s].emplace_back(all.begin() + b,
                                     all.begin() + std::min(all.size(), b + batch));
  }

  // bodies[scrape][shard][request]
  std::vector<std::vector<std::vector<std::string>>> bodies(build_per_scrape ? 1 : scrapes);
  size_t raw_bytes = 0, compressed_bytes = 0, built_requests = 0;
  auto build = [&](int scrape, std::vector<std::vector<std::string>>* out) {
    out->assign(concurrency, {});
    for (int s = 0; s < concurrency; ++s) {
      for (const auto& indices : shard_requests[s]) {
        std::string raw =
            otlp ? bench::BuildOtlpRequest(set, indices, scrape, start_ms, interval_ms)
            : v2 ? bench::BuildWriteRequestV2(set, indices, scrape, start_ms, interval_ms)
                 : bench::BuildWriteRequest(set, indices, scrape, start_ms, interval_ms);
        auto compressed = net::Compress(otlp ? net::Codec::kGzip : net::Codec::kSnappy, raw);
        if (!compressed.ok()) {
          std::fprintf(stderr, "compress: %s\n",
                       std::string(compressed.status().message()).c_str());
          std::exit(1);
        }
        raw_bytes += raw.size();
        compressed_bytes += compressed->size();
        ++built_requests;
        (*out)[s].push_back(std::move(*compressed));
      }
    }
  };
  double build_seconds = 0;
  if (!build_per_scrape) {
    for (int k = 0; k < scrapes; ++k) {
      if (k > 0) set.Advance();
      build(k, &bodies[k]);
    }
  } else {
    build(0, &bodies[0]);
  }
  build_seconds = absl::ToDoubleSeconds(absl::Now() - gen_start);

  net::HttpClientOptions options;
  options.user_agent = "sprout-rw-loadgen";
  options.max_idle_connections = concurrency;
  options.max_response_body = 4096;
  auto client = net::HttpClient::Create(options);
  if (!client.ok()) {
    std::fprintf(stderr, "%s\n", std::string(client.status().message()).c_str());
    return 2;
  }
  std::vector<std::pair<std::string, std::string>> headers = {
      {"Content-Encoding", otlp ? "gzip" : "snappy"},
      {"Content-Type", v2 ? "application/x-protobuf;proto=io.prometheus.write.v2.Request"
                          : "application/x-protobuf"}};
  if (!otlp) headers.emplace_back("X-Prometheus-Remote-Write-Version", v2 ? "2.0.0" : "0.1.0");
  if (!tenant.empty()) headers.emplace_back("X-Scope-OrgID", tenant);

  std::atomic<int64_t> requests{0}, failed{0}, samples_sent{0}, samples_acked{0};
  std::mutex status_mu;
  std::map<std::string, int64_t> statuses;  // "204", "400", "error" (transport)
  std::string first_failure;
  std::vector<ScrapeTiming> timings(scrapes);
  Barrier barrier(concurrency);
  wait_for_scrape(0);
  absl::Time scrape_start = absl::Now();
  double cpu_at_scrape_start = ProcessCpuSeconds(server_pid);
  const double cpu_at_start = cpu_at_scrape_start;
  const absl::Time start = scrape_start;
  double excluded_seconds = 0;  // per-scrape builds, not part of the send

  std::vector<std::thread> threads;
  for (int s = 0; s < concurrency; ++s) {
    threads.emplace_back([&, s] {
      for (int k = 0; k < scrapes; ++k) {
        const auto& mine = bodies[build_per_scrape ? 0 : k][s];
        for (size_t r = 0; r < mine.size(); ++r) {
          const int64_t n = static_cast<int64_t>(shard_requests[s][r].size());
          net::HttpClientResponse response =
              (*client)->Do("POST", url, headers, mine[r], absl::Seconds(timeout_s));
          ++requests;
          samples_sent += n;
          const std::string key = response.status == 0 ? "error" : std::to_string(response.status);
          const bool ok = response.status >= 200 && response.status < 300;
          if (ok) samples_acked += n;
          std::lock_guard lock(status_mu);
          ++statuses[key];
          if (!ok && failed++ == 0) {
            first_failure = response.status == 0
                                ? response.error
                                : absl::StrCat("HTTP ", response.status, ": ", response.body);
            std::fprintf(stderr, "first failure: %s\n", first_failure.c_str());
          }
        }
        barrier.Arrive([&] {
          const absl::Time now = absl::Now();
          const double cpu = ProcessCpuSeconds(server_pid);
          timings[k].seconds = absl::ToDoubleSeconds(now - scrape_start);
          if (cpu >= 0 && cpu_at_scrape_start >= 0)
            timings[k].server_cpu_seconds = cpu - cpu_at_scrape_start;
          if (build_per_scrape && k + 1 < scrapes) {
            set.Advance();
            build(k + 1, &bodies[0]);
          }
          if (k + 1 < scrapes) wait_for_scrape(k + 1);
          scrape_start = absl::Now();
          excluded_seconds += absl::ToDoubleSeconds(scrape_start - now);
          cpu_at_scrape_start = ProcessCpuSeconds(server_pid);
        });
      }
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start) - excluded_seconds;
  const double cpu_end = ProcessCpuSeconds(server_pid);

  double later_seconds = 0, later_cpu = 0;
  for (int k = 1; k < scrapes; ++k) {
    later_seconds += timings[k].seconds;
    later_cpu += timings[k].server_cpu_seconds;
  }
  const int64_t per_scrape = static_cast<int64_t>(set.size());
  auto rate = [](double n, double d) { return d > 0 ? n / d : 0.0; };
  std::string out = "{";
  absl::StrAppend(&out, "\"url\": \"", url, "\", \"series\": ", set.size(),
                  ", \"hosts\": ", set.hosts(), ", \"labels_per_series\": ");
  int64_t kinds[3] = {0, 0, 0};  // counters, gauges, constants
  for (size_t i = 0; i < set.size(); ++i) {
    const bench::ValueKind kind = set.series(i).kind;
    ++kinds[kind == bench::ValueKind::kCounter ? 0 : kind == bench::ValueKind::kGauge ? 1 : 2];
  }
  absl::StrAppend(&out, absl::StrFormat("%.2f", set.AverageLabels()), ", \"counters\": ", kinds[0],
                  ", \"gauges\": ", kinds[1], ", \"constants\": ", kinds[2]);
  absl::StrAppend(&out, ", \"scrapes\": ", scrapes, ", \"start_ms\": ", start_ms,
                  ", \"interval_ms\": ", interval_ms, ", \"concurrency\": ", concurrency,
                  ", \"batch\": ", batch);
  absl::StrAppend(
      &out, ", \"request_bytes_avg\": ", built_requests ? compressed_bytes / built_requests : 0,
      ", \"request_raw_bytes_avg\": ", built_requests ? raw_bytes / built_requests : 0,
      ", \"build_seconds\": ", absl::StrFormat("%.2f", build_seconds));
  absl::StrAppend(&out, ", \"requests\": ", requests.load(),
                  ", \"failed_requests\": ", failed.load(), ", \"status_codes\": {");
  bool first = true;
  for (const auto& [code, count] : statuses) {
    absl::StrAppend(&out, first ? "" : ", ", "\"", code, "\": ", count);
    first = false;
  }
  absl::StrAppend(&out, "}, \"samples_sent\": ", samples_sent.load(),
                  ", \"samples_acked\": ", samples_acked.load());
  absl::StrAppend(&out, absl::StrFormat(", \"elapsed_seconds\": %.3f, \"samples_per_second\": %.0f",
                                        elapsed, rate(samples_sent.load(), elapsed)));
  if (server_pid > 0) {
    absl::StrAppend(&out,
                    absl::StrFormat(", \"server_cpu_seconds\": %.2f", cpu_end - cpu_at_start));
  }
  absl::StrAppend(
      &out, absl::StrFormat(", \"first_scrape\": {\"seconds\": %.3f, \"samples_per_second\": %.0f",
                            timings[0].seconds, rate(per_scrape, timings[0].seconds)));
  if (server_pid > 0)
    absl::StrAppend(
        &out, absl::StrFormat(", \"server_cpu_seconds\": %.2f", timings[0].server_cpu_seconds));
  absl::StrAppend(&out, "}");
  if (scrapes > 1) {
    absl::StrAppend(
        &out,
        absl::StrFormat(", \"later_scrapes\": {\"seconds\": %.3f, \"samples_per_second\": %.0f",
                        later_seconds, rate(per_scrape * (scrapes - 1), later_seconds)));
    if (server_pid > 0)
      absl::StrAppend(&out, absl::StrFormat(", \"server_cpu_seconds\": %.2f", later_cpu));
    absl::StrAppend(&out, "}");
  }
  absl::StrAppend(&out, ", \"per_scrape\": [");
  for (int k = 0; k < scrapes; ++k) {
    absl::StrAppend(&out, k ? ", " : "", absl::StrFormat("{\"seconds\": %.3f", timings[k].seconds));
    if (server_pid > 0)
      absl::StrAppend(
          &out, absl::StrFormat(", \"server_cpu_seconds\": %.2f", timings[k].server_cpu_seconds));
    absl::StrAppend(&out, "}");
  }
  absl::StrAppend(&out, "]");
  if (!first_failure.empty()) {
    std::string escaped;
    for (char c : first_failure.substr(0, 300)) {
      if (c == '"' || c == '\\') escaped.push_back('\\');
      if (c == '\n') {
        escaped += "\\n";
        continue;
      }
      if (static_cast<unsigned char>(c) < 0x20) continue;
      escaped.push_back(c);
    }
    absl::StrAppend(&out, ", \"first_failure\": \"", escaped, "\"");
  }
  absl::StrAppend(&out, "}");
  std::printf("%s\n", out.c_str());
  return 0;
}
