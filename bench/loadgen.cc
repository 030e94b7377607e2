// sprout-loadgen: sends OTLP export requests (traces or metrics) over gRPC or HTTP/protobuf at a
// fixed item rate or flat out, and reports how many items the server acknowledged.
//
//   sprout-loadgen --endpoint localhost:4317 --rate 10000 --duration 30s
//   sprout-loadgen --protocol http --endpoint localhost:4318 --rate 0 --concurrency 4
//   sprout-loadgen --endpoint localhost:4317 --rate 0 --duration 20s --concurrency 4
//   sprout-loadgen --signal metrics --rate 10000 --batch 100     (data points)
//
// Metrics: each request holds --batch data points: gauges and cumulative monotonic sums, 10
// points per metric, each point with 4 attributes, under one resource; timestamps advance.
//
// Spans look like the Collector testbed's: a resource with service.name, spans with a few
// attributes (sequence numbers plus --attributes string attributes), 64 pre-serialized requests
// per thread with distinct trace and span IDs, sent in turn. The final report is one JSON line
// on stdout.

#include <atomic>
#include <csignal>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/go_duration.h"
#include "net/grpc_client.h"
#include "net/http_client.h"
#include "otlp/signal.h"

namespace {

using namespace sprout;
namespace pb = otlp::pb;

std::atomic<bool> g_stop{false};

void SetString(pb::common::KeyValue* kv, const std::string& key, const std::string& value) {
  kv->set_key(key);
  kv->mutable_value()->set_string_value(value);
}

pb::trace_service::ExportTraceServiceRequest MakeTemplate(int spans, int attributes,
                                                          int health_every) {
  pb::trace_service::ExportTraceServiceRequest request;
  auto* rs = request.add_resource_spans();
  SetString(rs->mutable_resource()->add_attributes(), "service.name", "load-generator");
  SetString(rs->mutable_resource()->add_attributes(), "host.name", "bench-host");
  auto* ss = rs->add_scope_spans();
  ss->mutable_scope()->set_name("sprout-loadgen");
  ss->mutable_scope()->set_version("1.0");
  for (int i = 0; i < spans; ++i) {
    auto* span = ss->add_spans();
    span->set_name("load-generator-span");
    span->set_kind(pb::trace::Span::SPAN_KIND_CLIENT);
    span->set_trace_id(std::string(16, '\0'));
    span->set_span_id(std::string(8, '\0'));
    span->set_parent_span_id(std::string(8, '\0'));
    auto* seq = span->add_attributes();
    seq->set_key("load_generator.span_seq_num");
    seq->mutable_value()->set_int_value(i);
    auto* trace_seq = span->add_attributes();
    trace_seq->set_key("load_generator.trace_seq_num");
    trace_seq->mutable_value()->set_int_value(0);
    if (health_every > 0) {
      // An HTTP server span; every health_every-th one a health check (for filter benchmarks).
      SetString(span->add_attributes(), "http.target",
                i % health_every == health_every - 1 ? "/health" : "/api/items");
    }
    for (int a = 0; a < attributes; ++a) {
      SetString(span->add_attributes(), absl::StrCat("attr.", a), absl::StrCat("value-", a));
    }
    span->mutable_status()->set_code(pb::trace::Status::STATUS_CODE_OK);
  }
  return request;
}

// Gives the request's spans fresh IDs and timestamps.
void Refresh(pb::trace_service::ExportTraceServiceRequest* request, std::mt19937_64& rng,
             int64_t request_seq) {
  const uint64_t now = static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()));
  for (auto& span : *request->mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans()) {
    uint64_t ids[4] = {rng(), rng(), rng(), rng()};
    span.mutable_trace_id()->assign(reinterpret_cast<const char*>(ids), 16);
    span.mutable_span_id()->assign(reinterpret_cast<const char*>(&ids[2]), 8);
    span.mutable_parent_span_id()->assign(reinterpret_cast<const char*>(&ids[3]), 8);
    span.set_start_time_unix_nano(now - 1000000);
    span.set_end_time_unix_nano(now);
    span.mutable_attributes(1)->mutable_value()->set_int_value(request_seq);
  }
}

pb::metrics_service::ExportMetricsServiceRequest MakeMetrics(int points, int64_t seq) {
  pb::metrics_service::ExportMetricsServiceRequest request;
  auto* rm = request.add_resource_metrics();
  SetString(rm->mutable_resource()->add_attributes(), "service.name", "load-generator");
  SetString(rm->mutable_resource()->add_attributes(), "service.instance.id", "loadgen-1");
  SetString(rm->mutable_resource()->add_attributes(), "host.name", "bench-host");
  auto* sm = rm->add_scope_metrics();
  sm->mutable_scope()->set_name("sprout-loadgen");
  const uint64_t now = static_cast<uint64_t>(absl::ToUnixNanos(absl::Now())) + seq * 1000000;
  const int per_metric = 10;
  for (int m = 0; m * per_metric < points; ++m) {
    auto* metric = sm->add_metrics();
    metric->set_name(absl::StrCat("loadgen.metric.", m));
    metric->set_unit(m % 2 == 0 ? "By" : "1");
    google::protobuf::RepeatedPtrField<pb::metrics::NumberDataPoint>* dps;
    if (m % 2 == 0) {
      metric->mutable_sum()->set_is_monotonic(true);
      metric->mutable_sum()->set_aggregation_temporality(
          pb::metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
      dps = metric->mutable_sum()->mutable_data_points();
    } else {
      dps = metric->mutable_gauge()->mutable_data_points();
    }
    for (int p = 0; p < per_metric && m * per_metric + p < points; ++p) {
      auto* dp = dps->Add();
      SetString(dp->add_attributes(), "http.request.method", p % 2 ? "GET" : "POST");
      SetString(dp->add_attributes(), "http.response.status_code", absl::StrCat(200 + p % 3));
      SetString(dp->add_attributes(), "http.route", absl::StrCat("/api/v1/items/", p));
      SetString(dp->add_attributes(), "server.address", "backend-1");
      dp->set_start_time_unix_nano(now - 60000000000ULL);
      dp->set_time_unix_nano(now);
      dp->set_as_double(static_cast<double>(seq * 10 + p));
    }
  }
  return request;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"OTLP/gRPC trace load generator"};
  std::string endpoint = "localhost:4317";
  double rate = 10000;
  std::string duration_text = "30s";
  int batch = 100;
  int attributes = 8;
  int concurrency = 2;
  std::string compression = "none";
  std::string signal = "traces";
  std::string protocol = "grpc";
  app.add_option("--endpoint", endpoint, "host:port of an OTLP receiver (gRPC or HTTP)")
      ->capture_default_str();
  app.add_option("--protocol", protocol,
                 "grpc, or http (OTLP/HTTP protobuf, one keep-alive connection per thread)")
      ->capture_default_str();
  app.add_option("--rate", rate, "spans per second in total; 0 sends flat out")
      ->capture_default_str();
  app.add_option("--duration", duration_text, "how long to send (Go duration)")
      ->capture_default_str();
  app.add_option("--batch", batch, "spans per request")->capture_default_str();
  app.add_option("--attributes", attributes, "extra string attributes per span")
      ->capture_default_str();
  app.add_option("--concurrency", concurrency, "sending threads")->capture_default_str();
  app.add_option("--compression", compression, "none or gzip")->capture_default_str();
  app.add_option("--signal", signal, "traces or metrics")->capture_default_str();
  int health_every = 0;
  app.add_option("--health-every", health_every,
                 "give spans an http.target attribute, every Nth one \"/health\" (0: none)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  auto duration = ParseGoDuration(duration_text);
  if (!duration.ok()) {
    std::fprintf(stderr, "--duration: %s\n", std::string(duration.status().message()).c_str());
    return 2;
  }
  std::signal(SIGINT, [](int) { g_stop = true; });
  std::signal(SIGTERM, [](int) { g_stop = true; });

  net::GrpcClientOptions options;
  options.target = endpoint;
  options.tls = false;
  options.compression = compression == "none" ? "" : compression;
  options.user_agent = "sprout-loadgen";
  auto client = net::GrpcClient::Create(options);
  if (!client.ok()) {
    std::fprintf(stderr, "%s\n", std::string(client.status().message()).c_str());
    return 2;
  }
  if (protocol != "grpc" && protocol != "http") {
    std::fprintf(stderr, "--protocol: grpc or http, not %s\n", protocol.c_str());
    return 2;
  }
  net::HttpClientOptions http_options;
  http_options.user_agent = "sprout-loadgen";
  http_options.max_idle_connections = concurrency;
  auto http_client = net::HttpClient::Create(http_options);
  if (!http_client.ok()) {
    std::fprintf(stderr, "%s\n", std::string(http_client.status().message()).c_str());
    return 2;
  }
  const std::vector<std::pair<std::string, std::string>> http_headers = {
      {"Content-Type", "application/x-protobuf"}};
  if (compression == "gzip" && protocol == "http") {
    std::fprintf(stderr, "--compression gzip is for gRPC only\n");
    return 2;
  }

  std::atomic<int64_t> acked_spans{0}, failed_spans{0}, requests{0}, failed_requests{0};
  std::atomic<int64_t> request_seq{0};
  const absl::Time start = absl::Now();
  const absl::Time end = start + *duration;
  const double per_thread_rate = rate / concurrency;
  std::vector<std::thread> threads;
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(std::random_device{}() + t);
      // Requests are serialized up front, so the generator spends its CPU on sending only.
      auto request = MakeTemplate(batch, attributes, health_every);
      std::vector<std::string> pool;
      for (int i = 0; i < 64; ++i) {
        if (signal == "metrics") {
          pool.push_back(MakeMetrics(batch, request_seq++).SerializeAsString());
          continue;
        }
        Refresh(&request, rng, request_seq++);
        pool.push_back(request.SerializeAsString());
      }
      const std::string method = signal == "metrics"
                                     ? otlp::SignalTraits<otlp::Signal::kMetrics>::kGrpcMethod
                                     : otlp::SignalTraits<otlp::Signal::kTraces>::kGrpcMethod;
      const std::string url =
          absl::StrCat("http://", endpoint, signal == "metrics" ? "/v1/metrics" : "/v1/traces");
      size_t next = 0;
      int64_t sent_spans = 0;
      while (!g_stop && absl::Now() < end) {
        if (per_thread_rate > 0) {
          // Sends the next request when its share of the schedule is due.
          const absl::Time due = start + absl::Seconds(sent_spans / per_thread_rate);
          const absl::Time now = absl::Now();
          if (due > now) absl::SleepFor(std::min(due - now, end - now));
          if (absl::Now() >= end || g_stop) break;
        }
        net::GrpcCallResult result;
        const std::string& body = pool[next++ % pool.size()];
        if (protocol == "http") {
          net::HttpClientResponse response =
              (*http_client)->Do("POST", url, http_headers, body, absl::Seconds(10));
          if (response.status != 200) {
            result.code = absl::StatusCode::kUnavailable;
            result.message =
                response.status == 0 ? response.error : absl::StrCat("HTTP ", response.status);
          }
        } else {
          result = (*client)->CallSerialized(method, body, absl::Seconds(10));
        }
        ++requests;
        sent_spans += batch;
        if (result.code == absl::StatusCode::kOk) {
          acked_spans += batch;
        } else {
          failed_spans += batch;
          if (failed_requests++ == 0) {
            std::fprintf(stderr, "first failure: code %d: %s\n", static_cast<int>(result.code),
                         result.message.c_str());
          }
          // An unreachable server answers at once; do not spin.
          if (result.code == absl::StatusCode::kUnavailable) absl::SleepFor(absl::Milliseconds(5));
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  std::printf(
      "{\"requests\": %lld, \"failed_requests\": %lld, \"acked_spans\": %lld, "
      "\"failed_spans\": %lld, \"elapsed_seconds\": %.3f, \"acked_spans_per_second\": %.1f}\n",
      static_cast<long long>(requests.load()), static_cast<long long>(failed_requests.load()),
      static_cast<long long>(acked_spans.load()), static_cast<long long>(failed_spans.load()),
      elapsed, acked_spans.load() / elapsed);
  return 0;
}
