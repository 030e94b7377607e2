#include "metrics/tsdb/chunkenc/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <string>
#include <limits>

#include "absl/strings/str_cat.h"

namespace sprout::metrics::chunkenc {

FloatHistogram Histogram::ToFloat() const {
  FloatHistogram f;
  f.reset_hint = reset_hint;
  f.schema = schema;
  f.zero_threshold = zero_threshold;
  f.zero_count = static_cast<double>(zero_count);
  f.count = static_cast<double>(count);
  f.sum = sum;
  f.positive_spans = positive_spans;
  f.negative_spans = negative_spans;
  f.positive_buckets.assign(positive_buckets.begin(), positive_buckets.end());
  f.negative_buckets.assign(negative_buckets.begin(), negative_buckets.end());
  f.custom_values = custom_values;
  return f;
}

uint64_t SpanBucketCount(std::span<const BucketSpan> spans) {
  uint64_t n = 0;
  for (const BucketSpan& s : spans) n += s.length;
  return n;
}

namespace {

absl::Status ValidateSide(const char* side, std::span<const BucketSpan> spans, size_t buckets) {
  for (size_t i = 1; i < spans.size(); ++i) {
    if (spans[i].offset < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("histogram: ", side, " span ", i, " has negative offset ", spans[i].offset));
    }
  }
  uint64_t want = SpanBucketCount(spans);
  if (want != buckets) {
    return absl::InvalidArgumentError(absl::StrCat("histogram: ", side, " spans cover ", want,
                                                   " buckets but ", buckets, " counts are given"));
  }
  return absl::OkStatus();
}

template <typename H>
absl::Status ValidateLayoutT(const H& h) {
  absl::Status s = ValidateSide("positive", h.positive_spans, h.positive_buckets.size());
  if (!s.ok()) return s;
  return ValidateSide("negative", h.negative_spans, h.negative_buckets.size());
}

// Visits the buckets of both layouts in index order; f(prev_count_or_null, cur_count_or_null).
template <typename C, typename F>
void ZipBuckets(std::span<const BucketSpan> ps, std::span<const C> pb,
                std::span<const BucketSpan> cs, std::span<const C> cb, F f) {
  struct Cursor {
    std::span<const BucketSpan> spans;
    std::span<const C> counts;
    size_t span = 0, in_span = 0, bucket = 0;
    int64_t index = 0;
    bool Valid() {
      while (span < spans.size() && in_span >= spans[span].length) {
        ++span;
        in_span = 0;
        if (span < spans.size()) index += spans[span].offset;
      }
      return span < spans.size() && bucket < counts.size();
    }
    void Start() {
      if (!spans.empty()) index = spans[0].offset;
    }
    void Advance() {
      ++in_span;
      ++bucket;
      ++index;
    }
  };
  Cursor a{ps, pb}, b{cs, cb};
  a.Start();
  b.Start();
  // Spans of length 0 advance the index by their offset only; Valid() skips them.
  while (true) {
    bool va = a.Valid(), vb = b.Valid();
    if (!va && !vb) return;
    if (va && (!vb || a.index < b.index)) {
      f(&a.counts[a.bucket], nullptr);
      a.Advance();
    } else if (vb && (!va || b.index < a.index)) {
      f(nullptr, &b.counts[b.bucket]);
      b.Advance();
    } else {
      f(&a.counts[a.bucket], &b.counts[b.bucket]);
      a.Advance();
      b.Advance();
    }
  }
}

// Go's %f: six decimals; infinities as +Inf / -Inf. (base's GoSprintF does the same, but this
// library links only the header-only part of base: see CMakeLists.txt.)
std::string GoFixed(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[400];
  std::snprintf(buf, sizeof(buf), "%f", v);
  return buf;
}

// Prometheus's checks of a custom-bucket histogram (model/histogram Validate), in its order and
// with its texts: the bounds, then the spans against them, then the unused zero bucket and
// negative side.
template <typename H>
absl::Status ValidateCustomBucketsT(const H& h) {
  auto invalid = [](auto&&... parts) {
    return absl::InvalidArgumentError(absl::StrCat(parts...));
  };
  if (!h.UsesCustomBuckets()) {
    if (!h.custom_values.empty()) {
      return invalid("histogram with exponential schema must not have custom bounds");
    }
    return absl::OkStatus();
  }
  const std::vector<double>& cv = h.custom_values;
  for (size_t i = 0; i < cv.size(); ++i) {
    if (std::isnan(cv[i])) return invalid("custom buckets: histogram custom bounds must not be NaN");
    if (i > 0 && cv[i] <= cv[i - 1]) {
      return invalid("custom buckets: previous bound is ", GoFixed(cv[i - 1]),
                     " and current is ", GoFixed(cv[i]),
                     ": histogram custom bounds must be in strictly increasing order");
    }
  }
  if (!cv.empty() && std::isinf(cv.back()) && cv.back() > 0) {
    return invalid(
        "custom buckets: last +Inf bound must not be explicitly defined: histogram custom bounds "
        "must be finite");
  }
  // Every span's offset (the first one's too) is >= 0, and the spans end within the bounds and
  // the +Inf bucket.
  int64_t total = 0;
  for (size_t i = 0; i < h.positive_spans.size(); ++i) {
    const BucketSpan& span = h.positive_spans[i];
    if (span.offset < 0) {
      return invalid("custom buckets: span number ", i + 1, " with offset ", span.offset,
                     ": histogram has a span whose offset is negative");
    }
    total += int64_t{span.offset} + int64_t{span.length};
  }
  if (total > static_cast<int64_t>(cv.size()) + 1) {
    return invalid("custom buckets: only ", cv.size(),
                   " custom bounds defined which is insufficient to cover total span length of ",
                   total, ": histogram custom bounds are too few");
  }
  if (h.zero_count != 0) return invalid("custom buckets: must have zero count of 0");
  if (h.zero_threshold != 0) return invalid("custom buckets: must have zero threshold of 0");
  if (!h.negative_spans.empty()) return invalid("custom buckets: must not have negative spans");
  if (!h.negative_buckets.empty()) {
    return invalid("custom buckets: must not have negative buckets");
  }
  return absl::OkStatus();
}

template <typename H, typename C>
bool IsCounterResetT(const H& prev, const H& cur) {
  if (cur.UsesCustomBuckets() || prev.UsesCustomBuckets()) {
    if (cur.schema != prev.schema || !SameCustomValues(prev.custom_values, cur.custom_values)) {
      return true;
    }
  }
  if (cur.count < prev.count) return true;
  if (cur.schema > prev.schema) return true;
  if (cur.zero_threshold < prev.zero_threshold) return true;
  if (cur.zero_threshold == prev.zero_threshold && cur.zero_count < prev.zero_count) return true;
  if (cur.schema != prev.schema || cur.zero_threshold != prev.zero_threshold) return false;
  bool reset = false;
  auto check = [&reset](const C* p, const C* c) {
    if (p == nullptr) return;
    C now = c == nullptr ? C{0} : *c;
    if (now < *p) reset = true;
  };
  ZipBuckets<C>(prev.positive_spans, prev.positive_buckets, cur.positive_spans,
                cur.positive_buckets, check);
  ZipBuckets<C>(prev.negative_spans, prev.negative_buckets, cur.negative_spans,
                cur.negative_buckets, check);
  return reset;
}

}  // namespace

absl::Status ValidateLayout(const Histogram& h) { return ValidateLayoutT(h); }
absl::Status ValidateLayout(const FloatHistogram& h) { return ValidateLayoutT(h); }
absl::Status ValidateCustomBuckets(const Histogram& h) { return ValidateCustomBucketsT(h); }
absl::Status ValidateCustomBuckets(const FloatHistogram& h) { return ValidateCustomBucketsT(h); }

CustomBucketRange CustomBucketBounds(std::span<const double> custom_values, int64_t index) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  const size_t n = custom_values.size();
  const auto i = static_cast<size_t>(std::clamp<int64_t>(index, 0, static_cast<int64_t>(n)));
  return {i == 0 ? -kInf : custom_values[i - 1], i < n ? custom_values[i] : kInf};
}

bool SameCustomValues(std::span<const double> a, std::span<const double> b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::bit_cast<uint64_t>(a[i]) != std::bit_cast<uint64_t>(b[i])) return false;
  }
  return true;
}

absl::Status BucketsFromDeltas(std::span<const int64_t> deltas, std::vector<uint64_t>* absolute) {
  absolute->clear();
  absolute->reserve(deltas.size());
  // Counts are at most 2^64 - 1; track the running value in 128 bits to catch both ends.
  __int128 running = 0;
  for (size_t i = 0; i < deltas.size(); ++i) {
    running += deltas[i];
    if (running < 0 || running > std::numeric_limits<uint64_t>::max()) {
      return absl::InvalidArgumentError(
          absl::StrCat("histogram: bucket ", i, " has a negative or too large count"));
    }
    absolute->push_back(static_cast<uint64_t>(running));
  }
  return absl::OkStatus();
}

void BucketsToDeltas(std::span<const uint64_t> absolute, std::vector<int64_t>* deltas) {
  deltas->clear();
  deltas->reserve(absolute.size());
  uint64_t prev = 0;
  for (uint64_t v : absolute) {
    deltas->push_back(static_cast<int64_t>(v - prev));
    prev = v;
  }
}

bool IsCounterReset(const Histogram& prev, const Histogram& cur) {
  return IsCounterResetT<Histogram, uint64_t>(prev, cur);
}
bool IsCounterReset(const FloatHistogram& prev, const FloatHistogram& cur) {
  return IsCounterResetT<FloatHistogram, double>(prev, cur);
}

}  // namespace sprout::metrics::chunkenc
