// Micro-benchmarks of the metrics index: MemPostings::Select on a node_exporter-like head of
// 200k series × 8 labels (metrics/tsdb/index/node_series.h), indexing cost per series, and the
// index's memory per series. Run: build/bin/index_bench
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "metrics/tsdb/index/labels.h"
#include "metrics/tsdb/index/matcher.h"
#include "metrics/tsdb/index/node_series.h"
#include "metrics/tsdb/index/postings.h"
#include "metrics/tsdb/index/symbols.h"

namespace {

using sprout::metrics::tsdb::Labels;
using sprout::metrics::tsdb::Matcher;
using sprout::metrics::tsdb::MemPostings;
using sprout::metrics::tsdb::SeriesRef;
using sprout::metrics::tsdb::SymbolTable;
using Type = Matcher::Type;

constexpr size_t kInstances = 100;  // × 2000 = 200k series

struct Head {
  std::vector<Labels> series = sprout::metrics::tsdb::testing::NodeExporterSeries(kInstances);
  SymbolTable symbols;
  MemPostings index{&symbols};
  Head() {
    for (SeriesRef ref = 0; ref < series.size(); ++ref) index.Add(ref, series[ref]);
  }
};

Head& SharedHead() {
  static Head* head = new Head();
  return *head;
}

void RunSelect(benchmark::State& state, std::vector<Matcher> matchers) {
  Head& head = SharedHead();
  size_t selected = 0;
  for (auto _ : state) {
    std::vector<SeriesRef> refs = head.index.Select(matchers);
    selected = refs.size();
    benchmark::DoNotOptimize(refs.data());
  }
  state.counters["series"] = static_cast<double>(selected);
  state.counters["ns_per_series"] =
      benchmark::Counter(static_cast<double>(selected) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_Select_NameAndInstance(benchmark::State& state) {
  RunSelect(state, {Matcher::MustCreate(Type::kEqual, "__name__", "node_cpu_seconds_total"),
                    Matcher::MustCreate(Type::kEqual, "instance", "i1")});
}
BENCHMARK(BM_Select_NameAndInstance);

void BM_Select_JobSetModeNotIdle(benchmark::State& state) {
  RunSelect(state, {Matcher::MustCreate(Type::kRegexMatch, "job", "node|api"),
                    Matcher::MustCreate(Type::kNotEqual, "mode", "idle")});
}
BENCHMARK(BM_Select_JobSetModeNotIdle);

void BM_Select_NameOnly(benchmark::State& state) {
  RunSelect(state, {Matcher::MustCreate(Type::kEqual, "__name__", "node_metric_7")});
}
BENCHMARK(BM_Select_NameOnly);

void BM_Select_NameDeviceSet(benchmark::State& state) {
  RunSelect(state, {Matcher::MustCreate(Type::kEqual, "__name__", "node_metric_7"),
                    Matcher::MustCreate(Type::kRegexMatch, "device", "dev0|dev1"),
                    Matcher::MustCreate(Type::kEqual, "env", "prod")});
}
BENCHMARK(BM_Select_NameDeviceSet);

void BM_Select_NamePrefixRegex(benchmark::State& state) {
  RunSelect(state, {Matcher::MustCreate(Type::kRegexMatch, "__name__", "node_metric_1.*"),
                    Matcher::MustCreate(Type::kEqual, "instance", "i42")});
}
BENCHMARK(BM_Select_NamePrefixRegex);

void BM_Select_NameRegexRe2(benchmark::State& state) {
  RunSelect(state, {Matcher::MustCreate(Type::kRegexMatch, "__name__", "node_metric_[12]7"),
                    Matcher::MustCreate(Type::kRegexMatch, "instance", "i[0-9]")});
}
BENCHMARK(BM_Select_NameRegexRe2);

void BM_Select_CpuUserAllInstances(benchmark::State& state) {
  RunSelect(state, {Matcher::MustCreate(Type::kEqual, "__name__", "node_cpu_seconds_total"),
                    Matcher::MustCreate(Type::kEqual, "mode", "user"),
                    Matcher::MustCreate(Type::kRegexMatch, "instance", ".+")});
}
BENCHMARK(BM_Select_CpuUserAllInstances);

// Building the index: ns per series (8 labels), including interning.
void BM_AddSeries(benchmark::State& state) {
  Head& head = SharedHead();
  for (auto _ : state) {
    state.PauseTiming();
    auto symbols = std::make_unique<SymbolTable>();
    auto index = std::make_unique<MemPostings>(symbols.get());
    state.ResumeTiming();
    for (SeriesRef ref = 0; ref < head.series.size(); ++ref) index->Add(ref, head.series[ref]);
    state.PauseTiming();
    index.reset();
    symbols.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * head.series.size()));
}
BENCHMARK(BM_AddSeries)->Unit(benchmark::kMillisecond)->Iterations(3);

// Memory per series: postings lists and maps, the symbol table, and the Labels buffers.
void BM_MemoryPerSeries(benchmark::State& state) {
  Head& head = SharedHead();
  for (auto _ : state) benchmark::DoNotOptimize(head.index.NumSeries());
  const double n = static_cast<double>(head.series.size());
  double labels_bytes = 0;
  for (const Labels& ls : head.series) labels_bytes += static_cast<double>(ls.AllocatedBytes());
  state.counters["postings_B_per_series"] = static_cast<double>(head.index.MemoryBytes()) / n;
  state.counters["symbols_B_per_series"] = static_cast<double>(head.symbols.MemoryBytes()) / n;
  state.counters["labels_B_per_series"] = labels_bytes / n;
}
BENCHMARK(BM_MemoryPerSeries)->Iterations(1);

void BM_LabelsHash(benchmark::State& state) {
  const Labels& ls = SharedHead().series[1234];
  for (auto _ : state) benchmark::DoNotOptimize(ls.Hash());
}
BENCHMARK(BM_LabelsHash);

// The cardinality endpoints' index pass (MemPostings::Cardinality): every name's values from
// the lists' lengths (status/tsdb, label_names without selector), the same among a selection
// (a selector: the Select result's bitmap against every list), and one name among it
// (label_values with a selector).
void BM_Cardinality_AllFromLengths(benchmark::State& state) {
  Head& head = SharedHead();
  size_t values = 0;
  for (auto _ : state) {
    auto names = head.index.Cardinality({}, nullptr);
    values = 0;
    for (const auto& n : names) values += n.values.size();
    benchmark::DoNotOptimize(names.data());
  }
  state.counters["pairs"] = static_cast<double>(values);
}
BENCHMARK(BM_Cardinality_AllFromLengths)->Unit(benchmark::kMicrosecond);

void RunCardinalityAmong(benchmark::State& state, std::vector<std::string> names) {
  Head& head = SharedHead();
  const std::vector<Matcher> matchers = {Matcher::MustCreate(Type::kEqual, "instance", "i1")};
  size_t selected = 0;
  for (auto _ : state) {
    std::vector<SeriesRef> refs = head.index.Select(matchers);
    selected = refs.size();
    auto out = head.index.Cardinality(names, &refs);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["series"] = static_cast<double>(selected);
}
void BM_Cardinality_AllAmongOneInstance(benchmark::State& state) { RunCardinalityAmong(state, {}); }
BENCHMARK(BM_Cardinality_AllAmongOneInstance)->Unit(benchmark::kMicrosecond);
void BM_Cardinality_ModeAmongOneInstance(benchmark::State& state) {
  RunCardinalityAmong(state, {"mode"});
}
BENCHMARK(BM_Cardinality_ModeAmongOneInstance)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
