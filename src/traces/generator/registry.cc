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

struct Registry::Series {
  Labels labels;  // normalized: truncated, sorted by name
  absl::Time last_updated;
  bool is_new = true;           // not collected yet: counters and histograms first get a 0 sample
  double value = 0;             // counter / gauge
  double sum = 0, count = 0;    // histogram
  std::vector<double> buckets;  // histogram: per-bound (non-cumulative) counts, last = +Inf
  std::vector<Exemplar> exemplars;                        // counter: at most one
  std::vector<std::optional<Exemplar>> bucket_exemplars;  // histogram: one per bucket
};

struct Registry::Family {
  std::string name;
  Kind kind;
  std::vector<double> bounds;  // histogram
  absl::flat_hash_map<std::string, Series> series;
  uint64_t SeriesCost() const { return kind == Kind::kHistogram ? bounds.size() + 3 : 1; }
};

Registry::Registry(RegistryConfig config) : config_(std::move(config)) {}
Registry::~Registry() = default;

int Registry::AddFamily(std::string name, Kind kind, std::vector<double> buckets) {
  auto f = std::make_unique<Family>();
  f->name = std::move(name);
  f->kind = kind;
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

Histogram* Registry::NewHistogram(std::string name, std::vector<double> buckets) {
  absl::MutexLock l(&mu_);
  int id = AddFamily(std::move(name), Kind::kHistogram, std::move(buckets));
  histograms_.push_back(std::unique_ptr<Histogram>(new Histogram(this, id)));
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
      s.buckets.assign(f.bounds.size() + 1, 0);
      s.bucket_exemplars.assign(f.bounds.size() + 1, std::nullopt);
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

bool Histogram::Observe(const PreparedLabels& labels, double value, double multiplier,
                        absl::Time now, std::string_view trace_id) {
  absl::MutexLock l(&registry_->mu_);
  Registry::Series* s = registry_->GetOrCreate(id_, labels, now);
  if (s == nullptr) return false;
  const std::vector<double>& bounds = registry_->families_[id_]->bounds;
  s->count += multiplier;
  s->sum += value * multiplier;
  // The first bucket whose bound is ≥ value (Prometheus' `le`); past the last: +Inf.
  size_t b = std::lower_bound(bounds.begin(), bounds.end(), value) - bounds.begin();
  s->buckets[b] += multiplier;
  if (!trace_id.empty()) {
    s->bucket_exemplars[b] = Exemplar{std::string(trace_id), value, now};
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
          if (s.is_new) sink.Append(f->name + "_count", labels, 0, zero_time, {}, ex_label);
          sink.Append(f->name + "_count", labels, s.count, now, {}, ex_label);
          sink.Append(f->name + "_sum", labels, s.sum, now, {}, ex_label);
          const std::string bucket_name = f->name + "_bucket";
          Labels with_le = labels;
          with_le.push_back(Label{"le", ""});
          std::sort(with_le.begin(), with_le.end(),
                    [](const Label& a, const Label& b) { return a.name < b.name; });
          Label* le = nullptr;
          for (Label& x : with_le) {
            if (x.name == "le") le = &x;
          }
          double cumulative = 0;
          for (size_t i = 0; i < s.buckets.size(); ++i) {
            cumulative += s.buckets[i];
            le->value = i < f->bounds.size() ? FormatLe(f->bounds[i]) : "+Inf";
            if (s.is_new) sink.Append(bucket_name, with_le, 0, zero_time, {}, ex_label);
            if (s.bucket_exemplars[i].has_value()) {
              s.bucket_exemplars[i]->time = now;  // Tempo: the collection time
              sink.Append(bucket_name, with_le, cumulative, now,
                          absl::Span<const Exemplar>(&*s.bucket_exemplars[i], 1), ex_label);
              s.bucket_exemplars[i].reset();
            } else {
              sink.Append(bucket_name, with_le, cumulative, now, {}, ex_label);
            }
          }
          break;
        }
      }
      s.is_new = false;
    }
  }
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
