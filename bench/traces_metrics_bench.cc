// TraceQL metrics scan benchmark (issue 16): the trace store's QueryMetrics over a store of the
// pinned span corpus (bench/traces_corpus.h) spread over `--hours` of corpus time, for a 1 h and
// a 24 h grid (the issue's `rate() by (resource.service.name)` and
// `histogram_over_time(duration)` shapes).
//
// The store is built once into `--data` (kept; reused when its `bench.done` marker is there):
// the corpus is pushed through TraceStore::Push (WAL sync per interval) and flushed into a block
// every `--block-spans` spans (TraceStore::FlushOnce(true)), so the blocks tile the corpus time
// as an ingester's do. Then each query runs `--repeat` times on a fresh store opened on the data
// (blocks loaded, nothing in memory), timed by wall clock and by the process's CPU time
// (getrusage: every worker thread).
//
// The queries are compiled by the engine (traceql::MetricsProgram::Compile), as the HTTP API does.
//
// Output per query and grid: latency p50 / max over the repeats, the stats (blocks, spans,
// inspected OTLP bytes), MB/s per core = inspected bytes ÷ the process's CPU seconds, and the
// spans/s per core, and the answer's fingerprint (series; samples and their sum).
//
// `--in-memory`: no block store; the spans stay in memory (live), pushed afresh on every run —
// the path of queries over recent data.
//
// Run: build/bin/traces_metrics_bench --data /work/bench-data/tqlm10m --spans 10000000
//        [--hours 24] [--block-spans 500000] [--threads 0] [--repeat 3] [--seed 1] [--in-memory]
#include <sys/resource.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "objstore/filesystem.h"
#include "storage/env.h"
#include "traces/store/trace_store.h"
#include "traces/traceql/metrics.h"
#include "traces_corpus.h"

namespace {

using sprout::bench::TracesCorpus;
using sprout::bench::TracesCorpusOptions;
namespace traceql = sprout::traces::traceql;
namespace store = sprout::traces::store;

constexpr uint64_t kSec = 1000000000ull;
// 2026-01-01T00:00:00Z: the corpus's default start.
constexpr uint64_t kStart = 1767225600ull * kSec;

double ProcessCpuSeconds() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec * 1e-6;
}

store::TraceStoreOptions Options(const std::string& data, sprout::objstore::ObjectStore* blocks,
                                 size_t threads) {
  store::TraceStoreOptions o;
  o.wal_dir = data + "/wal";
  o.block_store = blocks;
  o.tenant.wal.sync = sprout::storage::SyncPolicy::kInterval;
  o.flush_check_period = absl::ZeroDuration();  // flushed by hand
  o.max_block_duration = absl::Hours(1000);
  o.max_block_bytes = 0;
  o.ingestion_rate_limit_bytes = 0;
  o.tenant.max_bytes_per_trace = 0;
  o.metrics_query_threads = threads;
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"TraceQL metrics scan over a store of the pinned corpus"};
  std::string data;
  int64_t spans = 1000000;
  double hours = 24;
  int64_t block_spans = 500000;
  size_t threads = 0;
  int repeat = 3;
  uint64_t seed = 1;
  app.add_option("--data", data, "store directory (built once, kept)")->required();
  app.add_option("--spans", spans, "corpus spans");
  app.add_option("--hours", hours, "corpus time the spans are spread over");
  app.add_option("--block-spans", block_spans, "spans per flushed block");
  app.add_option("--threads", threads, "metrics_query_threads (0: hardware threads)");
  app.add_option("--repeat", repeat, "runs per query");
  app.add_option("--seed", seed, "corpus seed");
  bool in_memory = false;
  app.add_flag("--in-memory", in_memory,
               "no blocks: the spans stay in the store's memory (pushed afresh into --data/wal "
               "each run), the live-set path");
  CLI11_PARSE(app, argc, argv);

  std::filesystem::create_directories(data + "/blocks");
  auto fs = sprout::objstore::FilesystemObjectStore::Open(sprout::storage::Env::Default(),
                                                          data + "/blocks");
  if (!fs.ok()) {
    std::fprintf(stderr, "blocks: %s\n", std::string(fs.status().message()).c_str());
    return 1;
  }
  const uint64_t span_ns = static_cast<uint64_t>(hours * 3600 * kSec);
  const std::string done = data + "/bench.done";
  if (in_memory) std::filesystem::remove_all(data + "/wal");
  std::unique_ptr<store::TraceStore> live;  // --in-memory: the store the spans were pushed into
  if (in_memory || !std::filesystem::exists(done)) {
    // Mean ≈ 10 spans a trace: traces spaced so that `spans` cover `hours`.
    TracesCorpusOptions co;
    co.seed = seed;
    co.start_time_unix_nano = kStart;
    co.trace_interval_nanos = span_ns / std::max<int64_t>(1, spans / 10);
    TracesCorpus corpus(co);
    live = std::make_unique<store::TraceStore>(
        Options(data, in_memory ? nullptr : fs->get(), threads));
    store::TraceStore& s = *live;
    if (absl::Status st = s.Start(); !st.ok()) {
      std::fprintf(stderr, "start: %s\n", std::string(st.message()).c_str());
      return 1;
    }
    const absl::Time t0 = absl::Now();
    int64_t since_flush = 0;
    sprout::otlp::pb::trace_service::ExportTraceServiceRequest req;
    while (corpus.spans() < spans) {
      const int64_t before = corpus.spans();
      req.Clear();
      corpus.NextBatch(1000, &req);
      if (auto r = s.Push("single-tenant", req); !r.ok()) {
        std::fprintf(stderr, "push: %s\n", std::string(r.status().message()).c_str());
        return 1;
      }
      since_flush += corpus.spans() - before;
      if (!in_memory && since_flush >= block_spans) {
        if (absl::Status st = s.FlushOnce(true); !st.ok()) {
          std::fprintf(stderr, "flush: %s\n", std::string(st.message()).c_str());
          return 1;
        }
        since_flush = 0;
      }
    }
    if (!in_memory) {
      if (absl::Status st = s.FlushOnce(true); !st.ok()) return 1;
      s.Close();
      live.reset();
      std::ofstream(done) << corpus.spans() << " spans " << corpus.traces() << " traces\n";
    }
    std::printf("built: %" PRId64 " spans, %" PRId64 " traces over %.1f h in %.1f s\n",
                corpus.spans(), corpus.traces(), hours, absl::ToDoubleSeconds(absl::Now() - t0));
  }

  if (!live) {
    live = std::make_unique<store::TraceStore>(Options(data, fs->get(), threads));
    if (absl::Status st = live->Start(); !st.ok()) {
      std::fprintf(stderr, "start: %s\n", std::string(st.message()).c_str());
      return 1;
    }
  }
  store::TraceStore& s = *live;
  const auto stats = s.Stats();
  if (auto it = stats.find("single-tenant"); it != stats.end()) {
    std::printf("store: %" PRId64 " blocks, %.1f MB; in memory: %" PRId64 " live + %" PRId64
                " pending traces\n",
                it->second.blocks, it->second.block_bytes / 1e6, it->second.live_traces,
                it->second.pending_traces);
  }
  // Grids ending at the corpus's end: its last hour, and the whole 24 h (step: Tempo's default
  // for the range, 15 s and 6 m).
  const uint64_t end = kStart + span_ns;
  struct Grid {
    const char* name;
    uint64_t range_ns, step_ns;
  } grids[] = {{"1h", 3600 * kSec, 15 * kSec}, {"24h", 86400 * kSec, 360 * kSec}};
  std::printf(
      "| query | grid | p50 / max (s) | blocks | spans inspected | MB inspected | CPU s | MB/s per "
      "core | Mspans/s per core | series | samples / sum "
      "|\n|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const char* query :
       {"{} | rate() by (resource.service.name)", "{} | histogram_over_time(duration)"}) {
    for (const Grid& g : grids) {
      traceql::MetricsRange range;
      range.end_ns = end;
      range.start_ns = end > g.range_ns ? end - g.range_ns : 0;
      range.step_ns = g.step_ns;
      auto compiled = traceql::MetricsProgram::Compile(query, range);
      if (!compiled.ok()) {
        std::fprintf(stderr, "compile: %s\n", std::string(compiled.status().message()).c_str());
        return 1;
      }
      const traceql::MetricsProgram& program = **compiled;
      std::vector<double> wall;
      double cpu = 0;
      traceql::MetricsResult last;
      for (int i = 0; i < repeat; ++i) {
        const double c0 = ProcessCpuSeconds();
        const absl::Time t0 = absl::Now();
        auto r = s.QueryMetrics("single-tenant", program, {});
        wall.push_back(absl::ToDoubleSeconds(absl::Now() - t0));
        cpu += ProcessCpuSeconds() - c0;
        if (!r.ok()) {
          std::fprintf(stderr, "query: %s\n", std::string(r.status().message()).c_str());
          return 1;
        }
        last = *std::move(r);
      }
      std::sort(wall.begin(), wall.end());
      // The answer's fingerprint (samples and their sum), to compare runs and builds.
      size_t samples = 0;
      double sum = 0;
      for (const auto& series : last.series) {
        samples += series.samples.size();
        for (const auto& sample : series.samples) sum += sample.value;
      }
      const double mb = last.stats.inspected_bytes / 1e6;
      const double cpu_each = cpu / repeat;
      std::printf("| %s | %s | %.3f / %.3f | %" PRIu64 " | %" PRIu64
                  " | %.1f | %.2f | %.0f | %.2f | %zu | %zu / %.6g |\n",
                  query, g.name, wall[wall.size() / 2], wall.back(), last.stats.total_blocks,
                  last.stats.inspected_spans, mb, cpu_each, mb / cpu_each,
                  last.stats.inspected_spans / 1e6 / cpu_each, last.series.size(), samples, sum);
    }
  }
  s.Close();
  return 0;
}
