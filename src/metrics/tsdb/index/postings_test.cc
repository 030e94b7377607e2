#include "metrics/tsdb/index/postings.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "metrics/tsdb/index/node_series.h"

namespace sprout::metrics::tsdb {
namespace {

using Type = Matcher::Type;

std::vector<SeriesRef> Expand(PostingsIterator& it) {
  std::vector<SeriesRef> out;
  EXPECT_TRUE(ExpandPostings(it, &out).ok());
  return out;
}

std::vector<SeriesRef> RandomSet(std::mt19937_64& rng, size_t max_size, SeriesRef universe) {
  std::set<SeriesRef> s;
  const size_t n = rng() % (max_size + 1);
  for (size_t i = 0; i < n; ++i) s.insert(rng() % universe);
  return {s.begin(), s.end()};
}

TEST(PostingsIteratorTest, ListNextAndSeek) {
  const std::vector<SeriesRef> refs = {2, 4, 6, 8, 100, 1000};
  auto it = NewListPostings(refs);
  ASSERT_TRUE(it->Seek(5));  // before any Next: from the start
  EXPECT_EQ(it->At(), 6u);
  ASSERT_TRUE(it->Seek(3));  // never back
  EXPECT_EQ(it->At(), 6u);
  ASSERT_TRUE(it->Next());
  EXPECT_EQ(it->At(), 8u);
  ASSERT_TRUE(it->Seek(999));
  EXPECT_EQ(it->At(), 1000u);
  EXPECT_FALSE(it->Seek(1001));
  EXPECT_FALSE(it->Next());  // stays exhausted

  auto fresh = NewListPostings(refs);
  EXPECT_EQ(Expand(*fresh), refs);
  EXPECT_FALSE(NewEmptyPostings()->Next());
  EXPECT_TRUE(Expand(*Intersect({})).empty());
  EXPECT_TRUE(Expand(*Merge({})).empty());
}

// Random sets against std::set_* on the same data, including Seek on the combined iterators.
TEST(PostingsIteratorTest, SetOperationsMatchAnOracle) {
  std::mt19937_64 rng(42);
  for (int round = 0; round < 500; ++round) {
    const SeriesRef universe = 1 + rng() % 400;
    const size_t k = 1 + rng() % 5;
    std::vector<std::vector<SeriesRef>> sets;
    for (size_t i = 0; i < k; ++i) sets.push_back(RandomSet(rng, 200, universe));

    std::set<SeriesRef> want_union, want_intersection(sets[0].begin(), sets[0].end());
    for (const auto& s : sets) {
      want_union.insert(s.begin(), s.end());
      std::set<SeriesRef> next;
      std::set_intersection(want_intersection.begin(), want_intersection.end(), s.begin(), s.end(),
                            std::inserter(next, next.end()));
      want_intersection = std::move(next);
    }
    std::vector<SeriesRef> want_without;
    std::set_difference(sets[0].begin(), sets[0].end(), sets[1 % k].begin(), sets[1 % k].end(),
                        std::back_inserter(want_without));

    auto lists = [&] {
      std::vector<std::unique_ptr<PostingsIterator>> its;
      for (const auto& s : sets) its.push_back(NewListPostings(s));
      return its;
    };
    EXPECT_EQ(Expand(*Merge(lists())),
              std::vector<SeriesRef>(want_union.begin(), want_union.end()));
    EXPECT_EQ(Expand(*Intersect(lists())),
              std::vector<SeriesRef>(want_intersection.begin(), want_intersection.end()));
    auto without = Without(NewListPostings(sets[0]), NewListPostings(sets[1 % k]));
    EXPECT_EQ(Expand(*without), want_without);

    // Seek to random increasing targets: the first element >= target of the oracle set.
    const std::set<SeriesRef>* oracles[] = {&want_union, &want_intersection};
    std::unique_ptr<PostingsIterator> its[] = {Merge(lists()), Intersect(lists())};
    const std::set<SeriesRef> without_set(want_without.begin(), want_without.end());
    std::unique_ptr<PostingsIterator> wo =
        Without(NewListPostings(sets[0]), NewListPostings(sets[1 % k]));
    SeriesRef target = 0;
    SeriesRef position[3] = {0, 0, 0};
    bool live[3] = {true, true, true};
    for (int step = 0; step < 20; ++step) {
      target += rng() % 40;
      for (int j = 0; j < 3; ++j) {
        if (!live[j]) continue;
        const std::set<SeriesRef>& oracle = j < 2 ? *oracles[j] : without_set;
        PostingsIterator& it = j < 2 ? *its[j] : *wo;
        // Seek never moves back: the effective target is the larger of target and position.
        const SeriesRef effective = std::max(target, position[j]);
        auto expect = oracle.lower_bound(effective);
        const bool ok = it.Seek(target);
        ASSERT_EQ(ok, expect != oracle.end()) << "round " << round << " op " << j;
        if (!ok) {
          live[j] = false;
          continue;
        }
        EXPECT_EQ(it.At(), *expect);
        position[j] = it.At();
        if (rng() % 3 == 0) {  // interleave Next
          auto next = oracle.upper_bound(position[j]);
          const bool more = it.Next();
          ASSERT_EQ(more, next != oracle.end());
          if (!more) {
            live[j] = false;
            continue;
          }
          EXPECT_EQ(it.At(), *next);
          position[j] = it.At();
        }
      }
    }
  }
}

TEST(MemPostingsTest, AddLookupNamesValues) {
  MemPostings index;
  index.Add(1, Labels::FromStrings({"__name__", "up", "job", "api"}));
  index.Add(2, Labels::FromStrings({"__name__", "up", "job", "db"}));
  index.Add(3, Labels::FromStrings({"__name__", "down", "job", "api", "zone", "eu"}));
  EXPECT_EQ(index.Postings("__name__", "up"), (std::vector<SeriesRef>{1, 2}));
  EXPECT_EQ(index.Postings("job", "api"), (std::vector<SeriesRef>{1, 3}));
  EXPECT_TRUE(index.Postings("job", "none").empty());
  EXPECT_TRUE(index.Postings("none", "api").empty());
  EXPECT_EQ(index.AllPostings(), (std::vector<SeriesRef>{1, 2, 3}));
  EXPECT_EQ(index.LabelNames(), (std::vector<std::string_view>{"__name__", "job", "zone"}));
  EXPECT_EQ(index.LabelValues("job"), (std::vector<std::string_view>{"api", "db"}));
  EXPECT_TRUE(index.LabelValues("none").empty());
  EXPECT_EQ(index.NumSeries(), 3u);

  // Out-of-order and repeated adds (WAL replay) keep lists sorted and unique.
  index.Add(0, Labels::FromStrings({"__name__", "up", "job", "api"}));
  index.Add(2, Labels::FromStrings({"__name__", "up", "job", "db"}));
  EXPECT_EQ(index.Postings("__name__", "up"), (std::vector<SeriesRef>{0, 1, 2}));
  EXPECT_EQ(index.AllPostings(), (std::vector<SeriesRef>{0, 1, 2, 3}));

  index.Delete(std::vector<SeriesRef>{3, 0});
  EXPECT_EQ(index.AllPostings(), (std::vector<SeriesRef>{1, 2}));
  EXPECT_EQ(index.Postings("job", "api"), (std::vector<SeriesRef>{1}));
  EXPECT_EQ(index.LabelNames(), (std::vector<std::string_view>{"__name__", "job"}));  // zone gone
  EXPECT_EQ(index.LabelValues("__name__"), (std::vector<std::string_view>{"up"}));
}

// Cardinality as a readable map: "name" → "value=count,..." (values sorted).
std::map<std::string, std::string> CardinalityMap(
    const std::vector<MemPostings::NameCardinality>& names) {
  std::map<std::string, std::string> out;
  for (const MemPostings::NameCardinality& n : names) {
    std::vector<std::string> parts;
    for (const MemPostings::ValueCount& v : n.values) {
      parts.push_back(std::string(v.value) + "=" + std::to_string(v.series));
    }
    std::sort(parts.begin(), parts.end());
    std::string joined;
    for (const std::string& p : parts) absl::StrAppend(&joined, joined.empty() ? "" : ",", p);
    out[std::string(n.name)] = joined;
  }
  return out;
}

TEST(MemPostingsTest, CardinalityFromListLengthsAndAmongASelection) {
  MemPostings index;
  index.Add(1, Labels::FromStrings({"__name__", "up", "job", "api"}));
  index.Add(2, Labels::FromStrings({"__name__", "up", "job", "db"}));
  index.Add(3, Labels::FromStrings({"__name__", "down", "job", "api", "zone", "eu"}));
  index.Add(7, Labels::FromStrings({"__name__", "down", "job", "web"}));
  std::vector<MemPostings::NameCardinality> all = index.Cardinality({}, nullptr);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].name, "__name__");  // names sorted
  EXPECT_EQ(CardinalityMap(all),
            (std::map<std::string, std::string>{
                {"__name__", "down=2,up=2"}, {"job", "api=2,db=1,web=1"}, {"zone", "eu=1"}}));
  // Only the names asked for; an unknown name is left out.
  const std::vector<std::string> names = {"zone", "nope", "job"};
  EXPECT_EQ(CardinalityMap(index.Cardinality(names, nullptr)),
            (std::map<std::string, std::string>{{"job", "api=2,db=1,web=1"}, {"zone", "eu=1"}}));
  // Among series 2 and 3: values neither carries disappear, names too.
  const std::vector<SeriesRef> among = {2, 3};
  EXPECT_EQ(CardinalityMap(index.Cardinality({}, &among)),
            (std::map<std::string, std::string>{
                {"__name__", "down=1,up=1"}, {"job", "api=1,db=1"}, {"zone", "eu=1"}}));
  const std::vector<SeriesRef> none;
  EXPECT_TRUE(index.Cardinality({}, &none).empty());
}

TEST(MemPostingsTest, SharedSymbolTable) {
  SymbolTable symbols;
  MemPostings index(&symbols);
  index.Add(1, Labels::FromStrings({"__name__", "up"}));
  EXPECT_EQ(symbols.size(), 2u);
  EXPECT_EQ(index.LabelNames()[0].data(), symbols.Find("__name__").data());
}

// Brute force: a series is selected when every matcher matches its value (absent → "").
// Series i has ref i * stride.
std::vector<SeriesRef> Oracle(const std::vector<Labels>& series,
                              const std::vector<Matcher>& matchers, SeriesRef stride = 1) {
  std::vector<SeriesRef> out;
  if (matchers.empty()) return out;
  for (size_t i = 0; i < series.size(); ++i) {
    if (series[i].empty()) continue;  // deleted
    bool all = true;
    for (const Matcher& m : matchers) all = all && m.Matches(series[i].Get(m.name()));
    if (all) out.push_back(i * stride);
  }
  return out;
}

TEST(MemPostingsTest, SelectMatchesBruteForceOnRandomSeries) {
  std::mt19937_64 rng(1234);
  const std::vector<std::string> names = {"__name__", "a", "b", "c"};
  const std::vector<std::string> values = {"x", "y", "z", "xy", "foo", "foobar"};
  const std::vector<std::string> regexes = {".*", ".+", "x|y",  "foo.*",     "x.*",  "[xy]+",
                                            "z|", "",   "nope", "(?:x|foo)", "f.o.*"};
  for (int round = 0; round < 60; ++round) {
    // Dense refs (the head's) and sparse ones (unions then take the pairwise-merge path).
    const SeriesRef stride = round % 2 == 0 ? 1 : 1000;
    MemPostings index;
    std::vector<Labels> series;
    const int n = 1 + static_cast<int>(rng() % 200);
    for (int i = 0; i < n; ++i) {
      LabelsBuilder b;
      for (const std::string& name : names) {
        if (rng() % 3 != 0) b.Set(name, values[rng() % values.size()]);  // some labels absent
      }
      if (b.size() == 0) b.Set("a", "x");
      series.push_back(b.Build());
      index.Add(i * stride, series.back());
    }
    // Delete a few so Select sees the index after GC.
    std::vector<SeriesRef> dead;
    for (int i = 0; i < n; ++i) {
      if (rng() % 10 == 0) {
        dead.push_back(i * stride);
        series[i] = Labels();
      }
    }
    index.Delete(dead);

    for (int q = 0; q < 60; ++q) {
      std::vector<Matcher> matchers;
      const int k = static_cast<int>(rng() % 4);  // 0..3 matchers
      for (int j = 0; j < k; ++j) {
        const Type type = static_cast<Type>(rng() % 4);
        const std::string& name =
            j == 0 && rng() % 4 == 0 ? std::string("missing") : names[rng() % names.size()];
        std::string value;
        if (type == Type::kEqual || type == Type::kNotEqual) {
          value = rng() % 4 == 0 ? "" : values[rng() % values.size()];
        } else {
          value = regexes[rng() % regexes.size()];
        }
        matchers.push_back(Matcher::MustCreate(type, name, value));
      }
      const std::vector<SeriesRef> got = index.Select(matchers);
      std::string text;
      for (const Matcher& m : matchers) text += m.ToString() + " ";
      ASSERT_EQ(got, Oracle(series, matchers, stride)) << "round " << round << ": " << text;
    }
  }
}

TEST(MemPostingsTest, SelectOnNodeExporterSeries) {
  const size_t instances = 6;
  const std::vector<Labels> series = testing::NodeExporterSeries(instances);
  MemPostings index;
  for (SeriesRef ref = 0; ref < series.size(); ++ref) index.Add(ref, series[ref]);

  const std::vector<Matcher> cpu_i1 = {
      Matcher::MustCreate(Type::kEqual, "__name__", "node_cpu_seconds_total"),
      Matcher::MustCreate(Type::kEqual, "instance", "i1")};
  std::vector<SeriesRef> got = index.Select(cpu_i1);
  ASSERT_EQ(got.size(), 16u * 8u);  // cpus × modes
  // Instance i1's series are the second block of 2000, cpu series first.
  EXPECT_EQ(got.front(), testing::kNodeSeriesPerInstance);
  EXPECT_EQ(got.back(), testing::kNodeSeriesPerInstance + 127);

  const std::vector<Matcher> jobs_not_idle = {
      Matcher::MustCreate(Type::kRegexMatch, "job", "node|api"),
      Matcher::MustCreate(Type::kNotEqual, "mode", "idle")};
  got = index.Select(jobs_not_idle);
  size_t want = 0;
  for (size_t i = 0; i < instances; ++i) {
    if (i % 3 != 2) want += testing::kNodeSeriesPerInstance - 16;  // job db excluded; idle cpus
  }
  EXPECT_EQ(got.size(), want);
  EXPECT_EQ(got, Oracle(series, jobs_not_idle));

  // Only empty-matching matchers: starts from all series.
  const std::vector<Matcher> no_device = {Matcher::MustCreate(Type::kEqual, "device", "")};
  EXPECT_EQ(index.Select(no_device).size(), instances * 128);
  EXPECT_TRUE(index.Select({}).empty());
  // Every series is in ~8 lists plus the all-series list; the lists hold 32-bit ids, so they
  // take more than 4 bytes per entry and less than the 8 a SeriesRef would.
  EXPECT_GT(index.MemoryBytes(), series.size() * 8 * sizeof(uint32_t));
  EXPECT_LT(index.MemoryBytes(), series.size() * 8 * sizeof(SeriesRef));
}

// One writer adds series while readers query. Series `ref` has job j<ref % 4> and
// __name__ m<ref % 7>, so every answer can be checked from the refs alone.
TEST(MemPostingsTest, ConcurrentReadersWithOneWriter) {
  MemPostings index;
  constexpr SeriesRef kSeries = 20000;
  std::atomic<bool> done = false;
  std::atomic<int> queries = 0;
  std::thread writer([&] {
    for (SeriesRef ref = 0; ref < kSeries; ++ref) {
      index.Add(ref, Labels::FromStrings({"__name__", absl::StrCat("m", ref % 7), "job",
                                          absl::StrCat("j", ref % 4)}));
      if (ref % 5000 == 4999) index.Delete(std::vector<SeriesRef>{ref - 1});  // some GC too
    }
    done = true;
  });
  std::vector<std::thread> readers;
  std::atomic<bool> failed = false;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&, r] {
      const std::vector<Matcher> matchers = {
          Matcher::MustCreate(Type::kEqual, "job", absl::StrCat("j", r + 1)),
          Matcher::MustCreate(Type::kRegexNoMatch, "__name__", "m0|m1")};
      size_t last_size = 0;
      while (!done) {
        const std::vector<SeriesRef> got = index.Select(matchers);
        for (size_t i = 0; i < got.size(); ++i) {
          const bool ok = got[i] % 4 == static_cast<SeriesRef>(r + 1) && got[i] % 7 >= 2 &&
                          (i == 0 || got[i - 1] < got[i]);
          if (!ok) failed = true;
        }
        // Deletes remove at most one ref in four thousand; sizes never shrink much.
        if (got.size() + 2 < last_size) failed = true;
        last_size = got.size();
        ++queries;
      }
    });
  }
  writer.join();
  for (auto& t : readers) t.join();
  EXPECT_FALSE(failed);
  EXPECT_GT(queries.load(), 0);
  EXPECT_EQ(index.NumSeries(), kSeries - 4);
}

}  // namespace
}  // namespace sprout::metrics::tsdb
