// The metrics-generator's CPU per span (issue 13's bench item, before the generator is wired into
// ingest): the pinned span corpus (bench/traces_corpus.h) fed batch by batch to one
// traces::generator::TenantGenerator built from Tempo's default settings, with a Collect every
// `--collect-every-s` of corpus time into a counting SeriesSink and once at the end, on one
// thread. Three configurations, each on a fresh generator and the same corpus: span-metrics
// alone, service-graphs alone, both.
//
// Timed: PushSpans and Collect only (the thread's CPU clock around each call); generating the
// corpus's batches is not. "now" of a batch is the end of its latest span (the corpus clock).
//
// Run: build/bin/generator_bench [--spans 1000000] [--batch 1000] [--seed 1] [--collect-every-s 15]
//        [--expire-every-s 0] [--max-items 0] [--only span-metrics|service-graphs|both]
//        [--histograms classic|native|both]   (the tenant's generate_native_histograms)
#include <time.h>

#include <cinttypes>
#include <cstdio>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "traces/config/generator_config.h"
#include "traces/generator/generator.h"
#include "traces_corpus.h"

namespace {

using sprout::bench::TracesCorpus;
using sprout::bench::TracesCorpusOptions;
namespace gen = sprout::traces::generator;

double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

class CountingSink : public gen::SeriesSink {
 public:
  void Append(std::string_view, const gen::Labels&, double, absl::Time,
              absl::Span<const gen::Exemplar> exemplars, std::string_view) override {
    ++samples;
    exemplar_count += exemplars.size();
  }
  void AppendNativeHistogram(std::string_view, const gen::Labels&,
                             const gen::NativeHistogramSample&, absl::Time,
                             absl::Span<const gen::Exemplar> exemplars, std::string_view) override {
    ++histograms;
    exemplar_count += exemplars.size();
  }
  uint64_t samples = 0;
  uint64_t histograms = 0;
  uint64_t exemplar_count = 0;
};

struct Result {
  int64_t spans = 0;
  double push_cpu_s = 0;
  double collect_cpu_s = 0;
  int collects = 0;
  uint64_t samples = 0;
  uint64_t histograms = 0;
  uint64_t exemplars = 0;
  gen::TenantGeneratorStats stats;
  // service graphs
  uint64_t edges = 0, edges_recorded = 0, virtual_node_edges = 0, expired_edges = 0,
           dropped_spans = 0, open_edges = 0;
};

struct Options {
  int64_t spans = 1'000'000;
  int batch = 1000;
  uint64_t seed = 1;
  double collect_every_s = 15;
  double expire_every_s = 0;           // 0: only at Collect (TenantGenerator's collection loop)
  int64_t max_items = 0;               // 0: Tempo's default (10000)
  std::string histograms = "classic";  // generate_native_histograms
};

Result Run(const std::vector<std::string>& processors, const Options& o) {
  const int64_t total_spans = o.spans;
  const int batch_spans = o.batch;
  const absl::Duration collect_every = absl::Seconds(o.collect_every_s);
  const absl::Duration expire_every = absl::Seconds(o.expire_every_s);
  sprout::traces::GeneratorConfig config;  // Tempo's defaults
  sprout::traces::GeneratorOverrides overrides;
  overrides.processors = processors;
  overrides.generate_native_histograms = o.histograms;
  if (o.max_items > 0) {
    config.service_graphs.max_items = o.max_items;
    overrides.service_graphs.max_items = o.max_items;
  }
  auto g = gen::TenantGenerator::Create("bench", config, overrides);
  if (!g.ok()) {
    std::fprintf(stderr, "TenantGenerator::Create: %s\n", g.status().ToString().c_str());
    std::exit(1);
  }
  gen::TenantGenerator& generator = **g;

  TracesCorpusOptions options;
  options.seed = o.seed;
  TracesCorpus corpus(options);
  sprout::otlp::pb::trace_service::ExportTraceServiceRequest request;
  CountingSink sink;
  Result r;
  absl::Time next_collect = absl::InfinitePast();
  absl::Time next_expire = absl::InfinitePast();
  // Tempo expires open edges on its own ticker; TenantGenerator only from Collect. The bench can
  // call the processor's Expire in between (the generator owns a non-const processor).
  auto* service_graphs = const_cast<gen::ServiceGraphsProcessor*>(generator.service_graphs());
  absl::Time now = absl::InfinitePast();
  while (corpus.spans() < total_spans) {
    request.Clear();
    corpus.NextBatch(batch_spans, &request);
    uint64_t latest_end = 0;
    for (const auto& rs : request.resource_spans())
      for (const auto& ss : rs.scope_spans())
        for (const auto& s : ss.spans())
          if (s.end_time_unix_nano() > latest_end) latest_end = s.end_time_unix_nano();
    now = absl::FromUnixNanos(static_cast<int64_t>(latest_end));
    if (next_collect == absl::InfinitePast()) {
      next_collect = now + collect_every;
      next_expire = now + expire_every;
    }

    double t0 = ThreadCpuSeconds();
    for (const auto& rs : request.resource_spans()) generator.PushSpans(rs, now);
    double t1 = ThreadCpuSeconds();
    r.push_cpu_s += t1 - t0;
    if (now >= next_collect) {
      generator.Collect(now, sink);
      r.collect_cpu_s += ThreadCpuSeconds() - t1;
      ++r.collects;
      next_collect += collect_every;
    } else if (service_graphs != nullptr && expire_every > absl::ZeroDuration() &&
               now >= next_expire) {
      service_graphs->Expire(now);
      r.collect_cpu_s += ThreadCpuSeconds() - t1;
      next_expire += expire_every;
    }
  }
  {  // the last collection, as the collection loop would run it at the next tick
    double t0 = ThreadCpuSeconds();
    generator.Collect(now, sink);
    r.collect_cpu_s += ThreadCpuSeconds() - t0;
    ++r.collects;
  }
  r.spans = corpus.spans();
  r.samples = sink.samples;
  r.histograms = sink.histograms;
  r.exemplars = sink.exemplar_count;
  r.stats = generator.stats();
  if (const auto* sg = generator.service_graphs()) {
    const auto st = sg->stats();
    r.edges = sg->store().edges();
    r.edges_recorded = st.edges_recorded;
    r.virtual_node_edges = st.virtual_node_edges;
    r.expired_edges = sg->store().expired_edges();
    r.dropped_spans = sg->store().dropped_spans();
    r.open_edges = sg->store().open_edges();
  }
  return r;
}

void Print(const char* name, const Result& r) {
  const double cpu = r.push_cpu_s + r.collect_cpu_s;
  std::printf("%-28s spans %" PRId64
              "  cpu %.3f s (push %.3f, collect %.3f in %d collects)  "
              "%.3f us/span  %.0f spans/s per core\n",
              name, r.spans, cpu, r.push_cpu_s, r.collect_cpu_s, r.collects, cpu * 1e6 / r.spans,
              r.spans / cpu);
  std::printf("%-28s received %" PRIu64 " outside_slack %" PRIu64 " active_series %" PRIu64
              " series_limited %" PRIu64 " samples %" PRIu64 " native_histograms %" PRIu64
              " exemplars %" PRIu64 "\n",
              "", r.stats.spans_received, r.stats.spans_outside_slack, r.stats.active_series,
              r.stats.series_limited, r.samples, r.histograms, r.exemplars);
  if (r.edges || r.edges_recorded)
    std::printf("%-28s edges %" PRIu64 " recorded %" PRIu64 " (completed %" PRIu64
                ", virtual-node %" PRIu64 ") expired %" PRIu64 " dropped_spans %" PRIu64
                " open_at_end %" PRIu64 "\n",
                "", r.edges, r.edges_recorded, r.edges_recorded - r.virtual_node_edges,
                r.virtual_node_edges, r.expired_edges, r.dropped_spans, r.open_edges);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"generator_bench: the metrics-generator's CPU per span on the pinned corpus"};
  Options o;
  std::string only;
  app.add_option("--spans", o.spans, "spans of the corpus to feed (whole traces)");
  app.add_option("--batch", o.batch, "at least this many spans per batch");
  app.add_option("--seed", o.seed, "corpus seed");
  app.add_option("--collect-every-s", o.collect_every_s, "Collect every this much corpus time");
  app.add_option("--expire-every-s", o.expire_every_s,
                 "also expire service-graph edges every this much corpus time (Tempo: 2); 0: "
                 "only at Collect");
  app.add_option("--max-items", o.max_items,
                 "service_graphs.max_items (open edges); 0: Tempo's default, 10000");
  app.add_option("--only", only, "span-metrics | service-graphs | both (default: all three)");
  app.add_option("--histograms", o.histograms,
                 "generate_native_histograms: classic | native | both (default classic)");
  CLI11_PARSE(app, argc, argv);
  // As the sprout binary does (src/cmd/main.cc): the distribution's Abseil checks every Mutex
  // acquisition for lock-order cycles otherwise.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  struct Case {
    const char* name;
    std::vector<std::string> processors;
  };
  const Case cases[] = {
      {"span-metrics", {"span-metrics"}},
      {"service-graphs", {"service-graphs"}},
      {"both", {"service-graphs", "span-metrics"}},
  };
  for (const Case& c : cases) {
    if (!only.empty() && only != c.name) continue;
    Print(c.name, Run(c.processors, o));
    std::fflush(stdout);
  }
  return 0;
}
