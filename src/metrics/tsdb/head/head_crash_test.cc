// What survives a crash, per WAL sync policy, checked with FaultInjectionEnv: a machine crash
// (kDropUnsynced: files revert to their last sync), a torn one (kTearUnsynced), a kill
// (kKeepUnsynced), and crashes at random byte offsets of the WAL's writes.
#include <atomic>
#include <random>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/tsdb/head/head.h"
#include "metrics/tsdb/head/head_test_util.h"
#include "storage/fault_injection_env.h"
#include "storage/testing.h"

namespace sprout::metrics::tsdb {
namespace {

using storage::FaultInjectionEnv;
using testing::DumpHead;
using testing::RequestBuilder;
using CrashMode = FaultInjectionEnv::CrashMode;

// Acknowledged samples per series name (timestamps), to compare with what a head holds.
using Acked = std::map<std::string, std::vector<int64_t>>;

HeadOptions Options(FaultInjectionEnv* env, storage::SyncPolicy sync) {
  HeadOptions o;
  o.env = env;
  o.dir = "/data/t";
  o.wal_sync = sync;
  o.wal_sync_interval = absl::Hours(1);  // kInterval: only explicit syncs in these tests
  o.wal_segment_size = 4096;             // many segments: rotation is crossed too
  o.max_exemplars = 10;
  return o;
}

// Request `round`: 5 series (one new per round), one sample each, a histogram every 3rd round.
RequestBuilder Round(int round) {
  RequestBuilder req;
  for (int s = 0; s < 5; ++s) {
    auto& e = req.Add(Labels::FromStrings(
        {"__name__", "m", "s", std::to_string(s), "born", std::to_string(s == 4 ? round : 0)}));
    e.samples = {{round * 1000, round * 1.5 + s}};
    if (round % 3 == 0 && s == 0) {
      e.histograms.push_back({round * 1000 + 1, testing::MakeHistogram(round)});
    }
    if (s == 1) e.exemplars.push_back({Labels::FromStrings({"trace_id", "x"}), 1.0, round * 1000});
  }
  return req;
}

void Record(const RequestBuilder& req, Acked* acked) {
  for (const auto& e : req.entries) {
    auto& v = (*acked)[e.labels.ToString()];
    for (const FloatSample& s : e.samples) v.push_back(s.t);
    for (const HistogramSample& h : e.histograms) v.push_back(h.t);
  }
}

// Every acknowledged sample is in the head (more may be: written but not acknowledged).
void ExpectContains(const TenantHead& head, const Acked& acked) {
  testing::Dump dump = DumpHead(head);
  for (const auto& [series, ts] : acked) {
    std::set<int64_t> have;
    for (const testing::ReadSample& s : dump[series]) have.insert(s.t);
    for (int64_t t : ts) {
      ASSERT_TRUE(have.count(t)) << series << " lost t=" << t;
    }
  }
}

std::unique_ptr<TenantHead> MustOpen(HeadOptions o) {
  absl::StatusOr<std::unique_ptr<TenantHead>> head = TenantHead::Open(std::move(o));
  EXPECT_TRUE(head.ok()) << head.status();
  return head.ok() ? *std::move(head) : nullptr;
}

TEST(HeadCrashTest, EveryAppendKeepsEveryAcknowledgedSampleThroughAMachineCrash) {
  FaultInjectionEnv env;
  Acked acked;
  int round = 0;
  for (int crash = 0; crash < 5; ++crash) {
    auto head = MustOpen(Options(&env, storage::SyncPolicy::kEveryAppend));
    ASSERT_NE(head, nullptr);
    EXPECT_EQ(head->replay_stats().unknown_series_samples, 0u);
    ExpectContains(*head, acked);
    for (int i = 0; i < 7; ++i, ++round) {
      RequestBuilder req = Round(round);
      AppendResult r = head->Append(req.Build());
      ASSERT_TRUE(r.status.ok()) << r.status;
      Record(req, &acked);
    }
    env.SimulateCrash(CrashMode::kDropUnsynced, crash);
    head.reset();
  }
  auto head = MustOpen(Options(&env, storage::SyncPolicy::kEveryAppend));
  ExpectContains(*head, acked);
  EXPECT_EQ(DumpHead(*head).size(), 4u + round);
}

TEST(HeadCrashTest, IntervalKeepsWhatWasSyncedAndNothingIsCorrupt) {
  for (CrashMode mode : {CrashMode::kDropUnsynced, CrashMode::kTearUnsynced}) {
    for (uint64_t seed = 1; seed <= 5; ++seed) {
      FaultInjectionEnv env;
      Acked synced;
      int round = 0;
      {
        auto head = MustOpen(Options(&env, storage::SyncPolicy::kInterval));
        for (; round < 10; ++round) {
          RequestBuilder req = Round(round);
          ASSERT_TRUE(head->Append(req.Build()).status.ok());
          Record(req, &synced);
        }
        ASSERT_TRUE(head->SyncWal().ok());  // what the interval's sync does
        for (; round < 20; ++round) ASSERT_TRUE(head->Append(Round(round).Build()).status.ok());
        env.SimulateCrash(mode, seed);
      }
      std::vector<storage::LogDamage> damage;
      HeadOptions o = Options(&env, storage::SyncPolicy::kInterval);
      o.on_wal_damage = [&](const storage::LogDamage& d) { damage.push_back(d); };
      auto head = MustOpen(o);
      ASSERT_NE(head, nullptr);
      ExpectContains(*head, synced);
      EXPECT_EQ(head->replay_stats().corrupt_records, 0u);
      EXPECT_EQ(head->replay_stats().unknown_series_samples, 0u);
      // Whatever survived is a prefix of the requests: no series has a gap.
      testing::Dump dump = DumpHead(*head);
      const std::string s0 =
          Labels::FromStrings({"__name__", "m", "s", "0", "born", "0"}).ToString();
      int64_t expect = 0;
      for (const testing::ReadSample& s : dump[s0]) {
        if (s.type != chunkenc::ValueType::kFloat) continue;
        EXPECT_EQ(s.t, expect);
        expect += 1000;
      }
      EXPECT_GE(expect, 10 * 1000);
    }
  }
}

TEST(HeadCrashTest, AKillLosesNothingAcknowledged) {
  for (storage::SyncPolicy sync : {storage::SyncPolicy::kInterval, storage::SyncPolicy::kManual}) {
    FaultInjectionEnv env;
    Acked acked;
    testing::Dump before;
    {
      auto head = MustOpen(Options(&env, sync));
      for (int round = 0; round < 30; ++round) {
        RequestBuilder req = Round(round);
        ASSERT_TRUE(head->Append(req.Build()).status.ok());
        Record(req, &acked);
      }
      before = DumpHead(*head);
      env.SimulateCrash(CrashMode::kKeepUnsynced);
    }
    auto head = MustOpen(Options(&env, sync));
    ExpectContains(*head, acked);
    EXPECT_TRUE(DumpHead(*head) == before);
  }
}

// A crash at a random byte of the WAL's writes, many times: Open never fails, and with
// kEveryAppend every acknowledged sample is back.
TEST(HeadCrashTest, RandomCrashPoints) {
  std::mt19937_64 rng(42);
  for (int iteration = 0; iteration < 40; ++iteration) {
    FaultInjectionEnv env;
    Acked acked;
    int round = 0;
    for (int life = 0; life < 3; ++life) {
      auto head = MustOpen(Options(&env, storage::SyncPolicy::kEveryAppend));
      ASSERT_NE(head, nullptr) << "iteration " << iteration << " life " << life;
      ExpectContains(*head, acked);
      env.CrashAfterBytes(std::uniform_int_distribution<uint64_t>(0, 6000)(rng));
      for (int i = 0; i < 40; ++i, ++round) {
        RequestBuilder req = Round(round);
        AppendResult r = head->Append(req.Build());
        if (!r.status.ok()) break;
        Record(req, &acked);
      }
      head.reset();
      env.SimulateCrash(life % 2 == 0 ? CrashMode::kDropUnsynced : CrashMode::kTearUnsynced,
                        iteration * 3 + life);
    }
    auto head = MustOpen(Options(&env, storage::SyncPolicy::kEveryAppend));
    ASSERT_NE(head, nullptr);
    ExpectContains(*head, acked);
  }
}

// A failed WAL write leaves nothing applied and the head usable; a failed sync is reported to
// the appender, and series whose records the log then cut are logged again.
TEST(HeadCrashTest, WalFailuresAreReportedAndRecovered) {
  FaultInjectionEnv env;
  Acked acked;
  {
    auto head = MustOpen(Options(&env, storage::SyncPolicy::kEveryAppend));
    RequestBuilder r0 = Round(0);
    ASSERT_TRUE(head->Append(r0.Build()).status.ok());
    Record(r0, &acked);

    env.InjectFault({.ops = FaultInjectionEnv::kWrite, .path_contains = "/wal/"});
    RequestBuilder r1 = Round(1);
    AppendResult failed = head->Append(r1.Build());
    EXPECT_FALSE(failed.status.ok());
    EXPECT_EQ(failed.samples_appended, 0u);
    EXPECT_EQ(DumpHead(*head)[r1.entries[4].labels.ToString()].size(), 0u);
    AppendResult retried = head->Append(r1.Build());  // the sender's retry
    ASSERT_TRUE(retried.status.ok()) << retried.status;
    EXPECT_EQ(retried.samples_appended, 5u);
    Record(r1, &acked);

    env.InjectFault({.ops = FaultInjectionEnv::kSync, .path_contains = "/wal/"});
    RequestBuilder r2 = Round(2);
    // Applied, but not durable: an error, and the log cuts the unsynced records at its next
    // write. Memory holds what the WAL will not: the head refuses appends until reopened.
    AppendResult failed_sync = head->Append(r2.Build());
    EXPECT_TRUE(absl::IsUnavailable(failed_sync.status)) << failed_sync.status;
    EXPECT_THAT(std::string(failed_sync.status.message()),
                ::testing::HasSubstr("a sync of the WAL failed"));
    EXPECT_EQ(head->Append(r2.Build()).status, failed_sync.status);
  }
  {
    // Reopened: replay rebuilt what the WAL holds (here the unsynced records were never cut:
    // no write followed, and Open syncs them); the sender's retry is stored.
    auto head = MustOpen(Options(&env, storage::SyncPolicy::kEveryAppend));
    ASSERT_NE(head, nullptr);
    EXPECT_TRUE(head->wal_status().ok());
    RequestBuilder r2 = Round(2);
    AppendResult retried = head->Append(r2.Build());
    ASSERT_TRUE(retried.status.ok()) << retried.status;
    EXPECT_EQ(retried.samples_appended + retried.duplicates_ignored, 5u);
    Record(r2, &acked);
    RequestBuilder r3 = Round(3);
    ASSERT_TRUE(head->Append(r3.Build()).status.ok());
    Record(r3, &acked);
    env.SimulateCrash(CrashMode::kDropUnsynced);
  }
  auto head = MustOpen(Options(&env, storage::SyncPolicy::kEveryAppend));
  ExpectContains(*head, acked);
  EXPECT_EQ(head->replay_stats().unknown_series_samples, 0u);
  EXPECT_EQ(head->replay_stats().series, 8u);
  EXPECT_EQ(head->replay_stats().samples, 20u);
}

// kEveryAppend group commit: B's write rotates a segment (its first sync holds the log); C asks
// for a sync meanwhile and that sync fails with B's records unsynced; B's own sync then first
// cuts them (the repair) and succeeds. B must not be acknowledged by that sync: it gets an
// error, and its retry is what makes the samples durable.
TEST(HeadCrashTest, EveryAppendNeverAcknowledgesRecordsASyncRepairCut) {
  FaultInjectionEnv env;
  HeadOptions o = Options(&env, storage::SyncPolicy::kEveryAppend);
  auto head = MustOpen(o);
  ASSERT_NE(head, nullptr);
  const Labels x = Labels::FromStrings({"__name__", "acked"});
  std::atomic<int> syncs{0};
  absl::Status c_status;
  std::thread c;
  env.SetBeforeSync([&](const std::string&) {
    const int n = ++syncs;
    if (n == 1) {
      c = std::thread([&] { c_status = head->SyncWal(); });
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    } else if (n == 2) {
      env.InjectFault({.ops = FaultInjectionEnv::kSync, .path_contains = "/wal/"});
    }
  });
  RequestBuilder req;
  auto& e = req.Add(x);
  for (int i = 0; i < 600; ++i) e.samples.push_back({1000 + i * 15000, i * 1.37});
  AppendResult r = head->Append(req.Build());
  c.join();
  env.SetBeforeSync(nullptr);
  EXPECT_GE(syncs.load(), 2);
  // An OK must mean durable. An error is retryable: the head refuses appends until reopened
  // (memory holds what the WAL lost), and after the reopen the sender's retry is stored.
  if (!r.status.ok()) {
    EXPECT_TRUE(absl::IsUnavailable(r.status)) << r.status;
    EXPECT_EQ(head->Append(req.Build()).status, r.status);
    EXPECT_EQ(head->wal_status(), r.status);
    head.reset();
    head = MustOpen(o);
    ASSERT_NE(head, nullptr);
    r = head->Append(req.Build());
  }
  ASSERT_TRUE(r.status.ok()) << r.status;
  env.SimulateCrash(CrashMode::kDropUnsynced);
  head.reset();
  head = MustOpen(o);
  ASSERT_NE(head, nullptr);
  EXPECT_EQ(DumpHead(*head)[x.ToString()].size(), 600u) << "acknowledged samples lost";
  EXPECT_EQ(head->replay_stats().unknown_series_samples, 0u);
}

// kInterval: a background fsync fails; the next write cuts what it left unsynced — appends the
// head acknowledged and applied. The head must not go on acknowledging as if nothing happened:
// it refuses appends (Unavailable, naming the WAL and the failed sync) until reopened, and the
// reopened head holds exactly what the WAL holds.
TEST(HeadCrashTest, IntervalFailedBackgroundSyncFailsClosedUntilReopened) {
  FaultInjectionEnv env;
  HeadOptions o = Options(&env, storage::SyncPolicy::kInterval);
  o.wal_sync_interval = absl::Milliseconds(20);
  const Labels x = Labels::FromStrings({"__name__", "a"});
  const Labels y = Labels::FromStrings({"__name__", "b"});
  {
    auto head = MustOpen(o);
    ASSERT_NE(head, nullptr);
    std::atomic<int> wal_syncs{0};
    env.InjectFault({.ops = FaultInjectionEnv::kSync, .path_contains = "/wal/"});
    env.SetBeforeSync([&](const std::string& path) {
      if (path.find("/wal/") != std::string::npos) ++wal_syncs;
    });
    RequestBuilder r1;
    r1.Add(x).samples.push_back({1000, 1});
    ASSERT_TRUE(head->Append(r1.Build()).status.ok());
    // The background sync that fails (the next write waits for it to finish).
    ASSERT_TRUE(storage::testing::WaitFor([&] { return wal_syncs.load() >= 1; }));
    env.SetBeforeSync(nullptr);
    RequestBuilder r2;
    r2.Add(y).samples.push_back({2000, 2});
    AppendResult failed = head->Append(r2.Build());
    ASSERT_TRUE(absl::IsUnavailable(failed.status)) << failed.status;
    EXPECT_THAT(std::string(failed.status.message()), ::testing::HasSubstr("sync of the WAL"));
    EXPECT_THAT(std::string(failed.status.message()), ::testing::HasSubstr("/data/t/wal"));
    EXPECT_EQ(head->wal_status(), failed.status);
    RequestBuilder r3;
    r3.Add(y).samples.push_back({3000, 3});
    EXPECT_EQ(head->Append(r3.Build()).status, failed.status);  // until reopened
    EXPECT_EQ(DumpHead(*head)[x.ToString()].size(), 1u);       // readers are still served
    env.SimulateCrash(CrashMode::kKeepUnsynced);                // kill -9
  }
  auto head = MustOpen(o);
  ASSERT_NE(head, nullptr);
  EXPECT_TRUE(head->wal_status().ok());
  // What the WAL held: r1 was cut (acknowledged before the failed sync: the loss the durability
  // table admits), r2 was written after the cut.
  testing::Dump dump = DumpHead(*head);
  EXPECT_EQ(dump[x.ToString()].size(), 0u);
  EXPECT_EQ(dump[y.ToString()].size(), 1u);
  RequestBuilder r4;
  r4.Add(x).samples.push_back({4000, 4});
  EXPECT_TRUE(head->Append(r4.Build()).status.ok());
}

// kManual: SyncWal fails; the next SyncWal first cuts the unsynced appends, then its fsync
// succeeds. It must not say that the appends are durable.
TEST(HeadCrashTest, ManualSyncAfterAFailedOneDoesNotReportCutAppendsDurable) {
  FaultInjectionEnv env;
  auto head = MustOpen(Options(&env, storage::SyncPolicy::kManual));
  ASSERT_NE(head, nullptr);
  RequestBuilder r0 = Round(0);
  ASSERT_TRUE(head->Append(r0.Build()).status.ok());
  env.InjectFault({.ops = FaultInjectionEnv::kSync, .path_contains = "/wal/"});
  EXPECT_FALSE(head->SyncWal().ok());
  absl::Status second = head->SyncWal();
  EXPECT_TRUE(absl::IsUnavailable(second)) << second;
  EXPECT_EQ(head->Append(Round(1).Build()).status, second);
}

// A group that crosses a segment rotation: its first part is synced into the finished segment,
// then starting the next segment fails. Memory was not changed, yet the WAL holds part of the
// group: the head must not accept appends that replay would then refuse; it fails closed, and
// the reopened head holds what the WAL holds.
TEST(HeadCrashTest, AFailedWriteThatLeftPartOfItsGroupInTheWalFailsClosed) {
  FaultInjectionEnv env;
  HeadOptions o = Options(&env, storage::SyncPolicy::kManual);
  const Labels x = Labels::FromStrings({"__name__", "x"});
  {
    auto head = MustOpen(o);
    ASSERT_NE(head, nullptr);
    RequestBuilder big;
    auto& e = big.Add(x);
    // Three records of ~2-3 KiB (floats, histograms, exemplars-free): the rotation comes
    // between them.
    for (int i = 0; i < 300; ++i) e.samples.push_back({100000 + i * 1000, i * 0.7});
    for (int i = 0; i < 40; ++i) {
      e.histograms.push_back({500000 + i * 1000, testing::MakeHistogram(i + 1)});
    }
    env.InjectFault({.ops = FaultInjectionEnv::kSyncDir, .path_contains = "wal"});
    AppendResult failed = head->Append(big.Build());
    ASSERT_FALSE(failed.status.ok());
    EXPECT_TRUE(absl::IsUnavailable(head->wal_status())) << head->wal_status();
    // Before the fix this was accepted in memory, and replay refused it after the logged part.
    RequestBuilder older;
    older.Add(x).samples.push_back({50000, 1});
    EXPECT_FALSE(head->Append(older.Build()).status.ok());
  }
  testing::Dump first;
  {
    auto head = MustOpen(o);
    ASSERT_NE(head, nullptr);
    EXPECT_EQ(head->replay_stats().refused_samples, 0u);
    first = DumpHead(*head);
    EXPECT_GT(first[x.ToString()].size(), 0u);  // the logged part
    ASSERT_TRUE(head->SyncWal().ok());
  }
  auto head = MustOpen(o);
  EXPECT_TRUE(DumpHead(*head) == first);
}

}  // namespace
}  // namespace sprout::metrics::tsdb
