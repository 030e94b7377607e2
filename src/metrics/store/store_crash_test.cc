// The store's crash points between its head, its blocks bucket and its compactor: the process
// dies (every Env operation from the k-th on fails, then SimulateCrash: kKeepUnsynced is
// `kill -9`, kDropUnsynced a machine crash) at every step of a flush (cut, upload, head
// truncation, WAL checkpoint) and of a compaction run (merge, upload, source deletion,
// retention). After each, the store must start, every pushed sample must be readable, and once
// the interrupted job ran again no sample is held twice: each 2 h range is in one block (the
// flush), the blocks do not overlap and their sample counts add up to what was pushed.
#include <atomic>
#include <bit>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "metrics/store/store.h"
#include "metrics/store/store_test_util.h"
#include "metrics/tsdb/block/bucket_index.h"
#include "metrics/tsdb/block/reader.h"
#include "metrics/tsdb/block/writer.h"
#include "metrics/tsdb/head/head_test_util.h"
#include "objstore/filesystem.h"
#include "storage/fault_injection_env.h"

namespace sprout::metrics {
namespace {

using storage::FaultInjectionEnv;
using testutil::ReadRequestBody;
using testutil::WriteBuilder;
using tsdb::testing::Dump;
using tsdb::testing::ReadSample;

constexpr int64_t kMinute = 60 * 1000;
constexpr int64_t kHour = 60 * kMinute;
constexpr char kTenant[] = "anonymous";

// series → timestamp → sample: what a reader sees once duplicates are merged.
using SampleMap = std::map<std::string, std::map<int64_t, ReadSample>>;

void AddTo(const Dump& dump, SampleMap* out) {
  for (const auto& [series, samples] : dump) {
    for (const ReadSample& s : samples) (*out)[series].emplace(s.t, s);
  }
}

struct BlockView {
  int64_t min_time;
  int64_t max_time;
  int level;
  uint64_t samples;  // as read from the block (not its meta)
};

class StoreCrashTest : public ::testing::Test {
 protected:
  MetricsStoreOptions Options() {
    MetricsStoreOptions o;
    o.config = LocalDefaults();
    o.config.tsdb_dir = "/data/tsdb";
    o.config.blocks_storage.backend = "filesystem";
    o.config.blocks_storage.filesystem_dir = "/data/blocks";
    o.config.compactor_data_dir = "/data/compactor";
    // Every acknowledged sample is synced, so a machine crash must keep all of them too.
    o.config.wal_fsync_before_ack = true;
    // No background job: the tests run the cut and the compaction themselves.
    o.config.compactor_compaction_interval = absl::ZeroDuration();
    o.config.compactor_blocks_retention_period = absl::Hours(24 * 365 * 100);
    o.config.out_of_order_time_window = ooo_window_;
    o.env = env_.get();
    o.now_ms = [] { return int64_t{1700000000000}; };
    o.monotonic_ns = [] { return int64_t{1}; };
    return o;
  }

  std::unique_ptr<MetricsStore> Open() {
    auto store = std::make_unique<MetricsStore>(Options());
    absl::Status s = store->Start();
    EXPECT_TRUE(s.ok()) << s;
    if (!s.ok()) return nullptr;
    return store;
  }

  // `series` series, a sample a minute over [0, hours); returns what was pushed.
  SampleMap Push(MetricsStore& store, int series, int hours) {
    for (int64_t t0 = 0; t0 < hours * kHour; t0 += 30 * kMinute) {
      WriteBuilder w;
      for (int i = 0; i < series; ++i) {
        auto s = w.Series({"__name__", "m", "i", std::to_string(i)});
        for (int64_t t = t0; t < t0 + 30 * kMinute; t += kMinute) {
          s.Sample(t, static_cast<double>(t / kMinute * 10 + i));
        }
      }
      PushResult r = store.Push(kTenant, w.Body());
      EXPECT_TRUE(r.ok()) << r.message;
    }
    SampleMap pushed;
    AddTo(tsdb::testing::DumpHead(*store.FindHead(kTenant)), &pushed);
    return pushed;
  }

  // Every complete block of the tenant, and their samples merged into `merged`.
  std::vector<BlockView> Blocks(SampleMap* merged) {
    std::vector<BlockView> out;
    auto bucket = objstore::FilesystemObjectStore::Open(env_.get(), "/data/blocks");
    EXPECT_TRUE(bucket.ok()) << bucket.status();
    if (!bucket.ok()) return out;
    absl::StatusOr<std::vector<Ulid>> blocks = tsdb::ListBlocks(bucket->get(), kTenant);
    EXPECT_TRUE(blocks.ok()) << blocks.status();
    if (!blocks.ok()) return out;
    for (const Ulid& u : *blocks) {
      auto reader = tsdb::BlockReader::Open(bucket->get(), tsdb::BlockPrefix(kTenant, u));
      EXPECT_TRUE(reader.ok()) << reader.status();
      if (!reader.ok()) continue;
      const Dump dump = tsdb::testing::DumpBlock(**reader);
      uint64_t n = 0;
      for (const auto& [series, samples] : dump) n += samples.size();
      if (merged != nullptr) AddTo(dump, merged);
      out.push_back({(*reader)->meta().min_time, (*reader)->meta().max_time,
                     (*reader)->meta().compaction_level, n});
    }
    std::sort(out.begin(), out.end(), [](const BlockView& a, const BlockView& b) {
      return std::pair(a.min_time, a.max_time) < std::pair(b.min_time, b.max_time);
    });
    return out;
  }

  // What the store's readers see: head + blocks, duplicates merged.
  SampleMap Visible(MetricsStore& store) {
    SampleMap out;
    Blocks(&out);
    if (tsdb::TenantHead* head = store.FindHead(kTenant); head != nullptr) {
      AddTo(tsdb::testing::DumpHead(*head), &out);
    }
    return out;
  }

  // What the store's own read path sees (its BlockSet: the bucket index when it may use it).
  SampleMap StoreRead(MetricsStore& store) {
    SampleMap out;
    std::vector<tsdb::Matcher> all = tsdb::testing::All();
    absl::Status s = store.SelectSamples(
        kTenant, all, INT64_MIN, INT64_MAX,
        [&](const tsdb::Labels& labels, std::span<const tsdb::QuerySample> samples) {
          for (const tsdb::QuerySample& q : samples) {
            ReadSample r{};
            r.t = q.t;
            r.type = q.type;
            r.bits = std::bit_cast<uint64_t>(q.v);
            out[labels.ToString()].emplace(q.t, r);
          }
        });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }

  // The tenant's bucket-index.json.gz, gunzipped and parsed, lists exactly the blocks the
  // bucket shows.
  void ExpectIndexListsTheBucket() {
    auto bucket = objstore::FilesystemObjectStore::Open(env_.get(), "/data/blocks");
    ASSERT_TRUE(bucket.ok()) << bucket.status();
    absl::StatusOr<tsdb::BucketIndex> index = tsdb::ReadBucketIndex(bucket->get(), kTenant);
    ASSERT_TRUE(index.ok()) << index.status();
    absl::StatusOr<std::vector<Ulid>> listed = tsdb::ListBlocks(bucket->get(), kTenant);
    ASSERT_TRUE(listed.ok()) << listed.status();
    std::vector<Ulid> in_index;
    for (const tsdb::BucketIndexBlock& b : index->blocks) in_index.push_back(b.ulid);
    EXPECT_EQ(in_index, *listed);
  }

  static uint64_t Count(const SampleMap& m) {
    uint64_t n = 0;
    for (const auto& [series, samples] : m) n += samples.size();
    return n;
  }

  // Kills the store at the k-th Env operation of `job` (all later ones fail), for k = 0, 1, …
  // until the job gets through; `prepare` builds the state before the job and returns what was
  // pushed; `check` runs on the restarted store.
  void AtEveryStep(FaultInjectionEnv::CrashMode mode,
                   const std::function<SampleMap(MetricsStore&)>& prepare,
                   const std::function<absl::Status(MetricsStore&)>& job,
                   const std::function<void(MetricsStore&, const SampleMap&, int)>& check) {
    for (int k = 0;; ++k) {
      SCOPED_TRACE(testing::Message()
                   << "crash at operation " << k << ", mode " << static_cast<int>(mode));
      env_ = std::make_unique<FaultInjectionEnv>();
      auto store = Open();
      ASSERT_NE(store, nullptr);
      const SampleMap pushed = prepare(*store);
      FaultInjectionEnv::Fault crash;
      crash.skip = k;
      crash.count = -1;
      crash.error = absl::AbortedError("simulated crash");
      env_->InjectFault(crash);
      const bool done = job(*store).ok();
      store->Close();
      store.reset();
      env_->ClearFaults();
      env_->SimulateCrash(mode, static_cast<uint64_t>(k) + 1);
      store = Open();
      ASSERT_NE(store, nullptr) << "the store does not start after the crash";
      check(*store, pushed, k);
      if (HasFatalFailure() || HasFailure()) return;
      if (done) return;
      ASSERT_LT(k, 5000) << "the job never got through";
    }
  }

  // Late samples: series i gets `v` at `t`, by remote write; returns what was sent.
  SampleMap PushLate(MetricsStore& store, const std::vector<std::pair<int, int64_t>>& samples) {
    WriteBuilder w;
    SampleMap sent;
    for (const auto& [i, t] : samples) {
      const double v = -static_cast<double>(t) - i;
      auto s = w.Series({"__name__", "m", "i", std::to_string(i)});
      s.Sample(t, v);
      ReadSample r{};
      r.t = t;
      r.type = chunkenc::ValueType::kFloat;
      r.bits = tsdb::testing::BitsOf(v);
      sent[tsdb::Labels::FromStrings({"__name__", "m", "i", std::to_string(i)}).ToString()].emplace(
          t, r);
    }
    PushResult r = store.Push(kTenant, w.Body());
    EXPECT_TRUE(r.ok()) << r.message;
    return sent;
  }

  std::unique_ptr<FaultInjectionEnv> env_ = std::make_unique<FaultInjectionEnv>();
  absl::Duration ooo_window_ = absl::ZeroDuration();
};

class StoreCrashModeTest : public StoreCrashTest,
                           public ::testing::WithParamInterface<FaultInjectionEnv::CrashMode> {};

INSTANTIATE_TEST_SUITE_P(Modes, StoreCrashModeTest,
                         ::testing::Values(FaultInjectionEnv::CrashMode::kKeepUnsynced,
                                           FaultInjectionEnv::CrashMode::kDropUnsynced),
                         [](const auto& info) {
                           return info.param == FaultInjectionEnv::CrashMode::kKeepUnsynced
                                      ? std::string("Kill")
                                      : std::string("MachineCrash");
                         });

// A flush of [0, 5 h) cuts three 2 h blocks, each uploaded and then truncated from the head (WAL
// checkpoint). A crash after an upload and before the truncation was durable leaves the range in
// the head too: the restarted store must not upload it a second time.
TEST_P(StoreCrashModeTest, CrashAtEveryStepOfAFlushLosesNothingAndCutsEachRangeOnce) {
  AtEveryStep(
      GetParam(), [&](MetricsStore& store) { return Push(store, 3, 5); },
      [](MetricsStore& store) { return store.Flush(); },
      [&](MetricsStore& store, const SampleMap& pushed, int k) {
        EXPECT_EQ(Visible(store), pushed) << "after the crash";
        // The store's reads (the bucket index, rebuilt at start: the crash may have come between
        // a block's upload and its index update) miss nothing and count nothing twice.
        EXPECT_EQ(StoreRead(store), pushed) << "after the crash, through the store";
        ASSERT_TRUE(store.Flush().ok());
        EXPECT_TRUE(tsdb::testing::DumpHead(*store.FindHead(kTenant)).empty());
        EXPECT_EQ(StoreRead(store), pushed) << "after the flush, through the store";
        ExpectIndexListsTheBucket();
        SampleMap merged;
        const std::vector<BlockView> blocks = Blocks(&merged);
        EXPECT_EQ(merged, pushed);
        std::vector<std::pair<int64_t, int64_t>> ranges;
        uint64_t samples = 0;
        for (const BlockView& b : blocks) {
          ranges.emplace_back(b.min_time, b.max_time);
          samples += b.samples;
        }
        EXPECT_EQ(ranges, (std::vector<std::pair<int64_t, int64_t>>{
                              {0, 2 * kHour}, {2 * kHour, 4 * kHour}, {4 * kHour, 6 * kHour}}))
            << "crash at operation " << k << ": a range cut twice";
        EXPECT_EQ(samples, Count(pushed)) << "samples held twice";
        // Nothing left behind: no pending cut, no partial block in the bucket.
        EXPECT_FALSE(env_->Exists("/data/tsdb/anonymous/cut-pending").value_or(true));
      });
}

// With out_of_order_time_window: late samples of a range already cut (an extra block of the
// range) and of ranges still in the head, then a flush killed at every step. After the restart
// every sample sent is visible; after the flush and a compaction run (the vertical compaction
// of the overlapping blocks) every sample is held exactly once.
TEST_P(StoreCrashModeTest, CrashAtEveryStepOfAFlushWithLateSamplesLosesAndDuplicatesNothing) {
  ooo_window_ = absl::Hours(4);
  AtEveryStep(
      GetParam(),
      [&](MetricsStore& store) {
        SampleMap pushed = Push(store, 3, 5);         // in order, newest 4:59
        EXPECT_TRUE(store.CutCompleteBlocks().ok());  // [0, 2h) is a block now
        std::vector<std::pair<int, int64_t>> late;
        for (int64_t t = kHour; t < 4 * kHour; t += 20 * kMinute) {
          late.emplace_back(0, t + 30 * 1000);  // between the minutes
          late.emplace_back(2, t + 45 * 1000);
        }
        late.emplace_back(1, kHour + 5 * kMinute);     // a timestamp the first block holds (same
        const SampleMap sent = PushLate(store, late);  // series, another value: a conflict)
        for (const auto& [series, samples] : sent) {
          for (const auto& [t, r] : samples) pushed[series].emplace(t, r);  // first one stays
        }
        return pushed;
      },
      [](MetricsStore& store) { return store.Flush(); },
      [&](MetricsStore& store, const SampleMap& pushed, int k) {
        SampleMap visible = Visible(store);
        // The conflicting late sample: the head's own check cannot see the block's copy; the
        // querier and the compactor keep one sample per timestamp.
        const std::string s1 = tsdb::Labels::FromStrings({"__name__", "m", "i", "1"}).ToString();
        visible[s1].erase(kHour + 5 * kMinute);
        SampleMap want = pushed;
        want[s1].erase(kHour + 5 * kMinute);
        EXPECT_EQ(visible, want) << "after the crash";
        ASSERT_TRUE(store.Flush().ok());
        EXPECT_TRUE(tsdb::testing::DumpHead(*store.FindHead(kTenant)).empty());
        ASSERT_TRUE(store.RunCompactionOnce().ok());
        SampleMap merged;
        const std::vector<BlockView> blocks = Blocks(&merged);
        ASSERT_TRUE(merged[s1].count(kHour + 5 * kMinute));
        merged[s1].erase(kHour + 5 * kMinute);
        EXPECT_EQ(merged, want) << "crash at operation " << k;
        uint64_t samples = 0;
        for (const BlockView& b : blocks) samples += b.samples;
        EXPECT_EQ(samples, Count(pushed)) << "crash at operation " << k << ": samples held twice";
        for (size_t i = 1; i < blocks.size(); ++i) {
          EXPECT_LE(blocks[i - 1].max_time, blocks[i].min_time) << "overlapping blocks remain";
        }
        EXPECT_FALSE(env_->Exists("/data/tsdb/anonymous/cut-pending").value_or(true));
      });
}

// A compaction run over twelve 2 h blocks writes two 12 h blocks, then one 24 h block from them,
// and deletes the sources; a crash
// between a new block's upload and the deletion of its sources leaves both visible (readers
// de-duplicate); the next run deletes the covered sources instead of compacting them again.
TEST_P(StoreCrashModeTest, CrashAtEveryStepOfACompactionRunLosesNothingAndCountsOnce) {
  AtEveryStep(
      GetParam(),
      [&](MetricsStore& store) {
        SampleMap pushed = Push(store, 2, 24);
        EXPECT_TRUE(store.Flush().ok());
        return pushed;
      },
      [](MetricsStore& store) { return store.RunCompactionOnce(); },
      [&](MetricsStore& store, const SampleMap& pushed, int k) {
        EXPECT_EQ(Visible(store), pushed) << "after the crash";
        EXPECT_EQ(StoreRead(store), pushed) << "after the crash, through the store";
        ASSERT_TRUE(store.RunCompactionOnce().ok());
        EXPECT_EQ(StoreRead(store), pushed) << "after the run, through the store";
        ExpectIndexListsTheBucket();
        SampleMap merged;
        const std::vector<BlockView> blocks = Blocks(&merged);
        EXPECT_EQ(merged, pushed);
        std::vector<std::pair<int64_t, int64_t>> ranges;
        uint64_t samples = 0;
        for (const BlockView& b : blocks) {
          ranges.emplace_back(b.min_time, b.max_time);
          samples += b.samples;
        }
        // Two 12 h blocks, then (compactor.block_ranges' default 24 h level) one day.
        EXPECT_EQ(ranges, (std::vector<std::pair<int64_t, int64_t>>{{0, 24 * kHour}}))
            << "crash at operation " << k;
        EXPECT_EQ(samples, Count(pushed)) << "samples held twice";
        // The compactor's local directory is left empty.
        absl::StatusOr<std::vector<std::string>> local = env_->ListDir("/data/compactor/anonymous");
        if (local.ok()) {
          EXPECT_TRUE(local->empty());
        }
      });
}

// Reads racing the moves of data between the head and the blocks: a cut truncates the head
// after its upload, a compaction deletes its sources after its upload. A read that listed the
// blocks before such an upload must still find the data (the store's read barrier), so every
// remote read taken meanwhile holds every pushed sample.
TEST_F(StoreCrashTest, ReadsDuringCutsAndCompactionsSeeEverySample) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const uint64_t pushed = Count(Push(*store, 20, 48));
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::atomic<int> short_reads{0};
  std::thread reader([&] {
    while (!done.load()) {
      prometheus::ReadResponse rr;
      ReadResult r = store->RemoteRead(kTenant, ReadRequestBody({{INT64_MIN, INT64_MAX, {"m"}}}));
      ASSERT_EQ(r.http_status, 200) << r.body;
      ASSERT_TRUE(testutil::ParseReadResponse(r.body, &rr));
      uint64_t n = 0;
      for (const auto& ts : rr.results(0).timeseries()) n += ts.samples_size();
      if (n != pushed) short_reads.fetch_add(1);
      reads.fetch_add(1);
    }
  });
  // The cutting job cuts the 2 h ranges one by one (upload, truncation) until the head spans
  // 3 h; the compactor merges them by 12 h, one compaction at a time (upload, deletions); the
  // flush cuts the rest. Meanwhile the reader reads.
  while (reads.load() < 2) absl::SleepFor(absl::Milliseconds(1));
  EXPECT_TRUE(store->CutCompleteBlocks().ok());
  EXPECT_TRUE(store->RunCompactionOnce().ok());
  EXPECT_TRUE(store->Flush().ok());
  EXPECT_TRUE(store->RunCompactionOnce().ok());
  // At least a few reads overlapped the work.
  while (reads.load() < 5) absl::SleepFor(absl::Milliseconds(1));
  done.store(true);
  reader.join();
  EXPECT_EQ(short_reads.load(), 0) << "of " << reads.load() << " reads";
  SampleMap merged;
  std::vector<BlockView> blocks = Blocks(&merged);
  EXPECT_EQ(Count(merged), pushed);
  EXPECT_EQ(blocks.size(), 2u);  // two days (12 h blocks merged into 24 h ones)
}

// The bucket index's failures (its Put refused by the bucket, its Get failing, a damaged or
// stale file) are counted and logged; ingestion, cuts and reads go on, the reads listing the
// bucket instead, and the next rewrite brings the index back.
TEST_F(StoreCrashTest, BucketIndexFailuresNeverFailIngestionOrQueries) {
  MetricsRegistry registry;
  int64_t now_ms = 1700000000000;
  MetricsStoreOptions o = Options();
  o.registry = &registry;
  o.now_ms = [&now_ms] { return now_ms; };
  auto store = std::make_unique<MetricsStore>(o);
  ASSERT_TRUE(store->Start().ok());
  auto failures = [&](const std::string& op) {
    return registry
        .GetCounter("sprout_metrics_bucket_index_failures_total", "",
                    {{"operation", op}, {"user", kTenant}})
        ->value();
  };
  auto fallbacks = [&](const std::string& reason) {
    return registry
        .GetCounter("sprout_metrics_bucket_index_fallbacks_total", "",
                    {{"reason", reason}, {"user", kTenant}})
        ->value();
  };
  const SampleMap pushed = Push(*store, 3, 5);
  const std::string index_path = "/data/blocks/anonymous/bucket-index.json.gz";

  // A Put the bucket refuses (a directory where the object goes): the cuts succeed.
  ASSERT_TRUE(env_->CreateDirs(index_path + "/in-the-way").ok());
  ASSERT_TRUE(store->Flush().ok());
  EXPECT_GE(failures("put"), 1);
  tsdb::TenantBucketIndex* index = store->BucketIndexFor(kTenant);
  ASSERT_NE(index, nullptr);
  EXPECT_FALSE(index->synced());
  const double not_synced = fallbacks("not_synced");
  EXPECT_EQ(StoreRead(*store), pushed);
  EXPECT_EQ(fallbacks("not_synced"), not_synced + 1);
  // Ingestion goes on: a sample after the flushed range.
  SampleMap more = pushed;
  {
    WriteBuilder w;
    w.Series({"__name__", "m", "i", "0"}).Sample(6 * kHour + kMinute, 42.0);
    PushResult r = store->Push(kTenant, w.Body());
    ASSERT_TRUE(r.ok()) << r.message;
    std::string key;
    for (const auto& [series, samples] : pushed) {
      if (series.find("i=\"0\"") != std::string::npos) key = series;
    }
    ASSERT_FALSE(key.empty());
    ReadSample r42{};
    r42.t = 6 * kHour + kMinute;
    r42.type = chunkenc::ValueType::kFloat;
    r42.bits = std::bit_cast<uint64_t>(42.0);
    more[key].emplace(r42.t, r42);
  }
  EXPECT_EQ(StoreRead(*store), more);

  // The next rewrite succeeds once the bucket takes the object again.
  ASSERT_TRUE(env_->RemoveDir(index_path + "/in-the-way").ok());
  ASSERT_TRUE(env_->RemoveDir(index_path).ok());
  store->MaintainBucketIndexes();
  EXPECT_TRUE(index->synced());
  ExpectIndexListsTheBucket();
  const auto counts = [&] {
    return fallbacks("not_synced") + fallbacks("missing") + fallbacks("damaged") +
           fallbacks("stale") + fallbacks("get_failed");
  };
  double before = counts();
  EXPECT_EQ(StoreRead(*store), more);
  EXPECT_EQ(counts(), before);  // read from the index

  // A failing Get.
  FaultInjectionEnv::Fault get_fault;
  get_fault.ops = FaultInjectionEnv::kOpen | FaultInjectionEnv::kRead;
  get_fault.path_contains = "bucket-index.json.gz";
  get_fault.count = -1;
  env_->InjectFault(get_fault);
  const double get_failures = failures("get");
  EXPECT_EQ(StoreRead(*store), more);
  EXPECT_EQ(failures("get"), get_failures + 1);
  EXPECT_EQ(fallbacks("get_failed"), 1);
  env_->ClearFaults();

  // A damaged file.
  {
    auto bucket = objstore::FilesystemObjectStore::Open(env_.get(), "/data/blocks");
    ASSERT_TRUE(bucket.ok());
    ASSERT_TRUE((*bucket)->Put("anonymous/bucket-index.json.gz", "\x1f\x8b not really").ok());
  }
  EXPECT_EQ(StoreRead(*store), more);
  EXPECT_EQ(fallbacks("damaged"), 1);
  store->MaintainBucketIndexes();  // within the cleanup interval: not rewritten by age
  EXPECT_EQ(StoreRead(*store), more);
  EXPECT_EQ(fallbacks("damaged"), 2);

  // Stale: not rewritten for longer than max_stale_period (1h); the periodic rewrite
  // (compactor.cleanup_interval, 15m) brings it back.
  now_ms += 2 * kHour;
  EXPECT_EQ(StoreRead(*store), more);
  EXPECT_EQ(fallbacks("damaged"), 3);  // still damaged: checked before its age
  store->MaintainBucketIndexes();
  ExpectIndexListsTheBucket();
  before = counts();
  EXPECT_EQ(StoreRead(*store), more);
  EXPECT_EQ(counts(), before);
  now_ms += 61 * 60 * 1000;
  EXPECT_EQ(StoreRead(*store), more);
  EXPECT_EQ(fallbacks("stale"), 1);
  store->Close();
}

}  // namespace
}  // namespace sprout::metrics
