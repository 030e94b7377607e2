// The `sprout` exporters over real stores on temporary directories: what an exporter consumes is
// read back from the store, the tenant comes from the request's metadata with multitenancy, and
// the stores' refusals reach the pipeline as the Collector classifies exporter errors.
#include "cmd/all/store_exporters.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "collector/components.h"
#include "collector/service.h"
#include "collector/service_config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/config/metrics_config.h"
#include "metrics/store/store.h"
#include "net/http_client.h"
#include "otlp/consumer_error.h"
#include "otlp/json.h"
#include "storage/testing.h"
#include "traces/store/trace_store.h"
#include "yaml-cpp/yaml.h"

namespace sprout::cmd {
namespace {

using ::testing::HasSubstr;
using TracesRequest = otlp::pb::trace_service::ExportTraceServiceRequest;
using MetricsRequest = otlp::pb::metrics_service::ExportMetricsServiceRequest;

constexpr int64_t kNowMs = 1700000000000;

template <typename R>
R FromJson(const std::string& json) {
  R r;
  absl::Status s = otlp::ParseJson(json, &r);
  EXPECT_TRUE(s.ok()) << s;
  return r;
}

// A /health probe span of shop (http.target /health) in trace 0a0a…0a.
TracesRequest HealthSpan() {
  return FromJson<TracesRequest>(R"({"resourceSpans":[{"resource":{"attributes":[
      {"key":"service.name","value":{"stringValue":"shop"}}]},
    "scopeSpans":[{"spans":[
      {"traceId":"0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a","spanId":"3333333333333333","name":"GET",
       "kind":2,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000001000000",
       "attributes":[{"key":"http.target","value":{"stringValue":"/health"}}]}]}]}]})");
}

// One trace (id 0102…10) of two spans: shop's GET /cart (server) calling db's SELECT (client).
TracesRequest TwoSpans() {
  return FromJson<TracesRequest>(R"({"resourceSpans":[{"resource":{"attributes":[
      {"key":"service.name","value":{"stringValue":"shop"}}]},
    "scopeSpans":[{"spans":[
      {"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"1111111111111111","name":"GET /cart",
       "kind":2,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000100000000"},
      {"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"2222222222222222",
       "parentSpanId":"1111111111111111","name":"SELECT","kind":3,
       "startTimeUnixNano":"1700000000010000000","endTimeUnixNano":"1700000000050000000"}]}]}]})");
}
const std::string kTraceId("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10", 16);

// A cumulative monotonic sum `shop.orders` (unit {order}) of service shop (instance i-1), one
// point (7 at kNowMs) with an exemplar of trace 0102…10; the Prometheus name with the
// remote-write exporter's default suffixes is `shop_orders_total`.
MetricsRequest OneCounter(int temporality = 2) {
  return FromJson<MetricsRequest>(absl::StrCat(R"({"resourceMetrics":[{"resource":{"attributes":[
      {"key":"service.name","value":{"stringValue":"shop"}},
      {"key":"service.instance.id","value":{"stringValue":"i-1"}}]},
    "scopeMetrics":[{"metrics":[
      {"name":"shop.orders","unit":"{order}","sum":{"aggregationTemporality":)",
                                               temporality, R"(,"isMonotonic":true,"dataPoints":[
        {"timeUnixNano":"1700000000000000000","asInt":"7","exemplars":[
          {"timeUnixNano":"1699999999000000000","asInt":"1",
           "traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"1111111111111111"}]}]}}
    ]}]}]})"));
}

template <otlp::Signal S>
otlp::Batch<S> BatchOf(const typename otlp::Batch<S>::Request& request) {
  otlp::Batch<S> batch;
  *batch.mutable_request() = request;
  return batch;
}

otlp::Context WithOrg(const std::string& org) {
  otlp::Context c;
  c.metadata = {{"x-scope-orgid", org}};
  return c;
}

// A TCP port nothing listens on now (bound to port 0, then closed).
int UnusedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return 0;
  }
  close(fd);
  return ntohs(addr.sin_port);
}

class StoreExportersTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = storage::testing::FreshTempDir("store-exporters"); }
  void TearDown() override {
    if (traces_ != nullptr) traces_->Close();
    if (metrics_ != nullptr) metrics_->Close();
    std::filesystem::remove_all(dir_);
  }

  traces::store::TraceStore& Traces(int64_t rate_limit_bytes = 0) {
    traces::store::TraceStoreOptions o;
    o.wal_dir = dir_ + "/traces-wal";
    o.ingestion_rate_limit_bytes = rate_limit_bytes;
    o.ingestion_burst_size_bytes = rate_limit_bytes;
    traces_ = std::make_unique<traces::store::TraceStore>(std::move(o));
    absl::Status s = traces_->Start();
    EXPECT_TRUE(s.ok()) << s;
    return *traces_;
  }
  metrics::MetricsStore& Metrics(double ingestion_rate = 0, bool start = true) {
    metrics::MetricsStoreOptions o;
    o.config = metrics::LocalDefaults();
    o.config.tsdb_dir = dir_ + "/tsdb";
    o.config.compactor_compaction_interval = absl::ZeroDuration();
    if (ingestion_rate > 0) {
      o.config.ingestion_rate = ingestion_rate;
      o.config.ingestion_burst_size = static_cast<int64_t>(ingestion_rate);
    }
    o.registry = &store_registry_;
    o.now_ms = [] { return kNowMs; };
    metrics_ = std::make_unique<metrics::MetricsStore>(std::move(o));
    if (start) {
      absl::Status s = metrics_->Start();
      EXPECT_TRUE(s.ok()) << s;
    }
    return *metrics_;
  }

  // The exporter `id` from the factory over `targets`, its telemetry in registry_.
  template <otlp::Signal S>
  absl::StatusOr<collector::ConsumerComponentPtr<S>> Create(const StoreExporterTargets& targets,
                                                            std::string_view id) {
    auto factory = NewStoreExporterFactory(targets);
    collector::CreateSettings settings{*collector::ComponentID::Parse(id), {}};
    settings.telemetry.metrics = &registry_;
    auto config = factory->CreateDefaultConfig();
    if constexpr (S == otlp::Signal::kTraces) return factory->CreateTraces(settings, *config);
    if constexpr (S == otlp::Signal::kMetrics) return factory->CreateMetrics(settings, *config);
  }

  // Spans of the trace in `tenant`'s store.
  int SpansOf(const std::string& tenant) {
    auto found = traces_->FindTraceByID(tenant, kTraceId, 0, 0);
    EXPECT_TRUE(found.ok()) << found.status();
    if (!found.ok() || !found->has_value()) return 0;
    int spans = 0;
    for (const auto& rs : (*found)->resource_spans()) {
      for (const auto& ss : rs.scope_spans()) spans += ss.spans_size();
    }
    return spans;
  }

  // `tenant`'s series of `name` with their samples, through the store's querier.
  std::map<std::string, std::vector<std::pair<int64_t, double>>> SamplesOf(
      const std::string& tenant, const std::string& name) {
    std::map<std::string, std::vector<std::pair<int64_t, double>>> out;
    const std::vector<metrics::tsdb::Matcher> m = {
        metrics::tsdb::Matcher::MustCreate(metrics::tsdb::Matcher::Type::kEqual, "__name__", name)};
    absl::Status s =
        metrics_->SelectSamples(tenant, m, INT64_MIN, INT64_MAX,
                                [&](const metrics::tsdb::Labels& labels,
                                    std::span<const metrics::tsdb::QuerySample> samples) {
                                  for (const auto& q : samples)
                                    out[labels.ToString()].emplace_back(q.t, q.v);
                                });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }

  double Counter(const std::string& line_prefix) {
    const std::string text = registry_.RenderText() + store_registry_.RenderText();
    const size_t at = text.find(line_prefix + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + line_prefix.size() + 1));
  }

  std::string dir_;
  MetricsRegistry registry_;
  MetricsRegistry store_registry_;
  std::unique_ptr<traces::store::TraceStore> traces_;
  std::unique_ptr<metrics::MetricsStore> metrics_;
};

TEST_F(StoreExportersTest, TracesAreInTheStoreWhenTheExportIsAnswered) {
  auto& store = Traces();
  StoreExporterTargets targets;
  targets.traces = std::make_shared<TraceStoreConsumer>(
      &store, TenantSelector{false, "single-tenant"}, &registry_);
  auto exporter = Create<otlp::Signal::kTraces>(targets, "sprout/traces");
  ASSERT_TRUE(exporter.ok()) << exporter.status();
  // Metadata is ignored without multitenancy: the single tenant.
  ASSERT_TRUE(
      (*exporter)->Consume(WithOrg("team-a"), BatchOf<otlp::Signal::kTraces>(TwoSpans())).ok());
  EXPECT_EQ(SpansOf("single-tenant"), 2);
  EXPECT_EQ(SpansOf("team-a"), 0);
  EXPECT_EQ(Counter("otelcol_exporter_sent_spans_total{exporter=\"sprout/traces\"}"), 2);
  EXPECT_EQ(Counter("tempo_distributor_spans_received_total{tenant=\"single-tenant\"}"), 2);
  // Answered after the WAL append: a store reopened on the same directory replays the trace.
  traces_->Close();
  Traces();
  EXPECT_EQ(SpansOf("single-tenant"), 2);
}

// A batch as the receivers make it (its wire bytes, undecoded) is stored from those bytes: the
// same spans, and the request is never decoded when no hook (the generator) asks for it.
TEST_F(StoreExportersTest, AReceivedBatchIsStoredFromItsWireBytesWithoutDecoding) {
  auto& store = Traces();
  TraceStoreConsumer consumer(&store, TenantSelector{false, "single-tenant"}, &registry_);
  auto batch = otlp::Batch<otlp::Signal::kTraces>::Parse(TwoSpans().SerializeAsString());
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_TRUE(consumer.Consume({}, *batch).ok());
  EXPECT_FALSE(batch->decoded());
  EXPECT_EQ(SpansOf("single-tenant"), 2);
  EXPECT_EQ(Counter("tempo_distributor_spans_received_total{tenant=\"single-tenant\"}"), 2);
}

TEST_F(StoreExportersTest, WithMultitenancyTheTenantIsTheRequestsOrgID) {
  auto& store = Traces();
  StoreExporterTargets targets;
  targets.traces =
      std::make_shared<TraceStoreConsumer>(&store, TenantSelector{true, "unused"}, &registry_);
  auto exporter = Create<otlp::Signal::kTraces>(targets, "sprout/traces");
  ASSERT_TRUE(exporter.ok());
  otlp::Context mixed_case;
  mixed_case.metadata = {{"X-Scope-OrgID", "team-b"}};
  ASSERT_TRUE(
      (*exporter)->Consume(WithOrg("team-a"), BatchOf<otlp::Signal::kTraces>(TwoSpans())).ok());
  EXPECT_EQ(SpansOf("team-a"), 2);
  EXPECT_EQ(SpansOf("unused"), 0);
  ASSERT_TRUE((*exporter)->Consume(mixed_case, BatchOf<otlp::Signal::kTraces>(TwoSpans())).ok());
  EXPECT_EQ(SpansOf("team-b"), 2);
  // No org ID: refused as the receivers of `sprout traces` refuse it (401).
  absl::Status none = (*exporter)->Consume({}, BatchOf<otlp::Signal::kTraces>(TwoSpans()));
  EXPECT_TRUE(absl::IsUnauthenticated(none)) << none;
  EXPECT_EQ(none.message(), "no org id");
  EXPECT_EQ(Counter("otelcol_exporter_send_failed_spans_total{exporter=\"sprout/traces\"}"), 2);
  // An org ID that is no valid tenant ID can never succeed: permanent.
  absl::Status bad =
      (*exporter)->Consume(WithOrg("../x"), BatchOf<otlp::Signal::kTraces>(TwoSpans()));
  EXPECT_TRUE(absl::IsInvalidArgument(bad)) << bad;
  EXPECT_TRUE(otlp::IsPermanent(bad));
}

TEST_F(StoreExportersTest, TheTraceRateLimitIsRetryable) {
  auto& store = Traces(/*rate_limit_bytes=*/100);  // less than the request's size
  TraceStoreConsumer consumer(&store, TenantSelector{false, "single-tenant"}, &registry_);
  absl::Status s = consumer.Consume({}, BatchOf<otlp::Signal::kTraces>(TwoSpans()));
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  EXPECT_FALSE(otlp::IsPermanent(s));
  EXPECT_EQ(otlp::ReceiverCode(s), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.message(), HasSubstr("RATE_LIMITED"));
  EXPECT_EQ(SpansOf("single-tenant"), 0);
  EXPECT_EQ(
      Counter("tempo_discarded_spans_total{reason=\"rate_limited\",tenant=\"single-tenant\"}"), 2);
}

TEST_F(StoreExportersTest, MetricsAreInTheStoreWithTheRemoteWriteExportersNaming) {
  auto& store = Metrics();
  StoreExporterTargets targets;
  targets.metrics =
      std::make_shared<MetricsStoreConsumer>(&store, TenantSelector{false, "anonymous"});
  auto exporter = Create<otlp::Signal::kMetrics>(targets, "sprout/metrics");
  ASSERT_TRUE(exporter.ok()) << exporter.status();
  ASSERT_TRUE((*exporter)->Consume({}, BatchOf<otlp::Signal::kMetrics>(OneCounter())).ok());
  const auto got = SamplesOf("anonymous", "shop_orders_total");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got.begin()->first, "{__name__=\"shop_orders_total\", instance=\"i-1\", job=\"shop\"}");
  EXPECT_EQ(got.begin()->second, (std::vector<std::pair<int64_t, double>>{{kNowMs, 7}}));
  // The exemplar, with the trace and span IDs as the translation labels them.
  auto exemplars =
      store.Exemplars("anonymous",
                      {{metrics::tsdb::Matcher::MustCreate(metrics::tsdb::Matcher::Type::kEqual,
                                                           "__name__", "shop_orders_total")}},
                      0, kNowMs + 1);
  ASSERT_TRUE(exemplars.ok()) << exemplars.status();
  ASSERT_EQ(exemplars->size(), 1u);
  ASSERT_EQ((*exemplars)[0].exemplars.size(), 1u);
  EXPECT_EQ((*exemplars)[0].exemplars[0].labels.ToString(),
            "{span_id=\"1111111111111111\", trace_id=\"0102030405060708090a0b0c0d0e0f10\"}");
  EXPECT_EQ(Counter("otelcol_exporter_sent_metric_points_total{exporter=\"sprout/metrics\"}"), 1);
}

TEST_F(StoreExportersTest, MetricsRefusalsAreClassifiedAsTheRemoteWriteExporterDoes) {
  {
    auto& not_started = Metrics(0, /*start=*/false);
    MetricsStoreConsumer consumer(&not_started, TenantSelector{false, "anonymous"});
    absl::Status s = consumer.Consume({}, BatchOf<otlp::Signal::kMetrics>(OneCounter()));
    EXPECT_TRUE(absl::IsUnavailable(s)) << s;  // 503: retryable
    EXPECT_FALSE(otlp::IsPermanent(s));
  }
  auto& store = Metrics(/*ingestion_rate=*/1);  // 1 item/s, burst 1: a sample and an exemplar
  MetricsStoreConsumer consumer(&store, TenantSelector{true, ""});
  // 429: nothing stored, retryable.
  absl::Status limited =
      consumer.Consume(WithOrg("t"), BatchOf<otlp::Signal::kMetrics>(OneCounter()));
  EXPECT_TRUE(absl::IsResourceExhausted(limited)) << limited;
  EXPECT_FALSE(otlp::IsPermanent(limited));
  EXPECT_THAT(limited.message(), HasSubstr("err-mimir-tenant-max-ingestion-rate"));
  EXPECT_TRUE(SamplesOf("t", "shop_orders_total").empty());
  // A delta sum cannot be translated: permanent (the Collector's text).
  absl::Status delta =
      consumer.Consume(WithOrg("t"), BatchOf<otlp::Signal::kMetrics>(OneCounter(1)));
  EXPECT_TRUE(absl::IsInvalidArgument(delta)) << delta;
  EXPECT_TRUE(otlp::IsPermanent(delta));
  EXPECT_THAT(delta.message(), HasSubstr("shop.orders"));
  // No org ID with multitenancy: 401.
  EXPECT_TRUE(
      absl::IsUnauthenticated(consumer.Consume({}, BatchOf<otlp::Signal::kMetrics>(OneCounter()))));
}

TEST_F(StoreExportersTest, OnlyTheTwoFixedIdsAreAccepted) {
  auto& store = Traces();
  StoreExporterTargets targets;
  targets.traces =
      std::make_shared<TraceStoreConsumer>(&store, TenantSelector{false, "single-tenant"}, nullptr);
  auto factory = NewStoreExporterFactory(targets);
  EXPECT_EQ(factory->type(), "sprout");
  EXPECT_TRUE(factory->SupportsSignal(otlp::Signal::kTraces));
  EXPECT_TRUE(factory->SupportsSignal(otlp::Signal::kMetrics));
  EXPECT_FALSE(factory->SupportsSignal(otlp::Signal::kLogs));
  auto wrong = Create<otlp::Signal::kMetrics>(targets, "sprout/traces");
  ASSERT_FALSE(wrong.ok());
  EXPECT_THAT(wrong.status().message(), HasSubstr("sprout/metrics for metrics"));
  EXPECT_FALSE(Create<otlp::Signal::kTraces>(targets, "sprout").ok());
  EXPECT_FALSE(Create<otlp::Signal::kTraces>(targets, "sprout/other").ok());
  // No metrics store in this command.
  auto absent = Create<otlp::Signal::kMetrics>(targets, "sprout/metrics");
  ASSERT_FALSE(absent.ok());
  EXPECT_THAT(absent.status().message(), HasSubstr("is not available"));
}

// Receiver threads call the exporters concurrently: every acknowledged export is in its store.
TEST_F(StoreExportersTest, ConcurrentExportsAreAllStored) {
  auto& traces = Traces();
  auto& metrics = Metrics();
  StoreExporterTargets targets;
  targets.traces =
      std::make_shared<TraceStoreConsumer>(&traces, TenantSelector{true, ""}, &registry_);
  targets.metrics = std::make_shared<MetricsStoreConsumer>(&metrics, TenantSelector{true, ""});
  auto span_exporter = Create<otlp::Signal::kTraces>(targets, "sprout/traces");
  auto metric_exporter = Create<otlp::Signal::kMetrics>(targets, "sprout/metrics");
  ASSERT_TRUE(span_exporter.ok() && metric_exporter.ok());
  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      const otlp::Context ctx = WithOrg(absl::StrCat("tenant-", i));
      if (!(*span_exporter)->Consume(ctx, BatchOf<otlp::Signal::kTraces>(TwoSpans())).ok()) {
        ++failures;
      }
      if (!(*metric_exporter)->Consume(ctx, BatchOf<otlp::Signal::kMetrics>(OneCounter())).ok()) {
        ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  for (int i = 0; i < kThreads; ++i) {
    const std::string tenant = absl::StrCat("tenant-", i);
    EXPECT_EQ(SpansOf(tenant), 2) << tenant;
    EXPECT_EQ(SamplesOf(tenant, "shop_orders_total").size(), 1u) << tenant;
  }
  EXPECT_EQ(Counter("otelcol_exporter_sent_spans_total{exporter=\"sprout/traces\"}"), 2 * kThreads);
}

// The whole way in: OTLP/HTTP → the otlp receiver → the seed's /health filter → sprout/traces;
// the 200 comes after the push, so the trace is readable as soon as the answer arrives, under
// the request's X-Scope-OrgID; a metrics store refusal reaches the client as the receiver maps
// it (429).
TEST_F(StoreExportersTest, AUsersCollectorSectionRunsInFrontOfTheStores) {
  auto& traces = Traces();
  auto& metrics = Metrics(/*ingestion_rate=*/1);
  StoreExporterTargets targets;
  targets.traces =
      std::make_shared<TraceStoreConsumer>(&traces, TenantSelector{true, ""}, &registry_);
  targets.metrics = std::make_shared<MetricsStoreConsumer>(&metrics, TenantSelector{true, ""});
  collector::Factories factories = collector::BuiltinFactories();
  factories.Register(NewStoreExporterFactory(targets));
  const int port = UnusedPort();
  ASSERT_NE(port, 0);
  auto config = collector::DecodeServiceConfig(YAML::Load(absl::StrCat(R"(
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:)",
                                                                       port, R"(
        include_metadata: true
processors:
  filter:
    error_mode: ignore
    traces:
      span:
        - attributes["http.target"] == "/health"
exporters:
  sprout/traces:
  sprout/metrics:
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      processors: [filter]
      exporters: [sprout/traces]
    metrics:
      receivers: [otlp]
      exporters: [sprout/metrics]
)")),
                                               factories);
  ASSERT_TRUE(config.ok()) << config.status();
  auto service = collector::Service::Create(*std::move(config), {});
  ASSERT_TRUE(service.ok()) << service.status();
  ASSERT_TRUE((*service)->Start().ok());
  auto client = net::HttpClient::Create({});
  ASSERT_TRUE(client.ok());
  const auto post = [&](const std::string& path, const std::string& body) {
    return (*client)->Do("POST", absl::StrCat("http://127.0.0.1:", port, path),
                         {{"Content-Type", "application/x-protobuf"}, {"X-Scope-OrgID", "team-a"}},
                         body, absl::Seconds(10));
  };
  TracesRequest both = TwoSpans();
  *both.add_resource_spans() = HealthSpan().resource_spans(0);
  const net::HttpClientResponse sent = post("/v1/traces", both.SerializeAsString());
  EXPECT_EQ(sent.status, 200) << sent.error << sent.body;
  EXPECT_EQ(SpansOf("team-a"), 2);
  auto health = traces.FindTraceByID("team-a", std::string(16, '\x0a'), 0, 0);
  ASSERT_TRUE(health.ok());
  EXPECT_FALSE(health->has_value());  // filtered in front of the store
  // 1 item/s, burst 1: the counter's sample and exemplar are 2 items → 429, nothing stored.
  const net::HttpClientResponse limited = post("/v1/metrics", OneCounter().SerializeAsString());
  EXPECT_EQ(limited.status, 429) << limited.error << limited.body;
  EXPECT_TRUE(SamplesOf("team-a", "shop_orders_total").empty());
  (*service)->Shutdown();
}

// The factory in a collector's factory set: a user's configuration names the exporters like any
// other; a store ID in a pipeline of the other signal fails the build, a logs pipeline the
// validation, and a key under an entry the decoding.
TEST_F(StoreExportersTest, TheCollectorBuildsPipelinesEndingInTheStores) {
  auto& traces = Traces();
  auto& metrics = Metrics();
  StoreExporterTargets targets;
  targets.traces = std::make_shared<TraceStoreConsumer>(
      &traces, TenantSelector{false, "single-tenant"}, nullptr);
  targets.metrics =
      std::make_shared<MetricsStoreConsumer>(&metrics, TenantSelector{false, "anonymous"});
  collector::Factories factories = collector::BuiltinFactories();
  factories.Register(NewStoreExporterFactory(targets));
  auto build = [&](const std::string& yaml) -> absl::Status {
    auto config = collector::DecodeServiceConfig(YAML::Load(yaml), factories);
    if (!config.ok()) return config.status();
    return collector::Service::Create(*std::move(config), {}).status();
  };
  const std::string head = R"(
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:0
processors:
  memory_limiter:
    check_interval: 1s
    limit_mib: 512
exporters:
  sprout/traces:
  sprout/metrics:
service:
  pipelines:
)";
  EXPECT_TRUE(build(head + R"(
    traces:
      receivers: [otlp]
      processors: [memory_limiter]
      exporters: [sprout/traces]
    metrics:
      receivers: [otlp]
      processors: [memory_limiter]
      exporters: [sprout/metrics]
)")
                  .ok());
  absl::Status crossed = build(head + R"(
    metrics:
      receivers: [otlp]
      exporters: [sprout/traces]
)");
  EXPECT_EQ(crossed.message(),
            "service::pipelines::metrics: failed to create \"sprout/traces\" exporter for data "
            "type \"metrics\": the sprout exporter of metrics is \"sprout/metrics\" (valid ids: "
            "sprout/traces for traces, sprout/metrics for metrics)");
  // The validation alone (`sprout validate`) sees it.
  EXPECT_FALSE(collector::DecodeServiceConfig(YAML::Load(head + R"(
    traces:
      receivers: [otlp]
      exporters: [sprout/other]
)"),
                                              factories)
                   .ok());
  absl::Status logs = build(head + R"(
    logs:
      receivers: [otlp]
      exporters: [sprout/traces]
)");
  EXPECT_THAT(logs.message(), HasSubstr("telemetry type is not supported"));
  absl::Status keys = build(R"(
receivers:
  otlp:
    protocols:
      grpc:
exporters:
  sprout/traces:
    sending_queue:
      enabled: true
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [sprout/traces]
)");
  EXPECT_FALSE(keys.ok());
  EXPECT_THAT(keys.message(), HasSubstr("sending_queue"));
}

}  // namespace
}  // namespace sprout::cmd
