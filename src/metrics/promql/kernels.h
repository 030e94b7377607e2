// The numeric kernels of the PromQL engine: what one function or aggregation computes from the
// values it is given, with Prometheus 2.42's arithmetic (extrapolation, Kahan/Welford where
// Prometheus uses them, NaN and ±Inf behaviour, native-histogram arithmetic). The engine
// (engine.cc) walks series and steps and calls these; nothing here knows about series, labels or
// time ranges beyond the window it is handed.
//
// Thread-safety: every function is pure (no shared state).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "metrics/tsdb/chunkenc/histogram.h"

namespace sprout::metrics::promql::kernels {

using chunkenc::FloatHistogram;

// The samples a range selector holds for one series at one evaluation step, as Prometheus 2.42
// selects them: every sample with range_start <= t <= range_end (both inclusive), stale markers
// removed. Float and histogram samples are kept apart, each in time order; a window may hold
// both (a series that changed type), which most functions answer with no value, as Prometheus.
struct Window {
  std::span<const int64_t> ft;  // float samples: timestamps (ms)
  std::span<const double> fv;   // and values
  std::span<const int64_t> ht;  // histogram samples: timestamps (ms)
  std::span<const FloatHistogram> hv;
  int64_t range_start = 0;  // the step's time - offset - range (ms): Prometheus's rangeStart
  int64_t range_end = 0;    // the step's time - offset (ms): rangeEnd
  int64_t range_ms = 0;     // the selector's range
  int64_t eval_ts = 0;      // the step's time (ms): Prometheus's enh.Ts (predict_linear)
  // Optional, for rate/increase: fcorr[i] - fcorr[0] is the sum of fv[j - 1] over the counter
  // resets j in (0, i] (fv[j] < fv[j - 1]), kept by the caller as a running prefix while its
  // window slides, so a rate costs O(1) per step instead of a walk over the window. Empty: the
  // kernel walks the window itself. Either way the answer is 2.42's (the same additions, and
  // exactly the same value when the window holds no reset).
  std::span<const double> fcorr;
};

// One function result for one series at one step.
struct Out {
  enum Kind : uint8_t { kNone, kFloat, kHistogram };
  Kind kind = kNone;
  double f = 0;
  FloatHistogram h;  // kHistogram
};

// A range-vector function: `args` are the function's scalar arguments at this step, in call
// order without the range vector (quantile_over_time: {q}; predict_linear: {t};
// holt_winters / double_exponential_smoothing: {sf, tf}). A kernel that answers nothing leaves
// out->kind == kNone (the engine resets *out before each call).
using RangeKernel = void (*)(const Window& w, std::span<const double> args, Out* out);

// The kernel of a range-vector function by name: rate, increase, delta, irate, idelta, changes,
// resets, deriv, predict_linear, holt_winters, double_exponential_smoothing, avg_over_time,
// min_over_time, max_over_time, sum_over_time, count_over_time, stddev_over_time,
// stdvar_over_time, last_over_time, present_over_time, quantile_over_time, mad_over_time.
// nullptr for any other name (absent_over_time is the engine's: it is about the whole vector).
RangeKernel FindRangeKernel(std::string_view name);

// holt_winters / double_exponential_smoothing refuse a smoothing or trend factor outside (0, 1)
// with an error (the query fails); their kernel answers kNone for such factors and the engine
// reports this status's text, which is Prometheus 2.42's: "invalid smoothing factor. Expected:
// 0 < sf < 1, got: %f" (sf checked first), then "invalid trend factor. Expected: 0 < tf < 1,
// got: %f" (Go's %f: six decimals, +Inf/-Inf). NaN factors pass the check (and compute NaN).
// OkStatus when both are valid.
absl::Status HoltWintersArgsError(double sf, double tf);

// Element-wise float functions of one argument: abs ceil floor exp sqrt ln log2 log10 sgn acos
// acosh asin asinh atan atanh cos cosh sin sinh tan tanh deg rad. nullptr for other names.
using MathFn = double (*)(double);
MathFn FindMathFunction(std::string_view name);

// round(v, to_nearest) as Prometheus computes it (ties go up: floor(v / to_nearest + 0.5)
// with to_nearest's inverse as Prometheus uses it).
double Round(double v, double to_nearest);

// The date functions (day_of_month day_of_week day_of_year days_in_month hour minute month
// year) of a Unix time in seconds, in UTC; the value is truncated toward zero to whole seconds.
// NaN, ±Inf and values beyond the int64 range answer what Prometheus 2.42 answers for them
// (Go's conversion makes them the minimum int64: year 292277026596, month 12, day 4, ...), not
// NaN. false for an unknown name.
bool DateFunction(std::string_view name, double unix_seconds, double* out);

// Prometheus's quantile of `values` (reordered), for the quantile aggregation and
// quantile_over_time: no values → NaN (checked first), NaN q → NaN, q < 0 → -Inf, q > 1 → +Inf;
// otherwise values sorted with NaN first, rank = q × (n - 1), and
// v[floor] × (1 - w) + v[floor + 1] × w — so an infinite neighbour with weight 0 gives NaN
// (Inf × 0), as in 2.42 (quantile_over_time(0, {-Inf, -Inf}) is NaN).
double Quantile(double q, std::vector<double>& values);

// Running sums as the aggregations and *_over_time use them.
// Neumaier-compensated sum as 2.42's sum_over_time (Value() is the bare running sum when that is
// ±Inf). NOTE: 2.42's `sum` AGGREGATION does not compensate — use PlainSum for it: over
// 1e16, 1, 1, -1e16 2.42's sum() answers 0 where KahanSum answers 2.
struct KahanSum {
  double sum = 0;
  double c = 0;
  void Add(double v);
  double Value() const;
};
// 2.42's sum aggregation: plain left-to-right `+=` in the order the series come.
struct PlainSum {
  double sum = 0;
  void Add(double v) { sum += v; }
  double Value() const { return sum; }
};
// Mean and variance as Prometheus 2.42's stddev/stdvar AGGREGATIONS compute them: the group
// starts at its first value (mean = v, M2 = 0; so a lone ±Inf or NaN has variance 0, as 2.42
// answers), then plain Welford updates. stddev/stdvar_over_time use a compensated variant (the kernels).
// Stdvar() of no values is NaN.
struct Variance {
  double count = 0;
  double mean = 0;
  double m2 = 0;  // sum of squared deviations (Welford's M2)
  void Add(double v);
  double Stdvar() const;  // population variance
  double Stddev() const;
};

// The average as Prometheus 2.42's avg aggregation computes it, value by value: starts at the
// first value, then mean += v/n - mean/n (no compensation; `c` is unused), except that an
// infinite mean is kept when v is finite or the same infinity. Value() of no values is NaN.
struct Mean {
  double count = 0;
  double mean = 0;
  double c = 0;
  void Add(double v);
  double Value() const;
};

// histogram_quantile over classic buckets. `buckets` are (upper bound, cumulative count) of one
// series group, in any order (reordered and merged in place); Prometheus 2.42's rules, in order:
// NaN q → NaN, q < 0 → -Inf, q > 1 → +Inf; sorted by upper bound, the highest must be +Inf (else
// NaN); buckets with equal bounds are one (counts added); counts made monotonic (a count below
// the running maximum is raised to it; NaN counts stay NaN); fewer than 2 buckets → NaN; a total
// (+Inf count) of 0 → NaN. rank = q × total; the first bucket whose count >= rank is found by
// binary search (Go's sort.Search — with NaN counts this is not a scan); in the +Inf bucket (also
// when the total is NaN) → the second highest bound; in the first bucket with an upper bound <= 0
// → that bound; else linear interpolation inside the bucket, the first bucket starting at 0.
struct Bucket {
  double upper = 0;
  double count = 0;
};
double BucketQuantile(double q, std::vector<Bucket>& buckets);

// Native histograms (Prometheus 2.42's histogram_quantile, histogram_fraction, and the later
// histogram_stddev / histogram_stdvar with their documented estimates). Buckets are visited as
// Prometheus's AllBucketIterator does: negative ones from the most negative, the zero bucket
// (when its count is > 0), positive ones; empty buckets included (q 0 on an empty first bucket
// is 0/0 = NaN, as 2.42). Quantile and fraction treat the zero bucket as [0, zt] when the
// histogram has no negative buckets but positive ones, [-zt, 0] in the opposite case — "has
// buckets" means the bucket list is non-empty, empty buckets included (2.42), so the answer
// depends on the layout: pass histograms laid out as stored. Linear interpolation inside a
// bucket (2.42; later releases interpolate exponentially). HistogramQuantile: q < 0 → -Inf,
// q > 1 → +Inf, no observations or NaN q → NaN; a rank beyond every bucket (NaN observations)
// → the last bucket's upper bound. HistogramFraction: NaN bound or no observations → NaN,
// lower >= upper → 0. HistogramStdVar: each observation at its bucket's geometric mean (0 in the
// zero bucket), around sum / count.
double HistogramQuantile(double q, const FloatHistogram& h);
double HistogramFraction(double lower, double upper, const FloatHistogram& h);
double HistogramStdDev(const FloatHistogram& h);
double HistogramStdVar(const FloatHistogram& h);

// Native-histogram arithmetic as Prometheus's FloatHistogram: Add / Sub (the result takes the
// smaller schema — the coarser resolution — and the larger zero threshold, raised further to a
// bucket's upper bound when it would cut a populated bucket of either histogram; buckets inside
// it join the zero count; the rest merged; the result is NOT compacted: empty buckets stay until
// HistogramCompact), Scale (every count and the sum times factor: Mul, and Div as 1/x), Compact
// (drops empty buckets, joins spans). *a is the result; its reset hint is left as it was.
// NOTE for the engine, what 2.42 (native histograms behind a feature flag) did with histogram
// operands, as queried: `h + h` and sum() add histograms as here; `h * 2`, `2 * h`, `h / 2`
// answer the histogram unchanged; `h - h` and avg() answer the float 0. The scale and the
// subtraction here are later Prometheus's.
// Custom buckets (schema -53) add only to custom buckets: callers check HistogramsCompatible
// first and give no value when it is false (Prometheus 3 drops such a result, with a warning we
// do not emit). Custom buckets with other boundaries are first rolled up onto the boundaries both
// have (each bucket into the first shared boundary at or above its own, the rest into +Inf), as
// Prometheus 3.8 reconciles them (its info annotation not emitted either).
bool HistogramsCompatible(const FloatHistogram& a, const FloatHistogram& b);
void HistogramAdd(FloatHistogram* a, const FloatHistogram& b);
void HistogramSub(FloatHistogram* a, const FloatHistogram& b);
void HistogramScale(FloatHistogram* a, double factor);
void HistogramCompact(FloatHistogram* h);

}  // namespace sprout::metrics::promql::kernels
