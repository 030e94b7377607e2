#include "otlp/wire_filter.h"

#include <algorithm>
#include <random>

#include "gtest/gtest.h"
#include "otlp/wire_scan.h"

namespace sprout::otlp {
namespace {

using TracesRequest = pb::trace_service::ExportTraceServiceRequest;
using LogsRequest = pb::logs_service::ExportLogsServiceRequest;

// A request with resources × scopes × spans (some scopes empty), with schema URLs and
// attributes around the spans so that everything else must survive the copy.
TracesRequest RandomTraces(std::mt19937& rng) {
  TracesRequest req;
  const int resources = 1 + rng() % 3;
  for (int r = 0; r < resources; ++r) {
    auto* rs = req.add_resource_spans();
    auto* kv = rs->mutable_resource()->add_attributes();
    kv->set_key("service.name");
    kv->mutable_value()->set_string_value("svc" + std::to_string(r));
    rs->set_schema_url("https://schema/" + std::to_string(r));
    const int scopes = rng() % 3;
    for (int s = 0; s < scopes; ++s) {
      auto* ss = rs->add_scope_spans();
      ss->mutable_scope()->set_name("scope" + std::to_string(s));
      ss->set_schema_url("https://scope-schema");
      const int spans = rng() % 4;
      for (int i = 0; i < spans; ++i) {
        auto* span = ss->add_spans();
        span->set_name("span-" + std::to_string(r) + "-" + std::to_string(s) + "-" +
                       std::to_string(i));
        span->set_trace_id(std::string(16, static_cast<char>(i + 1)));
        span->set_span_id(std::string(8, static_cast<char>(i + 1)));
        span->add_events()->set_name("e");
      }
    }
  }
  return req;
}

// What editing the decoded request gives (the filter processor's own rules).
TracesRequest Expected(TracesRequest req, const std::vector<bool>& drop) {
  size_t next = 0;
  TracesRequest out;
  for (auto& rs : *req.mutable_resource_spans()) {
    pb::trace::ResourceSpans kept_rs = rs;
    kept_rs.clear_scope_spans();
    for (auto& ss : *rs.mutable_scope_spans()) {
      pb::trace::ScopeSpans kept_ss = ss;
      kept_ss.clear_spans();
      for (auto& span : ss.spans()) {
        if (!drop[next++]) *kept_ss.add_spans() = span;
      }
      if (kept_ss.spans_size() > 0) *kept_rs.add_scope_spans() = kept_ss;
    }
    if (kept_rs.scope_spans_size() > 0) *out.add_resource_spans() = kept_rs;
  }
  return out;
}

TEST(RemoveItemsTest, MatchesEditingTheDecodedRequest) {
  std::mt19937 rng(42);
  for (int round = 0; round < 500; ++round) {
    const TracesRequest req = RandomTraces(rng);
    const std::string wire = req.SerializeAsString();
    std::vector<bool> drop(static_cast<size_t>(CountItems(req)));
    for (size_t i = 0; i < drop.size(); ++i) drop[i] = rng() % 3 == 0;
    int64_t kept = -1;
    const std::optional<std::string> result = RemoveItems(Signal::kTraces, wire, drop, &kept);
    ASSERT_TRUE(result.has_value());
    const std::string& out = *result;
    ASSERT_TRUE(ScanRequest(Signal::kTraces, out).ok());
    EXPECT_EQ(kept, std::count(drop.begin(), drop.end(), false));
    TracesRequest got;
    ASSERT_TRUE(got.ParseFromString(out));
    EXPECT_EQ(got.SerializeAsString(), Expected(req, drop).SerializeAsString()) << round;
  }
}

TEST(RemoveItemsTest, NothingDroppedKeepsNonEmptyContainersByteForByte) {
  std::mt19937 rng(7);
  TracesRequest req = RandomTraces(rng);
  // Without empty scopes, nothing changes at all.
  for (auto& rs : *req.mutable_resource_spans()) {
    rs.add_scope_spans()->add_spans()->set_name("x");
    for (int i = rs.scope_spans_size() - 1; i >= 0; --i) {
      if (rs.scope_spans(i).spans_size() == 0) rs.mutable_scope_spans()->DeleteSubrange(i, 1);
    }
  }
  const std::string wire = req.SerializeAsString();
  EXPECT_EQ(*RemoveItems(Signal::kTraces, wire,
                         std::vector<bool>(static_cast<size_t>(CountItems(req)), false), nullptr),
            wire);
}

TEST(RemoveItemsTest, DroppingEverythingLeavesAnEmptyRequest) {
  std::mt19937 rng(9);
  const TracesRequest req = RandomTraces(rng);
  int64_t kept = -1;
  EXPECT_EQ(*RemoveItems(Signal::kTraces, req.SerializeAsString(),
                         std::vector<bool>(static_cast<size_t>(CountItems(req)), true), &kept),
            "");
  EXPECT_EQ(kept, 0);
}

TEST(RemoveItemsTest, Logs) {
  LogsRequest req;
  auto* rl = req.add_resource_logs();
  rl->set_schema_url("s");
  auto* sl = rl->add_scope_logs();
  sl->mutable_scope()->set_name("lib");
  for (int i = 0; i < 4; ++i)
    sl->add_log_records()->mutable_body()->set_string_value(std::to_string(i));
  const std::string out =
      *RemoveItems(Signal::kLogs, req.SerializeAsString(), {true, false, true, false}, nullptr);
  LogsRequest got;
  ASSERT_TRUE(got.ParseFromString(out));
  ASSERT_EQ(got.resource_logs(0).scope_logs(0).log_records_size(), 2);
  EXPECT_EQ(got.resource_logs(0).scope_logs(0).log_records(1).body().string_value(), "3");
  EXPECT_EQ(got.resource_logs(0).scope_logs(0).scope().name(), "lib");
  EXPECT_EQ(got.resource_logs(0).schema_url(), "s");
}

// Field 99 as a group holding a varint, and as a varint: unknown fields a decode keeps.
const std::string kGroup99 = std::string("\x9b\x06\x08\x01\x9c\x06", 6);
const std::string kVarint99 = std::string("\x98\x06\x07", 3);

TEST(RemoveItemsTest, UnknownFieldsAndGroupsAnywhereAreCopiedAndNotCounted) {
  // A scope with span a, a group, span b, a varint, span c; the group and varint also at the
  // request and resource levels.
  pb::trace::ScopeSpans scope;
  scope.mutable_scope()->set_name("lib");
  std::string scope_wire = scope.SerializeAsString();
  for (const char* name : {"a", "b", "c"}) {
    pb::trace::ScopeSpans one;
    one.add_spans()->set_name(name);
    scope_wire += one.SerializeAsString();
    scope_wire += std::string(name) == "a" ? kGroup99 : kVarint99;
  }
  pb::trace::ResourceSpans resource;
  resource.set_schema_url("r");
  std::string resource_wire = kGroup99 + resource.SerializeAsString();
  resource_wire += std::string("\x12", 1) + static_cast<char>(scope_wire.size()) + scope_wire;
  std::string wire = kVarint99 + std::string("\x0a", 1) + static_cast<char>(resource_wire.size()) +
                     resource_wire + kGroup99;
  ASSERT_LT(scope_wire.size(), 128u);
  ASSERT_LT(resource_wire.size(), 128u);
  ASSERT_EQ(*ScanRequest(Signal::kTraces, wire), 3);

  int64_t kept = -1;
  auto out = RemoveItems(Signal::kTraces, wire, {false, true, false}, &kept);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(kept, 2);
  ASSERT_TRUE(ScanRequest(Signal::kTraces, *out).ok());
  TracesRequest got;
  ASSERT_TRUE(got.ParseFromString(*out));
  const auto& spans = got.resource_spans(0).scope_spans(0).spans();
  ASSERT_EQ(spans.size(), 2);
  EXPECT_EQ(spans[0].name(), "a");
  EXPECT_EQ(spans[1].name(), "c");
  EXPECT_EQ(got.resource_spans(0).schema_url(), "r");
  EXPECT_EQ(got.resource_spans(0).scope_spans(0).scope().name(), "lib");
  // Unknown fields survive at every level (2 at the request, 1 in the resource, 3 in the scope).
  const auto count_unknown = [](const google::protobuf::Message& m) {
    return m.GetReflection()->GetUnknownFields(m).field_count();
  };
  EXPECT_EQ(count_unknown(got), 2);
  EXPECT_EQ(count_unknown(got.resource_spans(0)), 1);
  EXPECT_EQ(count_unknown(got.resource_spans(0).scope_spans(0)), 3);
}

TEST(RemoveItemsTest, FlagsThatDoNotMatchTheItemsAreRefused) {
  std::mt19937 rng(3);
  TracesRequest req = RandomTraces(rng);
  req.mutable_resource_spans(0)->add_scope_spans()->add_spans()->set_name("one more");
  const std::string wire = req.SerializeAsString();
  const size_t n = static_cast<size_t>(CountItems(req));
  EXPECT_FALSE(RemoveItems(Signal::kTraces, wire, std::vector<bool>(n - 1, false), nullptr));
  EXPECT_FALSE(RemoveItems(Signal::kTraces, wire, std::vector<bool>(n + 1, false), nullptr));
  EXPECT_FALSE(RemoveItems(Signal::kTraces, wire.substr(0, wire.size() - 1),
                           std::vector<bool>(n, false), nullptr));
}

// A tag may be written longer than needed. Protobuf's parser reads at most 5 bytes and drops the
// bits beyond 32, so a padded 5-byte tag with high bits set still names its field; a 6-byte tag
// is malformed. The scan, the parser and the filter must all read tags that way.
std::string Field(std::string_view tag, std::string_view payload) {
  std::string out(tag);
  out.push_back(static_cast<char>(payload.size()));  // payloads here are under 128 bytes
  out.append(payload);
  return out;
}

TEST(RemoveItemsTest, OverlongTagsReadAsTheParserReadsThem) {
  const std::string span_a = Field("\x2a", "a");  // Span.name = 5
  const std::string span_b = Field("\x2a", "b");
  // ScopeSpans.spans = 2 (tag 0x12) and ResourceSpans.scope_spans = 2, and the request's
  // resource_spans = 1 (tag 0x0a), the first span's and the resource's tags padded to 5 bytes
  // with bit 32 set.
  const std::string scope =
      Field(std::string_view("\x92\x80\x80\x80\x10", 5), span_a) + Field("\x12", span_b);
  const std::string resource = Field("\x12", scope);
  const std::string wire = Field(std::string_view("\x8a\x80\x80\x80\x10", 5), resource);

  TracesRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire));
  ASSERT_EQ(CountItems(parsed), 2);
  EXPECT_EQ(parsed.resource_spans(0).scope_spans(0).spans(0).name(), "a");
  auto items = ScanRequest(Signal::kTraces, wire);
  ASSERT_TRUE(items.ok()) << items.status();
  EXPECT_EQ(*items, 2);

  int64_t kept = -1;
  const auto out = RemoveItems(Signal::kTraces, wire, {true, false}, &kept);
  ASSERT_TRUE(out.has_value()) << "the filter misread a tag the parser accepts";
  EXPECT_EQ(kept, 1);
  TracesRequest got;
  ASSERT_TRUE(got.ParseFromString(*out));
  EXPECT_EQ(got.SerializeAsString(), Expected(parsed, {true, false}).SerializeAsString());

  // Six bytes: the parser refuses, and so do the scan and the filter.
  const std::string too_long = Field(std::string_view("\x8a\x80\x80\x80\x80\x00", 6), resource);
  EXPECT_FALSE(TracesRequest().ParseFromString(too_long));
  EXPECT_FALSE(ScanRequest(Signal::kTraces, too_long).ok());
  EXPECT_FALSE(RemoveItems(Signal::kTraces, too_long, {true, false}, nullptr).has_value());
}

}  // namespace
}  // namespace sprout::otlp
