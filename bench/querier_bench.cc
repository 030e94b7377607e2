// Micro-benchmarks of the TSDB read path (src/metrics/tsdb/querier): 10k node_exporter-like
// series × 6 h at a 15 s interval (14.4M samples), in a real head whose first 4 h were cut into
// two 2 h blocks (TenantHead::CutBlock → BlockWriter → upload to a MemoryObjectStore →
// Truncate), as `sprout metrics` cuts them. "disjoint": the head holds [4 h, 6 h), the blocks
// [0, 4 h); "overlap": the head was not truncated and holds all 6 h, so every sample of the
// first 4 h is merged from two sources (the worst case of the merge: a crash between an upload
// and the truncation). The setup runs once per process (it takes a few seconds).
//
// BM_SelectIterate: Select every series and read every sample with Next + At.
// BM_SelectSeek:    Select every series and Seek through it at a 60 s step (a range query's
//                   pattern; reads one sample per step).
// BM_SelectSamples: the materialising API (SelectSamples), for comparison.
// Run: build/bin/querier_bench
#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "metrics/tsdb/block/writer.h"
#include "metrics/tsdb/head/head.h"
#include "metrics/tsdb/index/node_series.h"
#include "metrics/tsdb/querier/querier.h"
#include "objstore/memory.h"

namespace {

using namespace sprout::metrics::tsdb;
using sprout::metrics::chunkenc::ValueType;

constexpr int64_t kHour = 3600 * 1000;
constexpr int64_t kStep = 15000;
constexpr int64_t kEnd = 6 * kHour;
constexpr size_t kInstances = 5;  // × 2000 series

void Check(const absl::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, std::string(s.message()).c_str());
    std::abort();
  }
}

struct Data {
  std::string dir;
  std::unique_ptr<TenantHead> head;
  sprout::objstore::MemoryObjectStore store;
  std::vector<std::shared_ptr<const BlockReader>> blocks;
  uint64_t samples = 0;  // distinct samples
};

std::unique_ptr<Data> Build(bool truncate) {
  auto d = std::make_unique<Data>();
  const char* tmp = std::getenv("TMPDIR");
  d->dir = std::string(tmp != nullptr ? tmp : "/tmp") + "/querier_bench-" +
           std::to_string(getpid()) + (truncate ? "-disjoint" : "-overlap");
  std::filesystem::remove_all(d->dir);
  HeadOptions o;
  o.dir = d->dir;
  o.wal_sync = sprout::storage::SyncPolicy::kManual;
  absl::StatusOr<std::unique_ptr<TenantHead>> head = TenantHead::Open(o);
  Check(head.status(), "open head");
  d->head = *std::move(head);

  const std::vector<Labels> series = testing::NodeExporterSeries(kInstances);
  // Appended 30 min at a time: one request of 120 samples per series.
  constexpr int64_t kBatch = 30 * 60 * 1000;
  std::vector<std::vector<FloatSample>> samples(series.size());
  std::vector<AppendSeries> req(series.size());
  for (int64_t lo = 0; lo < kEnd; lo += kBatch) {
    for (size_t i = 0; i < series.size(); ++i) {
      samples[i].clear();
      for (int64_t t = lo; t < lo + kBatch; t += kStep) {
        // A counter growing by a series-dependent, slightly irregular amount.
        const double v = static_cast<double>(i) * 1000 + static_cast<double>(t / kStep) * 3.5 +
                         static_cast<double>((t / kStep * 7 + i) % 5);
        samples[i].push_back({t, v});
      }
      req[i].labels = series[i];
      req[i].samples = samples[i];
    }
    AppendRequest r;
    r.series = req;
    AppendResult res = d->head->Append(r);
    Check(res.status, "append");
    if (res.samples_refused != 0) Check(absl::InternalError("refused samples"), "append");
    d->samples += res.samples_appended;
  }
  for (int64_t lo = 0; lo < 4 * kHour; lo += 2 * kHour) {
    BlockWriterOptions bo;
    bo.min_time = lo;
    bo.max_time = lo + 2 * kHour;
    absl::StatusOr<std::unique_ptr<BlockWriter>> w = BlockWriter::Create(
        sprout::storage::Env::Default(), d->dir + "/cut-" + std::to_string(lo), bo);
    Check(w.status(), "writer");
    Check(d->head->CutBlock(lo, lo + 2 * kHour, w->get()).status(), "cut");
    Check((*w)->Finish(), "finish");
    absl::StatusOr<std::string> prefix = (*w)->Upload(&d->store, "tenant");
    Check(prefix.status(), "upload");
    Check((*w)->RemoveLocal(), "remove");
    if (truncate) Check(d->head->Truncate(lo + 2 * kHour), "truncate");
    absl::StatusOr<std::unique_ptr<BlockReader>> reader = BlockReader::Open(&d->store, *prefix);
    Check(reader.status(), "open block");
    d->blocks.push_back(std::shared_ptr<const BlockReader>(*std::move(reader)));
  }
  return d;
}

Data& Get(bool overlap) {
  static std::unique_ptr<Data> disjoint, overlapping;
  std::unique_ptr<Data>& d = overlap ? overlapping : disjoint;
  if (d == nullptr) d = Build(!overlap);
  return *d;
}

const std::vector<Matcher>& All() {
  static const std::vector<Matcher> m = {
      Matcher::MustCreate(Matcher::Type::kRegexMatch, "__name__", ".+")};
  return m;
}

void BM_SelectIterate(benchmark::State& state) {
  Data& d = Get(state.range(0) != 0);
  uint64_t samples = 0, series = 0;
  double sum = 0;
  for (auto _ : state) {
    TenantQuerier q(d.head.get(), d.blocks, 0, kEnd);
    QueryLimiter limiter;
    std::unique_ptr<SeriesSet> set = q.Select(All(), {}, &limiter);
    while (set->Next()) {
      ++series;
      SeriesIterator& it = set->iterator();
      for (ValueType t = it.Next(); t != ValueType::kNone; t = it.Next()) {
        sum += it.At().second;
        ++samples;
      }
    }
    if (!set->Err().ok() || !set->warnings().empty()) state.SkipWithError("select failed");
  }
  benchmark::DoNotOptimize(sum);
  if (samples != d.samples * state.iterations()) state.SkipWithError("wrong sample count");
  state.SetItemsProcessed(static_cast<int64_t>(samples));
  state.counters["series"] = static_cast<double>(series) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_SelectIterate)->ArgName("overlap")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_SelectSeek(benchmark::State& state) {
  Data& d = Get(state.range(0) != 0);
  uint64_t points = 0;
  double sum = 0;
  for (auto _ : state) {
    TenantQuerier q(d.head.get(), d.blocks, 0, kEnd);
    std::unique_ptr<SeriesSet> set = q.Select(All());
    while (set->Next()) {
      SeriesIterator& it = set->iterator();
      for (int64_t t = 0; t < kEnd; t += 60000) {
        if (it.Seek(t) == ValueType::kNone) break;
        sum += it.At().second;
        ++points;
      }
    }
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(static_cast<int64_t>(points));
}
BENCHMARK(BM_SelectSeek)->ArgName("overlap")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_SelectSamples(benchmark::State& state) {
  Data& d = Get(false);
  uint64_t samples = 0;
  for (auto _ : state) {
    TenantQuerier q(d.head.get(), d.blocks, 0, kEnd);
    std::unique_ptr<SampleSet> set = q.SelectSamples(All());
    while (set->Next()) samples += set->sample_list().size();
  }
  state.SetItemsProcessed(static_cast<int64_t>(samples));
}
BENCHMARK(BM_SelectSamples)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
