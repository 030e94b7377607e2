#include "traces/compact/compact.h"

#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "absl/algorithm/container.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/ulid.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "objstore/fault_injection.h"
#include "objstore/memory.h"
#include "traces/live/tenant_traces.h"

#define ASSERT_OK(expr) ASSERT_TRUE((expr).ok()) << (expr)
#define CMP_CONCAT2(a, b) a##b
#define CMP_CONCAT(a, b) CMP_CONCAT2(a, b)
#define ASSERT_OK_AND_ASSIGN(lhs, expr)                                              \
  auto CMP_CONCAT(so_, __LINE__) = (expr);                                           \
  ASSERT_TRUE(CMP_CONCAT(so_, __LINE__).ok()) << CMP_CONCAT(so_, __LINE__).status(); \
  lhs = std::move(*CMP_CONCAT(so_, __LINE__))

namespace sprout::traces::compact {
namespace {

using google::protobuf::util::MessageDifferencer;
using opentelemetry::proto::trace::v1::ResourceSpans;
using opentelemetry::proto::trace::v1::ScopeSpans;
using opentelemetry::proto::trace::v1::Span;
using opentelemetry::proto::trace::v1::TracesData;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kTenant[] = "t1";
const absl::Time kNow = absl::FromUnixSeconds(1800000000);  // 2027-01-15

uint64_t Nanos(absl::Time t) { return static_cast<uint64_t>(absl::ToUnixNanos(t)); }

std::string Tid(int n) {
  std::string id(16, '\0');
  id[15] = static_cast<char>(n);
  id[0] = static_cast<char>(0x10 + n);
  return id;
}
std::string Sid(int n) { return std::string(7, '\x01') + static_cast<char>(n); }

Span MakeSpan(int trace, int span, std::string name, absl::Time start) {
  Span s;
  s.set_trace_id(Tid(trace));
  s.set_span_id(Sid(span));
  s.set_name(std::move(name));
  s.set_start_time_unix_nano(Nanos(start));
  s.set_end_time_unix_nano(Nanos(start + absl::Milliseconds(5)));
  auto* a = s.add_attributes();
  a->set_key("k");
  a->mutable_value()->set_int_value(span);
  return s;
}

// One ResourceSpans of service `service` with scope `scope` holding `spans`.
ResourceSpans Group(const std::string& service, const std::string& scope, std::vector<Span> spans) {
  ResourceSpans rs;
  auto* attr = rs.mutable_resource()->add_attributes();
  attr->set_key("service.name");
  attr->mutable_value()->set_string_value(service);
  ScopeSpans* ss = rs.add_scope_spans();
  ss->mutable_scope()->set_name(scope);
  for (Span& s : spans) *ss->add_spans() = std::move(s);
  return rs;
}

TracesData Trace(std::vector<ResourceSpans> groups) {
  TracesData td;
  for (ResourceSpans& g : groups) *td.add_resource_spans() = std::move(g);
  return td;
}

std::shared_ptr<const block::BlockReader> WriteBlock(
    objstore::ObjectStore* store, const std::map<std::string, TracesData>& traces,
    uint32_t level = 0, uint32_t page_target_spans = 2) {
  block::BlockWriter writer({.page_target_spans = page_target_spans, .compaction_level = level});
  for (const auto& [id, td] : traces) {
    absl::Status s = writer.Add(id, td);
    EXPECT_TRUE(s.ok()) << s;
  }
  const std::string id = Ulid::Generate().ToString();
  auto meta = writer.Finish(store, kTenant, id);
  EXPECT_TRUE(meta.ok()) << meta.status();
  auto reader = block::BlockReader::Open(store, kTenant, id);
  EXPECT_TRUE(reader.ok()) << reader.status();
  return std::shared_ptr<const block::BlockReader>(std::move(*reader));
}

// ---------------------------------------------------------------- planner

PlanBlock PB(std::string id, uint32_t level, absl::Time end, uint64_t bytes = 100,
             uint64_t objects = 10) {
  return PlanBlock{.id = std::move(id),
                   .level = level,
                   .start_unix_nano = Nanos(end - absl::Minutes(1)),
                   .end_unix_nano = Nanos(end),
                   .bytes = bytes,
                   .objects = objects};
}

std::vector<std::vector<std::string>> Inputs(const std::vector<Job>& jobs) {
  std::vector<std::vector<std::string>> out;
  for (const Job& j : jobs) out.push_back(j.inputs);
  return out;
}

TEST(Plan, Table) {
  const absl::Time w = absl::FromUnixSeconds(1800000000 / 3600 * 3600);  // a window's start
  const absl::Time old = w - absl::Hours(48);
  struct Case {
    std::string name;
    std::vector<PlanBlock> blocks;
    PlanOptions options;
    std::vector<std::vector<std::string>> want;
    std::vector<uint32_t> want_levels;
  };
  PlanOptions small_bytes;
  small_bytes.max_block_bytes = 100;
  PlanOptions small_objects;
  small_objects.max_compaction_objects = 25;
  const std::vector<Case> cases = {
      {"single block: nothing", {PB("A", 0, w + absl::Minutes(5))}, {}, {}, {}},
      {"two in one window",
       {PB("B", 0, w + absl::Minutes(9)), PB("A", 0, w + absl::Minutes(5))},
       {},
       {{"A", "B"}},
       {1}},
      {"different windows: nothing",
       {PB("A", 0, w + absl::Minutes(5)), PB("B", 0, w + absl::Minutes(65))},
       {},
       {},
       {}},
      {"at most 4 inputs, the rest alone",
       {PB("A", 0, w + absl::Minutes(1)), PB("B", 0, w + absl::Minutes(2)),
        PB("C", 0, w + absl::Minutes(3)), PB("D", 0, w + absl::Minutes(4)),
        PB("E", 0, w + absl::Minutes(5))},
       {},
       {{"A", "B", "C", "D"}},
       {1}},
      {"six inputs: 4 + 2",
       {PB("A", 0, w + absl::Minutes(1)), PB("B", 0, w + absl::Minutes(2)),
        PB("C", 0, w + absl::Minutes(3)), PB("D", 0, w + absl::Minutes(4)),
        PB("E", 0, w + absl::Minutes(5)), PB("F", 0, w + absl::Minutes(6))},
       {},
       {{"A", "B", "C", "D"}, {"E", "F"}},
       {1, 1}},
      {"levels apart in the active window",
       {PB("A", 0, w + absl::Minutes(1)), PB("B", 1, w + absl::Minutes(2)),
        PB("C", 0, w + absl::Minutes(3)), PB("D", 1, w + absl::Minutes(4))},
       {},
       {{"A", "C"}, {"B", "D"}},
       {1, 2}},
      {"levels together before the active window",
       {PB("A", 0, old + absl::Minutes(1)), PB("B", 2, old + absl::Minutes(2))},
       {},
       {{"A", "B"}},
       {3}},
      {"max_block_bytes cuts runs",
       {PB("A", 0, w + absl::Minutes(1), 60), PB("B", 0, w + absl::Minutes(2), 60),
        PB("C", 0, w + absl::Minutes(3), 30), PB("X", 0, w + absl::Minutes(4), 101)},
       small_bytes,
       {{"B", "C"}},
       {1}},
      {"max_compaction_objects cuts runs",
       {PB("A", 0, w + absl::Minutes(1), 1, 10), PB("B", 0, w + absl::Minutes(2), 1, 10),
        PB("C", 0, w + absl::Minutes(3), 1, 10), PB("D", 0, w + absl::Minutes(4), 1, 10)},
       small_objects,
       {{"A", "B"}, {"C", "D"}},
       {1, 1}},
      {"oldest window first",
       {PB("N1", 0, w + absl::Minutes(1)), PB("N2", 0, w + absl::Minutes(2)),
        PB("O1", 0, w - absl::Minutes(50)), PB("O2", 0, w - absl::Minutes(40))},
       {},
       {{"O1", "O2"}, {"N1", "N2"}},
       {1, 1}},
  };
  for (const Case& c : cases) {
    const std::vector<Job> jobs = Plan(c.blocks, c.options, kNow);
    EXPECT_EQ(Inputs(jobs), c.want) << c.name;
    std::vector<uint32_t> levels;
    for (const Job& j : jobs) levels.push_back(j.output_level);
    EXPECT_EQ(levels, c.want_levels) << c.name;
  }
}

// ---------------------------------------------------------------- compaction

struct Fixture3 {
  std::map<std::string, TracesData> a, b, c;
  std::map<std::string, TracesData> expected;  // the merge, built by hand
};

// Trace 1 has parts in three blocks with an exact duplicate span (s2 in A and B) and a span
// with the same ID but other bytes (s1 in A and C: kept twice); trace 2 in B and C; traces 0,
// 3 and 4 in one block each.
Fixture3 MakeFixture() {
  Fixture3 f;
  const absl::Time t = kNow - absl::Minutes(30);
  f.a[Tid(0)] = Trace({Group("svc-a", "lib", {MakeSpan(0, 1, "zero", t)})});
  f.a[Tid(1)] = Trace({Group("svc-a", "lib", {MakeSpan(1, 1, "s1", t), MakeSpan(1, 2, "s2", t)})});
  f.b[Tid(1)] = Trace({Group("svc-a", "lib", {MakeSpan(1, 2, "s2", t), MakeSpan(1, 3, "s3", t)}),
                       Group("svc-b", "lib", {MakeSpan(1, 4, "s4", t)})});
  f.b[Tid(2)] = Trace({Group("svc-b", "lib", {MakeSpan(2, 1, "two-b", t)})});
  f.b[Tid(3)] = Trace({Group("svc-b", "lib", {MakeSpan(3, 1, "three", t)})});
  ResourceSpans c1 =
      Group("svc-a", "other", {MakeSpan(1, 5, "s5", t), MakeSpan(1, 1, "s1-changed", t)});
  f.c[Tid(1)] = Trace({c1});
  f.c[Tid(2)] = Trace({Group("svc-b", "lib", {MakeSpan(2, 2, "two-c", t)})});
  f.c[Tid(4)] = Trace({Group("svc-c", "lib", {MakeSpan(4, 1, "four", t)})});

  f.expected[Tid(0)] = f.a[Tid(0)];
  {
    // svc-a first (A), its scopes in first-appearance order: lib [s1 s2 s3], other [s5 s1'];
    // then svc-b (B) [s4].
    ResourceSpans ra =
        Group("svc-a", "lib",
              {MakeSpan(1, 1, "s1", t), MakeSpan(1, 2, "s2", t), MakeSpan(1, 3, "s3", t)});
    *ra.add_scope_spans() = c1.scope_spans(0);
    f.expected[Tid(1)] = Trace({ra, Group("svc-b", "lib", {MakeSpan(1, 4, "s4", t)})});
  }
  f.expected[Tid(2)] =
      Trace({Group("svc-b", "lib", {MakeSpan(2, 1, "two-b", t), MakeSpan(2, 2, "two-c", t)})});
  f.expected[Tid(3)] = f.b[Tid(3)];
  f.expected[Tid(4)] = f.c[Tid(4)];
  return f;
}

TEST(CompactBlocks, MergesPartsAndDropsExactDuplicates) {
  objstore::MemoryObjectStore store;
  Fixture3 f = MakeFixture();
  auto a = WriteBlock(&store, f.a);
  auto b = WriteBlock(&store, f.b);
  auto c = WriteBlock(&store, f.c);
  ASSERT_GT(b->pages().size(), 1u);  // page by page over several pages

  CompactStats stats;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<block::BlockReader> out,
                       CompactBlocks(&store, kTenant, {a, b, c}, 1, &stats));
  EXPECT_EQ(out->meta().compaction_level, 1u);
  std::vector<std::string> sources = {a->meta().block_id, b->meta().block_id, c->meta().block_id};
  std::sort(sources.begin(), sources.end());
  EXPECT_EQ(out->meta().sources, sources);
  EXPECT_EQ(out->meta().trace_count, 5u);
  EXPECT_EQ(out->meta().span_count, 11u);  // 12 spans in, one exact duplicate
  EXPECT_EQ(stats.traces_in, 8u);
  EXPECT_EQ(stats.traces_out, 5u);
  EXPECT_EQ(stats.bytes_written, out->meta().total_bytes());

  std::vector<std::string> seen;
  ASSERT_OK(out->ForEachTrace([&](std::string_view id, TracesData&& td) {
    seen.emplace_back(id);
    auto it = f.expected.find(std::string(id));
    EXPECT_NE(it, f.expected.end());
    if (it != f.expected.end()) {
      std::string diff;
      MessageDifferencer d;
      d.ReportDifferencesToString(&diff);
      EXPECT_TRUE(d.Compare(it->second, td)) << diff;
    }
    return absl::OkStatus();
  }));
  EXPECT_THAT(seen, ElementsAre(Tid(0), Tid(1), Tid(2), Tid(3), Tid(4)));
  // The inputs are untouched until the caller replaces them.
  ASSERT_OK_AND_ASSIGN(auto ids, block::ListBlocks(&store, kTenant));
  EXPECT_EQ(ids.size(), 4u);
}

// The read path's rule, for checking what a reader of all `blocks` sees: each trace's copies
// merged in block order.
std::map<std::string, TracesData> VisibleTraces(const store::BlockList& blocks,
                                                std::map<std::string, int>* copies) {
  std::map<std::string, std::vector<TracesData>> parts;
  for (const auto& r : blocks) {
    absl::Status s = r->ForEachTrace([&](std::string_view id, TracesData&& td) {
      parts[std::string(id)].push_back(std::move(td));
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
  }
  std::map<std::string, TracesData> out;
  for (auto& [id, tds] : parts) {
    (*copies)[id] = static_cast<int>(tds.size());
    if (tds.size() == 1) {
      out[id] = tds[0];
      continue;
    }
    std::vector<const ResourceSpans*> groups;
    for (const TracesData& td : tds) {
      for (const ResourceSpans& rs : td.resource_spans()) groups.push_back(&rs);
    }
    out[id] = live::MergeGroups(groups);
  }
  return out;
}

void ExpectVisible(const store::BlockList& blocks, const std::map<std::string, TracesData>& want,
                   bool merged, const std::string& where) {
  std::map<std::string, int> copies;
  auto got = VisibleTraces(blocks, &copies);
  ASSERT_EQ(got.size(), want.size()) << where;
  for (const auto& [id, td] : want) {
    ASSERT_TRUE(got.contains(id)) << where;
    std::string diff;
    MessageDifferencer d;
    d.ReportDifferencesToString(&diff);
    EXPECT_TRUE(d.Compare(td, got[id])) << where << " " << diff;
    if (merged) EXPECT_EQ(copies[id], 1) << where;
  }
}

CompactorOptions TestOptions(const absl::Time* now) {
  CompactorOptions o;
  o.clock = [now] { return *now; };
  o.compacted_block_retention = absl::ZeroDuration();
  o.compaction_cycle = absl::Milliseconds(5);
  o.writer.page_target_spans = 2;
  return o;
}

TEST(Compactor, MultiLevel) {
  objstore::MemoryObjectStore store;
  store::TenantBlocks blocks(&store, kTenant);
  std::map<std::string, TracesData> want;
  const absl::Time t = kNow - absl::Minutes(10);
  for (int i = 0; i < 4; ++i) {
    std::map<std::string, TracesData> traces;
    traces[Tid(i)] = Trace({Group("svc", "lib", {MakeSpan(i, 1, "own", t)})});
    traces[Tid(9)] = Trace({Group("svc", "lib", {MakeSpan(9, i + 1, "shared", t)})});
    for (auto& [id, td] : traces) want[id] = td;
    blocks.Add(WriteBlock(&store, traces));
  }
  want[Tid(9)] = Trace({Group("svc", "lib",
                              {MakeSpan(9, 1, "shared", t), MakeSpan(9, 2, "shared", t),
                               MakeSpan(9, 3, "shared", t), MakeSpan(9, 4, "shared", t)})});
  absl::Time now = kNow;
  CompactorOptions o = TestOptions(&now);
  o.plan.max_input_blocks = 2;
  Compactor compactor(o, [&] { return std::vector<store::TenantBlocks*>{&blocks}; });
  ASSERT_OK(compactor.RunOnce());
  const CompactorStats st = compactor.stats();
  EXPECT_EQ(st.compactions, 3u);  // 2 + 2 → level 1 twice, then 1 + 1 → level 2
  EXPECT_EQ(st.blocks_compacted, 6u);
  EXPECT_EQ(st.blocks_written, 3u);
  EXPECT_EQ(st.compaction_failures, 0u);
  EXPECT_EQ(st.blocks_deleted, 0u);  // deleted by the next cycle's DeleteRemoved
  auto snap = blocks.snapshot();
  ASSERT_EQ(snap->size(), 1u);
  EXPECT_EQ((*snap)[0]->meta().compaction_level, 2u);
  ExpectVisible(*snap, want, true, "after");
  ASSERT_OK(compactor.RunOnce());
  EXPECT_EQ(compactor.stats().blocks_deleted, 6u);
  ASSERT_OK_AND_ASSIGN(auto ids, block::ListBlocks(&store, kTenant));
  EXPECT_THAT(ids, ElementsAre((*snap)[0]->meta().block_id));
}

TEST(Compactor, RetentionRemovesOnlyExpiredThenDeletesAfterGrace) {
  objstore::MemoryObjectStore store;
  store::TenantBlocks blocks(&store, kTenant);
  const absl::Duration retention = absl::Hours(24);
  // Ends: 30h ago, 25h ago (expired); 23h and 1h ago (kept). Different windows: no compaction.
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    const absl::Duration ago = std::vector<absl::Duration>{absl::Hours(30), absl::Hours(25),
                                                           absl::Hours(23), absl::Hours(1)}[i];
    std::map<std::string, TracesData> traces;
    traces[Tid(i)] =
        Trace({Group("svc", "lib", {MakeSpan(i, 1, "x", kNow - ago - absl::Milliseconds(5))})});
    auto r = WriteBlock(&store, traces);
    ids.push_back(r->meta().block_id);
    blocks.Add(r);
  }
  absl::Time now = kNow;
  CompactorOptions o = TestOptions(&now);
  o.block_retention = retention;
  o.compacted_block_retention = absl::Hours(1);
  Compactor compactor(o, [&] { return std::vector<store::TenantBlocks*>{&blocks}; });
  ASSERT_OK(compactor.RunOnce());
  std::vector<std::string> listed;
  for (const auto& r : *blocks.snapshot()) listed.push_back(r->meta().block_id);
  EXPECT_THAT(listed, ElementsAre(ids[2], ids[3]));
  EXPECT_EQ(compactor.stats().retention_marked, 2u);
  // Still in the store during the grace.
  now = kNow + absl::Minutes(59);
  ASSERT_OK(compactor.RunOnce());
  ASSERT_OK_AND_ASSIGN(auto stored, block::ListBlocks(&store, kTenant));
  EXPECT_EQ(stored.size(), 4u);
  EXPECT_EQ(compactor.stats().blocks_deleted, 0u);
  now = kNow + absl::Minutes(61);
  ASSERT_OK(compactor.RunOnce());
  ASSERT_OK_AND_ASSIGN(stored, block::ListBlocks(&store, kTenant));
  // The 23h-old block is now 24h01m old: expired in turn, but still within its grace.
  EXPECT_EQ(stored.size(), 2u);
  EXPECT_EQ(compactor.stats().blocks_deleted, 2u);
  listed.clear();
  for (const auto& r : *blocks.snapshot()) listed.push_back(r->meta().block_id);
  EXPECT_THAT(listed, ElementsAre(ids[3]));
  EXPECT_FALSE(absl::c_linear_search(stored, ids[0]));
  EXPECT_FALSE(absl::c_linear_search(stored, ids[1]));
}

TEST(Compactor, ThreadRunsCycles) {
  objstore::MemoryObjectStore store;
  store::TenantBlocks blocks(&store, kTenant);
  Fixture3 f = MakeFixture();
  blocks.Add(WriteBlock(&store, f.a));
  blocks.Add(WriteBlock(&store, f.b));
  absl::Time now = kNow;
  Compactor compactor(TestOptions(&now),
                      [&] { return std::vector<store::TenantBlocks*>{&blocks}; });
  compactor.Start();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (compactor.stats().cycles < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  compactor.Stop();
  const CompactorStats st = compactor.stats();
  EXPECT_GE(st.cycles, 3u);
  EXPECT_EQ(st.compactions, 1u);
  EXPECT_EQ(st.blocks_compacted, 2u);
  EXPECT_EQ(blocks.size(), 1u);
  EXPECT_EQ(st.objects_combined, 1u);  // trace 1 in both
}

// A failed output write: counted, the inputs stay listed and whole, the partial output is
// removed, and the next cycle (store healthy again) compacts.
TEST(Compactor, FailedWriteKeepsInputsAndRetries) {
  objstore::MemoryObjectStore base;
  objstore::FaultInjectionObjectStore faulty(&base);
  store::TenantBlocks blocks(&faulty, kTenant);
  Fixture3 f = MakeFixture();
  blocks.Add(WriteBlock(&base, f.a));
  blocks.Add(WriteBlock(&base, f.b));
  const std::vector<std::string> before = [&] {
    std::vector<std::string> ids;
    for (const auto& r : *blocks.snapshot()) ids.push_back(r->meta().block_id);
    return ids;
  }();
  ASSERT_OK_AND_ASSIGN(auto keys_before, base.List(absl::StrCat(kTenant, "/")));
  faulty.InjectFault({.ops = objstore::FaultInjectionObjectStore::kPut, .skip = 1, .count = 1});
  absl::Time now = kNow;
  Compactor compactor(TestOptions(&now),
                      [&] { return std::vector<store::TenantBlocks*>{&blocks}; });
  EXPECT_FALSE(compactor.RunOnce().ok());
  EXPECT_EQ(compactor.stats().compaction_failures, 1u);
  EXPECT_EQ(compactor.stats().compactions, 0u);
  std::vector<std::string> after;
  for (const auto& r : *blocks.snapshot()) after.push_back(r->meta().block_id);
  EXPECT_EQ(after, before);
  ASSERT_OK_AND_ASSIGN(auto keys_after, base.List(absl::StrCat(kTenant, "/")));
  EXPECT_EQ(keys_after.keys, keys_before.keys);  // the partial output's first object is gone
  ASSERT_OK(compactor.RunOnce());
  EXPECT_EQ(compactor.stats().compactions, 1u);
  EXPECT_EQ(blocks.size(), 1u);
}

// A crash at every store operation of a cycle: the operations from the k-th Put/Delete on fail
// (as if the process died there), then a restart Loads the store and compacts again. Whatever
// the point, every trace reads back once with every span, and after the second run each trace
// is in exactly one block.
TEST(Compactor, CrashAtEveryPutAndDelete) {
  Fixture3 f = MakeFixture();
  std::map<std::string, TracesData> all_parts_merged = f.expected;
  int k = 0;
  for (;; ++k) {
    SCOPED_TRACE(absl::StrCat("failing from operation ", k));
    objstore::MemoryObjectStore base;
    WriteBlock(&base, f.a);
    WriteBlock(&base, f.b);
    WriteBlock(&base, f.c);
    objstore::FaultInjectionObjectStore faulty(&base);
    faulty.InjectFault({.ops = objstore::FaultInjectionObjectStore::kPut |
                               objstore::FaultInjectionObjectStore::kDelete,
                        .skip = k,
                        .count = -1});
    {
      ASSERT_OK_AND_ASSIGN(auto blocks, store::TenantBlocks::Load(&faulty, kTenant));
      absl::Time now = kNow;
      Compactor compactor(TestOptions(&now),
                          [&] { return std::vector<store::TenantBlocks*>{blocks.get()}; });
      compactor.RunOnce().IgnoreError();
      compactor.RunOnce().IgnoreError();  // the grace (0) has passed: deletes
    }
    const bool crashed = faulty.stats().failed > 0;
    // Restart: no more faults.
    ASSERT_OK_AND_ASSIGN(auto blocks, store::TenantBlocks::Load(&base, kTenant));
    ExpectVisible(*blocks->snapshot(), all_parts_merged, false, "after restart");
    absl::Time now = kNow + absl::Hours(2);  // incomplete prefixes are old enough to go
    Compactor compactor(TestOptions(&now),
                        [&] { return std::vector<store::TenantBlocks*>{blocks.get()}; });
    ASSERT_OK(compactor.RunOnce());
    ASSERT_OK(compactor.RunOnce());
    ExpectVisible(*blocks->snapshot(), all_parts_merged, true, "after second run");
    // Nothing left over in the store: the one block's objects only.
    ASSERT_EQ(blocks->size(), 1u);
    ASSERT_OK_AND_ASSIGN(auto listed, base.List(absl::StrCat(kTenant, "/")));
    for (const std::string& key : listed.keys) {
      EXPECT_TRUE(absl::StartsWith(
          key, block::BlockPrefix(kTenant, (*blocks->snapshot())[0]->meta().block_id)))
          << key;
    }
    if (!crashed) break;
  }
  EXPECT_GE(k, 8);  // 4 objects written + 3 blocks × 2 deletes at least
}

}  // namespace
}  // namespace sprout::traces::compact
