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

// Element-wise float functions of one argument: abs ceil floor exp sqrt ln log2 log10 sgn acos
// acosh asin asinh atan atanh cos cosh sin sinh tan tanh deg rad. nullptr for other names.
using MathFn = double (*)(double);
MathFn FindMathFunction(std::string_view name);

// round(v, to_nearest) as Prometheus computes it (ties go up: floor(v / to_nearest + 0.5)
// with to_nearest's inverse as Prometheus uses it).
double Round(double v, double to_nearest);

// The date functions (day_of_month day_of_week day_of_year days_in_month hour minute month
// year) of a Unix time in seconds, in UTC. NaN and ±Inf answer NaN (Prometheus 2.42 behaviour
// for those inputs must be checked and followed). false for an unknown name.
bool DateFunction(std::string_view name, double unix_seconds, double* out);

// Prometheus's quantile of `values` (reordered): q < 0 → -Inf, q > 1 → +Inf, NaN q → NaN, no
// values → NaN; linear interpolation between the closest ranks otherwise.
double Quantile(double q, std::vector<double>& values);

// Running sums as the aggregations and *_over_time use them.
// Kahan-compensated sum (if Prometheus 2.42 uses plain summation somewhere, the engine asks
// for that function instead; see the .cc's notes).
struct KahanSum {
  double sum = 0;
  double c = 0;
  void Add(double v);
  double Value() const;
};
// Mean and variance as Prometheus 2.42's stddev/stdvar aggregations and *_over_time compute them.
struct Variance {
  double count = 0;
  double mean = 0;
  double m2 = 0;  // or whatever running state Prometheus's algorithm needs
  void Add(double v);
  double Stdvar() const;  // population variance
  double Stddev() const;
};

// The average as Prometheus 2.42's avg aggregation computes it (incremental mean with its
// handling of ±Inf), value by value.
struct Mean {
  double count = 0;
  double mean = 0;
  double c = 0;
  void Add(double v);
  double Value() const;
};

// histogram_quantile over classic buckets. `buckets` are (upper bound, cumulative count) of one
// series group, in any order; Prometheus 2.42's rules: sorted by upper bound, the highest must be
// +Inf (else NaN), fewer than 2 buckets → NaN, counts made monotonic, q < 0 → -Inf, q > 1 →
// +Inf, NaN q → NaN, interpolation inside the bucket (the first bucket's lower bound is 0 when
// its upper bound is positive), the +Inf bucket answers the second highest bound.
struct Bucket {
  double upper = 0;
  double count = 0;
};
double BucketQuantile(double q, std::vector<Bucket>& buckets);

// Native histograms (Prometheus 2.42's histogram_quantile, histogram_fraction, and the later
// histogram_stddev / histogram_stdvar with their documented estimates).
double HistogramQuantile(double q, const FloatHistogram& h);
double HistogramFraction(double lower, double upper, const FloatHistogram& h);
double HistogramStdDev(const FloatHistogram& h);
double HistogramStdVar(const FloatHistogram& h);

// Native-histogram arithmetic as Prometheus's FloatHistogram: Add / Sub (the result takes the
// smaller schema — the coarser resolution — and the larger zero threshold, buckets merged
// accordingly), Mul / Div by a scalar (every count and the sum), Compact (drops empty buckets
// and merges spans). *a is the result.
void HistogramAdd(FloatHistogram* a, const FloatHistogram& b);
void HistogramSub(FloatHistogram* a, const FloatHistogram& b);
void HistogramScale(FloatHistogram* a, double factor);
void HistogramCompact(FloatHistogram* h);

}  // namespace sprout::metrics::promql::kernels
