// Test-only helpers of the compaction tests: random level-1 blocks of all three encodings whose
// samples the test knows, and a reader that collects every sample of every visible block.
// Header-only; not part of the library.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "gtest/gtest.h"
#include "metrics/tsdb/block/reader.h"
#include "metrics/tsdb/block/writer.h"
#include "metrics/tsdb/chunkenc/float_chunk.h"
#include "metrics/tsdb/chunkenc/histogram_chunk.h"
#include "metrics/tsdb/compact/compactor.h"
#include "objstore/object_store.h"
#include "storage/env.h"

namespace sprout::metrics::tsdb::compact_testing {

using chunkenc::ValueType;

// One sample as a test compares it: the counter-reset hint is left out (an iterator reports it
// by the sample's place in its chunk, which a merge changes).
struct TestSample {
  int64_t t = 0;
  ValueType type = ValueType::kNone;
  uint64_t bits = 0;  // float value
  chunkenc::Histogram h;
  chunkenc::FloatHistogram fh;

  friend bool operator==(const TestSample& a, const TestSample& b) {
    return a.t == b.t && a.type == b.type && a.bits == b.bits && a.h == b.h && a.fh == b.fh;
  }
};

inline std::string Describe(const TestSample& s) {
  return absl::StrCat("t=", s.t, " type=", static_cast<int>(s.type), " bits=", s.bits,
                      " count=", s.h.count, "/", s.fh.count);
}

using SeriesSamples = std::map<Labels, std::vector<TestSample>>;

inline chunkenc::Histogram HistogramOf(uint64_t k) {
  chunkenc::Histogram h;
  h.schema = 0;
  h.count = 3 + 2 * k;
  h.sum = 4.0 + static_cast<double>(k);
  h.positive_spans = {{1, 2}};
  h.positive_buckets = {1 + k, 2 + k};
  return h;
}

inline TestSample MakeSample(int64_t t, ValueType type, uint64_t k) {
  TestSample s;
  s.t = t;
  s.type = type;
  if (type == ValueType::kFloat) {
    s.bits = std::bit_cast<uint64_t>(static_cast<double>(k) * 0.5);
  } else if (type == ValueType::kHistogram) {
    s.h = HistogramOf(k);
  } else {
    s.fh = HistogramOf(k).ToFloat();
  }
  return s;
}

// One series of one block: samples in time order, cut into chunks as a head would (every
// `cut` samples, on a type change, when a histogram chunk asks for a new one).
struct BlockSeries {
  Labels labels;
  std::vector<TestSample> samples;
};

struct OwnedChunk {
  int64_t min_time = 0, max_time = 0;
  chunkenc::Encoding encoding = chunkenc::Encoding::kNone;
  std::string bytes;
};

inline std::vector<OwnedChunk> EncodeChunks(const std::vector<TestSample>& samples, int cut) {
  std::vector<OwnedChunk> out;
  std::unique_ptr<chunkenc::FloatChunk> f;
  std::unique_ptr<chunkenc::HistogramChunk> h;
  std::unique_ptr<chunkenc::FloatHistogramChunk> fh;
  ValueType type = ValueType::kNone;
  int n = 0;
  auto flush = [&] {
    if (n == 0) return;
    OwnedChunk c;
    if (type == ValueType::kFloat) {
      c = {f->min_time(), f->max_time(), chunkenc::Encoding::kXor, std::string(f->bytes())};
    } else if (type == ValueType::kHistogram) {
      c = {h->min_time(), h->max_time(), chunkenc::Encoding::kHistogram, std::string(h->bytes())};
    } else {
      c = {fh->min_time(), fh->max_time(), chunkenc::Encoding::kFloatHistogram,
           std::string(fh->bytes())};
    }
    out.push_back(std::move(c));
    n = 0;
  };
  for (const TestSample& s : samples) {
    if (s.type != type || n >= cut) flush();
    type = s.type;
    bool appended = false;
    for (int attempt = 0; attempt < 2 && !appended; ++attempt) {
      if (n == 0) {
        f = std::make_unique<chunkenc::FloatChunk>();
        h = std::make_unique<chunkenc::HistogramChunk>(chunkenc::CounterResetHint::kUnknown);
        fh = std::make_unique<chunkenc::FloatHistogramChunk>(chunkenc::CounterResetHint::kUnknown);
      }
      if (s.type == ValueType::kFloat) {
        appended = f->Append(s.t, std::bit_cast<double>(s.bits));
      } else if (s.type == ValueType::kHistogram) {
        appended = h->Append(s.t, s.h) == chunkenc::AppendResult::kAppended;
      } else {
        appended = fh->Append(s.t, s.fh) == chunkenc::AppendResult::kAppended;
      }
      if (!appended) flush();
    }
    EXPECT_TRUE(appended) << Describe(s);
    ++n;
  }
  flush();
  return out;
}

// Writes a block of `series` (sorted here) with the range [min_time, max_time) and the given
// ULID, uploads it under `prefix`, and returns its meta.
inline BlockMeta WriteTestBlock(storage::Env* env, objstore::ObjectStore* store,
                                const std::string& prefix, std::vector<BlockSeries> series,
                                int64_t min_time, int64_t max_time, Ulid ulid = Ulid(),
                                int cut = 120, int level = 1) {
  std::sort(series.begin(), series.end(),
            [](const BlockSeries& a, const BlockSeries& b) { return a.labels < b.labels; });
  BlockWriterOptions options;
  options.min_time = min_time;
  options.max_time = max_time;
  options.ulid = ulid.is_zero() ? Ulid::Generate() : ulid;
  options.compaction_level = level;
  options.segment_size = 8 << 10;
  const std::string dir = absl::StrCat("/tmp/testblock-", options.ulid.ToString());
  auto w = BlockWriter::Create(env, dir, options);
  EXPECT_TRUE(w.ok()) << w.status();
  for (const BlockSeries& s : series) {
    if (s.samples.empty()) continue;
    std::vector<OwnedChunk> chunks = EncodeChunks(s.samples, cut);
    std::vector<ChunkMeta> metas;
    for (const OwnedChunk& c : chunks)
      metas.push_back({c.min_time, c.max_time, c.encoding, c.bytes});
    absl::Status st = (*w)->AddSeries(s.labels, metas);
    EXPECT_TRUE(st.ok()) << st;
  }
  absl::Status st = (*w)->Finish();
  EXPECT_TRUE(st.ok()) << st;
  absl::StatusOr<std::string> up = (*w)->Upload(store, prefix);
  EXPECT_TRUE(up.ok()) << up.status();
  EXPECT_TRUE((*w)->RemoveLocal().ok());
  return (*w)->meta();
}

// Every sample of one block, per series, in the order stored.
inline absl::Status ReadBlockSamples(const BlockReader& r, SeriesSamples* out) {
  for (uint64_t ref = 0; ref < r.index().num_series(); ++ref) {
    Labels labels;
    std::vector<ChunkMeta> chunks;
    RETURN_IF_ERROR(r.Series(ref, &labels, &chunks));
    std::vector<TestSample>& dst = (*out)[labels];
    for (const ChunkMeta& c : chunks) {
      ASSIGN_OR_RETURN(BlockChunk chunk, r.ReadChunk(c.ref));
      auto it = chunk.NewIterator();
      for (ValueType vt = it->Next(); vt != ValueType::kNone; vt = it->Next()) {
        TestSample s;
        s.type = vt;
        if (vt == ValueType::kFloat) {
          auto [t, v] = it->At();
          s.t = t;
          s.bits = std::bit_cast<uint64_t>(v);
        } else if (vt == ValueType::kHistogram) {
          s.t = it->AtHistogram(&s.h);
          s.h.reset_hint = chunkenc::CounterResetHint::kUnknown;
        } else {
          s.t = it->AtFloatHistogram(&s.fh);
          s.fh.reset_hint = chunkenc::CounterResetHint::kUnknown;
        }
        dst.push_back(std::move(s));
      }
      RETURN_IF_ERROR(it->Err());
    }
  }
  return absl::OkStatus();
}

// Every sample of every visible block under `prefix`, per series, sorted by time (a sample in
// two blocks appears twice).
inline absl::StatusOr<SeriesSamples> ReadAllSamples(objstore::ObjectStore* store,
                                                    const std::string& prefix) {
  ASSIGN_OR_RETURN(std::vector<Ulid> blocks, ListBlocks(store, prefix));
  SeriesSamples out;
  for (const Ulid& u : blocks) {
    ASSIGN_OR_RETURN(auto r, BlockReader::Open(store, BlockPrefix(prefix, u)));
    RETURN_IF_ERROR(ReadBlockSamples(*r, &out));
  }
  for (auto& [labels, samples] : out) {
    std::stable_sort(samples.begin(), samples.end(),
                     [](const TestSample& a, const TestSample& b) { return a.t < b.t; });
  }
  return out;
}

// A random data set over `blocks` level-1 blocks: each block i gets range ranges[i]; a block's
// series are drawn from a pool of `pool` label sets; timestamps are on a 15 s grid with a
// per-(series, block) offset of 0 or 5 s, so blocks with the same range share some timestamps
// (duplicates when the value is the same, conflicts when not) and interleave others. Types vary
// per (series, block) over all three encodings. `expected` receives the merged truth: per
// timestamp the sample of the block with the largest ULID (blocks get increasing ULIDs).
struct RandomDataSet {
  std::vector<BlockMeta> metas;
  SeriesSamples expected;
  uint64_t input_samples = 0;
  uint64_t duplicates = 0;  // exact duplicates among the inputs
  uint64_t conflicts = 0;
};

inline RandomDataSet MakeRandomDataSet(storage::Env* env, objstore::ObjectStore* store,
                                       const std::string& prefix, uint64_t seed,
                                       const std::vector<std::pair<int64_t, int64_t>>& ranges,
                                       int pool = 12, int cut = 40) {
  std::mt19937_64 rng(seed);
  RandomDataSet out;
  std::vector<Labels> labels;
  for (int i = 0; i < pool; ++i) {
    labels.push_back(Labels::FromStrings({"__name__", absl::StrCat("m", i % 3), "job",
                                          absl::StrCat("j", i % 4), "i", absl::StrCat(i)}));
  }
  // Per series: timestamp → (rank, sample); the highest rank wins.
  std::map<Labels, std::map<int64_t, std::pair<int, TestSample>>> truth;
  for (size_t b = 0; b < ranges.size(); ++b) {
    const Ulid ulid = Ulid::Generate();  // monotonic in the process: later blocks sort later
    const auto [min_t, max_t] = ranges[b];
    std::vector<BlockSeries> series;
    for (const Labels& l : labels) {
      if (rng() % 4 == 0) continue;
      BlockSeries s;
      s.labels = l;
      const ValueType type = static_cast<ValueType>(1 + rng() % 3);
      const int64_t offset = (rng() % 2) * 5000;
      const int64_t step = 15000 * (1 + static_cast<int64_t>(rng() % 4));
      // Same value as other blocks (a duplicate) unless the series conflicts in this block.
      const bool conflicting = rng() % 5 == 0;
      int64_t first = min_t + offset + static_cast<int64_t>(rng() % 8) * 15000;
      const int64_t last = max_t - 1 - static_cast<int64_t>(rng() % 8) * 15000;
      for (int64_t t = first; t <= last; t += step) {
        const uint64_t k = static_cast<uint64_t>((t - min_t) / 1000) + (conflicting ? 7 : 0);
        s.samples.push_back(MakeSample(t, type, k));
      }
      if (s.samples.empty()) continue;
      for (const TestSample& smp : s.samples) {
        ++out.input_samples;
        auto& slot = truth[l];
        auto it = slot.find(smp.t);
        if (it == slot.end()) {
          slot.emplace(smp.t, std::make_pair(static_cast<int>(b), smp));
        } else {
          ++(it->second.second == smp ? out.duplicates : out.conflicts);
          it->second = {static_cast<int>(b), smp};  // later blocks have larger ULIDs
        }
      }
      series.push_back(std::move(s));
    }
    out.metas.push_back(WriteTestBlock(env, store, prefix, series, min_t, max_t, ulid, cut));
  }
  for (auto& [l, by_t] : truth) {
    std::vector<TestSample>& dst = out.expected[l];
    for (auto& [t, rs] : by_t) dst.push_back(rs.second);
  }
  return out;
}

// Compares two sample sets; returns "" or the first difference.
inline std::string DiffSamples(const SeriesSamples& want, const SeriesSamples& got) {
  if (want.size() != got.size()) {
    return absl::StrCat("series: want ", want.size(), ", got ", got.size());
  }
  for (const auto& [l, ws] : want) {
    auto it = got.find(l);
    if (it == got.end()) return absl::StrCat("missing series ", l.ToString());
    const std::vector<TestSample>& gs = it->second;
    if (ws.size() != gs.size()) {
      return absl::StrCat(l.ToString(), ": want ", ws.size(), " samples, got ", gs.size());
    }
    for (size_t i = 0; i < ws.size(); ++i) {
      if (!(ws[i] == gs[i])) {
        return absl::StrCat(l.ToString(), " #", i, ": want ", Describe(ws[i]), ", got ",
                            Describe(gs[i]));
      }
    }
  }
  return "";
}

// "" when every wanted sample is in `got` (at least once; `got` may hold duplicates and the
// older values of conflicts), else the first one missing: no gap.
inline std::string MissingSamples(const SeriesSamples& want, const SeriesSamples& got) {
  for (const auto& [l, ws] : want) {
    auto it = got.find(l);
    if (it == got.end()) return absl::StrCat("missing series ", l.ToString());
    const std::vector<TestSample>& gs = it->second;
    for (const TestSample& w : ws) {
      auto lo = std::lower_bound(gs.begin(), gs.end(), w.t,
                                 [](const TestSample& s, int64_t t) { return s.t < t; });
      bool found = false;
      for (; lo != gs.end() && lo->t == w.t && !found; ++lo) found = *lo == w;
      if (!found) return absl::StrCat(l.ToString(), ": missing ", Describe(w));
    }
  }
  return "";
}

}  // namespace sprout::metrics::tsdb::compact_testing
