#include "metrics/tsdb/querier/querier.h"

#include <bit>
#include <map>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "metrics/tsdb/compact/testing.h"
#include "metrics/tsdb/head/head_test_util.h"
#include "objstore/fault_injection.h"
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

TEST_F(QuerierTest, BlockSetReadsTheBucketIndexAndFallsBackToListing) {
  std::mt19937 rng(5);
  objstore::FaultInjectionObjectStore counted(&store_);
  BlockMeta a = AddBlock(0, 2 * kHour, rng, 4);
  TenantBucketIndex index(&counted, "tenant");
  BlockSet blocks(&counted, "tenant", &index);

  // Not synced in this process yet: the set lists the bucket.
  ASSERT_TRUE(blocks.Refresh().ok());
  EXPECT_FALSE(blocks.last_refresh_from_index());
  EXPECT_EQ(blocks.Metas().size(), 1u);

  ASSERT_TRUE(index.Resync().ok());
  BlockMeta b = AddBlock(2 * kHour, 4 * kHour, rng, 4);
  std::vector<BucketIndexBlock> added = {IndexBlockFromMeta(b, 1, absl::Now())};
  ASSERT_TRUE(index.Update(added, {}).ok());
  const auto before = counted.stats();
  ASSERT_TRUE(blocks.Refresh().ok());
  EXPECT_TRUE(blocks.last_refresh_from_index());
  // One Get of the index: no listing, no meta.json read for the new block.
  EXPECT_EQ(counted.stats().lists, before.lists);
  EXPECT_EQ(counted.stats().gets, before.gets + 1);
  EXPECT_EQ(counted.stats().attributes, before.attributes);
  std::vector<BlockMeta> metas = blocks.Metas();
  ASSERT_EQ(metas.size(), 2u);
  EXPECT_EQ(metas[1].ulid, b.ulid);
  EXPECT_EQ(metas[1].min_time, b.min_time);
  EXPECT_EQ(metas[1].max_time, b.max_time);
  std::vector<std::string> warnings;
  EXPECT_EQ(blocks.Readers(0, 4 * kHour, &warnings).size(), 2u);
  EXPECT_TRUE(warnings.empty());

  // A block the index still lists but that is gone: skipped, no warning (the index is a hint).
  BlockMeta c = AddBlock(4 * kHour, 6 * kHour, rng, 4);
  added = {IndexBlockFromMeta(c, 1, absl::Now())};
  ASSERT_TRUE(index.Update(added, {}).ok());
  ASSERT_TRUE(store_.DeletePrefix(BlockPrefix("tenant", c.ulid) + "/").ok());
  ASSERT_TRUE(blocks.Refresh().ok());
  EXPECT_EQ(blocks.Metas().size(), 3u);
  warnings.clear();
  EXPECT_EQ(blocks.Readers(0, 6 * kHour, &warnings).size(), 2u);
  EXPECT_TRUE(warnings.empty());

  // A damaged index: the set lists again and sees exactly the blocks on disk.
  ASSERT_TRUE(store_.Put(BucketIndexKey("tenant"), "garbage").ok());
  ASSERT_TRUE(blocks.Refresh().ok());
  EXPECT_FALSE(blocks.last_refresh_from_index());
  metas = blocks.Metas();
  ASSERT_EQ(metas.size(), 2u);
  EXPECT_EQ(metas[0].ulid, a.ulid);
  EXPECT_EQ(metas[1].ulid, b.ulid);
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

// ---- Select ----

// Every series of a Select with its float samples, read with Next only.
std::map<Labels, std::vector<std::pair<int64_t, double>>> DrainSelect(SeriesSet& set) {
  std::map<Labels, std::vector<std::pair<int64_t, double>>> out;
  Labels prev;
  while (set.Next()) {
    EXPECT_TRUE(prev.empty() || prev < set.labels()) << set.labels().ToString();
    prev = set.labels();
    std::vector<std::pair<int64_t, double>> v;
    SeriesIterator& it = set.iterator();
    for (ValueType t = it.Next(); t != ValueType::kNone; t = it.Next()) {
      EXPECT_EQ(t, ValueType::kFloat);
      v.push_back(it.At());
    }
    EXPECT_TRUE(it.Err().ok()) << it.Err();
    if (!v.empty()) out[set.labels()] = std::move(v);  // a series may have no sample in range
  }
  EXPECT_TRUE(set.Err().ok()) << set.Err();
  return out;
}

// A block of one series "x" whose samples are every second in [t0, t0 + n s), value t/1000,
// in chunks of 120 samples.
BlockMeta SecondsBlock(objstore::ObjectStore* store, int64_t t0, int n, Ulid ulid = Ulid()) {
  BlockSeries bs;
  bs.labels = Labels::FromStrings({"__name__", "x"});
  for (int i = 0; i < n; ++i) {
    TestSample s;
    s.t = t0 + i * 1000;
    s.type = ValueType::kFloat;
    s.bits = std::bit_cast<uint64_t>(static_cast<double>(s.t / 1000));
    bs.samples.push_back(s);
  }
  return WriteTestBlock(storage::Env::Default(), store, "tenant", {bs}, t0, t0 + n * 1000, ulid);
}

std::vector<Matcher> NameIs(std::string_view name) {
  return {Matcher::MustCreate(Matcher::Type::kEqual, "__name__", name)};
}

TEST_F(QuerierTest, SelectMergesHeadAndOverlappingBlocksAndSeeks) {
  std::mt19937 rng(11);
  constexpr int kSeries = 9;
  AddBlock(0, 2 * kHour, rng, kSeries);
  AddBlock(2 * kHour, 4 * kHour, rng, kSeries);
  AddBlock(1 * kHour, 3 * kHour, rng, kSeries);             // overlaps both
  AddHead(3 * kHour + kHour / 2, 5 * kHour, rng, kSeries);  // overlaps the second block
  BlockSet blocks(&store_, "tenant");
  ASSERT_TRUE(blocks.Refresh().ok());
  const std::vector<Matcher> all = {
      Matcher::MustCreate(Matcher::Type::kRegexMatch, "__name__", ".+")};
  const std::vector<Matcher> job_a = {Matcher::MustCreate(Matcher::Type::kEqual, "job", "a")};
  std::vector<std::pair<int64_t, int64_t>> ranges = {{INT64_MIN, INT64_MAX}, {kHour / 2, kHour}};
  for (int i = 0; i < 8; ++i) {
    int64_t a = static_cast<int64_t>(rng() % (5 * kHour)),
            b = static_cast<int64_t>(rng() % (5 * kHour));
    ranges.push_back({std::min(a, b), std::max(a, b)});
  }
  size_t checked = 0, seeks = 0;
  for (auto [mint, maxt] : ranges) {
    SCOPED_TRACE(::testing::Message() << "range " << mint << ".." << maxt);
    TenantQuerier q(head_.get(), blocks.Readers(INT64_MIN, INT64_MAX, nullptr), INT64_MIN,
                    INT64_MAX);
    SelectHints hints;  // the range comes from the hints here
    hints.start = mint;
    hints.end = maxt;
    for (const auto* ms : {&all, &job_a}) {
      auto set = q.Select(*ms, hints);
      auto want = oracle_.Select(*ms, mint, maxt);
      std::erase_if(want, [](const auto& e) { return e.second.empty(); });
      EXPECT_EQ(DrainSelect(*set), want);
      EXPECT_TRUE(set->warnings().empty());
      for (auto& [l, v] : want) checked += v.size();
    }
    // Seeks to random times (forward only), mixed with Next, against the oracle.
    auto set = q.Select(all, hints);
    while (set->Next()) {
      const std::map<int64_t, double>& truth = oracle_.samples[set->labels()];
      SeriesIterator& it = set->iterator();
      int64_t pos = std::max<int64_t>(mint, 0);
      auto expect_at = [&](ValueType got, std::map<int64_t, double>::const_iterator w) {
        if (w == truth.end() || w->first > maxt) {
          EXPECT_EQ(got, ValueType::kNone);
          return false;
        }
        EXPECT_EQ(got, ValueType::kFloat);
        if (got != ValueType::kFloat) return false;
        EXPECT_EQ(it.At(), (std::pair<int64_t, double>{w->first, w->second}));
        EXPECT_EQ(it.AtT(), w->first);
        return true;
      };
      for (int step = 0; step < 20; ++step) {
        pos += static_cast<int64_t>(rng() % (20 * 60 * 1000));
        ValueType got = it.Seek(pos);
        ++seeks;
        auto w = truth.lower_bound(std::max(pos, mint));
        if (!expect_at(got, w)) break;
        pos = w->first;
        // Seeking to the current time or before it stays.
        EXPECT_EQ(it.Seek(pos - 1), ValueType::kFloat);
        EXPECT_EQ(it.AtT(), pos);
        if (rng() % 2 == 0) {
          got = it.Next();
          if (!expect_at(got, std::next(w))) break;
          pos = it.AtT();
        }
      }
    }
  }
  EXPECT_GT(checked, 5000u);
  EXPECT_GT(seeks, 100u);
}

TEST_F(QuerierTest, SeekSkipsWholeChunksAndCrossesChunkBoundaries) {
  // 10 chunks of 120 one-second samples: chunk k covers [120k, 120k + 119] s.
  SecondsBlock(&store_, 0, 1200);
  BlockSet blocks(&store_, "tenant");
  ASSERT_TRUE(blocks.Refresh().ok());
  TenantQuerier q(head_.get(), blocks.Readers(0, kHour, nullptr), 0, kHour);
  auto set = q.Select(NameIs("x"));
  ASSERT_TRUE(set->Next());
  SeriesIterator& it = set->iterator();
  EXPECT_EQ(it.num_chunks(), 10u);
  EXPECT_EQ(it.chunks_decoded(), 0u);  // nothing read before the iteration reaches it
  // Into chunk 8: chunks 0-7 end before the target and are neither read nor decoded.
  ASSERT_EQ(it.Seek(1000 * 1000), ValueType::kFloat);
  EXPECT_EQ(it.At(), (std::pair<int64_t, double>{1000 * 1000, 1000}));
  EXPECT_EQ(it.chunks_decoded(), 1u);
  // The last sample of chunk 8, then Next crosses into chunk 9.
  ASSERT_EQ(it.Seek(1079 * 1000), ValueType::kFloat);
  EXPECT_EQ(it.AtT(), 1079 * 1000);
  ASSERT_EQ(it.Next(), ValueType::kFloat);
  EXPECT_EQ(it.At(), (std::pair<int64_t, double>{1080 * 1000, 1080}));
  EXPECT_EQ(it.chunks_decoded(), 2u);
  // A seek between two samples lands on the next one; past the end: done.
  ASSERT_EQ(it.Seek(1100 * 1000 + 1), ValueType::kFloat);
  EXPECT_EQ(it.AtT(), 1101 * 1000);
  EXPECT_EQ(it.Seek(1200 * 1000), ValueType::kNone);
  EXPECT_EQ(it.Next(), ValueType::kNone);
  EXPECT_FALSE(set->Next());

  // A seek to a chunk boundary from a block into the head: the head's first sample.
  tsdb::testing::RequestBuilder b;
  b.Add(Labels::FromStrings({"__name__", "x"})).samples = {{1300 * 1000, 1.5}, {1301 * 1000, 2.5}};
  ASSERT_TRUE(head_->Append(b.Build()).status.ok());
  TenantQuerier q2(head_.get(), blocks.Readers(0, kHour, nullptr), 0, kHour);
  auto set2 = q2.Select(NameIs("x"));
  ASSERT_TRUE(set2->Next());
  SeriesIterator& it2 = set2->iterator();
  EXPECT_EQ(it2.num_chunks(), 11u);
  ASSERT_EQ(it2.Seek(1199 * 1000 + 1), ValueType::kFloat);
  EXPECT_EQ(it2.At(), (std::pair<int64_t, double>{1300 * 1000, 1.5}));
  EXPECT_EQ(it2.chunks_decoded(), 1u);  // only the head's chunk
  ASSERT_EQ(it2.Next(), ValueType::kFloat);
  EXPECT_EQ(it2.At().second, 2.5);
  EXPECT_EQ(it2.Next(), ValueType::kNone);
}

TEST_F(QuerierTest, SelectIteratorsOutliveTheSetAndKeepPrecedence) {
  // The same timestamps in an older block, a newer block and the head: head, then newest wins.
  Ulid older = Ulid::Generate();
  Ulid newer = Ulid::Generate();
  SecondsBlock(&store_, 0, 300, newer);  // t/1000
  {
    BlockSeries bs;
    bs.labels = Labels::FromStrings({"__name__", "x"});
    for (int i = 0; i < 400; ++i) {
      bs.samples.push_back(MakeSample(i * 1000, ValueType::kFloat, 1000000));  // 500000
    }
    WriteTestBlock(storage::Env::Default(), &store_, "tenant", {bs}, 0, 400 * 1000, older);
  }
  tsdb::testing::RequestBuilder b;
  b.Add(Labels::FromStrings({"__name__", "x"})).samples = {{250 * 1000, -1}, {450 * 1000, -2}};
  b.Add(Labels::FromStrings({"__name__", "y"})).samples = {{1000, 7}};
  ASSERT_TRUE(head_->Append(b.Build()).status.ok());
  BlockSet blocks(&store_, "tenant");
  ASSERT_TRUE(blocks.Refresh().ok());
  TenantQuerier q(head_.get(), blocks.Readers(0, kHour, nullptr), 0, kHour);
  const std::vector<Matcher> xy = {
      Matcher::MustCreate(Matcher::Type::kRegexMatch, "__name__", "x|y")};
  auto set = q.Select(xy);
  std::vector<std::pair<Labels, std::unique_ptr<SeriesIterator>>> taken;
  while (set->Next()) taken.emplace_back(set->labels(), set->TakeIterator());
  set.reset();
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(taken[0].first.Get("__name__"), "x");
  std::vector<std::pair<int64_t, double>> got;
  for (ValueType t = taken[0].second->Next(); t != ValueType::kNone; t = taken[0].second->Next()) {
    got.push_back(taken[0].second->At());
  }
  ASSERT_EQ(got.size(), 401u);  // 0..399 s and 450 s
  for (int i = 0; i < 400; ++i) {
    double want = i == 250 ? -1 : i < 300 ? i : 500000;
    EXPECT_EQ(got[i], (std::pair<int64_t, double>{i * 1000, want})) << i;
  }
  EXPECT_EQ(got[400], (std::pair<int64_t, double>{450 * 1000, -2}));
  ASSERT_EQ(taken[1].second->Next(), ValueType::kFloat);
  EXPECT_EQ(taken[1].second->At(), (std::pair<int64_t, double>{1000, 7}));
}

TEST_F(QuerierTest, SelectServesHistogramsWithTheirTypes) {
  const Labels l = Labels::FromStrings({"__name__", "h"});
  BlockSeries ints{
      l, {MakeSample(0, ValueType::kHistogram, 1), MakeSample(10, ValueType::kHistogram, 2)}};
  BlockSeries floats{l,
                     {MakeSample(10, ValueType::kFloatHistogram, 9),
                      MakeSample(20, ValueType::kFloatHistogram, 3)}};
  WriteTestBlock(storage::Env::Default(), &store_, "tenant", {ints}, 0, 100, Ulid::Generate());
  WriteTestBlock(storage::Env::Default(), &store_, "tenant", {floats}, 0, 100, Ulid::Generate());
  tsdb::testing::RequestBuilder b;
  auto& e = b.Add(l);
  e.samples = {{30, 7.0}};
  e.histograms.push_back({40, compact_testing::HistogramOf(5)});
  ASSERT_TRUE(head_->Append(b.Build()).status.ok());
  BlockSet blocks(&store_, "tenant");
  ASSERT_TRUE(blocks.Refresh().ok());
  TenantQuerier q(head_.get(), blocks.Readers(0, 99, nullptr), 0, 99);
  auto set = q.Select(NameIs("h"));
  ASSERT_TRUE(set->Next());
  SeriesIterator& it = set->iterator();
  chunkenc::Histogram h;
  chunkenc::FloatHistogram fh;
  ASSERT_EQ(it.Next(), ValueType::kHistogram);
  EXPECT_EQ(it.AtHistogram(&h), 0);
  EXPECT_EQ(h, compact_testing::HistogramOf(1));
  ASSERT_EQ(it.Next(), ValueType::kFloatHistogram);  // t 10: the newer block's
  EXPECT_EQ(it.AtFloatHistogram(&fh), 10);
  EXPECT_EQ(fh, compact_testing::HistogramOf(9).ToFloat());
  ASSERT_EQ(it.Seek(15), ValueType::kFloatHistogram);
  EXPECT_EQ(it.AtFloatHistogram(&fh), 20);
  EXPECT_EQ(fh, compact_testing::HistogramOf(3).ToFloat());
  ASSERT_EQ(it.Next(), ValueType::kFloat);
  EXPECT_EQ(it.At(), (std::pair<int64_t, double>{30, 7.0}));
  ASSERT_EQ(it.Next(), ValueType::kHistogram);
  EXPECT_EQ(it.AtHistogram(&h), 40);
  EXPECT_EQ(h, compact_testing::HistogramOf(5));
  EXPECT_EQ(it.AtFloatHistogram(&fh), 40);  // converted
  EXPECT_EQ(fh, compact_testing::HistogramOf(5).ToFloat());
  EXPECT_EQ(it.Next(), ValueType::kNone);
  EXPECT_FALSE(set->Next());
}

TEST_F(QuerierTest, QueryLimiterRefusesWithMimirsTexts) {
  std::mt19937 rng(5);
  AddHead(0, kHour, rng, 9);  // 9 series, one head chunk each (720 samples at most: 120 per chunk)
  TenantQuerier q(head_.get(), {}, 0, kHour);
  const std::vector<Matcher> all = {
      Matcher::MustCreate(Matcher::Type::kRegexMatch, "__name__", ".+")};
  {
    QueryLimiter limiter(/*max_series=*/3);
    auto set = q.Select(all, {}, &limiter);
    int n = 0;
    while (set->Next()) ++n;
    EXPECT_EQ(n, 3);
    EXPECT_EQ(set->Err().code(), absl::StatusCode::kResourceExhausted);
    EXPECT_EQ(set->Err().message(),
              "the query exceeded the maximum number of series (limit: 3 series) "
              "(err-mimir-max-series-per-query). Consider reducing the time range and/or number "
              "of series selected by the query. One way to reduce the number of selected series "
              "is to add more label matchers to the query. Otherwise, to adjust the related "
              "per-tenant limit, configure -querier.max-fetched-series-per-query, or contact "
              "your service administrator.");
    EXPECT_FALSE(set->Next());  // stays failed
  }
  {
    // A series selected twice in one query counts once.
    QueryLimiter limiter(/*max_series=*/9);
    auto a = q.Select(all, {}, &limiter);
    while (a->Next()) {
    }
    auto b = q.Select(NameIs("m"), {}, &limiter);
    while (b->Next()) {
    }
    EXPECT_TRUE(a->Err().ok()) << a->Err();
    EXPECT_TRUE(b->Err().ok()) << b->Err();
    EXPECT_EQ(limiter.series(), 9u);
  }
  {
    std::vector<size_t> chunks;  // per series, as the iterators report them
    auto set = q.Select(all);
    while (set->Next()) chunks.push_back(set->iterator().num_chunks());
    ASSERT_EQ(chunks.size(), 9u);
    const uint64_t limit = chunks[0] + chunks[1];  // the third series goes over
    QueryLimiter limiter(0, limit);
    set = q.Select(all, {}, &limiter);
    int n = 0;
    while (set->Next()) ++n;
    EXPECT_EQ(n, 2);
    EXPECT_EQ(set->Err().code(), absl::StatusCode::kResourceExhausted);
    EXPECT_EQ(set->Err().message(),
              absl::StrCat("the query exceeded the maximum number of chunks (limit: ", limit,
                           " chunks) (err-mimir-max-chunks-per-query). Consider reducing the time "
                           "range and/or number of series selected by the query. One way to "
                           "reduce the number of selected series is to add more label matchers to "
                           "the query. Otherwise, to adjust the related per-tenant limit, "
                           "configure -querier.max-fetched-chunks-per-query, or contact your "
                           "service administrator."));
  }
}

TEST_F(QuerierTest, CancellationAndDeadlineStopBetweenChunksAndSeries) {
  SecondsBlock(&store_, 0, 1200);  // 10 chunks
  tsdb::testing::RequestBuilder b;
  b.Add(Labels::FromStrings({"__name__", "y"})).samples = {{1000, 1}};
  ASSERT_TRUE(head_->Append(b.Build()).status.ok());
  BlockSet blocks(&store_, "tenant");
  ASSERT_TRUE(blocks.Refresh().ok());
  TenantQuerier q(head_.get(), blocks.Readers(0, kHour, nullptr), 0, kHour);
  const std::vector<Matcher> xy = {
      Matcher::MustCreate(Matcher::Type::kRegexMatch, "__name__", "x|y")};
  {
    QueryLimiter limiter;
    auto set = q.Select(xy, {}, &limiter);
    ASSERT_TRUE(set->Next());
    SeriesIterator& it = set->iterator();
    int n = 0;
    while (it.Next() != ValueType::kNone) {
      if (++n == 130) limiter.Cancel();  // in the second chunk
    }
    EXPECT_EQ(n, 240);  // the rest of the chunk being read, then nothing more
    EXPECT_EQ(it.Err().code(), absl::StatusCode::kCancelled);
    EXPECT_EQ(it.Err().message(), "query was canceled in expression evaluation");
    EXPECT_FALSE(set->Next());  // series "y" is not reached
    EXPECT_EQ(set->Err().code(), absl::StatusCode::kCancelled);
  }
  {
    QueryLimiter limiter(0, 0, absl::Now() - absl::Seconds(1));
    auto set = q.Select(xy, {}, &limiter);
    EXPECT_FALSE(set->Next());
    EXPECT_EQ(set->Err().code(), absl::StatusCode::kDeadlineExceeded);
    EXPECT_EQ(set->Err().message(), "query timed out in expression evaluation");
  }
  {
    // The deadline passes mid-series: the iterator stops before its next chunk.
    QueryLimiter limiter(0, 0, absl::Now() + absl::Milliseconds(200));
    auto set = q.Select(xy, {}, &limiter);
    ASSERT_TRUE(set->Next());
    SeriesIterator& it = set->iterator();
    ASSERT_EQ(it.Next(), ValueType::kFloat);
    absl::SleepFor(absl::Milliseconds(300));
    int n = 1;
    while (it.Next() != ValueType::kNone) ++n;
    EXPECT_EQ(n, 120);
    EXPECT_EQ(it.Err().code(), absl::StatusCode::kDeadlineExceeded);
  }
}

TEST_F(QuerierTest, BlockDeletedMidQueryIsSkippedWithAWarning) {
  // Block a: series x in [0, 1200) s; block b: [1200, 2400) s; the head: 2400 s and later.
  BlockMeta a = SecondsBlock(&store_, 0, 1200);
  BlockMeta b = SecondsBlock(&store_, 1200 * 1000, 1200);
  tsdb::testing::RequestBuilder rb;
  rb.Add(Labels::FromStrings({"__name__", "x"})).samples = {{2400 * 1000, 1}, {2401 * 1000, 2}};
  ASSERT_TRUE(head_->Append(rb.Build()).status.ok());
  BlockSet blocks(&store_, "tenant");
  ASSERT_TRUE(blocks.Refresh().ok());
  TenantQuerier q(head_.get(), blocks.Readers(0, kHour, nullptr), 0, kHour);
  auto set = q.Select(NameIs("x"));
  ASSERT_TRUE(set->Next());
  SeriesIterator& it = set->iterator();
  std::vector<int64_t> ts;
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(it.Next(), ValueType::kFloat);
    ts.push_back(it.AtT());
  }
  // A retention (or a compaction without a read barrier) deletes block b meanwhile.
  ASSERT_TRUE(store_.DeletePrefix(BlockPrefix("tenant", b.ulid) + "/").ok());
  for (ValueType t = it.Next(); t != ValueType::kNone; t = it.Next()) ts.push_back(it.AtT());
  EXPECT_TRUE(it.Err().ok());        // never a failed query
  ASSERT_EQ(ts.size(), 1200u + 2u);  // all of a, none of b, the head
  EXPECT_EQ(ts[1199], 1199 * 1000);
  EXPECT_EQ(ts[1200], 2400 * 1000);
  ASSERT_EQ(set->warnings().size(), 1u);
  EXPECT_NE(set->warnings()[0].find(b.ulid.ToString()), std::string::npos) << set->warnings()[0];
  EXPECT_EQ(set->warnings()[0].find(a.ulid.ToString()), std::string::npos);
  EXPECT_FALSE(set->Next());
  EXPECT_TRUE(set->Err().ok());
}

}  // namespace
}  // namespace sprout::metrics::tsdb
