#include "cmd/all/demo.h"

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "traces/generator/generator_testing.h"
#include "traces/generator/service_graphs.h"

namespace sprout::cmd::demo {
namespace {

using ::opentelemetry::proto::common::v1::KeyValue;
using ::opentelemetry::proto::metrics::v1::AGGREGATION_TEMPORALITY_CUMULATIVE;
using ::opentelemetry::proto::metrics::v1::Metric;
using ::opentelemetry::proto::trace::v1::Span;
using ::opentelemetry::proto::trace::v1::Status;

const absl::Time kStart = absl::FromUnixSeconds(1700000000);

// A clock the test moves.
struct TestClock {
  absl::Time now = kStart;
  ShopGenerator::Clock fn() {
    return [this] { return now; };
  }
};

std::map<std::string, const KeyValue*> Attrs(
    const google::protobuf::RepeatedPtrField<KeyValue>& list) {
  std::map<std::string, const KeyValue*> out;
  for (const KeyValue& kv : list) out[kv.key()] = &kv;
  return out;
}
std::string Str(const std::map<std::string, const KeyValue*>& a, const std::string& key) {
  auto it = a.find(key);
  return it == a.end() ? "" : it->second->value().string_value();
}

struct FlatSpan {
  std::string service;
  const Span* span;
};

// Every span of a request, by trace and then by span ID.
std::map<std::string, std::map<std::string, FlatSpan>> ByTrace(
    const ExportTraceServiceRequest& req) {
  std::map<std::string, std::map<std::string, FlatSpan>> out;
  for (const auto& rs : req.resource_spans()) {
    std::string service = Str(Attrs(rs.resource().attributes()), "service.name");
    for (const auto& ss : rs.scope_spans()) {
      for (const Span& s : ss.spans()) out[s.trace_id()][s.span_id()] = FlatSpan{service, &s};
    }
  }
  return out;
}

double Seconds(const Span& s) {
  return static_cast<double>(s.end_time_unix_nano() - s.start_time_unix_nano()) / 1e9;
}

TEST(ShopGenerator, DeterministicForASeedAndClock) {
  TestClock c1, c2, c3;
  ShopGenerator a({.seed = 7}, c1.fn()), b({.seed = 7}, c2.fn()), other({.seed = 8}, c3.fn());
  EXPECT_EQ(a.Traces(50).SerializeAsString(), b.Traces(50).SerializeAsString());
  EXPECT_EQ(a.Metrics().SerializeAsString(), b.Metrics().SerializeAsString());
  EXPECT_NE(a.Traces(50).SerializeAsString(), other.Traces(50).SerializeAsString());
}

TEST(ShopGenerator, ResourcesCarryTheSemanticConventionAttributes) {
  TestClock clock;
  ShopGenerator gen({.seed = 1, .environment = "staging"}, clock.fn());
  ExportTraceServiceRequest req = gen.Traces(200);
  std::set<std::string> services;
  for (const auto& rs : req.resource_spans()) {
    auto a = Attrs(rs.resource().attributes());
    services.insert(Str(a, "service.name"));
    EXPECT_EQ(Str(a, "deployment.environment.name"), "staging");
    EXPECT_EQ(Str(a, "host.name"), "shop-" + Str(a, "service.name") + "-0");
    EXPECT_FALSE(Str(a, "service.version").empty());
    ASSERT_EQ(rs.scope_spans_size(), 1);
    EXPECT_EQ(rs.scope_spans(0).scope().name(), "sprout.demo");
  }
  EXPECT_EQ(services,
            (std::set<std::string>{"frontend", "catalog", "cart", "checkout", "shipping"}));
}

// The service map of README.md: HTTP edges (client span → the callee's server span, its child),
// virtual nodes (payments, postgresql: client spans without a server span), and the queue
// (checkout's PRODUCER → shipping's CONSUMER, its child).
TEST(ShopGenerator, TopologyIsTheReadmes) {
  TestClock clock;
  ShopGenerator gen({.seed = 42}, clock.fn());
  ExportTraceServiceRequest req = gen.Traces(3000);
  EXPECT_EQ(gen.traces_generated(), 3000);
  std::set<std::pair<std::string, std::string>> edges;
  int health = 0, traces = 0;
  for (const auto& [trace_id, spans] : ByTrace(req)) {
    ++traces;
    ASSERT_EQ(trace_id.size(), 16u);
    int roots = 0;
    uint64_t last_end = 0;
    for (const auto& [id, fs] : spans) {
      const Span& s = *fs.span;
      ASSERT_EQ(id.size(), 8u);
      last_end = std::max<uint64_t>(last_end, s.end_time_unix_nano());
      ASSERT_LE(s.start_time_unix_nano(), s.end_time_unix_nano());
      auto a = Attrs(s.attributes());
      if (s.parent_span_id().empty()) {
        ++roots;
        EXPECT_EQ(s.kind(), Span::SPAN_KIND_SERVER);
        continue;
      }
      ASSERT_TRUE(spans.count(s.parent_span_id())) << s.name();
      const FlatSpan& parent = spans.at(s.parent_span_id());
      const Span& p = *parent.span;
      switch (s.kind()) {
        case Span::SPAN_KIND_SERVER:  // W3C parent: the caller's client span, in another service
          EXPECT_EQ(p.kind(), Span::SPAN_KIND_CLIENT);
          EXPECT_NE(parent.service, fs.service);
          EXPECT_EQ(Str(Attrs(p.attributes()), "peer.service"), fs.service);
          EXPECT_EQ(Str(Attrs(p.attributes()), "server.address"), fs.service);
          edges.insert({parent.service, fs.service});
          // Inside the caller's span.
          EXPECT_GE(s.start_time_unix_nano(), p.start_time_unix_nano());
          EXPECT_LE(s.end_time_unix_nano(), p.end_time_unix_nano());
          break;
        case Span::SPAN_KIND_CONSUMER:
          EXPECT_EQ(p.kind(), Span::SPAN_KIND_PRODUCER);
          EXPECT_EQ(parent.service, "checkout");
          EXPECT_EQ(fs.service, "shipping");
          EXPECT_EQ(Str(a, "messaging.system"), "kafka");
          EXPECT_EQ(Str(Attrs(p.attributes()), "messaging.system"), "kafka");
          EXPECT_EQ(Str(a, "messaging.destination.name"), "orders");
          EXPECT_GT(s.start_time_unix_nano(), p.end_time_unix_nano());  // waited in the queue
          edges.insert({parent.service, "shipping (kafka)"});
          break;
        case Span::SPAN_KIND_CLIENT:
          EXPECT_EQ(parent.service, fs.service);
          if (!Str(a, "db.system.name").empty()) {
            EXPECT_EQ(Str(a, "db.system.name"), "postgresql");
            EXPECT_EQ(Str(a, "db.system"), "postgresql");
            EXPECT_EQ(Str(a, "db.namespace"), "shop");
            EXPECT_FALSE(Str(a, "db.query.text").empty());
            EXPECT_TRUE(fs.service == "catalog" || fs.service == "cart") << fs.service;
            edges.insert({fs.service, "postgresql"});
          } else if (Str(a, "peer.service") == "payments") {
            EXPECT_EQ(fs.service, "checkout");
            edges.insert({fs.service, "payments"});
          } else {
            EXPECT_FALSE(Str(a, "http.request.method").empty());
            EXPECT_FALSE(Str(a, "peer.service").empty());
          }
          break;
        default:
          EXPECT_EQ(parent.service, fs.service);
      }
    }
    EXPECT_EQ(roots, 1);
    // The trace ends at the clock's time.
    EXPECT_EQ(last_end, static_cast<uint64_t>(absl::ToUnixNanos(kStart)));
    if (spans.size() == 1) {
      ++health;
      const Span& s = *spans.begin()->second.span;
      auto a = Attrs(s.attributes());
      EXPECT_EQ(s.name(), "GET /health");
      EXPECT_EQ(Str(a, "http.target"), "/health");  // what the seed's collector filter drops
      EXPECT_EQ(Str(a, "url.path"), "/health");
    } else {
      EXPECT_GE(spans.size(), 8u);
      EXPECT_LE(spans.size(), 15u);
    }
  }
  EXPECT_EQ(traces, 3000);
  EXPECT_EQ(edges, (std::set<std::pair<std::string, std::string>>{
                       {"frontend", "catalog"},
                       {"frontend", "cart"},
                       {"frontend", "checkout"},
                       {"checkout", "cart"},
                       {"checkout", "payments"},
                       {"checkout", "shipping (kafka)"},
                       {"catalog", "postgresql"},
                       {"cart", "postgresql"},
                   }));
  // health_fraction 0.05 over 3000 traces.
  EXPECT_GT(health, 90);
  EXPECT_LT(health, 220);
}

TEST(ShopGenerator, ServerSpansCarryHttpAttributes) {
  TestClock clock;
  ShopGenerator gen({.seed = 3}, clock.fn());
  ExportTraceServiceRequest req = gen.Traces(300);
  int server = 0;
  for (const auto& rs : req.resource_spans()) {
    for (const Span& s : rs.scope_spans(0).spans()) {
      if (s.kind() != Span::SPAN_KIND_SERVER) continue;
      ++server;
      auto a = Attrs(s.attributes());
      for (const char* key : {"http.request.method", "http.route", "url.path", "url.scheme",
                              "http.response.status_code", "server.address"}) {
        EXPECT_TRUE(a.count(key)) << key << " on " << s.name();
      }
      EXPECT_EQ(s.name(), Str(a, "http.request.method") + " " + Str(a, "http.route"));
      EXPECT_GT(a.at("http.response.status_code")->value().int_value(), 0);
    }
  }
  EXPECT_GT(server, 300);
}

// Errors: error_fraction of the (non-health) traces, each with one exception event where the
// failure started and ERROR on every span from there to the root. Slow database queries:
// slow_fraction of them take ≥ 0.3 s; the fast ones under 20 ms.
TEST(ShopGenerator, ErrorAndSlowPathFractions) {
  TestClock clock;
  ShopGenerator gen({.seed = 11, .error_fraction = 0.03, .slow_fraction = 0.04}, clock.fn());
  ExportTraceServiceRequest req = gen.Traces(5000);
  int requests = 0, failed = 0, db = 0, slow = 0;
  for (const auto& [trace_id, spans] : ByTrace(req)) {
    if (spans.size() == 1) continue;  // health check
    ++requests;
    int exceptions = 0;
    const Span* root = nullptr;
    for (const auto& [id, fs] : spans) {
      const Span& s = *fs.span;
      if (s.parent_span_id().empty()) root = &s;
      for (const auto& e : s.events()) {
        if (e.name() != "exception") continue;
        ++exceptions;
        EXPECT_EQ(s.status().code(), Status::STATUS_CODE_ERROR);
        auto ea = Attrs(e.attributes());
        EXPECT_FALSE(Str(ea, "exception.type").empty());
        EXPECT_FALSE(Str(ea, "exception.message").empty());
        // Every ancestor failed too.
        for (const Span* p = &s; !p->parent_span_id().empty();) {
          p = spans.at(p->parent_span_id()).span;
          EXPECT_EQ(p->status().code(), Status::STATUS_CODE_ERROR) << p->name();
        }
      }
      if (!Str(Attrs(s.attributes()), "db.system.name").empty()) {
        ++db;
        if (Seconds(s) >= 0.3) {
          ++slow;
          EXPECT_LE(Seconds(s), 2.5);
        } else {
          EXPECT_LE(Seconds(s), 0.02);
        }
      }
    }
    ASSERT_NE(root, nullptr);
    EXPECT_LE(exceptions, 1);
    if (exceptions == 1) {
      ++failed;
      EXPECT_EQ(root->status().code(), Status::STATUS_CODE_ERROR);
      EXPECT_EQ(Attrs(root->attributes()).at("http.response.status_code")->value().int_value(),
                500);
    } else {
      EXPECT_NE(root->status().code(), Status::STATUS_CODE_ERROR);
    }
  }
  const double error_rate = static_cast<double>(failed) / requests;
  const double slow_rate = static_cast<double>(slow) / db;
  EXPECT_GE(error_rate, 0.02);
  EXPECT_LE(error_rate, 0.05);
  EXPECT_GE(slow_rate, 0.03);
  EXPECT_LE(slow_rate, 0.05);
}

TEST(ShopGenerator, MetricsNamesTypesAndTemporality) {
  TestClock clock;
  ShopGenerator gen({.seed = 5}, clock.fn());
  clock.now += absl::Seconds(10);
  ExportTraceServiceRequest req = gen.Traces(500);
  // Server spans per service, to compare with the histograms' counts.
  std::map<std::string, uint64_t> server_spans;
  for (const auto& rs : req.resource_spans()) {
    std::string service = Str(Attrs(rs.resource().attributes()), "service.name");
    for (const Span& s : rs.scope_spans(0).spans()) {
      if (s.kind() == Span::SPAN_KIND_SERVER) ++server_spans[service];
    }
  }
  clock.now += absl::Seconds(10);
  ExportMetricsServiceRequest m = gen.Metrics();
  ASSERT_EQ(m.resource_metrics_size(), 5);
  const uint64_t start_ns = absl::ToUnixNanos(kStart);
  const uint64_t now_ns = absl::ToUnixNanos(clock.now);
  for (const auto& rm : m.resource_metrics()) {
    auto ra = Attrs(rm.resource().attributes());
    const std::string service = Str(ra, "service.name");
    EXPECT_EQ(Str(ra, "deployment.environment.name"), "demo");
    EXPECT_FALSE(Str(ra, "host.name").empty());
    std::map<std::string, const Metric*> metrics;
    for (const Metric& metric : rm.scope_metrics(0).metrics()) metrics[metric.name()] = &metric;

    ASSERT_TRUE(metrics.count("http.server.request.duration")) << service;
    const Metric& http = *metrics["http.server.request.duration"];
    EXPECT_EQ(http.unit(), "s");
    ASSERT_TRUE(http.has_histogram());
    EXPECT_EQ(http.histogram().aggregation_temporality(), AGGREGATION_TEMPORALITY_CUMULATIVE);
    uint64_t count = 0;
    for (const auto& p : http.histogram().data_points()) {
      count += p.count();
      EXPECT_EQ(p.start_time_unix_nano(), start_ns);
      EXPECT_EQ(p.time_unix_nano(), now_ns);
      EXPECT_THAT(p.explicit_bounds(), ::testing::ElementsAreArray(kHttpDurationBounds));
      ASSERT_EQ(p.bucket_counts_size(), p.explicit_bounds_size() + 1);
      uint64_t in_buckets = 0;
      for (uint64_t b : p.bucket_counts()) in_buckets += b;
      EXPECT_EQ(in_buckets, p.count());
      auto pa = Attrs(p.attributes());
      for (const char* key : {"http.request.method", "http.route", "http.response.status_code"}) {
        EXPECT_TRUE(pa.count(key)) << key;
      }
    }
    EXPECT_EQ(count, server_spans[service]) << service;

    ASSERT_TRUE(metrics.count("process.cpu.time"));
    EXPECT_TRUE(metrics["process.cpu.time"]->has_sum());
    EXPECT_TRUE(metrics["process.cpu.time"]->sum().is_monotonic());
    EXPECT_EQ(metrics["process.cpu.time"]->sum().aggregation_temporality(),
              AGGREGATION_TEMPORALITY_CUMULATIVE);
    for (const char* gauge : {"process.memory.usage", "process.thread.count", "process.uptime"}) {
      ASSERT_TRUE(metrics.count(gauge)) << gauge;
      EXPECT_TRUE(metrics[gauge]->has_gauge()) << gauge;
    }
    EXPECT_DOUBLE_EQ(metrics["process.uptime"]->gauge().data_points(0).as_double(), 20);
    if (service == "catalog" || service == "cart") {
      ASSERT_TRUE(metrics.count("db.client.operation.duration"));
      EXPECT_EQ(metrics["db.client.operation.duration"]->histogram().aggregation_temporality(),
                AGGREGATION_TEMPORALITY_CUMULATIVE);
    }
    if (service == "checkout") {
      ASSERT_TRUE(metrics.count("messaging.client.sent.messages"));
      EXPECT_TRUE(metrics["messaging.client.sent.messages"]->sum().is_monotonic());
      ASSERT_TRUE(metrics.count("shop.orders.placed"));
    }
    if (service == "shipping") {
      ASSERT_TRUE(metrics.count("messaging.client.consumed.messages"));
      EXPECT_EQ(metrics["messaging.client.consumed.messages"]->sum().aggregation_temporality(),
                AGGREGATION_TEMPORALITY_CUMULATIVE);
    }
  }
  // Cumulative: a later collection counts the earlier requests and the new ones.
  auto frontend_requests = [](const ExportMetricsServiceRequest& r) {
    uint64_t n = 0;
    for (const auto& p :
         r.resource_metrics(0).scope_metrics(0).metrics(0).histogram().data_points())
      n += p.count();
    return n;
  };
  gen.Traces(100);
  clock.now += absl::Seconds(10);
  EXPECT_GT(frontend_requests(gen.Metrics()), frontend_requests(m));
}

// Exemplars as the SDKs' aligned-bucket reservoir: per bucket the last measurement since the
// previous collection, pointing at the span measured (so Grafana links a latency to its trace).
TEST(ShopGenerator, HistogramExemplarsPointAtTheirSpans) {
  TestClock clock;
  ShopGenerator gen({.seed = 4}, clock.fn());
  ExportTraceServiceRequest req = gen.Traces(300);
  std::map<std::pair<std::string, std::string>, const Span*> spans;  // (trace, span)
  for (const auto& rs : req.resource_spans()) {
    for (const Span& s : rs.scope_spans(0).spans()) spans[{s.trace_id(), s.span_id()}] = &s;
  }
  clock.now += absl::Seconds(1);
  ExportMetricsServiceRequest m = gen.Metrics();
  int exemplars = 0;
  for (const auto& rm : m.resource_metrics()) {
    for (const Metric& metric : rm.scope_metrics(0).metrics()) {
      if (!metric.has_histogram()) continue;
      for (const auto& p : metric.histogram().data_points()) {
        EXPECT_GE(p.exemplars_size(), 1);
        EXPECT_LE(p.exemplars_size(), p.bucket_counts_size());
        for (const auto& e : p.exemplars()) {
          ++exemplars;
          auto it = spans.find({e.trace_id(), e.span_id()});
          ASSERT_NE(it, spans.end()) << metric.name();
          const Span& s = *it->second;
          // HTTP server spans and database client spans.
          EXPECT_TRUE(s.kind() == Span::SPAN_KIND_SERVER || s.kind() == Span::SPAN_KIND_CLIENT);
          EXPECT_NEAR(e.as_double(), Seconds(s), 1e-6);
          EXPECT_EQ(e.time_unix_nano(), s.end_time_unix_nano());
        }
      }
    }
  }
  EXPECT_GT(exemplars, 20);
  // Exported once: a collection with no new requests has none.
  clock.now += absl::Seconds(1);
  const ExportMetricsServiceRequest again = gen.Metrics();
  for (const auto& rm : again.resource_metrics()) {
    for (const Metric& metric : rm.scope_metrics(0).metrics()) {
      for (const auto& p : metric.histogram().data_points()) EXPECT_EQ(p.exemplars_size(), 0);
    }
  }
}

// The service map a new user sees: the shop's traces through sprout's service-graphs processor
// (Tempo's edge rules, reference tempo.md §4.2) give the README's edges, with their connection
// types: HTTP calls plain, the database by its server.address, the queue as messaging_system,
// payments and the users (root spans) as virtual nodes.
TEST(ShopGenerator, ServiceGraphIsTheReadmes) {
  using traces::generator::CollectingSink;
  TestClock clock;
  ShopGenerator gen({.seed = 9}, clock.fn());
  ExportTraceServiceRequest req = gen.Traces(400);
  traces::generator::Registry registry(traces::generator::RegistryConfig{});
  auto processor = traces::generator::ServiceGraphsProcessor::Create(
      traces::generator::ServiceGraphConfig{}, &registry);
  ASSERT_TRUE(processor.ok()) << processor.status();
  for (const auto& rs : req.resource_spans()) (*processor)->PushSpans(rs, clock.now);
  (*processor)->Expire(clock.now + absl::Seconds(11));  // past `wait`: the virtual nodes
  CollectingSink sink;
  registry.Collect(clock.now + absl::Seconds(11), sink);
  std::set<std::string> edges;
  const std::string prefix = "traces_service_graph_request_total{";
  for (const auto& [series, value] : sink.Values()) {
    if (series.rfind(prefix, 0) == 0 && value > 0) edges.insert(series.substr(prefix.size() - 1));
  }
  EXPECT_EQ(edges,
            (std::set<std::string>{
                R"({client="frontend",server="catalog"})",
                R"({client="frontend",server="cart"})",
                R"({client="frontend",server="checkout"})",
                R"({client="checkout",server="cart"})",
                R"({client="catalog",connection_type="database",server="postgres"})",
                R"({client="cart",connection_type="database",server="postgres"})",
                R"({client="checkout",connection_type="messaging_system",server="shipping"})",
                R"({client="checkout",connection_type="virtual_node",server="payments"})",
                // Root spans: the shop's users, and the health checks of every service.
                R"({client="user",connection_type="virtual_node",server="frontend"})",
                R"({client="user",connection_type="virtual_node",server="catalog"})",
                R"({client="user",connection_type="virtual_node",server="cart"})",
                R"({client="user",connection_type="virtual_node",server="checkout"})",
                R"({client="user",connection_type="virtual_node",server="shipping"})",
            }));
  // Failed requests show on the edges too.
  bool failed = false;
  for (const auto& [series, value] : sink.Values()) {
    if (series.rfind("traces_service_graph_request_failed_total{", 0) == 0 && value > 0)
      failed = true;
  }
  EXPECT_TRUE(failed);
}

TEST(ParseDemoEndpoint, GrpcAndHttpForms) {
  auto e = ParseDemoEndpoint("localhost:4317");
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->grpc);
  EXPECT_EQ(e->target, "localhost:4317");
  e = ParseDemoEndpoint("grpc://127.0.0.1:4317");
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->grpc);
  EXPECT_EQ(e->target, "127.0.0.1:4317");
  e = ParseDemoEndpoint("http://localhost:4318/");
  ASSERT_TRUE(e.ok());
  EXPECT_FALSE(e->grpc);
  EXPECT_EQ(e->base_url, "http://localhost:4318");
  e = ParseDemoEndpoint("https://otlp.example/prefix");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->base_url, "https://otlp.example/prefix");
  for (const char* bad :
       {"", "localhost", "localhost:", ":4317", "ftp://x:1", "http://", "h:port"}) {
    EXPECT_FALSE(ParseDemoEndpoint(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace sprout::cmd::demo
