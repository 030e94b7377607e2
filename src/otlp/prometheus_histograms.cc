// Histograms and summaries (collector.md §10.5): classic histograms as _sum, _count and
// cumulative _bucket{le} series, summaries as _sum, _count and {quantile}, exponential
// histograms as native histograms (downscaled to schema 8, buckets as spans and deltas).
#include "otlp/prometheus_translator.h"

namespace sprout::otlp::prom_internal {

void Translator::AddHistogramPoints(
    const google::protobuf::RepeatedPtrField<pb::metrics::HistogramDataPoint>& points,
    const std::string& name) {
  const std::string sum_name = name + "_sum";
  const std::string count_name = name + "_count";
  const std::string bucket_name = name + "_bucket";
  std::string le;
  for (const auto& point : points) {
    BuildPointLabels(point.attributes());
    const bool stale = point.flags() & kNoRecordedValue;
    const int64_t timestamp = NanosToMillis(point.time_unix_nano());
    const double count = stale ? PromStaleNaN() : static_cast<double>(point.count());
    if (point.has_sum()) {
      AddSample(Series(sum_name), stale ? PromStaleNaN() : point.sum(), timestamp);
    }
    AddSample(Series(count_name), count, timestamp);

    const int buckets = std::min(point.explicit_bounds_size(), point.bucket_counts_size());
    bucket_series_.clear();
    uint64_t cumulative = 0;
    for (int i = 0; i < buckets; ++i) {
      cumulative += point.bucket_counts(i);
      le.clear();
      AppendFloat(point.explicit_bounds(i), &le);
      const PromSeriesRef series = Series(bucket_name, "le", le);
      AddSample(series, stale ? PromStaleNaN() : static_cast<double>(cumulative), timestamp);
      bucket_series_.push_back(series);
    }
    const PromSeriesRef inf_series = Series(bucket_name, "le", "+Inf");
    AddSample(inf_series, count, timestamp);

    for (const auto& exemplar : point.exemplars()) {
      const double value = exemplar.value_case() == pb::metrics::Exemplar::kAsInt
                               ? static_cast<double>(exemplar.as_int())
                               : exemplar.as_double();
      PromSeriesRef series = inf_series;
      for (int i = 0; i < buckets; ++i) {
        if (point.explicit_bounds(i) >= value) {
          series = bucket_series_[static_cast<size_t>(i)];
          break;
        }
      }
      AddExemplar(series, exemplar);
    }
  }
}

void Translator::AddSummaryPoints(
    const google::protobuf::RepeatedPtrField<pb::metrics::SummaryDataPoint>& points,
    const std::string& name) {
  const std::string sum_name = name + "_sum";
  const std::string count_name = name + "_count";
  std::string quantile;
  for (const auto& point : points) {
    BuildPointLabels(point.attributes());
    const bool stale = point.flags() & kNoRecordedValue;
    const int64_t timestamp = NanosToMillis(point.time_unix_nano());
    AddSample(Series(sum_name), stale ? PromStaleNaN() : point.sum(), timestamp);
    AddSample(Series(count_name), stale ? PromStaleNaN() : static_cast<double>(point.count()),
              timestamp);
    for (const auto& value_at_quantile : point.quantile_values()) {
      quantile.clear();
      AppendFloat(value_at_quantile.quantile(), &quantile);
      AddSample(Series(name, "quantile", quantile),
                stale ? PromStaleNaN() : value_at_quantile.value(), timestamp);
    }
  }
}

void Translator::AddExponentialPoints(
    const google::protobuf::RepeatedPtrField<pb::metrics::ExponentialHistogramDataPoint>& points,
    const std::string& name) {
  bool reported = false;
  for (const auto& point : points) {
    if (point.scale() < -4) {
      // The point is dropped; the metric's other points still go (one error per metric).
      if (!reported) {
        errors_->push_back(
            "cannot convert exponential to native histogram. Scale must be >= -4, was " +
            std::to_string(point.scale()));
        reported = true;
      }
      ++*dropped_points_;
      continue;
    }
    BuildPointLabels(point.attributes());
    const PromSeriesRef series = Series(name);
    PromHistogram histogram;
    int32_t schema = point.scale();
    int32_t scale_down = 0;
    if (schema > 8) {
      scale_down = schema - 8;
      schema = 8;
    }
    histogram.schema = schema;
    histogram.zero_threshold =
        point.zero_threshold() != 0 ? point.zero_threshold() : kDefaultZeroThreshold;
    histogram.timestamp_ms = NanosToMillis(point.time_unix_nano());
    // A stale marker stays an integer histogram, as the Collector sends it: the count holds
    // the stale NaN's bit pattern, sum the stale NaN; zero count and buckets as usual.
    if (point.flags() & kNoRecordedValue) {
      histogram.count = kStaleNaNBits;
      histogram.sum = PromStaleNaN();
    } else {
      histogram.count = point.count();
      if (point.has_sum()) histogram.sum = point.sum();
    }
    histogram.zero_count = point.zero_count();
    positive_spans_.clear();
    positive_deltas_.clear();
    negative_spans_.clear();
    negative_deltas_.clear();
    ConvertBuckets(point.positive(), scale_down, &positive_spans_, &positive_deltas_);
    ConvertBuckets(point.negative(), scale_down, &negative_spans_, &negative_deltas_);
    histogram.positive_spans = positive_spans_;
    histogram.positive_deltas = positive_deltas_;
    histogram.negative_spans = negative_spans_;
    histogram.negative_deltas = negative_deltas_;
    sink_->Histogram(series, histogram);
    for (const auto& exemplar : point.exemplars()) AddExemplar(series, exemplar);
  }
}

// OTel bucket i covers (base^(i+offset), base^(i+offset+1)], Prometheus bucket j covers
// (base^(j-1), base^j]: j = i + offset + 1. Downscaling by `scale_down` merges 2^scale_down
// neighbours (index >> scale_down). Empty buckets are left out; a run of at most two empty
// buckets between filled ones is written as zeros, a longer run starts a new span.
void Translator::ConvertBuckets(const pb::metrics::ExponentialHistogramDataPoint::Buckets& buckets,
                                int32_t scale_down, std::vector<PromBucketSpan>* spans,
                                std::vector<int64_t>* deltas) {
  merged_.clear();
  const int64_t offset = buckets.offset();
  // Past 62 every index of an int32 range lands in bucket 0 or -1 anyway; shifting by 64 or
  // more would be undefined.
  scale_down = std::min(scale_down, 62);
  for (int i = 0; i < buckets.bucket_counts_size(); ++i) {
    const uint64_t count = buckets.bucket_counts(i);
    if (count == 0) continue;
    const int64_t index = ((offset + i) >> scale_down) + 1;
    if (!merged_.empty() && merged_.back().first == index) {
      merged_.back().second += count;
    } else {
      merged_.emplace_back(index, count);
    }
  }
  int64_t previous_index = 0;
  uint64_t previous_count = 0;
  auto append = [&](uint64_t count) {
    ++spans->back().length;
    deltas->push_back(static_cast<int64_t>(count - previous_count));
    previous_count = count;
  };
  for (const auto& [index, count] : merged_) {
    if (spans->empty()) {
      spans->push_back({static_cast<int32_t>(index), 0});
    } else if (const int64_t gap = index - previous_index - 1; gap > 2) {
      spans->push_back({static_cast<int32_t>(gap), 0});
    } else {
      for (int64_t k = 0; k < gap; ++k) append(0);
    }
    append(count);
    previous_index = index;
  }
}

}  // namespace sprout::otlp::prom_internal
