// Tests only: building requests and reading a head back in full.
#pragma once

#include <cstring>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "gtest/gtest.h"
#include "metrics/tsdb/block/reader.h"
#include "metrics/tsdb/head/head.h"
#include "metrics/tsdb/index/matcher.h"

namespace sprout::metrics::tsdb::testing {

inline uint64_t BitsOf(double d) {
  uint64_t b;
  std::memcpy(&b, &d, 8);
  return b;
}
inline double FromBits(uint64_t b) {
  double d;
  std::memcpy(&d, &b, 8);
  return d;
}
inline constexpr uint64_t kStaleNaN = 0x7ff0000000000002ULL;

// A request whose spans point into the builder: keep it alive while the request is used.
struct RequestBuilder {
  struct Entry {
    std::string raw;
    Labels labels;
    std::vector<FloatSample> samples;
    std::vector<HistogramSample> histograms;
    std::vector<Exemplar> exemplars;
  };
  std::vector<Entry> entries;
  std::vector<MetricMetadata> metadata;
  std::vector<AppendSeries> series;

  Entry& Add(Labels labels) {
    entries.push_back(Entry{});
    entries.back().labels = std::move(labels);
    return entries.back();
  }
  AppendRequest Build() {
    series.clear();
    for (const Entry& e : entries) {
      AppendSeries s;
      s.raw_labels = e.raw;
      s.labels = e.labels;
      s.samples = e.samples;
      s.histograms = e.histograms;
      s.exemplars = e.exemplars;
      series.push_back(s);
    }
    AppendRequest r;
    r.series = series;
    r.metadata = metadata;
    return r;
  }
};

// One sample as read back: timestamp, value bits (floats), or the histogram's text.
struct ReadSample {
  int64_t t;
  chunkenc::ValueType type;
  uint64_t bits;
  chunkenc::FloatHistogram fh;  // float histograms
  chunkenc::Histogram h;        // integer histograms
  bool operator==(const ReadSample& o) const {
    return t == o.t && type == o.type && bits == o.bits && h == o.h &&
           BitsOf(fh.sum) == BitsOf(o.fh.sum) && fh.count == o.fh.count &&
           fh.positive_buckets == o.fh.positive_buckets;
  }
};

using Dump = std::map<std::string, std::vector<ReadSample>>;

inline std::vector<Matcher> All() {
  return {Matcher::MustCreate(Matcher::Type::kRegexMatch, "__name__", ".+")};
}

inline Dump DumpHead(const TenantHead& head, int64_t mint = INT64_MIN, int64_t maxt = INT64_MAX) {
  Dump out;
  std::vector<Matcher> m = All();
  std::unique_ptr<HeadSeriesSet> set = head.SelectSamples(m, mint, maxt);
  while (set->Next()) {
    std::vector<ReadSample>& samples = out[set->labels().ToString()];
    chunkenc::Iterator& it = set->samples();
    for (chunkenc::ValueType vt = it.Next(); vt != chunkenc::ValueType::kNone; vt = it.Next()) {
      ReadSample r{};
      r.type = vt;
      if (vt == chunkenc::ValueType::kFloat) {
        auto [t, v] = it.At();
        r.t = t;
        r.bits = BitsOf(v);
      } else if (vt == chunkenc::ValueType::kHistogram) {
        r.t = it.AtHistogram(&r.h);
        r.h.reset_hint = chunkenc::CounterResetHint::kUnknown;
      } else {
        r.t = it.AtFloatHistogram(&r.fh);
        r.fh.reset_hint = chunkenc::CounterResetHint::kUnknown;
      }
      samples.push_back(r);
    }
    EXPECT_TRUE(it.Err().ok()) << it.Err();
  }
  return out;
}

// Every sample of a block, as DumpHead reads a head (samples in [mint, maxt]).
inline Dump DumpBlock(const BlockReader& block, int64_t mint = INT64_MIN,
                      int64_t maxt = INT64_MAX) {
  Dump out;
  std::vector<Matcher> m = All();
  absl::StatusOr<std::vector<SeriesRef>> refs = block.Select(m);
  EXPECT_TRUE(refs.ok()) << refs.status();
  if (!refs.ok()) return out;
  for (SeriesRef ref : *refs) {
    Labels labels;
    std::vector<ChunkMeta> chunks;
    absl::Status st = block.Series(ref, &labels, &chunks);
    EXPECT_TRUE(st.ok()) << st;
    std::vector<ReadSample>& samples = out[labels.ToString()];
    for (const ChunkMeta& c : chunks) {
      absl::StatusOr<BlockChunk> chunk = block.ReadChunk(c.ref);
      EXPECT_TRUE(chunk.ok()) << chunk.status();
      if (!chunk.ok()) continue;
      std::unique_ptr<chunkenc::Iterator> it = chunk->NewIterator();
      for (chunkenc::ValueType vt = it->Next(); vt != chunkenc::ValueType::kNone; vt = it->Next()) {
        ReadSample r{};
        r.type = vt;
        if (vt == chunkenc::ValueType::kFloat) {
          auto [t, v] = it->At();
          r.t = t;
          r.bits = BitsOf(v);
        } else if (vt == chunkenc::ValueType::kHistogram) {
          r.t = it->AtHistogram(&r.h);
          r.h.reset_hint = chunkenc::CounterResetHint::kUnknown;
        } else {
          r.t = it->AtFloatHistogram(&r.fh);
          r.fh.reset_hint = chunkenc::CounterResetHint::kUnknown;
        }
        if (r.t >= mint && r.t <= maxt) samples.push_back(r);
      }
    }
    if (samples.empty()) out.erase(labels.ToString());
  }
  return out;
}

// The samples of `dump` in [mint, maxt] (series left without any dropped).
inline Dump Clip(const Dump& dump, int64_t mint, int64_t maxt) {
  Dump out;
  for (const auto& [series, samples] : dump) {
    for (const ReadSample& r : samples) {
      if (r.t >= mint && r.t <= maxt) out[series].push_back(r);
    }
  }
  return out;
}

inline chunkenc::Histogram MakeHistogram(uint64_t base) {
  chunkenc::Histogram h;
  h.schema = 1;
  h.zero_threshold = 0.001;
  h.zero_count = base;
  h.positive_spans = {{0, 2}, {1, 1}};
  h.positive_buckets = {base, base + 1, base + 2};
  h.count = h.zero_count + 3 * base + 3;
  h.sum = 1.5 * static_cast<double>(base);
  return h;
}

}  // namespace sprout::metrics::tsdb::testing
