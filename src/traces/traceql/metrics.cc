#include "traces/traceql/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/go_duration.h"
#include "base/hex.h"
#include "traces/traceql/parser.h"
#include "traces/traceql/printer.h"

namespace sprout::traces::traceql {

namespace tpb = opentelemetry::proto::trace::v1;
namespace cpb = opentelemetry::proto::common::v1;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Tempo's maxExemplarsPerBucket: at most two exemplars per series and step.
constexpr int kMaxExemplarsPerStep = 2;

// A label value as Tempo's Static.AsAnyValue encodes it: statuses, kinds and durations become
// strings ("error", "server", "1.5s"); strings, ints, floats, booleans and nil stay typed.
Static LabelValue(Static v) {
  switch (v.type) {
    case Type::kStatus:
      return MakeString(std::string(StatusText(static_cast<Status>(v.i))));
    case Type::kKind:
      return MakeString(std::string(KindText(static_cast<Kind>(v.i))));
    case Type::kDuration:
      return MakeString(FormatGoDuration(absl::Nanoseconds(v.i)));
    case Type::kAttribute:
      return Static{};
    default:
      return v;
  }
}

// A key identifying a (label name, typed value) pair.
void AppendKey(const MetricsLabel& l, std::string* out) {
  *out += l.key;
  out->push_back('\0');
  out->push_back(static_cast<char>(l.value.type));
  switch (l.value.type) {
    case Type::kString:
      *out += l.value.s;
      break;
    case Type::kFloat: {
      char buf[sizeof(double)];
      std::memcpy(buf, &l.value.f, sizeof(buf));
      out->append(buf, sizeof(buf));
      break;
    }
    case Type::kBool:
      out->push_back(l.value.b ? '1' : '0');
      break;
    case Type::kNil:
      break;
    default:
      *out += std::to_string(l.value.i);
  }
  out->push_back('\x01');
}

std::string KeyOf(const std::vector<MetricsLabel>& labels) {
  std::string k;
  for (const MetricsLabel& l : labels) AppendKey(l, &k);
  return k;
}

// The label name Tempo gives an attribute (its text: `resource.service.name`, `.foo`, `name`).
std::string AttributeText(const Attribute& a) {
  Node n;
  n.kind = NodeKind::kAttribute;
  n.attr = a;
  return Print(n);
}

// Tempo's Log2Bucketize: the next power of two at or above v (v >= 2).
double Pow2Ceil(uint64_t v) {
  int bits = 0;
  uint64_t x = v - 1;
  while (x != 0) {
    x >>= 1;
    ++bits;
  }
  return std::ldexp(1.0, bits);
}

struct Bucket {
  double max = 0;
  uint64_t count = 0;
};

// Tempo's Log2Quantile: the bucket holding the ceil(p * total)-th value, interpolated
// exponentially between the previous bucket's bound and this one's; 0 without values.
double Log2Quantile(double p, const std::vector<Bucket>& buckets) {
  if (std::isnan(p) || p < 0 || p > 1 || buckets.empty()) return 0;
  uint64_t total_count = 0;
  for (const Bucket& b : buckets) total_count += b.count;
  if (total_count == 0) return 0;
  uint64_t max_samples = static_cast<uint64_t>(std::ceil(p * static_cast<double>(total_count)));
  if (max_samples == 0) max_samples = 1;
  uint64_t total = 0;
  size_t bucket = 0;
  for (size_t i = 0; i < buckets.size(); ++i) {
    bucket = i;
    if (total + buckets[i].count > max_samples) break;
    total += buckets[i].count;
    if (total == max_samples) return buckets[i].max;
  }
  const double interp =
      static_cast<double>(max_samples - total) / static_cast<double>(buckets[bucket].count);
  const double hi = std::log2(buckets[bucket].max);
  const double lo = bucket > 0 ? std::log2(buckets[bucket - 1].max) : hi - 1;
  return std::exp2(lo + (hi - lo) * interp);
}

std::vector<Bucket> SortedBuckets(const std::map<double, uint64_t>& m) {
  std::vector<Bucket> out;
  out.reserve(m.size());
  for (const auto& [max, count] : m) out.push_back(Bucket{max, count});
  return out;
}

struct Exemplar {
  std::string trace_id;  // raw bytes
  std::string span_id;
  double value = kNaN;
  uint64_t start_ns = 0;
  int32_t step = 0;
};

// One series of one accumulator (for quantile_over_time: the by() group, buckets per step).
struct SeriesAcc {
  std::vector<MetricsLabel> labels;
  std::vector<double> a;  // count (rate, count, histogram), sum, min, max; avg: the sum
  std::vector<double> n;  // avg: the count
  std::vector<std::map<double, uint64_t>> buckets;  // quantile: bucket bound -> count, per step
  std::vector<Exemplar> exemplars;
};

// compare(): counts per attribute and value, for the baseline [0] and the selection [1].
struct ValueCounts {
  Static value;
  std::vector<double> counts;
};
struct CompareAcc {
  std::map<std::string, std::map<std::string, ValueCounts>> values[2];
  std::map<std::string, std::vector<double>> totals[2];
  std::set<std::string> overflow;  // attributes with more values than kMaxCompareValues
};

// Sprout's bound on the values compare() tracks per attribute and side (memory: a count per
// value and step); an attribute past it is reported as having too many values.
constexpr size_t kMaxCompareValues = 10000;

class MetricsProgramImpl;

class Accumulator : public MetricsAccumulator {
 public:
  explicit Accumulator(const MetricsProgramImpl* p) : p_(p) {}
  void Observe(const TraceView& trace) override;

  const MetricsProgramImpl* p_;
  absl::flat_hash_map<std::string, SeriesAcc> series_;
  CompareAcc compare_;
  absl::flat_hash_set<std::string> exemplar_traces_;
  bool max_series_reached_ = false;

 private:
  std::vector<Static> vals_;  // scratch: the span's by() values
  std::string key_;           // scratch: the span's series key
  // Aggregates span i into its series; the series (nullptr when the span is dropped) and the
  // exemplar value. Series are keyed by the by() values' positions and values (and the bucket).
  SeriesAcc* ObserveSpan(const TraceView& t, uint32_t i, int32_t step, double* exemplar_value);
  void ObserveCompare(const TraceView& t, uint32_t i, int32_t step, bool selected);
  // The series of key_ (created with `labels` when new).
  SeriesAcc* SeriesFor(std::vector<MetricsLabel> labels);
};

class MetricsProgramImpl : public MetricsProgram {
 public:
  const Plan& plan() const override { return plan_; }
  const MetricsRange& range() const override { return range_; }
  std::unique_ptr<MetricsAccumulator> NewAccumulator() const override {
    return std::make_unique<Accumulator>(this);
  }
  MetricsResult Finish(std::vector<std::unique_ptr<MetricsAccumulator>> parts,
                       const MetricsStats& stats) const override;

  std::unique_ptr<Program> program_;
  std::unique_ptr<Program> compare_filter_;  // compare()'s filter as its own query
  MetricsStage stage_;                       // compare_filter moved to compare_filter_
  std::unique_ptr<SecondStage> second_;
  std::vector<std::string> by_names_;
  Plan plan_;
  MetricsRange range_;
  int32_t steps_ = 1;

  bool Bucketed() const {
    return stage_.fn == MetricsFn::kHistogramOverTime || stage_.fn == MetricsFn::kQuantileOverTime;
  }

 private:
  void MergeInto(SeriesAcc* dst, SeriesAcc&& src) const;
};

// ---- observation ----

int64_t SpanDurationNs(const tpb::Span& s) {
  return s.end_time_unix_nano() > s.start_time_unix_nano()
             ? static_cast<int64_t>(s.end_time_unix_nano() - s.start_time_unix_nano())
             : 0;
}

bool IsDurationIntrinsic(const Attribute& a) {
  return a.scope == Scope::kIntrinsic && a.intrinsic == Intrinsic::kDuration;
}

// The numeric value of the aggregated attribute on a span, durations in seconds (Tempo's
// FloatizeAttribute; `duration` in seconds as Tempo's OverTimeAggregator); false when missing or
// not a number.
bool NumericValue(const TraceView& t, uint32_t i, const Attribute& a, double* out) {
  if (IsDurationIntrinsic(a)) {
    *out = static_cast<double>(SpanDurationNs(*t.spans()[i].span)) / 1e9;
    return true;
  }
  const Static v = Program::AttributeValue(t, i, a);
  switch (v.type) {
    case Type::kInt:
      *out = static_cast<double>(v.i);
      return true;
    case Type::kFloat:
      if (std::isnan(v.f)) return false;
      *out = v.f;
      return true;
    case Type::kDuration:
      *out = static_cast<double>(v.i) / 1e9;
      return true;
    default:
      return false;
  }
}

// Tempo's bucketize functions: durations (>= 2 ns) to the next power of two of nanoseconds,
// in seconds; ints (>= 2) to the next power of two; anything else (floats included) dropped.
bool BucketOf(const TraceView& t, uint32_t i, const Attribute& a, double* bucket) {
  if (IsDurationIntrinsic(a)) {
    const int64_t d = SpanDurationNs(*t.spans()[i].span);
    if (d < 2) return false;
    *bucket = Pow2Ceil(static_cast<uint64_t>(d)) / 1e9;
    return true;
  }
  const Static v = Program::AttributeValue(t, i, a);
  if ((v.type != Type::kInt && v.type != Type::kDuration) || v.i < 2) return false;
  *bucket = Pow2Ceil(static_cast<uint64_t>(v.i));
  if (v.type == Type::kDuration) *bucket /= 1e9;
  return true;
}

SeriesAcc* Accumulator::SeriesFor(std::vector<MetricsLabel> labels) {
  if (p_->range_.max_series > 0 && series_.size() >= p_->range_.max_series) {
    max_series_reached_ = true;  // Tempo stops adding series past the limit
    return nullptr;
  }
  auto [it, fresh] = series_.try_emplace(key_);
  SeriesAcc& s = it->second;
  if (fresh) {
    s.labels = std::move(labels);
    const size_t n = static_cast<size_t>(p_->steps_);
    switch (p_->stage_.fn) {
      case MetricsFn::kMinOverTime:
      case MetricsFn::kMaxOverTime:
      case MetricsFn::kSumOverTime:
        s.a.assign(n, kNaN);
        break;
      case MetricsFn::kAvgOverTime:
        s.a.assign(n, 0);
        s.n.assign(n, 0);
        break;
      case MetricsFn::kQuantileOverTime:
        s.buckets.resize(n);
        break;
      default:
        s.a.assign(n, 0);
        break;
    }
  }
  return &s;
}

SeriesAcc* Accumulator::ObserveSpan(const TraceView& t, uint32_t i, int32_t step,
                                    double* exemplar_value) {
  const MetricsStage& m = p_->stage_;
  *exemplar_value = kNaN;
  double value = 0;
  double bucket = 0;
  switch (m.fn) {
    case MetricsFn::kMinOverTime:
    case MetricsFn::kMaxOverTime:
    case MetricsFn::kSumOverTime:
    case MetricsFn::kAvgOverTime:
      if (!NumericValue(t, i, m.attr, &value)) return nullptr;
      *exemplar_value = value;
      break;
    case MetricsFn::kHistogramOverTime:
      if (!BucketOf(t, i, m.attr, &bucket)) return nullptr;
      break;
    case MetricsFn::kQuantileOverTime:
      if (!BucketOf(t, i, m.attr, &bucket)) return nullptr;
      if (NumericValue(t, i, m.attr, &value)) *exemplar_value = value;
      break;
    default:
      break;
  }
  // The series: its key from the by() values that are not nil (by position) and the bucket; the
  // labels are built only for a new series.
  vals_.resize(m.by.size());
  key_.clear();
  for (size_t k = 0; k < m.by.size(); ++k) {
    vals_[k] = LabelValue(Program::AttributeValue(t, i, m.by[k]));
    if (vals_[k].type == Type::kNil) continue;
    AppendKey(MetricsLabel{std::string(1, static_cast<char>(k)), vals_[k]}, &key_);
  }
  if (m.fn == MetricsFn::kHistogramOverTime) {
    AppendKey(MetricsLabel{"", MakeFloat(bucket)}, &key_);
  }
  SeriesAcc* s = nullptr;
  if (auto it = series_.find(key_); it != series_.end()) {
    s = &it->second;
  } else {
    // Labels (Tempo's labelsFor): the by() values that are not nil, in order; then the bucket;
    // all nil: the first by() label with nil; no by(): {__name__=<function>} (quantiles get
    // their `p` label at the end).
    std::vector<MetricsLabel> labels;
    for (size_t k = 0; k < m.by.size(); ++k) {
      if (vals_[k].type != Type::kNil) labels.push_back(MetricsLabel{p_->by_names_[k], vals_[k]});
    }
    if (m.fn == MetricsFn::kHistogramOverTime) {
      labels.push_back(MetricsLabel{"__bucket", MakeFloat(bucket)});
    } else if (labels.empty() && m.fn != MetricsFn::kQuantileOverTime) {
      if (!m.by.empty()) {
        labels.push_back(MetricsLabel{p_->by_names_[0], Static{}});
      } else {
        labels.push_back(MetricsLabel{"__name__", MakeString(std::string(MetricsFnText(m.fn)))});
      }
    }
    s = SeriesFor(std::move(labels));
    if (s == nullptr) return nullptr;
  }
  double& a = s->a.empty() ? value : s->a[step];
  switch (m.fn) {
    case MetricsFn::kMinOverTime:
      if (std::isnan(a) || value < a) a = value;
      break;
    case MetricsFn::kMaxOverTime:
      if (std::isnan(a) || value > a) a = value;
      break;
    case MetricsFn::kSumOverTime:
      a = std::isnan(a) ? value : a + value;
      break;
    case MetricsFn::kAvgOverTime:
      a += value;
      s->n[step] += 1;
      break;
    case MetricsFn::kQuantileOverTime:
      s->buckets[step][bucket] += 1;
      break;
    default:  // rate, count_over_time, histogram_over_time: a count
      a += 1;
      break;
  }
  return s;
}

void Accumulator::ObserveCompare(const TraceView& t, uint32_t i, int32_t step, bool selected) {
  CompareAcc& c = compare_;
  const SpanRef& r = t.spans()[i];
  const size_t n = static_cast<size_t>(p_->steps_);
  const auto add = [&](std::string name, Static value) {
    value = LabelValue(std::move(value));
    if (value.type == Type::kNil) return;
    std::string vkey;
    AppendKey(MetricsLabel{"", value}, &vkey);
    auto& per_value = c.values[selected][name];
    auto it = per_value.find(vkey);
    if (it == per_value.end()) {
      if (per_value.size() >= kMaxCompareValues) {
        c.overflow.insert(name);
      } else {
        it = per_value.try_emplace(vkey).first;
        it->second.value = std::move(value);
        it->second.counts.assign(n, 0);
      }
    }
    if (it != per_value.end()) it->second.counts[step] += 1;
    auto& totals = c.totals[selected][name];
    if (totals.empty()) totals.assign(n, 0);
    totals[step] += 1;
  };
  const auto scalar = [](const cpb::AnyValue& v) {
    Static s;
    switch (v.value_case()) {
      case cpb::AnyValue::kStringValue:
        return MakeString(v.string_value());
      case cpb::AnyValue::kIntValue:
        s.type = Type::kInt;
        s.i = v.int_value();
        return s;
      case cpb::AnyValue::kDoubleValue:
        return MakeFloat(v.double_value());
      case cpb::AnyValue::kBoolValue:
        s.type = Type::kBool;
        s.b = v.bool_value();
        return s;
      default:
        return s;
    }
  };
  // What Tempo's select-all returns of a span, durations and IDs left out: the span and
  // resource attributes, and the span's name, status and kind.
  for (const cpb::KeyValue& kv : r.resource->resource().attributes()) {
    add("resource." + kv.key(), scalar(kv.value()));
  }
  for (const cpb::KeyValue& kv : r.span->attributes()) {
    add("span." + kv.key(), scalar(kv.value()));
  }
  Attribute a;
  a.scope = Scope::kIntrinsic;
  for (const auto& [which, name] :
       {std::pair(Intrinsic::kName, "name"), std::pair(Intrinsic::kStatus, "status"),
        std::pair(Intrinsic::kKind, "kind")}) {
    a.intrinsic = which;
    a.name = name;
    add(name, Program::AttributeValue(t, i, a));
  }
}

void Accumulator::Observe(const TraceView& t) {
  if (t.spans().empty()) return;
  const MetricsProgramImpl& p = *p_;
  const std::vector<SpanSet> sets = p.program_->Evaluate(t);
  if (sets.empty()) return;
  std::vector<char> matched(t.spans().size(), 0);
  for (const SpanSet& s : sets) {
    for (uint32_t i : s.spans) matched[i] = 1;
  }
  std::vector<char> selected;
  if (p.compare_filter_ != nullptr) {
    selected.assign(t.spans().size(), 0);
    for (const SpanSet& s : p.compare_filter_->Evaluate(t)) {
      for (uint32_t i : s.spans) selected[i] = 1;
    }
  }
  const MetricsRange& range = p.range_;
  std::string trace_id(t.trace_id());
  // Tempo samples one exemplar per trace (one of its matching spans), for at most
  // max_exemplars traces; here the first span that lands in a series.
  bool want_exemplar = range.max_exemplars > 0 && p.stage_.fn != MetricsFn::kCompare &&
                       exemplar_traces_.size() < range.max_exemplars && !trace_id.empty() &&
                       !exemplar_traces_.contains(trace_id);
  for (uint32_t i = 0; i < matched.size(); ++i) {
    if (!matched[i]) continue;
    const tpb::Span& span = *t.spans()[i].span;
    const uint64_t st = span.start_time_unix_nano();
    if (st < range.start_ns || st >= range.end_ns) continue;
    const int32_t step =
        range.instant ? 0 : static_cast<int32_t>((st - range.start_ns) / range.step_ns);
    if (p.stage_.fn == MetricsFn::kCompare) {
      bool sel = selected[i] != 0;
      if (sel && (p.stage_.compare_start != 0 || p.stage_.compare_end != 0)) {
        sel = st >= static_cast<uint64_t>(p.stage_.compare_start) &&
              st < static_cast<uint64_t>(p.stage_.compare_end);
      }
      ObserveCompare(t, i, step, sel);
      continue;
    }
    double ev = kNaN;
    SeriesAcc* s = ObserveSpan(t, i, step, &ev);
    if (s == nullptr || !want_exemplar) continue;
    want_exemplar = false;
    exemplar_traces_.insert(trace_id);
    Exemplar e;
    e.trace_id = trace_id;
    e.span_id = span.span_id();
    e.value = ev;
    e.start_ns = st;
    e.step = step;
    s->exemplars.push_back(std::move(e));
  }
}

// ---- finishing ----

void MetricsProgramImpl::MergeInto(SeriesAcc* dst, SeriesAcc&& src) const {
  for (size_t i = 0; i < dst->a.size() && i < src.a.size(); ++i) {
    double& d = dst->a[i];
    const double v = src.a[i];
    switch (stage_.fn) {
      case MetricsFn::kMinOverTime:
        if (!std::isnan(v) && (std::isnan(d) || v < d)) d = v;
        break;
      case MetricsFn::kMaxOverTime:
        if (!std::isnan(v) && (std::isnan(d) || v > d)) d = v;
        break;
      case MetricsFn::kSumOverTime:
        if (!std::isnan(v)) d = std::isnan(d) ? v : d + v;
        break;
      default:
        d += v;
        break;
    }
  }
  for (size_t i = 0; i < dst->n.size() && i < src.n.size(); ++i) dst->n[i] += src.n[i];
  for (size_t i = 0; i < dst->buckets.size() && i < src.buckets.size(); ++i) {
    for (const auto& [b, c] : src.buckets[i]) dst->buckets[i][b] += c;
  }
  for (Exemplar& e : src.exemplars) dst->exemplars.push_back(std::move(e));
}

struct OutSeries {
  std::vector<MetricsLabel> labels;
  std::vector<double> values;  // NaN: no sample
  std::vector<Exemplar> exemplars;
  bool keep_empty = false;  // compare()'s __meta_error series carry no samples
  std::string key;
};

MetricsResult MetricsProgramImpl::Finish(std::vector<std::unique_ptr<MetricsAccumulator>> parts,
                                         const MetricsStats& stats) const {
  MetricsResult result;
  result.stats = stats;
  const size_t n = static_cast<size_t>(steps_);
  std::vector<OutSeries> out;

  if (stage_.fn == MetricsFn::kCompare) {
    CompareAcc all;
    for (auto& part : parts) {
      auto* acc = static_cast<Accumulator*>(part.get());
      for (int side = 0; side < 2; ++side) {
        for (auto& [name, per_value] : acc->compare_.values[side]) {
          auto& dst = all.values[side][name];
          for (auto& [vkey, vc] : per_value) {
            auto [it, fresh] = dst.try_emplace(vkey);
            if (fresh) {
              it->second = std::move(vc);
              continue;
            }
            for (size_t i = 0; i < n; ++i) it->second.counts[i] += vc.counts[i];
          }
        }
        all.overflow.insert(acc->compare_.overflow.begin(), acc->compare_.overflow.end());
        for (auto& [name, counts] : acc->compare_.totals[side]) {
          auto& dst = all.totals[side][name];
          if (dst.empty()) dst.assign(n, 0);
          for (size_t i = 0; i < n; ++i) dst[i] += counts[i];
        }
      }
    }
    static const char* const kTypes[2] = {"baseline", "selection"};
    static const char* const kTotalTypes[2] = {"baseline_total", "selection_total"};
    std::map<std::string, bool> erred;
    for (const std::string& name : all.overflow) erred[name] = true;
    for (int side = 0; side < 2; ++side) {
      for (auto& [name, per_value] : all.values[side]) {
        // Tempo's topN: the values with the largest sum over the range (ties: by value).
        std::vector<std::pair<double, const ValueCounts*>> ranked;
        for (const auto& [vkey, vc] : per_value) {
          double sum = 0;
          for (double c : vc.counts) sum += c;
          ranked.emplace_back(sum, &vc);
        }
        std::stable_sort(ranked.begin(), ranked.end(),
                         [](const auto& x, const auto& y) { return x.first > y.first; });
        if (ranked.size() > static_cast<size_t>(stage_.compare_top)) {
          ranked.resize(static_cast<size_t>(stage_.compare_top));
          erred[name] = true;
        }
        for (const auto& [sum, vc] : ranked) {
          OutSeries s;
          s.labels = {MetricsLabel{"__meta_type", MakeString(kTypes[side])},
                      MetricsLabel{name, vc->value}};
          s.values = vc->counts;
          out.push_back(std::move(s));
        }
      }
      for (auto& [name, counts] : all.totals[side]) {
        OutSeries s;
        s.labels = {MetricsLabel{"__meta_type", MakeString(kTotalTypes[side])},
                    MetricsLabel{name, Static{}}};
        s.values = counts;
        out.push_back(std::move(s));
      }
    }
    for (const auto& [name, unused] : erred) {
      OutSeries s;
      s.labels = {MetricsLabel{"__meta_error", MakeString("__too_many_values__")},
                  MetricsLabel{name, Static{}}};
      s.keep_empty = true;
      out.push_back(std::move(s));
    }
  } else {
    // Merge the parts' series.
    absl::flat_hash_map<std::string, SeriesAcc> merged;
    for (auto& part : parts) {
      auto* acc = static_cast<Accumulator*>(part.get());
      for (auto& [key, s] : acc->series_) {
        auto [it, fresh] = merged.try_emplace(key);
        if (fresh) {
          it->second = std::move(s);
        } else {
          MergeInto(&it->second, std::move(s));
        }
      }
    }
    // Exemplars: one per trace over all parts, at most max_exemplars traces.
    {
      std::vector<Exemplar*> all;
      for (auto& [key, s] : merged) {
        for (Exemplar& e : s.exemplars) all.push_back(&e);
      }
      std::sort(all.begin(), all.end(), [](const Exemplar* x, const Exemplar* y) {
        return std::tie(x->start_ns, x->trace_id, x->span_id) <
               std::tie(y->start_ns, y->trace_id, y->span_id);
      });
      absl::flat_hash_set<std::string> seen;
      for (Exemplar* e : all) {
        if (seen.size() >= range_.max_exemplars || !seen.insert(e->trace_id).second) {
          e->trace_id.clear();  // dropped
        }
      }
      for (auto& [key, s] : merged) {
        std::erase_if(s.exemplars, [](const Exemplar& e) { return e.trace_id.empty(); });
      }
    }
    const double step_seconds = static_cast<double>(range_.step_ns) / 1e9;
    if (stage_.fn == MetricsFn::kQuantileOverTime) {
      // The exemplars go to the quantile whose value over all series and steps is nearest
      // (Tempo's assignExemplarToQuantile).
      std::map<double, uint64_t> overall;
      for (const auto& [key, s] : merged) {
        for (const auto& step : s.buckets) {
          for (const auto& [b, c] : step) overall[b] += c;
        }
      }
      std::vector<double> overall_q;
      const std::vector<Bucket> overall_b = SortedBuckets(overall);
      for (double q : stage_.quantiles) overall_q.push_back(Log2Quantile(q, overall_b));
      for (auto& [key, s] : merged) {
        for (size_t qi = 0; qi < stage_.quantiles.size(); ++qi) {
          // A quantile listed twice is one series (Tempo keys its results by the labels).
          const auto first =
              std::find(stage_.quantiles.begin(), stage_.quantiles.end(), stage_.quantiles[qi]);
          if (static_cast<size_t>(first - stage_.quantiles.begin()) != qi) continue;
          OutSeries o;
          o.labels = s.labels;
          o.labels.push_back(MetricsLabel{"p", MakeFloat(stage_.quantiles[qi])});
          o.values.assign(n, 0);
          for (size_t i = 0; i < n; ++i) {
            o.values[i] = Log2Quantile(stage_.quantiles[qi], SortedBuckets(s.buckets[i]));
          }
          for (const Exemplar& e : s.exemplars) {
            size_t best = 0;
            double best_diff = std::numeric_limits<double>::infinity();
            for (size_t k = 0; k < overall_q.size(); ++k) {
              const double diff = std::fabs(e.value - overall_q[k]);
              if (diff < best_diff) {
                best_diff = diff;
                best = k;
              }
            }
            if (best == qi) o.exemplars.push_back(e);
          }
          out.push_back(std::move(o));
        }
      }
    } else {
      for (auto& [key, s] : merged) {
        OutSeries o;
        o.labels = std::move(s.labels);
        o.values.assign(n, kNaN);
        for (size_t i = 0; i < n; ++i) {
          switch (stage_.fn) {
            case MetricsFn::kRate:
              o.values[i] = s.a[i] / step_seconds;
              break;
            case MetricsFn::kAvgOverTime:
              o.values[i] = s.n[i] > 0 ? s.a[i] / s.n[i] : kNaN;
              break;
            default:
              o.values[i] = s.a[i];
              break;
          }
        }
        o.exemplars = std::move(s.exemplars);
        out.push_back(std::move(o));
      }
    }
  }

  for (OutSeries& s : out) s.key = KeyOf(s.labels);
  std::sort(out.begin(), out.end(),
            [](const OutSeries& x, const OutSeries& y) { return x.key < y.key; });
  for (const auto& part : parts) {
    if (part != nullptr && static_cast<const Accumulator*>(part.get())->max_series_reached_) {
      result.max_series_reached = true;
    }
  }

  // Second stage (Tempo's processTopK / processBottomK): at each step the k series with the
  // largest (smallest) value; a series keeps only the steps where it was among them.
  if (second_ != nullptr) {
    const size_t k = static_cast<size_t>(second_->k);
    std::vector<std::vector<double>> kept(out.size(), std::vector<double>(n, kNaN));
    std::vector<char> chosen(out.size(), 0);
    std::vector<size_t> order;
    for (size_t i = 0; i < n; ++i) {
      order.clear();
      for (size_t s = 0; s < out.size(); ++s) {
        if (i < out[s].values.size() && !std::isnan(out[s].values[i])) order.push_back(s);
      }
      std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
        return second_->bottom ? out[x].values[i] < out[y].values[i]
                               : out[x].values[i] > out[y].values[i];
      });
      if (order.size() > k) order.resize(k);
      for (size_t s : order) {
        kept[s][i] = out[s].values[i];
        chosen[s] = 1;
      }
    }
    std::vector<OutSeries> top;
    for (size_t s = 0; s < out.size(); ++s) {
      if (!chosen[s]) continue;
      out[s].values = std::move(kept[s]);
      top.push_back(std::move(out[s]));
    }
    out = std::move(top);
  }

  for (OutSeries& s : out) {
    MetricsSeries series;
    series.labels = std::move(s.labels);
    for (size_t i = 0; i < s.values.size(); ++i) {
      if (std::isnan(s.values[i])) continue;
      const uint64_t ts = range_.instant ? range_.end_ns : range_.start_ns + i * range_.step_ns;
      series.samples.push_back(MetricsSample{static_cast<int64_t>(ts / 1000000), s.values[i]});
    }
    if (series.samples.empty() && !s.keep_empty) continue;
    // Exemplars of steps that have a value, at most kMaxExemplarsPerStep per step.
    std::sort(s.exemplars.begin(), s.exemplars.end(), [](const Exemplar& x, const Exemplar& y) {
      return std::tie(x.start_ns, x.trace_id) < std::tie(y.start_ns, y.trace_id);
    });
    std::vector<int> per_step(s.values.size(), 0);
    for (const Exemplar& e : s.exemplars) {
      const size_t step = static_cast<size_t>(e.step);
      if (step >= s.values.size() || std::isnan(s.values[step])) continue;
      if (per_step[step]++ >= kMaxExemplarsPerStep) continue;
      MetricsExemplar me;
      me.labels = {MetricsLabel{"trace:id", MakeString(HexEncode(e.trace_id))},
                   MetricsLabel{"span:id", MakeString(HexEncode(e.span_id))}};
      me.value = e.value;
      me.timestamp_ms = static_cast<int64_t>(e.start_ns / 1000000);
      series.exemplars.push_back(std::move(me));
    }
    result.series.push_back(std::move(series));
  }
  if (range_.max_series > 0 && result.series.size() > range_.max_series) {
    result.series.resize(range_.max_series);
    result.max_series_reached = true;
  }
  return result;
}

}  // namespace

std::string MaxSeriesMessage(uint32_t max_series) {
  return absl::StrCat("Response exceeds maximum series limit of ", max_series,
                      ", a partial response is returned. Warning: the accuracy of each individual "
                      "value is not guaranteed.");
}

// A grid with more steps than this is refused (Sprout's bound on the per-series buffers).
constexpr uint64_t kMaxMetricsSteps = 100000;

absl::StatusOr<std::unique_ptr<MetricsProgram>> MetricsProgram::Compile(std::string_view query,
                                                                        const MetricsRange& range) {
  // Tempo's checks of the request (CompileMetricsQueryRange).
  if (range.start_ns == 0) return absl::InvalidArgumentError("start required");
  if (range.end_ns == 0) return absl::InvalidArgumentError("end required");
  if (range.end_ns <= range.start_ns) {
    return absl::InvalidArgumentError("end must be greater than start");
  }
  if (range.step_ns == 0) return absl::InvalidArgumentError("step required");
  ParseResult parsed = Parse(query);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("compiling query: ", parsed.error.ToString()));
  }
  if (parsed.query.metrics == nullptr) return absl::InvalidArgumentError("not a metrics query");
  auto p = std::make_unique<MetricsProgramImpl>();
  p->range_ = range;
  if (range.instant) {
    p->steps_ = 1;
    p->range_.step_ns = range.end_ns - range.start_ns;  // one step: the whole range
  } else {
    const uint64_t steps = (range.end_ns - range.start_ns + range.step_ns - 1) / range.step_ns;
    if (steps > kMaxMetricsSteps) {
      return absl::InvalidArgumentError(absl::StrCat("step too small for the range: ", steps,
                                                     " steps (at most ", kMaxMetricsSteps, ")"));
    }
    p->steps_ = static_cast<int32_t>(steps);
  }
  // Hints: `exemplars=false` none, `exemplars=N` at most N, `exemplars=true` the request's
  // (Tempo's default of 100 when the request asked none).
  for (const Hint& h : parsed.query.hints) {
    if (h.name != "exemplars") continue;
    if (h.value.type == Type::kBool) {
      p->range_.max_exemplars =
          h.value.b ? (range.max_exemplars > 0 ? range.max_exemplars : 100) : 0;
    } else if (h.value.type == Type::kInt && h.value.i >= 0) {
      p->range_.max_exemplars = static_cast<uint32_t>(std::min<int64_t>(h.value.i, 10000));
    }
  }
  p->stage_ = std::move(*parsed.query.metrics);
  p->second_ = std::move(parsed.query.second);
  for (const Attribute& a : p->stage_.by) p->by_names_.push_back(AttributeText(a));
  Query spanset;
  spanset.root = std::move(parsed.query.root);
  spanset.hints = std::move(parsed.query.hints);
  auto program = Program::Compile(std::move(spanset));
  if (!program.ok()) return program.status();
  p->program_ = *std::move(program);
  p->plan_ = p->program_->plan();
  if (p->stage_.fn == MetricsFn::kCompare) {
    Query filter;
    filter.root = std::move(p->stage_.compare_filter);
    auto f = Program::Compile(std::move(filter));
    if (!f.ok()) return f.status();
    p->compare_filter_ = *std::move(f);
    const QueryRefs& fr = p->compare_filter_->plan().refs;
    for (const std::string& k : fr.span_keys)
      AddAttributeRefs(Attribute{Scope::kSpan, false, Intrinsic::kNone, k}, &p->plan_.refs);
    for (const std::string& k : fr.resource_keys)
      AddAttributeRefs(Attribute{Scope::kResource, false, Intrinsic::kNone, k}, &p->plan_.refs);
    p->plan_.refs.needs_structure |= fr.needs_structure;
    // compare() counts every attribute of the matching spans (Tempo selects all): no projection
    // can serve it, which this flag tells the scan.
    p->plan_.refs.needs_events_links_scope = true;
  } else if (p->stage_.fn != MetricsFn::kRate && p->stage_.fn != MetricsFn::kCountOverTime) {
    AddAttributeRefs(p->stage_.attr, &p->plan_.refs);
  }
  for (const Attribute& a : p->stage_.by) AddAttributeRefs(a, &p->plan_.refs);
  return std::unique_ptr<MetricsProgram>(std::move(p));
}

}  // namespace sprout::traces::traceql
