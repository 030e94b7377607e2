// Out-of-order samples (HeadOptions::out_of_order_time_window_ms > 0): stored, read merged and
// de-duplicated, replayed from the WAL and from a checkpoint, cut into the block of their range
// (and into extra blocks for ranges already cut), and kept through crashes at every step.
#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/tsdb/block/reader.h"
#include "metrics/tsdb/block/writer.h"
#include "metrics/tsdb/compact/merge.h"
#include "metrics/tsdb/head/head.h"
#include "metrics/tsdb/head/head_test_util.h"
#include "objstore/filesystem.h"
#include "storage/fault_injection_env.h"

namespace sprout::metrics::tsdb {
namespace {

using storage::FaultInjectionEnv;
using testing::BitsOf;
using testing::Clip;
using testing::Dump;
using testing::DumpBlock;
using testing::DumpHead;
using ::testing::ElementsAre;
using testing::RequestBuilder;

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;

Labels Series(int i) { return Labels::FromStrings({"__name__", "late", "i", std::to_string(i)}); }

// What a series should read back: timestamp → value, built from what was sent (the first
// sample sent at a timestamp is the one kept).
using Expected = std::map<std::string, std::map<int64_t, double>>;

Dump ToDump(const Expected& e) {
  Dump out;
  for (const auto& [series, samples] : e) {
    for (const auto& [t, v] : samples) {
      testing::ReadSample r{};
      r.t = t;
      r.type = chunkenc::ValueType::kFloat;
      r.bits = BitsOf(v);
      out[series].push_back(r);
    }
  }
  return out;
}

class HeadOooTest : public ::testing::Test {
 protected:
  HeadOptions Options() {
    HeadOptions o;
    o.env = &env_;
    o.dir = dir_;
    o.wal_sync = storage::SyncPolicy::kManual;
    o.wal_segment_size = 8192;
    o.out_of_order_time_window_ms = window_;
    o.out_of_order_cap_max = cap_;
    return o;
  }
  std::unique_ptr<TenantHead> Open() {
    absl::StatusOr<std::unique_ptr<TenantHead>> head = TenantHead::Open(Options());
    EXPECT_TRUE(head.ok()) << head.status();
    return head.ok() ? *std::move(head) : nullptr;
  }
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<objstore::FilesystemObjectStore>> b =
        objstore::FilesystemObjectStore::Open(&env_, "/bucket");
    ASSERT_TRUE(b.ok()) << b.status();
    bucket_ = *std::move(b);
  }

  // Sends one sample of series i; records it in expected_ when the head should keep it.
  AppendResult Send(TenantHead& head, int i, int64_t t, double v) {
    RequestBuilder req;
    req.Add(Series(i)).samples = {{t, v}};
    AppendResult r = head.Append(req.Build());
    EXPECT_TRUE(r.status.ok()) << r.status;
    if (r.refusals.empty()) expected_[Series(i).ToString()].emplace(t, v);  // first one stays
    return r;
  }

  // In-order samples of series 0..n-1 every 5 minutes over [from, to).
  void InOrder(TenantHead& head, int n, int64_t from, int64_t to) {
    for (int64_t t = from; t < to; t += 5 * kMinute) {
      for (int i = 0; i < n; ++i) {
        AppendResult r = Send(head, i, t, static_cast<double>(t / kMinute + i));
        ASSERT_TRUE(r.refusals.empty());
        ASSERT_EQ(r.ooo_samples_appended, 0u);
      }
    }
  }

  // Cuts [mint, maxt) into a block in the bucket; returns its prefix ("" when empty).
  std::string Cut(TenantHead& head, int64_t mint, int64_t maxt) {
    BlockWriterOptions bo;
    bo.min_time = mint;
    bo.max_time = maxt;
    absl::StatusOr<std::unique_ptr<BlockWriter>> w =
        BlockWriter::Create(&env_, "/data/tmp/block", bo);
    EXPECT_TRUE(w.ok()) << w.status();
    absl::StatusOr<uint64_t> n = head.CutBlock(mint, maxt, w->get());
    EXPECT_TRUE(n.ok()) << n.status();
    if (!n.ok() || *n == 0) return "";
    EXPECT_TRUE((*w)->Finish().ok());
    absl::StatusOr<std::string> prefix = (*w)->Upload(bucket_.get(), "t");
    EXPECT_TRUE(prefix.ok()) << prefix.status();
    EXPECT_TRUE((*w)->RemoveLocal().ok());
    return prefix.value_or("");
  }

  Dump ReadBlock(const std::string& prefix) {
    absl::StatusOr<std::unique_ptr<BlockReader>> block = BlockReader::Open(bucket_.get(), prefix);
    EXPECT_TRUE(block.ok()) << block.status();
    return block.ok() ? DumpBlock(**block) : Dump();
  }

  FaultInjectionEnv env_;
  std::string dir_ = "/data/t";
  int64_t window_ = 2 * kHour;
  int cap_ = 4;
  std::unique_ptr<objstore::FilesystemObjectStore> bucket_;
  Expected expected_;
};

TEST_F(HeadOooTest, InsideTheWindowStoredMergedAndDeduplicated) {
  std::unique_ptr<TenantHead> head = Open();
  ASSERT_NO_FATAL_FAILURE(InOrder(*head, 2, 10 * kHour, 11 * kHour));  // newest: 10:55
  // Late samples of series 0 between the in-order ones and before them, in a shuffled order.
  std::vector<int64_t> late;
  for (int64_t t = 9 * kHour; t < 10 * kHour + 55 * kMinute; t += 5 * kMinute) {
    late.push_back(t + 30 * kSecond);
  }
  std::shuffle(late.begin(), late.end(), std::mt19937(7));
  for (int64_t t : late) {
    AppendResult r = Send(*head, 0, t, -static_cast<double>(t / kSecond));
    ASSERT_TRUE(r.refusals.empty()) << r.refusals[0].Message();
    EXPECT_EQ(r.samples_appended, 1u);
    EXPECT_EQ(r.ooo_samples_appended, 1u);
  }
  // Timestamps already held keep their first sample: an in-order one, one in the out-of-order
  // buffer (the last inserted: 23 = 5 sealed chunks of 4, then 3 buffered), and two at one new
  // timestamp in one request, all dropped and counted; one in a sealed out-of-order chunk is
  // stored (Prometheus checks only its out-of-order head chunk), and reads keep the first.
  EXPECT_EQ(Send(*head, 0, 10 * kHour + 5 * kMinute, 999).duplicates_ignored, 1u);
  EXPECT_EQ(Send(*head, 0, late.back(), 999).duplicates_ignored, 1u);
  EXPECT_EQ(Send(*head, 0, late[3], 999).ooo_samples_appended, 1u);
  {
    RequestBuilder req;
    req.Add(Series(1)).samples = {{10 * kHour + 1, 5}, {10 * kHour + 1, 6}};
    AppendResult r = head->Append(req.Build());
    EXPECT_EQ(r.samples_appended, 1u);
    EXPECT_EQ(r.duplicates_ignored, 1u);
    expected_[Series(1).ToString()].emplace(10 * kHour + 1, 5);
  }
  // Beyond the window (head max 10:55 − 2h = 8:55): too old, with the window's text.
  AppendResult old = Send(*head, 0, 8 * kHour + 54 * kMinute, 1);
  ASSERT_EQ(old.refusals.size(), 1u);
  EXPECT_EQ(old.refusals[0].kind, RefusalKind::kTooOldOooWindow);
  EXPECT_EQ(Send(*head, 0, 8 * kHour + 55 * kMinute, 1).ooo_samples_appended, 1u);

  EXPECT_EQ(DumpHead(*head), ToDump(expected_));
  EXPECT_EQ(head->Stats().min_time, 8 * kHour + 55 * kMinute);
  EXPECT_EQ(head->Stats().ooo_samples_appended, late.size() + 3);
  // Reads that reach only the out-of-order part find the series.
  EXPECT_EQ(head->Series(testing::All(), 9 * kHour, 9 * kHour + kMinute).size(), 1u);
  EXPECT_THAT(head->LabelValues("i", {}, 9 * kHour, 9 * kHour + kMinute), ElementsAre("0"));
  EXPECT_EQ(DumpHead(*head, 9 * kHour, 10 * kHour), Clip(ToDump(expected_), 9 * kHour, 10 * kHour));
  // Sealed out-of-order chunks of at most cap samples, plus the buffer.
  int ooo_chunks = 0;
  for (const HeadChunkMeta& c : head->Chunks(Series(0))) {
    if (!c.out_of_order) continue;
    ++ooo_chunks;
    EXPECT_LE(c.max_time / (2 * kHour), c.min_time / (2 * kHour));  // one chunk range each
  }
  EXPECT_GE(ooo_chunks, static_cast<int>(late.size()) / cap_);
}

TEST_F(HeadOooTest, ReplayRebuildsTheSameSamples) {
  std::unique_ptr<TenantHead> head = Open();
  ASSERT_NO_FATAL_FAILURE(InOrder(*head, 3, 10 * kHour, 12 * kHour));
  std::mt19937 rng(3);
  uint64_t ooo = 0;
  for (int k = 0; k < 300; ++k) {
    const int i = static_cast<int>(rng() % 3);
    const int64_t t = 10 * kHour + static_cast<int64_t>(rng() % (2 * kHour));
    AppendResult r = Send(*head, i, t, k);
    ooo += r.ooo_samples_appended;
  }
  ASSERT_GT(ooo, 250u);
  ASSERT_TRUE(head->SyncWal().ok());
  const Dump before = DumpHead(*head);
  EXPECT_EQ(before, ToDump(expected_));
  head.reset();
  head = Open();
  EXPECT_EQ(DumpHead(*head), before);
  EXPECT_EQ(head->replay_stats().ooo_samples, ooo);
  EXPECT_EQ(head->replay_stats().refused_samples, 0u);
  EXPECT_EQ(head->replay_stats().corrupt_records, 0u);
}

TEST_F(HeadOooTest, NativeHistogramsStayInOrderOnly) {
  std::unique_ptr<TenantHead> head = Open();
  RequestBuilder first;
  first.Add(Series(0)).histograms.push_back({10 * kHour, testing::MakeHistogram(3)});
  ASSERT_EQ(head->Append(first.Build()).histograms_appended, 1u);
  RequestBuilder late;
  late.Add(Series(0)).histograms.push_back({10 * kHour - kMinute, testing::MakeHistogram(2)});
  AppendResult r = head->Append(late.Build());
  ASSERT_EQ(r.refusals.size(), 1u);
  EXPECT_EQ(r.refusals[0].kind, RefusalKind::kOutOfOrder);
}

// A start-timestamp zero (remote write 2.0) never goes into out-of-order storage, even inside
// the window: Prometheus's AppendCTZeroSample answers ErrOutOfOrderCT for it and Mimir's
// ingester drops it silently. The late sample carrying it is stored out of order; a zero in
// order is stored as without a window. Nothing is refused, and replay rebuilds the same.
TEST_F(HeadOooTest, StartZerosNeverGoOutOfOrder) {
  std::unique_ptr<TenantHead> head = Open();
  // Newest 10:55: the too-old bound is 9:55 (2 h blocks), the window reaches back to 8:55.
  ASSERT_NO_FATAL_FAILURE(InOrder(*head, 1, 10 * kHour, 11 * kHour));
  auto send = [&](int i, std::vector<FloatSample> samples) {
    RequestBuilder req;
    req.Add(Series(i)).samples = samples;
    AppendResult r = head->Append(req.Build());
    EXPECT_TRUE(r.status.ok()) << r.status;
    EXPECT_TRUE(r.refusals.empty());
    EXPECT_EQ(r.samples_refused, 0u);
    for (const FloatSample& smp : samples) {
      if (!smp.start_zero) expected_[Series(i).ToString()].emplace(smp.t, smp.v);
    }
    return r;
  };
  // Older than series 0's newest, inside the window: the zero goes, its sample is stored late.
  AppendResult r = send(0, {{10 * kHour + 2 * kMinute, 0, true}, {10 * kHour + 3 * kMinute, 42}});
  EXPECT_EQ(r.start_zeros_dropped, 1u);
  EXPECT_EQ(r.start_zeros_appended, 0u);
  EXPECT_EQ(r.ooo_samples_appended, 1u);
  EXPECT_EQ(r.samples_appended, 1u);
  // A new series below the too-old bound (its samples can only go out of order): the same.
  r = send(1, {{9 * kHour, 0, true}, {9 * kHour + kMinute, 7}});
  EXPECT_EQ(r.start_zeros_dropped, 1u);
  EXPECT_EQ(r.ooo_samples_appended, 1u);
  // A late zero alone (its sample's time already stored in order): dropped, nothing else.
  r = send(0, {{10 * kHour + 7 * kMinute, 0, true}});
  EXPECT_EQ(r.start_zeros_dropped, 1u);
  EXPECT_EQ(r.ooo_samples_appended, 0u);
  EXPECT_EQ(r.duplicates_ignored, 0u);
  // In order, the window changes nothing: the zero is stored before its sample.
  r = send(2, {{11 * kHour, 0, true}, {11 * kHour + kMinute, 3}});
  EXPECT_EQ(r.start_zeros_appended, 1u);
  EXPECT_EQ(r.start_zeros_dropped, 0u);
  EXPECT_EQ(r.ooo_samples_appended, 0u);
  expected_[Series(2).ToString()].emplace(11 * kHour, 0);

  EXPECT_EQ(head->Stats().ooo_samples_appended, 2u);
  EXPECT_EQ(head->Stats().samples_refused, 0u);
  ASSERT_TRUE(head->SyncWal().ok());
  const Dump before = DumpHead(*head);
  EXPECT_EQ(before, ToDump(expected_));
  head.reset();
  head = Open();
  EXPECT_EQ(DumpHead(*head), before);
  // Replay stores out of order only what is older than its series' newest (it has no too-old
  // bound): series 0's late sample; series 1's only sample reads back the same from in order.
  EXPECT_EQ(head->replay_stats().ooo_samples, 1u);
  EXPECT_EQ(head->replay_stats().refused_samples, 0u);
}

TEST_F(HeadOooTest, TheWindowFollowsSetLimitsAndStoredSamplesStayReadable) {
  window_ = 0;
  std::unique_ptr<TenantHead> head = Open();
  ASSERT_NO_FATAL_FAILURE(InOrder(*head, 1, 10 * kHour, 11 * kHour));
  AppendResult r = Send(*head, 0, 10 * kHour + kSecond, 1);
  ASSERT_EQ(r.refusals.size(), 1u);
  EXPECT_EQ(r.refusals[0].kind, RefusalKind::kOutOfOrder);
  head->SetLimits(0, 0, kHour);
  EXPECT_EQ(Send(*head, 0, 10 * kHour + kSecond, 1).ooo_samples_appended, 1u);
  head->SetLimits(0, 0, 0);  // off again (Mimir: what was stored stays queryable)
  EXPECT_EQ(Send(*head, 0, 10 * kHour + 2 * kSecond, 1).refusals.size(), 1u);
  EXPECT_EQ(DumpHead(*head), ToDump(expected_));
}

// A cut writes the range's in-order and out-of-order samples merged into one block; samples
// that arrive later for a range already cut (below the too-old bound, inside the window) are
// stored and cut again into an extra block of the range, which overlaps the first; merged (the
// compactor's vertical compaction), the two blocks hold every sample once.
TEST_F(HeadOooTest, CutsTakeLateSamplesAndRangesAlreadyCutGetAnExtraBlock) {
  window_ = 4 * kHour;
  std::unique_ptr<TenantHead> head = Open();
  ASSERT_NO_FATAL_FAILURE(InOrder(*head, 2, 0, 5 * kHour));  // newest 4:55
  for (int64_t t = kHour; t < 3 * kHour; t += 10 * kMinute) Send(*head, 0, t + kSecond, -1.0 * t);
  const Dump all = ToDump(expected_);
  ASSERT_EQ(DumpHead(*head), all);

  const std::string first = Cut(*head, 0, 2 * kHour);
  EXPECT_EQ(ReadBlock(first), Clip(all, 0, 2 * kHour - 1));
  ASSERT_TRUE(head->Truncate(2 * kHour).ok());
  EXPECT_EQ(DumpHead(*head), Clip(all, 2 * kHour, INT64_MAX));
  EXPECT_EQ(head->Stats().min_time, 2 * kHour);

  // Late samples of the cut range: below the too-old bound (2h) but inside the window.
  Dump want = Clip(all, 2 * kHour, INT64_MAX);
  auto& want1 = want[Series(1).ToString()];
  for (int64_t t = kHour + 2 * kSecond; t < 2 * kHour; t += 20 * kMinute) {
    AppendResult r = Send(*head, 1, t, 7);
    ASSERT_TRUE(r.refusals.empty());
    EXPECT_EQ(r.ooo_samples_appended, 1u);
  }
  // And one at a timestamp the cut block holds: stored (the head no longer has it), then
  // de-duplicated by the merge.
  EXPECT_EQ(Send(*head, 1, kHour, static_cast<double>(kHour / kMinute + 1)).ooo_samples_appended,
            1u);
  const Dump late = Clip(ToDump(expected_), kHour, 2 * kHour - 1);
  for (const auto& s : late.at(Series(1).ToString())) {
    if (s.t == kHour || s.t % kMinute != 0) want1.push_back(s);
  }
  std::sort(want1.begin(), want1.end(), [](const auto& x, const auto& y) { return x.t < y.t; });
  ASSERT_EQ(want1.size(), Clip(all, 2 * kHour, INT64_MAX).at(Series(1).ToString()).size() + 4);
  ASSERT_TRUE(head->SyncWal().ok());
  EXPECT_EQ(head->Stats().min_time, kHour);
  EXPECT_EQ(DumpHead(*head), want);
  // Through a restart: replay holds them (checkpoint, then the segment).
  head.reset();
  head = Open();
  EXPECT_EQ(DumpHead(*head), want) << "after reopen";

  const std::string extra = Cut(*head, 0, 2 * kHour);
  ASSERT_FALSE(extra.empty());
  const Dump extra_dump = ReadBlock(extra);
  ASSERT_EQ(extra_dump.size(), 1u);
  EXPECT_EQ(extra_dump.begin()->second.size(), 4u);
  ASSERT_TRUE(head->Truncate(2 * kHour).ok());
  EXPECT_EQ(DumpHead(*head), Clip(ToDump(expected_), 2 * kHour, INT64_MAX));

  // Vertical compaction of the two overlapping blocks: every sample once.
  absl::StatusOr<std::unique_ptr<BlockReader>> a = BlockReader::Open(bucket_.get(), first);
  absl::StatusOr<std::unique_ptr<BlockReader>> b = BlockReader::Open(bucket_.get(), extra);
  ASSERT_TRUE(a.ok() && b.ok());
  BlockWriterOptions bo;
  bo.min_time = 0;
  bo.max_time = 2 * kHour;
  absl::StatusOr<std::unique_ptr<BlockWriter>> w =
      BlockWriter::Create(&env_, "/data/tmp/merged", bo);
  ASSERT_TRUE(w.ok());
  const BlockReader* inputs[] = {a->get(), b->get()};
  MergeStats stats;
  ASSERT_TRUE(MergeBlocks(inputs, w->get(), &stats).ok());
  EXPECT_EQ(stats.duplicate_samples, 1u);
  EXPECT_EQ(stats.conflicting_samples, 0u);
  ASSERT_TRUE((*w)->Finish().ok());
  absl::StatusOr<std::string> merged = (*w)->Upload(bucket_.get(), "merged");
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(ReadBlock(*merged), Clip(ToDump(expected_), 0, 2 * kHour - 1));
}

// Late samples of a range that arrive between its CutBlock and its Truncate are not in the
// block: the truncation keeps them (to be cut again), also through the checkpoint.
TEST_F(HeadOooTest, LateSamplesArrivingDuringACutSurviveItsTruncation) {
  window_ = 4 * kHour;
  std::unique_ptr<TenantHead> head = Open();
  ASSERT_NO_FATAL_FAILURE(InOrder(*head, 1, 0, 5 * kHour));
  Send(*head, 0, kHour + kSecond, 1);  // before the cut: in the block
  const std::string first = Cut(*head, 0, 2 * kHour);
  Send(*head, 0, kHour + 2 * kSecond, 2);  // during the cut: not in it
  ASSERT_TRUE(head->Truncate(2 * kHour).ok());
  Dump block = ReadBlock(first);
  std::set<int64_t> in_block;
  for (const auto& s : block.begin()->second) in_block.insert(s.t);
  EXPECT_TRUE(in_block.count(kHour + kSecond));
  EXPECT_FALSE(in_block.count(kHour + 2 * kSecond));
  ASSERT_TRUE(head->SyncWal().ok());
  head.reset();
  head = Open();
  const Dump live = DumpHead(*head);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live.begin()->second.front().t, kHour + 2 * kSecond);
  const std::string extra = Cut(*head, 0, 2 * kHour);
  Dump extra_dump = ReadBlock(extra);
  ASSERT_EQ(extra_dump.size(), 1u);
  ASSERT_EQ(extra_dump.begin()->second.size(), 1u);
  EXPECT_EQ(extra_dump.begin()->second[0].t, kHour + 2 * kSecond);
}

// A head that a flush emptied still measures the window from the newest sample it took.
TEST_F(HeadOooTest, AnEmptiedHeadKeepsTheWindowOfItsNewestSample) {
  std::unique_ptr<TenantHead> head = Open();
  ASSERT_NO_FATAL_FAILURE(InOrder(*head, 1, 10 * kHour, 11 * kHour));
  Cut(*head, 10 * kHour, 12 * kHour);
  ASSERT_TRUE(head->Truncate(12 * kHour).ok());
  ASSERT_TRUE(DumpHead(*head).empty());
  AppendResult old = Send(*head, 0, 8 * kHour, 1);  // 10:55 − 2h = 8:55
  ASSERT_EQ(old.refusals.size(), 1u);
  EXPECT_EQ(old.refusals[0].kind, RefusalKind::kTooOldOooWindow);
  EXPECT_EQ(Send(*head, 0, 9 * kHour, 1).ooo_samples_appended, 1u);
}

// A truncation without the cut in this process (a restart between the upload and the
// truncation: the store's pending-cut marker) keeps the late samples below the bound: they are
// cut again, and the compactor's merge keeps one copy.
TEST_F(HeadOooTest, TruncationAfterARestartKeepsLateSamplesForTheNextCut) {
  window_ = 4 * kHour;
  std::unique_ptr<TenantHead> head = Open();
  ASSERT_NO_FATAL_FAILURE(InOrder(*head, 1, 0, 5 * kHour));
  Send(*head, 0, kHour + kSecond, 1);
  Cut(*head, 0, 2 * kHour);
  ASSERT_TRUE(head->SyncWal().ok());
  head.reset();
  head = Open();
  ASSERT_TRUE(head->Truncate(2 * kHour).ok());
  const Dump live = DumpHead(*head);
  EXPECT_EQ(Clip(live, 0, 2 * kHour - 1).begin()->second.size(), 1u);
  EXPECT_EQ(Clip(live, 2 * kHour, INT64_MAX), Clip(ToDump(expected_), 2 * kHour, INT64_MAX));
}

// A failure (then a machine crash) at every file operation of a truncation's checkpoint, with
// out-of-order samples on both sides of the cut and some after it: the reopened head holds what
// it held before or after the truncation, every sample the cut did not write exactly once.
TEST_F(HeadOooTest, CrashAtEveryStepOfTheCheckpointKeepsLateSamples) {
  window_ = 4 * kHour;
  int completed_without_fault = 0;
  int failed = 0;
  for (int skip = 0; skip < 400 && completed_without_fault == 0; ++skip) {
    dir_ = "/data/crash" + std::to_string(skip);
    expected_.clear();
    std::unique_ptr<TenantHead> head = Open();
    ASSERT_NO_FATAL_FAILURE(InOrder(*head, 2, 0, 5 * kHour));
    for (int64_t t = kHour; t < 4 * kHour; t += 15 * kMinute) Send(*head, 0, t + kSecond, 3);
    Cut(*head, 0, 2 * kHour);
    Send(*head, 1, kHour + 3 * kSecond, 4);  // after the cut: kept
    ASSERT_TRUE(head->SyncWal().ok());
    const Dump before = DumpHead(*head);
    ASSERT_EQ(before, ToDump(expected_));
    Dump after = Clip(before, 2 * kHour, INT64_MAX);
    after[Series(1).ToString()].insert(
        after[Series(1).ToString()].begin(),
        Clip(before, kHour + 3 * kSecond, kHour + 3 * kSecond).at(Series(1).ToString()).front());
    env_.InjectFault({.ops = FaultInjectionEnv::kAllOps,
                      .path_contains = dir_ + "/wal",
                      .skip = skip,
                      .count = -1});
    const absl::Status st = head->Truncate(2 * kHour);
    if (!st.ok()) ++failed;
    if (st.ok()) {
      EXPECT_EQ(DumpHead(*head), after);
    }
    head.reset();
    env_.ClearFaults();
    env_.SimulateCrash(FaultInjectionEnv::CrashMode::kDropUnsynced, skip + 1);
    head = Open();
    ASSERT_NE(head, nullptr) << "skip " << skip;
    const Dump got = DumpHead(*head);
    EXPECT_TRUE(got == before || got == after) << "skip " << skip;
    EXPECT_EQ(head->replay_stats().refused_samples, 0u) << "skip " << skip;
    if (st.ok()) {
      EXPECT_EQ(got, after) << "skip " << skip;
      ++completed_without_fault;
    }
  }
  EXPECT_EQ(completed_without_fault, 1);
  EXPECT_GT(failed, 10);
}

// Kills and machine crashes at random byte offsets of the WAL's writes while late samples
// arrive (kEveryAppend): every acknowledged sample is back, once, with the value sent.
TEST_F(HeadOooTest, RandomCrashPointsKeepEveryAcknowledgedLateSample) {
  std::mt19937_64 rng(11);
  for (int iteration = 0; iteration < 20; ++iteration) {
    dir_ = "/data/random" + std::to_string(iteration);
    expected_.clear();
    int64_t next = 10 * kHour;
    for (int life = 0; life < 3; ++life) {
      HeadOptions o = Options();
      o.wal_sync = storage::SyncPolicy::kEveryAppend;
      o.wal_segment_size = 4096;
      absl::StatusOr<std::unique_ptr<TenantHead>> opened = TenantHead::Open(o);
      ASSERT_TRUE(opened.ok()) << opened.status();
      std::unique_ptr<TenantHead> head = *std::move(opened);
      // Acknowledged samples are all there (unacknowledged ones may be too).
      Dump dump = DumpHead(*head);
      for (const auto& [series, samples] : ToDump(expected_)) {
        std::map<int64_t, uint64_t> have;
        for (const auto& s : dump[series]) {
          EXPECT_TRUE(have.emplace(s.t, s.bits).second) << "twice: " << s.t;
        }
        for (const auto& s : samples) {
          auto it = have.find(s.t);
          ASSERT_TRUE(it != have.end()) << series << " lost " << s.t;
          EXPECT_EQ(it->second, s.bits);
        }
      }
      env_.CrashAfterBytes(std::uniform_int_distribution<uint64_t>(0, 6000)(rng));
      for (int k = 0; k < 60; ++k) {
        const int i = k % 3;
        const bool late = k % 2 == 1;
        const int64_t t = late ? next - static_cast<int64_t>(rng() % (30 * kMinute)) : next;
        if (!late) next += kMinute;
        RequestBuilder req;
        req.Add(Series(i)).samples = {{t, static_cast<double>(t % 100000)}};
        AppendResult r = head->Append(req.Build());
        if (!r.status.ok()) break;
        if (r.refusals.empty() && r.duplicates_ignored == 0) {
          expected_[Series(i).ToString()].emplace(t, static_cast<double>(t % 100000));
        }
      }
      head.reset();
      env_.SimulateCrash(life % 2 == 0 ? FaultInjectionEnv::CrashMode::kDropUnsynced
                                       : FaultInjectionEnv::CrashMode::kTearUnsynced,
                         iteration * 3 + life);
    }
  }
}

// A late sample taken between CutBlock and Truncate, for a series whose newest sample is older
// than it, went out of order because of the cut's bound; after a crash before the truncation,
// replay must route it there too (the bound is in the WAL), or the Truncate that settles the
// pending cut would drop it with the range it was never cut into.
TEST_F(HeadOooTest, ALateSampleTakenDuringACutSurvivesACrashBeforeTheTruncation) {
  window_ = 4 * kHour;
  std::unique_ptr<TenantHead> head = Open();
  ASSERT_NO_FATAL_FAILURE(InOrder(*head, 1, 0, 5 * kHour));  // series 0 keeps the head's max
  Send(*head, 1, kHour, 1);                                  // series 1: in order, t = 1h
  Cut(*head, 0, 2 * kHour);
  AppendResult r = Send(*head, 1, kHour + 30 * kMinute, 2);  // during the cut: out of order
  ASSERT_EQ(r.ooo_samples_appended, 1u);
  ASSERT_TRUE(head->SyncWal().ok());
  head.reset();  // a crash before Truncate (the store's pending cut stays)
  head = Open();
  ASSERT_TRUE(head->Truncate(2 * kHour).ok());  // the store settles the pending cut
  bool found = false;
  for (const auto& [series, samples] : DumpHead(*head)) {
    for (const auto& s : samples) found |= s.t == kHour + 30 * kMinute;
  }
  EXPECT_TRUE(found) << "the late sample is neither in the block nor in the head";
}

// The same for the next in-time scrape during a flush (a cut past the head's max time).
TEST_F(HeadOooTest, AnInTimeSampleTakenDuringAFlushSurvivesACrashBeforeTheTruncation) {
  window_ = kHour;
  std::unique_ptr<TenantHead> head = Open();
  ASSERT_NO_FATAL_FAILURE(InOrder(*head, 1, 0, 3 * kHour));  // newest 2:55
  Cut(*head, 0, 2 * kHour);
  ASSERT_TRUE(head->Truncate(2 * kHour).ok());
  Cut(*head, 2 * kHour, 4 * kHour);               // a flush: the open chunk too
  AppendResult r = Send(*head, 0, 3 * kHour, 7);  // the next scrape, in time
  EXPECT_EQ(r.ooo_samples_appended, 1u);
  ASSERT_TRUE(head->SyncWal().ok());
  head.reset();  // a crash during the flush's upload
  head = Open();
  ASSERT_TRUE(head->Truncate(4 * kHour).ok());
  bool found = false;
  for (const auto& [series, samples] : DumpHead(*head)) {
    for (const auto& s : samples) found |= s.t == 3 * kHour;
  }
  EXPECT_TRUE(found) << "the 3:00 sample is in neither the block nor the head";
  // And it is still there after the checkpoint is replayed (its series has no in-order sample).
  head.reset();
  head = Open();
  found = false;
  for (const auto& [series, samples] : DumpHead(*head)) {
    for (const auto& s : samples) found |= s.t == 3 * kHour;
  }
  EXPECT_TRUE(found) << "lost after replaying the checkpoint";
}

// The bounds survive a restart (in the checkpoint): a flushed head still refuses a sample
// older than its cut, and one beyond the window of the newest sample ever taken.
TEST_F(HeadOooTest, ARestartedFlushedHeadKeepsItsBounds) {
  {
    std::unique_ptr<TenantHead> head = Open();
    ASSERT_NO_FATAL_FAILURE(InOrder(*head, 1, 10 * kHour, 11 * kHour));
    Cut(*head, 10 * kHour, 12 * kHour);
    ASSERT_TRUE(head->Truncate(12 * kHour).ok());
  }
  window_ = 0;  // in order only
  std::unique_ptr<TenantHead> head = Open();
  AppendResult old = Send(*head, 0, 11 * kHour + 30 * kMinute, 1);
  EXPECT_EQ(old.refusals.size(), 1u) << "appended " << old.samples_appended;
  head.reset();
  window_ = 4 * kHour;
  head = Open();
  old = Send(*head, 0, 1 * kHour, 1);  // 10 h behind the newest sample taken
  ASSERT_EQ(old.refusals.size(), 1u)
      << "appended " << old.samples_appended << " ooo " << old.ooo_samples_appended;
  EXPECT_EQ(old.refusals[0].kind, RefusalKind::kTooOldOooWindow);
  EXPECT_EQ(Send(*head, 0, 9 * kHour, 1).ooo_samples_appended, 1u);  // inside the window
}

}  // namespace
}  // namespace sprout::metrics::tsdb
