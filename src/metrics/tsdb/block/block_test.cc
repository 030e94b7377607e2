#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "base/crc32c.h"
#include "base/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/tsdb/block/reader.h"
#include "metrics/tsdb/block/testing.h"
#include "metrics/tsdb/block/writer.h"
#include "metrics/tsdb/chunkenc/float_chunk.h"
#include "metrics/tsdb/chunkenc/histogram_chunk.h"
#include "objstore/fault_injection.h"
#include "objstore/filesystem.h"
#include "objstore/memory.h"
#include "rapidjson/document.h"
#include "storage/fault_injection_env.h"

namespace sprout::metrics::tsdb {
namespace {

using chunkenc::Encoding;
namespace fmt = block_format;

// One series as the tests build it: labels and chunks whose bytes the test owns.
struct TestChunk {
  int64_t min_time = 0;
  int64_t max_time = 0;
  Encoding encoding = Encoding::kXor;
  std::string bytes;
  int samples = 0;
};
struct TestSeries {
  Labels labels;
  std::vector<TestChunk> chunks;
};

TestChunk FloatChunkOf(int64_t start, int n, int64_t step, double v0) {
  chunkenc::FloatChunk c;
  for (int i = 0; i < n; ++i) EXPECT_TRUE(c.Append(start + i * step, v0 + i));
  return {c.min_time(), c.max_time(), Encoding::kXor, std::string(c.bytes()), n};
}

chunkenc::Histogram HistogramAt(int i) {
  chunkenc::Histogram h;
  h.schema = 0;
  h.count = 3 + 2 * static_cast<uint64_t>(i);
  h.zero_count = 0;
  h.sum = 4.0 + i;
  h.positive_spans = {{1, 2}};
  h.positive_buckets = {1 + static_cast<uint64_t>(i), 2 + static_cast<uint64_t>(i)};
  return h;
}

TestChunk HistogramChunkOf(int64_t start, int n, int64_t step, bool floats) {
  TestChunk out;
  if (floats) {
    chunkenc::FloatHistogramChunk c;
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(c.Append(start + i * step, HistogramAt(i).ToFloat()),
                chunkenc::AppendResult::kAppended);
    }
    out = {c.min_time(), c.max_time(), Encoding::kFloatHistogram, std::string(c.bytes()), n};
  } else {
    chunkenc::HistogramChunk c;
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(c.Append(start + i * step, HistogramAt(i)), chunkenc::AppendResult::kAppended);
    }
    out = {c.min_time(), c.max_time(), Encoding::kHistogram, std::string(c.bytes()), n};
  }
  return out;
}

std::vector<ChunkMeta> MetasOf(const TestSeries& s) {
  std::vector<ChunkMeta> metas;
  for (const TestChunk& c : s.chunks)
    metas.push_back({c.min_time, c.max_time, c.encoding, c.bytes});
  return metas;
}

// Random series over a small alphabet of names and values, so postings lists are shared; sorted
// in label order and unique. Chunks of all three encodings, 1–3 per series, back to back in time.
std::vector<TestSeries> RandomSeries(uint64_t seed, int count) {
  std::mt19937_64 rng(seed);
  std::set<Labels> seen;
  std::vector<TestSeries> out;
  const std::vector<std::string> names = {"__name__", "job", "instance", "mode", "le", "zone", "x"};
  while (static_cast<int>(out.size()) < count) {
    LabelsBuilder b;
    b.Add("__name__", absl::StrCat("metric_", rng() % 7));
    for (size_t n = 1; n < names.size(); ++n) {
      if (rng() % 3 == 0) continue;
      b.Add(names[n], absl::StrCat(names[n].substr(0, 1), rng() % (n * 3)));
    }
    Labels l = b.Build();
    if (!seen.insert(l).second) continue;
    TestSeries s;
    s.labels = l;
    int64_t t = 1700000000000 + static_cast<int64_t>(rng() % 1000);
    const int chunks = 1 + static_cast<int>(rng() % 3);
    for (int c = 0; c < chunks; ++c) {
      const int n = 1 + static_cast<int>(rng() % 130);
      TestChunk chunk;
      switch (rng() % 3) {
        case 0:
          chunk = FloatChunkOf(t, n, 15000, static_cast<double>(rng() % 100));
          break;
        case 1:
          chunk = HistogramChunkOf(t, n, 15000, false);
          break;
        default:
          chunk = HistogramChunkOf(t, n, 15000, true);
          break;
      }
      t = chunk.max_time + 1 + static_cast<int64_t>(rng() % 20000);
      s.chunks.push_back(std::move(chunk));
    }
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(),
            [](const TestSeries& a, const TestSeries& b) { return a.labels < b.labels; });
  return out;
}

// A FaultInjectionEnv holding the local block and a filesystem store, or a memory store.
struct Stores {
  storage::FaultInjectionEnv env;
  objstore::MemoryObjectStore memory{&env};
  std::unique_ptr<objstore::FilesystemObjectStore> filesystem;

  Stores() {
    auto fs = objstore::FilesystemObjectStore::Open(&env, "/bucket");
    EXPECT_TRUE(fs.ok()) << fs.status();
    filesystem = *std::move(fs);
  }
};

std::unique_ptr<BlockWriter> WriteBlock(storage::Env* env, const std::string& dir,
                                        const std::vector<TestSeries>& series,
                                        BlockWriterOptions options = {}) {
  auto w = BlockWriter::Create(env, dir, std::move(options));
  EXPECT_TRUE(w.ok()) << w.status();
  if (!w.ok()) return nullptr;
  for (const TestSeries& s : series) {
    std::vector<ChunkMeta> metas = MetasOf(s);
    absl::Status st = (*w)->AddSeries(s.labels, metas);
    EXPECT_TRUE(st.ok()) << st;
  }
  absl::Status st = (*w)->Finish();
  EXPECT_TRUE(st.ok()) << st;
  return *std::move(w);
}

// Checks every series, chunk and sample of `series` through `reader`.
void VerifyBlock(const BlockReader& reader, const std::vector<TestSeries>& series) {
  ASSERT_EQ(reader.index().num_series(), series.size());
  uint64_t samples = 0;
  for (size_t i = 0; i < series.size(); ++i) {
    Labels labels;
    std::vector<ChunkMeta> chunks;
    ASSERT_TRUE(reader.Series(i, &labels, &chunks).ok());
    ASSERT_EQ(labels, series[i].labels) << i;
    ASSERT_EQ(chunks.size(), series[i].chunks.size());
    for (size_t c = 0; c < chunks.size(); ++c) {
      const TestChunk& want = series[i].chunks[c];
      EXPECT_EQ(chunks[c].min_time, want.min_time);
      EXPECT_EQ(chunks[c].max_time, want.max_time);
      EXPECT_EQ(chunks[c].encoding, want.encoding);
      absl::StatusOr<BlockChunk> chunk = reader.ReadChunk(chunks[c].ref);
      ASSERT_TRUE(chunk.ok()) << chunk.status();
      EXPECT_EQ(chunk->encoding, want.encoding);
      EXPECT_EQ(chunk->payload, want.bytes);
      auto it = chunk->NewIterator();
      int n = 0;
      int64_t last = 0;
      while (it->Next() != chunkenc::ValueType::kNone) {
        last = it->AtT();
        ++n;
      }
      EXPECT_TRUE(it->Err().ok()) << it->Err();
      EXPECT_EQ(n, want.samples);
      EXPECT_EQ(last, want.max_time);
      samples += static_cast<uint64_t>(n);
    }
  }
  EXPECT_EQ(reader.meta().stats.num_samples, samples);
}

// What the matchers select, by definition: every matcher matches the series' value (absent: "").
std::vector<SeriesRef> BruteSelect(const std::vector<TestSeries>& series,
                                   const std::vector<Matcher>& matchers) {
  std::vector<SeriesRef> out;
  if (matchers.empty()) return out;
  for (size_t i = 0; i < series.size(); ++i) {
    bool all = true;
    for (const Matcher& m : matchers) all = all && m.Matches(series[i].labels.Get(m.name()));
    if (all) out.push_back(i);
  }
  return out;
}

class BlockRoundTrip : public ::testing::TestWithParam<bool> {};  // true: filesystem store

TEST_P(BlockRoundTrip, RandomSeriesSurviveWriteUploadRead) {
  Stores stores;
  objstore::ObjectStore* store =
      GetParam() ? static_cast<objstore::ObjectStore*>(stores.filesystem.get()) : &stores.memory;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    const std::vector<TestSeries> series = RandomSeries(seed, 300);
    BlockWriterOptions options;
    options.segment_size = 16 << 10;  // several segments
    auto w = WriteBlock(&stores.env, absl::StrCat("/tmp/block-", seed), series, options);
    ASSERT_NE(w, nullptr);
    EXPECT_GT(w->num_segments(), 2u);
    absl::StatusOr<std::string> prefix = w->Upload(store, "tenant");
    ASSERT_TRUE(prefix.ok()) << prefix.status();
    EXPECT_EQ(*prefix, "tenant/" + w->meta().ulid.ToString());
    ASSERT_TRUE(w->RemoveLocal().ok());
    EXPECT_FALSE(*stores.env.Exists(absl::StrCat("/tmp/block-", seed)));

    absl::StatusOr<std::unique_ptr<BlockReader>> reader = BlockReader::Open(store, *prefix);
    ASSERT_TRUE(reader.ok()) << reader.status();
    const BlockMeta& meta = (*reader)->meta();
    EXPECT_EQ(meta.ulid, w->meta().ulid);
    EXPECT_EQ(meta.stats.num_series, series.size());
    uint64_t chunks = 0;
    int64_t min_t = INT64_MAX, max_t = INT64_MIN;
    uint64_t float_samples = 0, histogram_samples = 0;
    for (const TestSeries& s : series) {
      chunks += s.chunks.size();
      for (const TestChunk& c : s.chunks) {
        min_t = std::min(min_t, c.min_time);
        max_t = std::max(max_t, c.max_time);
        (c.encoding == Encoding::kXor ? float_samples : histogram_samples) += c.samples;
      }
    }
    EXPECT_EQ(meta.stats.num_chunks, chunks);
    EXPECT_EQ(meta.stats.num_float_samples, float_samples);
    EXPECT_EQ(meta.stats.num_histogram_samples, histogram_samples);
    EXPECT_EQ(meta.min_time, min_t);
    EXPECT_EQ(meta.max_time, max_t + 1);
    EXPECT_EQ(meta.compaction_level, 1);
    EXPECT_THAT(meta.sources, ::testing::ElementsAre(meta.ulid));
    VerifyBlock(**reader, series);

    // Label names and values, with and without matchers, against the series themselves.
    std::set<std::string> names;
    std::map<std::string, std::set<std::string>> values;
    for (const TestSeries& s : series) {
      for (Label l : s.labels) {
        names.insert(std::string(l.name));
        values[std::string(l.name)].insert(std::string(l.value));
      }
    }
    absl::StatusOr<std::vector<std::string_view>> got_names = (*reader)->LabelNames();
    ASSERT_TRUE(got_names.ok());
    EXPECT_THAT(*got_names, ::testing::ElementsAreArray(names));
    for (const auto& [name, vals] : values) {
      absl::StatusOr<std::vector<std::string_view>> got = (*reader)->LabelValues(name);
      ASSERT_TRUE(got.ok());
      EXPECT_THAT(*got, ::testing::ElementsAreArray(vals)) << name;
      for (const std::string& v : vals) {
        std::vector<SeriesRef> want;
        for (size_t i = 0; i < series.size(); ++i) {
          if (series[i].labels.Get(name) == v && series[i].labels.Has(name)) want.push_back(i);
        }
        std::vector<SeriesRef> got_refs;
        auto it = (*reader)->Postings(name, v);
        ASSERT_TRUE(ExpandPostings(*it, &got_refs).ok());
        EXPECT_EQ(got_refs, want) << name << "=" << v;
      }
    }
    EXPECT_FALSE((*reader)->Postings("job", "nope")->Next());
    EXPECT_FALSE((*reader)->Postings("nope", "j1")->Next());

    const std::vector<Matcher> m = {Matcher::MustCreate(Matcher::Type::kEqual, "job", "j1")};
    std::set<std::string> want_names;
    std::set<std::string> want_modes;
    for (SeriesRef ref : BruteSelect(series, m)) {
      for (Label l : series[ref].labels) want_names.insert(std::string(l.name));
      if (series[ref].labels.Has("mode")) {
        want_modes.insert(std::string(series[ref].labels.Get("mode")));
      }
    }
    got_names = (*reader)->LabelNames(m);
    ASSERT_TRUE(got_names.ok());
    EXPECT_THAT(*got_names, ::testing::ElementsAreArray(want_names));
    absl::StatusOr<std::vector<std::string_view>> modes = (*reader)->LabelValues("mode", m);
    ASSERT_TRUE(modes.ok());
    EXPECT_THAT(*modes, ::testing::ElementsAreArray(want_modes));
  }
}

INSTANTIATE_TEST_SUITE_P(Stores, BlockRoundTrip, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Filesystem" : "Memory"; });

TEST(BlockSelect, AgreesWithBruteForce) {
  Stores stores;
  const std::vector<TestSeries> series = RandomSeries(99, 500);
  auto w = WriteBlock(&stores.env, "/tmp/select", series);
  ASSERT_NE(w, nullptr);
  absl::StatusOr<std::string> prefix = w->Upload(&stores.memory, "");
  ASSERT_TRUE(prefix.ok());
  auto reader = BlockReader::Open(&stores.memory, *prefix);
  ASSERT_TRUE(reader.ok()) << reader.status();

  using T = Matcher::Type;
  const std::vector<std::vector<Matcher>> cases = {
      {},
      {Matcher::MustCreate(T::kEqual, "__name__", "metric_3")},
      {Matcher::MustCreate(T::kEqual, "__name__", "metric_3"),
       Matcher::MustCreate(T::kEqual, "job", "j1")},
      {Matcher::MustCreate(T::kNotEqual, "job", "j1")},
      {Matcher::MustCreate(T::kEqual, "zone", "")},
      {Matcher::MustCreate(T::kNotEqual, "zone", "")},
      {Matcher::MustCreate(T::kRegexMatch, "instance", "i1|i3|nope")},
      {Matcher::MustCreate(T::kRegexMatch, "instance", ".*")},
      {Matcher::MustCreate(T::kRegexMatch, "instance", ".+"),
       Matcher::MustCreate(T::kRegexNoMatch, "mode", "m[12]")},
      {Matcher::MustCreate(T::kRegexMatch, "__name__", "metric_.*"),
       Matcher::MustCreate(T::kRegexNoMatch, "le", "")},
      {Matcher::MustCreate(T::kRegexMatch, "x", "x(1|2)?")},
      {Matcher::MustCreate(T::kEqual, "nolabel", "")},
      {Matcher::MustCreate(T::kEqual, "nolabel", "v")},
      {Matcher::MustCreate(T::kNotEqual, "nolabel", "v"),
       Matcher::MustCreate(T::kEqual, "job", "j2")},
      {Matcher::MustCreate(T::kRegexNoMatch, "__name__", "metric_[0-5]"),
       Matcher::MustCreate(T::kNotEqual, "zone", "z1")},
  };
  for (const auto& matchers : cases) {
    absl::StatusOr<std::vector<SeriesRef>> got = (*reader)->Select(matchers);
    ASSERT_TRUE(got.ok()) << got.status();
    std::string text;
    for (const Matcher& m : matchers) text += m.ToString() + " ";
    EXPECT_EQ(*got, BruteSelect(series, matchers)) << text;
  }
  // Random combinations of the same matchers.
  std::mt19937_64 rng(5);
  std::vector<Matcher> pool;
  for (const auto& c : cases) pool.insert(pool.end(), c.begin(), c.end());
  for (int round = 0; round < 200; ++round) {
    std::vector<Matcher> matchers;
    const int n = 1 + static_cast<int>(rng() % 3);
    for (int i = 0; i < n; ++i) matchers.push_back(pool[rng() % pool.size()]);
    absl::StatusOr<std::vector<SeriesRef>> got = (*reader)->Select(matchers);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, BruteSelect(series, matchers));
  }
}

TEST(BlockMeta, JsonHasPrometheusShape) {
  Stores stores;
  BlockWriterOptions options;
  options.min_time = 1700000000000;
  options.max_time = 1700007200000;
  options.ulid = *Ulid::Parse("01HF7Z7QZ0ABCDEFGHJKMNPQRS");
  const std::vector<TestSeries> series = RandomSeries(3, 20);
  auto w = WriteBlock(&stores.env, "/tmp/meta", series, options);
  ASSERT_NE(w, nullptr);
  absl::StatusOr<std::string> json = stores.env.ReadFile("/tmp/meta/meta.json");
  ASSERT_TRUE(json.ok());
  rapidjson::Document doc;
  doc.Parse(json->data(), json->size());
  ASSERT_FALSE(doc.HasParseError());
  EXPECT_STREQ(doc["ulid"].GetString(), "01HF7Z7QZ0ABCDEFGHJKMNPQRS");
  EXPECT_EQ(doc["minTime"].GetInt64(), 1700000000000);
  EXPECT_EQ(doc["maxTime"].GetInt64(), 1700007200000);
  EXPECT_EQ(doc["version"].GetInt(), 1);
  EXPECT_EQ(doc["stats"]["numSeries"].GetUint64(), 20u);
  uint64_t chunks = 0, samples = 0;
  for (const TestSeries& s : series) {
    chunks += s.chunks.size();
    for (const TestChunk& c : s.chunks) samples += c.samples;
  }
  EXPECT_EQ(doc["stats"]["numChunks"].GetUint64(), chunks);
  EXPECT_EQ(doc["stats"]["numSamples"].GetUint64(), samples);
  EXPECT_EQ(
      doc["stats"]["numFloatSamples"].GetUint64() + doc["stats"]["numHistogramSamples"].GetUint64(),
      samples);
  EXPECT_EQ(doc["compaction"]["level"].GetInt(), 1);
  ASSERT_EQ(doc["compaction"]["sources"].Size(), 1u);
  EXPECT_STREQ(doc["compaction"]["sources"][0].GetString(), "01HF7Z7QZ0ABCDEFGHJKMNPQRS");
  EXPECT_FALSE(doc["compaction"].HasMember("parents"));
  // Tabs, as Prometheus indents it, and a final newline.
  EXPECT_EQ(json->substr(0, 11), "{\n\t\"ulid\": ");
  EXPECT_EQ(json->back(), '\n');

  // A compacted block's lineage round-trips.
  BlockMeta meta = w->meta();
  meta.compaction_level = 2;
  meta.sources = {*Ulid::Parse("01HF7Z7QZ00000000000000001"),
                  *Ulid::Parse("01HF7Z7QZ00000000000000002")};
  meta.parents = {{meta.sources[0], 1, 2}, {meta.sources[1], 2, 3}};
  absl::StatusOr<BlockMeta> parsed = ParseMeta(MetaToJson(meta));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->compaction_level, 2);
  EXPECT_EQ(parsed->sources, meta.sources);
  ASSERT_EQ(parsed->parents.size(), 2u);
  EXPECT_EQ(parsed->parents[1].ulid, meta.sources[1]);
  EXPECT_EQ(parsed->parents[1].max_time, 3);
  EXPECT_EQ(parsed->stats.num_chunks, chunks);
}

TEST(BlockMeta, ParseAcceptsPrometheusOmissionsAndRefusesNewerVersions) {
  // Prometheus omits zero stats; the fields we do not know (numTombstones) are ignored.
  absl::StatusOr<BlockMeta> m =
      ParseMeta(R"({"ulid":"01BKGV7JBM69T2G1BGBGM6KB12","minTime":1,"maxTime":2,)"
                R"("stats":{"numSeries":3,"numTombstones":0},"compaction":{"level":1,"sources":[)"
                R"("01BKGV7JBM69T2G1BGBGM6KB12"]},"version":1})");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->stats.num_series, 3u);
  EXPECT_EQ(m->stats.num_samples, 0u);

  absl::StatusOr<BlockMeta> newer = ParseMeta(
      R"({"ulid":"01BKGV7JBM69T2G1BGBGM6KB12","minTime":1,"maxTime":2,"compaction":{"level":1},)"
      R"("version":2})");
  EXPECT_EQ(newer.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(newer.status().message()), ::testing::HasSubstr("version 2 is newer"));

  for (
      const char* bad :
      {"", "[]", "{", R"({"version":1})",
       R"({"ulid":"bad","minTime":1,"maxTime":2,"compaction":{"level":1},"version":1})",
       R"({"ulid":"01BKGV7JBM69T2G1BGBGM6KB12","minTime":3,"maxTime":2,"compaction":{"level":1},"version":1})",
       R"({"ulid":"01BKGV7JBM69T2G1BGBGM6KB12","minTime":1,"maxTime":2,"compaction":{"level":0},"version":1})",
       R"({"ulid":"01BKGV7JBM69T2G1BGBGM6KB12","minTime":1,"maxTime":2,"version":1})"}) {
    EXPECT_EQ(ParseMeta(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(BlockReader, RefusesANewerMetaVersionWithAClearError) {
  objstore::MemoryObjectStore store;
  ASSERT_TRUE(store
                  .Put("t/01BKGV7JBM69T2G1BGBGM6KB12/meta.json",
                       R"({"ulid":"01BKGV7JBM69T2G1BGBGM6KB12","minTime":1,"maxTime":2,)"
                       R"("compaction":{"level":1},"version":7})")
                  .ok());
  auto r = BlockReader::Open(&store, "t/01BKGV7JBM69T2G1BGBGM6KB12");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(r.status().message()),
              ::testing::HasSubstr("block t/01BKGV7JBM69T2G1BGBGM6KB12: meta.json: block format "
                                   "version 7 is newer than this sprout reads"));
  auto missing = BlockReader::Open(&store, "t/01BKGV7JBM69T2G1BGBGM6KB13");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

TEST(BlockWriter, RefusesOutOfOrderSeriesAndBadChunks) {
  storage::FaultInjectionEnv env;
  BlockWriterOptions options;
  options.min_time = 0;
  options.max_time = 100000;
  auto w = BlockWriter::Create(&env, "/tmp/order", options);
  ASSERT_TRUE(w.ok());
  const TestChunk a = FloatChunkOf(1000, 3, 1000, 1);  // [1000, 3000]
  const TestChunk b = FloatChunkOf(4000, 2, 1000, 1);  // [4000, 5000]
  const TestChunk c = FloatChunkOf(3000, 2, 1000, 1);  // [3000, 4000]: overlaps a
  const auto metas = [](std::initializer_list<const TestChunk*> cs) {
    std::vector<ChunkMeta> out;
    for (const TestChunk* c : cs) out.push_back({c->min_time, c->max_time, c->encoding, c->bytes});
    return out;
  };
  const Labels up_b = Labels::FromStrings({"__name__", "up", "job", "b"});
  const Labels up_a = Labels::FromStrings({"__name__", "up", "job", "a"});
  const Labels up = Labels::FromStrings({"__name__", "up"});
  const Labels up_b_x = Labels::FromStrings({"__name__", "up", "job", "b", "x", "1"});
  ASSERT_TRUE((*w)->AddSeries(up_b, metas({&a, &b})).ok());
  const auto refused = [&](const Labels& l, const std::vector<ChunkMeta>& cs) {
    absl::Status s = (*w)->AddSeries(l, cs);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    return std::string(s.message());
  };
  EXPECT_THAT(refused(up_a, metas({&a})), ::testing::HasSubstr("out of order"));
  EXPECT_THAT(refused(up, metas({&a})),
              ::testing::HasSubstr("out of order"));  // a prefix sorts first
  EXPECT_THAT(refused(up_b, metas({&a})), ::testing::HasSubstr("added twice"));
  EXPECT_THAT(refused(up_b_x, {}), ::testing::HasSubstr("no chunks"));
  EXPECT_THAT(refused(up_b_x, metas({&b, &a})), ::testing::HasSubstr("overlaps or precedes"));
  EXPECT_THAT(refused(up_b_x, metas({&a, &c})), ::testing::HasSubstr("overlaps or precedes"));
  EXPECT_THAT(refused(up_b_x, {{5, 4, Encoding::kXor, a.bytes}}),
              ::testing::HasSubstr("min_time after max_time"));
  EXPECT_THAT(refused(up_b_x, {{1, 4, Encoding::kNone, a.bytes}}),
              ::testing::HasSubstr("unknown encoding"));
  EXPECT_THAT(refused(up_b_x, {{1, 4, Encoding::kXor, "\x01"}}),
              ::testing::HasSubstr("shorter than its header"));
  EXPECT_THAT(refused(up_b_x, {{1, 100000, Encoding::kXor, a.bytes}}),
              ::testing::HasSubstr("outside the block's range"));
  EXPECT_THAT(refused(Labels(), metas({&a})), ::testing::HasSubstr("without labels"));
  // Refusals wrote nothing: the writer goes on and the block holds the two good series.
  ASSERT_TRUE((*w)->AddSeries(up_b_x, metas({&a})).ok());
  ASSERT_TRUE((*w)->Finish().ok());
  EXPECT_EQ((*w)->meta().stats.num_series, 2u);
  EXPECT_EQ((*w)->meta().stats.num_chunks, 3u);
  EXPECT_EQ((*w)->meta().stats.num_samples, 8u);
  EXPECT_EQ((*w)->AddSeries(up_b_x, metas({&a})).code(), absl::StatusCode::kFailedPrecondition);

  EXPECT_EQ(BlockWriter::Create(&env, "/tmp/order").status().code(),
            absl::StatusCode::kAlreadyExists);
  BlockWriterOptions half;
  half.min_time = 5;
  EXPECT_EQ(BlockWriter::Create(&env, "/tmp/x", half).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto empty = BlockWriter::Create(&env, "/tmp/empty");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ((*empty)->Finish().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(BlockWriter, EmptyBlockWithARangeRoundTrips) {
  Stores stores;
  BlockWriterOptions options;
  options.min_time = 0;
  options.max_time = 7200000;
  auto w = WriteBlock(&stores.env, "/tmp/empty", {}, options);
  ASSERT_NE(w, nullptr);
  absl::StatusOr<std::string> prefix = w->Upload(&stores.memory, "t");
  ASSERT_TRUE(prefix.ok());
  auto r = BlockReader::Open(&stores.memory, *prefix);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->index().num_series(), 0u);
  EXPECT_TRUE((*r)->LabelNames()->empty());
  EXPECT_TRUE(
      (*r)->Select(std::vector<Matcher>{Matcher::MustCreate(Matcher::Type::kEqual, "a", "")})
          ->empty());
  EXPECT_EQ((*r)->Series(0, nullptr, nullptr).code(), absl::StatusCode::kNotFound);
}

TEST(BlockWriter, FinishSyncsEverything) {
  // After Finish, a machine crash keeps the whole local block.
  storage::FaultInjectionEnv env;
  const std::vector<TestSeries> series = RandomSeries(11, 100);
  BlockWriterOptions options;
  options.segment_size = 8 << 10;
  auto w = WriteBlock(&env, "/data/tmp/block", series, options);
  ASSERT_NE(w, nullptr);
  std::map<std::string, std::string> before;
  std::vector<std::string> files = {"/data/tmp/block/index", "/data/tmp/block/meta.json"};
  for (uint32_t s = 1; s <= w->num_segments(); ++s) {
    files.push_back("/data/tmp/block/chunks/" + fmt::SegmentName(s));
  }
  for (const std::string& f : files) before[f] = *env.ReadFile(f);
  env.SimulateCrash(storage::FaultInjectionEnv::CrashMode::kDropUnsynced);
  for (const std::string& f : files) {
    absl::StatusOr<std::string> after = env.ReadFile(f);
    ASSERT_TRUE(after.ok()) << f << ": " << after.status();
    EXPECT_EQ(*after, before[f]) << f;
  }
}

// Either no block is visible, or the whole block reads back.
void ExpectNoneOrWhole(objstore::ObjectStore* store, const Ulid& ulid,
                       const std::vector<TestSeries>& series, bool* whole) {
  absl::StatusOr<std::vector<Ulid>> blocks = ListBlocks(store, "t");
  ASSERT_TRUE(blocks.ok()) << blocks.status();
  *whole = !blocks->empty();
  if (blocks->empty()) {
    EXPECT_EQ(BlockReader::Open(store, BlockPrefix("t", ulid)).status().code(),
              absl::StatusCode::kNotFound);
    return;
  }
  ASSERT_THAT(*blocks, ::testing::ElementsAre(ulid));
  auto r = BlockReader::Open(store, BlockPrefix("t", ulid));
  ASSERT_TRUE(r.ok()) << r.status();
  VerifyBlock(**r, series);
}

TEST(BlockUpload, FailedPutAtEveryStepLeavesNoBlockOrTheWholeBlock) {
  const std::vector<TestSeries> series = RandomSeries(21, 60);
  for (int step = 0;; ++step) {
    Stores stores;
    BlockWriterOptions options;
    options.segment_size = 4 << 10;
    auto w = WriteBlock(&stores.env, "/tmp/up", series, options);
    ASSERT_NE(w, nullptr);
    objstore::FaultInjectionObjectStore faulty(&stores.memory);
    faulty.InjectFault({.ops = objstore::FaultInjectionObjectStore::kPut, .skip = step});
    absl::StatusOr<std::string> prefix = w->Upload(&faulty, "t");
    bool whole = false;
    ExpectNoneOrWhole(&stores.memory, w->meta().ulid, series, &whole);
    EXPECT_EQ(whole, prefix.ok()) << step;
    if (prefix.ok()) {
      EXPECT_EQ(step, static_cast<int>(w->num_segments()) + 2);  // every Put passed
      // A retried upload after a failure works too.
      break;
    }
    ASSERT_TRUE(w->Upload(&stores.memory, "t").ok());
    ExpectNoneOrWhole(&stores.memory, w->meta().ulid, series, &whole);
    EXPECT_TRUE(whole);
  }
}

TEST(BlockUpload, MachineCrashAtAnyByteLeavesNoBlockOrTheWholeBlock) {
  const std::vector<TestSeries> series = RandomSeries(22, 40);
  int none = 0, complete = 0;
  for (uint64_t budget = 0;; budget += 997) {
    Stores stores;
    BlockWriterOptions options;
    options.segment_size = 4 << 10;
    auto w = WriteBlock(&stores.env, "/tmp/up", series, options);
    ASSERT_NE(w, nullptr);
    stores.env.CrashAfterBytes(budget);
    absl::StatusOr<std::string> prefix = w->Upload(stores.filesystem.get(), "t");
    const bool crashed = stores.env.crashed();
    stores.env.SimulateCrash(storage::FaultInjectionEnv::CrashMode::kDropUnsynced, budget);
    auto store = objstore::FilesystemObjectStore::Open(&stores.env, "/bucket");
    ASSERT_TRUE(store.ok()) << store.status();
    bool whole = false;
    ExpectNoneOrWhole(store->get(), w->meta().ulid, series, &whole);
    if (prefix.ok()) {
      EXPECT_TRUE(whole) << budget;  // an upload that returned OK is durable
    }
    (whole ? complete : none)++;
    if (!crashed) break;
  }
  EXPECT_GT(none, 3);
  EXPECT_GE(complete, 1);
}

// A small block in a memory store, for the corruption tests.
struct SmallBlock {
  Stores stores;
  std::vector<TestSeries> series = RandomSeries(31, 12);
  std::string prefix;
  SmallBlock() {
    BlockWriterOptions options;
    options.segment_size = 1 << 10;
    auto w = WriteBlock(&stores.env, "/tmp/small", series, options);
    prefix = *w->Upload(&stores.memory, "t");
  }
  std::string Get(std::string_view name) {
    return *stores.memory.Get(prefix + "/" + std::string(name));
  }
  void Put(std::string_view name, std::string_view data) {
    ASSERT_TRUE(stores.memory.Put(prefix + "/" + std::string(name), data).ok());
  }
  // Every read path; the first error, OK when all worked.
  absl::Status ReadAll() {
    ASSIGN_OR_RETURN(auto r, BlockReader::Open(&stores.memory, prefix));
    for (size_t i = 0; i < series.size(); ++i) {
      Labels l;
      std::vector<ChunkMeta> chunks;
      RETURN_IF_ERROR(r->Series(i, &l, &chunks));
      for (const ChunkMeta& c : chunks) {
        ASSIGN_OR_RETURN(BlockChunk chunk, r->ReadChunk(c.ref));
        auto it = chunk.NewIterator();
        while (it->Next() != chunkenc::ValueType::kNone) {
        }
        RETURN_IF_ERROR(it->Err());
      }
    }
    return absl::OkStatus();
  }
};

TEST(BlockCorruption, EveryFlippedOrCutIndexByteIsAnError) {
  SmallBlock b;
  ASSERT_TRUE(b.ReadAll().ok());
  const std::string index = b.Get("index");
  for (size_t i = 0; i < index.size(); ++i) {
    std::string bad = index;
    bad[i] ^= 0x20;
    b.Put("index", bad);
    absl::Status s = b.ReadAll();
    EXPECT_FALSE(s.ok()) << "byte " << i;
    EXPECT_TRUE(absl::IsDataLoss(s) || absl::IsFailedPrecondition(s)) << i << ": " << s;
  }
  for (size_t n = 0; n < index.size(); ++n) {
    b.Put("index", index.substr(0, n));
    EXPECT_TRUE(absl::IsDataLoss(b.ReadAll())) << "cut at " << n;
  }
  b.Put("index", index);
  EXPECT_TRUE(b.ReadAll().ok());
}

TEST(BlockCorruption, EveryFlippedOrCutSegmentByteIsAnError) {
  SmallBlock b;
  const std::string segment = b.Get("chunks/000001");
  for (size_t i = 0; i < segment.size(); ++i) {
    std::string bad = segment;
    bad[i] ^= 0x01;
    b.Put("chunks/000001", bad);
    absl::Status s = b.ReadAll();
    EXPECT_TRUE(absl::IsDataLoss(s) || absl::IsFailedPrecondition(s)) << "byte " << i << ": " << s;
  }
  for (size_t n = 0; n < segment.size(); n += 7) {
    b.Put("chunks/000001", segment.substr(0, n));
    EXPECT_TRUE(absl::IsDataLoss(b.ReadAll())) << "cut at " << n;
  }
  ASSERT_TRUE(b.stores.memory.Delete(b.prefix + "/chunks/000002").ok());
  b.Put("chunks/000001", segment);
  absl::Status missing = b.ReadAll();
  EXPECT_TRUE(absl::IsDataLoss(missing)) << missing;
  EXPECT_THAT(std::string(missing.message()), ::testing::HasSubstr("chunks/000002: missing"));
}

TEST(BlockCorruption, MutatedIndexWithValidCrcsNeverCrashes) {
  // Past the CRCs: random bytes changed and the CRCs fixed, so the structural checks are what
  // stands between the bytes and the reader.
  SmallBlock b;
  const std::string index = b.Get("index");
  std::mt19937_64 rng(8);
  int opened = 0, refused = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string bad = index;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      const size_t at = rng() % (bad.size() - fmt::kTocSize);
      bad[at] = static_cast<char>(rng() % 4 == 0 ? 0xff : bad[at] ^ (1 << (rng() % 8)));
    }
    block_testing::FixIndexCrcs(&bad);
    absl::StatusOr<std::unique_ptr<IndexReader>> r = IndexReader::Open(bad);
    if (!r.ok()) {
      EXPECT_TRUE(absl::IsDataLoss(r.status()) || absl::IsFailedPrecondition(r.status()))
          << r.status();
      ++refused;
      continue;
    }
    ++opened;
    block_testing::ExerciseIndex(**r);
  }
  EXPECT_GT(refused, 100);
  EXPECT_GT(opened, 100);
}

// The block_index_fuzzer's committed seeds (corpus/block_index_fuzzer/): written with
// SPROUT_WRITE_BLOCK_SEEDS=<dir>; without it the test checks the seeds are what they claim.
TEST(BlockFuzzSeeds, WriteOrCheck) {
  Stores stores;
  absl::StatusOr<std::string> fuzz_prefix =
      block_testing::WriteFuzzBlock(&stores.env, "/tmp/fuzz", &stores.memory);
  ASSERT_TRUE(fuzz_prefix.ok()) << fuzz_prefix.status();
  const std::string fuzz_index = *stores.memory.Get(*fuzz_prefix + "/index");
  const std::string fuzz_segment = *stores.memory.Get(*fuzz_prefix + "/chunks/000001");
  auto w = WriteBlock(&stores.env, "/tmp/seeds", RandomSeries(41, 40));
  ASSERT_NE(w, nullptr);
  const std::string random_index = *stores.env.ReadFile("/tmp/seeds/index");

  absl::StatusOr<std::string> random_prefix = w->Upload(&stores.memory, "random");
  ASSERT_TRUE(random_prefix.ok()) << random_prefix.status();
  absl::StatusOr<std::string> fuzz_block = block_testing::PackBlock(&stores.memory, *fuzz_prefix);
  absl::StatusOr<std::string> random_block =
      block_testing::PackBlock(&stores.memory, *random_prefix);
  ASSERT_TRUE(fuzz_block.ok() && random_block.ok());
  const std::string fuzz_meta = *stores.memory.Get(*fuzz_prefix + "/meta.json");
  // The random block without its chunk segment.
  std::string random_no_segment = *random_block;
  random_no_segment.resize(random_no_segment.find(
      absl::StrCat(AV(block_testing::kBlockFileMarker), std::string(1, '\2'))));

  std::string newer = fuzz_index;
  newer[4] = 2;
  std::string bad_crc_segment = fuzz_segment;
  bad_crc_segment[20] ^= 0x10;
  const std::vector<std::pair<std::string, std::string>> seeds = {
      {"index-fuzz-block", std::string(1, '\0') + fuzz_index},
      {"index-random-block", std::string(1, '\0') + random_index},
      {"index-random-block-fixcrc", std::string(1, 1) + random_index},
      {"index-truncated", std::string(1, '\0') + fuzz_index.substr(0, fuzz_index.size() / 2)},
      {"index-newer-version", std::string(1, '\0') + newer},
      {"segment-valid", std::string(1, 2) + fuzz_segment},
      {"segment-bad-crc", std::string(1, 2) + bad_crc_segment},
      {"segment-header-only", std::string(1, 2) + fuzz_segment.substr(0, 8)},
      {"meta-valid", std::string(1, 3) + fuzz_meta},
      {"meta-newer-version",
       std::string(1, 3) + absl::StrReplaceAll(fuzz_meta, {{"\"version\": 1", "\"version\": 9"}})},
      {"block-fuzz", std::string(1, 4) + *fuzz_block},
      {"block-random-fixcrc", std::string(1, 5) + *random_block},
      {"block-random-no-segment", std::string(1, 4) + random_no_segment},
  };
  const char* dir = std::getenv("SPROUT_WRITE_BLOCK_SEEDS");
  for (const auto& [name, bytes] : seeds) {
    if (dir != nullptr) {
      FILE* f = std::fopen((std::string(dir) + "/" + name).c_str(), "wb");
      ASSERT_NE(f, nullptr);
      std::fwrite(bytes.data(), 1, bytes.size(), f);
      std::fclose(f);
    }
  }
  // The valid seeds open and read; the broken ones are refused for the reason their name says.
  auto fuzz = IndexReader::Open(fuzz_index);
  ASSERT_TRUE(fuzz.ok());
  EXPECT_EQ((*fuzz)->num_series(), 3u);
  EXPECT_GT(block_testing::ExerciseIndex(**fuzz), 10u);
  ASSERT_TRUE(IndexReader::Open(random_index).ok());
  EXPECT_TRUE(absl::IsDataLoss(IndexReader::Open(seeds[3].second.substr(1)).status()));
  EXPECT_TRUE(absl::IsFailedPrecondition(IndexReader::Open(newer).status()));
  auto reader = BlockReader::Open(&stores.memory, *fuzz_prefix);
  ASSERT_TRUE(reader.ok());
  std::set<Encoding> encodings;
  for (SeriesRef ref = 0; ref < 3; ++ref) {
    std::vector<ChunkMeta> chunks;
    ASSERT_TRUE((*reader)->Series(ref, nullptr, &chunks).ok());
    absl::StatusOr<BlockChunk> chunk = (*reader)->ReadChunk(chunks[0].ref);
    ASSERT_TRUE(chunk.ok()) << chunk.status();
    encodings.insert(chunk->encoding);
  }
  EXPECT_EQ(encodings.size(), 3u);
  // The packed blocks unpack into blocks that open; the one without a segment opens but its
  // chunks are missing; the newer meta.json is refused.
  objstore::MemoryObjectStore unpacked(&stores.env);
  ASSERT_TRUE(block_testing::UnpackBlock(*random_block, false, &unpacked, "u/random").ok());
  ASSERT_TRUE(block_testing::UnpackBlock(random_no_segment, false, &unpacked, "u/partial").ok());
  auto random_reader = BlockReader::Open(&unpacked, "u/random");
  ASSERT_TRUE(random_reader.ok()) << random_reader.status();
  EXPECT_EQ((*random_reader)->index().num_series(), 40u);
  std::vector<ChunkMeta> chunks;
  ASSERT_TRUE((*random_reader)->Series(0, nullptr, &chunks).ok());
  EXPECT_TRUE((*random_reader)->ReadChunk(chunks[0].ref).ok());
  auto partial = BlockReader::Open(&unpacked, "u/partial");
  ASSERT_TRUE(partial.ok()) << partial.status();
  EXPECT_TRUE(absl::IsDataLoss((*partial)->ReadChunk(chunks[0].ref).status()));
  EXPECT_NE(seeds[9].second, seeds[8].second);
  ASSERT_TRUE(stores.memory.Put(*fuzz_prefix + "/meta.json", seeds[9].second.substr(1)).ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(BlockReader::Open(&stores.memory, *fuzz_prefix).status()));
}

}  // namespace
}  // namespace sprout::metrics::tsdb
