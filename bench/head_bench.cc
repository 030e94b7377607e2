// Micro-benchmarks of the metrics head (src/metrics/tsdb/head): append throughput on one thread
// for known series (the raw-bytes hit path: one hash and one compare per series) and for new
// series (decode, index, WAL series record), and the memory per series of a node_exporter-like
// head (200k series × 8 labels × 40 samples at 15 s). The WAL is on the real file system under
// $TMPDIR with the default kInterval policy. Run: build/bin/head_bench
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "metrics/tsdb/head/head.h"
#include "metrics/tsdb/head/raw_labels.h"
#include "metrics/tsdb/index/node_series.h"

namespace {

using namespace sprout::metrics::tsdb;

std::string TempDir(const std::string& name) {
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp != nullptr ? tmp : "/tmp") + "/head_bench-" + name + "-" +
                    std::to_string(getpid());
  std::filesystem::remove_all(dir);
  return dir;
}

std::unique_ptr<TenantHead> OpenHead(const std::string& dir) {
  HeadOptions o;
  o.dir = dir;
  absl::StatusOr<std::unique_ptr<TenantHead>> head = TenantHead::Open(o);
  if (!head.ok()) {
    std::fprintf(stderr, "open: %s\n", std::string(head.status().message()).c_str());
    std::abort();
  }
  return *std::move(head);
}

LabelsOrError Decode(std::string_view raw) {
  LabelsBuilder b;
  AddRawLabels(raw, b);
  return LabelsOrError{b.Build(), ""};
}

// Appends `samples_per_series` scrapes of `raws` in requests of `batch` series.
struct Feeder {
  std::vector<std::string> raws;
  std::vector<FloatSample> samples;
  std::vector<AppendSeries> series;

  uint64_t Scrape(TenantHead& head, int64_t t, size_t batch) {
    uint64_t appended = 0;
    samples.resize(raws.size());
    series.resize(raws.size());
    for (size_t i = 0; i < raws.size(); ++i) {
      samples[i] = FloatSample{t, static_cast<double>(t / 1000 + i)};
      series[i].raw_labels = raws[i];
      series[i].samples = std::span(&samples[i], 1);
    }
    for (size_t start = 0; start < raws.size(); start += batch) {
      AppendRequest req;
      const size_t n = std::min(batch, raws.size() - start);
      req.series = std::span(series.data() + start, n);
      req.decode_labels = [&, start](size_t i) { return Decode(raws[start + i]); };
      AppendResult r = head.Append(req);
      if (!r.status.ok() || !r.refusals.empty()) std::abort();
      appended += r.samples_appended;
    }
    return appended;
  }
};

std::vector<std::string> NodeRaws(size_t instances) {
  std::vector<std::string> raws;
  for (const Labels& l : testing::NodeExporterSeries(instances)) raws.push_back(EncodeRawLabels(l));
  return raws;
}

// Known series: every request hits the raw-bytes path.
void BM_AppendKnownSeries(benchmark::State& state) {
  const std::string dir = TempDir("known");
  auto head = OpenHead(dir);
  Feeder feeder;
  feeder.raws = NodeRaws(10);  // 20k series
  int64_t t = 0;
  feeder.Scrape(*head, t, 2000);
  uint64_t samples = 0;
  for (auto _ : state) {
    t += 15000;
    samples += feeder.Scrape(*head, t, 2000);
  }
  state.counters["samples_per_s"] =
      benchmark::Counter(static_cast<double>(samples), benchmark::Counter::kIsRate);
  head.reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_AppendKnownSeries)->Unit(benchmark::kMillisecond);

// New series: decode, create, index and log every series.
void BM_AppendNewSeries(benchmark::State& state) {
  const std::string dir = TempDir("new");
  auto head = OpenHead(dir);
  Feeder feeder;
  const std::vector<Labels> base = testing::NodeExporterSeries(1);  // 2000 label sets
  uint64_t samples = 0;
  int round = 0;
  for (auto _ : state) {
    state.PauseTiming();
    feeder.raws.clear();
    for (const Labels& l : base) {
      LabelsBuilder b(l);
      b.Set("pod", "p" + std::to_string(round));
      feeder.raws.push_back(EncodeRawLabels(b.Build()));
    }
    ++round;
    state.ResumeTiming();
    samples += feeder.Scrape(*head, 1000, 2000);
  }
  state.counters["samples_per_s"] =
      benchmark::Counter(static_cast<double>(samples), benchmark::Counter::kIsRate);
  head.reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_AppendNewSeries)->Unit(benchmark::kMillisecond);

// 200k series × 8 labels × 40 samples: heap bytes per series (allocator-measured, and the
// head's own estimate), the WAL's bytes per sample.
void BM_MemoryPerSeries(benchmark::State& state) {
  for (auto _ : state) {
    const std::string dir = TempDir("memory");
    Feeder feeder;
    feeder.raws = NodeRaws(100);
    const size_t n = feeder.raws.size();
    feeder.samples.reserve(n);
    feeder.series.reserve(n);
    malloc_trim(0);
    const size_t before = mallinfo2().uordblks;
    auto head = OpenHead(dir);
    uint64_t samples = 0;
    for (int k = 0; k < 40; ++k) samples += feeder.Scrape(*head, 1700000000000 + k * 15000, 2000);
    const size_t after = mallinfo2().uordblks;
    const HeadStats stats = head->Stats();
    state.counters["series"] = static_cast<double>(stats.series);
    state.counters["samples"] = static_cast<double>(samples);
    state.counters["bytes_per_series_malloc"] =
        static_cast<double>(after - before) / static_cast<double>(stats.series);
    state.counters["bytes_per_series_estimate"] =
        static_cast<double>(head->MemoryBytes()) / static_cast<double>(stats.series);
    state.counters["wal_bytes_per_sample"] =
        static_cast<double>(stats.wal_bytes) / static_cast<double>(samples);
    head.reset();
    std::filesystem::remove_all(dir);
  }
}
BENCHMARK(BM_MemoryPerSeries)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
