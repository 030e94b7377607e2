// Cutting the head into blocks: CutBlock, Truncate, the WAL checkpoint and replay from it, and
// crashes at every step of a checkpoint (FaultInjectionEnv).
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/tsdb/block/reader.h"
#include "metrics/tsdb/block/writer.h"
#include "metrics/tsdb/head/head.h"
#include "metrics/tsdb/head/head_test_util.h"
#include "metrics/tsdb/head/wal_fuzz_input.h"
#include "objstore/filesystem.h"
#include "storage/fault_injection_env.h"

namespace sprout::metrics::tsdb {
namespace {

using storage::FaultInjectionEnv;
using testing::Clip;
using testing::Dump;
using testing::DumpBlock;
using testing::DumpHead;
using testing::RequestBuilder;

constexpr int64_t kMinute = 60 * 1000;
constexpr int64_t kHour = 60 * kMinute;

Labels Name(const std::string& name, int i) {
  return Labels::FromStrings({"__name__", name, "i", std::to_string(i)});
}

class HeadCutTest : public ::testing::Test {
 protected:
  HeadOptions Options() {
    HeadOptions o;
    o.env = &env_;
    o.dir = dir_;
    o.wal_sync = storage::SyncPolicy::kManual;
    o.wal_segment_size = 8192;  // many segments
    o.max_exemplars = 100;
    return o;
  }
  std::unique_ptr<TenantHead> Open() {
    absl::StatusOr<std::unique_ptr<TenantHead>> head = TenantHead::Open(Options());
    EXPECT_TRUE(head.ok()) << head.status();
    return head.ok() ? *std::move(head) : nullptr;
  }

  // "keep" series: a sample every 5 minutes over [0, 5h); "gone" series: only in [0, 2h);
  // a histogram series over [0, 5h); exemplars and metadata.
  void Fill(TenantHead& head) {
    for (int64_t t = 0; t < 5 * kHour; t += 5 * kMinute) {
      RequestBuilder req;
      for (int i = 0; i < 3; ++i) {
        auto& e = req.Add(Name("keep", i));
        e.samples = {{t, static_cast<double>(t / kMinute + i)}};
        if (i == 0) e.exemplars.push_back({Labels::FromStrings({"trace_id", "a"}), 1.0, t});
      }
      if (t < 2 * kHour) {
        for (int i = 0; i < 2; ++i) req.Add(Name("gone", i)).samples = {{t, 1.0 * i}};
      }
      req.Add(Name("hist", 0))
          .histograms.push_back({t, testing::MakeHistogram(static_cast<uint64_t>(t / kMinute))});
      req.metadata.push_back({"keep", wal::MetricType::kGauge, "", "help"});
      AppendResult r = head.Append(req.Build());
      ASSERT_TRUE(r.status.ok()) << r.status;
      ASSERT_EQ(r.samples_refused, 0u);
    }
    ASSERT_TRUE(head.SyncWal().ok());
  }

  // Cuts [mint, maxt) into a block in the bucket; returns its prefix.
  std::string Cut(TenantHead& head, int64_t mint, int64_t maxt) {
    BlockWriterOptions bo;
    bo.min_time = mint;
    bo.max_time = maxt;
    absl::StatusOr<std::unique_ptr<BlockWriter>> w =
        BlockWriter::Create(&env_, "/data/tmp/block", bo);
    EXPECT_TRUE(w.ok()) << w.status();
    absl::StatusOr<uint64_t> n = head.CutBlock(mint, maxt, w->get());
    EXPECT_TRUE(n.ok()) << n.status();
    EXPECT_TRUE((*w)->Finish().ok());
    absl::StatusOr<std::string> prefix = (*w)->Upload(bucket_.get(), "t");
    EXPECT_TRUE(prefix.ok()) << prefix.status();
    EXPECT_TRUE((*w)->RemoveLocal().ok());
    return prefix.value_or("");
  }

  void SetUp() override {
    absl::StatusOr<std::unique_ptr<objstore::FilesystemObjectStore>> b =
        objstore::FilesystemObjectStore::Open(&env_, "/bucket");
    ASSERT_TRUE(b.ok()) << b.status();
    bucket_ = *std::move(b);
  }

  FaultInjectionEnv env_;
  std::string dir_ = "/data/t";
  std::unique_ptr<objstore::FilesystemObjectStore> bucket_;
};

TEST_F(HeadCutTest, CutWritesTheRangeAndTruncateKeepsTheRestAcrossReopen) {
  std::unique_ptr<TenantHead> head = Open();
  ASSERT_NO_FATAL_FAILURE(Fill(*head));
  const Dump before = DumpHead(*head);
  ASSERT_EQ(before.size(), 6u);

  const std::string prefix = Cut(*head, 0, 2 * kHour);
  absl::StatusOr<std::unique_ptr<BlockReader>> block = BlockReader::Open(bucket_.get(), prefix);
  ASSERT_TRUE(block.ok()) << block.status();
  EXPECT_EQ(DumpBlock(**block), Clip(before, 0, 2 * kHour - 1));
  EXPECT_EQ((*block)->meta().min_time, 0);
  EXPECT_EQ((*block)->meta().max_time, 2 * kHour);

  const size_t segments_before = env_.ListDir("/data/t/wal")->size();
  ASSERT_TRUE(head->Truncate(2 * kHour).ok());
  const Dump after = Clip(before, 2 * kHour, INT64_MAX);
  EXPECT_EQ(DumpHead(*head), after);
  EXPECT_EQ(head->Stats().series, 4u);  // the two "gone" series were deleted
  EXPECT_EQ(head->Stats().min_time, 2 * kHour);
  EXPECT_TRUE(head->Series(testing::All(), INT64_MIN, INT64_MAX).size() == 4u);
  EXPECT_TRUE(head->LabelValues("__name__", {}, INT64_MIN, INT64_MAX) ==
              (std::vector<std::string>{"hist", "keep"}));
  EXPECT_EQ(head->min_valid_time(), 2 * kHour);
  // Older segments are gone: one checkpoint, and no segment numbered below it.
  std::vector<std::string> names = *env_.ListDir("/data/t/wal");
  std::vector<std::string> checkpoints, segments;
  for (const std::string& n : names) {
    (n.starts_with("checkpoint.") ? checkpoints : segments).push_back(n);
  }
  ASSERT_EQ(checkpoints.size(), 1u);
  const uint64_t cp = std::stoull(checkpoints[0].substr(11));
  EXPECT_GT(cp, 1u);
  for (const std::string& n : segments) EXPECT_GE(std::stoull(n), cp) << n;
  (void)segments_before;
  // The checkpoint's exemplars: only those at or after the cut.
  {
    auto ex = head->Exemplars(testing::All(), INT64_MIN, INT64_MAX);
    ASSERT_EQ(ex.size(), 1u);
    EXPECT_EQ(ex[0].exemplars.front().t, 2 * kHour);
  }

  // A sample below the cut is too old even for a new series; a deleted series comes back new.
  {
    RequestBuilder req;
    req.Add(Name("gone", 0)).samples = {{2 * kHour - 1, 1}};
    req.Add(Name("gone", 1)).samples = {{5 * kHour, 7}};
    AppendResult r = head->Append(req.Build());
    ASSERT_EQ(r.refusals.size(), 1u);
    EXPECT_EQ(r.refusals[0].kind, RefusalKind::kTooOld);
    EXPECT_EQ(r.samples_appended, 1u);
    EXPECT_EQ(r.series_created, 2u);  // the refused one's series is created, empty
  }
  ASSERT_TRUE(head->SyncWal().ok());
  const Dump live = DumpHead(*head);
  const std::vector<Exemplar> exemplars_before =
      head->Exemplars(testing::All(), INT64_MIN, INT64_MAX).at(0).exemplars;

  head.reset();
  head = Open();
  EXPECT_EQ(DumpHead(*head), live);
  EXPECT_EQ(head->replay_stats().refused_samples, 0u);
  EXPECT_EQ(head->replay_stats().unknown_series_samples, 0u);
  EXPECT_EQ(head->replay_stats().corrupt_records, 0u);
  EXPECT_EQ(head->Stats().series, 6u);
  EXPECT_EQ(head->Metadata("keep").size(), 1u);
  // Exemplars at or after the cut survive through the checkpoint.
  auto ex = head->Exemplars(testing::All(), INT64_MIN, INT64_MAX);
  ASSERT_EQ(ex.size(), 1u);
  EXPECT_EQ(ex[0].exemplars.size(), exemplars_before.size());
  EXPECT_GE(ex[0].exemplars.front().t, 2 * kHour);
}

// Custom-bucket histograms (schema -53), integer and float, whose bounds change after 1 h: the
// head, the block cut from it, the checkpoint the truncation writes and the WAL replayed after
// a reopen all give back the same histograms, bounds included.
TEST_F(HeadCutTest, CustomBucketHistogramsKeepTheirBoundsThroughCutCheckpointAndReplay) {
  std::unique_ptr<TenantHead> head = Open();
  auto nhcb = [](int64_t t) {
    chunkenc::Histogram h;
    h.schema = chunkenc::kCustomBucketsSchema;
    const uint64_t k = static_cast<uint64_t>(t / kMinute);
    if (t < kHour) {
      h.custom_values = {0.1, 1};
      h.positive_spans = {{0, 3}};
      h.positive_buckets = {k, 2 * k, 1};
    } else {
      h.custom_values = {-1, 0.5, 1, 5};
      h.positive_spans = {{1, 1}, {2, 1}};  // indexes 1 and 4 (the +Inf bucket)
      h.positive_buckets = {k, 3};
    }
    h.count = 0;
    for (uint64_t c : h.positive_buckets) h.count += c;
    h.sum = static_cast<double>(k) * 0.25;
    return h;
  };
  for (int64_t t = 0; t < 5 * kHour; t += 5 * kMinute) {
    RequestBuilder req;
    req.Add(Name("nhcb", 0)).histograms.push_back({t, nhcb(t)});
    req.Add(Name("nhcb_float", 0)).histograms.push_back({t, nhcb(t).ToFloat()});
    AppendResult r = head->Append(req.Build());
    ASSERT_TRUE(r.status.ok()) << r.status;
    ASSERT_TRUE(r.refusals.empty()) << r.refusals[0].Message();
  }
  ASSERT_TRUE(head->SyncWal().ok());
  const Dump before = DumpHead(*head);
  ASSERT_EQ(before.size(), 2u);
  ASSERT_EQ(before.at(Name("nhcb", 0).ToString()).at(13).h, nhcb(13 * 5 * kMinute));
  // The bounds (and spans) change at 1 h: a new chunk.
  std::vector<HeadChunkMeta> chunks = head->Chunks(Name("nhcb", 0));
  ASSERT_GE(chunks.size(), 2u);
  EXPECT_EQ(chunks[1].min_time, kHour);

  const std::string prefix = Cut(*head, 0, 2 * kHour);
  absl::StatusOr<std::unique_ptr<BlockReader>> block = BlockReader::Open(bucket_.get(), prefix);
  ASSERT_TRUE(block.ok()) << block.status();
  EXPECT_EQ(DumpBlock(**block), Clip(before, 0, 2 * kHour - 1));
  ASSERT_TRUE(head->Truncate(2 * kHour).ok());
  const Dump after = Clip(before, 2 * kHour, INT64_MAX);
  EXPECT_EQ(DumpHead(*head), after);
  head.reset();
  head = Open();
  EXPECT_EQ(head->replay_stats().corrupt_records, 0u);
  EXPECT_EQ(head->replay_stats().refused_samples, 0u);
  EXPECT_EQ(DumpHead(*head), after);
}

// Bad bounds are refused with Prometheus's text in Mimir's ingester form; nothing is stored.
TEST_F(HeadCutTest, CustomBucketHistogramsWithBadBoundsAreRefusedWithPrometheusText) {
  std::unique_ptr<TenantHead> head = Open();
  chunkenc::Histogram h;
  h.schema = chunkenc::kCustomBucketsSchema;
  h.custom_values = {1, 2};
  h.positive_spans = {{2, 2}};  // indexes 2 and 3: one past the +Inf bucket
  h.positive_buckets = {1, 1};
  h.count = 2;
  // With the zero a start timestamp injects (the same bounds): one refusal, the sample's; the
  // zero is dropped without one.
  chunkenc::Histogram zero;
  zero.schema = h.schema;
  zero.custom_values = h.custom_values;
  zero.positive_spans = h.positive_spans;
  zero.positive_buckets = {0, 0};
  RequestBuilder req;
  req.Add(Name("bad", 0)).histograms = {{500, zero, /*start_zero=*/true}, {1000, h}};
  AppendResult r = head->Append(req.Build());
  EXPECT_EQ(r.start_zeros_dropped, 1u);
  ASSERT_EQ(r.refusals.size(), 1u);
  EXPECT_EQ(r.refusals[0].kind, RefusalKind::kInvalidHistogram);
  EXPECT_EQ(r.refusals[0].Message(),
            "err: custom buckets: only 2 custom bounds defined which is insufficient to cover "
            "total span length of 4: histogram custom bounds are too few. "
            "timestamp=1970-01-01T00:00:01Z, series={__name__=\"bad\", i=\"0\"} "
            "(err-mimir-native-histogram-custom-buckets-mismatch)");
  EXPECT_EQ(r.histograms_appended, 0u);
}

TEST_F(HeadCutTest, SecondTruncationReplacesTheCheckpointAndAppendsAfterItReplay) {
  std::unique_ptr<TenantHead> head = Open();
  ASSERT_NO_FATAL_FAILURE(Fill(*head));
  Cut(*head, 0, 2 * kHour);
  ASSERT_TRUE(head->Truncate(2 * kHour).ok());
  for (int64_t t = 5 * kHour; t < 7 * kHour; t += 5 * kMinute) {
    RequestBuilder req;
    req.Add(Name("keep", 0)).samples = {{t, 1.0 * t}};
    ASSERT_TRUE(head->Append(req.Build()).status.ok());
  }
  Cut(*head, 2 * kHour, 4 * kHour);
  ASSERT_TRUE(head->Truncate(4 * kHour).ok());
  ASSERT_TRUE(head->SyncWal().ok());
  const Dump live = DumpHead(*head);
  EXPECT_EQ(live, Clip(live, 4 * kHour, INT64_MAX));
  EXPECT_EQ(ListBlocks(bucket_.get(), "t")->size(), 2u);
  head.reset();
  head = Open();
  EXPECT_EQ(DumpHead(*head), live);
  EXPECT_EQ(head->replay_stats().refused_samples, 0u);
}

// Found by wal_replay_fuzzer: a checkpoint numbered above every segment (its segment lost or
// removed by hand). Appends after the replay went to the segment below the checkpoint, which
// the next replay skips: acknowledged samples vanished at the second restart.
TEST_F(HeadCutTest, AppendsAfterACheckpointWhoseSegmentIsMissingSurviveTheNextReopen) {
  std::unique_ptr<TenantHead> head = Open();
  ASSERT_NO_FATAL_FAILURE(Fill(*head));
  ASSERT_TRUE(head->Truncate(2 * kHour).ok());
  ASSERT_TRUE(head->SyncWal().ok());
  const Dump truncated = DumpHead(*head);
  head.reset();
  const std::vector<std::string> names = *env_.ListDir("/data/t/wal");
  for (const std::string& name : names) {
    if (!name.starts_with("checkpoint.")) {
      ASSERT_TRUE(env_.RemoveFile("/data/t/wal/" + name).ok());
    }
  }
  head = Open();
  ASSERT_NE(head, nullptr);
  EXPECT_EQ(DumpHead(*head), truncated);  // all of it came from the checkpoint
  RequestBuilder req;
  req.Add(Name("keep", 0)).samples = {{6 * kHour, 42.0}};
  req.Add(Name("new", 0)).samples = {{6 * kHour, 43.0}};
  AppendResult r = head->Append(req.Build());
  ASSERT_TRUE(r.status.ok()) << r.status;
  ASSERT_EQ(r.samples_appended, 2u);
  ASSERT_TRUE(head->SyncWal().ok());
  const Dump live = DumpHead(*head);
  EXPECT_EQ(live.size(), truncated.size() + 1);
  head.reset();
  head = Open();
  ASSERT_NE(head, nullptr);
  EXPECT_EQ(DumpHead(*head), live);
}

// Found by wal_replay_fuzzer: a checkpoint record of a newer record-format version was counted
// as corruption and the head opened, unless a segment record followed it (then Open refused):
// so the first open of such a WAL succeeded and the reopen after one append failed.
TEST_F(HeadCutTest, ACheckpointRecordOfANewerFormatIsRefusedLikeASegmentRecord) {
  std::unique_ptr<TenantHead> head = Open();
  ASSERT_NO_FATAL_FAILURE(Fill(*head));
  ASSERT_TRUE(head->Truncate(2 * kHour).ok());
  head.reset();
  std::string checkpoint;
  const std::vector<std::string> names = *env_.ListDir("/data/t/wal");
  for (const std::string& name : names) {
    if (name.starts_with("checkpoint.")) checkpoint = "/data/t/wal/" + name;
  }
  ASSERT_FALSE(checkpoint.empty());
  const std::string segment = checkpoint + "/" + env_.ListDir(checkpoint)->front();
  std::string bytes = *env_.ReadFile(segment);
  ASSERT_EQ(bytes[32 + 8], 1);  // the first record's format version
  bytes[32 + 8] = 2;
  wal_fuzz::FixSegmentCrcs(&bytes);
  {
    auto file = env_.OpenFile(segment, storage::OpenMode::kReadWrite);
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->WriteAt(0, bytes).ok());
  }
  absl::StatusOr<std::unique_ptr<TenantHead>> reopened = TenantHead::Open(Options());
  EXPECT_TRUE(absl::IsFailedPrecondition(reopened.status())) << reopened.status();
  EXPECT_THAT(std::string(reopened.status().message()), ::testing::HasSubstr("newer format"));
}

TEST_F(HeadCutTest, FlushCutsOpenChunksWhenTheRangeEndsAfterTheHead) {
  std::unique_ptr<TenantHead> head = Open();
  ASSERT_NO_FATAL_FAILURE(Fill(*head));
  const Dump before = DumpHead(*head);
  const HeadStats stats = head->Stats();
  const std::string prefix = Cut(*head, stats.min_time, stats.max_time + 1);
  absl::StatusOr<std::unique_ptr<BlockReader>> block = BlockReader::Open(bucket_.get(), prefix);
  ASSERT_TRUE(block.ok());
  EXPECT_EQ(DumpBlock(**block), before);
  ASSERT_TRUE(head->Truncate(stats.max_time + 1).ok());
  EXPECT_TRUE(DumpHead(*head).empty());
  EXPECT_EQ(head->Stats().series, 0u);
  head.reset();
  head = Open();
  EXPECT_TRUE(DumpHead(*head).empty());
  EXPECT_EQ(head->Stats().series, 0u);
}

TEST_F(HeadCutTest, ARangeEndInsideAnOpenChunkIsRefused) {
  std::unique_ptr<TenantHead> head = Open();
  ASSERT_NO_FATAL_FAILURE(Fill(*head));
  absl::StatusOr<std::unique_ptr<BlockWriter>> w = BlockWriter::Create(&env_, "/data/tmp/b");
  ASSERT_TRUE(w.ok());
  absl::StatusOr<uint64_t> n = head->CutBlock(4 * kHour, 4 * kHour + 30 * kMinute, w->get());
  EXPECT_EQ(n.status().code(), absl::StatusCode::kInvalidArgument);
}

// A failure (then a machine crash) at every file operation of Truncate's checkpoint and
// clean-up: the reopened head holds either what it held before the truncation or what it held
// after; every sample at or after the cut is there exactly once.
TEST_F(HeadCutTest, CrashAtEveryStepOfTheCheckpointLosesAndDuplicatesNothing) {
  int completed_without_fault = 0;
  int failed = 0;
  for (int skip = 0; skip < 400 && completed_without_fault == 0; ++skip) {
    dir_ = "/data/crash" + std::to_string(skip);
    std::unique_ptr<TenantHead> head = Open();
    ASSERT_NO_FATAL_FAILURE(Fill(*head));
    const Dump before = DumpHead(*head);
    const Dump after = Clip(before, 2 * kHour, INT64_MAX);
    env_.InjectFault({.ops = FaultInjectionEnv::kAllOps,
                      .path_contains = dir_ + "/wal",
                      .skip = skip,
                      .count = -1});
    const absl::Status st = head->Truncate(2 * kHour);
    if (!st.ok()) ++failed;
    head.reset();
    env_.ClearFaults();
    env_.SimulateCrash(FaultInjectionEnv::CrashMode::kDropUnsynced, skip + 1);
    head = Open();
    ASSERT_NE(head, nullptr) << "skip " << skip;
    const Dump got = DumpHead(*head);
    EXPECT_TRUE(got == before || got == after) << "skip " << skip;
    EXPECT_EQ(Clip(got, 2 * kHour, INT64_MAX), after) << "skip " << skip;
    EXPECT_EQ(head->replay_stats().refused_samples, 0u) << "skip " << skip;
    if (st.ok()) {
      // The checkpoint was renamed and synced: the truncation holds (a fault in the
      // best-effort clean-up leaves old files replay ignores).
      EXPECT_EQ(got, after) << "skip " << skip;
      ++completed_without_fault;
    }
  }
  EXPECT_EQ(completed_without_fault, 1);
  EXPECT_GT(failed, 10);  // the steps: segment start, checkpoint writes, syncs, rename
}

}  // namespace
}  // namespace sprout::metrics::tsdb
