#include "metrics/ingest/validate.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "metrics/ingest/mimir_text.h"
#include "metrics/tsdb/index/labels.h"

namespace sprout::metrics::ingest {
namespace {

constexpr std::string_view kMetricName = "__name__";
constexpr int32_t kMinSchema = -4;
constexpr int32_t kMaxSchema = 8;

std::string Limited(std::string_view message, std::string_view id, std::string_view flag) {
  return absl::StrCat(AV(message), " (err-mimir-", AV(id),
                      "). To adjust the related per-tenant limit, configure -", AV(flag),
                      ", or contact your service administrator.");
}

std::string Quoted200(std::string_view s) { return std::string(text::TruncateRunes(s, 200)); }

// Mimir (2.17 on): the exponential schemas -4..8, or -53, custom buckets (whose bounds the
// head checks, with Prometheus's texts).
bool ValidSchema(int32_t schema) {
  return (schema >= kMinSchema && schema <= kMaxSchema) ||
         schema == chunkenc::kCustomBucketsSchema;
}

HistogramProblem CheckSide(std::span<const chunkenc::BucketSpan> spans, size_t buckets) {
  for (size_t i = 1; i < spans.size(); ++i) {
    if (spans[i].offset < 0) return HistogramProblem::kSpanOffset;
  }
  if (chunkenc::SpanBucketCount(spans) != buckets) return HistogramProblem::kSpansBuckets;
  return HistogramProblem::kNone;
}

}  // namespace

void RecordRefusal(IngestResult* result, const Problem& problem, int64_t samples,
                   int64_t histograms, int64_t exemplars, int64_t metadata) {
  const auto r = static_cast<size_t>(problem.reason);
  result->samples_refused[r] += samples;
  result->histograms_refused[r] += histograms;
  result->exemplars_refused[r] += exemplars;
  result->metadata_refused[r] += metadata;
  if (!problem.message.empty() && result->message.empty()) {
    result->http_status = 400;
    result->message = text::ToValidUtf8(problem.message);
  }
}

Problem ValidateSeriesLabels(std::span<const Label> labels, const Limits& limits,
                             std::string_view* metric_name) {
  if (labels.empty()) return {Refusal::kNoLabels, ""};
  bool has_name = false;
  for (const Label& l : labels) {
    if (l.name == kMetricName) {
      *metric_name = l.value;
      has_name = true;
      break;
    }
  }
  if (!has_name) {
    return {Refusal::kMissingMetricName,
            "received series has no metric name (err-mimir-missing-metric-name)"};
  }
  if (!tsdb::IsLegacyMetricName(*metric_name)) {
    return {Refusal::kInvalidMetricName,
            absl::StrCat("received a series with invalid metric name: '",
                         Quoted200(text::RemoveNonAscii(*metric_name)),
                         "' (err-mimir-metric-name-invalid)")};
  }
  const auto count = static_cast<int>(labels.size());
  if (count > limits.max_label_names_per_series) {
    const bool info = metric_name->ends_with("_info");
    if (!info || count > limits.max_label_names_per_info_series) {
      const std::string series = text::SeriesString(labels);
      const char* ellipsis = text::CountRunes(series) > 200 ? "\xe2\x80\xa6" : "";
      if (info) {
        return {Refusal::kMaxLabelNamesPerInfoSeries,
                Limited(absl::StrCat("received an info series whose number of labels exceeds the "
                                     "limit (actual: ",
                                     count, ", limit: ", limits.max_label_names_per_info_series,
                                     ") series: '", Quoted200(series), ellipsis, "'"),
                        "max-label-names-per-info-series",
                        "validation.max-label-names-per-info-series")};
      }
      return {Refusal::kMaxLabelNamesPerSeries,
              Limited(absl::StrCat("received a series whose number of labels exceeds the limit "
                                   "(actual: ",
                                   count, ", limit: ", limits.max_label_names_per_series,
                                   ") series: '", Quoted200(series), ellipsis, "'"),
                      "max-label-names-per-series", "validation.max-label-names-per-series")};
    }
  }
  std::string_view last_name;
  for (size_t i = 0; i < labels.size(); ++i) {
    const Label& l = labels[i];
    if (!tsdb::IsLegacyLabelName(l.name)) {
      return {Refusal::kInvalidLabel,
              absl::StrCat("received a series with an invalid label: '", Quoted200(l.name),
                           "' series: '", Quoted200(text::SeriesString(labels)),
                           "' (err-mimir-label-invalid)")};
    }
    if (static_cast<int>(l.name.size()) > limits.max_label_name_length) {
      return {Refusal::kLabelNameTooLong,
              Limited(absl::StrCat("received a series whose label name length exceeds the limit, "
                                   "label: '",
                                   Quoted200(l.name), "' series: '",
                                   Quoted200(text::SeriesString(labels)), "'"),
                      "label-name-too-long", "validation.max-length-label-name")};
    }
    if (!text::ValidUtf8(l.value)) {
      return {Refusal::kInvalidLabelValue,
              absl::StrCat("received a series with invalid value in label '", Quoted200(l.name),
                           "': '", Quoted200(text::ToValidUtf8(l.value)), "' metric: '",
                           Quoted200(*metric_name), "' (err-mimir-label-value-invalid)")};
    }
    if (static_cast<int>(l.value.size()) > limits.max_label_value_length) {
      return {Refusal::kLabelValueTooLong,
              Limited(absl::StrCat("received a series whose label value length exceeds the limit, "
                                   "label: '",
                                   AV(l.name), "', value: '", Quoted200(l.value),
                                   "' (truncated) series: '", Quoted200(text::SeriesString(labels)),
                                   "'"),
                      "label-value-too-long", "validation.max-length-label-value")};
    }
    if (i > 0 && l.name == last_name) {
      return {Refusal::kDuplicateLabelNames,
              absl::StrCat("received a series with duplicate label name, label: '",
                           Quoted200(l.name), "' series: '", Quoted200(text::SeriesString(labels)),
                           "' (err-mimir-duplicate-label-names)")};
    }
    if (i > 0 && l.name < last_name) {
      return {Refusal::kLabelsNotSorted,
              absl::StrCat("received a series where the label names are not alphabetically "
                           "sorted, label: '",
                           Quoted200(l.name), "' series: '", Quoted200(text::SeriesString(labels)),
                           "' (err-mimir-labels-not-sorted)")};
    }
    last_name = l.name;
  }
  return {};
}

std::string SampleTimeMessage(Refusal reason, int64_t t, std::string_view metric_name) {
  if (reason == Refusal::kTooFarInFuture) {
    return Limited(absl::StrCat("received a sample whose timestamp is too far in the future, "
                                "timestamp: ",
                                t, " series: '", Quoted200(metric_name), "'"),
                   "too-far-in-future", "validation.create-grace-period");
  }
  return Limited(absl::StrCat("received a sample whose timestamp is too far in the past, "
                              "timestamp: ",
                              t, " series: '", Quoted200(metric_name), "'"),
                 "too-far-in-past", "validation.past-grace-period");
}

HistogramProblem IntegerBucketsFromDeltas(std::span<const int64_t> negative_deltas,
                                          std::span<const int64_t> positive_deltas,
                                          chunkenc::Histogram* h) {
  if (!ValidSchema(h->schema)) return HistogramProblem::kSchema;
  HistogramProblem problem = CheckSide(h->negative_spans, negative_deltas.size());
  if (problem == HistogramProblem::kNone) {
    problem = CheckSide(h->positive_spans, positive_deltas.size());
  }
  if (problem == HistogramProblem::kNone &&
      (!chunkenc::BucketsFromDeltas(negative_deltas, &h->negative_buckets).ok() ||
       !chunkenc::BucketsFromDeltas(positive_deltas, &h->positive_buckets).ok())) {
    problem = HistogramProblem::kNegativeCount;
  }
  return problem;
}

HistogramProblem CheckFloatHistogram(const chunkenc::FloatHistogram& h) {
  if (!ValidSchema(h.schema)) return HistogramProblem::kSchema;
  HistogramProblem problem = CheckSide(h.negative_spans, h.negative_buckets.size());
  if (problem == HistogramProblem::kNone) {
    problem = CheckSide(h.positive_spans, h.positive_buckets.size());
  }
  if (problem == HistogramProblem::kNone) {
    for (const auto* side : {&h.negative_buckets, &h.positive_buckets}) {
      for (double c : *side) {
        if (c < 0) problem = HistogramProblem::kNegativeCount;
      }
    }
  }
  return problem;
}

Problem HistogramRefusal(HistogramProblem problem, int32_t schema, int64_t t,
                         std::string_view metric_name) {
  switch (problem) {
    case HistogramProblem::kNone:
      return {};
    case HistogramProblem::kSchema:
      return {Refusal::kInvalidNativeHistogramSchema,
              absl::StrCat("received a native histogram sample with an invalid schema: ", schema,
                           " (err-mimir-invalid-native-histogram-schema)")};
    case HistogramProblem::kSpanOffset:
      return {Refusal::kNativeHistogramSpanNegativeOffset,
              absl::StrCat("received a native histogram sample with a span whose offset is "
                           "negative, timestamp: ",
                           t, " series: '", Quoted200(metric_name),
                           "' (err-mimir-native-histogram-span-negative-offset)")};
    case HistogramProblem::kSpansBuckets:
      return {Refusal::kNativeHistogramSpansBucketsMismatch,
              absl::StrCat("received a native histogram sample whose spans specify a different "
                           "number of buckets than provided, timestamp: ",
                           t, " series: '", Quoted200(metric_name),
                           "' (err-mimir-native-histogram-spans-buckets-mismatch)")};
    case HistogramProblem::kNegativeCount:
      break;
  }
  return {Refusal::kNativeHistogramNegativeBucketCount,
          absl::StrCat("received a native histogram sample with a bucket whose observation "
                       "count is negative, timestamp: ",
                       t, " series: '", Quoted200(metric_name),
                       "' (err-mimir-native-histogram-negative-bucket-count)")};
}

Refusal ExemplarRefusal(std::span<const Label> labels, int64_t timestamp_ms) {
  if (labels.empty()) return Refusal::kExemplarLabelsMissing;
  if (timestamp_ms == 0) return Refusal::kExemplarTimestampInvalid;
  size_t runes = 0;
  bool found_valid = false;
  bool utf8 = true;
  for (const Label& l : labels) {
    if (!l.name.empty() && !l.value.empty()) found_valid = true;
    runes += text::CountRunes(l.name) + text::CountRunes(l.value);
    utf8 = utf8 && text::ValidUtf8(l.name) && text::ValidUtf8(l.value);
  }
  if (runes > 128) return Refusal::kExemplarLabelsTooLong;
  if (!found_valid) return Refusal::kExemplarLabelsBlank;
  if (!utf8) return Refusal::kExemplarLabelsInvalidUtf8;
  return Refusal::kCount;
}

Problem ValidateMetadata(MetricMetadata* m, const Limits& limits) {
  if (m->metric_family_name.empty()) {
    return {Refusal::kMetadataMissingMetricName,
            "received a metric metadata with no metric name "
            "(err-mimir-metadata-missing-metric-name)"};
  }
  const auto max = static_cast<size_t>(std::max(0, limits.max_metadata_length));
  if (m->help.size() > max) {
    // Mimir keeps the characters that start at or before byte `max`.
    size_t cut = 0;
    for (size_t i = 0; i <= max && i < m->help.size();) {
      cut = i;
      i += text::TruncateRunes(m->help.substr(i), 1).size();
    }
    m->help = m->help.substr(0, cut);
  }
  if (m->metric_family_name.size() > max) {
    return {Refusal::kMetadataMetricNameTooLong,
            Limited(absl::StrCat("received a metric metadata whose metric name length "
                                 "exceeds the limit, metric name: '",
                                 Quoted200(m->metric_family_name), "'"),
                    "metric-name-too-long", "validation.max-metadata-length")};
  }
  if (m->unit.size() > max) {
    return {Refusal::kMetadataUnitTooLong,
            Limited(absl::StrCat("received a metric metadata whose unit name length "
                                 "exceeds the limit, unit: '",
                                 Quoted200(m->unit), "' metric name: '",
                                 Quoted200(m->metric_family_name), "'"),
                    "unit-too-long", "validation.max-metadata-length")};
  }
  for (auto [field, value] :
       {std::pair<std::string_view, std::string_view>{"metric_family_name", m->metric_family_name},
        {"help", m->help},
        {"unit", m->unit}}) {
    if (!text::ValidUtf8(value)) {
      return {Refusal::kMetadataInvalidUtf8,
              absl::StrCat("received a metric metadata whose ", AV(field),
                           " is not valid UTF-8, metric name: '", Quoted200(m->metric_family_name),
                           "'")};
    }
  }
  return {};
}

}  // namespace sprout::metrics::ingest
