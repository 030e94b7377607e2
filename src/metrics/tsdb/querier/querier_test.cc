#include "metrics/tsdb/querier/querier.h"

#include <bit>
#include <map>
#include <random>
#include <set>

#include "gtest/gtest.h"
#include "metrics/tsdb/compact/testing.h"
#include "metrics/tsdb/head/head_test_util.h"
#include "objstore/memory.h"
#include "storage/testing.h"

namespace sprout::metrics::tsdb {
namespace {

using chunkenc::ValueType;
using compact_testing::BlockSeries;
using compact_testing::MakeSample;
using compact_testing::TestSample;
using compact_testing::WriteTestBlock;

constexpr int64_t kHour = 3600 * 1000;
constexpr int kCut = 120;  // WriteTestBlock's samples per chunk

Labels SeriesLabels(int i) {
  return Labels::FromStrings({"__name__", i % 3 == 2 ? "other" : "m", "instance", std::to_string(i),
                              "job", i % 2 == 0 ? "a" : "b"});
}
// The value of series i at t: the same in every source, so duplicates agree.
double ValueOf(int i, int64_t t) { return i * 1e6 + static_cast<double>(t / 1000); }

// Everything the test wrote, for the brute-force answers.
struct Oracle {
  // series → t → value (the union of every source).
  std::map<Labels, std::map<int64_t, double>> samples;
  // series → [lo, hi] per head series and per block chunk: what makes a series "in range".
  std::map<Labels, std::vector<std::pair<int64_t, int64_t>>> spans;

  bool InRange(const Labels& l, int64_t mint, int64_t maxt) const {
    auto it = spans.find(l);
    if (it == spans.end()) return false;
    for (auto [lo, hi] : it->second) {
      if (lo <= maxt && hi >= mint) return true;
    }
    return false;
  }
  static bool Selects(const Labels& l, const std::vector<Matcher>& ms) {
    if (ms.empty()) return false;
    for (const Matcher& m : ms) {
      if (!m.Matches(l.Get(m.name()))) return false;
    }
    return true;
  }
  std::vector<Labels> Series(const std::vector<Matcher>& ms, int64_t mint, int64_t maxt) const {
    std::vector<Labels> out;
    for (const auto& [l, s] : spans) {
      if (Selects(l, ms) && InRange(l, mint, maxt)) out.push_back(l);
    }
    return out;
  }
  std::vector<std::string> LabelNames(const std::vector<Matcher>& ms, int64_t mint,
                                      int64_t maxt) const {
    std::set<std::string> out;
    for (const auto& [l, s] : spans) {
      if ((ms.empty() || Selects(l, ms)) && InRange(l, mint, maxt)) {
        for (const Label& x : l) out.insert(std::string(x.name));
      }
    }
    return {out.begin(), out.end()};
  }
  std::vector<std::string> LabelValues(std::string_view name, const std::vector<Matcher>& ms,
                                       int64_t mint, int64_t maxt) const {
    std::set<std::string> out;
    for (const auto& [l, s] : spans) {
      if ((ms.empty() || Selects(l, ms)) && InRange(l, mint, maxt) && l.Has(name)) {
        out.insert(std::string(l.Get(name)));
      }
    }
    return {out.begin(), out.end()};
  }
  std::map<Labels, std::vector<std::pair<int64_t, double>>> Select(const std::vector<Matcher>& ms,
                                                                   int64_t mint,
                                                                   int64_t maxt) const {
    std::map<Labels, std::vector<std::pair<int64_t, double>>> out;
    for (const auto& [l, s] : samples) {
      if (!Selects(l, ms)) continue;
      for (auto it = s.lower_bound(mint); it != s.end() && it->first <= maxt; ++it) {
        out[l].push_back(*it);
      }
    }
    return out;
  }
};

std::map<Labels, std::vector<std::pair<int64_t, double>>> Drain(SampleSet& set) {
  std::map<Labels, std::vector<std::pair<int64_t, double>>> out;
  Labels prev;
  while (set.Next()) {
    EXPECT_TRUE(prev.empty() || prev < set.labels()) << set.labels().ToString();
    prev = set.labels();
    auto& v = out[set.labels()];
    chunkenc::Iterator& it = set.samples();
    for (ValueType t = it.Next(); t != ValueType::kNone; t = it.Next()) {
      EXPECT_EQ(t, ValueType::kFloat);
      v.push_back(it.At());
    }
  }
  return out;
}

class QuerierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = storage::testing::FreshTempDir("querier");
    HeadOptions o;
    o.dir = dir_ + "/head";
    o.wal_sync = storage::SyncPolicy::kManual;
    auto head = TenantHead::Open(o);
    ASSERT_TRUE(head.ok()) << head.status();
    head_ = std::move(*head);
  }

  // A block of every series with a random subset of the 5 s grid in [lo, hi).
  BlockMeta AddBlock(int64_t lo, int64_t hi, std::mt19937& rng, int series) {
    std::vector<BlockSeries> all;
    for (int i = 0; i < series; ++i) {
      if (rng() % 5 == 0) continue;  // not every series in every block
      BlockSeries bs;
      bs.labels = SeriesLabels(i);
      for (int64_t t = lo; t < hi; t += 5000) {
        if (rng() % 3 != 0) continue;
        TestSample s;
        s.t = t;
        s.type = ValueType::kFloat;
        s.bits = std::bit_cast<uint64_t>(ValueOf(i, t));
        bs.samples.push_back(s);
        oracle_.samples[bs.labels][t] = ValueOf(i, t);
      }
      if (bs.samples.empty()) continue;
      for (size_t c = 0; c < bs.samples.size(); c += kCut) {
        size_t last = std::min(bs.samples.size(), c + kCut) - 1;
        oracle_.spans[bs.labels].push_back({bs.samples[c].t, bs.samples[last].t});
      }
      all.push_back(std::move(bs));
    }
    return WriteTestBlock(storage::Env::Default(), &store_, "tenant", std::move(all), lo, hi);
  }

  void AddHead(int64_t lo, int64_t hi, std::mt19937& rng, int series) {
    tsdb::testing::RequestBuilder b;
    for (int i = 0; i < series; ++i) {
      auto& e = b.Add(SeriesLabels(i));
      for (int64_t t = lo; t < hi; t += 5000) {
        if (rng() % 2 != 0) continue;
        e.samples.push_back({t, ValueOf(i, t)});
        oracle_.samples[e.labels][t] = ValueOf(i, t);
      }
      if (e.samples.empty()) continue;
      oracle_.spans[e.labels].push_back({e.samples.front().t, e.samples.back().t});
    }
    AppendResult r = head_->Append(b.Build());
    ASSERT_TRUE(r.status.ok()) << r.status;
    ASSERT_EQ(r.samples_refused, 0u);
  }

  std::string dir_;
  objstore::MemoryObjectStore store_;
  std::unique_ptr<TenantHead> head_;
  Oracle oracle_;
};

TEST_F(QuerierTest, HeadAndOverlappingBlocksEqualOracle) {
  std::mt19937 rng(7);
  constexpr int kSeries = 9;
  AddBlock(0, 2 * kHour, rng, kSeries);
  AddBlock(2 * kHour, 4 * kHour, rng, kSeries);
  AddBlock(1 * kHour, 3 * kHour, rng, kSeries);             // overlaps both
  AddHead(3 * kHour + kHour / 2, 5 * kHour, rng, kSeries);  // overlaps the second block

  BlockSet blocks(&store_, "tenant/");
  ASSERT_TRUE(blocks.Refresh().ok());
  ASSERT_EQ(blocks.Metas().size(), 3u);

  const std::vector<std::vector<Matcher>> matcher_sets = {
      {},
      {Matcher::MustCreate(Matcher::Type::kEqual, "__name__", "m")},
      {Matcher::MustCreate(Matcher::Type::kEqual, "job", "a")},
      {Matcher::MustCreate(Matcher::Type::kRegexMatch, "instance", "1|2|7"),
       Matcher::MustCreate(Matcher::Type::kNotEqual, "job", "b")},
      {Matcher::MustCreate(Matcher::Type::kRegexMatch, "__name__", ".+")},
  };
  std::vector<std::pair<int64_t, int64_t>> ranges = {
      {INT64_MIN, INT64_MAX}, {0, 2 * kHour - 1},         {kHour / 2, kHour},
      {3 * kHour, 4 * kHour}, {4 * kHour + 1, 6 * kHour}, {6 * kHour, 7 * kHour}};
  for (int i = 0; i < 6; ++i) {
    int64_t a = static_cast<int64_t>(rng() % (5 * kHour)),
            b = static_cast<int64_t>(rng() % (5 * kHour));
    ranges.push_back({std::min(a, b), std::max(a, b)});
  }
  int checked_samples = 0;
  for (auto [mint, maxt] : ranges) {
    std::vector<std::string> warnings;
    TenantQuerier q(head_.get(), blocks.Readers(mint, maxt, &warnings), mint, maxt);
    for (const auto& ms : matcher_sets) {
      SCOPED_TRACE(::testing::Message() << "range " << mint << ".." << maxt << " matchers "
                                        << ms.size() << (ms.empty() ? "" : ms[0].ToString()));
      EXPECT_EQ(q.Series(ms), oracle_.Series(ms, mint, maxt));
      EXPECT_EQ(q.LabelNames(ms), oracle_.LabelNames(ms, mint, maxt));
      EXPECT_EQ(q.LabelValues("instance", ms), oracle_.LabelValues("instance", ms, mint, maxt));
      auto set = q.SelectSamples(ms);
      auto got = Drain(*set);
      auto want = oracle_.Select(ms, mint, maxt);
      EXPECT_EQ(got, want);
      for (auto& [l, v] : want) checked_samples += static_cast<int>(v.size());
      EXPECT_TRUE(set->warnings().empty());
    }
    EXPECT_TRUE(q.warnings().empty());
    EXPECT_TRUE(warnings.empty());
  }
  EXPECT_GT(checked_samples, 10000);  // the ranges did read data
  EXPECT_EQ(blocks.num_open(), 3u);
}

TEST_F(QuerierTest, SameTimestampKeepsHeadThenNewestBlock) {
  const Labels l = Labels::FromStrings({"__name__", "x"});
  auto block = [&](int64_t t0, double v, Ulid ulid) {
    BlockSeries bs;
    bs.labels = l;
    for (int64_t t = t0; t < t0 + 3; ++t) {
      TestSample s;
      s.t = t;
      s.type = ValueType::kFloat;
      s.bits = std::bit_cast<uint64_t>(v);
      bs.samples.push_back(s);
    }
    WriteTestBlock(storage::Env::Default(), &store_, "tenant", {bs}, 0, 100, ulid);
  };
  Ulid older = Ulid::Generate();
  Ulid newer = Ulid::Generate();
  ASSERT_LT(older, newer);
  block(0, 1.0, newer);  // t 0,1,2 = 1.0
  block(1, 2.0, older);  // t 1,2,3 = 2.0: loses 1,2 to the newer block
  tsdb::testing::RequestBuilder b;
  b.Add(l).samples = {{2, 3.0}, {4, 3.0}};  // t 2 wins over both blocks
  ASSERT_TRUE(head_->Append(b.Build()).status.ok());

  BlockSet blocks(&store_, "tenant");
  ASSERT_TRUE(blocks.Refresh().ok());
  TenantQuerier q(head_.get(), blocks.Readers(0, 100, nullptr), 0, 100);
  std::vector<Matcher> ms = {Matcher::MustCreate(Matcher::Type::kEqual, "__name__", "x")};
  auto set = q.SelectSamples(ms);
  auto got = Drain(*set);
  std::vector<std::pair<int64_t, double>> want = {{0, 1.0}, {1, 1.0}, {2, 3.0}, {3, 2.0}, {4, 3.0}};
  EXPECT_EQ(got[l], want);
}

TEST_F(QuerierTest, BlockSetFollowsStoreAndToleratesVanishedBlocks) {
  std::mt19937 rng(3);
  BlockMeta a = AddBlock(0, 2 * kHour, rng, 4);
  BlockSet blocks(&store_, "tenant");
  ASSERT_TRUE(blocks.Refresh().ok());
  EXPECT_EQ(blocks.Metas().size(), 1u);
  EXPECT_EQ(blocks.num_open(), 0u);  // lazily opened
  BlockMeta b = AddBlock(2 * kHour, 4 * kHour, rng, 4);
  EXPECT_EQ(blocks.Metas().size(), 1u);
  ASSERT_TRUE(blocks.Refresh().ok());
  EXPECT_EQ(blocks.Metas().size(), 2u);
  // Only the overlapping block is opened.
  EXPECT_EQ(blocks.Readers(0, kHour, nullptr).size(), 1u);
  EXPECT_EQ(blocks.num_open(), 1u);

  // Block b vanishes between the listing and the open: skipped with a warning.
  ASSERT_TRUE(store_.DeletePrefix(BlockPrefix("tenant", b.ulid) + "/").ok());
  std::vector<std::string> warnings;
  auto readers = blocks.Readers(0, 4 * kHour, &warnings);
  EXPECT_EQ(readers.size(), 1u);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find(b.ulid.ToString()), std::string::npos) << warnings[0];

  // Block a vanishes after it was opened: chunk reads fail, the query still answers (head only).
  ASSERT_TRUE(store_.DeletePrefix(BlockPrefix("tenant", a.ulid) + "/").ok());
  AddHead(5 * kHour, 5 * kHour + 60000, rng, 4);
  TenantQuerier q(head_.get(), readers, 0, 6 * kHour);
  std::vector<Matcher> ms = {Matcher::MustCreate(Matcher::Type::kRegexMatch, "__name__", ".+")};
  auto set = q.SelectSamples(ms);
  auto got = Drain(*set);
  EXPECT_FALSE(set->warnings().empty());
  for (const auto& [l, v] : got) {
    for (auto [t, x] : v) EXPECT_GE(t, 5 * kHour) << l.ToString();
  }
  EXPECT_FALSE(got.empty());

  ASSERT_TRUE(blocks.Refresh().ok());
  EXPECT_TRUE(blocks.Metas().empty());
  EXPECT_TRUE(blocks.Readers(INT64_MIN, INT64_MAX, nullptr).empty());
}

TEST_F(QuerierTest, HistogramsMergeAcrossBlocksAndHead) {
  const Labels l = Labels::FromStrings({"__name__", "h"});
  BlockSeries ints{
      l, {MakeSample(0, ValueType::kHistogram, 1), MakeSample(10, ValueType::kHistogram, 2)}};
  BlockSeries floats{l,
                     {MakeSample(10, ValueType::kFloatHistogram, 9),
                      MakeSample(20, ValueType::kFloatHistogram, 3)}};
  Ulid older = Ulid::Generate();
  Ulid newer = Ulid::Generate();
  WriteTestBlock(storage::Env::Default(), &store_, "tenant", {ints}, 0, 100, older);
  WriteTestBlock(storage::Env::Default(), &store_, "tenant", {floats}, 0, 100, newer);
  tsdb::testing::RequestBuilder b;
  b.Add(l).samples = {{30, 7.0}};
  ASSERT_TRUE(head_->Append(b.Build()).status.ok());

  BlockSet blocks(&store_, "tenant");
  ASSERT_TRUE(blocks.Refresh().ok());
  TenantQuerier q(head_.get(), blocks.Readers(0, 99, nullptr), 0, 99);
  std::vector<Matcher> ms = {Matcher::MustCreate(Matcher::Type::kEqual, "__name__", "h")};
  auto set = q.SelectSamples(ms);
  ASSERT_TRUE(set->Next());
  const std::vector<QuerySample>& got = set->sample_list();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].type, ValueType::kHistogram);
  EXPECT_EQ(got[0].h, compact_testing::HistogramOf(1));
  EXPECT_EQ(got[1].t, 10);  // both blocks: the newer one's float histogram
  EXPECT_EQ(got[1].type, ValueType::kFloatHistogram);
  EXPECT_EQ(got[1].fh, compact_testing::HistogramOf(9).ToFloat());
  EXPECT_EQ(got[2].fh, compact_testing::HistogramOf(3).ToFloat());
  EXPECT_EQ(got[3].type, ValueType::kFloat);
  EXPECT_EQ(got[3].v, 7.0);
  // The iterator converts an integer histogram for AtFloatHistogram.
  chunkenc::Iterator& it = set->samples();
  ASSERT_EQ(it.Next(), ValueType::kHistogram);
  chunkenc::FloatHistogram fh;
  EXPECT_EQ(it.AtFloatHistogram(&fh), 0);
  EXPECT_EQ(fh, compact_testing::HistogramOf(1).ToFloat());
  EXPECT_EQ(it.Seek(25), ValueType::kFloat);
  EXPECT_EQ(it.At(), (std::pair<int64_t, double>{30, 7.0}));
  EXPECT_EQ(it.Next(), ValueType::kNone);
  EXPECT_FALSE(set->Next());
}

TEST_F(QuerierTest, NoHeadNoBlocksIsEmpty) {
  TenantQuerier q(nullptr, {}, 0, 100);
  std::vector<Matcher> ms = {Matcher::MustCreate(Matcher::Type::kEqual, "__name__", "x")};
  EXPECT_TRUE(q.Series(ms).empty());
  EXPECT_TRUE(q.LabelNames({}).empty());
  EXPECT_FALSE(q.SelectSamples(ms)->Next());
}

}  // namespace
}  // namespace sprout::metrics::tsdb
