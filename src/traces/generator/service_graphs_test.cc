#include "traces/generator/service_graphs.h"

#include <algorithm>
#include <map>
#include <thread>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "traces/generator/generator_testing.h"

namespace sprout::traces::generator {
namespace {

using opentelemetry::proto::common::v1::KeyValue;
using opentelemetry::proto::trace::v1::ResourceSpans;
using opentelemetry::proto::trace::v1::Span;
using opentelemetry::proto::trace::v1::Status;
using Attrs = google::protobuf::RepeatedPtrField<KeyValue>;

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);
const uint64_t kT0 = 1'699'999'990ull * 1'000'000'000ull;  // span times: 10 s before kNow
constexpr uint64_t kMs = 1'000'000;

const std::string kTrace =
    std::string("\x01\x23\x45\x67\x89\xab\xcd\xef\x00\x11\x22\x33\x44\x55\x66\x77", 16);
const char kTraceHex[] = "0123456789abcdef0011223344556677";

// Tempo's service-graph buckets and their `le` texts, +Inf last.
const std::vector<std::string> kLe = {"0.1", "0.2", "0.4",  "0.8", "1.6",
                                      "3.2", "6.4", "12.8", "+Inf"};

void AddStr(Attrs* attrs, const std::string& k, const std::string& v) {
  KeyValue* kv = attrs->Add();
  kv->set_key(k);
  kv->mutable_value()->set_string_value(v);
}

void AddDouble(Attrs* attrs, const std::string& k, double v) {
  KeyValue* kv = attrs->Add();
  kv->set_key(k);
  kv->mutable_value()->set_double_value(v);
}

ResourceSpans Resource(const std::string& service) {
  ResourceSpans rs;
  AddStr(rs.mutable_resource()->mutable_attributes(), "service.name", service);
  rs.add_scope_spans();
  return rs;
}

std::string Id(char c) { return std::string(8, c); }

// A span of `rs` from kT0 + start_ms to kT0 + end_ms.
Span* AddSpan(ResourceSpans* rs, Span::SpanKind kind, const std::string& span_id,
              const std::string& parent, uint64_t start_ms, uint64_t end_ms,
              Status::StatusCode code = Status::STATUS_CODE_UNSET) {
  Span* s = rs->mutable_scope_spans(0)->add_spans();
  s->set_trace_id(kTrace);
  s->set_span_id(span_id);
  s->set_parent_span_id(parent);
  s->set_name("op");
  s->set_kind(kind);
  s->set_start_time_unix_nano(kT0 + start_ms * kMs);
  s->set_end_time_unix_nano(kT0 + end_ms * kMs);
  s->mutable_status()->set_code(code);
  return s;
}

// `name{labels}` as CollectingSink writes it: labels sorted by name.
std::string Series(const std::string& name, Labels labels) {
  std::sort(labels.begin(), labels.end(),
            [](const Label& a, const Label& b) { return a.name < b.name; });
  std::string s = name + "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    absl::StrAppend(&s, i ? "," : "", labels[i].name, "=\"", labels[i].value, "\"");
  }
  return s + "}";
}

// Adds the expected samples of one classic histogram series: `cumulative` per kLe entry.
void ExpectHistogram(std::map<std::string, double>* want, const std::string& name,
                     const Labels& labels, const std::vector<double>& cumulative, double sum) {
  ASSERT_EQ(cumulative.size(), kLe.size());
  (*want)[Series(name + "_count", labels)] = cumulative.back();
  (*want)[Series(name + "_sum", labels)] = sum;
  for (size_t i = 0; i < kLe.size(); ++i) {
    Labels with_le = labels;
    with_le.push_back({"le", kLe[i]});
    (*want)[Series(name + "_bucket", with_le)] = cumulative[i];
  }
}

// The samples collected at `t` (not the initial zeros), as series → value.
std::map<std::string, double> ValuesAt(const CollectingSink& sink, absl::Time t) {
  std::map<std::string, double> m;
  for (const CollectedSample& s : sink.At(t)) m[s.series] = s.value;
  return m;
}

// Compares with a tolerance for the sums (durations in ns → seconds).
void ExpectSamples(const std::map<std::string, double>& got,
                   const std::map<std::string, double>& want) {
  for (const auto& [series, value] : want) {
    auto it = got.find(series);
    if (it == got.end()) {
      ADD_FAILURE() << "missing " << series;
      continue;
    }
    EXPECT_NEAR(it->second, value, 1e-9) << series;
  }
  for (const auto& [series, value] : got) {
    EXPECT_TRUE(want.contains(series)) << "unexpected " << series << " = " << value;
  }
}

std::unique_ptr<ServiceGraphsProcessor> Make(ServiceGraphConfig cfg, Registry* r) {
  auto p = ServiceGraphsProcessor::Create(std::move(cfg), r);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? std::move(*p) : nullptr;
}

constexpr char kTotal[] = "traces_service_graph_request_total";
constexpr char kFailed[] = "traces_service_graph_request_failed_total";
constexpr char kServerSec[] = "traces_service_graph_request_server_seconds";
constexpr char kClientSec[] = "traces_service_graph_request_client_seconds";
constexpr char kMessagingSec[] = "traces_service_graph_request_messaging_system_seconds";
constexpr char kInfo[] = "traces_service_graph_connection_info";

// frontend --HTTP--> api: a CLIENT span of 300 ms and its SERVER child of 250 ms.
TEST(ServiceGraphs, ClientServerEdgeGivesCountsAndBothHistogramsWithoutConnectionType) {
  Registry r(RegistryConfig{});
  auto p = Make(ServiceGraphConfig{}, &r);
  ResourceSpans fe = Resource("frontend");
  AddSpan(&fe, Span::SPAN_KIND_CLIENT, Id('a'), Id('r'), 0, 300);
  ResourceSpans api = Resource("api");
  AddSpan(&api, Span::SPAN_KIND_SERVER, Id('b'), Id('a'), 20, 270);
  p->PushSpans(fe, kNow);
  EXPECT_EQ(p->stats().edges_recorded, 0u);  // waiting for the server side
  p->PushSpans(api, kNow);
  EXPECT_EQ(p->stats().edges_recorded, 1u);

  CollectingSink sink;
  r.Collect(kNow, sink);
  // A plain edge's connection_type is "" and Tempo's label builder leaves empty labels out.
  const Labels l = {{"client", "frontend"}, {"server", "api"}};
  std::map<std::string, double> want;
  want[Series(kTotal, l)] = 1;
  // 0.25 s: first bound ≥ 0.25 is 0.4; 0.3 s likewise.
  ExpectHistogram(&want, kServerSec, l, {0, 0, 1, 1, 1, 1, 1, 1, 1}, 0.25);
  ExpectHistogram(&want, kClientSec, l, {0, 0, 1, 1, 1, 1, 1, 1, 1}, 0.3);
  ExpectSamples(ValuesAt(sink, kNow), want);  // no failed_total, no messaging, no info

  // Exemplars: the edge's trace ID on the bucket the value fell in; none on the counter.
  const std::string le04 = Series(std::string(kServerSec) + "_bucket",
                                  {{"client", "frontend"}, {"server", "api"}, {"le", "0.4"}});
  const CollectedSample* b = sink.Find(le04);
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(b->exemplars.size(), 1u);
  EXPECT_EQ(b->exemplars[0].trace_id, kTraceHex);
  EXPECT_NEAR(b->exemplars[0].value, 0.25, 1e-12);
  EXPECT_EQ(b->exemplar_label, "traceID");
  EXPECT_TRUE(sink.Find(Series(kTotal, l))->exemplars.empty());
  EXPECT_EQ(p->store().edges(), 1u);
}

// Either side with status ERROR makes the edge failed; a span multiplier of 1/0.25 = 4 (the
// side written last) scales the counts, the histogram count, sum and buckets.
TEST(ServiceGraphs, FailedEdgeAndSpanMultiplier) {
  Registry r(RegistryConfig{});
  ServiceGraphConfig cfg;
  cfg.span_multiplier_key = "sampling.ratio";
  auto p = Make(cfg, &r);
  ResourceSpans fe = Resource("frontend");
  AddSpan(&fe, Span::SPAN_KIND_CLIENT, Id('a'), Id('r'), 0, 900);
  ResourceSpans api = Resource("api");
  Span* s =
      AddSpan(&api, Span::SPAN_KIND_SERVER, Id('b'), Id('a'), 50, 850, Status::STATUS_CODE_ERROR);
  AddDouble(s->mutable_attributes(), "sampling.ratio", 0.25);
  p->PushSpans(fe, kNow);
  p->PushSpans(api, kNow);
  CollectingSink sink;
  r.Collect(kNow, sink);
  const Labels l = {{"client", "frontend"}, {"server", "api"}};
  std::map<std::string, double> want;
  want[Series(kTotal, l)] = 4;
  want[Series(kFailed, l)] = 4;
  // server 0.8 s: le 0.8 is inclusive; client 0.9 s: le 1.6.
  ExpectHistogram(&want, kServerSec, l, {0, 0, 0, 4, 4, 4, 4, 4, 4}, 4 * 0.8);
  ExpectHistogram(&want, kClientSec, l, {0, 0, 0, 0, 4, 4, 4, 4, 4}, 4 * 0.9);
  ExpectSamples(ValuesAt(sink, kNow), want);
}

// api --PRODUCER/CONSUMER--> worker: producer 0–50 ms, consumer starts 1050 ms (queue time 1 s)
// and runs 500 ms. With enable_messaging_system_latency_histogram the third histogram gets 1 s.
TEST(ServiceGraphs, MessagingEdgeWithMessagingLatencyHistogram) {
  Registry r(RegistryConfig{});
  ServiceGraphConfig cfg;
  cfg.enable_messaging_system_latency_histogram = true;
  auto p = Make(cfg, &r);
  ResourceSpans api = Resource("api");
  AddSpan(&api, Span::SPAN_KIND_PRODUCER, Id('p'), Id('r'), 0, 50);
  ResourceSpans worker = Resource("worker");
  AddSpan(&worker, Span::SPAN_KIND_CONSUMER, Id('c'), Id('p'), 1050, 1550);
  p->PushSpans(api, kNow);
  p->PushSpans(worker, kNow);
  CollectingSink sink;
  r.Collect(kNow, sink);
  const Labels l = {
      {"client", "api"}, {"server", "worker"}, {"connection_type", "messaging_system"}};
  std::map<std::string, double> want;
  want[Series(kTotal, l)] = 1;
  ExpectHistogram(&want, kServerSec, l, {0, 0, 0, 1, 1, 1, 1, 1, 1}, 0.5);
  ExpectHistogram(&want, kClientSec, l, {1, 1, 1, 1, 1, 1, 1, 1, 1}, 0.05);
  ExpectHistogram(&want, kMessagingSec, l, {0, 0, 0, 0, 1, 1, 1, 1, 1}, 1.0);
  ExpectSamples(ValuesAt(sink, kNow), want);
  EXPECT_EQ(p->stats().messaging_latency_skipped, 0u);
}

// Without the option there is no messaging family; with it, a consumer starting before the
// producer ended (clock skew) observes nothing in it (Tempo logs a warning) — the edge is still
// counted.
TEST(ServiceGraphs, MessagingLatencyOffByDefaultAndSkippedOnClockSkew) {
  for (bool enabled : {false, true}) {
    Registry r(RegistryConfig{});
    ServiceGraphConfig cfg;
    cfg.enable_messaging_system_latency_histogram = enabled;
    auto p = Make(cfg, &r);
    ResourceSpans api = Resource("api");
    AddSpan(&api, Span::SPAN_KIND_PRODUCER, Id('p'), Id('r'), 0, 500);
    ResourceSpans worker = Resource("worker");
    AddSpan(&worker, Span::SPAN_KIND_CONSUMER, Id('c'), Id('p'), 400, 600);
    p->PushSpans(api, kNow);
    p->PushSpans(worker, kNow);
    CollectingSink sink;
    r.Collect(kNow, sink);
    for (const CollectedSample& s : sink.samples) {
      EXPECT_FALSE(absl::StartsWith(s.series, kMessagingSec)) << s.series;
    }
    const Labels l = {
        {"client", "api"}, {"server", "worker"}, {"connection_type", "messaging_system"}};
    EXPECT_EQ(sink.Values().at(Series(kTotal, l)), 1);
    EXPECT_EQ(p->stats().messaging_latency_skipped, enabled ? 1u : 0u);
  }
}

// api → database: a CLIENT span with db.system completes at once (Tempo 3.x); the server name is
// peer.service when present, else the database attribute's value; server seconds = client's.
TEST(ServiceGraphs, DatabaseEdgesCompleteFromTheClientSpan) {
  Registry r(RegistryConfig{});
  auto p = Make(ServiceGraphConfig{}, &r);
  ResourceSpans api = Resource("api");
  Span* q1 = AddSpan(&api, Span::SPAN_KIND_CLIENT, Id('d'), Id('b'), 100, 112);
  AddStr(q1->mutable_attributes(), "db.system", "postgresql");
  Span* q2 = AddSpan(&api, Span::SPAN_KIND_CLIENT, Id('e'), Id('b'), 200, 450);
  AddStr(q2->mutable_attributes(), "db.name", "orders");
  AddStr(q2->mutable_attributes(), "peer.service", "pg-main");
  p->PushSpans(api, kNow);
  EXPECT_EQ(p->stats().edges_recorded, 2u);
  EXPECT_EQ(p->store().open_edges(), 0u);
  CollectingSink sink;
  r.Collect(kNow, sink);
  const Labels l1 = {{"client", "api"}, {"server", "postgresql"}, {"connection_type", "database"}};
  const Labels l2 = {{"client", "api"}, {"server", "pg-main"}, {"connection_type", "database"}};
  std::map<std::string, double> want;
  want[Series(kTotal, l1)] = 1;
  want[Series(kTotal, l2)] = 1;
  ExpectHistogram(&want, kServerSec, l1, {1, 1, 1, 1, 1, 1, 1, 1, 1}, 0.012);
  ExpectHistogram(&want, kClientSec, l1, {1, 1, 1, 1, 1, 1, 1, 1, 1}, 0.012);
  ExpectHistogram(&want, kServerSec, l2, {0, 0, 1, 1, 1, 1, 1, 1, 1}, 0.25);
  ExpectHistogram(&want, kClientSec, l2, {0, 0, 1, 1, 1, 1, 1, 1, 1}, 0.25);
  ExpectSamples(ValuesAt(sink, kNow), want);
}

// After `wait`: a root SERVER span without a client becomes user → frontend, a CLIENT span to
// an uninstrumented peer.service becomes api → payments-ext, and a CLIENT span with no peer
// attribute is dropped (expired_edges). With enable_virtual_node_label the inferred side is
// named in `virtual_node`. The missing side's seconds are 0 (le 0.1).
TEST(ServiceGraphs, VirtualNodeEdgesAfterWaitWithVirtualNodeLabel) {
  Registry r(RegistryConfig{});
  ServiceGraphConfig cfg;
  cfg.enable_virtual_node_label = true;
  auto p = Make(cfg, &r);
  ResourceSpans fe = Resource("frontend");
  AddSpan(&fe, Span::SPAN_KIND_SERVER, Id('r'), "", 0, 700);
  ResourceSpans api = Resource("api");
  Span* pay =
      AddSpan(&api, Span::SPAN_KIND_CLIENT, Id('x'), Id('b'), 100, 1900, Status::STATUS_CODE_ERROR);
  AddStr(pay->mutable_attributes(), "peer.service", "payments-ext");
  AddSpan(&api, Span::SPAN_KIND_CLIENT, Id('y'), Id('b'), 100, 200);  // no peer: dropped
  p->PushSpans(fe, kNow);
  p->PushSpans(api, kNow);
  EXPECT_EQ(p->store().open_edges(), 3u);

  p->Expire(kNow + absl::Seconds(9));  // before `wait` (10 s): nothing
  EXPECT_EQ(p->store().open_edges(), 3u);
  const absl::Time later = kNow + absl::Seconds(10);
  p->Expire(later);
  EXPECT_EQ(p->store().open_edges(), 0u);
  EXPECT_EQ(p->store().expired_edges(), 1u);
  EXPECT_EQ(p->stats().edges_recorded, 2u);
  EXPECT_EQ(p->stats().virtual_node_edges, 2u);

  CollectingSink sink;
  r.Collect(later, sink);
  const Labels user = {{"client", "user"},
                       {"server", "frontend"},
                       {"connection_type", "virtual_node"},
                       {"virtual_node", "client"}};
  const Labels ext = {{"client", "api"},
                      {"server", "payments-ext"},
                      {"connection_type", "virtual_node"},
                      {"virtual_node", "server"}};
  std::map<std::string, double> want;
  want[Series(kTotal, user)] = 1;
  want[Series(kTotal, ext)] = 1;
  want[Series(kFailed, ext)] = 1;
  ExpectHistogram(&want, kServerSec, user, {0, 0, 0, 1, 1, 1, 1, 1, 1}, 0.7);
  ExpectHistogram(&want, kClientSec, user, {1, 1, 1, 1, 1, 1, 1, 1, 1}, 0);
  ExpectHistogram(&want, kServerSec, ext, {1, 1, 1, 1, 1, 1, 1, 1, 1}, 0);
  ExpectHistogram(&want, kClientSec, ext, {0, 0, 0, 0, 0, 1, 1, 1, 1}, 1.8);
  ExpectSamples(ValuesAt(sink, later), want);
}

// Paired edges have no virtual_node label even with the option (its value is "").
TEST(ServiceGraphs, VirtualNodeLabelAbsentOnPairedEdges) {
  Registry r(RegistryConfig{});
  ServiceGraphConfig cfg;
  cfg.enable_virtual_node_label = true;
  cfg.enable_client_server_prefix = true;
  auto p = Make(cfg, &r);
  ResourceSpans fe = Resource("frontend");
  AddSpan(&fe, Span::SPAN_KIND_CLIENT, Id('a'), Id('r'), 0, 300);
  ResourceSpans api = Resource("api");
  AddSpan(&api, Span::SPAN_KIND_SERVER, Id('b'), Id('a'), 20, 270);
  p->PushSpans(fe, kNow);
  p->PushSpans(api, kNow);
  EXPECT_EQ(p->EdgeLabels(Edge{.client_service = "frontend", .server_service = "api"}),
            (Labels{{"client", "frontend"}, {"server", "api"}}));
  CollectingSink sink;
  r.Collect(kNow, sink);
  EXPECT_EQ(sink.Values().at(Series(kTotal, {{"client", "frontend"}, {"server", "api"}})), 1);
}

// Dimensions: sanitised names (dots → `_`); one label per dimension holding the value of the
// side written last that had it, or with enable_client_server_prefix `client_<dim>` and
// `server_<dim>` from each side; looked up on the span first, then the resource; "" → no label.
TEST(ServiceGraphs, DimensionsWithAndWithoutClientServerPrefix) {
  for (bool prefix : {false, true}) {
    Registry r(RegistryConfig{});
    ServiceGraphConfig cfg;
    cfg.dimensions = {"http.method", "deployment.environment", "team"};
    cfg.enable_client_server_prefix = prefix;
    auto p = Make(cfg, &r);
    ResourceSpans fe = Resource("frontend");
    AddStr(fe.mutable_resource()->mutable_attributes(), "deployment.environment", "prod");
    Span* c = AddSpan(&fe, Span::SPAN_KIND_CLIENT, Id('a'), Id('r'), 0, 300);
    AddStr(c->mutable_attributes(), "http.method", "GET");
    ResourceSpans api = Resource("api");
    AddStr(api.mutable_resource()->mutable_attributes(), "deployment.environment", "staging");
    Span* s = AddSpan(&api, Span::SPAN_KIND_SERVER, Id('b'), Id('a'), 20, 270);
    // The span's value wins over the resource's.
    AddStr(s->mutable_attributes(), "deployment.environment", "canary");
    p->PushSpans(fe, kNow);
    p->PushSpans(api, kNow);  // the server side is written last
    CollectingSink sink;
    r.Collect(kNow, sink);
    Labels l = {{"client", "frontend"}, {"server", "api"}};
    if (prefix) {
      l.push_back({"client_http_method", "GET"});
      l.push_back({"client_deployment_environment", "prod"});
      l.push_back({"server_deployment_environment", "canary"});
    } else {
      l.push_back({"http_method", "GET"});
      l.push_back({"deployment_environment", "canary"});
    }
    EXPECT_EQ(sink.Values().count(Series(kTotal, l)), 1u) << "prefix " << prefix;
    EXPECT_EQ(sink.At(kNow).size(), 1u + 11u + 11u) << "prefix " << prefix;
  }
}

// service-graphs-connection-info: traces_service_graph_connection_info = 1 under the edge's
// labels; with only that subprocessor there are no request or latency families.
TEST(ServiceGraphs, ConnectionInfoSubprocessor) {
  Registry r(RegistryConfig{});
  ServiceGraphConfig cfg;
  cfg.request = false;
  cfg.latency = false;
  cfg.connection_info = true;
  auto p = Make(cfg, &r);
  ResourceSpans api = Resource("api");
  Span* q = AddSpan(&api, Span::SPAN_KIND_CLIENT, Id('d'), Id('b'), 100, 112);
  AddStr(q->mutable_attributes(), "db.system", "redis");
  p->PushSpans(api, kNow);
  p->PushSpans(api, kNow);  // a second request: still 1
  CollectingSink sink;
  r.Collect(kNow, sink);
  std::map<std::string, double> want;
  want[Series(kInfo, {{"client", "api"}, {"server", "redis"}, {"connection_type", "database"}})] =
      1;
  ExpectSamples(sink.Values(), want);  // a gauge has no initial zero sample
}

TEST(ServiceGraphs, RequestSubprocessorOnly) {
  Registry r(RegistryConfig{});
  ServiceGraphConfig cfg;
  cfg.latency = false;
  auto p = Make(cfg, &r);
  ResourceSpans api = Resource("api");
  Span* q =
      AddSpan(&api, Span::SPAN_KIND_CLIENT, Id('d'), Id('b'), 100, 112, Status::STATUS_CODE_ERROR);
  AddStr(q->mutable_attributes(), "db.system", "redis");
  p->PushSpans(api, kNow);
  CollectingSink sink;
  r.Collect(kNow, sink);
  const Labels l = {{"client", "api"}, {"server", "redis"}, {"connection_type", "database"}};
  ExpectSamples(ValuesAt(sink, kNow), {{Series(kTotal, l), 1}, {Series(kFailed, l), 1}});
}

// The first collection of a counter series is preceded by Tempo's initial 0 sample.
TEST(ServiceGraphs, NewSeriesGetTheInitialZeroSample) {
  Registry r(RegistryConfig{});
  ServiceGraphConfig cfg;
  cfg.latency = false;
  auto p = Make(cfg, &r);
  ResourceSpans api = Resource("api");
  Span* q = AddSpan(&api, Span::SPAN_KIND_CLIENT, Id('d'), Id('b'), 100, 112);
  AddStr(q->mutable_attributes(), "db.system", "redis");
  p->PushSpans(api, kNow);
  CollectingSink sink;
  r.Collect(kNow, sink);
  ASSERT_EQ(sink.samples.size(), 2u);
  EXPECT_EQ(sink.samples[0].time, InitialZeroTime(kNow));
  EXPECT_EQ(sink.samples[0].value, 0);
  EXPECT_EQ(sink.samples[1].time, kNow);
  EXPECT_EQ(sink.samples[1].value, 1);
}

// A label value that is not valid UTF-8 skips the edge (Tempo counts it).
TEST(ServiceGraphs, InvalidUtf8SkipsTheEdge) {
  Registry r(RegistryConfig{});
  auto p = Make(ServiceGraphConfig{}, &r);
  ResourceSpans api = Resource("api\xff");
  Span* q = AddSpan(&api, Span::SPAN_KIND_CLIENT, Id('d'), Id('b'), 100, 112);
  AddStr(q->mutable_attributes(), "db.system", "redis");
  p->PushSpans(api, kNow);
  EXPECT_EQ(p->stats().edges_invalid_utf8, 1u);
  EXPECT_EQ(p->stats().edges_recorded, 0u);
  CollectingSink sink;
  r.Collect(kNow, sink);
  EXPECT_TRUE(sink.samples.empty());
}

// max_active_series: counter 1 + two histograms of 8 bounds (8 + 3 each) = 23 per edge label
// set; a second label set is refused and counted, the first keeps updating.
TEST(ServiceGraphs, MaxActiveSeriesRefusesNewEdgesSeries) {
  RegistryConfig rc;
  rc.max_active_series = 23;
  Registry r(rc);
  auto p = Make(ServiceGraphConfig{}, &r);
  auto db_span = [&](const std::string& system, char id) {
    ResourceSpans api = Resource("api");
    Span* q = AddSpan(&api, Span::SPAN_KIND_CLIENT, Id(id), Id('b'), 100, 112);
    AddStr(q->mutable_attributes(), "db.system", system);
    p->PushSpans(api, kNow);
  };
  db_span("redis", 'd');
  db_span("mysql", 'e');
  db_span("redis", 'f');
  EXPECT_EQ(r.active_series(), 23u);
  EXPECT_EQ(r.series_limited_total(), 3u);  // request_total and both histograms of mysql
  EXPECT_EQ(p->stats().edges_refused, 1u);
  EXPECT_EQ(p->stats().edges_recorded, 3u);
  CollectingSink sink;
  r.Collect(kNow, sink);
  EXPECT_EQ(sink.Values().at(Series(
                kTotal, {{"client", "api"}, {"server", "redis"}, {"connection_type", "database"}})),
            2);
}

// The topology, three requests (traces 1–3), each:
//   user → frontend (root SERVER span R, no client: virtual node after `wait`)
//   frontend CLIENT A → api SERVER B (B lasts 150 / 350 / 880 ms; B fails in request 3)
//   api CLIENT D with db.system=postgresql (database edge at once, 30 ms)
//   api PRODUCER P → worker CONSUMER C (messaging_system)
//   api CLIENT X with peer.service=payments-ext, never answered (virtual node; fails in 3)
TEST(ServiceGraphs, ThreeServiceTopology) {
  Registry r(RegistryConfig{});
  auto p = Make(ServiceGraphConfig{}, &r);
  const uint64_t b_ms[] = {150, 350, 880};
  for (int i = 0; i < 3; ++i) {
    const std::string trace = std::string(15, '\x10') + static_cast<char>(i + 1);
    const Status::StatusCode err = i == 2 ? Status::STATUS_CODE_ERROR : Status::STATUS_CODE_UNSET;
    ResourceSpans fe = Resource("frontend");
    AddSpan(&fe, Span::SPAN_KIND_SERVER, Id('r'), "", 0, 1000);
    AddSpan(&fe, Span::SPAN_KIND_CLIENT, Id('a'), Id('r'), 10, 20 + b_ms[i] + 10);
    ResourceSpans api = Resource("api");
    AddSpan(&api, Span::SPAN_KIND_SERVER, Id('b'), Id('a'), 20, 20 + b_ms[i], err);
    Span* d = AddSpan(&api, Span::SPAN_KIND_CLIENT, Id('d'), Id('b'), 100, 130);
    AddStr(d->mutable_attributes(), "db.system", "postgresql");
    AddSpan(&api, Span::SPAN_KIND_PRODUCER, Id('p'), Id('b'), 30, 40);
    Span* x = AddSpan(&api, Span::SPAN_KIND_CLIENT, Id('x'), Id('b'), 50, 140, err);
    AddStr(x->mutable_attributes(), "peer.service", "payments-ext");
    AddSpan(&api, Span::SPAN_KIND_INTERNAL, Id('i'), Id('b'), 60, 70);  // not an edge
    ResourceSpans worker = Resource("worker");
    AddSpan(&worker, Span::SPAN_KIND_CONSUMER, Id('c'), Id('p'), 1040, 1100);
    for (ResourceSpans* rs : {&fe, &api, &worker}) {
      for (Span& s : *rs->mutable_scope_spans(0)->mutable_spans()) s.set_trace_id(trace);
      p->PushSpans(*rs, kNow);
    }
  }
  // Paired or database: 3 × (frontend→api, api→postgresql, api→worker).
  EXPECT_EQ(p->stats().edges_recorded, 9u);
  EXPECT_EQ(p->store().open_edges(), 6u);  // 3 root server sides, 3 unanswered client sides
  const absl::Time later = kNow + absl::Seconds(10);
  p->Expire(later);
  EXPECT_EQ(p->stats().edges_recorded, 15u);
  EXPECT_EQ(p->stats().virtual_node_edges, 6u);
  EXPECT_EQ(p->store().expired_edges(), 0u);

  CollectingSink sink;
  r.Collect(later, sink);
  const auto v = ValuesAt(sink, later);
  const Labels fe_api = {{"client", "frontend"}, {"server", "api"}};
  const Labels api_db = {
      {"client", "api"}, {"server", "postgresql"}, {"connection_type", "database"}};
  const Labels api_worker = {
      {"client", "api"}, {"server", "worker"}, {"connection_type", "messaging_system"}};
  const Labels user_fe = {
      {"client", "user"}, {"server", "frontend"}, {"connection_type", "virtual_node"}};
  const Labels api_ext = {
      {"client", "api"}, {"server", "payments-ext"}, {"connection_type", "virtual_node"}};
  int totals = 0, failed = 0;
  for (const auto& [series, value] : v) {
    totals += absl::StartsWith(series, std::string(kTotal) + "{");
    failed += absl::StartsWith(series, std::string(kFailed) + "{");
  }
  EXPECT_EQ(totals, 5);
  EXPECT_EQ(failed, 2);
  for (const Labels* l : {&fe_api, &api_db, &api_worker, &user_fe, &api_ext}) {
    EXPECT_EQ(v.at(Series(kTotal, *l)), 3) << Series(kTotal, *l);
  }
  EXPECT_EQ(v.at(Series(kFailed, fe_api)), 1);
  EXPECT_EQ(v.at(Series(kFailed, api_ext)), 1);
  // frontend→api server seconds 0.15, 0.35, 0.88: le 0.2 → 1, 0.4 → 2, 0.8 → 2, 1.6 → 3.
  std::map<std::string, double> want;
  ExpectHistogram(&want, kServerSec, fe_api, {0, 1, 2, 2, 3, 3, 3, 3, 3}, 0.15 + 0.35 + 0.88);
  // client seconds = B + 20 ms: 0.17, 0.37, 0.9.
  ExpectHistogram(&want, kClientSec, fe_api, {0, 1, 2, 2, 3, 3, 3, 3, 3}, 0.17 + 0.37 + 0.9);
  // user→frontend: the root span's 1 s on the server side, 0 on the missing client side.
  ExpectHistogram(&want, kServerSec, user_fe, {0, 0, 0, 0, 3, 3, 3, 3, 3}, 3.0);
  ExpectHistogram(&want, kClientSec, user_fe, {3, 3, 3, 3, 3, 3, 3, 3, 3}, 0);
  for (const auto& [series, value] : want) {
    ASSERT_TRUE(v.contains(series)) << series;
    EXPECT_NEAR(v.at(series), value, 1e-9) << series;
  }
}

// Tempo's label builder: a later label of a name replaces the earlier (a dimension sanitised to
// `server` overrides the server), and an empty value removes the label.
TEST(ServiceGraphs, LabelCollisionsLastWins) {
  Registry r(RegistryConfig{});
  ServiceGraphConfig cfg;
  cfg.dimensions = {"server", "client"};
  auto p = Make(cfg, &r);
  Edge e;
  e.client_service = "frontend";
  e.server_service = "api";
  e.dimensions = {"override", ""};
  EXPECT_EQ(p->EdgeLabels(e), (Labels{{"server", "override"}}));
}

// filter_policies (Tempo 3.x): a refused CLIENT/SERVER span is not paired and its counterpart is
// dropped with it (store's dropped_edges); non-edge spans are not filtered (nor counted).
TEST(ServiceGraphs, FilterPoliciesDropTheEdgeOfARefusedSpan) {
  Registry r(RegistryConfig{});
  ServiceGraphConfig cfg;
  FilterPolicy fp;
  fp.exclude = PolicyMatch{MatchType::kStrict, {{"span.http.target", std::string("/health")}}};
  cfg.filter_policies = {fp};
  auto p = Make(cfg, &r);
  ResourceSpans fe = Resource("frontend");
  Span* health = AddSpan(&fe, Span::SPAN_KIND_CLIENT, Id('a'), Id('r'), 0, 300);
  AddStr(health->mutable_attributes(), "http.target", "/health");
  Span* users = AddSpan(&fe, Span::SPAN_KIND_CLIENT, Id('c'), Id('r'), 0, 300);
  AddStr(users->mutable_attributes(), "http.target", "/users");
  Span* internal = AddSpan(&fe, Span::SPAN_KIND_INTERNAL, Id('i'), Id('r'), 0, 300);
  AddStr(internal->mutable_attributes(), "http.target", "/health");
  ResourceSpans api = Resource("api");
  AddSpan(&api, Span::SPAN_KIND_SERVER, Id('b'), Id('a'), 20, 270);  // answers /health
  AddSpan(&api, Span::SPAN_KIND_SERVER, Id('d'), Id('c'), 20, 270);  // answers /users
  p->PushSpans(fe, kNow);
  p->PushSpans(api, kNow);
  EXPECT_EQ(p->stats().spans_filtered, 1u);
  EXPECT_EQ(p->store().dropped_edges(), 1u);
  EXPECT_EQ(p->stats().edges_recorded, 1u);
  EXPECT_EQ(p->store().open_edges(), 0u);
  CollectingSink sink;
  r.Collect(kNow, sink);
  EXPECT_EQ(sink.Values().at(Series(kTotal, {{"client", "frontend"}, {"server", "api"}})), 1);
  EXPECT_EQ(sink.Values().at(Series(std::string(kServerSec) + "_count",
                                    {{"client", "frontend"}, {"server", "api"}})),
            1);

  ServiceGraphConfig bad;
  bad.filter_policies = {FilterPolicy{}};  // none of include, include_any, exclude
  EXPECT_FALSE(ServiceGraphsProcessor::Create(bad, &r).ok());
}

// Ingest threads push while a collector expires and collects: every edge is counted once.
TEST(ServiceGraphs, ConcurrentPushExpireCollect) {
  Registry r(RegistryConfig{});
  auto p = Make(ServiceGraphConfig{}, &r);
  constexpr int kThreads = 4, kPerThread = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string trace(16, '\0');
        trace[0] = static_cast<char>(t);
        trace[1] = static_cast<char>(i & 0xff);
        trace[2] = static_cast<char>(i >> 8);
        ResourceSpans fe = Resource("frontend");
        AddSpan(&fe, Span::SPAN_KIND_CLIENT, Id('a'), Id('r'), 0, 300)->set_trace_id(trace);
        ResourceSpans api = Resource("api");
        AddSpan(&api, Span::SPAN_KIND_SERVER, Id('b'), Id('a'), 20, 270)->set_trace_id(trace);
        p->PushSpans(fe, kNow);
        p->PushSpans(api, kNow);
      }
    });
  }
  std::thread collector([&] {
    for (int i = 0; i < 50; ++i) {
      p->Expire(kNow);  // nothing is older than `wait`
      CollectingSink sink;
      r.Collect(kNow, sink);
    }
  });
  for (auto& th : threads) th.join();
  collector.join();
  CollectingSink sink;
  r.Collect(kNow, sink);
  EXPECT_EQ(sink.Values().at(Series(kTotal, {{"client", "frontend"}, {"server", "api"}})),
            kThreads * kPerThread);
  EXPECT_EQ(p->stats().edges_recorded, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(p->store().open_edges(), 0u);
}

TEST(ServiceGraphs, BucketsMustIncrease) {
  Registry r(RegistryConfig{});
  ServiceGraphConfig cfg;
  cfg.histogram_buckets = {0.2, 0.1};
  EXPECT_FALSE(ServiceGraphsProcessor::Create(cfg, &r).ok());
  cfg.histogram_buckets = {};
  EXPECT_FALSE(ServiceGraphsProcessor::Create(cfg, &r).ok());
  cfg.histogram_buckets = {0.5, 1};
  EXPECT_TRUE(ServiceGraphsProcessor::Create(cfg, &r).ok());
}

}  // namespace
}  // namespace sprout::traces::generator
