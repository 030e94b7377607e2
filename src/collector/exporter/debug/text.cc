#include "collector/exporter/debug/text.h"

#include <charconv>
#include <cmath>
#include <ctime>
#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/go_format.h"
#include "base/hex.h"
#include "base/json_escape.h"

namespace sprout::collector::debugexporter {
namespace {

namespace pb = otlp::pb;
using KeyValues = google::protobuf::RepeatedPtrField<pb::common::KeyValue>;

// JSON as Go's encoding/json writes the value's raw form; false when it cannot (a NaN or an
// infinity inside), as json.Marshal then fails.
bool AppendJson(const pb::common::AnyValue& value, std::string* out) {
  switch (value.value_case()) {
    case pb::common::AnyValue::kStringValue:
      AppendJsonString(value.string_value(), out);
      return true;
    case pb::common::AnyValue::kBoolValue:
      *out += value.bool_value() ? "true" : "false";
      return true;
    case pb::common::AnyValue::kIntValue:
      absl::StrAppend(out, value.int_value());
      return true;
    case pb::common::AnyValue::kDoubleValue:
      return AppendGoJsonFloat(value.double_value(), out);
    case pb::common::AnyValue::kBytesValue:
      AppendJsonString(absl::Base64Escape(value.bytes_value()), out);
      return true;
    case pb::common::AnyValue::kArrayValue: {
      *out += "[";
      bool first = true;
      for (const auto& v : value.array_value().values()) {
        if (!first) *out += ",";
        first = false;
        if (!AppendJson(v, out)) return false;
      }
      *out += "]";
      return true;
    }
    case pb::common::AnyValue::kKvlistValue: {
      // Sorted by key, as Go's encoding/json writes maps.
      std::map<std::string, const pb::common::AnyValue*> sorted;
      for (const auto& kv : value.kvlist_value().values()) sorted[kv.key()] = &kv.value();
      *out += "{";
      bool first = true;
      for (const auto& [k, v] : sorted) {
        if (!first) *out += ",";
        first = false;
        AppendJsonString(k, out);
        *out += ":";
        if (!AppendJson(*v, out)) return false;
      }
      *out += "}";
      return true;
    }
    case pb::common::AnyValue::VALUE_NOT_SET:
      *out += "null";
      return true;
  }
  return true;
}

const char* SpanKindName(int kind) {
  static const char* kNames[] = {"Unspecified", "Internal", "Server",
                                 "Client",      "Producer", "Consumer"};
  return kind >= 0 && kind < 6 ? kNames[kind] : "Unspecified";
}

const char* StatusCodeName(int code) {
  static const char* kNames[] = {"Unset", "Ok", "Error"};
  return code >= 0 && code < 3 ? kNames[code] : "Unset";
}

const char* TemporalityName(int t) {
  static const char* kNames[] = {"Unspecified", "Delta", "Cumulative"};
  return t >= 0 && t < 3 ? kNames[t] : "Unspecified";
}

std::string SeverityName(int n) {
  if (n <= 0 || n > 24) return "Unspecified";
  static const char* kBase[] = {"Trace", "Debug", "Info", "Warn", "Error", "Fatal"};
  const int group = (n - 1) / 4;
  const int step = (n - 1) % 4;
  return step == 0 ? kBase[group] : absl::StrCat(kBase[group], step + 1);
}

// "     -> key: Str(value)" lines under a header; nothing when there are no attributes.
void AppendAttributes(std::string* out, std::string_view header, const KeyValues& attributes,
                      std::string_view indent = "     ") {
  if (attributes.empty()) return;
  absl::StrAppend(out, absl::string_view(header.data(), header.size()), ":\n");
  for (const auto& kv : attributes) {
    absl::StrAppend(out, absl::string_view(indent.data(), indent.size()), "-> ", kv.key(), ": ",
                    FormatValue(kv.value()), "\n");
  }
}

// "k=v k2=v2" as the normal verbosity prints attributes.
std::string InlineAttributes(const KeyValues& attributes) {
  std::string out;
  for (const auto& kv : attributes) {
    if (!out.empty()) out += " ";
    absl::StrAppend(&out, kv.key(), "=", ValueAsString(kv.value()));
  }
  return out;
}

std::string NormalResource(const char* kind, int index, const std::string& schema_url,
                           const pb::resource::Resource& resource) {
  std::string line = absl::StrCat(kind, " #", index);
  if (!schema_url.empty()) absl::StrAppend(&line, " [", schema_url, "]");
  const std::string attrs = InlineAttributes(resource.attributes());
  if (!attrs.empty()) absl::StrAppend(&line, " ", attrs);
  return line + "\n";
}

std::string NormalScope(const char* kind, int index, const std::string& schema_url,
                        const pb::common::InstrumentationScope& scope) {
  std::string line = absl::StrCat(kind, " #", index, " ", scope.name());
  if (!scope.version().empty()) absl::StrAppend(&line, "@", scope.version());
  if (!schema_url.empty()) absl::StrAppend(&line, " [", schema_url, "]");
  const std::string attrs = InlineAttributes(scope.attributes());
  if (!attrs.empty()) absl::StrAppend(&line, " ", attrs);
  return line + "\n";
}

void AppendDetailedScope(std::string* out, const char* kind, int index,
                         const std::string& schema_url,
                         const pb::common::InstrumentationScope& scope) {
  absl::StrAppend(out, kind, " #", index, "\n", kind, " SchemaURL: ", schema_url, "\n");
  absl::StrAppend(out, "InstrumentationScope ", scope.name(), " ", scope.version(), "\n");
  AppendAttributes(out, "InstrumentationScope attributes", scope.attributes());
}

void AppendDetailedResource(std::string* out, const char* kind, int index,
                            const std::string& schema_url, const pb::resource::Resource& resource) {
  absl::StrAppend(out, kind, " #", index, "\nResource SchemaURL: ", schema_url, "\n");
  AppendAttributes(out, "Resource attributes", resource.attributes());
}

void AppendExemplars(std::string* out,
                     const google::protobuf::RepeatedPtrField<pb::metrics::Exemplar>& exemplars) {
  if (exemplars.empty()) return;
  *out += "Exemplars:\n";
  for (int i = 0; i < exemplars.size(); ++i) {
    const auto& e = exemplars[i];
    absl::StrAppend(out, "Exemplar #", i, "\n     -> Trace ID: ", HexEncode(e.trace_id()),
                    "\n     -> Span ID: ", HexEncode(e.span_id()),
                    "\n     -> Timestamp: ", FormatTimestamp(e.time_unix_nano()),
                    "\n     -> Value: ",
                    e.value_case() == pb::metrics::Exemplar::kAsInt ? absl::StrCat(e.as_int())
                                                                    : GoSprintF(e.as_double()),
                    "\n");
    AppendAttributes(out, "     -> FilteredAttributes", e.filtered_attributes(), "          ");
  }
}

void AppendPointHeader(std::string* out, const char* kind, int index, const KeyValues& attributes,
                       uint64_t start, uint64_t time) {
  absl::StrAppend(out, kind, " #", index, "\n");
  AppendAttributes(out, "Data point attributes", attributes);
  absl::StrAppend(out, "StartTimestamp: ", FormatTimestamp(start),
                  "\nTimestamp: ", FormatTimestamp(time), "\n");
}

std::string NumberValue(const pb::metrics::NumberDataPoint& p, bool detailed) {
  if (p.value_case() == pb::metrics::NumberDataPoint::kAsInt) return absl::StrCat(p.as_int());
  return detailed ? GoSprintF(p.as_double()) : GoSprintV(p.as_double());
}

}  // namespace

std::string FormatValue(const pb::common::AnyValue& value) {
  switch (value.value_case()) {
    case pb::common::AnyValue::kStringValue:
      return absl::StrCat("Str(", value.string_value(), ")");
    case pb::common::AnyValue::kBoolValue:
      return value.bool_value() ? "Bool(true)" : "Bool(false)";
    case pb::common::AnyValue::kIntValue:
      return absl::StrCat("Int(", value.int_value(), ")");
    case pb::common::AnyValue::kDoubleValue:
      return absl::StrCat("Double(", PdataDoubleString(value.double_value()), ")");
    case pb::common::AnyValue::kBytesValue:
      return absl::StrCat("Bytes(", absl::Base64Escape(value.bytes_value()), ")");
    case pb::common::AnyValue::kArrayValue:
      return absl::StrCat("Slice(", ValueAsString(value), ")");
    case pb::common::AnyValue::kKvlistValue:
      return absl::StrCat("Map(", ValueAsString(value), ")");
    case pb::common::AnyValue::VALUE_NOT_SET:
      return "Empty()";
  }
  return "Empty()";
}

std::string ValueAsString(const pb::common::AnyValue& value) {
  switch (value.value_case()) {
    case pb::common::AnyValue::kStringValue:
      return value.string_value();
    case pb::common::AnyValue::kBoolValue:
      return value.bool_value() ? "true" : "false";
    case pb::common::AnyValue::kIntValue:
      return absl::StrCat(value.int_value());
    case pb::common::AnyValue::kDoubleValue:
      return PdataDoubleString(value.double_value());
    case pb::common::AnyValue::kBytesValue:
      return absl::Base64Escape(value.bytes_value());
    case pb::common::AnyValue::kArrayValue:
    case pb::common::AnyValue::kKvlistValue: {
      // pdata ignores the encoding error: the text is then empty.
      std::string out;
      if (!AppendJson(value, &out)) out.clear();
      return out;
    }
    case pb::common::AnyValue::VALUE_NOT_SET:
      return "";
  }
  return "";
}

std::string FormatTimestamp(uint64_t unix_nanos) {
  const time_t seconds = static_cast<time_t>(unix_nanos / 1000000000ULL);
  uint64_t frac = unix_nanos % 1000000000ULL;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  std::string out = buf;
  if (frac != 0) {
    std::string digits = absl::StrFormat("%09d", frac);
    while (!digits.empty() && digits.back() == '0') digits.pop_back();
    absl::StrAppend(&out, ".", digits);
  }
  return out + " +0000 UTC";
}

// ---- traces ----

std::string NormalText(const pb::trace_service::ExportTraceServiceRequest& request) {
  std::string out;
  for (int r = 0; r < request.resource_spans_size(); ++r) {
    const auto& rs = request.resource_spans(r);
    out += NormalResource("ResourceTraces", r, rs.schema_url(), rs.resource());
    for (int s = 0; s < rs.scope_spans_size(); ++s) {
      const auto& ss = rs.scope_spans(s);
      out += NormalScope("ScopeTraces", s, ss.schema_url(), ss.scope());
      for (const auto& span : ss.spans()) {
        absl::StrAppend(&out, span.name(), " ", HexEncode(span.trace_id()), " ",
                        HexEncode(span.span_id()));
        const std::string attrs = InlineAttributes(span.attributes());
        if (!attrs.empty()) absl::StrAppend(&out, " ", attrs);
        out += "\n";
      }
    }
  }
  return out;
}

std::string DetailedText(const pb::trace_service::ExportTraceServiceRequest& request) {
  std::string out;
  for (int r = 0; r < request.resource_spans_size(); ++r) {
    const auto& rs = request.resource_spans(r);
    AppendDetailedResource(&out, "ResourceSpans", r, rs.schema_url(), rs.resource());
    for (int s = 0; s < rs.scope_spans_size(); ++s) {
      const auto& ss = rs.scope_spans(s);
      AppendDetailedScope(&out, "ScopeSpans", s, ss.schema_url(), ss.scope());
      for (int i = 0; i < ss.spans_size(); ++i) {
        const auto& span = ss.spans(i);
        absl::StrAppend(&out, "Span #", i, "\n");
        absl::StrAppend(&out, "    Trace ID       : ", HexEncode(span.trace_id()), "\n");
        absl::StrAppend(&out, "    Parent ID      : ", HexEncode(span.parent_span_id()), "\n");
        absl::StrAppend(&out, "    ID             : ", HexEncode(span.span_id()), "\n");
        absl::StrAppend(&out, "    Name           : ", span.name(), "\n");
        absl::StrAppend(&out, "    Kind           : ", SpanKindName(span.kind()), "\n");
        absl::StrAppend(&out, "    TraceState     : ", span.trace_state(), "\n");
        absl::StrAppend(&out, "    Start time     : ", FormatTimestamp(span.start_time_unix_nano()),
                        "\n");
        absl::StrAppend(&out, "    End time       : ", FormatTimestamp(span.end_time_unix_nano()),
                        "\n");
        absl::StrAppend(&out, "    Status code    : ", StatusCodeName(span.status().code()), "\n");
        absl::StrAppend(&out, "    Status message : ", span.status().message(), "\n");
        absl::StrAppend(&out, "    DroppedAttributesCount: ", span.dropped_attributes_count(),
                        "\n");
        absl::StrAppend(&out, "    DroppedEventsCount: ", span.dropped_events_count(), "\n");
        absl::StrAppend(&out, "    DroppedLinksCount: ", span.dropped_links_count(), "\n");
        AppendAttributes(&out, "Attributes", span.attributes());
        if (span.events_size() > 0) {
          out += "Events:\n";
          for (int e = 0; e < span.events_size(); ++e) {
            const auto& event = span.events(e);
            absl::StrAppend(&out, "SpanEvent #", e, "\n     -> Name: ", event.name(),
                            "\n     -> Timestamp: ", FormatTimestamp(event.time_unix_nano()),
                            "\n     -> DroppedAttributesCount: ", event.dropped_attributes_count(),
                            "\n");
            AppendAttributes(&out, "     -> Attributes:", event.attributes(), "          ");
          }
        }
        if (span.links_size() > 0) {
          out += "Links:\n";
          for (int l = 0; l < span.links_size(); ++l) {
            const auto& link = span.links(l);
            absl::StrAppend(
                &out, "SpanLink #", l, "\n     -> Trace ID: ", HexEncode(link.trace_id()),
                "\n     -> ID: ", HexEncode(link.span_id()),
                "\n     -> TraceState: ", link.trace_state(),
                "\n     -> DroppedAttributesCount: ", link.dropped_attributes_count(), "\n");
            AppendAttributes(&out, "     -> Attributes:", link.attributes(), "          ");
          }
        }
      }
    }
  }
  return out;
}

// ---- metrics ----

std::string NormalText(const pb::metrics_service::ExportMetricsServiceRequest& request) {
  std::string out;
  auto labels = [](const KeyValues& attributes) {
    std::string s = "{";
    bool first = true;
    for (const auto& kv : attributes) {
      if (!first) s += ",";
      first = false;
      absl::StrAppend(&s, kv.key(), "=", ValueAsString(kv.value()));
    }
    return s + "}";
  };
  for (int r = 0; r < request.resource_metrics_size(); ++r) {
    const auto& rm = request.resource_metrics(r);
    out += NormalResource("ResourceMetrics", r, rm.schema_url(), rm.resource());
    for (int s = 0; s < rm.scope_metrics_size(); ++s) {
      const auto& sm = rm.scope_metrics(s);
      out += NormalScope("ScopeMetrics", s, sm.schema_url(), sm.scope());
      for (const auto& m : sm.metrics()) {
        auto numbers =
            [&](const google::protobuf::RepeatedPtrField<pb::metrics::NumberDataPoint>& points) {
              for (const auto& p : points) {
                absl::StrAppend(&out, m.name(), labels(p.attributes()), " ", NumberValue(p, false),
                                "\n");
              }
            };
        switch (m.data_case()) {
          case pb::metrics::Metric::kGauge:
            numbers(m.gauge().data_points());
            break;
          case pb::metrics::Metric::kSum:
            numbers(m.sum().data_points());
            break;
          case pb::metrics::Metric::kHistogram:
            for (const auto& p : m.histogram().data_points()) {
              absl::StrAppend(&out, m.name(), labels(p.attributes()), " count=", p.count());
              if (p.has_sum()) absl::StrAppend(&out, " sum=", GoSprintV(p.sum()));
              if (p.has_min()) absl::StrAppend(&out, " min=", GoSprintV(p.min()));
              if (p.has_max()) absl::StrAppend(&out, " max=", GoSprintV(p.max()));
              for (int b = 0; b < p.bucket_counts_size(); ++b) {
                const std::string le =
                    b < p.explicit_bounds_size() ? GoSprintV(p.explicit_bounds(b)) : "+Inf";
                absl::StrAppend(&out, " le", le, "=", p.bucket_counts(b));
              }
              out += "\n";
            }
            break;
          case pb::metrics::Metric::kExponentialHistogram:
            for (const auto& p : m.exponential_histogram().data_points()) {
              absl::StrAppend(&out, m.name(), labels(p.attributes()), " count=", p.count());
              if (p.has_sum()) absl::StrAppend(&out, " sum=", GoSprintV(p.sum()));
              absl::StrAppend(&out, " scale=", p.scale(), " zero_count=", p.zero_count(), "\n");
            }
            break;
          case pb::metrics::Metric::kSummary:
            for (const auto& p : m.summary().data_points()) {
              absl::StrAppend(&out, m.name(), labels(p.attributes()), " count=", p.count(),
                              " sum=", GoSprintF(p.sum()));
              for (const auto& q : p.quantile_values()) {
                absl::StrAppend(&out, " q", GoSprintV(q.quantile()), "=", GoSprintV(q.value()));
              }
              out += "\n";
            }
            break;
          case pb::metrics::Metric::DATA_NOT_SET:
            break;
        }
      }
    }
  }
  return out;
}

std::string DetailedText(const pb::metrics_service::ExportMetricsServiceRequest& request) {
  std::string out;
  for (int r = 0; r < request.resource_metrics_size(); ++r) {
    const auto& rm = request.resource_metrics(r);
    AppendDetailedResource(&out, "ResourceMetrics", r, rm.schema_url(), rm.resource());
    for (int s = 0; s < rm.scope_metrics_size(); ++s) {
      const auto& sm = rm.scope_metrics(s);
      AppendDetailedScope(&out, "ScopeMetrics", s, sm.schema_url(), sm.scope());
      for (int i = 0; i < sm.metrics_size(); ++i) {
        const auto& m = sm.metrics(i);
        absl::StrAppend(&out, "Metric #", i, "\nDescriptor:\n     -> Name: ", m.name(),
                        "\n     -> Description: ", m.description(), "\n     -> Unit: ", m.unit(),
                        "\n");
        auto numbers =
            [&](const google::protobuf::RepeatedPtrField<pb::metrics::NumberDataPoint>& points) {
              for (int p = 0; p < points.size(); ++p) {
                AppendPointHeader(&out, "NumberDataPoints", p, points[p].attributes(),
                                  points[p].start_time_unix_nano(), points[p].time_unix_nano());
                absl::StrAppend(&out, "Value: ", NumberValue(points[p], true), "\n");
                AppendExemplars(&out, points[p].exemplars());
              }
            };
        switch (m.data_case()) {
          case pb::metrics::Metric::kGauge:
            out += "     -> DataType: Gauge\n";
            numbers(m.gauge().data_points());
            break;
          case pb::metrics::Metric::kSum:
            absl::StrAppend(&out, "     -> DataType: Sum\n     -> IsMonotonic: ",
                            m.sum().is_monotonic() ? "true" : "false",
                            "\n     -> AggregationTemporality: ",
                            TemporalityName(m.sum().aggregation_temporality()), "\n");
            numbers(m.sum().data_points());
            break;
          case pb::metrics::Metric::kHistogram: {
            absl::StrAppend(&out, "     -> DataType: Histogram\n     -> AggregationTemporality: ",
                            TemporalityName(m.histogram().aggregation_temporality()), "\n");
            const auto& points = m.histogram().data_points();
            for (int p = 0; p < points.size(); ++p) {
              const auto& dp = points[p];
              AppendPointHeader(&out, "HistogramDataPoints", p, dp.attributes(),
                                dp.start_time_unix_nano(), dp.time_unix_nano());
              absl::StrAppend(&out, "Count: ", dp.count(), "\n");
              if (dp.has_sum()) absl::StrAppend(&out, "Sum: ", GoSprintF(dp.sum()), "\n");
              if (dp.has_min()) absl::StrAppend(&out, "Min: ", GoSprintF(dp.min()), "\n");
              if (dp.has_max()) absl::StrAppend(&out, "Max: ", GoSprintF(dp.max()), "\n");
              for (int b = 0; b < dp.explicit_bounds_size(); ++b) {
                absl::StrAppend(&out, "ExplicitBounds #", b, ": ", GoSprintF(dp.explicit_bounds(b)),
                                "\n");
              }
              for (int b = 0; b < dp.bucket_counts_size(); ++b) {
                absl::StrAppend(&out, "Buckets #", b, ", Count: ", dp.bucket_counts(b), "\n");
              }
              AppendExemplars(&out, dp.exemplars());
            }
            break;
          }
          case pb::metrics::Metric::kExponentialHistogram: {
            absl::StrAppend(
                &out, "     -> DataType: ExponentialHistogram\n     -> AggregationTemporality: ",
                TemporalityName(m.exponential_histogram().aggregation_temporality()), "\n");
            const auto& points = m.exponential_histogram().data_points();
            for (int p = 0; p < points.size(); ++p) {
              const auto& dp = points[p];
              AppendPointHeader(&out, "ExponentialHistogramDataPoints", p, dp.attributes(),
                                dp.start_time_unix_nano(), dp.time_unix_nano());
              absl::StrAppend(&out, "Count: ", dp.count(), "\n");
              if (dp.has_sum()) absl::StrAppend(&out, "Sum: ", GoSprintF(dp.sum()), "\n");
              if (dp.has_min()) absl::StrAppend(&out, "Min: ", GoSprintF(dp.min()), "\n");
              if (dp.has_max()) absl::StrAppend(&out, "Max: ", GoSprintF(dp.max()), "\n");
              absl::StrAppend(&out, "Scale: ", dp.scale(), "\nZeroCount: ", dp.zero_count(), "\n");
              const double base = std::pow(2.0, std::pow(2.0, -dp.scale()));
              auto buckets = [&](const pb::metrics::ExponentialHistogramDataPoint::Buckets& b,
                                 bool negative) {
                for (int k = 0; k < b.bucket_counts_size(); ++k) {
                  const int index = b.offset() + k;
                  const double lower = std::pow(base, index), upper = std::pow(base, index + 1);
                  if (negative) {
                    absl::StrAppend(&out, "Bucket [", GoSprintF(-upper), ", ", GoSprintF(-lower),
                                    "), Count: ", b.bucket_counts(k), "\n");
                  } else {
                    absl::StrAppend(&out, "Bucket (", GoSprintF(lower), ", ", GoSprintF(upper),
                                    "], Count: ", b.bucket_counts(k), "\n");
                  }
                }
              };
              buckets(dp.negative(), true);
              buckets(dp.positive(), false);
              AppendExemplars(&out, dp.exemplars());
            }
            break;
          }
          case pb::metrics::Metric::kSummary: {
            out += "     -> DataType: Summary\n";
            const auto& points = m.summary().data_points();
            for (int p = 0; p < points.size(); ++p) {
              const auto& dp = points[p];
              AppendPointHeader(&out, "SummaryDataPoints", p, dp.attributes(),
                                dp.start_time_unix_nano(), dp.time_unix_nano());
              absl::StrAppend(&out, "Count: ", dp.count(), "\nSum: ", GoSprintF(dp.sum()), "\n");
              for (int q = 0; q < dp.quantile_values_size(); ++q) {
                absl::StrAppend(&out, "QuantileValue #", q, ": Quantile ",
                                GoSprintF(dp.quantile_values(q).quantile()), ", Value ",
                                GoSprintF(dp.quantile_values(q).value()), "\n");
              }
            }
            break;
          }
          case pb::metrics::Metric::DATA_NOT_SET:
            out += "     -> DataType: Empty\n";
            break;
        }
      }
    }
  }
  return out;
}

// ---- logs ----

std::string NormalText(const pb::logs_service::ExportLogsServiceRequest& request) {
  std::string out;
  for (int r = 0; r < request.resource_logs_size(); ++r) {
    const auto& rl = request.resource_logs(r);
    out += NormalResource("ResourceLog", r, rl.schema_url(), rl.resource());
    for (int s = 0; s < rl.scope_logs_size(); ++s) {
      const auto& sl = rl.scope_logs(s);
      out += NormalScope("ScopeLog", s, sl.schema_url(), sl.scope());
      for (const auto& record : sl.log_records()) {
        out += ValueAsString(record.body());
        const std::string attrs = InlineAttributes(record.attributes());
        if (!attrs.empty()) absl::StrAppend(&out, " ", attrs);
        out += "\n";
      }
    }
  }
  return out;
}

std::string DetailedText(const pb::logs_service::ExportLogsServiceRequest& request) {
  std::string out;
  for (int r = 0; r < request.resource_logs_size(); ++r) {
    const auto& rl = request.resource_logs(r);
    AppendDetailedResource(&out, "ResourceLog", r, rl.schema_url(), rl.resource());
    for (int s = 0; s < rl.scope_logs_size(); ++s) {
      const auto& sl = rl.scope_logs(s);
      AppendDetailedScope(&out, "ScopeLogs", s, sl.schema_url(), sl.scope());
      for (int i = 0; i < sl.log_records_size(); ++i) {
        const auto& record = sl.log_records(i);
        absl::StrAppend(&out, "LogRecord #", i,
                        "\nObservedTimestamp: ", FormatTimestamp(record.observed_time_unix_nano()),
                        "\nTimestamp: ", FormatTimestamp(record.time_unix_nano()),
                        "\nSeverityText: ", record.severity_text(),
                        "\nSeverityNumber: ", SeverityName(record.severity_number()), "(",
                        record.severity_number(), ")\n");
        if (!record.event_name().empty())
          absl::StrAppend(&out, "EventName: ", record.event_name(), "\n");
        absl::StrAppend(&out, "Body: ", FormatValue(record.body()), "\n");
        AppendAttributes(&out, "Attributes", record.attributes());
        absl::StrAppend(&out, "Trace ID: ", HexEncode(record.trace_id()),
                        "\nSpan ID: ", HexEncode(record.span_id()), "\nFlags: ", record.flags(),
                        "\n");
      }
    }
  }
  return out;
}

}  // namespace sprout::collector::debugexporter
