// traces_metrics_scan_test: TraceStore::QueryMetrics, the TraceQL metrics scan (issue 16), with a
// test-only MetricsProgram (the engine is another part's work): its plan is set by each test and
// its accumulators record what they observe — which trace parts, which spans, which attributes
// — and count the spans starting in each step. Expected values come from how the pushes are
// built: known span start times, the parts of one trace pushed and flushed apart, a restart that
// replays the WAL.
#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "objstore/filesystem.h"
#include "storage/fault_injection_env.h"
#include "traces/store/trace_store.h"
#include "traces/traceql/metrics.h"

namespace sprout::traces::store {
namespace {

namespace tpb = opentelemetry::proto::trace::v1;
namespace cpb = opentelemetry::proto::common::v1;
using opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;
using traceql::MetricsRange;

constexpr char kWal[] = "/data/traces/wal";
constexpr char kBlocks[] = "/data/traces/blocks";
constexpr uint64_t kSec = 1000000000ull;
constexpr uint64_t kBase = 1700000000ull * kSec;  // a multiple of every step used here

std::string TraceId(int n) {
  std::string id(16, '\0');
  id[14] = static_cast<char>(n >> 8);
  id[15] = static_cast<char>(n);
  id[0] = 'm';
  return id;
}
std::string SpanId(int trace, int span) {
  std::string id(8, '\0');
  id[4] = static_cast<char>(trace >> 8);
  id[5] = static_cast<char>(span >> 8);
  id[6] = static_cast<char>(trace);
  id[7] = static_cast<char>(span);
  return id;
}

cpb::KeyValue StrAttr(const std::string& k, const std::string& v) {
  cpb::KeyValue kv;
  kv.set_key(k);
  kv.mutable_value()->set_string_value(v);
  return kv;
}

struct SpanSpec {
  int trace;
  int span;
  std::string name;
  uint64_t start_s;  // after kBase
};

// One ResourceSpans of `service` (resource attributes service.name, host.name) with the spans
// (span attributes http.method and peer.name, one event each).
ExportTraceServiceRequest Request(const std::string& service, const std::vector<SpanSpec>& spans) {
  ExportTraceServiceRequest req;
  tpb::ResourceSpans* rs = req.add_resource_spans();
  *rs->mutable_resource()->add_attributes() = StrAttr("service.name", service);
  *rs->mutable_resource()->add_attributes() = StrAttr("host.name", "h1");
  tpb::ScopeSpans* ss = rs->add_scope_spans();
  ss->mutable_scope()->set_name("lib");
  for (const SpanSpec& spec : spans) {
    tpb::Span* s = ss->add_spans();
    s->set_trace_id(TraceId(spec.trace));
    s->set_span_id(SpanId(spec.trace, spec.span));
    s->set_name(spec.name);
    s->set_start_time_unix_nano(kBase + spec.start_s * kSec);
    s->set_end_time_unix_nano(kBase + spec.start_s * kSec + 100'000'000);
    *s->add_attributes() = StrAttr("http.method", "GET");
    *s->add_attributes() = StrAttr("peer.name", "db");
    s->add_events()->set_name("evt");
  }
  return req;
}

// What the test program's accumulators saw, shared by all of them.
struct Seen {
  std::mutex mu;
  std::map<std::string, int> observes;             // trace ID → Observe calls
  std::multiset<std::string> spans;                // span IDs, every observed span
  std::set<std::string> span_keys, resource_keys;  // attribute keys seen
  int events = 0;
  int accumulators = 0;
};

class TestAccumulator : public traceql::MetricsAccumulator {
 public:
  TestAccumulator(const MetricsRange& range, Seen* seen) : range_(range), seen_(seen) {
    counts_.assign((range.end_ns - range.start_ns) / range.step_ns, 0);
  }
  void Observe(const traceql::TraceView& trace) override {
    std::lock_guard<std::mutex> lock(seen_->mu);
    seen_->observes[std::string(trace.trace_id())]++;
    for (const traceql::SpanRef& ref : trace.spans()) {
      seen_->spans.insert(ref.span->span_id());
      for (const cpb::KeyValue& kv : ref.span->attributes()) seen_->span_keys.insert(kv.key());
      for (const cpb::KeyValue& kv : ref.resource->resource().attributes()) {
        seen_->resource_keys.insert(kv.key());
      }
      seen_->events += ref.span->events_size();
      const uint64_t t = ref.span->start_time_unix_nano();
      if (t >= range_.start_ns && t < range_.end_ns) {
        counts_[(t - range_.start_ns) / range_.step_ns]++;
      }
    }
  }
  std::vector<double> counts_;

 private:
  MetricsRange range_;
  Seen* seen_;
};

// count_over_time() of every span, one series, steps without spans left out.
class TestProgram : public traceql::MetricsProgram {
 public:
  TestProgram(MetricsRange range, traceql::Plan plan) : range_(range), plan_(std::move(plan)) {}
  const traceql::Plan& plan() const override { return plan_; }
  const MetricsRange& range() const override { return range_; }
  std::unique_ptr<traceql::MetricsAccumulator> NewAccumulator() const override {
    std::lock_guard<std::mutex> lock(seen.mu);
    seen.accumulators++;
    return std::make_unique<TestAccumulator>(range_, &seen);
  }
  traceql::MetricsResult Finish(std::vector<std::unique_ptr<traceql::MetricsAccumulator>> parts,
                                const traceql::MetricsStats& stats) const override {
    std::vector<double> sum((range_.end_ns - range_.start_ns) / range_.step_ns, 0);
    for (const auto& p : parts) {
      const auto& c = static_cast<TestAccumulator&>(*p).counts_;
      for (size_t i = 0; i < sum.size(); ++i) sum[i] += c[i];
    }
    traceql::MetricsResult r;
    r.stats = stats;
    traceql::MetricsSeries s;
    for (size_t i = 0; i < sum.size(); ++i) {
      if (sum[i] == 0) continue;
      s.samples.push_back(
          {static_cast<int64_t>((range_.start_ns + i * range_.step_ns) / 1000000), sum[i]});
    }
    r.series.push_back(std::move(s));
    return r;
  }
  mutable Seen seen;

 private:
  MetricsRange range_;
  traceql::Plan plan_;
};

MetricsRange Grid(uint64_t from_s, uint64_t to_s, uint64_t step_s) {
  MetricsRange r;
  r.start_ns = kBase + from_s * kSec;
  r.end_ns = kBase + to_s * kSec;
  r.step_ns = step_s * kSec;
  return r;
}

// "t=count" per sample, seconds after kBase.
std::string Render(const traceql::MetricsResult& r) {
  std::string out;
  for (const auto& s : r.series) {
    for (const auto& sample : s.samples) {
      absl::StrAppend(&out, (static_cast<uint64_t>(sample.timestamp_ms) * 1000000 - kBase) / kSec,
                      "=", sample.value, " ");
    }
  }
  return out;
}

struct Fixture {
  Fixture() {
    auto opened = objstore::FilesystemObjectStore::Open(&env, kBlocks);
    EXPECT_TRUE(opened.ok()) << opened.status();
    fs = *std::move(opened);
  }
  TraceStoreOptions Options(size_t threads = 1) {
    TraceStoreOptions o;
    o.wal_dir = kWal;
    o.env = &env;
    o.tenant.clock = [] { return absl::FromUnixSeconds(1800000000); };
    o.block_store = fs.get();
    o.max_block_duration = absl::ZeroDuration();
    o.flush_check_period = absl::ZeroDuration();  // no thread: the test calls FlushOnce
    o.block_writer.page_target_spans = 2;         // several pages per block
    o.metrics_query_threads = threads;
    return o;
  }
  std::unique_ptr<TraceStore> Start(size_t threads = 1) {
    auto store = std::make_unique<TraceStore>(Options(threads));
    absl::Status s = store->Start();
    EXPECT_TRUE(s.ok()) << s;
    return store;
  }
  storage::FaultInjectionEnv env;
  std::unique_ptr<objstore::FilesystemObjectStore> fs;
};

// Trace 9 in three parts: block A (root at 10 s), block B (two spans at 20 s and 25 s), memory
// (one span at 40 s); trace 7 only in block A (at 130 s); trace 8 only in memory (at 50 s).
void PushParts(TraceStore* store) {
  ASSERT_TRUE(
      store->Push("t", Request("frontend", {{9, 1, "root", 10}, {7, 1, "late", 130}})).ok());
  ASSERT_TRUE(store->FlushOnce(true).ok());
  ASSERT_TRUE(
      store->Push("t", Request("backend", {{9, 2, "load", 20}, {9, 3, "charge", 25}})).ok());
  ASSERT_TRUE(store->FlushOnce(true).ok());
  ASSERT_TRUE(
      store->Push("t", Request("frontend", {{9, 4, "render", 40}, {8, 1, "solo", 50}})).ok());
  EXPECT_EQ(store->Stats()["t"].blocks, 2);
}

TEST(MetricsScan, EveryPartOnceFromMemoryWalAndBlocks) {
  Fixture f;
  auto store = f.Start();
  PushParts(store.get());
  for (bool restarted : {false, true}) {
    SCOPED_TRACE(restarted ? "after a restart (memory part replayed from the WAL)" : "live");
    if (restarted) {
      store->Close();
      store = f.Start();
    }
    TestProgram program(Grid(0, 180, 30), {});
    absl::StatusOr<traceql::MetricsResult> r = store->QueryMetrics("t", program, {});
    ASSERT_TRUE(r.ok()) << r.status();
    // Steps of 30 s from kBase: root 10, load 20, charge 25 → [0,30) 3; render 40, solo 50 →
    // [30,60) 2; late 130 → [120,150) 1.
    EXPECT_EQ(Render(*r), "0=3 30=2 120=1 ");
    EXPECT_EQ(program.seen.observes[TraceId(9)], 3);  // block A, block B, memory: once each
    EXPECT_EQ(program.seen.observes[TraceId(7)], 1);
    EXPECT_EQ(program.seen.observes[TraceId(8)], 1);
    EXPECT_EQ(program.seen.spans.size(), 6u);
    for (const std::string& id : program.seen.spans) EXPECT_EQ(program.seen.spans.count(id), 1u);
    // Stats: two blocks, every span inspected once (block pages by their directory).
    EXPECT_EQ(r->stats.total_blocks, 2u);
    EXPECT_GT(r->stats.total_block_bytes, 0u);
    EXPECT_EQ(r->stats.inspected_spans, 6u);
    EXPECT_EQ(r->stats.inspected_traces, 5u);  // 9 ×3 parts, 7, 8
    EXPECT_GT(r->stats.inspected_bytes, 0u);
    EXPECT_EQ(r->stats.completed_jobs, r->stats.total_jobs);
    EXPECT_GE(r->stats.total_jobs, 3u);  // memory + at least one page per block
  }
}

TEST(MetricsScan, TracesOutsideTheGridAreNotRead) {
  Fixture f;
  auto store = f.Start();
  PushParts(store.get());
  // [100 s, 200 s): only trace 7 (130 s) starts there; block B (20–25 s) is not read at all; block
  // A's one page (traces 7 and 9, two spans) is inspected, and of its traces only 7 is read
  // (trace 9's part ends at 10.1 s).
  TestProgram program(Grid(100, 200, 50), {});
  absl::StatusOr<traceql::MetricsResult> r = store->QueryMetrics("t", program, {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Render(*r), "100=1 ");
  EXPECT_EQ(program.seen.observes.size(), 1u);
  EXPECT_EQ(program.seen.observes[TraceId(7)], 1);
  EXPECT_EQ(r->stats.total_blocks, 1u);
  EXPECT_EQ(r->stats.inspected_spans, 2u);

  // A grid after every span: nothing read, no series values.
  TestProgram later(Grid(1000, 2000, 100), {});
  r = store->QueryMetrics("t", later, {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Render(*r), "");
  EXPECT_TRUE(later.seen.observes.empty());
  EXPECT_EQ(r->stats.total_blocks, 0u);
  EXPECT_EQ(r->stats.total_jobs, 0u);
}

// Memory traces are listed by the span bounds kept beside their stored bytes: only those whose
// bounds may hold a span starting in the grid are merged, parsed and observed — also after a
// restart (the bounds recomputed at WAL replay).
TEST(MetricsScan, MemoryTracesOutsideTheGridAreNotRead) {
  Fixture f;
  auto store = f.Start();
  // Trace n (1..10) in memory only, spans at 100·n s and 100·n + 30 s (two pushes for the even
  // ones, so their bounds come from two chunks).
  for (int n = 1; n <= 10; ++n) {
    const uint64_t t0 = 100 * static_cast<uint64_t>(n);
    if (n % 2 == 0) {
      ASSERT_TRUE(store->Push("t", Request("svc", {{n, 1, "a", t0}})).ok());
      ASSERT_TRUE(store->Push("t", Request("svc", {{n, 2, "b", t0 + 30}})).ok());
    } else {
      ASSERT_TRUE(store->Push("t", Request("svc", {{n, 1, "a", t0}, {n, 2, "b", t0 + 30}})).ok());
    }
  }
  ASSERT_EQ(store->Stats()["t"].blocks, 0);
  for (bool restarted : {false, true}) {
    SCOPED_TRACE(restarted ? "after a restart" : "live");
    if (restarted) {
      store->Close();
      store = f.Start();
    }
    // [330 s, 620 s): trace 3 (300 s to 330.1 s) has its second span in it, traces 4, 5, 6
    // start in it (trace 6's second span, 630 s, is after it); trace 7 starts at 700 s, trace 2
    // ends at 230.1 s.
    TestProgram program(Grid(330, 620, 10), {});
    absl::StatusOr<traceql::MetricsResult> r = store->QueryMetrics("t", program, {});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(Render(*r), "330=1 400=1 430=1 500=1 530=1 600=1 ");
    std::set<std::string> observed;
    for (const auto& [id, n] : program.seen.observes) {
      observed.insert(id);
      EXPECT_EQ(n, 1);
    }
    EXPECT_EQ(observed, (std::set<std::string>{TraceId(3), TraceId(4), TraceId(5), TraceId(6)}));
    EXPECT_EQ(r->stats.inspected_traces, 4u);
    EXPECT_EQ(r->stats.inspected_spans, 8u);
  }
}

TEST(MetricsScan, BlockReadsAreProjectedOnThePlansKeys) {
  Fixture f;
  auto store = f.Start();
  PushParts(store.get());
  store->FlushOnce(true).IgnoreError();  // every part in a block now
  ASSERT_EQ(store->Stats()["t"].live_traces + store->Stats()["t"].pending_traces, 0);
  traceql::Plan plan;
  plan.refs.span_keys = {"http.method"};
  plan.refs.resource_keys = {};  // service.name is read anyway (the root service intrinsics)
  TestProgram program(Grid(0, 180, 30), plan);
  absl::StatusOr<traceql::MetricsResult> r = store->QueryMetrics("t", program, {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Render(*r), "0=3 30=2 120=1 ");
  EXPECT_EQ(program.seen.span_keys, (std::set<std::string>{"http.method"}));
  EXPECT_EQ(program.seen.resource_keys, (std::set<std::string>{"service.name"}));
  EXPECT_EQ(program.seen.events, 0);  // events are not read

  // A plan reading events (or links, scopes) gets whole traces.
  plan.refs.needs_events_links_scope = true;
  TestProgram whole(Grid(0, 180, 30), plan);
  r = store->QueryMetrics("t", whole, {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(whole.seen.span_keys, (std::set<std::string>{"http.method", "peer.name"}));
  EXPECT_EQ(whole.seen.resource_keys, (std::set<std::string>{"host.name", "service.name"}));
  EXPECT_EQ(whole.seen.events, 6);
}

TEST(MetricsScan, MemoryReadsAreProjectedOnThePlansKeysAsBlockReadsAre) {
  Fixture f;
  auto store = f.Start();
  PushParts(store.get());
  store->FlushOnce(true).IgnoreError();  // every part in a block
  // The same spans again as other traces, left in memory (IDs + 100).
  ASSERT_TRUE(store
                  ->Push("t", Request("frontend", {{109, 1, "root", 10},
                                                   {107, 1, "late", 130},
                                                   {109, 4, "render", 40},
                                                   {108, 1, "solo", 50}}))
                  .ok());
  ASSERT_TRUE(
      store->Push("t", Request("backend", {{109, 2, "load", 20}, {109, 3, "charge", 25}})).ok());
  ASSERT_GT(store->Stats()["t"].live_traces, 0);
  traceql::Plan plan;
  plan.refs.span_keys = {"http.method"};
  TestProgram program(Grid(0, 180, 30), plan);
  absl::StatusOr<traceql::MetricsResult> r = store->QueryMetrics("t", program, {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Render(*r), "0=6 30=4 120=2 ");           // every span twice: blocks and memory
  EXPECT_EQ(program.seen.observes[TraceId(109)], 1);  // memory: one trace of both pushes
  EXPECT_EQ(program.seen.span_keys, (std::set<std::string>{"http.method"}));
  EXPECT_EQ(program.seen.resource_keys, (std::set<std::string>{"service.name"}));
  EXPECT_EQ(program.seen.events, 0);
  EXPECT_EQ(program.seen.spans.size(), 12u);
  EXPECT_EQ(r->stats.inspected_spans, 12u);

  plan.refs.needs_events_links_scope = true;
  TestProgram whole(Grid(0, 180, 30), plan);
  r = store->QueryMetrics("t", whole, {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Render(*r), "0=6 30=4 120=2 ");
  EXPECT_EQ(whole.seen.span_keys, (std::set<std::string>{"http.method", "peer.name"}));
  EXPECT_EQ(whole.seen.resource_keys, (std::set<std::string>{"host.name", "service.name"}));
  EXPECT_EQ(whole.seen.events, 12);
}

TEST(MetricsScan, ColumnConditionsPreFilterBlockParts) {
  Fixture f;
  auto store = f.Start();
  PushParts(store.get());
  traceql::Plan plan;
  traceql::TraceCondition c;
  c.target = traceql::TraceCondition::Target::kName;
  c.op = traceql::Op::kEq;
  c.value.type = traceql::Type::kString;
  c.value.s = "charge";
  plan.conditions.push_back(c);
  TestProgram program(Grid(0, 180, 30), plan);
  absl::StatusOr<traceql::MetricsResult> r = store->QueryMetrics("t", program, {});
  ASSERT_TRUE(r.ok()) << r.status();
  // Of the block parts only block B's part of trace 9 has a span named charge; memory parts are
  // handed over whole (the program's filter judges them).
  EXPECT_EQ(program.seen.observes[TraceId(9)], 2);  // block B + memory
  EXPECT_EQ(program.seen.observes.count(TraceId(7)), 0u);
  EXPECT_EQ(program.seen.observes[TraceId(8)], 1);
  EXPECT_EQ(program.seen.spans.count(SpanId(9, 1)), 0u);  // block A's root not read
}

TEST(MetricsScan, ParallelWorkersAnswerAsOne) {
  Fixture f;
  auto store = f.Start(/*threads=*/4);
  // 40 traces over 400 s, one span each, flushed in 4 blocks of 10, several pages each.
  for (int b = 0; b < 4; ++b) {
    std::vector<SpanSpec> spans;
    for (int i = 0; i < 10; ++i) {
      const int n = b * 10 + i + 1;
      spans.push_back({n, 1, "op", static_cast<uint64_t>(n) * 10});
    }
    ASSERT_TRUE(store->Push("t", Request("svc", spans)).ok());
    ASSERT_TRUE(store->FlushOnce(true).ok());
  }
  TestProgram program(Grid(0, 500, 100), {});
  absl::StatusOr<traceql::MetricsResult> r = store->QueryMetrics("t", program, {});
  ASSERT_TRUE(r.ok()) << r.status();
  // Starts 10, 20, ..., 400 s: [0,100) 9 (10..90), [100,200) 10, [200,300) 10, [300,400) 10,
  // [400,500) 1.
  EXPECT_EQ(Render(*r), "0=9 100=10 200=10 300=10 400=1 ");
  EXPECT_EQ(program.seen.accumulators, 4);
  EXPECT_EQ(program.seen.spans.size(), 40u);
  EXPECT_EQ(r->stats.completed_jobs, r->stats.total_jobs);
}

// Flushes racing the scan: a trace leaving memory for a block while it is read must be seen
// exactly once (the block registered meanwhile is reconciled with the memory copy). Every round
// pushes new spans (some continuing the previous round's traces, so traces are split over
// blocks and memory), then a flush runs while the scan runs; the scan's count of every span must
// equal what was pushed, never more (a span twice) nor less (a span missed).
TEST(MetricsScan, FlushesDuringTheScanNeitherLoseNorRepeatASpan) {
  Fixture f;
  auto store = f.Start(/*threads=*/2);
  constexpr int kRounds = 150;
  int pushed = 0;
  int wrong = 0;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<SpanSpec> spans;
    for (int i = 0; i < 4; ++i) {
      // Traces 1 + round, 2 + round: each trace gets spans in two consecutive rounds.
      spans.push_back({1 + round + i % 2, 10 + round * 4 + i, "op", static_cast<uint64_t>(round)});
    }
    ASSERT_TRUE(store->Push("t", Request("svc", spans)).ok());
    pushed += static_cast<int>(spans.size());
    std::atomic<bool> go{false};
    std::thread flusher([&] {
      while (!go.load()) std::this_thread::yield();
      EXPECT_TRUE(store->FlushOnce(true).ok());
    });
    TestProgram program(Grid(0, 1000, 1000), {});
    go = true;
    absl::StatusOr<traceql::MetricsResult> r = store->QueryMetrics("t", program, {});
    flusher.join();
    ASSERT_TRUE(r.ok()) << r.status();
    const std::string want = absl::StrCat("0=", pushed, " ");
    if (Render(*r) != want) {
      ++wrong;
      ADD_FAILURE() << "round " << round << ": " << Render(*r) << "want " << want;
    }
  }
  EXPECT_EQ(wrong, 0);
  EXPECT_GE(store->Stats()["t"].blocks, kRounds / 2);
}

TEST(MetricsScan, CancelledAndUnknownTenantAndNotStarted) {
  Fixture f;
  auto store = f.Start();
  PushParts(store.get());
  TestProgram program(Grid(0, 180, 30), {});
  absl::StatusOr<traceql::MetricsResult> r = store->QueryMetrics("t", program, [] { return true; });
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(r.status().message(), "context canceled");

  TestProgram other(Grid(0, 180, 30), {});
  r = store->QueryMetrics("nobody", other, {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Render(*r), "");

  store->Close();
  TestProgram closed(Grid(0, 180, 30), {});
  EXPECT_EQ(store->QueryMetrics("t", closed, {}).status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace sprout::traces::store
