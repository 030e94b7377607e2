// PromQL numeric kernels with Prometheus 2.42's arithmetic. Notes on where 2.42 differs from
// later Prometheus (we follow 2.42 unless the function only exists later):
//
//  - rate/increase/delta: the counter's zero point ("durationToZero") shortens durationToStart
//    BEFORE the 1.1 x average-interval threshold is applied (later releases apply it after).
//  - sum_over_time, avg_over_time, stddev/stdvar_over_time and linear regression (deriv,
//    predict_linear) use Neumaier-compensated sums; the sum/avg/stddev/stdvar AGGREGATIONS of
//    2.42 do not: sum is plain `+=` (the engine does that itself), avg is the plain incremental
//    mean (Mean), stddev/stdvar are plain Welford seeded with the first value (Variance).
//  - A compensated sum whose running total becomes ±Inf picks up a NaN compensation term
//    ((Inf - Inf) + x); 2.42 returns the bare running total when it is infinite (sum and avg
//    over time), so a NaN compensation only shows through stddev/stdvar_over_time.
//  - Float-only functions look at the window's float samples only; a window without floats has
//    no value. count_over_time / present_over_time / last_over_time see histograms too.
//    DELIBERATE DIFFERENCE: 2.42 (native histograms were an experimental feature then) hands a
//    histogram sample to float functions as the value 0 (its Point.V), so e.g.
//    sum_over_time / max_over_time / irate / changes over a histogram series answer 0 and
//    last_over_time answers the float 0; we answer no value (float functions), the histogram
//    (last_over_time), or count histogram changes and resets (changes, resets), as later
//    Prometheus does.
//  - sum_over_time / avg_over_time over histograms do not exist in 2.42; they follow later
//    Prometheus (plain histogram sum; incremental mean mean += h/n - mean/n).
#include "metrics/promql/kernels.h"

#include <algorithm>
#include <iterator>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>

namespace sprout::metrics::promql::kernels {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Neumaier's variant of Kahan summation, one increment (Prometheus's kahanSumInc).
inline void NeumaierAdd(double inc, double* sum, double* c) {
  double t = *sum + inc;
  if (std::fabs(*sum) >= std::fabs(inc)) {
    *c += (*sum - t) + inc;
  } else {
    *c += (inc - t) + *sum;
  }
  *sum = t;
}

void SetFloat(Out* out, double v) {
  out->kind = Out::kFloat;
  out->f = v;
}

// ---------------------------------------------------------------------------------------------
// native histograms: buckets as (index, count) lists, one per side, in index order

struct IdxCount {
  int32_t idx;
  double count;
};
using Side = std::vector<IdxCount>;

Side ToSide(std::span<const chunkenc::BucketSpan> spans, std::span<const double> buckets) {
  Side s;
  s.reserve(buckets.size());
  int64_t idx = 0;
  size_t b = 0;
  for (size_t i = 0; i < spans.size(); ++i) {
    idx += spans[i].offset;
    for (uint32_t j = 0; j < spans[i].length && b < buckets.size(); ++j) {
      s.push_back({static_cast<int32_t>(idx), buckets[b++]});
      ++idx;
    }
  }
  return s;
}

// Spans covering exactly the listed indexes (consecutive indexes share a span); with `compact`
// zero counts are dropped first.
void FromSide(const Side& s, bool compact, std::vector<chunkenc::BucketSpan>* spans,
              std::vector<double>* buckets) {
  spans->clear();
  buckets->clear();
  int64_t next = 0;  // the index after the last span's end
  for (const IdxCount& ic : s) {
    if (compact && ic.count == 0) continue;
    if (!spans->empty() && ic.idx == next) {
      spans->back().length++;
    } else {
      spans->push_back({static_cast<int32_t>(ic.idx - next), 1});
    }
    next = static_cast<int64_t>(ic.idx) + 1;
    buckets->push_back(ic.count);
  }
}

// The upper bound (absolute value) of bucket `idx` at `schema`: 2^(idx * 2^-schema).
double BucketBound(int64_t idx, int32_t schema) {
  if (schema <= 0) {
    int64_t e = idx << -schema;
    if (e >= 1024) return e == 1024 ? std::numeric_limits<double>::max() : kInf;
    return std::ldexp(1.0, static_cast<int>(std::max<int64_t>(e, -2000)));
  }
  int64_t per = int64_t{1} << schema;
  int64_t e = idx >> schema;  // floor
  int64_t j = idx - e * per;  // [0, per)
  if (e >= 1024) return kInf;
  return std::ldexp(std::exp2(static_cast<double>(j) / static_cast<double>(per)),
                    static_cast<int>(std::max<int64_t>(e, -2000)));
}

// Buckets of `from` schema merged into the coarser `to` schema.
Side ToSchema(const Side& s, int32_t from, int32_t to) {
  if (to >= from) return s;
  Side out;
  int shift = from - to;
  for (const IdxCount& ic : s) {
    int32_t t = static_cast<int32_t>(((static_cast<int64_t>(ic.idx) - 1) >> shift) + 1);
    if (!out.empty() && out.back().idx == t) {
      out.back().count += ic.count;
    } else {
      out.push_back({t, ic.count});
    }
  }
  return out;
}

struct Unpacked {
  int32_t schema;
  double zero_threshold, zero_count;
  Side pos, neg;
};

Unpacked Unpack(const FloatHistogram& h) {
  return {h.schema, h.zero_threshold, h.zero_count, ToSide(h.positive_spans, h.positive_buckets),
          ToSide(h.negative_spans, h.negative_buckets)};
}

// What the zero count would be with a zero threshold of at least `t`; a threshold falling inside
// a populated bucket grows to that bucket's upper bound (absolute). Returns the threshold used.
double ZeroCountFor(const Unpacked& u, double t, double* count) {
  if (t == u.zero_threshold) {  // unchanged (whatever lies inside it already)
    *count = u.zero_count;
    return t;
  }
  for (;;) {
    double c = u.zero_count, nt = t;
    for (const Side* side : {&u.pos, &u.neg}) {
      for (const IdxCount& ic : *side) {
        double lower = BucketBound(static_cast<int64_t>(ic.idx) - 1, u.schema);
        double upper = BucketBound(ic.idx, u.schema);
        if (lower >= t) break;
        c += ic.count;
        if (upper > t) {
          if (ic.count != 0) nt = std::max(nt, upper);
          break;
        }
      }
    }
    if (!(nt > t)) {  // also ends the loop for a NaN threshold (invalid input)
      *count = c;
      return t;
    }
    t = nt;
  }
}

// Drops the buckets that lie inside a zero bucket of threshold t.
void TrimZero(Unpacked* u, double t) {
  for (Side* side : {&u->pos, &u->neg}) {
    side->erase(std::remove_if(side->begin(), side->end(),
                               [&](const IdxCount& ic) {
                                 return BucketBound(static_cast<int64_t>(ic.idx) - 1, u->schema) <
                                        t;
                               }),
                side->end());
  }
}

Side MergeSides(const Side& a, const Side& b, double sign) {
  Side out;
  out.reserve(a.size() + b.size());
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && a[i].idx < b[j].idx)) {
      out.push_back(a[i++]);
    } else if (i == a.size() || b[j].idx < a[i].idx) {
      out.push_back({b[j].idx, sign * b[j].count});
      ++j;
    } else {
      out.push_back({a[i].idx, a[i].count + sign * b[j].count});
      ++i;
      ++j;
    }
  }
  return out;
}

// The boundaries two custom-bucket histograms share (compared as floats), ascending.
std::vector<double> CommonBounds(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

// A custom-bucket histogram's buckets rolled up onto `bounds` (a subset of its own): each bucket
// goes to the first of `bounds` at or above its upper bound, or to the +Inf bucket above them all
// (Prometheus 3.8's reconciliation of mismatched custom buckets).
void RollUp(FloatHistogram* h, const std::vector<double>& bounds) {
  Side rolled;
  for (const IdxCount& ic : ToSide(h->positive_spans, h->positive_buckets)) {
    const double upper = chunkenc::CustomBucketBounds(h->custom_values, ic.idx).upper;
    const auto j = static_cast<int32_t>(
        std::lower_bound(bounds.begin(), bounds.end(), upper) - bounds.begin());
    if (!rolled.empty() && rolled.back().idx == j) {
      rolled.back().count += ic.count;
    } else {
      rolled.push_back({j, ic.count});
    }
  }
  h->custom_values = bounds;
  FromSide(rolled, false, &h->positive_spans, &h->positive_buckets);
}

void AddSigned(FloatHistogram* a, const FloatHistogram& b, double sign) {
  // Callers check HistogramsCompatible; custom and exponential buckets never merge (a no-op is
  // safer than indexes of one kind counted as the other's).
  if (a->UsesCustomBuckets() != b.UsesCustomBuckets()) return;
  if (a->UsesCustomBuckets() && b.UsesCustomBuckets() &&
      !chunkenc::SameCustomValues(a->custom_values, b.custom_values)) {
    // Other boundaries: both onto the ones they share, then added bucket by bucket.
    const std::vector<double> common = CommonBounds(a->custom_values, b.custom_values);
    FloatHistogram rb = b;
    RollUp(a, common);
    RollUp(&rb, common);
    AddSigned(a, rb, sign);
    return;
  }
  Unpacked ua = Unpack(*a), ub = Unpack(b);
  // Zero buckets first, each in its own schema: the wider threshold, grown until it does not
  // cut a populated bucket of either histogram.
  double t = std::max(ua.zero_threshold, ub.zero_threshold), ca = ua.zero_count,
         cb = ub.zero_count;
  for (;;) {
    double ta = ZeroCountFor(ua, t, &ca);
    double tb = ZeroCountFor(ub, ta, &cb);
    if (!(tb > t)) break;  // stable (a NaN threshold stops here too)
    t = tb;
  }
  int32_t schema = std::min(ua.schema, ub.schema);
  // The buckets inside the new zero bucket go. A histogram already at the result's schema drops
  // those below the threshold; a finer one is merged into the result's schema first and drops
  // the merged buckets whose upper bound is within the threshold. That is 2.42's order: a fine
  // bucket counted into the zero bucket can survive inside a coarse bucket that straddles the
  // threshold (counted twice; 2.42's sum() of such histograms shows it too).
  auto prepare = [&](Unpacked* u) {
    if (u->schema == schema) {
      if (t != u->zero_threshold) TrimZero(u, t);
      return;
    }
    for (Side* side : {&u->pos, &u->neg}) {
      *side = ToSchema(*side, u->schema, schema);
      if (t != u->zero_threshold) {
        side->erase(std::remove_if(side->begin(), side->end(),
                                   [&](const IdxCount& ic) {
                                     return BucketBound(ic.idx, schema) <= t;
                                   }),
                    side->end());
      }
    }
    u->schema = schema;
  };
  prepare(&ua);
  prepare(&ub);
  Side pos = MergeSides(ua.pos, ub.pos, sign);
  Side neg = MergeSides(ua.neg, ub.neg, sign);
  a->schema = schema;
  a->zero_threshold = t;
  a->zero_count = ca + sign * cb;
  a->count += sign * b.count;
  a->sum += sign * b.sum;
  FromSide(pos, false, &a->positive_spans, &a->positive_buckets);
  FromSide(neg, false, &a->negative_spans, &a->negative_buckets);
}

// Whether `cur` follows a counter reset after `prev` (Prometheus's DetectReset): the hint when it
// says so, else a count, zero count or bucket that went down, a finer schema or a narrower zero
// bucket.
bool DetectReset(const FloatHistogram& cur, const FloatHistogram& prev) {
  using chunkenc::CounterResetHint;
  if (cur.reset_hint == CounterResetHint::kCounterReset) return true;
  if (cur.reset_hint == CounterResetHint::kNotCounterReset ||
      cur.reset_hint == CounterResetHint::kGauge) {
    return false;
  }
  if (cur.count < prev.count) return true;
  // Custom buckets on one side only start a new counter; other custom boundaries are compared
  // on the boundaries both have (Prometheus 3.8).
  if (cur.UsesCustomBuckets() != prev.UsesCustomBuckets()) return true;
  if (cur.UsesCustomBuckets() &&
      !chunkenc::SameCustomValues(cur.custom_values, prev.custom_values)) {
    const std::vector<double> common = CommonBounds(cur.custom_values, prev.custom_values);
    FloatHistogram c = cur, p = prev;
    RollUp(&c, common);
    RollUp(&p, common);
    return DetectReset(c, p);
  }
  if (cur.schema > prev.schema) return true;
  if (cur.zero_threshold < prev.zero_threshold) return true;
  Unpacked up = Unpack(prev), uc = Unpack(cur);
  double prev_zero;
  if (ZeroCountFor(up, cur.zero_threshold, &prev_zero) != cur.zero_threshold) return true;
  if (cur.zero_count < prev_zero) return true;
  // Bucket by bucket in cur's schema, beyond cur's zero bucket: any that went down is a reset.
  const double t = cur.zero_threshold;
  for (int s = 0; s < 2; ++s) {
    Side p = ToSchema(s == 0 ? up.pos : up.neg, up.schema, cur.schema);
    const Side& c = s == 0 ? uc.pos : uc.neg;
    size_t j = 0;
    for (const IdxCount& ic : p) {
      if (!cur.UsesCustomBuckets() && BucketBound(ic.idx, cur.schema) <= t) continue;
      while (j < c.size() && c[j].idx < ic.idx) ++j;
      double now = (j < c.size() && c[j].idx == ic.idx) ? c[j].count : 0;
      if (now < ic.count) return true;
    }
  }
  return false;
}

// One bucket as Prometheus's AllBucketIterator yields it (negative buckets from the most
// negative, the zero bucket when it holds observations, then the positive ones).
struct BucketRange {
  double lower, upper, count;
};

std::vector<BucketRange> AllBuckets(const FloatHistogram& h) {
  std::vector<BucketRange> out;
  if (h.UsesCustomBuckets()) {
    for (const IdxCount& ic : ToSide(h.positive_spans, h.positive_buckets)) {
      const chunkenc::CustomBucketRange b = chunkenc::CustomBucketBounds(h.custom_values, ic.idx);
      out.push_back({b.lower, b.upper, ic.count});
    }
    return out;
  }
  Side neg = ToSide(h.negative_spans, h.negative_buckets);
  Side pos = ToSide(h.positive_spans, h.positive_buckets);
  for (auto it = neg.rbegin(); it != neg.rend(); ++it) {
    out.push_back({-BucketBound(it->idx, h.schema),
                   -BucketBound(static_cast<int64_t>(it->idx) - 1, h.schema), it->count});
  }
  if (h.zero_count > 0) out.push_back({-h.zero_threshold, h.zero_threshold, h.zero_count});
  for (const IdxCount& ic : pos) {
    out.push_back({BucketBound(static_cast<int64_t>(ic.idx) - 1, h.schema),
                   BucketBound(ic.idx, h.schema), ic.count});
  }
  return out;
}

// rate/increase/delta's histogram difference (2.42's histogramRate): last - first in the
// coarsest schema of the window, plus, for counters, every histogram that precedes a reset.
bool HistogramRate(std::span<const FloatHistogram> hv, bool is_counter, FloatHistogram* out) {
  for (const FloatHistogram& h : hv) {
    if (!HistogramsCompatible(h, hv.front())) return false;  // custom and exponential: no value
  }
  int32_t min_schema = hv.front().schema;
  for (const FloatHistogram& h : hv) min_schema = std::min(min_schema, h.schema);
  *out = hv.back();
  if (out->schema > min_schema) {
    // CopyToSchema: the last histogram at the coarsest schema.
    Unpacked u = Unpack(*out);
    FromSide(ToSchema(u.pos, u.schema, min_schema), false, &out->positive_spans,
             &out->positive_buckets);
    FromSide(ToSchema(u.neg, u.schema, min_schema), false, &out->negative_spans,
             &out->negative_buckets);
    out->schema = min_schema;
  }
  HistogramSub(out, hv.front());
  if (is_counter) {
    for (size_t i = 1; i < hv.size(); ++i) {
      if (DetectReset(hv[i], hv[i - 1])) HistogramAdd(out, hv[i - 1]);
    }
  }
  HistogramCompact(out);
  return true;
}

// ---------------------------------------------------------------------------------------------
// rate / increase / delta

void ExtrapolatedRate(const Window& w, Out* out, bool is_counter, bool is_rate) {
  const bool has_f = !w.ft.empty(), has_h = !w.ht.empty();
  if (has_f && has_h) return;  // a series that changed type inside the window
  size_t n = has_f ? w.ft.size() : w.ht.size();
  if (n < 2) return;
  int64_t first_t, last_t;
  double result = 0;
  FloatHistogram hresult;
  if (has_f) {
    first_t = w.ft.front();
    last_t = w.ft.back();
    result = w.fv.back() - w.fv.front();
    if (is_counter && w.fcorr.size() == n) {
      const double resets = w.fcorr.back() - w.fcorr.front();
      if (resets != 0) result += resets;
    } else if (is_counter) {
      for (size_t i = 1; i < n; ++i) {
        if (w.fv[i] < w.fv[i - 1]) result += w.fv[i - 1];
      }
    }
  } else {
    first_t = w.ht.front();
    last_t = w.ht.back();
    if (!HistogramRate(w.hv, is_counter, &hresult)) return;
  }
  double to_start = static_cast<double>(first_t - w.range_start) / 1000;
  double to_end = static_cast<double>(w.range_end - last_t) / 1000;
  double sampled = static_cast<double>(last_t - first_t) / 1000;
  double avg_interval = sampled / static_cast<double>(n - 1);
  // 2.42: a counter cannot go below zero; the clamp comes before the threshold test. For
  // histograms 2.42's first "value" is 0 and the float result 0, so no clamp applies.
  if (is_counter && has_f && result > 0 && w.fv.front() >= 0) {
    double to_zero = sampled * (w.fv.front() / result);
    if (to_zero < to_start) to_start = to_zero;
  }
  double threshold = avg_interval * 1.1;
  double interval = sampled;
  interval += to_start < threshold ? to_start : avg_interval / 2;
  interval += to_end < threshold ? to_end : avg_interval / 2;
  double factor = interval / sampled;
  if (is_rate) factor /= static_cast<double>(w.range_ms) / 1000;
  if (has_f) {
    SetFloat(out, result * factor);
  } else {
    HistogramScale(&hresult, factor);
    out->kind = Out::kHistogram;
    out->h = std::move(hresult);
  }
}

void KRate(const Window& w, std::span<const double>, Out* out) { ExtrapolatedRate(w, out, true, true); }
void KIncrease(const Window& w, std::span<const double>, Out* out) {
  ExtrapolatedRate(w, out, true, false);
}
void KDelta(const Window& w, std::span<const double>, Out* out) {
  ExtrapolatedRate(w, out, false, false);
}

// irate / idelta: the last two float samples.
void InstantValue(const Window& w, Out* out, bool is_rate) {
  size_t n = w.ft.size();
  if (n < 2) return;
  double last = w.fv[n - 1], prev = w.fv[n - 2];
  double v = (is_rate && last < prev) ? last : last - prev;
  int64_t dt = w.ft[n - 1] - w.ft[n - 2];
  if (dt == 0) return;
  if (is_rate) v /= static_cast<double>(dt) / 1000;
  SetFloat(out, v);
}
void KIrate(const Window& w, std::span<const double>, Out* out) { InstantValue(w, out, true); }
void KIdelta(const Window& w, std::span<const double>, Out* out) { InstantValue(w, out, false); }

// changes / resets walk floats and histograms in time order (histograms: later Prometheus; 2.42
// saw a histogram sample as the float 0). A float next to a histogram counts as a change and as
// a reset; two histograms change when not identical and reset when DetectReset says so.
template <typename OnPair>
bool WalkSamples(const Window& w, OnPair on_pair) {
  size_t nf = w.ft.size(), nh = w.ht.size();
  if (nf + nh == 0) return false;
  size_t i = 0, j = 0;
  int prev_kind = -1;  // 0 float, 1 histogram
  size_t prev = 0;
  while (i < nf || j < nh) {
    int kind;
    size_t cur;
    if (j >= nh || (i < nf && w.ft[i] < w.ht[j])) {
      kind = 0;
      cur = i++;
    } else {
      kind = 1;
      cur = j++;
    }
    if (prev_kind >= 0) on_pair(prev_kind, prev, kind, cur);
    prev_kind = kind;
    prev = cur;
  }
  return true;
}

bool SameHistogram(const FloatHistogram& a, const FloatHistogram& b) {
  auto bits = [](double d) {
    uint64_t u;
    std::memcpy(&u, &d, sizeof u);
    return u;
  };
  if (a.schema != b.schema || a.zero_threshold != b.zero_threshold ||
      a.zero_count != b.zero_count || a.count != b.count || bits(a.sum) != bits(b.sum)) {
    return false;
  }
  auto same_side = [](const Side& x, const Side& y) {
    if (x.size() != y.size()) return false;
    for (size_t k = 0; k < x.size(); ++k) {
      if (x[k].idx != y[k].idx || x[k].count != y[k].count) return false;
    }
    return true;
  };
  return same_side(ToSide(a.positive_spans, a.positive_buckets),
                   ToSide(b.positive_spans, b.positive_buckets)) &&
         same_side(ToSide(a.negative_spans, a.negative_buckets),
                   ToSide(b.negative_spans, b.negative_buckets));
}

void KChanges(const Window& w, std::span<const double>, Out* out) {
  int changes = 0;
  bool any = WalkSamples(w, [&](int pk, size_t p, int ck, size_t c) {
    if (pk != ck) {
      ++changes;
    } else if (pk == 0) {
      double prev = w.fv[p], cur = w.fv[c];
      if (cur != prev && !(std::isnan(cur) && std::isnan(prev))) ++changes;
    } else if (!SameHistogram(w.hv[p], w.hv[c])) {
      ++changes;
    }
  });
  if (any) SetFloat(out, changes);
}

void KResets(const Window& w, std::span<const double>, Out* out) {
  int resets = 0;
  bool any = WalkSamples(w, [&](int pk, size_t p, int ck, size_t c) {
    if (pk != ck) {
      ++resets;
    } else if (pk == 0) {
      if (w.fv[c] < w.fv[p]) ++resets;
    } else if (DetectReset(w.hv[c], w.hv[p])) {
      ++resets;
    }
  });
  if (any) SetFloat(out, resets);
}

// Least squares over (seconds relative to intercept_ms, value), compensated sums as 2.42.
void LinearRegression(const Window& w, int64_t intercept_ms, double* slope, double* intercept) {
  double n = 0, sx = 0, cx = 0, sy = 0, cy = 0, sxy = 0, cxy = 0, sx2 = 0, cx2 = 0;
  double init_y = w.fv[0];
  bool const_y = true;
  for (size_t i = 0; i < w.fv.size(); ++i) {
    double y = w.fv[i];
    if (const_y && i > 0 && y != init_y) const_y = false;
    n += 1;
    double x = static_cast<double>(w.ft[i] - intercept_ms) / 1e3;
    NeumaierAdd(x, &sx, &cx);
    NeumaierAdd(y, &sy, &cy);
    NeumaierAdd(x * y, &sxy, &cxy);
    NeumaierAdd(x * x, &sx2, &cx2);
  }
  if (const_y) {
    if (std::isinf(init_y)) {
      *slope = *intercept = kNaN;
    } else {
      *slope = 0;
      *intercept = init_y;
    }
    return;
  }
  sx += cx;
  sy += cy;
  sxy += cxy;
  sx2 += cx2;
  double cov = sxy - sx * sy / n;
  double var = sx2 - sx * sx / n;
  *slope = cov / var;
  *intercept = sy / n - *slope * sx / n;
}

void KDeriv(const Window& w, std::span<const double>, Out* out) {
  if (w.ft.size() < 2) return;
  double slope, intercept;
  LinearRegression(w, w.ft[0], &slope, &intercept);
  SetFloat(out, slope);
}

void KPredictLinear(const Window& w, std::span<const double> args, Out* out) {
  if (w.ft.size() < 2 || args.empty()) return;
  double slope, intercept;
  LinearRegression(w, w.eval_ts, &slope, &intercept);
  SetFloat(out, slope * args[0] + intercept);
}

void KHoltWinters(const Window& w, std::span<const double> args, Out* out) {
  if (args.size() < 2) return;
  double sf = args[0], tf = args[1];
  // 2.42 refuses these with an error (HoltWintersArgsError); NaN passes its test.
  if (sf <= 0 || sf >= 1 || tf <= 0 || tf >= 1) return;
  size_t n = w.fv.size();
  if (n < 2) return;
  double s0 = 0, s1 = w.fv[0], b = w.fv[1] - w.fv[0];
  for (size_t i = 1; i < n; ++i) {
    double x = sf * w.fv[i];
    if (i > 1) b = tf * (s1 - s0) + (1 - tf) * b;  // the trend is the initial one at i == 1
    double y = (1 - sf) * (s1 + b);
    s0 = s1;
    s1 = x + y;
  }
  SetFloat(out, s1);
}

// ---------------------------------------------------------------------------------------------
// *_over_time

void KAvgOverTime(const Window& w, std::span<const double>, Out* out) {
  if (!w.ht.empty()) {
    if (!w.ft.empty()) return;
    // Later Prometheus (2.42 has no histogram avg_over_time): incremental mean of histograms.
    for (const FloatHistogram& h : w.hv) {
      if (!HistogramsCompatible(h, w.hv[0])) return;
    }
    FloatHistogram mean = w.hv[0];
    for (size_t i = 1; i < w.hv.size(); ++i) {
      double count = static_cast<double>(i + 1);
      FloatHistogram left = w.hv[i];
      HistogramScale(&left, 1 / count);
      FloatHistogram right = mean;
      HistogramScale(&right, 1 / count);
      HistogramSub(&left, right);
      HistogramAdd(&mean, left);
    }
    HistogramCompact(&mean);
    out->kind = Out::kHistogram;
    out->h = std::move(mean);
    return;
  }
  if (w.fv.empty()) return;
  double mean = 0, c = 0, count = 0;
  for (double v : w.fv) {
    count++;
    if (std::isinf(mean)) {
      if (std::isinf(v) && (mean > 0) == (v > 0)) continue;   // same infinity: mean stays
      if (!std::isinf(v) && !std::isnan(v)) continue;         // finite values cannot move it
    }
    NeumaierAdd(v / count - mean / count, &mean, &c);
  }
  SetFloat(out, std::isinf(mean) ? mean : mean + c);
}

void KSumOverTime(const Window& w, std::span<const double>, Out* out) {
  if (!w.ht.empty()) {
    if (!w.ft.empty()) return;
    // Later Prometheus (2.42 has no histogram sum_over_time).
    for (const FloatHistogram& h : w.hv) {
      if (!HistogramsCompatible(h, w.hv[0])) return;
    }
    FloatHistogram sum = w.hv[0];
    for (size_t i = 1; i < w.hv.size(); ++i) HistogramAdd(&sum, w.hv[i]);
    HistogramCompact(&sum);
    out->kind = Out::kHistogram;
    out->h = std::move(sum);
    return;
  }
  if (w.fv.empty()) return;
  KahanSum s;
  for (double v : w.fv) s.Add(v);
  SetFloat(out, s.Value());
}

void KMinOverTime(const Window& w, std::span<const double>, Out* out) {
  if (w.fv.empty()) return;
  double m = w.fv[0];
  for (double v : w.fv) {
    if (v < m || std::isnan(m)) m = v;
  }
  SetFloat(out, m);
}

void KMaxOverTime(const Window& w, std::span<const double>, Out* out) {
  if (w.fv.empty()) return;
  double m = w.fv[0];
  for (double v : w.fv) {
    if (v > m || std::isnan(m)) m = v;
  }
  SetFloat(out, m);
}

void KCountOverTime(const Window& w, std::span<const double>, Out* out) {
  size_t n = w.ft.size() + w.ht.size();
  if (n == 0) return;
  SetFloat(out, static_cast<double>(n));
}

void KPresentOverTime(const Window& w, std::span<const double>, Out* out) {
  if (w.ft.empty() && w.ht.empty()) return;
  SetFloat(out, 1);
}

void KLastOverTime(const Window& w, std::span<const double>, Out* out) {
  bool f = !w.ft.empty(), h = !w.ht.empty();
  if (!f && !h) return;
  if (h && (!f || w.ht.back() > w.ft.back())) {
    out->kind = Out::kHistogram;
    out->h = w.hv.back();
  } else {
    SetFloat(out, w.fv.back());
  }
}

// 2.42's stddev/stdvar_over_time: Welford's update with compensated mean and M2, from zero.
double OverTimeVariance(std::span<const double> values) {
  double count = 0, mean = 0, cmean = 0, aux = 0, caux = 0;
  for (double v : values) {
    count++;
    double delta = v - (mean + cmean);
    NeumaierAdd(delta / count, &mean, &cmean);
    NeumaierAdd(delta * (v - (mean + cmean)), &aux, &caux);
  }
  return (aux + caux) / count;
}

void KStdvarOverTime(const Window& w, std::span<const double>, Out* out) {
  if (w.fv.empty()) return;
  SetFloat(out, OverTimeVariance(w.fv));
}
void KStddevOverTime(const Window& w, std::span<const double>, Out* out) {
  if (w.fv.empty()) return;
  SetFloat(out, std::sqrt(OverTimeVariance(w.fv)));
}

void KQuantileOverTime(const Window& w, std::span<const double> args, Out* out) {
  if (w.fv.empty() || args.empty()) return;
  std::vector<double> v(w.fv.begin(), w.fv.end());
  SetFloat(out, Quantile(args[0], v));
}

void KMadOverTime(const Window& w, std::span<const double>, Out* out) {
  if (w.fv.empty()) return;
  std::vector<double> v(w.fv.begin(), w.fv.end());
  double median = Quantile(0.5, v);
  for (double& x : v) x = std::fabs(x - median);
  SetFloat(out, Quantile(0.5, v));
}

// ---------------------------------------------------------------------------------------------
// math

double Sgn(double v) {
  if (v < 0) return -1;
  if (v > 0) return 1;
  return v;  // ±0 and NaN unchanged
}
double Deg(double v) { return v * 180 / M_PI; }
double Rad(double v) { return v * M_PI / 180; }
double Abs(double v) { return std::fabs(v); }
double Ceil(double v) { return std::ceil(v); }
double Floor(double v) { return std::floor(v); }
double Exp(double v) { return std::exp(v); }
double Sqrt(double v) { return std::sqrt(v); }
double Ln(double v) { return std::log(v); }
double Log2(double v) { return std::log2(v); }
double Log10(double v) { return std::log10(v); }
double Acos(double v) { return std::acos(v); }
double Acosh(double v) { return std::acosh(v); }
double Asin(double v) { return std::asin(v); }
double Asinh(double v) { return std::asinh(v); }
double Atan(double v) { return std::atan(v); }
double Atanh(double v) { return std::atanh(v); }
double Cos(double v) { return std::cos(v); }
double Cosh(double v) { return std::cosh(v); }
double Sin(double v) { return std::sin(v); }
double Sinh(double v) { return std::sinh(v); }
double Tan(double v) { return std::tan(v); }
double Tanh(double v) { return std::tanh(v); }

// ---------------------------------------------------------------------------------------------
// dates

// Proleptic Gregorian civil date of a day count since 1970-01-01 (days may be huge).
void CivilFromDays(int64_t z, int64_t* y, int* m, int* d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;                                        // [0, 146096]
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  int64_t yy = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);  // [0, 365]
  int64_t mp = (5 * doy + 2) / 153;                       // [0, 11]
  *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = yy + (*m <= 2);
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

int DayOfYear(int64_t y, int m, int d) {
  static constexpr int kBefore[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
  return kBefore[m - 1] + d + (m > 2 && IsLeap(y) ? 1 : 0);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// public: tables

RangeKernel FindRangeKernel(std::string_view name) {
  struct Entry {
    std::string_view name;
    RangeKernel fn;
  };
  static constexpr Entry kTable[] = {
      {"rate", KRate},
      {"increase", KIncrease},
      {"delta", KDelta},
      {"irate", KIrate},
      {"idelta", KIdelta},
      {"changes", KChanges},
      {"resets", KResets},
      {"deriv", KDeriv},
      {"predict_linear", KPredictLinear},
      {"holt_winters", KHoltWinters},
      {"double_exponential_smoothing", KHoltWinters},
      {"avg_over_time", KAvgOverTime},
      {"min_over_time", KMinOverTime},
      {"max_over_time", KMaxOverTime},
      {"sum_over_time", KSumOverTime},
      {"count_over_time", KCountOverTime},
      {"stddev_over_time", KStddevOverTime},
      {"stdvar_over_time", KStdvarOverTime},
      {"last_over_time", KLastOverTime},
      {"present_over_time", KPresentOverTime},
      {"quantile_over_time", KQuantileOverTime},
      {"mad_over_time", KMadOverTime},
  };
  for (const Entry& e : kTable) {
    if (e.name == name) return e.fn;
  }
  return nullptr;
}

MathFn FindMathFunction(std::string_view name) {
  struct Entry {
    std::string_view name;
    MathFn fn;
  };
  static constexpr Entry kTable[] = {
      {"abs", Abs},     {"ceil", Ceil},   {"floor", Floor}, {"exp", Exp},     {"sqrt", Sqrt},
      {"ln", Ln},       {"log2", Log2},   {"log10", Log10}, {"sgn", Sgn},     {"acos", Acos},
      {"acosh", Acosh}, {"asin", Asin},   {"asinh", Asinh}, {"atan", Atan},   {"atanh", Atanh},
      {"cos", Cos},     {"cosh", Cosh},   {"sin", Sin},     {"sinh", Sinh},   {"tan", Tan},
      {"tanh", Tanh},   {"deg", Deg},     {"rad", Rad},
  };
  for (const Entry& e : kTable) {
    if (e.name == name) return e.fn;
  }
  return nullptr;
}

absl::Status HoltWintersArgsError(double sf, double tf) {
  auto fmt = [](double v) {
    // Go's %f: six decimals, "+Inf" / "-Inf" for infinities.
    if (std::isinf(v)) return std::string(v > 0 ? "+Inf" : "-Inf");
    char buf[512];
    std::snprintf(buf, sizeof buf, "%f", v);
    return std::string(buf);
  };
  if (sf <= 0 || sf >= 1) {
    return absl::InvalidArgumentError("invalid smoothing factor. Expected: 0 < sf < 1, got: " +
                                      fmt(sf));
  }
  if (tf <= 0 || tf >= 1) {
    return absl::InvalidArgumentError("invalid trend factor. Expected: 0 < tf < 1, got: " +
                                      fmt(tf));
  }
  return absl::OkStatus();
}

double Round(double v, double to_nearest) {
  double inverse = 1.0 / to_nearest;  // Prometheus multiplies by the inverse
  return std::floor(v * inverse + 0.5) / inverse;
}

bool DateFunction(std::string_view name, double unix_seconds, double* out) {
  enum F { kDayOfMonth, kDayOfWeek, kDayOfYear, kDaysInMonth, kHour, kMinute, kMonth, kYear };
  F f;
  if (name == "day_of_month") f = kDayOfMonth;
  else if (name == "day_of_week") f = kDayOfWeek;
  else if (name == "day_of_year") f = kDayOfYear;
  else if (name == "days_in_month") f = kDaysInMonth;
  else if (name == "hour") f = kHour;
  else if (name == "minute") f = kMinute;
  else if (name == "month") f = kMonth;
  else if (name == "year") f = kYear;
  else return false;
  // 2.42 truncates the value to int64 as Go does on amd64: NaN, ±Inf and values outside the
  // int64 range become the minimum int64 (as -2^63 itself is), whose date Go's time package reports as
  // 292277026596-12-04 15:30:xx UTC (a Sunday, day 339). Those answers are Prometheus 2.42's
  // (queried: year(vector(NaN)) and the others).
  if (!(unix_seconds > -9223372036854775808.0 && unix_seconds < 9223372036854775808.0)) {
    static constexpr double kAnswers[] = {4, 0, 339, 31, 15, 30, 12, 292277026596.0};
    *out = kAnswers[f];
    return true;
  }
  int64_t secs = static_cast<int64_t>(unix_seconds);  // truncation toward zero, as Go
  int64_t days = secs / 86400, rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    days -= 1;
  }
  int64_t y;
  int m, d;
  CivilFromDays(days, &y, &m, &d);
  switch (f) {
    case kDayOfMonth: *out = d; break;
    case kDayOfWeek: {
      int64_t wd = (days + 4) % 7;  // 1970-01-01 was a Thursday
      *out = static_cast<double>(wd < 0 ? wd + 7 : wd);
      break;
    }
    case kDayOfYear: *out = DayOfYear(y, m, d); break;
    case kDaysInMonth: *out = DaysInMonth(y, m); break;
    case kHour: *out = static_cast<double>(rem / 3600); break;
    case kMinute: *out = static_cast<double>(rem % 3600 / 60); break;
    case kMonth: *out = m; break;
    case kYear: *out = static_cast<double>(y); break;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// aggregation helpers

double Quantile(double q, std::vector<double>& values) {
  if (values.empty()) return kNaN;
  if (std::isnan(q)) return kNaN;
  if (q < 0) return -kInf;
  if (q > 1) return kInf;
  // Prometheus orders NaN before every number.
  std::sort(values.begin(), values.end(), [](double a, double b) {
    if (std::isnan(a)) return !std::isnan(b);
    if (std::isnan(b)) return false;
    return a < b;
  });
  double n = static_cast<double>(values.size());
  double rank = q * (n - 1);
  double lower = std::max(0.0, std::floor(rank));
  double upper = std::min(n - 1, lower + 1);
  double weight = rank - std::floor(rank);
  return values[static_cast<size_t>(lower)] * (1 - weight) +
         values[static_cast<size_t>(upper)] * weight;
}

void KahanSum::Add(double v) { NeumaierAdd(v, &sum, &c); }

double KahanSum::Value() const { return std::isinf(sum) ? sum : sum + c; }

void Variance::Add(double v) {
  // 2.42's stddev/stdvar aggregation: the group starts at the first value (mean = v, M2 = 0),
  // then plain Welford updates.
  if (count == 0) {
    count = 1;
    mean = v;
    m2 = 0;
    return;
  }
  count++;
  double delta = v - mean;
  mean += delta / count;
  m2 += delta * (v - mean);
}

double Variance::Stdvar() const { return count == 0 ? kNaN : m2 / count; }
double Variance::Stddev() const { return std::sqrt(Stdvar()); }

void Mean::Add(double v) {
  // 2.42's avg aggregation: starts at the first value, then mean += v/n - mean/n, except that an
  // infinite mean is kept when the new value is finite or the same infinity.
  if (count == 0) {
    count = 1;
    mean = v;
    return;
  }
  count++;
  if (std::isinf(mean)) {
    if (std::isinf(v) && (mean > 0) == (v > 0)) return;
    if (!std::isinf(v) && !std::isnan(v)) return;
  }
  mean += v / count - mean / count;
}

double Mean::Value() const { return count == 0 ? kNaN : mean; }

double BucketQuantile(double q, std::vector<Bucket>& buckets) {
  if (std::isnan(q)) return kNaN;
  if (q < 0) return -kInf;
  if (q > 1) return kInf;
  if (buckets.empty()) return kNaN;
  // By upper bound; a NaN bound (which Go's sort leaves anywhere) goes first, so that the order
  // is well defined and +Inf stays last.
  std::sort(buckets.begin(), buckets.end(), [](const Bucket& a, const Bucket& b) {
    return a.upper < b.upper || (std::isnan(a.upper) && !std::isnan(b.upper));
  });
  if (!(std::isinf(buckets.back().upper) && buckets.back().upper > 0)) return kNaN;
  // Buckets with the same upper bound are one bucket (counts added).
  size_t out = 0;
  for (size_t i = 0; i < buckets.size(); ++i) {
    if (out > 0 && buckets[out - 1].upper == buckets[i].upper) {
      buckets[out - 1].count += buckets[i].count;
    } else {
      buckets[out++] = buckets[i];
    }
  }
  buckets.resize(out);
  // Cumulative counts must not go down: a lower count is raised to the running maximum (NaN
  // counts stay as they are).
  double max = -kInf;
  for (Bucket& b : buckets) {
    if (b.count > max) {
      max = b.count;
    } else if (b.count < max) {
      b.count = max;
    }
  }
  if (buckets.size() < 2) return kNaN;
  double observations = buckets.back().count;
  if (observations == 0) return kNaN;
  double rank = q * observations;
  // The first bucket (the +Inf one excluded) whose cumulative count reaches the rank.
  // A binary search as Go's sort.Search over all but the +Inf bucket (with NaN counts the
  // predicate is not monotonic, so a linear scan could answer differently).
  size_t lo = 0, hi = buckets.size() - 1;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (!(buckets[mid].count >= rank)) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  size_t b = lo;
  if (b == buckets.size() - 1) return buckets[buckets.size() - 2].upper;
  if (b == 0 && buckets[0].upper <= 0) return buckets[0].upper;
  double start = 0, end = buckets[b].upper, count = buckets[b].count;
  if (b > 0) {
    start = buckets[b - 1].upper;
    count -= buckets[b - 1].count;
    rank -= buckets[b - 1].count;
  }
  return start + (end - start) * (rank / count);
}

}  // namespace sprout::metrics::promql::kernels

namespace sprout::metrics::promql::kernels {

// ---------------------------------------------------------------------------------------------
// native histograms

bool HistogramsCompatible(const FloatHistogram& a, const FloatHistogram& b) {
  return a.UsesCustomBuckets() == b.UsesCustomBuckets();
}

void HistogramAdd(FloatHistogram* a, const FloatHistogram& b) { AddSigned(a, b, 1); }
void HistogramSub(FloatHistogram* a, const FloatHistogram& b) { AddSigned(a, b, -1); }

void HistogramScale(FloatHistogram* a, double factor) {
  a->zero_count *= factor;
  a->count *= factor;
  a->sum *= factor;
  for (double& c : a->positive_buckets) c *= factor;
  for (double& c : a->negative_buckets) c *= factor;
}

void HistogramCompact(FloatHistogram* h) {
  Side pos = ToSide(h->positive_spans, h->positive_buckets);
  Side neg = ToSide(h->negative_spans, h->negative_buckets);
  FromSide(pos, true, &h->positive_spans, &h->positive_buckets);
  FromSide(neg, true, &h->negative_spans, &h->negative_buckets);
}

double HistogramQuantile(double q, const FloatHistogram& h) {
  if (q < 0) return -kInf;
  if (q > 1) return kInf;
  if (h.count == 0 || std::isnan(q)) return kNaN;
  std::vector<BucketRange> all = AllBuckets(h);
  if (all.empty()) return kNaN;
  double rank = q * h.count, count = 0;
  BucketRange b{};
  for (const BucketRange& x : all) {
    if (h.UsesCustomBuckets() && x.count == 0) continue;  // Prometheus 3 skips empty buckets
    b = x;
    count += x.count;
    if (count >= rank) break;
  }
  if (h.UsesCustomBuckets()) {
    // Prometheus 3: in the first bucket (from -Inf) an upper bound <= 0 is the answer, else the
    // bucket starts at 0; in the +Inf bucket the answer is its lower bound, the last boundary.
    if (b.lower == -kInf) {
      if (b.upper <= 0) return b.upper;
      b.lower = 0;
    } else if (b.upper == kInf) {
      return b.lower;
    }
  } else if (b.lower < 0 && b.upper > 0) {  // the zero bucket
    if (h.negative_buckets.empty() && !h.positive_buckets.empty()) {
      b.lower = 0;
    } else if (h.positive_buckets.empty() && !h.negative_buckets.empty()) {
      b.upper = 0;
    }
  }
  if (count > h.count) count = h.count;
  if (count < rank) return b.upper;  // NaN observations: the rank lies beyond every bucket
  rank -= count - b.count;
  return b.lower + (b.upper - b.lower) * (rank / b.count);
}

double HistogramFraction(double lower, double upper, const FloatHistogram& h) {
  if (h.count == 0 || std::isnan(lower) || std::isnan(upper)) return kNaN;
  if (lower >= upper) return 0;
  double rank = 0, lower_rank = 0, upper_rank = 0;
  bool lower_set = false, upper_set = false;
  for (BucketRange b : AllBuckets(h)) {
    if (h.UsesCustomBuckets()) {
      // As histogram_quantile reads the first bucket: from 0 when its upper bound is positive,
      // else all of it at its upper bound. In the +Inf bucket a bound adds nothing.
      if (b.lower == -kInf) b.lower = b.upper <= 0 ? b.upper : 0;
    } else if (b.lower < 0 && b.upper > 0) {
      if (h.negative_buckets.empty() && !h.positive_buckets.empty()) {
        b.lower = 0;
      } else if (h.positive_buckets.empty() && !h.negative_buckets.empty()) {
        b.upper = 0;
      }
    }
    if (!lower_set && b.lower >= lower) {
      lower_rank = rank;
      lower_set = true;
    }
    if (!upper_set && b.lower >= upper) {
      upper_rank = rank;
      upper_set = true;
    }
    if (lower_set && upper_set) break;
    // A bound inside the bucket: linear interpolation within it.
    if (!lower_set && b.lower < lower && b.upper > lower) {
      lower_rank = rank + b.count * (lower - b.lower) / (b.upper - b.lower);
      lower_set = true;
    }
    if (!upper_set && b.lower < upper && b.upper > upper) {
      upper_rank = rank + b.count * (upper - b.lower) / (b.upper - b.lower);
      upper_set = true;
    }
    if (lower_set && upper_set) break;
    rank += b.count;
  }
  if (!lower_set || lower_rank > h.count) lower_rank = h.count;
  if (!upper_set || upper_rank > h.count) upper_rank = h.count;
  return (upper_rank - lower_rank) / h.count;
}

double HistogramStdVar(const FloatHistogram& h) {
  // Every observation is taken to sit at its bucket's geometric mean (0 in the zero bucket);
  // the variance of those around the histogram's mean (sum / count).
  double mean = h.sum / h.count;
  double var = 0, c = 0;
  for (const BucketRange& b : AllBuckets(h)) {
    if (b.count == 0) continue;
    double v;
    if (h.UsesCustomBuckets()) {
      v = (b.lower + b.upper) / 2;  // Prometheus 3: the midpoint (±Inf in the outer buckets)
      // A populated outer bucket: an infinite deviation (Prometheus's compensated sum drops its
      // compensation at an infinity; ours would turn it into NaN).
      if (std::isinf(v) && std::isfinite(mean)) return kInf;
    } else if (b.lower <= 0 && 0 <= b.upper) {
      v = 0;
    } else {
      v = std::sqrt(b.upper * b.lower);
      if (b.upper < 0) v = -v;
    }
    double d = v - mean;
    NeumaierAdd(b.count * d * d, &var, &c);
  }
  return (var + c) / h.count;
}

double HistogramStdDev(const FloatHistogram& h) { return std::sqrt(HistogramStdVar(h)); }

}  // namespace sprout::metrics::promql::kernels
