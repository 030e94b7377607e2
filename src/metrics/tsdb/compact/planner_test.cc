#include "metrics/tsdb/compact/planner.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sprout::metrics::tsdb {
namespace {

constexpr int64_t H = kHourMs;

// A block [min_h, max_h) in hours with a ULID that sorts by `id`.
BlockMeta Block(uint64_t id, int64_t min_h, int64_t max_h, int level = 1,
                std::vector<uint64_t> sources = {}) {
  BlockMeta m;
  m.ulid = Ulid(1000 + id, 0, id);
  m.min_time = min_h * H;
  m.max_time = max_h * H;
  m.compaction_level = level;
  if (sources.empty()) {
    m.sources = {m.ulid};
  } else {
    for (uint64_t s : sources) m.sources.push_back(Ulid(1000 + s, 0, s));
  }
  return m;
}

std::vector<uint64_t> Ids(const CompactionPlan& p) {
  std::vector<uint64_t> ids;
  for (const BlockMeta& m : p.blocks) ids.push_back(m.ulid.low());
  return ids;
}

std::vector<CompactionPlan> Plan(const std::vector<BlockMeta>& metas, const PlannerOptions& o,
                                 int64_t now_ms) {
  return PlanCompactions(metas, o, now_ms);
}

// A "now" long before every block: only newer blocks make a range complete.
constexpr int64_t kEarly = 0;

TEST(Planner, IncompleteRangeIsNotCompacted) {
  // Six 2 h blocks of [0, 12 h), but nothing after 12 h and the range is recent.
  std::vector<BlockMeta> metas;
  for (int i = 0; i < 6; ++i) metas.push_back(Block(i + 1, 2 * i, 2 * i + 2));
  EXPECT_TRUE(PlanCompactions(metas, {}, /*now=*/12 * H).empty());
  // Still recent: the range ended 2 h ago, the delay is 3 h.
  EXPECT_TRUE(PlanCompactions(metas, {}, 14 * H).empty());
  // Old enough: complete by the delay.
  std::vector<CompactionPlan> plans = PlanCompactions(metas, {}, 15 * H);
  ASSERT_EQ(plans.size(), 1u);
  EXPECT_THAT(Ids(plans[0]), ::testing::ElementsAre(1, 2, 3, 4, 5, 6));
}

TEST(Planner, CompleteRangeIsCompacted) {
  std::vector<BlockMeta> metas;
  for (int i = 0; i < 6; ++i) metas.push_back(Block(i + 1, 2 * i, 2 * i + 2));
  // A block ending exactly at the range's end does not complete it; one past it does.
  EXPECT_TRUE(PlanCompactions(metas, {}, kEarly).empty());
  metas.push_back(Block(7, 12, 14));
  std::vector<CompactionPlan> plans = PlanCompactions(metas, {}, kEarly);
  ASSERT_EQ(plans.size(), 1u);
  EXPECT_EQ(plans[0].range_start, 0);
  EXPECT_EQ(plans[0].range_end, 12 * H);
  EXPECT_FALSE(plans[0].overlapping);
  EXPECT_THAT(Ids(plans[0]), ::testing::ElementsAre(1, 2, 3, 4, 5, 6));  // not block 7
}

TEST(Planner, SeveralCompleteRangesArePlannedTogetherAndTheNewestWaits) {
  std::vector<BlockMeta> metas;
  for (int i = 0; i < 18; ++i) metas.push_back(Block(i + 1, 2 * i, 2 * i + 2));  // [0, 36 h)
  std::vector<CompactionPlan> plans = PlanCompactions(metas, {}, kEarly);
  ASSERT_EQ(plans.size(), 2u);
  EXPECT_EQ(plans[0].range_start, 0);
  EXPECT_EQ(plans[1].range_start, 12 * H);
  EXPECT_EQ(plans[1].blocks.size(), 6u);
}

TEST(Planner, GapsInARangeStillCompactWhenComplete) {
  // Blocks 0–2 h and 8–10 h only (a tenant that paused), then data after the range.
  std::vector<BlockMeta> metas = {Block(1, 0, 2), Block(2, 8, 10)};
  EXPECT_TRUE(PlanCompactions(metas, {}, kEarly).empty());
  metas.push_back(Block(3, 14, 16));
  std::vector<CompactionPlan> plans = PlanCompactions(metas, {}, kEarly);
  ASSERT_EQ(plans.size(), 1u);
  EXPECT_THAT(Ids(plans[0]), ::testing::ElementsAre(1, 2));
  // A range with one block is never planned, gap or not: [12, 24) holds only block 3.
}

TEST(Planner, SingleBlockIsLeftAloneWhateverItsLevel) {
  std::vector<BlockMeta> metas = {Block(1, 0, 12, 2, {10, 11, 12}), Block(2, 12, 24, 2, {13}),
                                  Block(3, 24, 26)};
  PlannerOptions two_levels;
  two_levels.ranges_ms = {2 * H, 12 * H};
  EXPECT_TRUE(PlanCompactions(metas, two_levels, 1000 * H).empty());
  // With the default 24 h level the two 12 h blocks of the complete day are one group.
  std::vector<CompactionPlan> plans = PlanCompactions(metas, {}, 1000 * H);
  ASSERT_EQ(plans.size(), 1u);
  EXPECT_EQ(plans[0].range_end, 24 * H);
  EXPECT_THAT(Ids(plans[0]), ::testing::ElementsAre(1, 2));
  // A lone 24 h block is left alone.
  EXPECT_TRUE(Plan({Block(5, 0, 24, 3, {10, 11, 12, 13}), Block(3, 24, 26)}, {}, 1000 * H).empty());
  // A lone level-1 block in an old range too.
  EXPECT_TRUE(Plan({Block(4, 0, 2)}, {}, 1000 * H).empty());
}

TEST(Planner, OverlappingBlocksAreMergedVertically) {
  // A re-upload after a crash: two blocks for 2–4 h.
  std::vector<BlockMeta> metas = {Block(1, 0, 2), Block(2, 2, 4), Block(3, 2, 4), Block(4, 12, 14)};
  std::vector<CompactionPlan> plans = PlanCompactions(metas, {}, kEarly);
  ASSERT_EQ(plans.size(), 1u);
  EXPECT_TRUE(plans[0].overlapping);
  EXPECT_THAT(Ids(plans[0]), ::testing::ElementsAre(1, 2, 3));
  // Only overlapping blocks in a range, complete: merged too.
  plans = Plan({Block(1, 2, 4), Block(2, 2, 4), Block(3, 14, 16)}, {}, kEarly);
  ASSERT_EQ(plans.size(), 1u);
  EXPECT_TRUE(plans[0].overlapping);
  // A 2 h block overlapping a finished 12 h block (data re-sent after the compaction).
  plans = Plan({Block(1, 0, 12, 2, {8, 9}), Block(2, 4, 6), Block(3, 12, 14)}, {}, kEarly);
  ASSERT_EQ(plans.size(), 1u);
  EXPECT_TRUE(plans[0].overlapping);
  EXPECT_THAT(Ids(plans[0]), ::testing::ElementsAre(1, 2));
  // Overlapping but incomplete: waits (the querier de-duplicates meanwhile).
  EXPECT_TRUE(Plan({Block(1, 2, 4), Block(2, 2, 4)}, {}, 5 * H).empty());
}

TEST(Planner, BlocksCrossingARangeBoundaryBelongToNoGroup) {
  // Two levels: block 2 crosses the 12 h boundary (with the 24 h level it would join block 1
  // in the day's group).
  PlannerOptions two_levels;
  two_levels.ranges_ms = {2 * H, 12 * H};
  std::vector<BlockMeta> metas = {Block(1, 0, 2), Block(2, 11, 13), Block(3, 24, 26)};
  EXPECT_TRUE(PlanCompactions(metas, two_levels, kEarly).empty());
  metas.push_back(Block(4, 2, 4));
  std::vector<CompactionPlan> plans = PlanCompactions(metas, two_levels, kEarly);
  ASSERT_EQ(plans.size(), 1u);
  EXPECT_THAT(Ids(plans[0]), ::testing::ElementsAre(1, 4));
}

TEST(Planner, NegativeTimesAlignDown) {
  // [-12 h, 0) is one range; -2..0 and -4..-2 fall in it.
  std::vector<BlockMeta> metas = {Block(1, -4, -2), Block(2, -2, 0), Block(3, 0, 2)};
  std::vector<CompactionPlan> plans = PlanCompactions(metas, {}, kEarly);
  ASSERT_EQ(plans.size(), 1u);
  EXPECT_EQ(plans[0].range_start, -12 * H);
  EXPECT_THAT(Ids(plans[0]), ::testing::ElementsAre(1, 2));
}

TEST(Planner, MoreLevelsGoOneLevelAtATime) {
  PlannerOptions opts;
  opts.ranges_ms = {2 * H, 12 * H, 24 * H};
  // Two finished 12 h blocks of day 0, and 2 h blocks of [24, 28) plus one after.
  std::vector<BlockMeta> metas = {Block(1, 0, 12, 2, {11}), Block(2, 12, 24, 2, {12}),
                                  Block(3, 24, 26), Block(4, 26, 28), Block(5, 36, 38)};
  std::vector<CompactionPlan> plans = PlanCompactions(metas, opts, kEarly);
  ASSERT_EQ(plans.size(), 1u);  // the 12 h level first
  EXPECT_THAT(Ids(plans[0]), ::testing::ElementsAre(3, 4));
  // Once it ran, the day is planned.
  metas = {Block(1, 0, 12, 2, {11}), Block(2, 12, 24, 2, {12}), Block(6, 24, 28, 2, {3, 4}),
           Block(5, 36, 38)};
  plans = PlanCompactions(metas, opts, kEarly);
  ASSERT_EQ(plans.size(), 1u);
  EXPECT_EQ(plans[0].range_end, 24 * H);
  EXPECT_THAT(Ids(plans[0]), ::testing::ElementsAre(1, 2));
}

TEST(Planner, BadRangesPlanNothing) {
  std::vector<BlockMeta> metas = {Block(1, 0, 2), Block(2, 2, 4), Block(3, 12, 14)};
  PlannerOptions opts;
  opts.ranges_ms = {12 * H, 2 * H};
  EXPECT_TRUE(PlanCompactions(metas, opts, kEarly).empty());
  opts.ranges_ms = {};
  EXPECT_TRUE(PlanCompactions(metas, opts, kEarly).empty());
  opts.ranges_ms = {2 * H};  // one level: nothing to compact into
  EXPECT_TRUE(PlanCompactions(metas, opts, kEarly).empty());
}

TEST(Planner, CoveredBlocksAreTheLeftoversOfACompaction) {
  // Block 9 was made from 1 and 2; the crash left 2 (and 1 half-deleted, so not listed).
  std::vector<BlockMeta> metas = {Block(2, 2, 4), Block(9, 0, 12, 2, {1, 2}), Block(3, 12, 14)};
  EXPECT_THAT(CoveredBlocks(metas), ::testing::ElementsAre(Ulid(1002, 0, 2)));
  // The planner ignores it: no plan merges 2 with 9 (it would duplicate nothing, but waste).
  EXPECT_TRUE(PlanCompactions(metas, {}, kEarly).empty());
  // Two compactions of the same sources: the larger ULID stays.
  metas = {Block(8, 0, 12, 2, {1, 2}), Block(9, 0, 12, 2, {1, 2})};
  EXPECT_THAT(CoveredBlocks(metas), ::testing::ElementsAre(Ulid(1008, 0, 8)));
  // A 12 h block covering a level-2 vertical merge of 1 and 2.
  metas = {Block(5, 0, 2, 2, {1, 2}), Block(6, 0, 12, 3, {1, 2, 3, 4})};
  EXPECT_THAT(CoveredBlocks(metas), ::testing::ElementsAre(Ulid(1005, 0, 5)));
  // Overlapping level-1 blocks (a re-upload) cover nothing: each is its own source.
  metas = {Block(1, 0, 2), Block(2, 0, 2)};
  EXPECT_TRUE(CoveredBlocks(metas).empty());
  // Partial overlap of sources is no cover.
  metas = {Block(5, 0, 4, 2, {1, 2}), Block(6, 0, 4, 2, {2, 3})};
  EXPECT_TRUE(CoveredBlocks(metas).empty());
}

}  // namespace
}  // namespace sprout::metrics::tsdb
