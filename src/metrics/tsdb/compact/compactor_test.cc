#include "metrics/tsdb/compact/compactor.h"

#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/tsdb/compact/retention.h"
#include "metrics/tsdb/compact/testing.h"
#include "objstore/fault_injection.h"
#include "objstore/filesystem.h"
#include "objstore/memory.h"
#include "storage/fault_injection_env.h"

namespace sprout::metrics::tsdb {
namespace {

using namespace compact_testing;
constexpr int64_t H = kHourMs;
const int64_t kBase = int64_t{1700000000000} / (12 * H) * (12 * H);

// Six 2 h blocks of one 12 h range, a re-upload of one of them (overlapping, with some
// conflicting values), and two blocks after the range (which make it complete).
std::vector<std::pair<int64_t, int64_t>> TypicalRanges() {
  std::vector<std::pair<int64_t, int64_t>> r;
  for (int i = 0; i < 6; ++i) r.push_back({kBase + i * 2 * H, kBase + (i + 1) * 2 * H});
  r.push_back({kBase + 4 * H, kBase + 6 * H});
  r.push_back({kBase + 12 * H, kBase + 14 * H});
  r.push_back({kBase + 14 * H, kBase + 16 * H});
  return r;
}

// "Now" just after the typical data: [kBase + 12 h, kBase + 24 h) is not complete yet.
const ManualClock kJustAfter(absl::FromUnixMillis(kBase + 16 * H));

CompactorOptions OptionsOn(storage::Env* env) {
  CompactorOptions o;
  o.clock = &kJustAfter;
  o.env = env;
  o.local_dir = "/compact";
  o.segment_size = 8 << 10;
  return o;
}

// Every key under the prefix belongs to a visible block.
std::string StrayKeys(objstore::ObjectStore* store, const std::string& prefix) {
  std::vector<Ulid> blocks = *ListBlocks(store, prefix);
  const std::vector<std::string> keys = store->List(prefix + "/")->keys;
  for (const std::string& key : keys) {
    bool ok = false;
    for (const Ulid& u : blocks) ok = ok || key.starts_with(BlockPrefix(prefix, u) + "/");
    if (!ok) return key;
  }
  return "";
}

TEST(Compactor, RunCompactsTheCompleteRangeAndKeepsEverySample) {
  storage::FaultInjectionEnv env;
  objstore::MemoryObjectStore store(&env);
  RandomDataSet data = MakeRandomDataSet(&env, &store, "tenant", 7, TypicalRanges(), 20);
  Compactor compactor(&store, "tenant", OptionsOn(&env));
  absl::StatusOr<CompactionRunResult> run = compactor.Run();
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_EQ(run->new_blocks.size(), 1u);
  const BlockMeta& made = run->new_blocks[0];
  EXPECT_EQ(made.min_time, kBase);
  EXPECT_EQ(made.max_time, kBase + 12 * H);
  EXPECT_EQ(made.compaction_level, 2);
  EXPECT_EQ(made.sources.size(), 7u);
  // The two blocks after the range stay as they are.
  EXPECT_THAT(*ListBlocks(&store, "tenant"),
              ::testing::UnorderedElementsAre(made.ulid, data.metas[7].ulid, data.metas[8].ulid));
  EXPECT_EQ(DiffSamples(data.expected, *ReadAllSamples(&store, "tenant")), "");
  // Count before = count after, minus exact duplicates and the older values of conflicts.
  uint64_t after = 0;
  const std::vector<BlockMeta> metas = *ReadBlockMetas(&store, "tenant");
  for (const BlockMeta& m : metas) after += m.stats.num_samples;
  EXPECT_GT(data.duplicates, 0u);
  EXPECT_EQ(after, data.input_samples - data.duplicates - data.conflicts);
  EXPECT_EQ(StrayKeys(&store, "tenant"), "");

  // Nothing more to do.
  run = compactor.Run();
  ASSERT_TRUE(run.ok());
  EXPECT_TRUE(run->new_blocks.empty());
  EXPECT_TRUE(run->deleted_covered.empty());
}

TEST(Compactor, DefaultRangesGoTwoHoursToTwelveToOneDay) {
  // Twelve 2 h blocks of one day (aligned to 24 h), a re-upload overlapping the 9th (a
  // vertical compaction inside the second half), and one block of the next day, which makes
  // the day complete. The defaults are Mimir's 2 h, 12 h, 24 h.
  const int64_t day = int64_t{1700000000000} / (24 * H) * (24 * H);
  std::vector<std::pair<int64_t, int64_t>> ranges;
  for (int i = 0; i < 12; ++i) ranges.push_back({day + i * 2 * H, day + (i + 1) * 2 * H});
  ranges.push_back({day + 16 * H, day + 18 * H});
  ranges.push_back({day + 24 * H, day + 26 * H});
  storage::FaultInjectionEnv env;
  objstore::MemoryObjectStore store(&env);
  RandomDataSet data = MakeRandomDataSet(&env, &store, "tenant", 11, ranges, 10);
  const ManualClock clock(absl::FromUnixMillis(day + 26 * H));
  CompactorOptions o = OptionsOn(&env);
  o.clock = &clock;
  ASSERT_EQ(o.planner.ranges_ms, (std::vector<int64_t>{2 * H, 12 * H, 24 * H}));
  Compactor compactor(&store, "tenant", o);
  absl::StatusOr<CompactionRunResult> run = compactor.Run();
  ASSERT_TRUE(run.ok()) << run.status();
  // Two 12 h blocks (level 2), then the day (level 3) from them.
  ASSERT_EQ(run->new_blocks.size(), 3u);
  EXPECT_EQ(run->new_blocks[0].max_time - run->new_blocks[0].min_time, 12 * H);
  EXPECT_EQ(run->new_blocks[1].max_time - run->new_blocks[1].min_time, 12 * H);
  EXPECT_EQ(run->new_blocks[0].compaction_level, 2);
  const BlockMeta& made = run->new_blocks[2];
  EXPECT_EQ(made.min_time, day);
  EXPECT_EQ(made.max_time, day + 24 * H);
  EXPECT_EQ(made.compaction_level, 3);
  EXPECT_EQ(made.sources.size(), 13u);
  EXPECT_THAT(*ListBlocks(&store, "tenant"),
              ::testing::UnorderedElementsAre(made.ulid, data.metas[13].ulid));
  // Every sample once: the expected (de-duplicated) set, and the count = in - dups - conflicts.
  EXPECT_EQ(DiffSamples(data.expected, *ReadAllSamples(&store, "tenant")), "");
  uint64_t after = 0;
  const std::vector<BlockMeta> all_metas = *ReadBlockMetas(&store, "tenant");
  for (const BlockMeta& m : all_metas) after += m.stats.num_samples;
  EXPECT_EQ(after, data.input_samples - data.duplicates - data.conflicts);
  EXPECT_EQ(StrayKeys(&store, "tenant"), "");
  run = compactor.Run();
  ASSERT_TRUE(run.ok());
  EXPECT_TRUE(run->new_blocks.empty());
}

TEST(Compactor, OldRangeIsCompactedByTheDelayAlone) {
  storage::FaultInjectionEnv env;
  objstore::MemoryObjectStore store(&env);
  std::vector<std::pair<int64_t, int64_t>> ranges = {{kBase, kBase + 2 * H},
                                                     {kBase + 2 * H, kBase + 4 * H}};
  RandomDataSet data = MakeRandomDataSet(&env, &store, "t", 3, ranges);
  ManualClock clock(absl::FromUnixMillis(kBase + 12 * H) + absl::Hours(2));
  CompactorOptions o = OptionsOn(&env);
  o.clock = &clock;
  Compactor compactor(&store, "t", o);
  EXPECT_TRUE(compactor.Run()->new_blocks.empty());  // 2 h after the range: not yet
  clock.Advance(absl::Hours(1));
  EXPECT_EQ(compactor.Run()->new_blocks.size(), 1u);
  EXPECT_EQ(DiffSamples(data.expected, *ReadAllSamples(&store, "t")), "");
}

TEST(Compactor, InterruptedDeletesAreFinishedByTheNextRun) {
  storage::FaultInjectionEnv env;
  objstore::MemoryObjectStore memory(&env);
  objstore::FaultInjectionObjectStore store(&memory);
  RandomDataSet data = MakeRandomDataSet(&env, &memory, "t", 11, TypicalRanges());
  // Every delete fails: the new block is uploaded, the sources stay.
  store.InjectFault({.ops = objstore::FaultInjectionObjectStore::kDelete, .count = -1});
  Compactor compactor(&store, "t", OptionsOn(&env));
  EXPECT_FALSE(compactor.Run().ok());
  EXPECT_EQ(ListBlocks(&memory, "t")->size(), 10u);  // 9 + the new one
  EXPECT_EQ(MissingSamples(data.expected, *ReadAllSamples(&memory, "t")), "");
  store.ClearFaults();
  absl::StatusOr<CompactionRunResult> run = compactor.Run();
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->deleted_covered.size(), 7u);
  EXPECT_TRUE(run->new_blocks.empty());  // the covered sources were not compacted again
  EXPECT_EQ(DiffSamples(data.expected, *ReadAllSamples(&memory, "t")), "");
  EXPECT_EQ(StrayKeys(&memory, "t"), "");
}

TEST(Compactor, FailedStoreCallAtEveryStepLosesNothing) {
  int failures = 0;
  for (int step = 0;; ++step) {
    SCOPED_TRACE(step);
    storage::FaultInjectionEnv env;
    objstore::MemoryObjectStore memory(&env);
    RandomDataSet data = MakeRandomDataSet(&env, &memory, "t", 5, TypicalRanges(), 8);
    objstore::FaultInjectionObjectStore store(&memory);
    store.InjectFault({.skip = step});
    Compactor compactor(&store, "t", OptionsOn(&env));
    absl::StatusOr<CompactionRunResult> run = compactor.Run();
    const bool struck = store.stats().failed > 0;
    EXPECT_EQ(run.ok(), !struck) << run.status();
    // No gap, whatever failed.
    absl::StatusOr<SeriesSamples> visible = ReadAllSamples(&memory, "t");
    ASSERT_TRUE(visible.ok()) << visible.status();
    ASSERT_EQ(MissingSamples(data.expected, *visible), "");
    // The next run and the partial-block clean-up leave every sample exactly once.
    store.ClearFaults();
    run = compactor.Run();
    ASSERT_TRUE(run.ok()) << run.status();
    ASSERT_TRUE(DeletePartialBlocks(&memory, "t", absl::InfiniteFuture()).ok());
    ASSERT_EQ(DiffSamples(data.expected, *ReadAllSamples(&memory, "t")), "");
    EXPECT_EQ(ListBlocks(&memory, "t")->size(), 3u);
    EXPECT_EQ(StrayKeys(&memory, "t"), "");
    if (!struck) break;
    ++failures;
  }
  EXPECT_GT(failures, 40);
}

// kDropUnsynced: a machine crash (unsynced writes and directory changes lost); kKeepUnsynced:
// kill -9 (everything done so far stays, so the order of the deletes is observable).
class CompactorCrash : public ::testing::TestWithParam<storage::FaultInjectionEnv::CrashMode> {};

TEST_P(CompactorCrash, AtEveryStepLosesNothing) {
  using storage::FaultInjectionEnv;
  int crashes = 0;
  for (int step = 0;; ++step) {
    SCOPED_TRACE(step);
    FaultInjectionEnv env;
    RandomDataSet data;
    {
      auto fs = objstore::FilesystemObjectStore::Open(&env, "/bucket");
      ASSERT_TRUE(fs.ok());
      data = MakeRandomDataSet(&env, fs->get(), "t", 9, TypicalRanges(), 6);
      // From operation `step` on, every file-system call fails (the process died there).
      env.InjectFault({.skip = step, .count = -1, .error = absl::AbortedError("crash")});
      Compactor compactor(fs->get(), "t", OptionsOn(&env));
      absl::StatusOr<CompactionRunResult> run = compactor.Run();
      env.ClearFaults();
      if (run.ok()) break;
    }
    ++crashes;
    env.SimulateCrash(GetParam(), step);
    auto fs = objstore::FilesystemObjectStore::Open(&env, "/bucket");
    ASSERT_TRUE(fs.ok()) << fs.status();
    absl::StatusOr<SeriesSamples> visible = ReadAllSamples(fs->get(), "t");
    ASSERT_TRUE(visible.ok()) << visible.status();
    ASSERT_EQ(MissingSamples(data.expected, *visible), "");
    // Restart: the compactor, the partial-block and temporary-file clean-ups.
    Compactor compactor(fs->get(), "t", OptionsOn(&env));
    absl::StatusOr<CompactionRunResult> run = compactor.Run();
    ASSERT_TRUE(run.ok()) << run.status();
    ASSERT_TRUE(DeletePartialBlocks(fs->get(), "t", absl::InfiniteFuture()).ok());
    ASSERT_TRUE((*fs)->CleanUp(absl::InfiniteFuture()).ok());
    ASSERT_EQ(DiffSamples(data.expected, *ReadAllSamples(fs->get(), "t")), "");
    EXPECT_EQ(ListBlocks(fs->get(), "t")->size(), 3u);
    EXPECT_EQ(StrayKeys(fs->get(), "t"), "");
    EXPECT_TRUE(env.ListDir("/compact")->empty());
  }
  EXPECT_GT(crashes, 100);
}

INSTANTIATE_TEST_SUITE_P(Modes, CompactorCrash,
                         ::testing::Values(storage::FaultInjectionEnv::CrashMode::kDropUnsynced,
                                           storage::FaultInjectionEnv::CrashMode::kKeepUnsynced));

TEST(Compactor, CorruptMetaIsAnErrorNotADroppedBlock) {
  storage::FaultInjectionEnv env;
  objstore::MemoryObjectStore store(&env);
  RandomDataSet data = MakeRandomDataSet(&env, &store, "t", 2, TypicalRanges(), 4);
  ASSERT_TRUE(store.Put(BlockPrefix("t", data.metas[0].ulid) + "/meta.json", "{not json").ok());
  Compactor compactor(&store, "t", OptionsOn(&env));
  absl::StatusOr<CompactionRunResult> run = compactor.Run();
  ASSERT_FALSE(run.ok());
  EXPECT_THAT(run.status().message(), ::testing::HasSubstr(data.metas[0].ulid.ToString()));
  EXPECT_EQ(ListBlocks(&store, "t")->size(), 9u);
}

}  // namespace
}  // namespace sprout::metrics::tsdb

namespace sprout::metrics::tsdb {
namespace {

std::vector<Ulid> IndexBlocks(objstore::ObjectStore* store, const std::string& prefix) {
  std::vector<Ulid> out;
  absl::StatusOr<BucketIndex> idx = ReadBucketIndex(store, prefix);
  if (!idx.ok()) return out;
  for (const BucketIndexBlock& b : idx->blocks) out.push_back(b.ulid);
  return out;
}

TEST(CompactorBucketIndex, PlansFromTheIndexAndReportsEveryChange) {
  storage::FaultInjectionEnv env;
  objstore::MemoryObjectStore memory(&env);
  RandomDataSet data = MakeRandomDataSet(&env, &memory, "tenant", 7, TypicalRanges(), 10);
  objstore::FaultInjectionObjectStore store(&memory);
  TenantBucketIndex index(&store, "tenant");
  ASSERT_TRUE(index.Resync().ok());
  const int64_t lists = store.stats().lists;
  CompactorOptions o = OptionsOn(&env);
  o.bucket_index = &index;
  Compactor compactor(&store, "tenant", o);
  absl::StatusOr<CompactionRunResult> run = compactor.Run();
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_EQ(run->new_blocks.size(), 1u);
  EXPECT_EQ(store.stats().lists, lists);  // planned from the index: no listing
  EXPECT_TRUE(index.synced());
  EXPECT_EQ(IndexBlocks(&memory, "tenant"), *ListBlocks(&memory, "tenant"));
  EXPECT_EQ(DiffSamples(data.expected, *ReadAllSamples(&memory, "tenant")), "");
  // The new block's entry: range, level, segments as uploaded.
  absl::StatusOr<BucketIndex> read = ReadBucketIndex(&memory, "tenant");
  ASSERT_TRUE(read.ok());
  for (const BucketIndexBlock& b : read->blocks) {
    if (b.ulid != run->new_blocks[0].ulid) continue;
    EXPECT_EQ(b.min_time, run->new_blocks[0].min_time);
    EXPECT_EQ(b.max_time, run->new_blocks[0].max_time);
    EXPECT_EQ(b.compaction_level, 2);
    EXPECT_EQ(b.segments_format, "1b6d");
    EXPECT_EQ(static_cast<size_t>(b.segments_num),
              memory.List(BlockPrefix("tenant", b.ulid) + "/chunks/")->keys.size());
  }
  // Retention takes blocks out of the index as it deletes them.
  absl::StatusOr<RetentionResult> ret =
      ApplyRetention(&store, "tenant", absl::Hours(1), absl::FromUnixMillis(kBase + 100 * H),
                     absl::Hours(1), &index);
  ASSERT_TRUE(ret.ok()) << ret.status();
  EXPECT_EQ(ret->deleted_blocks.size(), 3u);
  EXPECT_TRUE(ListBlocks(&memory, "tenant")->empty());
  EXPECT_TRUE(IndexBlocks(&memory, "tenant").empty());
  EXPECT_TRUE(index.synced());
}

TEST(CompactorBucketIndex, FailedCallAtEveryStepNeverHidesABlockFromTheIndex) {
  // Whatever fails (a block's upload or delete, the index's own Get or Put), while the index is
  // synced it lists every block the bucket shows (a reader trusting it misses nothing); blocks
  // it still lists may be gone, which readers tolerate. Once resynced it is exactly the bucket.
  int failures = 0;
  for (int step = 0;; ++step) {
    SCOPED_TRACE(step);
    storage::FaultInjectionEnv env;
    objstore::MemoryObjectStore memory(&env);
    RandomDataSet data = MakeRandomDataSet(&env, &memory, "t", 5, TypicalRanges(), 8);
    objstore::FaultInjectionObjectStore store(&memory);
    TenantBucketIndex index(&store, "t");
    ASSERT_TRUE(index.Resync().ok());
    store.InjectFault({.skip = step});
    CompactorOptions o = OptionsOn(&env);
    o.bucket_index = &index;
    Compactor compactor(&store, "t", o);
    (void)compactor.Run();
    const bool struck = store.stats().failed > 0;
    if (index.synced()) {
      std::vector<Ulid> in_index = IndexBlocks(&memory, "t");
      // (Held in a variable: a range-for over *temporary StatusOr would dangle.)
      const std::vector<Ulid> listed = *ListBlocks(&memory, "t");
      for (const Ulid& u : listed) {
        EXPECT_TRUE(std::find(in_index.begin(), in_index.end(), u) != in_index.end())
            << u.ToString() << " is in the bucket but not in the synced index (" << in_index.size()
            << " in the index, failed " << store.stats().failed << ")";
      }
    }
    store.ClearFaults();
    ASSERT_TRUE(compactor.Run().ok());
    ASSERT_TRUE(index.Resync().ok());
    EXPECT_EQ(IndexBlocks(&memory, "t"), *ListBlocks(&memory, "t"));
    ASSERT_TRUE(DeletePartialBlocks(&memory, "t", absl::InfiniteFuture()).ok());
    ASSERT_EQ(DiffSamples(data.expected, *ReadAllSamples(&memory, "t")), "");
    if (!struck) break;
    ++failures;
  }
  EXPECT_GT(failures, 40);
}

}  // namespace
}  // namespace sprout::metrics::tsdb
