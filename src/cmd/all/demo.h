// The telemetry of a small fictional shop, for `sprout demo` (see README.md, "sprout demo").
//
// ShopGenerator makes whole traces of the shop's services calling each other (HTTP, a Kafka
// queue, a PostgreSQL database, an external payment API), with errors and slow queries now and
// then, and the services' metrics (OTel semantic conventions, cumulative temporality) derived
// from the same requests. Deterministic for a given seed and clock; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace sprout::cmd::demo {

using ::opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest;
using ::opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;

struct ShopOptions {
  uint64_t seed = 1;
  double error_fraction = 0.03;      // traces (health checks excluded) with a failure
  double slow_fraction = 0.04;       // database queries on the slow path (0.3–2.5 s)
  double health_fraction = 0.05;     // traces that are one `GET /health` server span
  std::string environment = "demo";  // deployment.environment.name
};

// The shop's services, in the order their resources appear.
inline constexpr const char* kServices[] = {"frontend", "catalog", "cart", "checkout", "shipping"};

// Explicit bucket bounds (seconds) of http.server.request.duration, as the semantic conventions
// advise, and of db.client.operation.duration.
inline constexpr double kHttpDurationBounds[] = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                                 0.5,   0.75, 1,     2.5,  5,     7.5, 10};
inline constexpr double kDbDurationBounds[] = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10};

// Where `sprout demo` sends: `host:port` or `grpc://host:port` → OTLP/gRPC (plaintext);
// `http://host:port[/prefix]` → OTLP/HTTP protobuf to <url>/v1/traces and <url>/v1/metrics, as
// the Collector's otlphttp exporter; `https://` the same over TLS.
struct DemoEndpoint {
  bool grpc = true;
  std::string target;    // gRPC: host:port
  std::string base_url;  // HTTP: the URL without a trailing slash
};
absl::StatusOr<DemoEndpoint> ParseDemoEndpoint(std::string_view endpoint);

class ShopGenerator {
 public:
  using Clock = std::function<absl::Time()>;

  // `now` is read once here (the start of every cumulative series) and once per trace and
  // per metrics collection.
  ShopGenerator(ShopOptions options, Clock now);

  // Appends `n` whole traces (each ending at now(); one ResourceSpans per service and trace)
  // and records their requests for the metrics.
  void AddTraces(int n, ExportTraceServiceRequest* out);
  ExportTraceServiceRequest Traces(int n) {
    ExportTraceServiceRequest out;
    AddTraces(n, &out);
    return out;
  }

  // Every service's metrics at now(): cumulative since construction.
  ExportMetricsServiceRequest Metrics();

  int64_t traces_generated() const { return traces_; }
  int64_t spans_generated() const { return spans_; }

  struct Node;  // a span of a trace being built (demo.cc)

 private:
  // The last measurement of a bucket since the previous collection, as the OTel SDKs' aligned
  // histogram exemplar reservoir keeps (the span it was measured in).
  struct Exemplar {
    bool set = false;
    double value = 0;
    absl::Time time;
    std::string trace_id, span_id;
  };
  struct Histogram {
    std::vector<uint64_t> buckets;
    std::vector<Exemplar> exemplars;  // per bucket
    uint64_t count = 0;
    double sum = 0, min = 0, max = 0;
  };
  // (service, method, route, status code, error.type)
  using HttpKey = std::tuple<std::string, std::string, std::string, int, std::string>;
  // (service, operation, collection)
  using DbKey = std::tuple<std::string, std::string, std::string>;
  struct ServiceState {
    double cpu_user = 0, cpu_system = 0;  // seconds
    int64_t sent = 0, consumed = 0, orders = 0;
  };

  double Uniform();  // [0, 1)
  double Between(double lo, double hi);
  void AddTrace(ExportTraceServiceRequest* out);
  void Record(const Node& node, const std::string& trace_id, const std::string& span_id,
              absl::Time end);
  static void Observe(Histogram* h, const double* bounds, size_t n, double value,
                      Exemplar exemplar);

  ShopOptions options_;
  Clock now_;
  absl::Time start_;
  std::mt19937_64 rng_;
  int64_t traces_ = 0, spans_ = 0;
  std::map<HttpKey, Histogram> http_;
  std::map<DbKey, Histogram> db_;
  std::map<std::string, ServiceState> state_;
};

}  // namespace sprout::cmd::demo
