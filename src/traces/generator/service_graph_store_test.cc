#include "traces/generator/service_graph_store.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sprout::traces::generator {
namespace {

using opentelemetry::proto::common::v1::AnyValue;
using opentelemetry::proto::common::v1::KeyValue;
using opentelemetry::proto::trace::v1::ResourceSpans;
using opentelemetry::proto::trace::v1::Span;
using opentelemetry::proto::trace::v1::Status;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr uint64_t kBase = 1'700'000'000'000'000'000ULL;  // ns
constexpr uint64_t kMs = 1'000'000ULL;
const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

std::string Id(int n, size_t len) {
  std::string id(len, '\0');
  for (size_t i = 0; i < 4; ++i) id[len - 1 - i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return id;
}
std::string Trace(int n = 1) { return Id(n, 16); }
std::string SpanId(int n) { return Id(n, 8); }

void AddAttr(google::protobuf::RepeatedPtrField<KeyValue>* attrs, const std::string& k,
             const std::string& v) {
  KeyValue* kv = attrs->Add();
  kv->set_key(k);
  kv->mutable_value()->set_string_value(v);
}

struct SpanSpec {
  Span::SpanKind kind;
  int id;
  int parent = 0;  // 0: none
  uint64_t start_ms = 0;
  uint64_t end_ms = 100;
  bool error = false;
  std::vector<std::pair<std::string, std::string>> attrs = {};
  int trace = 1;
};

Span MakeSpan(const SpanSpec& s) {
  Span span;
  span.set_trace_id(Trace(s.trace));
  span.set_span_id(SpanId(s.id));
  if (s.parent != 0) span.set_parent_span_id(SpanId(s.parent));
  span.set_kind(s.kind);
  span.set_name("op");
  span.set_start_time_unix_nano(kBase + s.start_ms * kMs);
  span.set_end_time_unix_nano(kBase + s.end_ms * kMs);
  if (s.error) span.mutable_status()->set_code(Status::STATUS_CODE_ERROR);
  for (const auto& [k, v] : s.attrs) AddAttr(span.mutable_attributes(), k, v);
  return span;
}

ResourceSpans Batch(const std::string& service, const std::vector<SpanSpec>& spans,
                    const std::vector<std::pair<std::string, std::string>>& res_attrs = {}) {
  ResourceSpans rs;
  if (!service.empty())
    AddAttr(rs.mutable_resource()->mutable_attributes(), "service.name", service);
  for (const auto& [k, v] : res_attrs) AddAttr(rs.mutable_resource()->mutable_attributes(), k, v);
  auto* ss = rs.add_scope_spans();
  for (const SpanSpec& s : spans) *ss->add_spans() = MakeSpan(s);
  return rs;
}

TEST(ServiceGraphStore, ClientThenServerPairs) {
  ServiceGraphStore store({});
  // frontend calls api: client span 0..300 ms, server span 50..250 ms (parent = the client span).
  EXPECT_THAT(store.AddSpans(Batch("frontend", {{Span::SPAN_KIND_CLIENT, 7, 1, 0, 300}}), kNow),
              IsEmpty());
  EXPECT_EQ(store.open_edges(), 1u);
  auto done = store.AddSpans(Batch("api", {{Span::SPAN_KIND_SERVER, 8, 7, 50, 250}}), kNow);
  ASSERT_EQ(done.size(), 1u);
  const Edge& e = done[0];
  EXPECT_EQ(e.client_service, "frontend");
  EXPECT_EQ(e.server_service, "api");
  EXPECT_EQ(e.connection_type, "");
  EXPECT_EQ(e.virtual_node, "");
  EXPECT_DOUBLE_EQ(e.client_seconds, 0.3);
  EXPECT_DOUBLE_EQ(e.server_seconds, 0.2);
  EXPECT_FALSE(e.failed);
  EXPECT_EQ(e.trace_id, "00000000000000000000000000000001");
  EXPECT_DOUBLE_EQ(e.span_multiplier, 1);
  EXPECT_EQ(store.open_edges(), 0u);
  EXPECT_EQ(store.edges(), 1u);  // one new edge (the second span completed it)
  EXPECT_EQ(store.expired_edges(), 0u);
}

TEST(ServiceGraphStore, ServerThenClientPairs) {
  ServiceGraphStore store({});
  EXPECT_THAT(store.AddSpans(Batch("api", {{Span::SPAN_KIND_SERVER, 8, 7, 50, 250}}), kNow),
              IsEmpty());
  auto done = store.AddSpans(Batch("frontend", {{Span::SPAN_KIND_CLIENT, 7, 1, 0, 300}}), kNow);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].client_service, "frontend");
  EXPECT_EQ(done[0].server_service, "api");
  EXPECT_EQ(store.edges(), 1u);
}

TEST(ServiceGraphStore, BothSidesInOneBatchAndDifferentTracesDoNotPair) {
  ServiceGraphStore store({});
  // Same span IDs in trace 2 must not pair with trace 1.
  auto done = store.AddSpans(Batch("svc", {{Span::SPAN_KIND_CLIENT, 7, 1, 0, 300, false, {}, 1},
                                           {Span::SPAN_KIND_SERVER, 8, 7, 0, 300, false, {}, 2},
                                           {Span::SPAN_KIND_SERVER, 9, 7, 0, 300, false, {}, 1}}),
                             kNow);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].client_service, "svc");
  EXPECT_EQ(done[0].server_service, "svc");
  EXPECT_EQ(store.open_edges(), 1u);  // trace 2's server side waits
}

TEST(ServiceGraphStore, FailedWhenEitherSideIsError) {
  ServiceGraphStore store({});
  store.AddSpans(Batch("a", {{Span::SPAN_KIND_CLIENT, 1, 0, 0, 10, /*error=*/true}}), kNow);
  auto d1 = store.AddSpans(Batch("b", {{Span::SPAN_KIND_SERVER, 2, 1, 0, 10}}), kNow);
  store.AddSpans(Batch("a", {{Span::SPAN_KIND_CLIENT, 3, 0, 0, 10}}), kNow);
  auto d2 = store.AddSpans(Batch("b", {{Span::SPAN_KIND_SERVER, 4, 3, 0, 10, true}}), kNow);
  store.AddSpans(Batch("a", {{Span::SPAN_KIND_CLIENT, 5, 0, 0, 10}}), kNow);
  auto d3 = store.AddSpans(Batch("b", {{Span::SPAN_KIND_SERVER, 6, 5, 0, 10}}), kNow);
  ASSERT_EQ(d1.size(), 1u);
  ASSERT_EQ(d2.size(), 1u);
  ASSERT_EQ(d3.size(), 1u);
  EXPECT_TRUE(d1[0].failed);
  EXPECT_TRUE(d2[0].failed);
  EXPECT_FALSE(d3[0].failed);
}

TEST(ServiceGraphStore, ProducerConsumerIsMessagingSystem) {
  ServiceGraphStore store({});
  // Producer 0..100 ms, consumer 250..400 ms: messaging latency 150 ms.
  store.AddSpans(Batch("api", {{Span::SPAN_KIND_PRODUCER, 1, 0, 0, 100}}), kNow);
  auto done = store.AddSpans(Batch("worker", {{Span::SPAN_KIND_CONSUMER, 2, 1, 250, 400}}), kNow);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].client_service, "api");
  EXPECT_EQ(done[0].server_service, "worker");
  EXPECT_EQ(done[0].connection_type, "messaging_system");
  EXPECT_DOUBLE_EQ(done[0].client_seconds, 0.1);
  EXPECT_DOUBLE_EQ(done[0].server_seconds, 0.15);
  EXPECT_DOUBLE_EQ(done[0].messaging_system_seconds, 0.15);
  EXPECT_EQ(done[0].client_end_unix_nano, kBase + 100 * kMs);
  EXPECT_EQ(done[0].server_start_unix_nano, kBase + 250 * kMs);
}

TEST(ServiceGraphStore, MessagingLatencyIsZeroWhenProducerEndsAfterConsumerStarts) {
  ServiceGraphStore store({});
  store.AddSpans(Batch("api", {{Span::SPAN_KIND_PRODUCER, 1, 0, 0, 300}}), kNow);
  auto done = store.AddSpans(Batch("worker", {{Span::SPAN_KIND_CONSUMER, 2, 1, 250, 400}}), kNow);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_DOUBLE_EQ(done[0].messaging_system_seconds, 0);
}

TEST(ServiceGraphStore, ConnectionTypeOfTheSideWrittenLast) {
  ServiceGraphStore store({});
  // A CONSUMER side then a CLIENT side: the client's "" is written last.
  store.AddSpans(Batch("worker", {{Span::SPAN_KIND_CONSUMER, 2, 1}}), kNow);
  auto done = store.AddSpans(Batch("api", {{Span::SPAN_KIND_CLIENT, 1}}), kNow);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].connection_type, "");
}

TEST(ServiceGraphStore, OtherKindsAreIgnored) {
  ServiceGraphStore store({});
  auto done = store.AddSpans(Batch("svc", {{Span::SPAN_KIND_INTERNAL, 1},
                                           {Span::SPAN_KIND_UNSPECIFIED, 2},
                                           {Span::SPAN_KIND_INTERNAL, 3, 1}}),
                             kNow);
  EXPECT_THAT(done, IsEmpty());
  EXPECT_EQ(store.open_edges(), 0u);
  EXPECT_EQ(store.edges(), 0u);
}

TEST(ServiceGraphStore, SpansWithoutServiceNameAreSkipped) {
  ServiceGraphStore store({});
  store.AddSpans(Batch("", {{Span::SPAN_KIND_CLIENT, 1}}, {{"host.name", "h"}}), kNow);
  EXPECT_EQ(store.open_edges(), 0u);
  EXPECT_EQ(store.edges(), 0u);
  // The service name is read from the resource only, not from span attributes.
  store.AddSpans(Batch("", {{Span::SPAN_KIND_CLIENT, 1, 0, 0, 10, false, {{"service.name", "x"}}}}),
                 kNow);
  EXPECT_EQ(store.open_edges(), 0u);
}

TEST(ServiceGraphStore, DatabaseClientSpanCompletesAtOnce) {
  ServiceGraphStore store({});
  auto done = store.AddSpans(
      Batch("api", {{Span::SPAN_KIND_CLIENT, 1, 0, 0, 40, false, {{"db.system", "postgresql"}}}}),
      kNow);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].client_service, "api");
  EXPECT_EQ(done[0].server_service, "postgresql");
  EXPECT_EQ(done[0].connection_type, "database");
  EXPECT_DOUBLE_EQ(done[0].client_seconds, 0.04);
  EXPECT_DOUBLE_EQ(done[0].server_seconds, 0.04);
  EXPECT_EQ(store.edges(), 1u);
  EXPECT_EQ(store.open_edges(), 0u);
}

TEST(ServiceGraphStore, DatabaseServerNamePrecedence) {
  ServiceGraphStore store({});
  auto name = [&](std::vector<std::pair<std::string, std::string>> attrs, int id) {
    auto done =
        store.AddSpans(Batch("api", {{Span::SPAN_KIND_CLIENT, id, 0, 0, 10, false, attrs}}), kNow);
    return done.size() == 1 ? done[0].server_service : std::string("<open>");
  };
  const std::pair<std::string, std::string> db = {"db.name", "orders"};
  EXPECT_EQ(name({db,
                  {"network.peer.address", "10.0.0.5"},
                  {"network.peer.port", "5432"},
                  {"server.address", "db.internal"},
                  {"peer.service", "orders-db"}},
                 1),
            "orders-db");
  EXPECT_EQ(name({db, {"network.peer.address", "10.0.0.5"}, {"server.address", "db.internal"}}, 2),
            "db.internal");
  EXPECT_EQ(name({db, {"network.peer.port", "5432"}, {"network.peer.address", "10.0.0.5"}}, 3),
            "10.0.0.5:5432");
  EXPECT_EQ(name({db, {"network.peer.address", "10.0.0.5"}}, 4), "10.0.0.5");
  EXPECT_EQ(name({db}, 5), "orders");
  // database_name_attributes in configured order: db.namespace before db.name.
  EXPECT_EQ(name({{"db.name", "legacy"}, {"db.namespace", "current"}}, 6), "current");
  EXPECT_EQ(name({{"db.system.name", "mysql"}}, 7), "mysql");
}

TEST(ServiceGraphStore, DatabaseAttributeOnTheResourceCounts) {
  ServiceGraphStore store({});
  auto done =
      store.AddSpans(Batch("api", {{Span::SPAN_KIND_CLIENT, 1}}, {{"db.system", "redis"}}), kNow);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].server_service, "redis");
  EXPECT_EQ(done[0].connection_type, "database");
}

TEST(ServiceGraphStore, DatabaseNameAttributesConfigurable) {
  ServiceGraphConfig config;
  config.database_name_attributes = {"db.name"};
  ServiceGraphStore store(config);
  // db.system alone is no longer a database; the client side waits for a server.
  auto done = store.AddSpans(
      Batch("api", {{Span::SPAN_KIND_CLIENT, 1, 0, 0, 10, false, {{"db.system", "redis"}}}}), kNow);
  EXPECT_THAT(done, IsEmpty());
  EXPECT_EQ(store.open_edges(), 1u);
}

TEST(ServiceGraphStore, RootServerSpanBecomesVirtualNodeFromUser) {
  ServiceGraphStore store({});
  store.AddSpans(Batch("frontend", {{Span::SPAN_KIND_SERVER, 1, /*parent=*/0, 0, 500}}), kNow);
  EXPECT_THAT(store.Expire(kNow + absl::Seconds(10) - absl::Nanoseconds(1)), IsEmpty());
  EXPECT_EQ(store.open_edges(), 1u);
  auto late = store.Expire(kNow + absl::Seconds(10));
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].client_service, "user");
  EXPECT_EQ(late[0].server_service, "frontend");
  EXPECT_EQ(late[0].connection_type, "virtual_node");
  EXPECT_EQ(late[0].virtual_node, "client");
  EXPECT_DOUBLE_EQ(late[0].server_seconds, 0.5);
  EXPECT_DOUBLE_EQ(late[0].client_seconds, 0);
  EXPECT_EQ(store.expired_edges(), 0u);  // it became an edge
  EXPECT_EQ(store.open_edges(), 0u);
}

TEST(ServiceGraphStore, RootServerSpanWithPeerAttributeNamesTheClient) {
  ServiceGraphStore store({});
  store.AddSpans(
      Batch("frontend", {{Span::SPAN_KIND_SERVER, 1, 0, 0, 10, false, {{"peer.service", "lb"}}}}),
      kNow);
  auto late = store.Expire(kNow + absl::Seconds(11));
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].client_service, "lb");
  EXPECT_EQ(late[0].server_service, "frontend");
  EXPECT_EQ(late[0].connection_type, "virtual_node");
}

TEST(ServiceGraphStore, ClientSpanWithPeerAttributeBecomesVirtualServer) {
  ServiceGraphStore store({});
  store.AddSpans(
      Batch("api", {{Span::SPAN_KIND_CLIENT, 1, 0, 0, 80, true, {{"peer.service", "payments"}}}}),
      kNow);
  auto late = store.Expire(kNow + absl::Seconds(10));
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].client_service, "api");
  EXPECT_EQ(late[0].server_service, "payments");
  EXPECT_EQ(late[0].connection_type, "virtual_node");
  EXPECT_EQ(late[0].virtual_node, "server");
  EXPECT_TRUE(late[0].failed);
  EXPECT_DOUBLE_EQ(late[0].client_seconds, 0.08);
  EXPECT_EQ(store.expired_edges(), 0u);
}

TEST(ServiceGraphStore, PeerAttributesInConfiguredOrder) {
  ServiceGraphConfig config;
  config.peer_attributes = {"net.peer.name", "peer.service"};
  ServiceGraphStore store(config);
  store.AddSpans(Batch("api", {{Span::SPAN_KIND_CLIENT,
                                1,
                                0,
                                0,
                                10,
                                false,
                                {{"peer.service", "second"}, {"net.peer.name", "first"}}}}),
                 kNow);
  auto late = store.Expire(kNow + absl::Seconds(10));
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].server_service, "first");
  EXPECT_EQ(late[0].client_peer, "first");
}

TEST(ServiceGraphStore, UnpairedWithoutHintsExpireAndCount) {
  ServiceGraphStore store({});
  store.AddSpans(Batch("api", {{Span::SPAN_KIND_CLIENT, 1}}), kNow);       // no peer
  store.AddSpans(Batch("api", {{Span::SPAN_KIND_SERVER, 3, 2}}), kNow);    // not a root
  store.AddSpans(Batch("api", {{Span::SPAN_KIND_CONSUMER, 5, 4}}), kNow);  // not a root
  EXPECT_THAT(store.Expire(kNow + absl::Seconds(10)), IsEmpty());
  EXPECT_EQ(store.expired_edges(), 3u);
  EXPECT_EQ(store.open_edges(), 0u);
  EXPECT_EQ(store.edges(), 3u);
}

TEST(ServiceGraphStore, ExpiryCountsFromTheFirstSpanOldestFirst) {
  ServiceGraphConfig config;
  config.wait = absl::Seconds(5);
  ServiceGraphStore store(config);
  store.AddSpans(
      Batch("a", {{Span::SPAN_KIND_CLIENT, 1, 0, 0, 10, false, {{"peer.service", "x"}}}}), kNow);
  store.AddSpans(
      Batch("a", {{Span::SPAN_KIND_CLIENT, 2, 0, 0, 10, false, {{"peer.service", "y"}}}}),
      kNow + absl::Seconds(3));
  // A second span for the first key (say a retry) does not push its expiry back.
  store.AddSpans(
      Batch("a", {{Span::SPAN_KIND_CLIENT, 1, 0, 0, 10, false, {{"peer.service", "x"}}}}),
      kNow + absl::Seconds(4));
  auto first = store.Expire(kNow + absl::Seconds(5));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].server_service, "x");
  auto second = store.Expire(kNow + absl::Seconds(8));
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].server_service, "y");
}

TEST(ServiceGraphStore, MaxItemsDropsNewSpans) {
  ServiceGraphConfig config;
  config.max_items = 2;
  ServiceGraphStore store(config);
  store.AddSpans(Batch("a", {{Span::SPAN_KIND_CLIENT, 1},
                             {Span::SPAN_KIND_CLIENT, 2},
                             {Span::SPAN_KIND_CLIENT, 3}}),
                 kNow);
  EXPECT_EQ(store.open_edges(), 2u);
  EXPECT_EQ(store.dropped_spans(), 1u);
  EXPECT_EQ(store.edges(), 2u);
  // Full store: a span that completes an open edge still pairs, and a database span still
  // completes at once; the dropped span's server side is dropped too.
  auto done = store.AddSpans(
      Batch("b", {{Span::SPAN_KIND_CLIENT, 11, 0, 0, 10, false, {{"db.system", "redis"}}},
                  {Span::SPAN_KIND_SERVER, 10, 1}}),
      kNow);
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0].server_service, "redis");
  EXPECT_EQ(done[1].client_service, "a");
  EXPECT_EQ(done[1].server_service, "b");
  // Room again: span 3's server side (its client was dropped) opens; span 2's pairs.
  auto more = store.AddSpans(
      Batch("b", {{Span::SPAN_KIND_SERVER, 12, 3}, {Span::SPAN_KIND_SERVER, 13, 2}}), kNow);
  EXPECT_EQ(more.size(), 1u);
  EXPECT_EQ(store.open_edges(), 1u);
  EXPECT_EQ(store.dropped_spans(), 1u);
}

TEST(ServiceGraphStore, DimensionsFromSpanThenResourcePerSide) {
  ServiceGraphConfig config;
  config.dimensions = {"deployment.environment", "http.method", "missing", "region"};
  ServiceGraphStore store(config);
  // Client: deployment.environment on its resource; region on both resource and span (the
  // reference's lookup, §4.2: span first, then resource).
  store.AddSpans(
      Batch("frontend", {{Span::SPAN_KIND_CLIENT, 1, 0, 0, 10, false, {{"region", "span-eu"}}}},
            {{"deployment.environment", "prod"}, {"region", "res-eu"}}),
      kNow);
  auto done = store.AddSpans(
      Batch("api", {{Span::SPAN_KIND_SERVER, 2, 1, 0, 10, false, {{"http.method", "GET"}}}},
            {{"deployment.environment", "staging"}}),
      kNow);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_THAT(done[0].client_dimensions, ElementsAre("prod", "", "", "span-eu"));
  EXPECT_THAT(done[0].server_dimensions, ElementsAre("staging", "GET", "", ""));
  // One value per dimension without the prefix: the side written last that had it.
  EXPECT_THAT(done[0].dimensions, ElementsAre("staging", "GET", "", "span-eu"));
}

TEST(ServiceGraphStore, SpanMultiplierFromDoubleAttribute) {
  ServiceGraphConfig config;
  config.span_multiplier_key = "sampling.ratio";
  ServiceGraphStore store(config);
  auto with_ratio = [](Span span, bool on_resource, AnyValue v) {
    ResourceSpans rs;
    AddAttr(rs.mutable_resource()->mutable_attributes(), "service.name", "api");
    auto* attrs =
        on_resource ? rs.mutable_resource()->mutable_attributes() : span.mutable_attributes();
    KeyValue* kv = attrs->Add();
    kv->set_key("sampling.ratio");
    *kv->mutable_value() = v;
    *rs.add_scope_spans()->add_spans() = span;
    return rs;
  };
  AnyValue quarter;
  quarter.set_double_value(0.25);
  AnyValue as_int;
  as_int.set_int_value(4);
  auto db = [](int id) {
    return MakeSpan({Span::SPAN_KIND_CLIENT, id, 0, 0, 10, false, {{"db.system", "redis"}}});
  };
  auto d1 = store.AddSpans(with_ratio(db(1), false, quarter), kNow);
  auto d2 = store.AddSpans(with_ratio(db(2), true, quarter), kNow);
  auto d3 = store.AddSpans(with_ratio(db(3), false, as_int), kNow);
  ASSERT_EQ(d1.size(), 1u);
  ASSERT_EQ(d2.size(), 1u);
  ASSERT_EQ(d3.size(), 1u);
  EXPECT_DOUBLE_EQ(d1[0].span_multiplier, 4);
  EXPECT_DOUBLE_EQ(d2[0].span_multiplier, 4);
  EXPECT_DOUBLE_EQ(d3[0].span_multiplier, 1);  // only double values count
}

TEST(ServiceGraphStore, DroppedSpanSideDropsItsCounterpart) {
  ServiceGraphStore store({});
  // The filter refused a server span; its client arrives later: no edge.
  store.AddDroppedSpan(MakeSpan({Span::SPAN_KIND_SERVER, 2, 1}), kNow);
  EXPECT_THAT(store.AddSpans(Batch("a", {{Span::SPAN_KIND_CLIENT, 1}}), kNow), IsEmpty());
  EXPECT_EQ(store.open_edges(), 0u);
  EXPECT_EQ(store.dropped_edges(), 1u);
  EXPECT_EQ(store.edges(), 0u);
  // A client side already waiting is removed when its server span is refused.
  store.AddSpans(Batch("a", {{Span::SPAN_KIND_CLIENT, 5}}), kNow);
  store.AddDroppedSpan(MakeSpan({Span::SPAN_KIND_SERVER, 6, 5}), kNow);
  EXPECT_EQ(store.open_edges(), 0u);
  EXPECT_EQ(store.dropped_edges(), 2u);
  // Dropped sides are forgotten after `wait`.
  store.Expire(kNow + absl::Seconds(10));
  store.AddSpans(Batch("a", {{Span::SPAN_KIND_CLIENT, 1}}), kNow + absl::Seconds(10));
  EXPECT_EQ(store.open_edges(), 1u);
}

TEST(ServiceGraphStore, StringifyValueAsTempo) {
  AnyValue v;
  v.set_string_value("x");
  EXPECT_EQ(StringifyAnyValue(v), "x");
  v.set_bool_value(true);
  EXPECT_EQ(StringifyAnyValue(v), "true");
  v.set_int_value(-42);
  EXPECT_EQ(StringifyAnyValue(v), "-42");
  v.set_double_value(1.5);
  EXPECT_EQ(StringifyAnyValue(v), "1.5");
  v.set_double_value(0.1);
  EXPECT_EQ(StringifyAnyValue(v), "0.1");
  v.set_double_value(1e21);
  EXPECT_EQ(StringifyAnyValue(v), "1000000000000000000000");
  v.set_double_value(3);
  EXPECT_EQ(StringifyAnyValue(v), "3");
  AnyValue arr;
  arr.mutable_array_value()->add_values()->set_string_value("a");
  arr.mutable_array_value()->add_values()->set_int_value(1);
  EXPECT_EQ(StringifyAnyValue(arr), "[a1]");
  AnyValue kv;
  KeyValue* e = kv.mutable_kvlist_value()->add_values();
  e->set_key("k");
  e->mutable_value()->set_string_value("v");
  EXPECT_EQ(StringifyAnyValue(kv), "{k:v}");
  AnyValue bytes;
  bytes.set_bytes_value("\x01");
  EXPECT_EQ(StringifyAnyValue(bytes), "");
  EXPECT_EQ(StringifyAnyValue(AnyValue()), "");
}

TEST(ServiceGraphStore, ConcurrentPairsAllComplete) {
  ServiceGraphStore store({});
  std::atomic<int> completed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const int trace = t * 1000 + i + 1;
        // Client and server of one pair from different batches.
        completed +=
            store
                .AddSpans(Batch("c", {{Span::SPAN_KIND_CLIENT, 1, 0, 0, 10, false, {}, trace}}),
                          kNow)
                .size();
        completed +=
            store
                .AddSpans(Batch("s", {{Span::SPAN_KIND_SERVER, 2, 1, 0, 10, false, {}, trace}}),
                          kNow)
                .size();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(completed.load(), 800);
  EXPECT_EQ(store.edges(), 800u);
  EXPECT_EQ(store.open_edges(), 0u);
}

}  // namespace
}  // namespace sprout::traces::generator
