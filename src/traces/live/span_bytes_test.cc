// The byte-level split and merge of serialized spans (span_bytes.h): SplitSerialized gives, per
// trace, exactly the bytes protobuf writes for SplitByTrace's groups (spans of many traces over
// many resources and scopes, invalid IDs counted); MergeSerializedGroups follows FindTrace's
// merge rule (resources and scopes by bytes, first appearance, exact duplicates once, a span of
// the same ID with other bytes kept); broken wire format is refused.
#include "traces/live/span_bytes.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/coding.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "otlp/signal.h"
#include "traces/live/tenant_traces.h"

namespace sprout::traces::live {
namespace {

namespace pb = otlp::pb;
using google::protobuf::util::MessageDifferencer;

std::string Id(int trace) {
  std::string id(16, '\0');
  id[0] = 'X';
  PutU32(id.data() + 12, static_cast<uint32_t>(trace));
  return id;
}

pb::trace::Span Span(int trace, int span, const std::string& name = "op") {
  pb::trace::Span s;
  s.set_trace_id(Id(trace));
  std::string span_id(8, '\0');
  PutU32(span_id.data() + 4, static_cast<uint32_t>(trace * 1000 + span));
  s.set_span_id(span_id);
  s.set_name(name + std::to_string(span));
  s.set_kind(pb::trace::Span::SPAN_KIND_SERVER);
  s.set_start_time_unix_nano(1700000000000000000ull + span);
  s.set_end_time_unix_nano(1700000000000000000ull + span + 5);
  s.set_flags(0x100);
  pb::common::KeyValue* a = s.add_attributes();
  a->set_key("k");
  a->mutable_value()->set_int_value(span);
  if (span % 3 == 0) s.add_events()->set_name("ev");
  return s;
}

pb::trace::ResourceSpans Rs(const std::string& service, const std::string& schema) {
  pb::trace::ResourceSpans rs;
  if (!service.empty()) {
    pb::common::KeyValue* kv = rs.mutable_resource()->add_attributes();
    kv->set_key("service.name");
    kv->mutable_value()->set_string_value(service);
  }
  rs.set_schema_url(schema);
  return rs;
}

pb::trace::ScopeSpans* Scope(pb::trace::ResourceSpans* rs, const std::string& name,
                             const std::string& schema = "") {
  pb::trace::ScopeSpans* ss = rs->add_scope_spans();
  if (!name.empty()) ss->mutable_scope()->set_name(name);
  ss->set_schema_url(schema);
  return ss;
}

std::vector<std::string_view> Views(const std::vector<std::string>& s) {
  return std::vector<std::string_view>(s.begin(), s.end());
}

TEST(SplitSerialized, GivesProtobufsBytesOfEachTracesGroupsOverManyResourcesAndScopes) {
  // 7 ResourceSpans (one without a resource, two with the same one), 1-3 scopes each (one
  // without a scope, schema URLs set and not), spans of 23 traces picked by a fixed LCG, and
  // spans with bad trace IDs.
  std::vector<pb::trace::ResourceSpans> input;
  uint32_t lcg = 12345;
  auto next = [&lcg](uint32_t n) {
    lcg = lcg * 1103515245u + 12345u;
    return (lcg >> 8) % n;
  };
  int span_no = 0, invalid = 0;
  const std::string services[] = {"a", "b", "a", "", "c", "d", "b"};
  for (int r = 0; r < 7; ++r) {
    pb::trace::ResourceSpans rs = Rs(services[r], r % 2 ? "https://s/1" : "");
    const int n_scopes = 1 + static_cast<int>(next(3));
    for (int s = 0; s < n_scopes; ++s) {
      pb::trace::ScopeSpans* ss =
          Scope(&rs, s == 1 ? "" : "scope-" + std::to_string(s), s == 2 ? "https://x" : "");
      const int n_spans = 1 + static_cast<int>(next(12));
      for (int i = 0; i < n_spans; ++i) {
        pb::trace::Span sp = Span(1 + static_cast<int>(next(23)), ++span_no);
        if (next(17) == 0) {
          sp.set_trace_id(next(2) ? "" : "short-id");
          ++invalid;
        }
        *ss->add_spans() = sp;
      }
    }
    input.push_back(std::move(rs));
  }

  // Expected: per trace (in order of first appearance), SplitByTrace's groups per input.
  std::vector<std::string> order;
  std::map<std::string, std::vector<std::string>> want_groups;
  std::map<std::string, int64_t> want_spans;
  int64_t want_invalid = 0;
  std::vector<std::string> serialized;
  for (const pb::trace::ResourceSpans& rs : input) {
    serialized.push_back(rs.SerializeAsString());
    for (const pb::trace::ScopeSpans& ss : rs.scope_spans()) {
      for (const pb::trace::Span& sp : ss.spans()) {
        if (sp.trace_id().size() != 16) continue;
        if (!want_groups.count(sp.trace_id())) {
          order.push_back(sp.trace_id());
          want_groups[sp.trace_id()];
        }
        ++want_spans[sp.trace_id()];
      }
    }
    for (const auto& [id, group] : SplitByTrace(rs, &want_invalid)) {
      want_groups[id].push_back(group.SerializeAsString());
    }
  }
  ASSERT_EQ(want_invalid, invalid);
  ASSERT_GT(invalid, 0);

  const std::vector<std::string_view> views = Views(serialized);
  absl::StatusOr<SplitResult> split = SplitSerialized(views);
  ASSERT_TRUE(split.ok()) << split.status();
  EXPECT_EQ(split->invalid_spans, invalid);
  ASSERT_EQ(split->traces.size(), order.size());
  size_t offset = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    const SplitTrace& st = split->traces[i];
    SCOPED_TRACE(i);
    EXPECT_EQ(TraceKeyString(st.id), order[i]);
    const std::vector<std::string>& want = want_groups[order[i]];
    ASSERT_EQ(st.group_count, want.size());
    int64_t bytes = 0, spans = 0;
    std::string framed;
    for (size_t g = 0; g < want.size(); ++g) {
      EXPECT_EQ(split->group(st.first_group + g), want[g]);
      bytes += static_cast<int64_t>(want[g].size());
      spans += split->groups[st.first_group + g].spans;
      framed.push_back('\x0a');
      PutUvarint(framed, want[g].size());
      framed += want[g];
    }
    EXPECT_EQ(st.bytes, bytes);
    EXPECT_EQ(st.spans, want_spans[order[i]]);
    EXPECT_EQ(spans, st.spans);
    EXPECT_EQ(split->chunk(st), framed);
    EXPECT_EQ(st.offset, offset);  // chunks lie trace after trace
    offset += st.size;
  }
  EXPECT_EQ(offset, split->data->size());
}

TEST(SplitSerialized, ResourceSpansOfARequestAreItsField1) {
  pb::trace_service::ExportTraceServiceRequest req;
  *req.add_resource_spans() = Rs("a", "");
  *Scope(req.mutable_resource_spans(0), "s")->add_spans() = Span(1, 1);
  *req.add_resource_spans() = Rs("b", "https://s");
  const std::string bytes = req.SerializeAsString();
  absl::StatusOr<std::vector<std::string_view>> rs = ResourceSpansOf(bytes);
  ASSERT_TRUE(rs.ok());
  ASSERT_EQ(rs->size(), 2u);
  EXPECT_EQ((*rs)[0], req.resource_spans(0).SerializeAsString());
  EXPECT_EQ((*rs)[1], req.resource_spans(1).SerializeAsString());
}

TEST(SplitSerialized, BrokenWireFormatIsRefused) {
  pb::trace::ResourceSpans rs = Rs("a", "");
  *Scope(&rs, "s")->add_spans() = Span(1, 1);
  const std::string good = rs.SerializeAsString();
  // Every cut inside a field (a cut just after the resource field is a valid message).
  const size_t resource_field =
      1 + UvarintLength(rs.resource().ByteSizeLong()) + rs.resource().ByteSizeLong();
  for (size_t cut = 1; cut < good.size(); ++cut) {
    if (cut == resource_field) continue;
    const std::string bad = good.substr(0, cut);
    const std::string_view view(bad);
    absl::StatusOr<SplitResult> split = SplitSerialized(std::span(&view, 1));
    EXPECT_FALSE(split.ok()) << "cut at " << cut;
    std::string framed("\x0a");
    PutUvarint(framed, bad.size());
    framed += bad;
    const std::string_view fv(framed);
    EXPECT_FALSE(MergeSerializedGroups(std::span(&fv, 1)).ok()) << "cut at " << cut;
  }
  EXPECT_FALSE(ResourceSpansOf(std::string("\x0a\x05\x01", 3)).ok());
}

// Groups (wire types 3 and 4) are not in OTLP but are valid wire format: protobuf parses a
// ResourceSpans with unknown group fields at every level, so the split takes it too (found by
// traces_live_replay_fuzzer). A span keeps its bytes (the group included); an unknown field of
// the ResourceSpans or the ScopeSpans is dropped, as any other. A group without its end, or an
// end of another field, is refused, as protobuf refuses it.
TEST(SplitSerialized, SkipsUnknownGroupFieldsAsProtobufDoes) {
  std::string group;  // field 99 {field 1 = 7, field 5 {field 1 = "x"}}
  PutUvarint(group, (99 << 3) | 3);
  group += std::string("\x08\x07\x2b\x0a\x01x\x2c", 7);
  PutUvarint(group, (99 << 3) | 4);
  const auto framed = [](char tag, const std::string& body) {
    std::string out(1, tag);
    PutUvarint(out, body.size());
    return out + body;
  };
  const std::string span1 = Span(1, 1).SerializeAsString() + group;
  pb::trace::ScopeSpans scope;
  scope.mutable_scope()->set_name("s");
  const std::string scope_bytes = scope.SerializeAsString() + framed('\x12', span1) + group +
                                  framed('\x12', Span(2, 1).SerializeAsString());
  pb::trace::ResourceSpans rs = Rs("a", "");
  const std::string rs_bytes = rs.SerializeAsString() + group + framed('\x12', scope_bytes);
  pb::trace::ResourceSpans parsed;
  ASSERT_TRUE(parsed.ParseFromString(rs_bytes));
  ASSERT_EQ(parsed.scope_spans(0).spans_size(), 2);

  const std::string_view view(rs_bytes);
  absl::StatusOr<SplitResult> split = SplitSerialized(std::span(&view, 1));
  ASSERT_TRUE(split.ok()) << split.status();
  ASSERT_EQ(split->traces.size(), 2u);
  EXPECT_EQ(TraceKeyString(split->traces[0].id), Id(1));
  EXPECT_EQ(TraceKeyString(split->traces[1].id), Id(2));
  EXPECT_EQ(split->traces[0].spans, 1);
  EXPECT_EQ(split->traces[1].spans, 1);
  pb::trace::ResourceSpans want = rs;
  pb::trace::ScopeSpans* ws = want.add_scope_spans();
  *ws->mutable_scope() = scope.scope();
  ASSERT_TRUE(ws->add_spans()->ParseFromString(span1));
  EXPECT_EQ(split->group(0), want.SerializeAsString());
  const std::string_view chunk = split->chunk(split->traces[0]);
  absl::StatusOr<std::string> merged = MergeSerializedGroups(std::span(&chunk, 1));
  ASSERT_TRUE(merged.ok());
  pb::trace::TracesData td;
  ASSERT_TRUE(td.ParseFromString(*merged));
  EXPECT_TRUE(MessageDifferencer::Equals(td.resource_spans(0), want));

  std::string open_group;  // a start without its end
  PutUvarint(open_group, (99 << 3) | 3);
  std::string wrong_end = open_group;  // ended as field 98
  PutUvarint(wrong_end, (98 << 3) | 4);
  for (const std::string& bad_group : {open_group, wrong_end, std::string("\x0c", 1)}) {
    const std::string bad = rs.SerializeAsString() + bad_group;
    EXPECT_FALSE(parsed.ParseFromString(bad));
    const std::string_view bv(bad);
    EXPECT_FALSE(SplitSerialized(std::span(&bv, 1)).ok());
  }
}

// Protobuf reads a tag as the low 32 bits of a varint of up to 5 bytes, so a 5-byte tag with
// bits beyond 32 is an (unknown) field to it, not broken wire format; the split agrees (found by
// traces_live_replay_fuzzer).
TEST(SplitSerialized, ReadsATagAsItsLow32BitsAsProtobufDoes) {
  pb::trace::ResourceSpans rs = Rs("a", "");
  *Scope(&rs, "s")->add_spans() = Span(1, 1);
  // Field 0x3ffffe6 (after truncation), length-delimited, empty; the 5th byte sets bit 32 too.
  const std::string bytes = rs.SerializeAsString() + std::string("\xb2\xff\xff\xff\x12\x00", 6);
  pb::trace::ResourceSpans parsed;
  ASSERT_TRUE(parsed.ParseFromString(bytes));
  const std::string_view view(bytes);
  absl::StatusOr<SplitResult> split = SplitSerialized(std::span(&view, 1));
  ASSERT_TRUE(split.ok()) << split.status();
  ASSERT_EQ(split->traces.size(), 1u);
  EXPECT_EQ(split->traces[0].spans, 1);
  EXPECT_EQ(split->group(0), rs.SerializeAsString());  // the unknown field dropped
}

// Frames groups as one chunk.
std::string Chunk(const std::vector<pb::trace::ResourceSpans>& groups) {
  std::string out;
  for (const auto& g : groups) {
    out.push_back('\x0a');
    PutUvarint(out, g.ByteSizeLong());
    out += g.SerializeAsString();
  }
  return out;
}

TEST(MergeSerializedGroups, CombinesResourcesAndScopesByBytesAndKeepsExactDuplicatesOnce) {
  // Chunk 1: resource a (scopes s1, s2) and resource b. Chunk 2: a again (s2 first, then s1,
  // with a repeat of span 1 and a span 2 of other bytes), a with another schema URL, and a group
  // of b whose only span repeats: it adds nothing. Chunk 3: resource-less spans.
  pb::trace::ResourceSpans a1 = Rs("a", "");
  *Scope(&a1, "s1")->add_spans() = Span(1, 1);
  *Scope(&a1, "s2")->add_spans() = Span(1, 2);
  pb::trace::ResourceSpans b1 = Rs("b", "");
  *Scope(&b1, "s1")->add_spans() = Span(1, 3);
  pb::trace::ResourceSpans a2 = Rs("a", "");
  *Scope(&a2, "s2")->add_spans() = Span(1, 4);
  pb::trace::ScopeSpans* s1 = Scope(&a2, "s1");
  *s1->add_spans() = Span(1, 1);
  *s1->add_spans() = Span(1, 2, "other");
  pb::trace::ResourceSpans a3 = Rs("a", "https://other");
  *Scope(&a3, "s1")->add_spans() = Span(1, 5);
  pb::trace::ResourceSpans b2 = Rs("b", "");
  *Scope(&b2, "s9")->add_spans() = Span(1, 3);
  pb::trace::ResourceSpans none = Rs("", "");
  *Scope(&none, "")->add_spans() = Span(1, 6);
  const std::vector<std::string> chunks = {Chunk({a1, b1}), Chunk({a2, a3, b2}), Chunk({none})};
  const std::vector<std::string_view> views = Views(chunks);
  absl::StatusOr<std::string> merged = MergeSerializedGroups(views);
  ASSERT_TRUE(merged.ok()) << merged.status();

  pb::trace::TracesData want;
  pb::trace::ResourceSpans* a = want.add_resource_spans();
  *a = Rs("a", "");
  pb::trace::ScopeSpans* w1 = Scope(a, "s1");
  *w1->add_spans() = Span(1, 1);
  *w1->add_spans() = Span(1, 2, "other");
  pb::trace::ScopeSpans* w2 = Scope(a, "s2");
  *w2->add_spans() = Span(1, 2);
  *w2->add_spans() = Span(1, 4);
  pb::trace::ResourceSpans* b = want.add_resource_spans();
  *b = Rs("b", "");
  *Scope(b, "s1")->add_spans() = Span(1, 3);
  pb::trace::ResourceSpans* ao = want.add_resource_spans();
  *ao = Rs("a", "https://other");
  *Scope(ao, "s1")->add_spans() = Span(1, 5);
  pb::trace::ResourceSpans* n = want.add_resource_spans();
  *n = Rs("", "");
  *Scope(n, "")->add_spans() = Span(1, 6);
  EXPECT_EQ(*merged, want.SerializeAsString());

  // MergeGroups (the protobuf form) gives the same.
  std::vector<const pb::trace::ResourceSpans*> groups = {&a1, &b1, &a2, &a3, &b2, &none};
  EXPECT_TRUE(MessageDifferencer::Equals(MergeGroups(groups), want));
}

}  // namespace
}  // namespace sprout::traces::live

namespace sprout::traces::live {
namespace {

// A span of trace `trace` with the given times (0 = field left unset).
pb::trace::Span Timed(int trace, int span, uint64_t start, uint64_t end) {
  pb::trace::Span s = Span(trace, span);
  s.clear_start_time_unix_nano();
  s.clear_end_time_unix_nano();
  if (start != 0) s.set_start_time_unix_nano(start);
  if (end != 0) s.set_end_time_unix_nano(end);
  return s;
}

TEST(SplitSerialized, GivesEachTraceAndGroupTheBoundsOfItsSpans) {
  // Two ResourceSpans; trace 1 in both, trace 2 in the second only, trace 3 with one span that
  // ends before it starts (its end counts as its start) and trace 4 with no times at all.
  pb::trace::ResourceSpans a = Rs("svc-a", "");
  *Scope(&a, "s1")->add_spans() = Timed(1, 1, 500, 900);
  *Scope(&a, "s2")->add_spans() = Timed(1, 2, 300, 400);
  pb::trace::ResourceSpans b = Rs("svc-b", "");
  pb::trace::ScopeSpans* bs = Scope(&b, "s1");
  *bs->add_spans() = Timed(1, 3, 1000, 2000);
  *bs->add_spans() = Timed(2, 1, 10, 20);
  *bs->add_spans() = Timed(3, 1, 70, 60);
  *bs->add_spans() = Timed(4, 1, 0, 0);
  const std::vector<std::string> in = {a.SerializeAsString(), b.SerializeAsString()};
  const std::vector<std::string_view> views = Views(in);
  absl::StatusOr<SplitResult> split = SplitSerialized(views);
  ASSERT_TRUE(split.ok()) << split.status();
  ASSERT_EQ(split->traces.size(), 4u);
  const SplitTrace& t1 = split->traces[0];
  EXPECT_EQ(t1.times.start, 300u);
  EXPECT_EQ(t1.times.end, 2000u);
  ASSERT_EQ(t1.group_count, 2u);
  EXPECT_EQ(split->groups[t1.first_group].times.start, 300u);
  EXPECT_EQ(split->groups[t1.first_group].times.end, 900u);
  EXPECT_EQ(split->groups[t1.first_group + 1].times.start, 1000u);
  EXPECT_EQ(split->groups[t1.first_group + 1].times.end, 2000u);
  EXPECT_EQ(split->traces[1].times.start, 10u);
  EXPECT_EQ(split->traces[1].times.end, 20u);
  EXPECT_EQ(split->traces[2].times.start, 70u);
  EXPECT_EQ(split->traces[2].times.end, 70u);
  EXPECT_EQ(split->traces[3].times.start, 0u);
  EXPECT_EQ(split->traces[3].times.end, 0u);
  EXPECT_FALSE(split->traces[3].times.empty());
}

TEST(SplitSerialized, ReadsTimesAsProtobufDoesLastValueWinsOtherWireTypesIgnored) {
  // A span whose start is written twice (the last wins) and whose field 8 is a varint (not a
  // fixed64: protobuf keeps it as an unknown field, so its end time stays 0).
  pb::trace::Span s = Timed(1, 1, 100, 0);
  std::string span = s.SerializeAsString();
  span.push_back('\x39');                                              // field 7, fixed64
  for (int i = 0; i < 8; ++i) span.push_back(i == 0 ? '\x50' : '\0');  // 80
  span.push_back('\x40');                                              // field 8, varint
  span.push_back('\x7f');
  pb::trace::Span parsed;
  ASSERT_TRUE(parsed.ParseFromString(span));
  ASSERT_EQ(parsed.start_time_unix_nano(), 80u);
  ASSERT_EQ(parsed.end_time_unix_nano(), 0u);
  pb::trace::ResourceSpans rs = Rs("svc", "");
  pb::trace::ScopeSpans* ss = Scope(&rs, "s");
  std::string bytes = rs.SerializeAsString();
  // ScopeSpans with the span appended by hand (field 2 of the ScopeSpans).
  std::string scope = ss->SerializeAsString();
  scope.push_back('\x12');
  PutUvarint(scope, span.size());
  scope += span;
  std::string rs_bytes;
  rs_bytes.push_back('\x0a');
  PutUvarint(rs_bytes, rs.resource().ByteSizeLong());
  rs_bytes += rs.resource().SerializeAsString();
  rs_bytes.push_back('\x12');
  PutUvarint(rs_bytes, scope.size());
  rs_bytes += scope;
  const std::string_view view(rs_bytes);
  absl::StatusOr<SplitResult> split = SplitSerialized(std::span(&view, 1));
  ASSERT_TRUE(split.ok()) << split.status();
  ASSERT_EQ(split->traces.size(), 1u);
  EXPECT_EQ(split->traces[0].times.start, 80u);
  EXPECT_EQ(split->traces[0].times.end, 80u);
}

TEST(SpanTimes, MayStartInIsAnOverlapOfTheStartsWithAHalfOpenRange) {
  SpanTimes t;
  EXPECT_TRUE(t.empty());
  EXPECT_FALSE(t.MayStartIn(0, UINT64_MAX));
  t.Add(100, 200);
  EXPECT_TRUE(t.MayStartIn(0, 101));
  EXPECT_FALSE(t.MayStartIn(0, 100));   // the range ends before the first start
  EXPECT_TRUE(t.MayStartIn(200, 300));  // a span may start at the last end
  EXPECT_FALSE(t.MayStartIn(201, 300));
  SpanTimes u;
  u.Add(500, 400);
  t.Add(u);
  EXPECT_EQ(t.start, 100u);
  EXPECT_EQ(t.end, 500u);
}

// The expected projection of `td`, made on the messages: the block reader's projected read.
pb::trace::TracesData ProjectedByHand(pb::trace::TracesData td,
                                      const std::vector<std::string>& resource_keys,
                                      const std::vector<std::string>& span_keys) {
  const auto keep = [](google::protobuf::RepeatedPtrField<pb::common::KeyValue>* attrs,
                       const std::vector<std::string>& keys) {
    google::protobuf::RepeatedPtrField<pb::common::KeyValue> kept;
    for (const pb::common::KeyValue& kv : *attrs) {
      if (std::find(keys.begin(), keys.end(), kv.key()) != keys.end()) *kept.Add() = kv;
    }
    attrs->Swap(&kept);
  };
  for (pb::trace::ResourceSpans& rs : *td.mutable_resource_spans()) {
    if (rs.has_resource()) keep(rs.mutable_resource()->mutable_attributes(), resource_keys);
    for (pb::trace::ScopeSpans& ss : *rs.mutable_scope_spans()) {
      if (ss.has_scope()) ss.mutable_scope()->clear_attributes();
      for (pb::trace::Span& span : *ss.mutable_spans()) {
        keep(span.mutable_attributes(), span_keys);
        span.clear_events();
        span.clear_links();
      }
    }
  }
  return td;
}

TEST(ProjectSerializedTraces, KeepsWhatTheBlocksProjectedReadKeeps) {
  pb::trace::TracesData td;
  for (int r = 0; r < 2; ++r) {
    pb::trace::ResourceSpans* rs = td.add_resource_spans();
    *rs = Rs(r == 0 ? "svc-a" : "", "https://schema/" + std::to_string(r));
    pb::common::KeyValue* host = rs->mutable_resource()->add_attributes();
    host->set_key("host.name");
    host->mutable_value()->set_string_value("h");
    rs->mutable_resource()->set_dropped_attributes_count(3);
    pb::trace::ScopeSpans* ss = Scope(rs, "lib", "https://scope");
    ss->mutable_scope()->add_attributes()->set_key("scope.attr");
    ss->mutable_scope()->set_version("2");
    Scope(rs, "");  // a scope without spans
    for (int i = 1; i <= 4; ++i) {
      pb::trace::Span s = Span(1, r * 10 + i);  // attribute k, an event every third span
      pb::common::KeyValue* m = s.add_attributes();
      m->set_key("http.method");
      m->mutable_value()->set_string_value("GET");
      s.add_links()->set_span_id(std::string(8, 'l'));
      s.set_dropped_events_count(1);
      *ss->add_spans() = s;
    }
  }
  const std::string bytes = td.SerializeAsString();
  for (const auto& [rkeys, skeys] :
       std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>>{
           {{}, {}},
           {{"service.name"}, {"http.method"}},
           {{"host.name", "service.name"}, {"k", "http.method", "absent"}}}) {
    std::string out = "stale";
    ASSERT_TRUE(ProjectSerializedTraces(bytes, Projection{rkeys, skeys}, &out).ok());
    pb::trace::TracesData got;
    ASSERT_TRUE(got.ParseFromString(out));
    std::string diff;
    MessageDifferencer d;
    d.ReportDifferencesToString(&diff);
    EXPECT_TRUE(d.Compare(ProjectedByHand(td, rkeys, skeys), got)) << diff;
  }
  std::string out;
  EXPECT_FALSE(ProjectSerializedTraces(bytes.substr(0, bytes.size() - 3), {}, &out).ok());
}

}  // namespace
}  // namespace sprout::traces::live
