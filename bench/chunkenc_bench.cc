// Micro-benchmarks of the TSDB chunk encodings (src/metrics/tsdb/chunkenc): append and iterate
// on the realistic series set of the size test (test_series.h), in 120-sample chunks. Items are
// samples: the figure to watch is ns per sample (items_per_second inverted).
#include <benchmark/benchmark.h>

#include <vector>

#include "metrics/tsdb/chunkenc/float_chunk.h"
#include "metrics/tsdb/chunkenc/histogram_chunk.h"
#include "metrics/tsdb/chunkenc/test_series.h"

namespace {

using namespace sprout::metrics::chunkenc;

const std::vector<testing::Series>& Set() {
  static const auto* set = new std::vector<testing::Series>(testing::RealisticSeries(20, 120));
  return *set;
}

void BM_FloatAppend(benchmark::State& state) {
  size_t n = 0;
  for (auto _ : state) {
    for (const testing::Series& s : Set()) {
      FloatChunk c;
      for (const testing::Sample& x : s.samples) benchmark::DoNotOptimize(c.Append(x.t, x.v));
      n += s.samples.size();
      benchmark::DoNotOptimize(c.bytes().data());
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(n));
}
BENCHMARK(BM_FloatAppend);

void BM_FloatIterate(benchmark::State& state) {
  std::vector<std::string> chunks;
  for (const testing::Series& s : Set()) {
    FloatChunk c;
    for (const testing::Sample& x : s.samples) (void)c.Append(x.t, x.v);
    chunks.emplace_back(c.bytes());
  }
  size_t n = 0;
  for (auto _ : state) {
    double sum = 0;
    for (const std::string& b : chunks) {
      FloatChunkIterator it(b);
      while (it.Next() == ValueType::kFloat) {
        sum += it.At().second;
        ++n;
      }
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<int64_t>(n));
}
BENCHMARK(BM_FloatIterate);

// Through the factory: one virtual call per Next/At, as a block reader iterates.
void BM_FloatIterateVirtual(benchmark::State& state) {
  std::vector<std::string> chunks;
  for (const testing::Series& s : Set()) {
    FloatChunk c;
    for (const testing::Sample& x : s.samples) (void)c.Append(x.t, x.v);
    chunks.emplace_back(c.bytes());
  }
  size_t n = 0;
  for (auto _ : state) {
    double sum = 0;
    for (const std::string& b : chunks) {
      auto it = NewIterator(Encoding::kXor, b);
      while (it->Next() == ValueType::kFloat) {
        sum += it->At().second;
        ++n;
      }
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<int64_t>(n));
}
BENCHMARK(BM_FloatIterateVirtual);

std::vector<Histogram> Histograms() {
  std::vector<Histogram> out;
  Histogram h;
  h.schema = 3;
  h.positive_spans = {{10, 12}, {2, 8}};
  h.positive_buckets.assign(20, 0);
  uint64_t x = 1;
  for (int i = 0; i < 120; ++i) {
    for (uint64_t& b : h.positive_buckets) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      b += (x >> 60);
      h.count += (x >> 60);
    }
    h.sum += 1.5;
    out.push_back(h);
  }
  return out;
}

void BM_HistogramAppend(benchmark::State& state) {
  const auto hs = Histograms();
  for (auto _ : state) {
    HistogramChunk c;
    for (size_t i = 0; i < hs.size(); ++i) {
      benchmark::DoNotOptimize(c.Append(15000 * static_cast<int64_t>(i), hs[i]));
    }
    benchmark::DoNotOptimize(c.bytes().data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(hs.size()));
}
BENCHMARK(BM_HistogramAppend);

void BM_HistogramIterate(benchmark::State& state) {
  const auto hs = Histograms();
  HistogramChunk c;
  for (size_t i = 0; i < hs.size(); ++i) (void)c.Append(15000 * static_cast<int64_t>(i), hs[i]);
  std::string bytes(c.bytes());
  Histogram out;
  for (auto _ : state) {
    HistogramChunkIterator it(Encoding::kHistogram, bytes);
    while (it.Next() != ValueType::kNone) benchmark::DoNotOptimize(it.AtHistogram(&out));
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(hs.size()));
}
BENCHMARK(BM_HistogramIterate);

}  // namespace

BENCHMARK_MAIN();
