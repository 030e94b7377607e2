#include "metrics/tsdb/chunkenc/histogram.h"

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

template <typename H, typename C>
bool IsCounterResetT(const H& prev, const H& cur) {
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
