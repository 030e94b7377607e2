// traces_wal_test: the traces WAL's record layout, round trips of real OTLP ResourceSpans, what
// each sync policy keeps through a simulated crash (storage::FaultInjectionEnv), torn tails,
// damage in the middle, truncation and newer-version refusal. With SPROUT_WRITE_TRACES_WAL_SEEDS
// set to a directory, TracesWalFuzzSeeds writes the fuzzer's seeds there.
#include "traces/wal/traces_wal.h"

#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "base/coding.h"
#include "base/crc32c.h"
#include "gtest/gtest.h"
#include "otlp/signal.h"
#include "storage/fault_injection_env.h"
#include "storage/segment_log.h"
#include "traces/wal/wal_fuzz_input.h"

namespace sprout::traces::wal {
namespace {

namespace pb = otlp::pb;
using storage::FaultInjectionEnv;
using storage::SyncPolicy;
using CrashMode = FaultInjectionEnv::CrashMode;

constexpr char kDir[] = "/data/traces/wal/tenant-a";

// A ResourceSpans of service `service` with `spans` spans of trace `trace` (16 bytes from the
// trace number), each span id 8 bytes from the span number.
pb::trace::ResourceSpans MakeResourceSpans(const std::string& service, int trace, int spans) {
  pb::trace::ResourceSpans rs;
  pb::common::KeyValue* attr = rs.mutable_resource()->add_attributes();
  attr->set_key("service.name");
  attr->mutable_value()->set_string_value(service);
  pb::trace::ScopeSpans* ss = rs.add_scope_spans();
  ss->mutable_scope()->set_name("test-scope");
  for (int i = 0; i < spans; ++i) {
    pb::trace::Span* s = ss->add_spans();
    std::string trace_id(16, '\0');
    PutU32(trace_id.data() + 12, static_cast<uint32_t>(trace));
    std::string span_id(8, '\0');
    PutU32(span_id.data() + 4, static_cast<uint32_t>(i + 1));
    s->set_trace_id(trace_id);
    s->set_span_id(span_id);
    s->set_name("op-" + std::to_string(i));
    s->set_kind(pb::trace::Span::SPAN_KIND_SERVER);
    s->set_start_time_unix_nano(1700000000000000000ull + i * 1000);
    s->set_end_time_unix_nano(1700000000000000000ull + i * 1000 + 500);
  }
  return rs;
}

// Batch `n`: one or two ResourceSpans (serialized), different per n.
std::vector<std::string> Batch(int n) {
  std::vector<std::string> out;
  out.push_back(MakeResourceSpans("svc-" + std::to_string(n), n, 1 + n % 4).SerializeAsString());
  if (n % 3 == 0) out.push_back(MakeResourceSpans("other", 1000 + n, 2).SerializeAsString());
  return out;
}

absl::StatusOr<storage::LogPosition> AppendBatch(TracesWal& wal, const std::vector<std::string>& b) {
  std::vector<std::string_view> views(b.begin(), b.end());
  return wal.Append(views);
}

std::unique_ptr<TracesWal> MustOpen(storage::Env* env, TracesWalOptions o,
                                    const std::string& dir = kDir) {
  absl::StatusOr<std::unique_ptr<TracesWal>> wal = TracesWal::Open(env, dir, std::move(o));
  EXPECT_TRUE(wal.ok()) << wal.status();
  return wal.ok() ? *std::move(wal) : nullptr;
}

TracesWalOptions Opts(SyncPolicy sync, uint64_t segment_size = 64 << 20) {
  TracesWalOptions o;
  o.sync = sync;
  o.sync_interval = absl::Hours(1);  // kInterval: only explicit syncs in these tests
  o.segment_size = segment_size;
  return o;
}

struct Replayed {
  std::vector<std::vector<std::string>> batches;  // each: its ResourceSpans bytes
  std::vector<storage::LogPosition> positions;
  ReplayStats stats;
};

Replayed MustReplay(TracesWal& wal) {
  Replayed r;
  absl::StatusOr<ReplayStats> stats = wal.Replay([&](const ReplayedBatch& b) {
    r.batches.emplace_back(b.resource_spans.begin(), b.resource_spans.end());
    r.positions.push_back(b.position);
    return absl::OkStatus();
  });
  EXPECT_TRUE(stats.ok()) << stats.status();
  if (stats.ok()) r.stats = *stats;
  return r;
}

TEST(TracesWalRecord, LayoutIsVersionThenTracesDataFraming) {
  // Two messages of 3 and 200 bytes: 01, then 0a 03 <3 bytes>, then 0a c8 01 <200 bytes>.
  const std::string a = "abc";
  const std::string b(200, 'x');
  const std::string_view parts[] = {a, b};
  const std::string payload = EncodeBatch(parts);
  const std::string expected =
      std::string("\x01\x0a\x03", 3) + a + std::string("\x0a\xc8\x01", 3) + b;
  EXPECT_EQ(payload, expected);
  ReplayedBatch out;
  ASSERT_TRUE(DecodeBatch(payload, &out).ok());
  ASSERT_EQ(out.resource_spans.size(), 2u);
  EXPECT_EQ(out.resource_spans[0], a);
  EXPECT_EQ(out.resource_spans[1], b);
  EXPECT_EQ(out.traces_data, std::string_view(payload).substr(1));
}

TEST(TracesWalRecord, PayloadAfterTheVersionParsesAsTracesData) {
  const std::string rs1 = MakeResourceSpans("checkout", 7, 3).SerializeAsString();
  const std::string rs2 = MakeResourceSpans("cart", 8, 1).SerializeAsString();
  const std::string_view parts[] = {rs1, rs2};
  const std::string payload = EncodeBatch(parts);
  pb::trace::TracesData td;
  ASSERT_TRUE(td.ParseFromString(payload.substr(1)));
  ASSERT_EQ(td.resource_spans_size(), 2);
  EXPECT_EQ(td.resource_spans(0).SerializeAsString(), rs1);
  EXPECT_EQ(td.resource_spans(1).scope_spans(0).spans(0).name(), "op-0");
  pb::trace_service::ExportTraceServiceRequest req;
  ASSERT_TRUE(req.ParseFromString(payload.substr(1)));
  EXPECT_EQ(req.resource_spans_size(), 2);
}

TEST(TracesWalRecord, WorkedExampleOfTheFormatDoc) {
  // docs/format/traces-wal.md: one ResourceSpans whose resource has service.name = "api".
  pb::trace::ResourceSpans rs;
  pb::common::KeyValue* kv = rs.mutable_resource()->add_attributes();
  kv->set_key("service.name");
  kv->mutable_value()->set_string_value("api");
  const std::string bytes = rs.SerializeAsString();
  const std::string_view parts[] = {bytes};
  const std::string expected =
      std::string("\x01\x0a\x19\x0a\x17\x0a\x15\x0a\x0c", 9) + "service.name" +
      std::string("\x12\x05\x0a\x03", 4) + "api";
  EXPECT_EQ(EncodeBatch(parts), expected);
  EXPECT_EQ(expected.size(), 28u);
}

TEST(TracesWalRecord, DecodeRefusesBrokenFramingAndNewerVersions) {
  ReplayedBatch out;
  EXPECT_EQ(DecodeBatch("", &out).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeBatch(std::string("\x00\x0a\x00", 3), &out).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeBatch("\x01", &out).code(), absl::StatusCode::kInvalidArgument);  // no spans
  EXPECT_EQ(DecodeBatch("\x01\x12\x00", &out).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeBatch("\x01\x0a\x05" "abc", &out).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeBatch("\x01\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", &out).code(),
            absl::StatusCode::kInvalidArgument);
  const absl::Status newer = DecodeBatch("\x02\x0a\x00", &out);
  EXPECT_EQ(newer.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(newer.message().find("newer"), std::string_view::npos) << newer;
  EXPECT_TRUE(DecodeBatch(std::string("\x01\x0a\x00", 3), &out).ok());  // an empty message
}

TEST(TracesWal, AppendReplayRoundTripWithRealResourceSpans) {
  FaultInjectionEnv env;
  std::vector<std::vector<std::string>> appended;
  {
    auto wal = MustOpen(&env, Opts(SyncPolicy::kEveryAppend, 4096));  // several segments
    ASSERT_NE(wal, nullptr);
    EXPECT_TRUE(MustReplay(*wal).batches.empty());
    for (int n = 0; n < 40; ++n) {
      appended.push_back(Batch(n));
      ASSERT_TRUE(AppendBatch(*wal, appended.back()).ok());
    }
    Replayed live = MustReplay(*wal);
    EXPECT_EQ(live.batches, appended);
    EXPECT_GT(wal->segments().size(), 2u);
  }
  auto wal = MustOpen(&env, Opts(SyncPolicy::kEveryAppend, 4096));
  ASSERT_NE(wal, nullptr);
  Replayed r = MustReplay(*wal);
  ASSERT_EQ(r.batches, appended);
  EXPECT_EQ(r.stats.batches, 40u);
  EXPECT_EQ(r.stats.corrupt_records, 0u);
  EXPECT_EQ(r.stats.damage_reports, 0u);
  size_t rs = 0;
  for (const auto& b : appended) rs += b.size();
  EXPECT_EQ(r.stats.resource_spans, rs);
  // The bytes are real ResourceSpans: they parse and hold what was built.
  pb::trace::ResourceSpans parsed;
  ASSERT_TRUE(parsed.ParseFromString(r.batches[5][0]));
  EXPECT_EQ(parsed.resource().attributes(0).value().string_value(), "svc-5");
  EXPECT_EQ(parsed.scope_spans(0).spans_size(), 1 + 5 % 4);
  // Positions are in order and the segments are those listed.
  for (size_t i = 1; i < r.positions.size(); ++i) EXPECT_LT(r.positions[i - 1], r.positions[i]);
  EXPECT_EQ(r.positions.front().segment, wal->segments().front());
}

TEST(TracesWal, ConcurrentAppendersKeepEachOnesOrderAndAllBatches) {
  FaultInjectionEnv env;
  auto wal = MustOpen(&env, Opts(SyncPolicy::kEveryAppend, 4096));
  ASSERT_NE(wal, nullptr);
  constexpr int kThreads = 4, kPerThread = 40;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        EXPECT_TRUE(AppendBatch(*wal, Batch(t * 1000 + i)).ok());
      }
    });
  }
  for (std::thread& th : threads) th.join();
  env.SimulateCrash(CrashMode::kDropUnsynced);
  wal.reset();
  wal = MustOpen(&env, Opts(SyncPolicy::kEveryAppend, 4096));
  Replayed r = MustReplay(*wal);
  ASSERT_EQ(r.batches.size(), static_cast<size_t>(kThreads * kPerThread));
  std::vector<int> next(kThreads, 0);
  for (const auto& b : r.batches) {
    pb::trace::ResourceSpans rs;
    ASSERT_TRUE(rs.ParseFromString(b[0]));
    const int n = std::stoi(rs.resource().attributes(0).value().string_value().substr(4));
    const int t = n / 1000;
    ASSERT_LT(t, kThreads);
    EXPECT_EQ(n % 1000, next[t]++);
  }
}

TEST(TracesWal, RefusesAnEmptyBatchAndASecondOpen) {
  FaultInjectionEnv env;
  auto wal = MustOpen(&env, Opts(SyncPolicy::kEveryAppend));
  ASSERT_NE(wal, nullptr);
  EXPECT_EQ(wal->Append({}).status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<std::unique_ptr<TracesWal>> second =
      TracesWal::Open(&env, kDir, Opts(SyncPolicy::kEveryAppend));
  EXPECT_FALSE(second.ok());
}

TEST(TracesWal, EveryAppendKeepsEveryAcknowledgedBatchThroughMachineCrashes) {
  FaultInjectionEnv env;
  std::vector<std::vector<std::string>> acked;
  int n = 0;
  for (int crash = 0; crash < 5; ++crash) {
    auto wal = MustOpen(&env, Opts(SyncPolicy::kEveryAppend, 2048));
    ASSERT_NE(wal, nullptr);
    Replayed r = MustReplay(*wal);
    ASSERT_EQ(r.batches, acked) << "after crash " << crash;
    for (int i = 0; i < 9; ++i, ++n) {
      acked.push_back(Batch(n));
      ASSERT_TRUE(AppendBatch(*wal, acked.back()).ok());
    }
    env.SimulateCrash(crash % 2 == 0 ? CrashMode::kDropUnsynced : CrashMode::kTearUnsynced,
                      crash + 1);
  }
  auto wal = MustOpen(&env, Opts(SyncPolicy::kEveryAppend, 2048));
  EXPECT_EQ(MustReplay(*wal).batches, acked);
}

TEST(TracesWal, ManualAndIntervalKeepWhatWasSyncedAndLoseWhatWasNot) {
  for (SyncPolicy policy : {SyncPolicy::kManual, SyncPolicy::kInterval}) {
    for (CrashMode mode : {CrashMode::kDropUnsynced, CrashMode::kTearUnsynced,
                           CrashMode::kKeepUnsynced}) {
      for (uint64_t seed = 1; seed <= 4; ++seed) {
        SCOPED_TRACE(testing::Message() << "policy " << static_cast<int>(policy) << " mode "
                                        << static_cast<int>(mode) << " seed " << seed);
        FaultInjectionEnv env;
        std::vector<std::vector<std::string>> all;
        {
          auto wal = MustOpen(&env, Opts(policy));  // one segment: no rotation syncs
          ASSERT_NE(wal, nullptr);
          for (int n = 0; n < 20; ++n) {
            all.push_back(Batch(n));
            ASSERT_TRUE(AppendBatch(*wal, all.back()).ok());
            if (n == 9) {
              ASSERT_TRUE(wal->Sync().ok());
            }
          }
          env.SimulateCrash(mode, seed);
        }
        std::vector<storage::LogDamage> damage;
        TracesWalOptions o = Opts(policy);
        o.on_damage = [&](const storage::LogDamage& d) { damage.push_back(d); };
        auto wal = MustOpen(&env, o);
        ASSERT_NE(wal, nullptr);
        Replayed r = MustReplay(*wal);
        EXPECT_EQ(r.stats.corrupt_records, 0u);
        // A prefix of the appends, holding at least the synced ten.
        ASSERT_GE(r.batches.size(), 10u);
        ASSERT_LE(r.batches.size(), 20u);
        for (size_t i = 0; i < r.batches.size(); ++i) EXPECT_EQ(r.batches[i], all[i]);
        if (mode == CrashMode::kDropUnsynced) {
          EXPECT_EQ(r.batches.size(), 10u);  // the unsynced ten are gone: the policy shows
          EXPECT_TRUE(damage.empty());
        }
        if (mode == CrashMode::kKeepUnsynced) {
          EXPECT_EQ(r.batches.size(), 20u);  // kill -9
        }
        if (r.batches.size() < 20 && mode == CrashMode::kTearUnsynced) {
          // A torn tail may be left: then it was cut at open and reported, never refused.
          for (const auto& d : damage) EXPECT_NE(d.reason, "");
        }
      }
    }
  }
}

TEST(TracesWal, TornWritesAtEveryPointKeepAcknowledgedBatchesAndCutTheTail) {
  // Learn how many bytes the appends write, then crash after every k of them.
  uint64_t total = 0;
  {
    FaultInjectionEnv env;
    auto wal = MustOpen(&env, Opts(SyncPolicy::kEveryAppend, 1024));
    const int64_t before = env.stats().bytes_written;
    for (int n = 0; n < 6; ++n) ASSERT_TRUE(AppendBatch(*wal, Batch(n)).ok());
    total = static_cast<uint64_t>(env.stats().bytes_written - before);
  }
  ASSERT_GT(total, 100u);
  int cut_reports = 0;
  for (uint64_t k = 0; k < total; k += 7) {
    SCOPED_TRACE(k);
    FaultInjectionEnv env;
    std::vector<std::vector<std::string>> acked;
    {
      auto wal = MustOpen(&env, Opts(SyncPolicy::kEveryAppend, 1024));
      ASSERT_NE(wal, nullptr);
      env.CrashAfterBytes(k);
      for (int n = 0; n < 6; ++n) {
        std::vector<std::string> b = Batch(n);
        if (!AppendBatch(*wal, b).ok()) break;
        acked.push_back(b);
      }
      ASSERT_TRUE(env.crashed());
      env.SimulateCrash(CrashMode::kKeepUnsynced);  // the torn bytes stay on disk
    }
    std::vector<storage::LogDamage> damage;
    TracesWalOptions o = Opts(SyncPolicy::kEveryAppend, 1024);
    o.on_damage = [&](const storage::LogDamage& d) { damage.push_back(d); };
    auto wal = MustOpen(&env, o);
    ASSERT_NE(wal, nullptr);
    Replayed r = MustReplay(*wal);
    EXPECT_EQ(r.stats.corrupt_records, 0u);
    ASSERT_GE(r.batches.size(), acked.size());
    for (size_t i = 0; i < acked.size(); ++i) EXPECT_EQ(r.batches[i], acked[i]);
    cut_reports += static_cast<int>(damage.size());
    EXPECT_EQ(r.stats.damage_reports, damage.size());
    // The WAL takes appends after the cut, and they replay after what survived.
    ASSERT_TRUE(AppendBatch(*wal, Batch(99)).ok());
    Replayed again = MustReplay(*wal);
    ASSERT_EQ(again.batches.size(), r.batches.size() + 1);
    EXPECT_EQ(again.batches.back(), Batch(99));
  }
  EXPECT_GT(cut_reports, 0);  // some crash points left a torn tail, and it was reported
}

TEST(TracesWal, DamageInTheMiddleIsSkippedAndReported) {
  FaultInjectionEnv env;
  std::vector<std::vector<std::string>> appended;
  std::vector<uint64_t> segments;
  std::vector<uint64_t> segment_of;
  {
    auto wal = MustOpen(&env, Opts(SyncPolicy::kEveryAppend, 1024));
    for (int n = 0; n < 30; ++n) {
      appended.push_back(Batch(n));
      absl::StatusOr<storage::LogPosition> end = AppendBatch(*wal, appended.back());
      ASSERT_TRUE(end.ok());
      segment_of.push_back(end->segment);
    }
    segments = wal->segments();
  }
  ASSERT_GE(segments.size(), 3u);
  // Flip a byte inside the first record of the second segment.
  const std::string path = storage::JoinPath(kDir, fuzz::SegmentName(segments[1]));
  absl::StatusOr<std::string> bytes = env.ReadFile(path);
  ASSERT_TRUE(bytes.ok());
  std::string damaged = *bytes;
  damaged[storage::log::kSegmentHeaderSize + 20] ^= 0x40;
  {
    auto f = env.OpenFile(path, storage::OpenMode::kReadWrite);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->WriteAt(0, damaged).ok());
    ASSERT_TRUE((*f)->Sync().ok());
  }
  std::vector<storage::LogDamage> damage;
  TracesWalOptions o = Opts(SyncPolicy::kEveryAppend, 1024);
  o.on_damage = [&](const storage::LogDamage& d) { damage.push_back(d); };
  auto wal = MustOpen(&env, o);
  ASSERT_NE(wal, nullptr);
  Replayed r = MustReplay(*wal);
  ASSERT_FALSE(damage.empty());
  EXPECT_EQ(damage[0].file, path);
  // Everything outside the damaged segment replays, in order; the damaged one loses records.
  std::vector<std::vector<std::string>> outside, replayed_outside;
  size_t in_damaged = 0, replayed_in_damaged = 0;
  for (size_t i = 0; i < appended.size(); ++i) {
    if (segment_of[i] == segments[1]) {
      ++in_damaged;
    } else {
      outside.push_back(appended[i]);
    }
  }
  for (size_t i = 0; i < r.batches.size(); ++i) {
    if (r.positions[i].segment == segments[1]) {
      ++replayed_in_damaged;
    } else {
      replayed_outside.push_back(r.batches[i]);
    }
  }
  EXPECT_EQ(replayed_outside, outside);
  EXPECT_GT(in_damaged, 0u);
  EXPECT_LT(replayed_in_damaged, in_damaged);
  // What replays is a subsequence of the appends, in order.
  size_t j = 0;
  for (const auto& b : r.batches) {
    while (j < appended.size() && appended[j] != b) ++j;
    ASSERT_LT(j, appended.size());
    ++j;
  }
  EXPECT_EQ(r.positions.back().segment, segments.back());
  EXPECT_EQ(r.batches.back(), appended.back());
  EXPECT_EQ(r.batches.front(), appended.front());
}

TEST(TracesWal, TruncateRemovesOnlyWholeOldSegments) {
  FaultInjectionEnv env;
  std::vector<std::vector<std::string>> later;
  uint64_t next = 0;
  {
    auto wal = MustOpen(&env, Opts(SyncPolicy::kEveryAppend, 1024));
    for (int n = 0; n < 20; ++n) ASSERT_TRUE(AppendBatch(*wal, Batch(n)).ok());
    const uint64_t last_before = wal->segments().back();
    absl::StatusOr<uint64_t> rotated = wal->Rotate();
    ASSERT_TRUE(rotated.ok()) << rotated.status();
    next = *rotated;
    EXPECT_GT(next, last_before);
    for (int n = 20; n < 30; ++n) {
      later.push_back(Batch(n));
      absl::StatusOr<storage::LogPosition> at = AppendBatch(*wal, later.back());
      ASSERT_TRUE(at.ok());
      EXPECT_GE(at->segment, next);
    }
    ASSERT_TRUE(wal->Truncate(next).ok());
    for (uint64_t s : wal->segments()) EXPECT_GE(s, next);
    EXPECT_EQ(MustReplay(*wal).batches, later);
    // Truncating past the end never removes the segment being written.
    ASSERT_TRUE(wal->Truncate(wal->segments().back() + 10).ok());
    EXPECT_FALSE(wal->segments().empty());
    later.push_back(Batch(30));
    ASSERT_TRUE(AppendBatch(*wal, later.back()).ok());
  }
  auto wal = MustOpen(&env, Opts(SyncPolicy::kEveryAppend, 1024));
  Replayed r = MustReplay(*wal);
  ASSERT_FALSE(r.batches.empty());
  EXPECT_EQ(r.batches.back(), later.back());
  EXPECT_EQ(r.stats.corrupt_records, 0u);
}

TEST(TracesWal, NewerSegmentVersionRefusesToOpen) {
  FaultInjectionEnv env;
  { ASSERT_NE(MustOpen(&env, Opts(SyncPolicy::kEveryAppend)), nullptr); }
  const std::string path = storage::JoinPath(kDir, fuzz::SegmentName(1));
  absl::StatusOr<std::string> bytes = env.ReadFile(path);
  ASSERT_TRUE(bytes.ok());
  std::string header = bytes->substr(0, storage::log::kSegmentHeaderSize);
  PutU32(header.data() + 8, 2);  // version 2, with a valid header CRC
  PutU32(header.data() + 24, MaskSnappyCrc(Crc32c(std::string_view(header).substr(0, 24))));
  {
    auto f = env.OpenFile(path, storage::OpenMode::kReadWrite);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->WriteAt(0, header).ok());
  }
  absl::StatusOr<std::unique_ptr<TracesWal>> wal =
      TracesWal::Open(&env, kDir, Opts(SyncPolicy::kEveryAppend));
  ASSERT_FALSE(wal.ok());
  EXPECT_EQ(wal.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(wal.status().message().find("newer format version"), std::string_view::npos)
      << wal.status();
}

// Writes raw records into the WAL directory through the segment log itself.
void WriteRawRecords(FaultInjectionEnv* env, const std::vector<std::pair<uint8_t, std::string>>& recs) {
  storage::SegmentLogOptions lo;
  lo.env = env;
  lo.directory = kDir;
  auto log = storage::SegmentLog::Open(lo);
  ASSERT_TRUE(log.ok()) << log.status();
  for (const auto& [type, data] : recs) ASSERT_TRUE((*log)->Append(type, data).ok());
}

TEST(TracesWal, NewerRecordVersionOrUnknownTypeRefusesReplay) {
  const std::string ok_rs = MakeResourceSpans("a", 1, 1).SerializeAsString();
  const std::string_view parts[] = {ok_rs};
  const std::string good = EncodeBatch(parts);
  std::string newer = good;
  newer[0] = 2;
  for (const auto& [type, data] : std::vector<std::pair<uint8_t, std::string>>{
           {kBatchRecordType, newer}, {7, good}}) {
    FaultInjectionEnv env;
    WriteRawRecords(&env, {{kBatchRecordType, good}, {type, data}});
    auto wal = MustOpen(&env, Opts(SyncPolicy::kEveryAppend));
    ASSERT_NE(wal, nullptr);
    int seen = 0;
    absl::StatusOr<ReplayStats> st = wal->Replay([&](const ReplayedBatch&) {
      ++seen;
      return absl::OkStatus();
    });
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(st.status().message().find("newer"), std::string_view::npos) << st.status();
    EXPECT_EQ(seen, 1);
  }
}

TEST(TracesWal, ARecordThatDoesNotDecodeIsCountedReportedAndSkipped) {
  FaultInjectionEnv env;
  const std::string rs = MakeResourceSpans("a", 1, 1).SerializeAsString();
  const std::string_view parts[] = {rs};
  const std::string good = EncodeBatch(parts);
  WriteRawRecords(&env, {{kBatchRecordType, good},
                         {kBatchRecordType, std::string("\x01\x0a\x7f", 3)},
                         {kBatchRecordType, good}});
  std::vector<storage::LogDamage> damage;
  TracesWalOptions o = Opts(SyncPolicy::kEveryAppend);
  o.on_damage = [&](const storage::LogDamage& d) { damage.push_back(d); };
  auto wal = MustOpen(&env, o);
  Replayed r = MustReplay(*wal);
  EXPECT_EQ(r.batches.size(), 2u);
  EXPECT_EQ(r.stats.corrupt_records, 1u);
  ASSERT_EQ(damage.size(), 1u);
  EXPECT_NE(damage[0].reason.find("does not decode"), std::string::npos);
}

TEST(TracesWal, ACallbackErrorStopsReplay) {
  FaultInjectionEnv env;
  auto wal = MustOpen(&env, Opts(SyncPolicy::kEveryAppend));
  for (int n = 0; n < 3; ++n) ASSERT_TRUE(AppendBatch(*wal, Batch(n)).ok());
  int seen = 0;
  absl::StatusOr<ReplayStats> st = wal->Replay([&](const ReplayedBatch&) {
    return ++seen == 2 ? absl::InternalError("stop") : absl::OkStatus();
  });
  EXPECT_EQ(st.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(seen, 2);
}

// The fuzzer's seeds: real WALs written by TracesWal (and checks that each unpacks and replays).
TEST(TracesWalFuzzSeeds, WriteOrCheck) {
  struct Seed {
    std::string name;
    uint8_t flags;
    int batches;
    uint64_t segment_size;
  };
  const std::vector<Seed> seeds = {
      {"seed-one-batch", fuzz::kReopen, 1, 64 << 20},
      {"seed-many-segments", fuzz::kReopen | fuzz::kSmallSegments, 12, 1024},
      {"seed-fixcrcs-truncate", fuzz::kFixCrcs | fuzz::kReopen | fuzz::kTruncate, 6, 1024},
      {"seed-plain", 0, 4, 64 << 20},
  };
  const char* out_dir = std::getenv("SPROUT_WRITE_TRACES_WAL_SEEDS");
  for (const Seed& s : seeds) {
    FaultInjectionEnv env;
    {
      auto wal = MustOpen(&env, Opts(SyncPolicy::kEveryAppend, s.segment_size), "/w");
      for (int n = 0; n < s.batches; ++n) ASSERT_TRUE(AppendBatch(*wal, Batch(n)).ok());
    }
    absl::StatusOr<std::string> packed = fuzz::PackFuzzInput(&env, "/w", s.flags);
    ASSERT_TRUE(packed.ok());
    // It unpacks into a WAL that replays every batch.
    const fuzz::FuzzInput in = fuzz::ParseFuzzInput(*packed);
    FaultInjectionEnv env2;
    ASSERT_TRUE(fuzz::UnpackFuzzInput(in, &env2, "/x").ok());
    auto wal = MustOpen(&env2, Opts(SyncPolicy::kManual), "/x");
    ASSERT_NE(wal, nullptr);
    EXPECT_EQ(MustReplay(*wal).batches.size(), static_cast<size_t>(s.batches)) << s.name;
    if (out_dir != nullptr) {
      std::ofstream f(std::string(out_dir) + "/" + s.name, std::ios::binary);
      f << *packed;
      ASSERT_TRUE(f.good());
    }
  }
}

}  // namespace
}  // namespace sprout::traces::wal
