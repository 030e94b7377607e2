#include "metrics/tsdb/compact/retention.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/tsdb/compact/testing.h"
#include "objstore/memory.h"
#include "storage/fault_injection_env.h"

namespace sprout::metrics::tsdb {
namespace {

using namespace compact_testing;
constexpr int64_t H = kHourMs;
const int64_t kBase = int64_t{1700000000000} / (12 * H) * (12 * H);

TEST(Retention, DeletesOnlyBlocksWhollyBeforeTheCut) {
  storage::FaultInjectionEnv env;
  ManualClock clock(absl::FromUnixMillis(kBase));
  objstore::MemoryObjectStore store(&env, &clock);
  // Blocks [0,2) [2,4) [4,6) [6,8) hours after kBase, plus a 12 h one [0, 12).
  std::vector<std::pair<int64_t, int64_t>> ranges;
  for (int i = 0; i < 4; ++i) ranges.push_back({kBase + i * 2 * H, kBase + (i + 1) * 2 * H});
  RandomDataSet data = MakeRandomDataSet(&env, &store, "t", 1, ranges, 5);
  // The cut at kBase + 4 h + 1 ms: blocks ending at 2 h and 4 h go (their maxTime is exclusive),
  // the one ending at 6 h holds newer data and stays.
  const absl::Time now = absl::FromUnixMillis(kBase + 4 * H + 1) + absl::Hours(24);
  absl::StatusOr<RetentionResult> r = ApplyRetention(&store, "t", absl::Hours(24), now);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->deleted_blocks, ::testing::ElementsAre(data.metas[0].ulid, data.metas[1].ulid));
  EXPECT_THAT(*ListBlocks(&store, "t"),
              ::testing::ElementsAre(data.metas[2].ulid, data.metas[3].ulid));
  // Nothing of a deleted block is left.
  EXPECT_TRUE(store.List(BlockPrefix("t", data.metas[0].ulid))->keys.empty());
  // Every sample at or after the cut is still readable.
  SeriesSamples visible = *ReadAllSamples(&store, "t");
  for (const auto& [l, samples] : data.expected) {
    for (const TestSample& s : samples) {
      if (s.t < kBase + 4 * H) continue;
      auto it = visible.find(l);
      ASSERT_NE(it, visible.end());
      EXPECT_NE(std::find(it->second.begin(), it->second.end(), s), it->second.end());
    }
  }
  // A cut exactly at a block's maxTime deletes it; one a millisecond earlier does not.
  r = ApplyRetention(&store, "t", absl::Hours(24),
                     absl::FromUnixMillis(kBase + 6 * H - 1) + absl::Hours(24));
  EXPECT_TRUE(r->deleted_blocks.empty());
  r = ApplyRetention(&store, "t", absl::Hours(24),
                     absl::FromUnixMillis(kBase + 6 * H) + absl::Hours(24));
  EXPECT_THAT(r->deleted_blocks, ::testing::ElementsAre(data.metas[2].ulid));
}

TEST(Retention, ZeroKeepsEverything) {
  storage::FaultInjectionEnv env;
  objstore::MemoryObjectStore store(&env);
  RandomDataSet data = MakeRandomDataSet(&env, &store, "t", 2, {{0, 2 * H}, {2 * H, 4 * H}}, 3);
  absl::StatusOr<RetentionResult> r =
      ApplyRetention(&store, "t", absl::ZeroDuration(), absl::InfiniteFuture());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->deleted_blocks.empty());
  EXPECT_EQ(ListBlocks(&store, "t")->size(), 2u);
}

TEST(Retention, OldPartialBlocksAreRemovedRecentOnesAndOtherKeysKept) {
  storage::FaultInjectionEnv env;
  ManualClock clock;
  objstore::MemoryObjectStore store(&env, &clock);
  const std::string old_partial = BlockPrefix("t", Ulid::Generate()) + "/";
  ASSERT_TRUE(store.Put(old_partial + "chunks/000001", "x").ok());
  ASSERT_TRUE(store.Put(old_partial + "index", "y").ok());
  RandomDataSet data = MakeRandomDataSet(&env, &store, "t", 3, {{0, 2 * H}}, 3);
  ASSERT_TRUE(store.Put("t/not-a-block/file", "z").ok());
  clock.Advance(absl::Minutes(90));
  const std::string new_partial = BlockPrefix("t", Ulid::Generate()) + "/";
  ASSERT_TRUE(store.Put(new_partial + "chunks/000001", "x").ok());
  // A block whose meta.json was deleted long after its other objects were written is judged by
  // its newest object, so an old block being deleted goes at once.
  absl::StatusOr<RetentionResult> r =
      ApplyRetention(&store, "t", absl::ZeroDuration(), clock.Now());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->deleted_partial, ::testing::ElementsAre(old_partial));
  EXPECT_TRUE(store.List(old_partial)->keys.empty());
  EXPECT_EQ(store.List(new_partial)->keys.size(), 1u);
  EXPECT_TRUE(*store.Exists("t/not-a-block/file"));
  EXPECT_EQ(*ListBlocks(&store, "t"), std::vector<Ulid>{data.metas[0].ulid});  // complete: kept
  clock.Advance(absl::Minutes(61));
  r = ApplyRetention(&store, "t", absl::ZeroDuration(), clock.Now());
  EXPECT_THAT(r->deleted_partial, ::testing::ElementsAre(new_partial));
  EXPECT_EQ(ListBlocks(&store, "t")->size(), 1u);
}

}  // namespace
}  // namespace sprout::metrics::tsdb
