#include "traces/generator/registry.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"

namespace sprout::traces::generator {

std::vector<double> DefaultSpanMetricsBuckets() {
  return {0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128,
          0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384};
}

std::string FormatLe(double bound) {
  if (std::isinf(bound)) return bound > 0 ? "+Inf" : "-Inf";
  if (std::isnan(bound)) return "NaN";
  char buf[400];
  auto res = std::to_chars(buf, buf + sizeof(buf), bound, std::chars_format::fixed);
  return std::string(buf, res.ptr);
}

std::optional<HistogramMode> ParseHistogramMode(std::string_view text) {
  if (text == "classic") return HistogramMode::kClassic;
  if (text == "native") return HistogramMode::kNative;
  if (text == "both") return HistogramMode::kBoth;
  return std::nullopt;
}

std::string_view HistogramModeName(HistogramMode mode) {
  switch (mode) {
    case HistogramMode::kClassic:
      return "classic";
    case HistogramMode::kNative:
      return "native";
    case HistogramMode::kBoth:
      return "both";
  }
  return "classic";
}

namespace {

constexpr int32_t kMinSchema = -4;
constexpr int32_t kMaxSchema = 8;
// client_golang's default NativeHistogramMaxExemplars.
constexpr size_t kMaxNativeExemplars = 10;

// The upper bounds of the fraction (Go's math.Frexp: v = frac × 2^exp, frac in [0.5, 1)) of
// each bucket within one power of two, for schema 1..8: 2^(i/2^schema − 1), i = 0..2^schema − 1.
const std::vector<double>& FracBounds(int32_t schema) {
  static const auto* const table = [] {
    auto* t = new std::vector<std::vector<double>>(kMaxSchema + 1);
    for (int32_t s = 1; s <= kMaxSchema; ++s) {
      const int n = 1 << s;
      auto& b = (*t)[s];
      b.reserve(n);
      for (int i = 0; i < n; ++i) b.push_back(std::exp2(static_cast<double>(i) / n - 1.0));
    }
    return t;
  }();
  return (*table)[schema];
}

}  // namespace

int32_t NativeHistogramSchema(double bucket_factor) {
  if (!(bucket_factor > 1)) return kMaxSchema;
  const double floor = std::floor(std::log2(std::log2(bucket_factor)));
  if (floor <= -kMaxSchema) return kMaxSchema;
  if (floor >= -kMinSchema) return kMinSchema;
  return -static_cast<int32_t>(floor);
}

int32_t NativeBucketIndex(double v, int32_t schema) {
  const bool inf = std::isinf(v);
  if (inf) v = std::numeric_limits<double>::max();
  int exp = 0;
  const double frac = std::frexp(std::fabs(v), &exp);
  int32_t key;
  if (schema > 0) {
    const std::vector<double>& bounds = FracBounds(schema);
    // The first bound ≥ frac: bucket upper bounds are inclusive.
    const int32_t within =
        static_cast<int32_t>(std::lower_bound(bounds.begin(), bounds.end(), frac) - bounds.begin());
    key = within + (exp - 1) * static_cast<int32_t>(bounds.size());
  } else {
    // Schema 0: bucket `exp` holds (2^(exp-1), 2^exp]; an exact power of two (frac 0.5) belongs
    // to the bucket below. Schemas < 0 merge 2^-schema of those.
    key = exp;
    if (frac == 0.5) --key;
    const int32_t offset = (1 << -schema) - 1;
    key = (key + offset) >> -schema;
  }
  if (inf) ++key;
  return key;
}

namespace {

// One side's populated native buckets: (index, count > 0) sorted by index. A sorted vector: a
// series holds a few dozen buckets at most (native_histogram_max_bucket_number), a new one is
// rare, and a lookup stays in one cache line or two.
class NativeBuckets {
 public:
  void Add(int32_t index, uint64_t n) {
    auto it = std::lower_bound(
        b_.begin(), b_.end(), index,
        [](const std::pair<int32_t, uint64_t>& e, int32_t i) { return e.first < i; });
    if (it != b_.end() && it->first == index) {
      it->second += n;
    } else {
      b_.insert(it, {index, n});
    }
  }
  // Halves the resolution: bucket i of the old schema goes into ceil(i/2) of the new one (i/2
  // truncated toward zero for i ≤ 0, (i+1)/2 for i > 0); the order is kept.
  void MergeForLowerSchema() {
    size_t out = 0;
    for (size_t i = 0; i < b_.size(); ++i) {
      const int32_t k = b_[i].first;
      const int32_t merged = k > 0 ? (k + 1) / 2 : k / 2;
      if (out > 0 && b_[out - 1].first == merged) {
        b_[out - 1].second += b_[i].second;
      } else {
        b_[out++] = {merged, b_[i].second};
      }
    }
    b_.resize(out);
  }
  size_t size() const { return b_.size(); }
  void clear() { b_.clear(); }
  const std::vector<std::pair<int32_t, uint64_t>>& entries() const { return b_; }

 private:
  std::vector<std::pair<int32_t, uint64_t>> b_;
};

// Native mode's exemplars since the last collection: up to kMaxNativeExemplars slots, the
// per-slot numbers side by side (a full set is scanned on every observation).
struct NativeExemplars {
  uint8_t n = 0;
  uint8_t order[kMaxNativeExemplars];  // slots in value order
  double value[kMaxNativeExemplars];
  double log[kMaxNativeExemplars];  // log(value); ≤ 0: -1e300
  absl::Time time[kMaxNativeExemplars];
  std::string trace[kMaxNativeExemplars];
};

// One histogram series' native state (families in native or both mode): client_golang's
// sparse histogram as Tempo feeds it.
struct NativeState {
  int32_t schema = 0;
  double zero_threshold = kNativeHistogramZeroThreshold;
  uint64_t count = 0;
  double sum = 0;
  uint64_t zero_count = 0;
  NativeBuckets positive, negative;
  absl::Time last_reset;                       // creation or last reset
  std::unique_ptr<NativeExemplars> exemplars;  // native mode, from the first exemplar
};

}  // namespace

struct Registry::Series {
  Labels labels;  // normalized: truncated, sorted by name
  absl::Time last_updated;
  bool is_new = true;           // not collected yet: counters and histograms first get a 0 sample
  double value = 0;             // counter / gauge
  double sum = 0, count = 0;    // classic histogram part
  std::vector<double> buckets;  // classic: per-bound (non-cumulative) counts, last = +Inf
  std::vector<Exemplar> exemplars;                        // counter: at most one
  std::vector<std::optional<Exemplar>> bucket_exemplars;  // classic: one per bucket
  std::unique_ptr<NativeState> native;                    // native and both modes
};

struct Registry::Family {
  std::string name;
  Kind kind;
  HistogramMode mode = HistogramMode::kClassic;  // histogram
  std::vector<double> bounds;                    // histogram
  absl::flat_hash_map<std::string, Series> series;
  bool classic() const { return mode != HistogramMode::kNative; }
  bool native() const { return mode != HistogramMode::kClassic; }
  uint64_t SeriesCost() const {
    if (kind != Kind::kHistogram) return 1;
    // Tempo: a classic series costs every bound, +Inf, _sum and _count; a native one 1.
    return (classic() ? bounds.size() + 3 : 0) + (native() ? 1 : 0);
  }
};

Registry::Registry(RegistryConfig config) : config_(std::move(config)) {}
Registry::~Registry() = default;

int Registry::AddFamily(std::string name, Kind kind, std::vector<double> buckets,
                        HistogramMode mode) {
  auto f = std::make_unique<Family>();
  f->name = std::move(name);
  f->kind = kind;
  f->mode = mode;
  std::sort(buckets.begin(), buckets.end());
  buckets.erase(std::unique(buckets.begin(), buckets.end()), buckets.end());
  buckets.erase(std::remove_if(buckets.begin(), buckets.end(),
                               [](double b) { return std::isinf(b) || std::isnan(b); }),
                buckets.end());
  f->bounds = std::move(buckets);
  families_.push_back(std::move(f));
  return static_cast<int>(families_.size()) - 1;
}

Counter* Registry::NewCounter(std::string name) {
  absl::MutexLock l(&mu_);
  int id = AddFamily(std::move(name), Kind::kCounter, {});
  counters_.push_back(std::unique_ptr<Counter>(new Counter(this, id)));
  return counters_.back().get();
}

Gauge* Registry::NewGauge(std::string name) {
  absl::MutexLock l(&mu_);
  int id = AddFamily(std::move(name), Kind::kGauge, {});
  gauges_.push_back(std::unique_ptr<Gauge>(new Gauge(this, id)));
  return gauges_.back().get();
}

Histogram* Registry::NewHistogram(std::string name, std::vector<double> buckets,
                                  HistogramMode mode) {
  absl::MutexLock l(&mu_);
  int id = AddFamily(std::move(name), Kind::kHistogram, std::move(buckets), mode);
  histograms_.push_back(std::unique_ptr<Histogram>(new Histogram(this, id, mode)));
  return histograms_.back().get();
}

namespace {

Labels Normalize(const Labels& in, const RegistryConfig& cfg) {
  Labels out;
  out.reserve(in.size());
  for (const Label& l : in) {
    // Byte lengths, as Tempo's truncateLength; 0: no limit.
    Label n{
        cfg.max_label_name_length > 0 ? l.name.substr(0, cfg.max_label_name_length) : l.name,
        cfg.max_label_value_length > 0 ? l.value.substr(0, cfg.max_label_value_length) : l.value};
    out.push_back(std::move(n));
  }
  // Sorted by name; of two labels with one name the first given wins. A stable insertion sort:
  // label sets are short and often given nearly sorted, and it needs no buffer (std::stable_sort
  // allocated one per call: 11 % of the generator's instructions).
  for (size_t i = 1; i < out.size(); ++i) {
    if (!(out[i].name < out[i - 1].name)) continue;
    Label moving = std::move(out[i]);
    size_t j = i;
    for (; j > 0 && moving.name < out[j - 1].name; --j) out[j] = std::move(out[j - 1]);
    out[j] = std::move(moving);
  }
  out.erase(std::unique(out.begin(), out.end(),
                        [](const Label& a, const Label& b) { return a.name == b.name; }),
            out.end());
  // A label with an empty value is no label (Prometheus' rule; Tempo's label builder deletes it).
  out.erase(std::remove_if(out.begin(), out.end(), [](const Label& l) { return l.value.empty(); }),
            out.end());
  return out;
}

std::string KeyOf(const Labels& labels) {
  std::string key;
  for (const Label& l : labels) {
    key.append(l.name);
    key.push_back('\xff');
    key.append(l.value);
    key.push_back('\xfe');
  }
  return key;
}

// The series' labels plus the external labels not already present, sorted by name.
Labels WithExternal(const Labels& series, const Labels& external) {
  Labels out = series;
  for (const Label& e : external) {
    bool present =
        std::any_of(series.begin(), series.end(), [&](const Label& l) { return l.name == e.name; });
    if (!present) out.push_back(e);
  }
  std::sort(out.begin(), out.end(), [](const Label& a, const Label& b) { return a.name < b.name; });
  return out;
}

}  // namespace

PreparedLabels Registry::Prepare(const Labels& labels) const {
  PreparedLabels p;
  p.labels = Normalize(labels, config_);
  p.key = KeyOf(p.labels);
  return p;
}

Registry::Series* Registry::GetOrCreate(int id, const PreparedLabels& labels, absl::Time now) {
  Family& f = *families_[id];
  auto it = f.series.find(labels.key);
  if (it == f.series.end()) {
    uint64_t cost = f.SeriesCost();
    if (config_.max_active_series != 0 && active_series_ + cost > config_.max_active_series) {
      ++series_limited_;
      return nullptr;
    }
    active_series_ += cost;
    Series s;
    s.labels = labels.labels;
    if (f.kind == Kind::kHistogram) {
      // Native mode keeps no classic buckets (Observe's classic index then points at nothing).
      const size_t classic_buckets = f.classic() ? f.bounds.size() + 1 : 0;
      s.buckets.assign(classic_buckets, 0);
      s.bucket_exemplars.assign(classic_buckets, std::nullopt);
      if (f.native()) {
        s.native = std::make_unique<NativeState>();
        s.native->schema = NativeHistogramSchema(config_.native_histogram_bucket_factor);
        s.native->last_reset = now;
      }
    }
    it = f.series.emplace(labels.key, std::move(s)).first;
  }
  it->second.last_updated = now;
  return &it->second;
}

bool Counter::Inc(const Labels& labels, double value, absl::Time now, const Exemplar* exemplar) {
  return Inc(registry_->Prepare(labels), value, now, exemplar);
}

bool Gauge::Set(const Labels& labels, double value, absl::Time now) {
  return Set(registry_->Prepare(labels), value, now);
}

bool Histogram::Observe(const Labels& labels, double value, double multiplier, absl::Time now,
                        std::string_view trace_id) {
  return Observe(registry_->Prepare(labels), value, multiplier, now, trace_id);
}

bool Counter::Inc(const PreparedLabels& labels, double value, absl::Time now,
                  const Exemplar* exemplar) {
  absl::MutexLock l(&registry_->mu_);
  Registry::Series* s = registry_->GetOrCreate(id_, labels, now);
  if (s == nullptr) return false;
  s->value += value;
  if (exemplar != nullptr && !exemplar->trace_id.empty()) {
    s->exemplars.assign(1, *exemplar);
  }
  return true;
}

bool Gauge::Set(const PreparedLabels& labels, double value, absl::Time now) {
  absl::MutexLock l(&registry_->mu_);
  Registry::Series* s = registry_->GetOrCreate(id_, labels, now);
  if (s == nullptr) return false;
  s->value = value;
  return true;
}

bool Gauge::Add(const Labels& labels, double value, absl::Time now) {
  PreparedLabels prepared = registry_->Prepare(labels);
  absl::MutexLock l(&registry_->mu_);
  Registry::Series* s = registry_->GetOrCreate(id_, prepared, now);
  if (s == nullptr) return false;
  s->value += value;
  return true;
}

namespace {

// Adds `n` observations of `v` to the native buckets (not count or sum).
void AddNativeBucket(NativeState& h, double v, uint64_t n) {
  if (std::isnan(v)) return;  // counted and summed, in no bucket (client_golang)
  if (v > h.zero_threshold) {
    h.positive.Add(NativeBucketIndex(v, h.schema), n);
  } else if (v < -h.zero_threshold) {
    h.negative.Add(NativeBucketIndex(-v, h.schema), n);
  } else {
    h.zero_count += n;
  }
}

// Keeps at most kMaxNativeExemplars, in slots ordered by value through `order`; a full set drops
// the older of the two neighbours closest on a log scale, the new one counted among them but
// never dropped (client_golang keeps a spread of values the same way). The new exemplar takes
// the dropped one's slot (its trace ID string keeps its buffer); only the order's indexes move.
void AddNativeExemplar(NativeExemplars& x, double value, std::string_view trace_id,
                       absl::Time now) {
  const double lv = value > 0 ? std::log(value) : -1e300;
  const size_t n = x.n;
  size_t pos = 0;  // the first in value order with a larger value (the new one goes before it)
  while (pos < n && !(value < x.value[x.order[pos]])) ++pos;
  if (n < kMaxNativeExemplars) {
    for (size_t i = n; i > pos; --i) x.order[i] = x.order[i - 1];
    x.order[pos] = static_cast<uint8_t>(n);
    x.trace[n].assign(trace_id.data(), trace_id.size());
    x.value[n] = value;
    x.log[n] = lv;
    x.time[n] = now;
    x.n = static_cast<uint8_t>(n + 1);
    return;
  }
  // The kept ones in value order with the new one at `pos` (virtual index i).
  auto vlog = [&](size_t i) {
    return i < pos ? x.log[x.order[i]] : i == pos ? lv : x.log[x.order[i - 1]];
  };
  auto vtime = [&](size_t i) { return x.time[i < pos ? x.order[i] : x.order[i - 1]]; };
  size_t drop = pos == 0 ? 1 : 0;
  double best = std::numeric_limits<double>::infinity();
  for (size_t i = 1; i <= n; ++i) {
    const double d = std::fabs(vlog(i) - vlog(i - 1));
    if (d < best) {
      best = d;
      if (i == pos) {
        drop = i - 1;
      } else if (i - 1 == pos) {
        drop = i;
      } else {
        drop = vtime(i) < vtime(i - 1) ? i : i - 1;
      }
    }
  }
  const size_t r = drop < pos ? drop : drop - 1;  // in `order`
  const uint8_t slot = x.order[r];
  x.trace[slot].assign(trace_id.data(), trace_id.size());
  x.value[slot] = value;
  x.log[slot] = lv;
  x.time[slot] = now;
  const size_t target = r < pos ? pos - 1 : pos;
  if (r < target) {
    std::rotate(x.order + r, x.order + r + 1, x.order + target + 1);
  } else if (r > target) {
    std::rotate(x.order + target, x.order + r, x.order + r + 1);
  }
}

}  // namespace

bool Histogram::Observe(const PreparedLabels& labels, double value, double multiplier,
                        absl::Time now, std::string_view trace_id) {
  absl::MutexLock l(&registry_->mu_);
  Registry::Series* s = registry_->GetOrCreate(id_, labels, now);
  if (s == nullptr) return false;
  const Registry::Family& f = *registry_->families_[id_];
  const std::vector<double>& bounds = f.bounds;
  // The first bucket whose bound is ≥ value (Prometheus' `le`); past the last: +Inf.
  const size_t b = std::lower_bound(bounds.begin(), bounds.end(), value) - bounds.begin();
  if (mode_ == HistogramMode::kClassic) {
    s->count += multiplier;
    s->sum += value * multiplier;
    s->buckets[b] += multiplier;
    if (!trace_id.empty()) {
      s->bucket_exemplars[b] = Exemplar{std::string(trace_id), value, now};
    }
    return true;
  }
  // Native and both: Tempo observes a client_golang histogram `multiplier` times
  // (`for i := 0.0; i < multiplier; i++`), i.e. ceil(multiplier) integer observations.
  const double times = std::ceil(multiplier);
  if (!(times >= 1)) return true;
  const uint64_t n =
      times >= 9007199254740992.0 ? uint64_t{9007199254740992} : static_cast<uint64_t>(times);
  NativeState& h = *s->native;
  const bool classic = mode_ == HistogramMode::kBoth;
  auto observe = [&](uint64_t k) {
    h.count += k;
    h.sum += value * static_cast<double>(k);
    AddNativeBucket(h, value, k);
    if (classic) {
      s->count += static_cast<double>(k);
      s->sum += value * static_cast<double>(k);
      s->buckets[b] += static_cast<double>(k);
    }
  };
  // The first observation may populate a new bucket: then client_golang's limit applies.
  observe(1);
  const RegistryConfig& cfg = registry_->config_;
  const uint32_t max_buckets = cfg.native_histogram_max_bucket_number;
  if (max_buckets > 0 && h.positive.size() + h.negative.size() > max_buckets) {
    const absl::Duration min_reset = cfg.native_histogram_min_reset_duration;
    if (min_reset > absl::ZeroDuration() && now - h.last_reset >= min_reset) {
      // Reset the whole histogram (classic part included) and keep the latest observation.
      h.count = 0;
      h.sum = 0;
      h.zero_count = 0;
      h.positive.clear();
      h.negative.clear();
      h.schema = NativeHistogramSchema(cfg.native_histogram_bucket_factor);
      h.last_reset = now;
      if (classic) {
        s->count = 0;
        s->sum = 0;
        std::fill(s->buckets.begin(), s->buckets.end(), 0.0);
      }
      observe(1);
    } else if (h.schema > kMinSchema) {
      // No zero-bucket widening: Tempo leaves NativeHistogramMaxZeroThreshold at 0.
      --h.schema;
      h.positive.MergeForLowerSchema();
      h.negative.MergeForLowerSchema();
    }
  }
  if (n > 1) observe(n - 1);  // the same bucket: no new bucket, no limit to apply
  if (!trace_id.empty()) {
    if (classic) {
      s->bucket_exemplars[b] = Exemplar{std::string(trace_id), value, now};
    } else {
      if (h.exemplars == nullptr) h.exemplars = std::make_unique<NativeExemplars>();
      AddNativeExemplar(*h.exemplars, value, trace_id, now);
    }
  }
  return true;
}

size_t Registry::RemoveStaleLocked(absl::Time now) {
  size_t removed = 0;
  for (auto& f : families_) {
    uint64_t cost = f->SeriesCost();
    for (auto it = f->series.begin(); it != f->series.end();) {
      if (now - it->second.last_updated > config_.stale_duration) {
        active_series_ -= cost;
        // Counted as Tempo counts it: the series' cost (a classic histogram's buckets + 3).
        series_removed_ += cost;
        ++removed;
        f->series.erase(it++);
      } else {
        ++it;
      }
    }
  }
  return removed;
}

size_t Registry::RemoveStaleSeries(absl::Time now) {
  absl::MutexLock l(&mu_);
  return RemoveStaleLocked(now);
}

absl::Time InitialZeroTime(absl::Time now) {
  // Tempo's getEndOfLastMinuteMs: the collection time truncated to the minute, minus 1 s.
  const int64_t ms = absl::ToUnixMillis(now);
  const int64_t minute = 60'000;
  int64_t floor = ms - ((ms % minute) + minute) % minute;
  return absl::FromUnixMillis(floor - 1000);
}

void Registry::Collect(absl::Time now, SeriesSink& sink) {
  absl::MutexLock l(&mu_);
  RemoveStaleLocked(now);
  const std::string& ex_label = config_.trace_id_label_name;
  const absl::Time zero_time = InitialZeroTime(now);
  std::vector<std::pair<const std::string*, Series*>> order;
  for (auto& f : families_) {
    order.clear();
    for (auto& [key, series] : f->series) order.emplace_back(&key, &series);
    std::sort(order.begin(), order.end(),
              [](const auto& a, const auto& b) { return *a.first < *b.first; });
    for (auto& [key_ptr, series_ptr] : order) {
      Series& s = *series_ptr;
      Labels labels = WithExternal(s.labels, config_.external_labels);
      switch (f->kind) {
        case Kind::kCounter:
        case Kind::kGauge:
          if (f->kind == Kind::kCounter && s.is_new) {
            sink.Append(f->name, labels, 0, zero_time, {}, ex_label);
          }
          for (Exemplar& e : s.exemplars) e.time = now;  // Tempo: the collection time
          sink.Append(f->name, labels, s.value, now, s.exemplars, ex_label);
          s.exemplars.clear();
          break;
        case Kind::kHistogram: {
          if (f->classic()) CollectClassic(*f, s, labels, now, zero_time, sink);
          if (f->native()) CollectNative(*f, s, labels, now, sink);
          break;
        }
      }
      s.is_new = false;
    }
  }
}

void Registry::CollectClassic(const Family& f, Series& s, const Labels& labels, absl::Time now,
                              absl::Time zero_time, SeriesSink& sink) {
  const std::string& ex_label = config_.trace_id_label_name;
  if (s.is_new) sink.Append(f.name + "_count", labels, 0, zero_time, {}, ex_label);
  sink.Append(f.name + "_count", labels, s.count, now, {}, ex_label);
  sink.Append(f.name + "_sum", labels, s.sum, now, {}, ex_label);
  const std::string bucket_name = f.name + "_bucket";
  Labels with_le = labels;
  with_le.push_back(Label{"le", ""});
  std::sort(with_le.begin(), with_le.end(),
            [](const Label& a, const Label& b) { return a.name < b.name; });
  Label* le = nullptr;
  for (Label& x : with_le) {
    if (x.name == "le") le = &x;
  }
  // Both mode: the native sample carries the same exemplars, so they are kept until then.
  const bool keep_exemplars = f.native();
  double cumulative = 0;
  for (size_t i = 0; i < s.buckets.size(); ++i) {
    cumulative += s.buckets[i];
    le->value = i < f.bounds.size() ? FormatLe(f.bounds[i]) : "+Inf";
    if (s.is_new) sink.Append(bucket_name, with_le, 0, zero_time, {}, ex_label);
    if (s.bucket_exemplars[i].has_value()) {
      s.bucket_exemplars[i]->time = now;  // Tempo: the collection time
      sink.Append(bucket_name, with_le, cumulative, now,
                  absl::Span<const Exemplar>(&*s.bucket_exemplars[i], 1), ex_label);
      if (!keep_exemplars) s.bucket_exemplars[i].reset();
    } else {
      sink.Append(bucket_name, with_le, cumulative, now, {}, ex_label);
    }
  }
}

namespace {

// Spans and deltas of one side's buckets, as client_golang writes them: a gap of one or two
// empty buckets is written as zero buckets inside the span, a longer one starts a new span.
void EncodeBuckets(const NativeBuckets& buckets, std::vector<NativeHistogramSample::Span>& spans,
                   std::vector<int64_t>& deltas) {
  int64_t previous = 0;
  int32_t next_index = 0;
  bool first = true;
  for (const auto& [index, count] : buckets.entries()) {
    const int32_t gap = index - next_index;
    if (first || gap > 2) {
      spans.push_back(NativeHistogramSample::Span{gap, 0});
    } else {
      for (int32_t j = 0; j < gap; ++j) {
        ++spans.back().length;
        deltas.push_back(-previous);
        previous = 0;
      }
    }
    ++spans.back().length;
    deltas.push_back(static_cast<int64_t>(count) - previous);
    previous = static_cast<int64_t>(count);
    next_index = index + 1;
    first = false;
  }
}

}  // namespace

void Registry::CollectNative(const Family& f, Series& s, const Labels& labels, absl::Time now,
                             SeriesSink& sink) {
  NativeState& h = *s.native;
  NativeHistogramSample out;
  out.schema = h.schema;
  out.zero_threshold = h.zero_threshold;
  out.zero_count = h.zero_count;
  out.count = h.count;
  out.sum = h.sum;
  EncodeBuckets(h.positive, out.positive_spans, out.positive_deltas);
  EncodeBuckets(h.negative, out.negative_spans, out.negative_deltas);
  std::vector<Exemplar> exemplars;
  if (f.classic()) {
    // Both mode: the classic buckets' exemplars (already stamped), then forgotten.
    for (auto& e : s.bucket_exemplars) {
      if (e.has_value()) exemplars.push_back(std::move(*e));
      e.reset();
    }
  } else {
    if (h.exemplars != nullptr) {
      NativeExemplars& x = *h.exemplars;
      exemplars.reserve(x.n);
      // Stamped with the collection time (Tempo), in value order.
      for (size_t i = 0; i < x.n; ++i) {
        const uint8_t o = x.order[i];
        exemplars.push_back(Exemplar{x.trace[o], x.value[o], now});
      }
      x.n = 0;
    }
  }
  sink.AppendNativeHistogram(f.name, labels, out, now, exemplars, config_.trace_id_label_name);
}

uint64_t Registry::active_series() const {
  absl::MutexLock l(&mu_);
  return active_series_;
}

uint64_t Registry::series_limited_total() const {
  absl::MutexLock l(&mu_);
  return series_limited_;
}

uint64_t Registry::series_removed_total() const {
  absl::MutexLock l(&mu_);
  return series_removed_;
}

}  // namespace sprout::traces::generator
