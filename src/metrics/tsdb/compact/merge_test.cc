#include "metrics/tsdb/compact/merge.h"

#include <random>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/tsdb/compact/compactor.h"
#include "metrics/tsdb/compact/testing.h"
#include "objstore/memory.h"
#include "storage/fault_injection_env.h"

namespace sprout::metrics::tsdb {
namespace {

using namespace compact_testing;
using chunkenc::ValueType;
constexpr int64_t H = kHourMs;
const int64_t kBase = int64_t{1700000000000} / (12 * H) * (12 * H);  // a 12 h boundary

struct Fixture {
  storage::FaultInjectionEnv env;
  objstore::MemoryObjectStore store{&env};
  CompactorOptions Options() {
    CompactorOptions o;
    o.env = &env;
    o.local_dir = "/compact";
    o.segment_size = 16 << 10;
    return o;
  }
};

std::set<std::string> ChunkPayloads(objstore::ObjectStore* store, const std::string& prefix) {
  std::set<std::string> out;
  const std::vector<Ulid> blocks = *ListBlocks(store, prefix);
  for (const Ulid& u : blocks) {
    auto r = *BlockReader::Open(store, BlockPrefix(prefix, u));
    for (uint64_t ref = 0; ref < r->index().num_series(); ++ref) {
      Labels l;
      std::vector<ChunkMeta> chunks;
      EXPECT_TRUE(r->Series(ref, &l, &chunks).ok());
      for (const ChunkMeta& c : chunks) out.insert(r->ReadChunk(c.ref)->payload);
    }
  }
  return out;
}

TEST(Merge, RandomBlocksWithOverlapsMergeToTheExpectedSamples) {
  uint64_t total_dropped = 0, total_conflicts = 0, total_reencoded = 0;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    SCOPED_TRACE(seed);
    std::mt19937_64 rng(seed);
    Fixture f;
    const int blocks = 2 + static_cast<int>(rng() % 5);
    std::vector<std::pair<int64_t, int64_t>> ranges;
    for (int b = 0; b < blocks; ++b) {
      const int64_t slot = static_cast<int64_t>(rng() % 4);  // few slots: overlaps are common
      ranges.push_back({kBase + slot * 2 * H, kBase + (slot + 1) * 2 * H});
    }
    RandomDataSet data = MakeRandomDataSet(&f.env, &f.store, "t", seed, ranges);
    CompactionPlan plan;
    plan.blocks = data.metas;
    Compactor compactor(&f.store, "t", f.Options());
    MergeStats stats;
    absl::StatusOr<BlockMeta> made = compactor.Compact(plan, &stats);
    ASSERT_TRUE(made.ok()) << made.status();

    // Only the new block is left, and it holds exactly the expected samples.
    EXPECT_THAT(*ListBlocks(&f.store, "t"), ::testing::ElementsAre(made->ulid));
    absl::StatusOr<SeriesSamples> got = ReadAllSamples(&f.store, "t");
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(DiffSamples(data.expected, *got), "");

    // Every sample is kept, minus the ones another block had at the same timestamp.
    const uint64_t dropped = data.duplicates + data.conflicts;
    EXPECT_EQ(stats.duplicate_samples + stats.conflicting_samples, dropped);
    EXPECT_EQ(made->stats.num_samples, data.input_samples - dropped);
    EXPECT_EQ(made->stats.num_series, data.expected.size());
    EXPECT_EQ(stats.series, data.expected.size());
    total_dropped += dropped;
    total_conflicts += stats.conflicting_samples;
    total_reencoded += stats.chunks_reencoded;

    // Lineage.
    int max_level = 0;
    int64_t min_t = INT64_MAX, max_t = INT64_MIN;
    std::vector<Ulid> sources;
    for (const BlockMeta& m : data.metas) {
      max_level = std::max(max_level, m.compaction_level);
      min_t = std::min(min_t, m.min_time);
      max_t = std::max(max_t, m.max_time);
      sources.push_back(m.ulid);
    }
    EXPECT_EQ(made->compaction_level, max_level + 1);
    EXPECT_EQ(made->sources, sources);  // sorted: the data set's ULIDs increase
    ASSERT_EQ(made->parents.size(), data.metas.size());
    for (size_t i = 0; i < data.metas.size(); ++i) {
      EXPECT_EQ(made->parents[i].ulid, data.metas[i].ulid);
      EXPECT_EQ(made->parents[i].min_time, data.metas[i].min_time);
    }
    EXPECT_EQ(made->min_time, min_t);
    EXPECT_EQ(made->max_time, max_t);
    // Nothing left behind locally.
    EXPECT_TRUE(f.env.ListDir("/compact")->empty());
  }
  // The seeds exercised what they are for.
  EXPECT_GT(total_dropped, 100u);
  EXPECT_GT(total_conflicts, 10u);
  EXPECT_GT(total_reencoded, 100u);
}

TEST(Merge, NonOverlappingChunksAreCopiedByteForByte) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    Fixture f;
    std::vector<std::pair<int64_t, int64_t>> ranges;
    for (int b = 0; b < 6; ++b) ranges.push_back({kBase + b * 2 * H, kBase + (b + 1) * 2 * H});
    RandomDataSet data = MakeRandomDataSet(&f.env, &f.store, "t", seed, ranges);
    EXPECT_EQ(data.duplicates + data.conflicts, 0u);
    const std::set<std::string> before = ChunkPayloads(&f.store, "t");
    CompactionPlan plan;
    plan.blocks = data.metas;
    Compactor compactor(&f.store, "t", f.Options());
    MergeStats stats;
    absl::StatusOr<BlockMeta> made = compactor.Compact(plan, &stats);
    ASSERT_TRUE(made.ok()) << made.status();
    EXPECT_EQ(stats.chunks_reencoded, 0u);
    EXPECT_EQ(stats.chunks_copied, stats.chunks_written);
    EXPECT_EQ(ChunkPayloads(&f.store, "t"), before);
    EXPECT_EQ(DiffSamples(data.expected, *ReadAllSamples(&f.store, "t")), "");
    EXPECT_EQ(made->stats.num_samples, data.input_samples);
  }
}

std::string FloatChunkBytes(std::initializer_list<std::pair<int64_t, double>> samples) {
  chunkenc::FloatChunk c;
  for (auto [t, v] : samples) EXPECT_TRUE(c.Append(t, v));
  return std::string(c.bytes());
}

TEST(MergeSeriesChunks, OverlapsAreReencodedNewestWinsNeighboursAreCopied) {
  const std::string a = FloatChunkBytes({{10, 1}, {20, 2}, {30, 3}});   // rank 0
  const std::string b = FloatChunkBytes({{20, 2}, {25, 9}, {30, 30}});  // rank 1: newer
  const std::string c = FloatChunkBytes({{40, 4}, {50, 5}});            // rank 0, alone
  std::vector<SourceChunk> in = {
      {{40, 50, chunkenc::Encoding::kXor, c}, 0},
      {{20, 30, chunkenc::Encoding::kXor, b}, 1},
      {{10, 30, chunkenc::Encoding::kXor, a}, 0},
  };
  std::vector<ChunkMeta> out;
  std::deque<std::string> storage;
  MergeStats stats;
  ASSERT_TRUE(MergeSeriesChunks(in, &out, &storage, &stats).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].min_time, 10);
  EXPECT_EQ(out[0].max_time, 30);
  EXPECT_EQ(out[1].bytes, c);  // copied
  EXPECT_EQ(out[1].bytes.data(), c.data());
  std::vector<std::pair<int64_t, double>> got;
  auto it = chunkenc::NewIterator(out[0].encoding, out[0].bytes);
  while (it->Next() == ValueType::kFloat) got.push_back(it->At());
  EXPECT_THAT(got, ::testing::ElementsAre(
                       std::pair<int64_t, double>{10, 1}, std::pair<int64_t, double>{20, 2},
                       std::pair<int64_t, double>{25, 9}, std::pair<int64_t, double>{30, 30}));
  EXPECT_EQ(stats.duplicate_samples, 1u);    // 20 → 2 in both
  EXPECT_EQ(stats.conflicting_samples, 1u);  // 30: 3 (older) vs 30 (newer)
  EXPECT_EQ(stats.chunks_copied, 1u);
  EXPECT_EQ(stats.chunks_reencoded, 2u);
  EXPECT_EQ(stats.chunks_written, 2u);
}

TEST(MergeSeriesChunks, TouchingChunksCountAsOverlapping) {
  // Chunks sharing one timestamp must not both be copied (the writer would refuse them).
  const std::string a = FloatChunkBytes({{10, 1}, {20, 2}});
  const std::string b = FloatChunkBytes({{20, 2}, {30, 3}});
  std::vector<ChunkMeta> out;
  std::deque<std::string> storage;
  MergeStats stats;
  ASSERT_TRUE(MergeSeriesChunks({{{10, 20, chunkenc::Encoding::kXor, a}, 0},
                                 {{20, 30, chunkenc::Encoding::kXor, b}, 1}},
                                &out, &storage, &stats)
                  .ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(stats.duplicate_samples, 1u);
}

TEST(MergeSeriesChunks, ReencodingCutsAt120SamplesAndOnTypeAndResets) {
  chunkenc::FloatChunk f1, f2;
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(f1.Append(i * 2, i));
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(f2.Append(i * 2 + 1, i));
  // A histogram chunk overlapping the floats' end, whose counts go down: the merged run must
  // change encodings and start a counter-reset chunk.
  chunkenc::HistogramChunk h(chunkenc::CounterResetHint::kUnknown);
  ASSERT_EQ(h.Append(399, HistogramOf(10)), chunkenc::AppendResult::kAppended);
  ASSERT_EQ(h.Append(401, HistogramOf(11)), chunkenc::AppendResult::kAppended);
  chunkenc::HistogramChunk h2(chunkenc::CounterResetHint::kUnknown);
  ASSERT_EQ(h2.Append(400, HistogramOf(1)), chunkenc::AppendResult::kAppended);
  std::vector<ChunkMeta> out;
  std::deque<std::string> storage;
  MergeStats stats;
  ASSERT_TRUE(MergeSeriesChunks({{{0, 398, chunkenc::Encoding::kXor, f1.bytes()}, 0},
                                 {{1, 99, chunkenc::Encoding::kXor, f2.bytes()}, 1},
                                 {{399, 401, chunkenc::Encoding::kHistogram, h.bytes()}, 0},
                                 {{400, 400, chunkenc::Encoding::kHistogram, h2.bytes()}, 1}},
                                &out, &storage, &stats)
                  .ok());
  // Floats 0..398: 250 samples → 120 + 120 + 10; then histograms 399 | 400, 401.
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[0].encoding, chunkenc::Encoding::kXor);
  EXPECT_EQ(out[1].encoding, chunkenc::Encoding::kXor);
  EXPECT_EQ(out[2].encoding, chunkenc::Encoding::kXor);
  int floats = 0;
  for (int i = 0; i < 3; ++i) {
    auto it = chunkenc::NewIterator(out[i].encoding, out[i].bytes);
    int n = 0;
    while (it->Next() != ValueType::kNone) ++n;
    EXPECT_LE(n, kMergedChunkSamples);
    floats += n;
  }
  EXPECT_EQ(floats, 250);
  std::vector<int64_t> ts;
  std::vector<chunkenc::CounterResetHint> first_hints;
  for (size_t i = 3; i < out.size(); ++i) {
    EXPECT_EQ(out[i].encoding, chunkenc::Encoding::kHistogram);
    chunkenc::HistogramChunkIterator it(out[i].encoding, out[i].bytes);
    bool first = true;
    while (it.Next() != ValueType::kNone) {
      chunkenc::Histogram hist;
      ts.push_back(it.AtHistogram(&hist));
      if (first) first_hints.push_back(hist.reset_hint);
      first = false;
    }
  }
  EXPECT_THAT(ts, ::testing::ElementsAre(399, 400, 401));
  // 400 (count 5) is below 399 (count 23): a reset starts a new chunk with that hint; 401
  // (count 25) goes up from 400 and joins it.
  ASSERT_EQ(first_hints.size(), 2u);
  EXPECT_EQ(first_hints[1], chunkenc::CounterResetHint::kCounterReset);
}

}  // namespace
}  // namespace sprout::metrics::tsdb
