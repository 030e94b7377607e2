// sprout-traces-loadgen: sends the pinned span corpus (bench/traces_corpus.h) over OTLP/gRPC,
// in corpus order, on several concurrent calls, flat out, and reports what the server
// acknowledged. Stops after --spans spans (whole traces; the corpus's first traces) or after
// --duration, whichever comes first.
//
//   sprout-traces-loadgen --endpoint localhost:4317 --spans 2000000 --concurrency 4
//
// With --pregenerate (the default) every request is built and serialized before the first is
// sent, so the generator's CPU during the send is the sending only (≈ 400 bytes of memory per
// span); --pregenerate=false builds requests on a separate thread while sending (bounded queue),
// for corpora that do not fit in memory.
//
// A request is acknowledged when the call returns OK; its spans are counted as acknowledged less
// the response's partial_success.rejected_spans. The final report is one JSON line on stdout,
// with `traces` (the corpus's first traces whose requests were all acknowledged: trace IDs
// 0..traces-1, see TracesCorpus::TraceId) and `last_span_end_unix_nano` for a query client;
// `generated_traces` and `corpus_spans` count what was built (more when --duration cut the
// run short).

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/time/clock.h"
#include "base/go_duration.h"
#include "net/grpc_client.h"
#include "otlp/signal.h"
#include "traces_corpus.h"

namespace {

using namespace sprout;
std::atomic<bool> g_stop{false};

struct Batch {
  std::string body;
  int spans = 0;
  size_t index = 0;        // position in corpus order
  int64_t traces_end = 0;  // the corpus's trace count after this batch
};

// Corpus batches in order, produced ahead by one thread (or all up front).
class BatchQueue {
 public:
  BatchQueue(const bench::TracesCorpusOptions& options, int64_t spans, int batch, size_t capacity)
      : corpus_(options), total_(spans), batch_(batch), capacity_(capacity) {}

  // Builds the next batch; false once the corpus has `total_` spans.
  bool Produce() {
    if (corpus_.spans() >= total_ || g_stop) return false;
    corpus_.NextBatch(static_cast<int>(std::min<int64_t>(batch_, total_ - corpus_.spans())),
                      &request_);
    Batch b;
    b.spans = 0;
    b.index = produced_++;
    b.traces_end = corpus_.traces();
    for (const auto& rs : request_.resource_spans()) {
      for (const auto& ss : rs.scope_spans()) b.spans += ss.spans_size();
    }
    for (const auto& rs : request_.resource_spans()) {
      for (const auto& ss : rs.scope_spans()) {
        for (const auto& span : ss.spans()) {
          last_end_ = std::max<uint64_t>(last_end_, span.end_time_unix_nano());
        }
      }
    }
    request_.SerializeToString(&b.body);
    bytes_ += static_cast<int64_t>(b.body.size());
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return queue_.size() < capacity_ || g_stop; });
    queue_.push_back(std::move(b));
    not_empty_.notify_one();
    return true;
  }
  void Finish() {
    std::lock_guard lock(mu_);
    done_ = true;
    not_empty_.notify_all();
  }
  bool Pop(Batch* out) {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return !queue_.empty() || done_ || g_stop; });
    if (queue_.empty() || g_stop) return false;
    *out = std::move(queue_.front());
    queue_.pop_front();
    not_full_.notify_one();
    return true;
  }
  void Wake() {
    std::lock_guard lock(mu_);
    not_full_.notify_all();
    not_empty_.notify_all();
  }
  const bench::TracesCorpus& corpus() const { return corpus_; }
  int64_t bytes() const { return bytes_; }
  uint64_t last_end() const { return last_end_; }

 private:
  bench::TracesCorpus corpus_;
  otlp::pb::trace_service::ExportTraceServiceRequest request_;
  const int64_t total_;
  const int batch_;
  const size_t capacity_;
  int64_t bytes_ = 0;
  uint64_t last_end_ = 0;
  size_t produced_ = 0;
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<Batch> queue_;
  bool done_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"OTLP/gRPC load generator sending the pinned trace corpus"};
  std::string endpoint = "localhost:4317";
  int64_t spans = 1000000;
  std::string duration_text = "1h";
  int batch = 1000;
  int concurrency = 4;
  uint64_t seed = 1;
  uint64_t start_time = 0;
  std::string trace_interval_text = "100us";
  bool pregenerate = true;
  std::string compression = "none";
  std::string tenant;
  app.add_option("--endpoint", endpoint, "host:port of an OTLP/gRPC receiver")
      ->capture_default_str();
  app.add_option("--spans", spans, "corpus spans to send (whole traces)")->capture_default_str();
  app.add_option("--duration", duration_text, "stop after this long at the latest (Go duration)")
      ->capture_default_str();
  app.add_option("--batch", batch, "spans per request (at least; whole traces)")
      ->capture_default_str();
  app.add_option("--concurrency", concurrency, "concurrent calls (sending threads)")
      ->capture_default_str();
  app.add_option("--seed", seed, "corpus seed")->capture_default_str();
  app.add_option("--start-time", start_time,
                 "corpus start (Unix ns); 0: now minus 1 s per 10,000 traces, so the corpus "
                 "ends about now")
      ->capture_default_str();
  app.add_option("--trace-interval", trace_interval_text,
                 "corpus time between consecutive traces' starts (Go duration); e.g. 86400ms "
                 "spreads 1 M traces (about 10 M spans) over 24 h")
      ->capture_default_str();
  app.add_option("--pregenerate", pregenerate, "build every request before sending")
      ->capture_default_str();
  app.add_option("--compression", compression, "none or gzip")->capture_default_str();
  app.add_option("--tenant", tenant, "X-Scope-OrgID metadata (empty: none)");
  CLI11_PARSE(app, argc, argv);

  auto duration = ParseGoDuration(duration_text);
  if (!duration.ok()) {
    std::fprintf(stderr, "--duration: %s\n", std::string(duration.status().message()).c_str());
    return 2;
  }
  auto trace_interval = ParseGoDuration(trace_interval_text);
  if (!trace_interval.ok() || *trace_interval <= absl::ZeroDuration()) {
    std::fprintf(stderr, "--trace-interval: %s\n",
                 trace_interval.ok() ? "must be positive"
                                     : std::string(trace_interval.status().message()).c_str());
    return 2;
  }
  std::signal(SIGINT, [](int) { g_stop = true; });
  std::signal(SIGTERM, [](int) { g_stop = true; });

  bench::TracesCorpusOptions options;
  options.seed = seed;
  options.start_time_unix_nano = start_time;
  options.trace_interval_nanos = static_cast<uint64_t>(absl::ToInt64Nanoseconds(*trace_interval));
  if (start_time == 0) {
    // ~10 spans per trace, trace_interval apart in corpus time (100 µs: spans/100,000 s).
    const uint64_t now = static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()));
    options.start_time_unix_nano =
        now - static_cast<uint64_t>(spans / 10) * options.trace_interval_nanos;
  }

  net::GrpcClientOptions client_options;
  client_options.target = endpoint;
  client_options.tls = false;
  client_options.compression = compression == "none" ? "" : compression;
  client_options.user_agent = "sprout-traces-loadgen";
  if (!tenant.empty()) client_options.headers.emplace_back("x-scope-orgid", tenant);
  auto client = net::GrpcClient::Create(client_options);
  if (!client.ok()) {
    std::fprintf(stderr, "%s\n", std::string(client.status().message()).c_str());
    return 2;
  }

  BatchQueue queue(options, spans, batch, pregenerate ? SIZE_MAX : 64);
  std::thread producer;
  const absl::Time gen_start = absl::Now();
  if (pregenerate) {
    while (queue.Produce()) {
    }
    queue.Finish();
  } else {
    producer = std::thread([&] {
      while (queue.Produce()) {
      }
      queue.Finish();
    });
  }
  const double gen_seconds = absl::ToDoubleSeconds(absl::Now() - gen_start);

  std::atomic<int64_t> acked{0}, rejected{0}, failed{0}, requests{0}, failed_requests{0};
  // Per batch (corpus order): its traces_end once acknowledged, 0 before.
  std::mutex done_mu;
  std::vector<int64_t> done_batches;
  const std::string method = otlp::SignalTraits<otlp::Signal::kTraces>::kGrpcMethod;
  const absl::Time start = absl::Now();
  const absl::Time end = start + *duration;
  std::vector<std::thread> threads;
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&] {
      Batch b;
      while (!g_stop && absl::Now() < end && queue.Pop(&b)) {
        // A refused request (e.g. RESOURCE_EXHAUSTED) is retried after a pause, as an exporter
        // would; the run counts it once as failed.
        bool counted_failure = false;
        for (;;) {
          net::GrpcCallResult result = (*client)->CallSerialized(method, b.body, absl::Seconds(30));
          ++requests;
          if (result.code == absl::StatusCode::kOk) {
            otlp::pb::trace_service::ExportTraceServiceResponse response;
            int64_t r = 0;
            if (response.ParseFromString(result.response))
              r = response.partial_success().rejected_spans();
            acked += b.spans - r;
            {
              std::lock_guard lock(done_mu);
              if (done_batches.size() <= b.index) done_batches.resize(b.index + 1);
              done_batches[b.index] = b.traces_end;
            }
            rejected += r;
            break;
          }
          if (!counted_failure) {
            counted_failure = true;
            if (failed_requests++ == 0) {
              std::fprintf(stderr, "first failure: code %d: %s\n", static_cast<int>(result.code),
                           result.message.c_str());
            }
          }
          if (g_stop || absl::Now() >= end) {
            failed += b.spans;
            break;
          }
          absl::SleepFor(absl::Milliseconds(50));
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  g_stop = true;
  queue.Wake();
  if (producer.joinable()) producer.join();
  // The corpus's first traces whose batches were all acknowledged.
  int64_t acked_traces = 0;
  for (int64_t end_of_batch : done_batches) {
    if (end_of_batch == 0) break;
    acked_traces = end_of_batch;
  }
  std::printf(
      "{\"requests\": %lld, \"failed_requests\": %lld, \"acked_spans\": %lld, "
      "\"rejected_spans\": %lld, \"failed_spans\": %lld, \"traces\": %lld, \"generated_traces\": "
      "%lld, "
      "\"corpus_spans\": %lld, "
      "\"otlp_bytes\": %lld, \"seed\": %llu, \"start_time_unix_nano\": %llu, "
      "\"last_span_end_unix_nano\": %llu, \"generate_seconds\": %.3f, \"elapsed_seconds\": %.3f, "
      "\"acked_spans_per_second\": %.1f}\n",
      static_cast<long long>(requests.load()), static_cast<long long>(failed_requests.load()),
      static_cast<long long>(acked.load()), static_cast<long long>(rejected.load()),
      static_cast<long long>(failed.load()), static_cast<long long>(acked_traces),
      static_cast<long long>(queue.corpus().traces()),
      static_cast<long long>(queue.corpus().spans()), static_cast<long long>(queue.bytes()),
      static_cast<unsigned long long>(seed),
      static_cast<unsigned long long>(options.start_time_unix_nano),
      static_cast<unsigned long long>(queue.last_end()), gen_seconds, elapsed,
      acked.load() / elapsed);
  return 0;
}
