// The metrics-generator's series registry (Tempo's `modules/generator/registry`, reference
// tempo.md §4.1): counters, gauges and histograms (classic, native or both, per family) keyed by
// label sets, with `external_labels`, `max_active_series`, `stale_duration`, label length limits
// and exemplars.
//
// Ingest threads update series (Counter::Inc, Gauge::Set, Histogram::Observe); a collector thread
// calls Registry::Collect(now, sink), which first deletes stale series and then hands the sample
// of every active series to a SeriesSink. All methods are thread-safe (one mutex per registry).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "traces/generator/histogram_mode.h"

namespace sprout::traces::generator {

struct Label {
  std::string name;
  std::string value;
  bool operator==(const Label& o) const { return name == o.name && value == o.value; }
};
using Labels = std::vector<Label>;

// One exemplar: the trace ID (hex) under the label `trace_id_label_name`, the observed value and
// its timestamp, which Collect sets to the collection time as Tempo does.
struct Exemplar {
  std::string trace_id;
  double value = 0;
  absl::Time time;
};

// "classic" | "native" | "both"; nullopt for anything else.
std::optional<HistogramMode> ParseHistogramMode(std::string_view text);
std::string_view HistogramModeName(HistogramMode mode);

// One native (sparse, exponential) histogram sample with integer counts, in Prometheus' shape:
// bucket `i` of schema `s` holds the values in (2^((i-1)/2^s), 2^(i/2^s)] (negative buckets
// the same for -v); |v| ≤ zero_threshold goes to the zero bucket. Buckets are written as spans
// (`offset` empty buckets after the previous span — the first span's offset is its first
// index — then `length` buckets) and deltas (each bucket's count minus the previous one's,
// the first against 0), over the spans in order.
struct NativeHistogramSample {
  struct Span {
    int32_t offset = 0;
    uint32_t length = 0;
    bool operator==(const Span& o) const { return offset == o.offset && length == o.length; }
  };
  int32_t schema = 0;
  double zero_threshold = 0;
  uint64_t zero_count = 0;
  uint64_t count = 0;
  double sum = 0;
  std::vector<Span> positive_spans;
  std::vector<int64_t> positive_deltas;
  std::vector<Span> negative_spans;
  std::vector<int64_t> negative_deltas;
};

// Where collected samples go: `sprout all` hands them to the in-process metrics store,
// `sprout traces` to a remote-write client. `labels` holds the series' labels, the external
// labels and (for `_bucket`) `le`, sorted by name; `__name__` is not among them (it is `name`).
// The exemplars' label name is `exemplar_label` (default `traceID`).
class SeriesSink {
 public:
  virtual ~SeriesSink() = default;
  virtual void Append(std::string_view name, const Labels& labels, double value, absl::Time time,
                      absl::Span<const Exemplar> exemplars, std::string_view exemplar_label) = 0;
  // One native histogram sample of the series `name{labels}` (histogram families in native or
  // both mode). A sink that cannot carry native histograms drops it (the default).
  virtual void AppendNativeHistogram(std::string_view name, const Labels& labels,
                                     const NativeHistogramSample& histogram, absl::Time time,
                                     absl::Span<const Exemplar> exemplars,
                                     std::string_view exemplar_label) {}
};

struct RegistryConfig {
  // Series not updated for longer than this are deleted at the next Collect (no stale marker).
  absl::Duration stale_duration = absl::Minutes(15);
  // Added to every series (a series label of the same name wins).
  Labels external_labels;
  // 0: unlimited. A new series that would take the active series past it is refused and counted.
  uint32_t max_active_series = 0;
  // Longer label names / values are truncated to these byte lengths (Tempo's limits); 0: none.
  size_t max_label_name_length = 1024;
  size_t max_label_value_length = 2048;
  // The exemplar label carrying the trace ID.
  std::string trace_id_label_name = "traceID";
  // Native histograms (families in native or both mode; Tempo's per-tenant
  // native_histogram_* overrides, fed to Prometheus client_golang's histogram): the initial
  // schema is the largest whose bucket growth factor 2^(2^-schema) is ≤ bucket_factor (1.1 →
  // schema 3), between -4 and 8; more than max_bucket_number populated buckets (0: no limit)
  // reset the series when min_reset_duration has passed since its creation or last reset (0:
  // never), else halve the resolution (schema − 1, down to -4).
  double native_histogram_bucket_factor = 1.1;
  uint32_t native_histogram_max_bucket_number = 100;
  absl::Duration native_histogram_min_reset_duration = absl::Minutes(15);
};

// The native histogram schema for a bucket factor (client_golang's rule): -floor(log2(log2(f)))
// clamped to [-4, 8]; a factor ≤ 1 gives 8.
int32_t NativeHistogramSchema(double bucket_factor);

// The index of the native bucket of schema `schema` holding the positive value `v`: the i with
// 2^((i-1)/2^schema) < v ≤ 2^(i/2^schema). +Inf goes one past the largest finite value's bucket.
int32_t NativeBucketIndex(double v, int32_t schema);

// Prometheus' default native zero threshold (client_golang's DefNativeHistogramZeroThreshold,
// 2^-128): |v| at or below it is counted in the zero bucket.
inline constexpr double kNativeHistogramZeroThreshold = 2.938735877055719e-39;

// Tempo's classic histogram buckets of span metrics (seconds).
std::vector<double> DefaultSpanMetricsBuckets();

// Formats a bucket bound as Prometheus' `le` label (Go's FormatFloat 'f', -1: shortest exact text,
// no exponent): 0.002 → "0.002", 1 → "1", +Inf → "+Inf".
std::string FormatLe(double bound);

// Tempo's time of a new series' initial 0 sample: `now` truncated to the minute, minus 1 s.
absl::Time InitialZeroTime(absl::Time now);

class Registry;

// A label set ready for the registry: truncated to the length limits, sorted by name (of two labels
// with one name the first given wins), and its series key. Prepare once, update several families
// (Registry::Prepare).
struct PreparedLabels {
  PreparedLabels() = default;  // not an aggregate: `{{"a", "b"}}` stays a Labels
  Labels labels;
  std::string key;
};

class Counter {
 public:
  bool Inc(const PreparedLabels& labels, double value, absl::Time now,
           const Exemplar* exemplar = nullptr);
  // Adds `value` to the series of `labels` (created at 0 on first use). False when the series is
  // new and refused by max_active_series. `exemplar` (optional) is kept until the next Collect.
  bool Inc(const Labels& labels, double value, absl::Time now, const Exemplar* exemplar = nullptr);

 private:
  friend class Registry;
  Counter(Registry* r, int id) : registry_(r), id_(id) {}
  Registry* registry_;
  int id_;
};

class Gauge {
 public:
  bool Set(const PreparedLabels& labels, double value, absl::Time now);
  bool Set(const Labels& labels, double value, absl::Time now);
  bool Add(const Labels& labels, double value, absl::Time now);

 private:
  friend class Registry;
  Gauge(Registry* r, int id) : registry_(r), id_(id) {}
  Registry* registry_;
  int id_;
};

class Histogram {
 public:
  bool Observe(const PreparedLabels& labels, double value, double multiplier, absl::Time now,
               std::string_view trace_id = {});
  // Observes `value` `multiplier` times. Classic mode: count += multiplier, sum += value ×
  // multiplier, the bucket of the first bound ≥ value += multiplier (fractional multipliers
  // kept as such). Native and both modes (Tempo feeds a client_golang histogram `multiplier`
  // times in a loop): the value is counted ceil(multiplier) times (integer counts; 0.5 → 1,
  // 2.5 → 3; ≤ 0 → not counted), in the native buckets and, in both mode, the classic ones.
  // A non-empty `trace_id` becomes an exemplar, kept until the next Collect: classic and both
  // modes one per classic bucket (the last observed wins; both mode also puts them on the
  // native sample); native mode up to 10 per series (client_golang's default), a full set
  // dropping the older of its two neighbours closest on a log scale (never the new one).
  bool Observe(const Labels& labels, double value, double multiplier, absl::Time now,
               std::string_view trace_id = {});

  HistogramMode mode() const { return mode_; }

 private:
  friend class Registry;
  Histogram(Registry* r, int id, HistogramMode mode) : registry_(r), id_(id), mode_(mode) {}
  Registry* registry_;
  int id_;
  HistogramMode mode_;
};

class Registry {
 public:
  explicit Registry(RegistryConfig config);
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;
  ~Registry();

  // The label set truncated, sorted and keyed once, for several updates.
  PreparedLabels Prepare(const Labels& labels) const;

  // Metric families; the returned handles live as long as the registry.
  Counter* NewCounter(std::string name);
  Gauge* NewGauge(std::string name);
  // `buckets`: ascending upper bounds of the classic series (a +Inf bucket is always added;
  // unused in native mode). `mode`: which series the family emits (see Collect).
  Histogram* NewHistogram(std::string name, std::vector<double> buckets,
                          HistogramMode mode = HistogramMode::kClassic);

  // Deletes the series idle longer than stale_duration, then appends the samples of every active
  // series at `now`: counters and gauges one sample each; classic histograms `<name>_count`,
  // `<name>_sum` and one `<name>_bucket` per bound plus `le="+Inf"` (cumulative, zero counts
  // included); native histograms one AppendNativeHistogram under `<name>`; both mode the
  // classic series, then the native one. The first collection of a counter or classic
  // histogram series is preceded by a 0 sample (counter, `_count`, every `_bucket`; not `_sum`,
  // not the native sample — Tempo writes none) at the end of the previous minute
  // (InitialZeroTime), as Tempo does so that Prometheus' rate() sees the first increment.
  // Exemplars are handed over once, stamped with `now`, and then forgotten. Families in
  // creation order, series in label order.
  void Collect(absl::Time now, SeriesSink& sink);

  // Deletes the series idle longer than stale_duration (Collect does it first); returns how many
  // label sets.
  size_t RemoveStaleSeries(absl::Time now);

  // Active series as max_active_series counts them: 1 per counter or gauge series, buckets + 3
  // (every bound, +Inf, _sum, _count) per classic histogram series, 1 per native histogram
  // series (Tempo's count), buckets + 4 per histogram series in both mode.
  uint64_t active_series() const;
  // New series refused by max_active_series (Tempo's
  // tempo_metrics_generator_registry_series_limited_total).
  uint64_t series_limited_total() const;
  // Series deleted as stale so far, counted as active_series counts them (Tempo's
  // registry_series_removed_total: a classic histogram label set is its buckets + 3).
  uint64_t series_removed_total() const;

  const RegistryConfig& config() const { return config_; }

 private:
  friend class Counter;
  friend class Gauge;
  friend class Histogram;
  struct Series;
  struct Family;
  enum class Kind { kCounter, kGauge, kHistogram };

  // The series of `labels` in family `id`, created if absent and allowed; nullptr when refused.
  Series* GetOrCreate(int id, const PreparedLabels& labels, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int AddFamily(std::string name, Kind kind, std::vector<double> buckets,
                HistogramMode mode = HistogramMode::kClassic);
  size_t RemoveStaleLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CollectClassic(const Family& f, Series& s, const Labels& labels, absl::Time now,
                      absl::Time zero_time, SeriesSink& sink) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CollectNative(const Family& f, Series& s, const Labels& labels, absl::Time now,
                     SeriesSink& sink) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const RegistryConfig config_;
  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Family>> families_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Counter>> counters_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Gauge>> gauges_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Histogram>> histograms_ ABSL_GUARDED_BY(mu_);
  uint64_t active_series_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t series_limited_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t series_removed_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace sprout::traces::generator
