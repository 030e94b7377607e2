// traces_live_test: one tenant's write path and live set — spans of several traces pushed over
// several requests come back from FindTrace field for field, grouped by resource and scope;
// acknowledged spans survive a simulated machine crash (storage::FaultInjectionEnv);
// max_bytes_per_trace drops only the new spans of the large trace; exact duplicates are kept
// once; CutIdle moves exactly the idle traces to pending; the flush pipeline (StartFlush's
// triggers and job, CompleteFlush ok/failed, FindTrace across live/pending/flushing, the WAL
// truncated only after a durable block) and crashes at every step of it lose nothing; a trace
// split across pushes with an exact max_bytes_per_trace; pushes during flushes; a failed
// checkpoint retried; concurrent pushers sharing WAL syncs (group commit).
#include "traces/live/tenant_traces.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/coding.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "otlp/signal.h"
#include "storage/fault_injection_env.h"

namespace sprout::traces::live {
namespace {

namespace pb = otlp::pb;
using google::protobuf::util::MessageDifferencer;
using storage::FaultInjectionEnv;
using storage::SyncPolicy;

constexpr char kDir[] = "/data/traces/wal/tenant-a";
const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

std::string TraceId(int trace) {
  std::string id(16, '\0');
  id[0] = 'T';
  PutU32(id.data() + 12, static_cast<uint32_t>(trace));
  return id;
}

// Span `span` of trace `trace`, with every kind of field set.
pb::trace::Span MakeSpan(int trace, int span, const std::string& name = "") {
  pb::trace::Span s;
  s.set_trace_id(TraceId(trace));
  std::string span_id(8, '\0');
  PutU32(span_id.data() + 4, static_cast<uint32_t>(trace * 100 + span));
  s.set_span_id(span_id);
  std::string parent(8, '\0');
  PutU32(parent.data() + 4, static_cast<uint32_t>(trace * 100));
  s.set_parent_span_id(parent);
  s.set_trace_state("k=v" + std::to_string(span));
  s.set_flags(0x101);
  s.set_name(name.empty() ? "op-" + std::to_string(trace) + "-" + std::to_string(span) : name);
  s.set_kind(pb::trace::Span::SPAN_KIND_CLIENT);
  s.set_start_time_unix_nano(1700000000000000000ull + span * 1000);
  s.set_end_time_unix_nano(1700000000000000000ull + span * 1000 + 777);
  pb::common::KeyValue* a = s.add_attributes();
  a->set_key("http.status_code");
  a->mutable_value()->set_int_value(200 + span);
  pb::common::KeyValue* b = s.add_attributes();
  b->set_key("ratio");
  b->mutable_value()->set_double_value(0.5 * span);
  s.set_dropped_attributes_count(1);
  pb::trace::Span::Event* e = s.add_events();
  e->set_name("ev");
  e->set_time_unix_nano(1700000000000000100ull);
  e->add_attributes()->set_key("e");
  pb::trace::Span::Link* l = s.add_links();
  l->set_trace_id(TraceId(999));
  l->set_span_id(std::string(8, '\x07'));
  s.set_dropped_links_count(2);
  s.mutable_status()->set_code(pb::trace::Status::STATUS_CODE_ERROR);
  s.mutable_status()->set_message("boom");
  return s;
}

pb::resource::Resource MakeResource(const std::string& service) {
  pb::resource::Resource r;
  pb::common::KeyValue* kv = r.add_attributes();
  kv->set_key("service.name");
  kv->mutable_value()->set_string_value(service);
  return r;
}

pb::common::InstrumentationScope MakeScope(const std::string& name) {
  pb::common::InstrumentationScope s;
  s.set_name(name);
  s.set_version("1.0");
  return s;
}

// A ResourceSpans of `service` with one ScopeSpans per (scope name, spans) entry.
pb::trace::ResourceSpans RS(
    const std::string& service,
    const std::vector<std::pair<std::string, std::vector<pb::trace::Span>>>& scopes) {
  pb::trace::ResourceSpans rs;
  *rs.mutable_resource() = MakeResource(service);
  rs.set_schema_url("https://opentelemetry.io/schemas/1.21.0");
  for (const auto& [scope, spans] : scopes) {
    pb::trace::ScopeSpans* ss = rs.add_scope_spans();
    *ss->mutable_scope() = MakeScope(scope);
    for (const pb::trace::Span& s : spans) *ss->add_spans() = s;
  }
  return rs;
}

pb::trace_service::ExportTraceServiceRequest Request(std::vector<pb::trace::ResourceSpans> rss) {
  pb::trace_service::ExportTraceServiceRequest req;
  for (auto& rs : rss) *req.add_resource_spans() = std::move(rs);
  return req;
}

pb::trace::TracesData Traces(std::vector<pb::trace::ResourceSpans> rss) {
  pb::trace::TracesData td;
  for (auto& rs : rss) *td.add_resource_spans() = std::move(rs);
  return td;
}

struct Clock {
  absl::Time now = kT0;
};

TenantTracesOptions Opts(Clock* clock = nullptr, int64_t max_bytes = 0) {
  TenantTracesOptions o;
  o.max_bytes_per_trace = max_bytes;
  o.wal.sync = SyncPolicy::kEveryAppend;
  if (clock != nullptr) o.clock = [clock] { return clock->now; };
  return o;
}

std::unique_ptr<TenantTraces> MustOpen(storage::Env* env, TenantTracesOptions o) {
  absl::StatusOr<std::unique_ptr<TenantTraces>> t = TenantTraces::Open(env, kDir, std::move(o));
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *std::move(t) : nullptr;
}

PushResult MustPush(TenantTraces& t, const pb::trace_service::ExportTraceServiceRequest& req) {
  absl::StatusOr<PushResult> r = t.Push(req);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : PushResult{};
}

void ExpectTrace(const TenantTraces& t, int trace, const pb::trace::TracesData& want) {
  std::optional<pb::trace::TracesData> got = t.FindTrace(TraceId(trace));
  ASSERT_TRUE(got.has_value()) << "trace " << trace;
  std::string diff;
  MessageDifferencer d;
  d.ReportDifferencesToString(&diff);
  EXPECT_TRUE(d.Compare(want, *got)) << "trace " << trace << ":\n" << diff;
}

// Three requests mixing traces 1-3 over two resources and two scopes.
std::vector<pb::trace_service::ExportTraceServiceRequest> ThreeRequests() {
  return {
      Request({RS("svc-a", {{"s1", {MakeSpan(1, 1), MakeSpan(2, 1), MakeSpan(1, 2)}}}),
               RS("svc-b", {{"s1", {MakeSpan(1, 3)}}})}),
      Request({RS("svc-a", {{"s1", {MakeSpan(1, 4)}}, {"s2", {MakeSpan(1, 5), MakeSpan(2, 2)}}})}),
      Request({RS("svc-b", {{"s1", {MakeSpan(3, 1), MakeSpan(1, 6)}}})}),
  };
}

// What FindTrace must answer after ThreeRequests, built from their construction.
pb::trace::TracesData Want1() {
  return Traces({RS("svc-a", {{"s1", {MakeSpan(1, 1), MakeSpan(1, 2), MakeSpan(1, 4)}},
                              {"s2", {MakeSpan(1, 5)}}}),
                 RS("svc-b", {{"s1", {MakeSpan(1, 3), MakeSpan(1, 6)}}})});
}
pb::trace::TracesData Want2() {
  return Traces({RS("svc-a", {{"s1", {MakeSpan(2, 1)}}, {"s2", {MakeSpan(2, 2)}}})});
}
pb::trace::TracesData Want3() { return Traces({RS("svc-b", {{"s1", {MakeSpan(3, 1)}}})}); }

TEST(TenantTraces, FindTraceReturnsEverySpanOfSeveralRequestsGroupedByResourceAndScope) {
  FaultInjectionEnv env;
  auto t = MustOpen(&env, Opts());
  ASSERT_NE(t, nullptr);
  const int64_t spans[] = {4, 3, 2};
  int i = 0;
  for (const auto& req : ThreeRequests()) {
    PushResult r = MustPush(*t, req);
    EXPECT_EQ(r.accepted_spans, spans[i++]);
    EXPECT_EQ(r.discarded_total(), 0);
  }
  EXPECT_EQ(t->live_traces(), 3u);
  ExpectTrace(*t, 1, Want1());
  ExpectTrace(*t, 2, Want2());
  ExpectTrace(*t, 3, Want3());
  EXPECT_FALSE(t->FindTrace(TraceId(4)).has_value());
}

TEST(TenantTraces, MachineCrashAndReopenReplaysEveryAcknowledgedSpan) {
  for (auto mode :
       {FaultInjectionEnv::CrashMode::kDropUnsynced, FaultInjectionEnv::CrashMode::kTearUnsynced}) {
    FaultInjectionEnv env;
    {
      auto t = MustOpen(&env, Opts());
      ASSERT_NE(t, nullptr);
      for (const auto& req : ThreeRequests()) MustPush(*t, req);
      env.SimulateCrash(mode);
    }
    auto t = MustOpen(&env, Opts());
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->replay_info().wal.batches, 3u);
    EXPECT_EQ(t->live_traces(), 3u);
    ExpectTrace(*t, 1, Want1());
    ExpectTrace(*t, 2, Want2());
    ExpectTrace(*t, 3, Want3());
  }
}

TEST(TenantTraces, APushThatFailsInTheWalIsNotLiveAndEarlierOnesSurvive) {
  FaultInjectionEnv env;
  const auto reqs = ThreeRequests();
  {
    auto t = MustOpen(&env, Opts());
    ASSERT_NE(t, nullptr);
    MustPush(*t, reqs[0]);
    MustPush(*t, reqs[1]);
    env.CrashAfterBytes(20);
    EXPECT_FALSE(t->Push(reqs[2]).ok());
    EXPECT_FALSE(t->FindTrace(TraceId(3)).has_value());
    env.SimulateCrash(FaultInjectionEnv::CrashMode::kDropUnsynced);
  }
  auto t = MustOpen(&env, Opts());
  ASSERT_NE(t, nullptr);
  ExpectTrace(*t, 1,
              Traces({RS("svc-a", {{"s1", {MakeSpan(1, 1), MakeSpan(1, 2), MakeSpan(1, 4)}},
                                   {"s2", {MakeSpan(1, 5)}}}),
                      RS("svc-b", {{"s1", {MakeSpan(1, 3)}}})}));
  ExpectTrace(*t, 2, Want2());
  EXPECT_FALSE(t->FindTrace(TraceId(3)).has_value());
}

TEST(TenantTraces, MaxBytesPerTraceDropsOnlyTheNewSpansOfTheLargeTrace) {
  // The limit: 50 bytes more than trace 1's first push and than trace 2's whole push, so that
  // both fit and trace 1's next spans (each well over 50 bytes) do not.
  const pb::trace::ResourceSpans first = RS("svc-a", {{"s1", {MakeSpan(1, 1), MakeSpan(1, 2)}}});
  const pb::trace::TracesData want2 =
      Traces({RS("svc-a", {{"s1", {MakeSpan(2, 1)}}}), RS("svc-b", {{"s9", {MakeSpan(2, 2)}}})});
  int64_t trace2_bytes = 0;
  for (const auto& rs : want2.resource_spans()) trace2_bytes += rs.ByteSizeLong();
  const int64_t limit = std::max(static_cast<int64_t>(first.ByteSizeLong()), trace2_bytes) + 50;
  ASSERT_GT(MakeSpan(1, 3).ByteSizeLong(), 50u);
  FaultInjectionEnv env;
  {
    auto t = MustOpen(&env, Opts(nullptr, limit));
    ASSERT_NE(t, nullptr);
    PushResult r1 = MustPush(*t, Request({first}));
    EXPECT_EQ(r1.accepted_spans, 2);
    EXPECT_EQ(r1.discarded_total(), 0);
    // Trace 1 gets three more spans (over the limit), trace 2 two spans (under it).
    PushResult r2 = MustPush(
        *t, Request({RS("svc-a", {{"s1", {MakeSpan(1, 3), MakeSpan(2, 1), MakeSpan(1, 4)}}}),
                     RS("svc-b", {{"s9", {MakeSpan(2, 2), MakeSpan(1, 5)}}})}));
    EXPECT_EQ(r2.accepted_spans, 2);
    EXPECT_EQ(r2.discarded_total(), 3);
    EXPECT_EQ(r2.discarded_spans[kReasonTraceTooLarge], 3);
    ExpectTrace(*t, 1, Traces({first}));
    ExpectTrace(*t, 2, want2);
    // A new trace larger than the limit on its first push is dropped whole.
    std::vector<pb::trace::Span> many;
    for (int i = 0; i < 20; ++i) many.push_back(MakeSpan(7, i));
    PushResult r3 = MustPush(*t, Request({RS("svc-a", {{"s1", many}})}));
    EXPECT_EQ(r3.accepted_spans, 0);
    EXPECT_EQ(r3.discarded_spans[kReasonTraceTooLarge], 20);
    EXPECT_FALSE(t->FindTrace(TraceId(7)).has_value());
    // After the trace is cut its size restarts: the same spans fit again.
    EXPECT_EQ(t->CutIdle(absl::InfiniteFuture(), absl::Seconds(5)).size(), 2u);
    EXPECT_EQ(MustPush(*t, Request({first})).accepted_spans, 2);
  }
  // The dropped spans never reached the WAL.
  env.SimulateCrash(FaultInjectionEnv::CrashMode::kDropUnsynced);
  auto t = MustOpen(&env, Opts(nullptr, 0));
  ASSERT_NE(t, nullptr);
  ExpectTrace(*t, 1, Traces({first}));  // replay: the first push and the one after the cut
  EXPECT_FALSE(t->FindTrace(TraceId(7)).has_value());
}

TEST(TenantTraces, ExactDuplicateSpansAreKeptOnce) {
  FaultInjectionEnv env;
  auto t = MustOpen(&env, Opts());
  ASSERT_NE(t, nullptr);
  const auto req = Request({RS("svc-a", {{"s1", {MakeSpan(1, 1), MakeSpan(1, 2)}}})});
  MustPush(*t, req);
  MustPush(*t, req);  // a client retry
  // The same span ID with different bytes is not a duplicate; a duplicate within one request is.
  MustPush(*t,
           Request({RS("svc-a",
                       {{"s1", {MakeSpan(1, 2, "renamed"), MakeSpan(1, 3), MakeSpan(1, 3)}}})}));
  ExpectTrace(
      *t, 1,
      Traces({RS(
          "svc-a",
          {{"s1", {MakeSpan(1, 1), MakeSpan(1, 2), MakeSpan(1, 2, "renamed"), MakeSpan(1, 3)}}})}));
}

TEST(TenantTraces, CutIdleMovesExactlyTheIdleTracesToPending) {
  FaultInjectionEnv env;
  Clock clock;
  auto t = MustOpen(&env, Opts(&clock));
  ASSERT_NE(t, nullptr);
  auto one = [](int trace, int span) {
    return Request({RS("svc", {{"s", {MakeSpan(trace, span)}}})});
  };
  MustPush(*t, one(3, 1));  // t0
  MustPush(*t, one(1, 1));  // t0
  clock.now = kT0 + absl::Seconds(3);
  MustPush(*t, one(2, 1));  // t0+3
  clock.now = kT0 + absl::Seconds(4);
  MustPush(*t, one(1, 2));  // t0+4: trace 1 active again
  EXPECT_EQ(t->LiveTraceIds(), (std::vector<std::string>{TraceId(1), TraceId(2), TraceId(3)}));

  // At t0+5 with 5s: trace 3 is idle exactly 5s, not longer: nothing.
  EXPECT_TRUE(t->CutIdle(kT0 + absl::Seconds(5), absl::Seconds(5)).empty());
  EXPECT_EQ(t->CutIdle(kT0 + absl::Seconds(6), absl::Seconds(5)),
            (std::vector<std::string>{TraceId(3)}));
  EXPECT_EQ(t->live_traces(), 2u);
  EXPECT_EQ(t->pending_traces(), 1u);
  EXPECT_EQ(t->pending_bytes(),
            static_cast<int64_t>(RS("svc", {{"s", {MakeSpan(3, 1)}}}).ByteSizeLong()));
  EXPECT_EQ(t->LiveTraceIds(), (std::vector<std::string>{TraceId(1), TraceId(2)}));
  EXPECT_EQ(t->TraceIds(), (std::vector<std::string>{TraceId(1), TraceId(2), TraceId(3)}));
  ExpectTrace(*t, 3, Traces({RS("svc", {{"s", {MakeSpan(3, 1)}}})}));  // pending, still found

  // At t0+9.5: trace 2 (last t0+3) and trace 1 (last t0+4) are both idle; sorted by ID.
  EXPECT_EQ(t->CutIdle(kT0 + absl::Milliseconds(9500), absl::Seconds(5)),
            (std::vector<std::string>{TraceId(1), TraceId(2)}));
  EXPECT_EQ(t->live_traces(), 0u);
  EXPECT_EQ(t->pending_traces(), 3u);
  ExpectTrace(*t, 1, Traces({RS("svc", {{"s", {MakeSpan(1, 1), MakeSpan(1, 2)}}})}));
}

// ---- the flush pipeline ----

pb::trace_service::ExportTraceServiceRequest One(int trace, int span) {
  return Request({RS("svc", {{"s", {MakeSpan(trace, span)}}})});
}
int64_t OneBytes(int trace, int span) {
  return static_cast<int64_t>(RS("svc", {{"s", {MakeSpan(trace, span)}}}).ByteSizeLong());
}

std::optional<FlushJob> MustStart(TenantTraces& t, absl::Time now, absl::Duration dur,
                                  int64_t bytes, bool force) {
  absl::StatusOr<std::optional<FlushJob>> job = t.StartFlush(now, dur, bytes, force);
  EXPECT_TRUE(job.ok()) << job.status();
  return job.ok() ? *std::move(job) : std::nullopt;
}

TEST(TenantTracesFlush, NothingIsDueUntilBytesOrAgeAndNothingPendingGivesNoJob) {
  FaultInjectionEnv env;
  Clock clock;
  auto t = MustOpen(&env, Opts(&clock));
  ASSERT_NE(t, nullptr);
  // Nothing pending: no job, even forced.
  EXPECT_FALSE(MustStart(*t, kT0, absl::Seconds(60), 1000, true).has_value());
  MustPush(*t, One(1, 1));
  MustPush(*t, One(2, 1));
  // Live but not cut: no job (a block holds cut traces only).
  EXPECT_FALSE(MustStart(*t, kT0 + absl::Hours(1), absl::Seconds(60), 1, false).has_value());
  t->CutIdle(kT0 + absl::Seconds(10), absl::Seconds(5));  // both cut at t0+10
  const int64_t pending = OneBytes(1, 1) + OneBytes(2, 1);
  ASSERT_EQ(t->pending_bytes(), pending);
  // Under both limits: no job; the WAL is not rotated.
  const size_t segments = t->wal()->segments().size();
  EXPECT_FALSE(
      MustStart(*t, kT0 + absl::Seconds(69), absl::Seconds(60), pending + 1, false).has_value());
  EXPECT_EQ(t->wal()->segments().size(), segments);
  EXPECT_EQ(t->pending_traces(), 2u);
}

TEST(TenantTracesFlush, BytesTriggerAJobOfWholeMergedTracesSortedById) {
  FaultInjectionEnv env;
  Clock clock;
  auto t = MustOpen(&env, Opts(&clock));
  ASSERT_NE(t, nullptr);
  MustPush(*t, One(2, 1));
  MustPush(*t, One(1, 1));
  MustPush(*t, One(2, 2));
  MustPush(*t, One(2, 1));  // an exact duplicate (a retry): once in the job
  t->CutIdle(kT0 + absl::Seconds(10), absl::Seconds(5));
  const int64_t pending = t->pending_bytes();
  EXPECT_EQ(pending, OneBytes(2, 1) * 2 + OneBytes(1, 1) + OneBytes(2, 2));
  std::optional<FlushJob> job =
      MustStart(*t, kT0 + absl::Seconds(10), absl::Hours(1), pending, false);
  ASSERT_TRUE(job.has_value());
  ASSERT_EQ(job->traces.size(), 2u);
  EXPECT_EQ(job->traces[0].trace_id, TraceId(1));
  EXPECT_EQ(job->traces[1].trace_id, TraceId(2));
  const pb::trace::TracesData want2 =
      Traces({RS("svc", {{"s", {MakeSpan(2, 1), MakeSpan(2, 2)}}})});
  const pb::trace::TracesData want1 = Traces({RS("svc", {{"s", {MakeSpan(1, 1)}}})});
  EXPECT_TRUE(MessageDifferencer::Equals(job->Trace(0), want1));
  EXPECT_TRUE(MessageDifferencer::Equals(job->Trace(1), want2));
  EXPECT_EQ(job->bytes, static_cast<int64_t>(want1.ByteSizeLong() + want2.ByteSizeLong()));
  EXPECT_EQ(job->spans, 3);
  EXPECT_EQ(t->pending_traces(), 0u);
  EXPECT_EQ(t->pending_bytes(), 0);
  EXPECT_EQ(t->flushing_traces(), 2u);
  // While flushing, the traces are still found; a second job waits for the first.
  ExpectTrace(*t, 2, want2);
  EXPECT_FALSE(MustStart(*t, kT0 + absl::Hours(9), absl::Seconds(1), 1, true).has_value());
}

// Trace IDs are ordered as their bytes compare (unsigned, memcmp), the block's order: an ID with
// a byte >= 0x80 comes after one with 0x01 at the same position.
TEST(TenantTracesFlush, JobAndTraceIdsAreInUnsignedByteOrder) {
  FaultInjectionEnv env;
  Clock clock;
  auto t = MustOpen(&env, Opts(&clock));
  ASSERT_NE(t, nullptr);
  const std::vector<int> ids = {0xff00, 0x80, 0x01, 0x7f, 0x8000};
  for (int id : ids) MustPush(*t, One(id, 1));
  std::vector<std::string> want;
  for (int id : ids) want.push_back(TraceId(id));
  std::sort(want.begin(), want.end(), [](const std::string& a, const std::string& b) {
    return std::memcmp(a.data(), b.data(), 16) < 0;
  });
  EXPECT_EQ(t->TraceIds(), want);
  std::optional<FlushJob> job = MustStart(*t, kT0 + absl::Seconds(10), absl::Hours(1), 0, true);
  ASSERT_TRUE(job.has_value());
  std::vector<std::string> got;
  for (const auto& c : job->traces) got.push_back(c.trace_id);
  EXPECT_EQ(got, want);
}

TEST(TenantTracesFlush, AgeOfTheOldestCutTriggersAJob) {
  FaultInjectionEnv env;
  Clock clock;
  auto t = MustOpen(&env, Opts(&clock));
  ASSERT_NE(t, nullptr);
  MustPush(*t, One(1, 1));
  t->CutIdle(kT0 + absl::Seconds(10), absl::Seconds(5));  // cut at t0+10
  MustPush(*t, One(2, 1));
  t->CutIdle(kT0 + absl::Seconds(40), absl::Seconds(5));  // cut at t0+40
  EXPECT_FALSE(MustStart(*t, kT0 + absl::Seconds(69), absl::Seconds(60), 0, false).has_value());
  std::optional<FlushJob> job = MustStart(*t, kT0 + absl::Seconds(70), absl::Seconds(60), 0, false);
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(job->traces.size(), 2u);  // the whole pending set, not only the old trace
}

TEST(TenantTracesFlush, ForceCutsEveryLiveTraceAndEmptiesTheLiveSet) {
  FaultInjectionEnv env;
  Clock clock;
  auto t = MustOpen(&env, Opts(&clock));
  ASSERT_NE(t, nullptr);
  MustPush(*t, One(1, 1));
  MustPush(*t, One(2, 1));
  std::optional<FlushJob> job = MustStart(*t, kT0, absl::Hours(1), 0, true);
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(job->traces.size(), 2u);
  EXPECT_EQ(t->live_traces(), 0u);
  ASSERT_TRUE(t->CompleteFlush(*job, true).ok());
  EXPECT_FALSE(t->FindTrace(TraceId(1)).has_value());
  EXPECT_TRUE(t->TraceIds().empty());
}

TEST(TenantTracesFlush, OkDropsTheTracesAndTruncatesTheWalOnlyThen) {
  FaultInjectionEnv env;
  Clock clock;
  auto t = MustOpen(&env, Opts(&clock));
  ASSERT_NE(t, nullptr);
  MustPush(*t, One(1, 1));
  t->CutIdle(kT0 + absl::Seconds(10), absl::Seconds(5));
  MustPush(*t, One(1, 2));  // a late span of the cut trace: live again
  MustPush(*t, One(2, 1));  // a live trace
  ExpectTrace(*t, 1, Traces({RS("svc", {{"s", {MakeSpan(1, 1), MakeSpan(1, 2)}}})}));
  const std::vector<uint64_t> before = t->wal()->segments();
  std::optional<FlushJob> job = MustStart(*t, kT0 + absl::Seconds(10), absl::Hours(1), 0, true);
  ASSERT_TRUE(job.has_value());
  // force cut the live parts too: trace 1 whole (both parts merged) and trace 2.
  ASSERT_EQ(job->traces.size(), 2u);
  EXPECT_TRUE(MessageDifferencer::Equals(
      job->Trace(0), Traces({RS("svc", {{"s", {MakeSpan(1, 1), MakeSpan(1, 2)}}})})));
  // Rotated, nothing deleted yet.
  EXPECT_EQ(job->wal_segment, t->wal()->segments().back());
  for (uint64_t s : before) {
    EXPECT_NE(std::find(t->wal()->segments().begin(), t->wal()->segments().end(), s),
              t->wal()->segments().end());
  }
  ASSERT_TRUE(t->CompleteFlush(*job, true).ok());
  EXPECT_EQ(t->wal()->segments(), std::vector<uint64_t>{job->wal_segment});
  EXPECT_EQ(t->flushing_traces(), 0u);
  EXPECT_FALSE(t->FindTrace(TraceId(1)).has_value());
  // The same job again is refused.
  EXPECT_EQ(t->CompleteFlush(*job, true).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(TenantTracesFlush, LateSpansStayLiveAndFindTraceSeesEverySet) {
  FaultInjectionEnv env;
  Clock clock;
  auto t = MustOpen(&env, Opts(&clock));
  ASSERT_NE(t, nullptr);
  MustPush(*t, One(1, 1));
  t->CutIdle(kT0 + absl::Seconds(10), absl::Seconds(5));
  std::optional<FlushJob> job = MustStart(*t, kT0 + absl::Seconds(10), absl::Seconds(0), 0, false);
  ASSERT_TRUE(job.has_value());  // flushing: span 1
  clock.now = kT0 + absl::Seconds(11);
  MustPush(*t, One(1, 2));
  t->CutIdle(kT0 + absl::Seconds(20), absl::Seconds(5));  // pending: span 2
  clock.now = kT0 + absl::Seconds(21);
  MustPush(*t, One(1, 3));  // live: span 3
  EXPECT_EQ(t->flushing_traces(), 1u);
  EXPECT_EQ(t->pending_traces(), 1u);
  EXPECT_EQ(t->live_traces(), 1u);
  EXPECT_EQ(t->TraceIds(), std::vector<std::string>{TraceId(1)});
  ExpectTrace(*t, 1,
              Traces({RS("svc", {{"s", {MakeSpan(1, 1), MakeSpan(1, 2), MakeSpan(1, 3)}}})}));
  // The job has only the part that was pending when it started.
  ASSERT_EQ(job->traces.size(), 1u);
  EXPECT_TRUE(
      MessageDifferencer::Equals(job->Trace(0), Traces({RS("svc", {{"s", {MakeSpan(1, 1)}}})})));
}

TEST(TenantTracesFlush, AFailedJobGoesBackToPendingAndIsRetriedWithNewerTraces) {
  FaultInjectionEnv env;
  Clock clock;
  auto t = MustOpen(&env, Opts(&clock));
  ASSERT_NE(t, nullptr);
  MustPush(*t, One(1, 1));
  MustPush(*t, One(2, 1));
  t->CutIdle(kT0 + absl::Seconds(10), absl::Seconds(5));
  std::optional<FlushJob> job = MustStart(*t, kT0 + absl::Seconds(10), absl::Seconds(0), 0, false);
  ASSERT_TRUE(job.has_value());
  clock.now = kT0 + absl::Seconds(11);
  MustPush(*t, One(1, 2));
  MustPush(*t, One(3, 1));
  t->CutIdle(kT0 + absl::Seconds(20), absl::Seconds(5));  // pending: 1 (span 2), 3
  const std::vector<uint64_t> segments = t->wal()->segments();
  ASSERT_TRUE(t->CompleteFlush(*job, false).ok());
  EXPECT_EQ(t->wal()->segments(), segments);  // WAL untouched
  EXPECT_EQ(t->flushing_traces(), 0u);
  EXPECT_EQ(t->pending_traces(), 3u);
  EXPECT_EQ(t->pending_bytes(), OneBytes(1, 1) + OneBytes(2, 1) + OneBytes(1, 2) + OneBytes(3, 1));
  // The failed part comes before the newer part of the same trace.
  ExpectTrace(*t, 1, Traces({RS("svc", {{"s", {MakeSpan(1, 1), MakeSpan(1, 2)}}})}));
  std::optional<FlushJob> retry =
      MustStart(*t, kT0 + absl::Seconds(20), absl::Seconds(0), 0, false);
  ASSERT_TRUE(retry.has_value());
  EXPECT_GT(retry->id, job->id);
  ASSERT_EQ(retry->traces.size(), 3u);
  EXPECT_TRUE(MessageDifferencer::Equals(
      retry->Trace(0), Traces({RS("svc", {{"s", {MakeSpan(1, 1), MakeSpan(1, 2)}}})})));
  EXPECT_EQ(t->CompleteFlush(*job, true).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(t->CompleteFlush(*retry, true).ok());
  EXPECT_EQ(t->wal()->segments(), std::vector<uint64_t>{retry->wal_segment});
  EXPECT_TRUE(t->TraceIds().empty());
}

// Every span of traces 1..4 pushed in the scenario, for the crash checks.
void ExpectAllOnce(const TenantTraces& t, const std::vector<std::pair<int, int>>& spans) {
  std::map<int, std::vector<pb::trace::Span>> by_trace;
  std::set<std::pair<int, int>> seen;  // a retried span is expected once
  for (auto [trace, span] : spans) {
    if (seen.insert({trace, span}).second) by_trace[trace].push_back(MakeSpan(trace, span));
  }
  for (const auto& [trace, list] : by_trace) {
    ExpectTrace(t, trace, Traces({RS("svc", {{"s", list}})}));
  }
}

// A crash (machine crash: unsynced bytes dropped) after each step of the pipeline, then a
// reopen: every acknowledged span not yet in a durable block is found exactly once (in push
// order), and a trace whose block completed is not replayed after a process crash. (After a
// machine crash the WAL's unsynced Truncate may be undone: the flushed traces come back, each
// span still once — the block reader tolerates a trace both in a block and live.)
TEST(TenantTracesFlush, ACrashAtEveryStepLosesNothingAndDuplicatesNothing) {
  // Steps: 0 after pushes and cut; 1 after StartFlush; 2 after late pushes; 3 after
  // CompleteFlush(false); 4 after the retry's StartFlush; 5 after CompleteFlush(ok), a process
  // crash (kill -9: written bytes kept); 6 the same, a machine crash.
  for (int crash_at = 0; crash_at <= 6; ++crash_at) {
    SCOPED_TRACE(crash_at);
    FaultInjectionEnv env;
    Clock clock;
    std::vector<std::pair<int, int>> acked;
    {
      auto t = MustOpen(&env, Opts(&clock));
      ASSERT_NE(t, nullptr);
      auto push = [&](int trace, int span) {
        MustPush(*t, One(trace, span));
        acked.emplace_back(trace, span);
      };
      auto crash = [&](int step) {
        if (step != crash_at) return false;
        env.SimulateCrash(step == 5 ? FaultInjectionEnv::CrashMode::kKeepUnsynced
                                    : FaultInjectionEnv::CrashMode::kDropUnsynced);
        return true;
      };
      push(1, 1);
      push(2, 1);
      push(1, 1);  // a retry: stays once
      t->CutIdle(kT0 + absl::Seconds(10), absl::Seconds(5));
      push(3, 1);  // live
      if (crash(0)) goto reopen;
      {
        std::optional<FlushJob> job =
            MustStart(*t, kT0 + absl::Seconds(10), absl::Seconds(0), 0, false);
        ASSERT_TRUE(job.has_value());
        if (crash(1)) goto reopen;
        push(3, 2);
        push(1, 2);  // late span of a flushing trace
        if (crash(2)) goto reopen;
        ASSERT_TRUE(t->CompleteFlush(*job, false).ok());
        if (crash(3)) goto reopen;
        std::optional<FlushJob> retry =
            MustStart(*t, kT0 + absl::Seconds(10), absl::Seconds(0), 0, false);
        ASSERT_TRUE(retry.has_value());
        if (crash(4)) goto reopen;
        ASSERT_TRUE(t->CompleteFlush(*retry, true).ok());
        if (crash(6)) goto reopen;
        // Traces 1 (span 1) and 2 are in a durable block now: not in the WAL any more.
        acked.erase(std::remove_if(acked.begin(), acked.end(),
                                   [](auto p) {
                                     return p == std::pair{1, 1} || p.first == 2;
                                   }),
                    acked.end());
        if (crash(5)) goto reopen;
      }
    reopen:;
    }
    auto t = MustOpen(&env, Opts(&clock));
    ASSERT_NE(t, nullptr);
    ExpectAllOnce(*t, acked);
    if (crash_at == 5) {
      EXPECT_FALSE(t->FindTrace(TraceId(2)).has_value());
      EXPECT_EQ(t->TraceIds(), (std::vector<std::string>{TraceId(1), TraceId(3)}));
    }
    // A retried push and the checkpoints repeat groups; after the truncation nothing repeats.
    EXPECT_EQ(t->replay_info().duplicate_groups > 0, crash_at != 5);
  }
}

TEST(TenantTraces, MergeGroupsCombinesCopiesOfATraceFromSeveralPlaces) {
  // Two copies of trace 1 (e.g. from two blocks) overlapping in span 2, the second with a new
  // resource and a span of the same ID but other bytes.
  const pb::trace::ResourceSpans a = RS("svc-a", {{"s1", {MakeSpan(1, 1), MakeSpan(1, 2)}}});
  const pb::trace::ResourceSpans b = RS("svc-a", {{"s1", {MakeSpan(1, 2), MakeSpan(1, 3)}}});
  const pb::trace::ResourceSpans c = RS("svc-b", {{"s2", {MakeSpan(1, 1, "other bytes")}}});
  const pb::trace::TracesData got = MergeGroups({&a, &b, &c});
  EXPECT_TRUE(MessageDifferencer::Equals(
      got, Traces({RS("svc-a", {{"s1", {MakeSpan(1, 1), MakeSpan(1, 2), MakeSpan(1, 3)}}}),
                   RS("svc-b", {{"s2", {MakeSpan(1, 1, "other bytes")}}})})));
}

TEST(TenantTraces, InvalidTraceIdsAreCountedAndDropped) {
  FaultInjectionEnv env;
  auto t = MustOpen(&env, Opts());
  ASSERT_NE(t, nullptr);
  pb::trace::Span bad = MakeSpan(1, 9);
  bad.set_trace_id("short");
  PushResult r = MustPush(*t, Request({RS("svc", {{"s", {bad, MakeSpan(1, 1)}}})}));
  EXPECT_EQ(r.accepted_spans, 1);
  EXPECT_EQ(r.discarded_spans[kReasonInvalidTraceId], 1);
  ExpectTrace(*t, 1, Traces({RS("svc", {{"s", {MakeSpan(1, 1)}}})}));
}

TEST(TenantTraces, ConcurrentPushersAndReadersLoseNothing) {
  FaultInjectionEnv env;
  auto t = MustOpen(&env, Opts());
  ASSERT_NE(t, nullptr);
  constexpr int kThreads = 4, kSpans = 25;
  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th) {
    threads.emplace_back([&, th] {
      for (int i = 0; i < kSpans; ++i) {
        EXPECT_TRUE(t->Push(Request({RS("svc", {{"s", {MakeSpan(th + 1, i)}}})})).ok());
        (void)t->FindTrace(TraceId(((th + 1) % kThreads) + 1));
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int th = 0; th < kThreads; ++th) {
    std::vector<pb::trace::Span> spans;
    for (int i = 0; i < kSpans; ++i) spans.push_back(MakeSpan(th + 1, i));
    ExpectTrace(*t, th + 1, Traces({RS("svc", {{"s", spans}})}));
  }
}

TEST(TenantTraces, ATraceSplitAcrossPushesIsOneTraceAndMaxBytesPerTraceIsExact) {
  // Trace 1 in two pushes over two resources; the limit is exactly the size of its groups (the
  // serialized size of SplitByTrace's groups), so one more byte of it is refused.
  const auto req1 = Request({RS("svc-a", {{"s1", {MakeSpan(1, 1), MakeSpan(2, 1)}}}),
                             RS("svc-b", {{"s1", {MakeSpan(1, 2)}}})});
  const auto req2 = Request({RS("svc-a", {{"s1", {MakeSpan(1, 3)}}})});
  int64_t trace1 = 0, invalid = 0;
  for (const auto* req : {&req1, &req2}) {
    for (const auto& rs : req->resource_spans()) {
      for (const auto& [id, group] : SplitByTrace(rs, &invalid)) {
        if (id == TraceId(1)) trace1 += static_cast<int64_t>(group.ByteSizeLong());
      }
    }
  }
  const pb::trace::TracesData want =
      Traces({RS("svc-a", {{"s1", {MakeSpan(1, 1), MakeSpan(1, 3)}}}),
              RS("svc-b", {{"s1", {MakeSpan(1, 2)}}})});
  {
    FaultInjectionEnv env;
    auto t = MustOpen(&env, Opts(nullptr, trace1));
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(MustPush(*t, req1).accepted_spans, 3);
    PushResult r = MustPush(*t, req2);
    EXPECT_EQ(r.accepted_spans, 1);
    EXPECT_EQ(r.discarded_total(), 0);
    ExpectTrace(*t, 1, want);
    // One byte more of trace 1 is over the limit.
    r = MustPush(*t, One(1, 4));
    EXPECT_EQ(r.accepted_spans, 0);
    EXPECT_EQ(r.discarded_spans[kReasonTraceTooLarge], 1);
    ExpectTrace(*t, 1, want);
  }
  {
    FaultInjectionEnv env;
    auto t = MustOpen(&env, Opts(nullptr, trace1 - 1));
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(MustPush(*t, req1).accepted_spans, 3);
    PushResult r = MustPush(*t, req2);
    EXPECT_EQ(r.accepted_spans, 0);
    EXPECT_EQ(r.discarded_spans[kReasonTraceTooLarge], 1);
  }
}

TEST(TenantTraces, PushSerializedIsPushOfTheSameBytes) {
  FaultInjectionEnv env;
  auto t = MustOpen(&env, Opts());
  ASSERT_NE(t, nullptr);
  std::vector<std::string> bytes;
  const auto reqs = ThreeRequests();
  for (const auto& rs : reqs[0].resource_spans()) bytes.push_back(rs.SerializeAsString());
  std::vector<std::string_view> views(bytes.begin(), bytes.end());
  absl::StatusOr<PushResult> r = t->PushSerialized(views);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->accepted_spans, 4);
  ExpectTrace(*t, 2, Traces({RS("svc-a", {{"s1", {MakeSpan(2, 1)}}})}));
  const std::string broken = bytes[0].substr(0, bytes[0].size() - 3);
  const std::string_view bv(broken);
  EXPECT_EQ(t->PushSerialized(std::span(&bv, 1)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TenantTracesFlush, AFailedCheckpointKeepsTheTracesPendingAndTheRetryFlushesThem) {
  FaultInjectionEnv env;
  Clock clock;
  {
    auto t = MustOpen(&env, Opts(&clock));
    ASSERT_NE(t, nullptr);
    MustPush(*t, One(1, 1));
    MustPush(*t, One(2, 1));
    t->CutIdle(kT0 + absl::Seconds(10), absl::Seconds(5));
    MustPush(*t, One(3, 1));  // live: the checkpoint has something to write
    // The rotation writes the new segment's header; the checkpoint's append then fails.
    FaultInjectionEnv::Fault fault;
    fault.ops = FaultInjectionEnv::kWrite;
    fault.skip = 1;
    env.InjectFault(fault);
    absl::StatusOr<std::optional<FlushJob>> failed =
        t->StartFlush(kT0 + absl::Seconds(10), absl::Seconds(0), 0, false);
    EXPECT_FALSE(failed.ok());
    env.ClearFaults();
    EXPECT_EQ(t->pending_traces(), 2u);
    EXPECT_EQ(t->flushing_traces(), 0u);
    EXPECT_EQ(t->pending_bytes(), OneBytes(1, 1) + OneBytes(2, 1));
    EXPECT_EQ(t->TraceIds(), (std::vector<std::string>{TraceId(1), TraceId(2), TraceId(3)}));
    std::optional<FlushJob> job =
        MustStart(*t, kT0 + absl::Seconds(10), absl::Seconds(0), 0, false);
    ASSERT_TRUE(job.has_value());
    ASSERT_EQ(job->traces.size(), 2u);
    EXPECT_TRUE(
        MessageDifferencer::Equals(job->Trace(0), Traces({RS("svc", {{"s", {MakeSpan(1, 1)}}})})));
    EXPECT_EQ(job->spans, 2);
    ASSERT_TRUE(t->CompleteFlush(*job, true).ok());
    MustPush(*t, One(3, 2));
    env.SimulateCrash(FaultInjectionEnv::CrashMode::kDropUnsynced);
  }
  auto t = MustOpen(&env, Opts(&clock));
  ASSERT_NE(t, nullptr);
  ExpectTrace(*t, 3, Traces({RS("svc", {{"s", {MakeSpan(3, 1), MakeSpan(3, 2)}}})}));
}

// Pushers on several threads while another thread cuts, starts and completes flushes (every
// other one failing): every acknowledged span is, exactly once, either in a completed job or
// still in memory; after a crash the WAL still holds every span not in a completed job.
TEST(TenantTracesFlush, ConcurrentPushesDuringStartFlushLoseNothing) {
  FaultInjectionEnv env;
  constexpr int kThreads = 3, kPushes = 60, kTracesPerThread = 7;
  std::set<std::pair<int, int>> flushed;  // (trace, span) in a completed job
  {
    auto t = MustOpen(&env, Opts());
    ASSERT_NE(t, nullptr);
    std::atomic<bool> done{false};
    std::thread flusher([&] {
      int round = 0;
      while (!done.load()) {
        const absl::Time far = absl::Now() + absl::Hours(1);
        t->CutIdle(far, absl::ZeroDuration());
        absl::StatusOr<std::optional<FlushJob>> job =
            t->StartFlush(far, absl::ZeroDuration(), 0, false);
        ASSERT_TRUE(job.ok()) << job.status();
        if (!job->has_value()) continue;
        const bool ok = ++round % 2 == 0;
        if (ok) {
          for (size_t i = 0; i < (*job)->traces.size(); ++i) {
            const opentelemetry::proto::trace::v1::TracesData trace = (*job)->Trace(i);
            for (const auto& rs : trace.resource_spans()) {
              for (const auto& ss : rs.scope_spans()) {
                for (const auto& sp : ss.spans()) {
                  const int span = static_cast<int>(GetU32(sp.span_id().data() + 4));
                  EXPECT_TRUE(flushed.insert({span / 100, span % 100}).second);
                }
              }
            }
          }
        }
        ASSERT_TRUE(t->CompleteFlush(**job, ok).ok());
      }
    });
    std::vector<std::thread> pushers;
    for (int th = 0; th < kThreads; ++th) {
      pushers.emplace_back([&, th] {
        for (int i = 0; i < kPushes; ++i) {
          const int trace = th * kTracesPerThread + i % kTracesPerThread + 1;
          EXPECT_TRUE(t->Push(One(trace, i)).ok());
        }
      });
    }
    for (auto& p : pushers) p.join();
    done = true;
    flusher.join();
    // Every span: in a completed job, or found in memory, never both.
    for (int th = 0; th < kThreads; ++th) {
      for (int k = 0; k < kTracesPerThread; ++k) {
        const int trace = th * kTracesPerThread + k + 1;
        std::vector<pb::trace::Span> rest;
        for (int i = k; i < kPushes; i += kTracesPerThread) {
          if (!flushed.count({trace, i})) rest.push_back(MakeSpan(trace, i));
        }
        if (rest.empty()) {
          EXPECT_FALSE(t->FindTrace(TraceId(trace)).has_value()) << trace;
        } else {
          ExpectTrace(*t, trace, Traces({RS("svc", {{"s", rest}})}));
        }
      }
    }
    env.SimulateCrash(FaultInjectionEnv::CrashMode::kKeepUnsynced);
  }
  auto t = MustOpen(&env, Opts());
  ASSERT_NE(t, nullptr);
  for (int trace = 1; trace <= kThreads * kTracesPerThread; ++trace) {
    std::optional<pb::trace::TracesData> got = t->FindTrace(TraceId(trace));
    std::set<int> spans;
    if (got.has_value()) {
      for (const auto& rs : got->resource_spans()) {
        for (const auto& ss : rs.scope_spans()) {
          for (const auto& sp : ss.spans()) {
            EXPECT_TRUE(
                spans.insert(static_cast<int>(GetU32(sp.span_id().data() + 4)) % 100).second);
          }
        }
      }
    }
    const int k = (trace - 1) % kTracesPerThread;
    for (int i = k; i < kPushes; i += kTracesPerThread) {
      if (!flushed.count({trace, i})) {
        EXPECT_TRUE(spans.count(i)) << trace << "/" << i;
      }
    }
  }
}

// Group commit: pushers on several threads share the WAL's fdatasync (the append and its sync
// run outside the tenant's mutex), and every acknowledged span is live and survives a crash.
TEST(TenantTraces, ConcurrentPushersShareWalSyncs) {
  FaultInjectionEnv env;
  constexpr int kThreads = 8, kPushes = 5;
  {
    auto t = MustOpen(&env, Opts());
    ASSERT_NE(t, nullptr);
    env.SetBeforeSync([](const std::string&) { absl::SleepFor(absl::Milliseconds(20)); });
    const int64_t syncs_before = env.stats().file_syncs;
    std::vector<std::thread> threads;
    for (int th = 0; th < kThreads; ++th) {
      threads.emplace_back([&, th] {
        for (int i = 0; i < kPushes; ++i) EXPECT_TRUE(t->Push(One(th + 1, i)).ok());
      });
    }
    for (auto& th : threads) th.join();
    env.SetBeforeSync(nullptr);
    const int64_t syncs = env.stats().file_syncs - syncs_before;
    EXPECT_LT(syncs, kThreads * kPushes / 2)
        << syncs << " syncs for " << kThreads * kPushes << " pushes";
    EXPECT_EQ(t->live_traces(), static_cast<size_t>(kThreads));
    env.SimulateCrash(FaultInjectionEnv::CrashMode::kDropUnsynced);
  }
  auto t = MustOpen(&env, Opts());
  ASSERT_NE(t, nullptr);
  for (int th = 0; th < kThreads; ++th) {
    std::optional<pb::trace::TracesData> got = t->FindTrace(TraceId(th + 1));
    ASSERT_TRUE(got.has_value());
    std::set<int> spans;
    for (const auto& sp : got->resource_spans(0).scope_spans(0).spans()) {
      spans.insert(static_cast<int>(GetU32(sp.span_id().data() + 4)) % 100);
    }
    EXPECT_EQ(spans.size(), static_cast<size_t>(kPushes));
  }
}

}  // namespace
}  // namespace sprout::traces::live

namespace sprout::traces::live {
namespace {

constexpr uint64_t kBase = 1700000000000000000ull;

// One request with one span of `trace` over [kBase + start, kBase + end].
pb::trace_service::ExportTraceServiceRequest TimedSpan(int trace, int span, uint64_t start,
                                                       uint64_t end) {
  pb::trace::Span s = MakeSpan(trace, span);
  s.set_start_time_unix_nano(kBase + start);
  s.set_end_time_unix_nano(kBase + end);
  return Request({RS("svc", {{"s", {s}}})});
}

std::vector<std::string> Ids(std::initializer_list<int> traces) {
  std::vector<std::string> out;
  for (int t : traces) out.push_back(TraceId(t));
  return out;
}

TEST(TenantTraces, TraceIdsStartingInListsTheTracesWhoseSpansMayStartInTheRange) {
  FaultInjectionEnv env;
  Clock clock;
  {
    auto t = MustOpen(&env, Opts(&clock));
    ASSERT_NE(t, nullptr);
    MustPush(*t, TimedSpan(1, 1, 1000, 2000));
    MustPush(*t, TimedSpan(2, 1, 5000, 6000));
    MustPush(*t, TimedSpan(3, 1, 9000, 9500));
    MustPush(*t, TimedSpan(3, 2, 8000, 8500));  // a second push widens trace 3 to [8000, 9500]
    EXPECT_EQ(t->TraceIdsStartingIn(0, UINT64_MAX), Ids({1, 2, 3}));
    EXPECT_EQ(t->TraceIdsStartingIn(kBase, kBase + 1001), Ids({1}));
    EXPECT_EQ(t->TraceIdsStartingIn(kBase, kBase + 1000), Ids({}));          // end exclusive
    EXPECT_EQ(t->TraceIdsStartingIn(kBase + 2000, kBase + 5000), Ids({1}));  // starts up to its end
    EXPECT_EQ(t->TraceIdsStartingIn(kBase + 2001, kBase + 5001), Ids({2}));
    EXPECT_EQ(t->TraceIdsStartingIn(kBase + 7000, kBase + 8001), Ids({3}));
    EXPECT_EQ(t->TraceIdsStartingIn(kBase + 9501, UINT64_MAX), Ids({}));

    // Trace 1 cut (pending), then flushing, with a late live part: every part's bounds count,
    // and the trace is listed once.
    t->CutIdle(kT0 + absl::Seconds(10), absl::Seconds(5));
    EXPECT_EQ(t->pending_traces(), 3u);
    std::optional<FlushJob> job =
        MustStart(*t, kT0 + absl::Seconds(10), absl::Seconds(0), 0, false);
    ASSERT_TRUE(job.has_value());
    clock.now = kT0 + absl::Seconds(11);
    MustPush(*t, TimedSpan(1, 2, 20000, 21000));
    EXPECT_EQ(t->flushing_traces(), 3u);
    EXPECT_EQ(t->TraceIdsStartingIn(kBase + 15000, kBase + 30000), Ids({1}));
    EXPECT_EQ(t->TraceIdsStartingIn(kBase, kBase + 1001), Ids({1}));
    // Between the parts: the merged trace spans [1000, 21000], so it may hold such a span.
    EXPECT_EQ(t->TraceIdsStartingIn(kBase + 3000, kBase + 4000), Ids({1}));
    ASSERT_TRUE(t->CompleteFlush(*job, true).ok());
    // Flushed: only the late live part is left in memory.
    EXPECT_EQ(t->TraceIdsStartingIn(kBase, kBase + 15000), Ids({}));
    EXPECT_EQ(t->TraceIdsStartingIn(kBase + 15000, kBase + 30000), Ids({1}));
    MustPush(*t, TimedSpan(4, 1, 40000, 41000));
  }
  // Replay recomputes the bounds from the WAL (the checkpoint holds the live part of trace 1).
  auto t = MustOpen(&env, Opts(&clock));
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->TraceIds(), Ids({1, 4}));
  EXPECT_EQ(t->TraceIdsStartingIn(kBase, kBase + 15000), Ids({}));
  EXPECT_EQ(t->TraceIdsStartingIn(kBase + 15000, kBase + 30000), Ids({1}));
  EXPECT_EQ(t->TraceIdsStartingIn(kBase + 30000, kBase + 40001), Ids({4}));
  EXPECT_EQ(t->TraceIdsStartingIn(0, UINT64_MAX), Ids({1, 4}));
}

TEST(TenantTraces, SnapshotReadsEachTraceAsFindTraceDidEvenAfterItsFlush) {
  FaultInjectionEnv env;
  Clock clock;
  auto t = MustOpen(&env, Opts(&clock));
  ASSERT_NE(t, nullptr);
  for (const auto& req : ThreeRequests()) MustPush(*t, req);
  t->CutIdle(kT0 + absl::Seconds(10), absl::Seconds(5));
  std::optional<FlushJob> job = MustStart(*t, kT0 + absl::Seconds(10), absl::Seconds(0), 0, false);
  ASSERT_TRUE(job.has_value());
  clock.now = kT0 + absl::Seconds(11);
  MustPush(*t, One(1, 7));  // trace 1: flushing and live parts
  const std::vector<std::string> ids = {TraceId(1), TraceId(2), TraceId(5), TraceId(3)};
  const TraceParts parts = t->Snapshot(ids);
  ASSERT_EQ(parts.size(), 3u);  // trace 5 is in no set
  EXPECT_EQ(parts.trace_id(0), TraceId(1));
  EXPECT_EQ(parts.trace_id(1), TraceId(2));
  EXPECT_EQ(parts.trace_id(2), TraceId(3));
  std::vector<pb::trace::TracesData> want;
  for (int i = 0; i < 3; ++i) want.push_back(*t->FindTrace(parts.trace_id(i)));
  // The flush completes and more spans arrive: the snapshot still reads what it noted.
  ASSERT_TRUE(t->CompleteFlush(*job, true).ok());
  MustPush(*t, One(2, 9));
  pb::trace::TracesData td;  // reused
  for (size_t i = 0; i < 3; ++i) {
    int64_t bytes = 0;
    ASSERT_TRUE(parts.Read(i, &td, &bytes).ok());
    EXPECT_TRUE(MessageDifferencer::Equals(td, want[i])) << i;
    EXPECT_EQ(bytes, static_cast<int64_t>(want[i].ByteSizeLong()));
  }
  EXPECT_EQ(parts.Read(3, &td).code(), absl::StatusCode::kOutOfRange);
}

}  // namespace
}  // namespace sprout::traces::live
