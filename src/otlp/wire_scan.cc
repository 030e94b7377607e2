#include "otlp/wire_scan.h"

#include <cstring>

#include "google/protobuf/stubs/common.h"
#include "otlp/wire_format.h"

namespace sprout::otlp {
namespace {

using wire::ReadTag;
using wire::ReadVarint;

// Messages of the OTLP schema (proto/opentelemetry/...), as the scanner needs to know them.
enum class Msg : uint8_t {
  kTraceRequest,
  kResourceSpans,
  kScopeSpans,
  kSpan,
  kEvent,
  kLink,
  kStatus,
  kMetricsRequest,
  kResourceMetrics,
  kScopeMetrics,
  kMetric,
  kGauge,
  kSum,
  kHistogram,
  kExpHistogram,
  kSummary,
  kNumberPoint,
  kHistogramPoint,
  kExpHistogramPoint,
  kBuckets,
  kSummaryPoint,
  kQuantile,
  kExemplar,
  kLogsRequest,
  kResourceLogs,
  kScopeLogs,
  kLogRecord,
  kResource,
  kScope,
  kEntityRef,
  kKeyValue,
  kAnyValue,
  kArrayValue,
  kKeyValueList,
  kNone,
};

enum class Kind : uint8_t {
  kString,           // length-delimited, must be UTF-8
  kBytes,            // length-delimited
  kTraceId,          // bytes of length 16 or 0
  kSpanId,           // bytes of length 8 or 0
  kMessage,          // length-delimited nested message `msg`
  kVarint,           // wire type 0
  kFixed64,          // wire type 1
  kFixed32,          // wire type 5
  kRepeatedFixed64,  // wire type 1, or packed in wire type 2
  kRepeatedVarint,   // wire type 0, or packed in wire type 2
};

struct Field {
  uint32_t number;
  Kind kind;
  Msg msg = Msg::kNone;
};

// Field numbers of the OTLP schema are all below this; higher numbers are unknown fields.
constexpr uint32_t kMaxFieldNumber = 17;

struct Schema {
  const Field* fields;
  int size;
  bool is_item;  // a span, data point or log record
  // by_number[n] is the index in `fields` of field number n, or -1.
  int8_t by_number[kMaxFieldNumber];
};

#define FIELDS(name, ...) constexpr Field name[] = {__VA_ARGS__}
FIELDS(kTraceRequestF, {1, Kind::kMessage, Msg::kResourceSpans});
FIELDS(kResourceSpansF, {1, Kind::kMessage, Msg::kResource}, {2, Kind::kMessage, Msg::kScopeSpans},
       {3, Kind::kString});
FIELDS(kScopeSpansF, {1, Kind::kMessage, Msg::kScope}, {2, Kind::kMessage, Msg::kSpan},
       {3, Kind::kString});
FIELDS(kSpanF, {1, Kind::kTraceId}, {2, Kind::kSpanId}, {3, Kind::kString}, {4, Kind::kSpanId},
       {5, Kind::kString}, {6, Kind::kVarint}, {7, Kind::kFixed64}, {8, Kind::kFixed64},
       {9, Kind::kMessage, Msg::kKeyValue}, {10, Kind::kVarint}, {11, Kind::kMessage, Msg::kEvent},
       {12, Kind::kVarint}, {13, Kind::kMessage, Msg::kLink}, {14, Kind::kVarint},
       {15, Kind::kMessage, Msg::kStatus}, {16, Kind::kFixed32});
FIELDS(kEventF, {1, Kind::kFixed64}, {2, Kind::kString}, {3, Kind::kMessage, Msg::kKeyValue},
       {4, Kind::kVarint});
FIELDS(kLinkF, {1, Kind::kTraceId}, {2, Kind::kSpanId}, {3, Kind::kString},
       {4, Kind::kMessage, Msg::kKeyValue}, {5, Kind::kVarint}, {6, Kind::kFixed32});
FIELDS(kStatusF, {2, Kind::kString}, {3, Kind::kVarint});

FIELDS(kMetricsRequestF, {1, Kind::kMessage, Msg::kResourceMetrics});
FIELDS(kResourceMetricsF, {1, Kind::kMessage, Msg::kResource},
       {2, Kind::kMessage, Msg::kScopeMetrics}, {3, Kind::kString});
FIELDS(kScopeMetricsF, {1, Kind::kMessage, Msg::kScope}, {2, Kind::kMessage, Msg::kMetric},
       {3, Kind::kString});
FIELDS(kMetricF, {1, Kind::kString}, {2, Kind::kString}, {3, Kind::kString},
       {5, Kind::kMessage, Msg::kGauge}, {7, Kind::kMessage, Msg::kSum},
       {9, Kind::kMessage, Msg::kHistogram}, {10, Kind::kMessage, Msg::kExpHistogram},
       {11, Kind::kMessage, Msg::kSummary}, {12, Kind::kMessage, Msg::kKeyValue});
FIELDS(kGaugeF, {1, Kind::kMessage, Msg::kNumberPoint});
FIELDS(kSumF, {1, Kind::kMessage, Msg::kNumberPoint}, {2, Kind::kVarint}, {3, Kind::kVarint});
FIELDS(kHistogramF, {1, Kind::kMessage, Msg::kHistogramPoint}, {2, Kind::kVarint});
FIELDS(kExpHistogramF, {1, Kind::kMessage, Msg::kExpHistogramPoint}, {2, Kind::kVarint});
FIELDS(kSummaryF, {1, Kind::kMessage, Msg::kSummaryPoint});
FIELDS(kNumberPointF, {7, Kind::kMessage, Msg::kKeyValue}, {2, Kind::kFixed64}, {3, Kind::kFixed64},
       {4, Kind::kFixed64}, {6, Kind::kFixed64}, {5, Kind::kMessage, Msg::kExemplar},
       {8, Kind::kVarint});
FIELDS(kHistogramPointF, {9, Kind::kMessage, Msg::kKeyValue}, {2, Kind::kFixed64},
       {3, Kind::kFixed64}, {4, Kind::kFixed64}, {5, Kind::kFixed64}, {6, Kind::kRepeatedFixed64},
       {7, Kind::kRepeatedFixed64}, {8, Kind::kMessage, Msg::kExemplar}, {10, Kind::kVarint},
       {11, Kind::kFixed64}, {12, Kind::kFixed64});
FIELDS(kExpHistogramPointF, {1, Kind::kMessage, Msg::kKeyValue}, {2, Kind::kFixed64},
       {3, Kind::kFixed64}, {4, Kind::kFixed64}, {5, Kind::kFixed64}, {6, Kind::kVarint},
       {7, Kind::kFixed64}, {8, Kind::kMessage, Msg::kBuckets}, {9, Kind::kMessage, Msg::kBuckets},
       {10, Kind::kVarint}, {11, Kind::kMessage, Msg::kExemplar}, {12, Kind::kFixed64},
       {13, Kind::kFixed64}, {14, Kind::kFixed64});
FIELDS(kBucketsF, {1, Kind::kVarint}, {2, Kind::kRepeatedVarint});
FIELDS(kSummaryPointF, {7, Kind::kMessage, Msg::kKeyValue}, {2, Kind::kFixed64},
       {3, Kind::kFixed64}, {4, Kind::kFixed64}, {5, Kind::kFixed64},
       {6, Kind::kMessage, Msg::kQuantile}, {8, Kind::kVarint});
FIELDS(kQuantileF, {1, Kind::kFixed64}, {2, Kind::kFixed64});
FIELDS(kExemplarF, {7, Kind::kMessage, Msg::kKeyValue}, {2, Kind::kFixed64}, {3, Kind::kFixed64},
       {6, Kind::kFixed64}, {4, Kind::kSpanId}, {5, Kind::kTraceId});

FIELDS(kLogsRequestF, {1, Kind::kMessage, Msg::kResourceLogs});
FIELDS(kResourceLogsF, {1, Kind::kMessage, Msg::kResource}, {2, Kind::kMessage, Msg::kScopeLogs},
       {3, Kind::kString});
FIELDS(kScopeLogsF, {1, Kind::kMessage, Msg::kScope}, {2, Kind::kMessage, Msg::kLogRecord},
       {3, Kind::kString});
FIELDS(kLogRecordF, {1, Kind::kFixed64}, {11, Kind::kFixed64}, {2, Kind::kVarint},
       {3, Kind::kString}, {5, Kind::kMessage, Msg::kAnyValue}, {6, Kind::kMessage, Msg::kKeyValue},
       {7, Kind::kVarint}, {8, Kind::kFixed32}, {9, Kind::kTraceId}, {10, Kind::kSpanId},
       {12, Kind::kString});

FIELDS(kResourceF, {1, Kind::kMessage, Msg::kKeyValue}, {2, Kind::kVarint},
       {3, Kind::kMessage, Msg::kEntityRef});
FIELDS(kScopeF, {1, Kind::kString}, {2, Kind::kString}, {3, Kind::kMessage, Msg::kKeyValue},
       {4, Kind::kVarint});
FIELDS(kEntityRefF, {1, Kind::kString}, {2, Kind::kString}, {3, Kind::kString}, {4, Kind::kString});
FIELDS(kKeyValueF, {1, Kind::kString}, {2, Kind::kMessage, Msg::kAnyValue});
FIELDS(kAnyValueF, {1, Kind::kString}, {2, Kind::kVarint}, {3, Kind::kVarint}, {4, Kind::kFixed64},
       {5, Kind::kMessage, Msg::kArrayValue}, {6, Kind::kMessage, Msg::kKeyValueList},
       {7, Kind::kBytes});
FIELDS(kArrayValueF, {1, Kind::kMessage, Msg::kAnyValue});
FIELDS(kKeyValueListF, {1, Kind::kMessage, Msg::kKeyValue});
#undef FIELDS

template <size_t N>
constexpr Schema S(const Field (&f)[N], bool item = false) {
  Schema schema{f, static_cast<int>(N), item, {}};
  for (uint32_t n = 0; n < kMaxFieldNumber; ++n) schema.by_number[n] = -1;
  for (size_t i = 0; i < N; ++i) schema.by_number[f[i].number] = static_cast<int8_t>(i);
  return schema;
}

constexpr Schema kSchemas[] = {
    S(kTraceRequestF),
    S(kResourceSpansF),
    S(kScopeSpansF),
    S(kSpanF, true),
    S(kEventF),
    S(kLinkF),
    S(kStatusF),
    S(kMetricsRequestF),
    S(kResourceMetricsF),
    S(kScopeMetricsF),
    S(kMetricF),
    S(kGaugeF),
    S(kSumF),
    S(kHistogramF),
    S(kExpHistogramF),
    S(kSummaryF),
    S(kNumberPointF, true),
    S(kHistogramPointF, true),
    S(kExpHistogramPointF, true),
    S(kBucketsF),
    S(kSummaryPointF, true),
    S(kQuantileF),
    S(kExemplarF),
    S(kLogsRequestF),
    S(kResourceLogsF),
    S(kScopeLogsF),
    S(kLogRecordF, true),
    S(kResourceF),
    S(kScopeF),
    S(kEntityRefF),
    S(kKeyValueF),
    S(kAnyValueF),
    S(kArrayValueF),
    S(kKeyValueListF),
};

enum class Error { kNone, kWireFormat, kIdLength, kUtf8 };

// The protobuf parser's default recursion limit.
constexpr int kMaxDepth = 100;

class Scanner {
 public:
  Error error = Error::kNone;

  // Returns the items inside the message spanning [p, end), or -1 on error.
  int64_t Message(Msg msg, const char* p, const char* end, int depth) {
    const Schema& schema = kSchemas[static_cast<int>(msg)];
    int64_t items = schema.is_item ? 1 : 0;
    // Metric.data is a oneof: when a different member follows, the parser clears the earlier.
    uint32_t oneof_member = 0;
    int64_t oneof_items = 0;
    while (p < end) {
      uint32_t tag;
      if (!ReadTag(&p, end, &tag)) return Fail(Error::kWireFormat);
      const uint32_t number = tag >> 3;
      const uint32_t wire_type = tag & 7;
      if (number == 0) return Fail(Error::kWireFormat);
      const Field* field = nullptr;
      if (number < kMaxFieldNumber && schema.by_number[number] >= 0) {
        field = &schema.fields[schema.by_number[number]];
      }
      if (field == nullptr || !Matches(*field, wire_type)) {
        if (!SkipUnknown(&p, end, number, wire_type, depth)) return -1;
        continue;
      }
      switch (wire_type) {
        case 0: {
          uint64_t ignored;
          if (!ReadVarint(&p, end, &ignored, 10)) return Fail(Error::kWireFormat);
          break;
        }
        case 1:
          if (end - p < 8) return Fail(Error::kWireFormat);
          p += 8;
          break;
        case 5:
          if (end - p < 4) return Fail(Error::kWireFormat);
          p += 4;
          break;
        case 2: {
          uint64_t size;
          if (!ReadVarint(&p, end, &size, 10) || size > static_cast<uint64_t>(end - p) ||
              size > 0x7fffffffu) {
            return Fail(Error::kWireFormat);
          }
          const char* value = p;
          p += size;
          switch (field->kind) {
            case Kind::kString:
              if (!ValidUtf8(value, size)) return Fail(Error::kUtf8);
              break;
            case Kind::kTraceId:
              if (size != 0 && size != 16) return Fail(Error::kIdLength);
              break;
            case Kind::kSpanId:
              if (size != 0 && size != 8) return Fail(Error::kIdLength);
              break;
            case Kind::kRepeatedFixed64:
              if (size % 8 != 0) return Fail(Error::kWireFormat);
              break;
            case Kind::kRepeatedVarint: {
              const char* q = value;
              while (q < p) {
                uint64_t ignored;
                if (!ReadVarint(&q, p, &ignored, 10)) return Fail(Error::kWireFormat);
              }
              break;
            }
            case Kind::kMessage: {
              if (depth + 1 > kMaxDepth) return Fail(Error::kWireFormat);
              const int64_t inner = Message(field->msg, value, p, depth + 1);
              if (inner < 0) return -1;
              if (msg == Msg::kMetric && number != 12) {
                if (number != oneof_member) {
                  oneof_member = number;
                  oneof_items = 0;
                }
                oneof_items += inner;
              } else {
                items += inner;
              }
              break;
            }
            default:
              break;
          }
          break;
        }
        default:
          return Fail(Error::kWireFormat);
      }
    }
    return items + oneof_items;
  }

 private:
  int64_t Fail(Error e) {
    error = e;
    return -1;
  }

  static bool Matches(const Field& field, uint32_t wire_type) {
    switch (field.kind) {
      case Kind::kVarint:
        return wire_type == 0;
      case Kind::kFixed64:
        return wire_type == 1;
      case Kind::kFixed32:
        return wire_type == 5;
      case Kind::kRepeatedFixed64:
        return wire_type == 1 || wire_type == 2;
      case Kind::kRepeatedVarint:
        return wire_type == 0 || wire_type == 2;
      default:
        return wire_type == 2;
    }
  }

  // Most strings are ASCII: check eight bytes at a time before the full UTF-8 validation
  // (the same function the parser uses).
  static bool ValidUtf8(const char* p, uint64_t size) {
    uint64_t i = 0;
    for (; i + 8 <= size; i += 8) {
      uint64_t word;
      std::memcpy(&word, p + i, 8);
      if (word & 0x8080808080808080ULL) break;
    }
    for (; i < size; ++i) {
      if (static_cast<uint8_t>(p[i]) & 0x80) {
        return google::protobuf::internal::IsStructurallyValidUTF8(p + i,
                                                                   static_cast<int>(size - i));
      }
    }
    return true;
  }

  // Skips a field the schema does not know (or that came with an unexpected wire type); the
  // parser keeps those as unknown fields.
  bool SkipUnknown(const char** p, const char* end, uint32_t number, uint32_t wire_type,
                   int depth) {
    switch (wire_type) {
      case 0: {
        uint64_t ignored;
        if (!ReadVarint(p, end, &ignored, 10)) return Fail(Error::kWireFormat), false;
        return true;
      }
      case 1:
        if (end - *p < 8) return Fail(Error::kWireFormat), false;
        *p += 8;
        return true;
      case 5:
        if (end - *p < 4) return Fail(Error::kWireFormat), false;
        *p += 4;
        return true;
      case 2: {
        uint64_t size;
        if (!ReadVarint(p, end, &size, 10) || size > static_cast<uint64_t>(end - *p)) {
          return Fail(Error::kWireFormat), false;
        }
        *p += size;
        return true;
      }
      case 3: {  // a group: fields until the matching end-group tag
        if (depth + 1 > kMaxDepth) return Fail(Error::kWireFormat), false;
        while (true) {
          uint32_t tag;
          if (!ReadTag(p, end, &tag)) return Fail(Error::kWireFormat), false;
          const uint32_t inner_number = tag >> 3;
          const uint32_t inner_type = tag & 7;
          if (inner_type == 4) {
            if (inner_number != number) return Fail(Error::kWireFormat), false;
            return true;
          }
          if (inner_number == 0) return Fail(Error::kWireFormat), false;
          if (!SkipUnknown(p, end, inner_number, inner_type, depth + 1)) return false;
        }
      }
      default:  // 4 (an end-group tag outside a group), 6, 7
        return Fail(Error::kWireFormat), false;
    }
  }
};

absl::Status ToStatus(Error error) {
  switch (error) {
    case Error::kIdLength:
      return absl::InvalidArgumentError("invalid length for ID");
    case Error::kUtf8:
      return absl::InvalidArgumentError(
          "proto: cannot parse invalid wire-format data: string field contains invalid UTF-8");
    default:
      return absl::InvalidArgumentError("proto: cannot parse invalid wire-format data");
  }
}

bool BadTraceId(const std::string& id) { return !id.empty() && id.size() != 16; }
bool BadSpanId(const std::string& id) { return !id.empty() && id.size() != 8; }
absl::Status IdError() { return absl::InvalidArgumentError("invalid length for ID"); }

template <typename Points>
bool BadExemplars(const Points& points) {
  for (const auto& p : points) {
    for (const auto& e : p.exemplars()) {
      if (BadTraceId(e.trace_id()) || BadSpanId(e.span_id())) return true;
    }
  }
  return false;
}

}  // namespace

absl::StatusOr<int64_t> ScanRequest(Signal signal, std::string_view wire) {
  if (wire.size() > 0x7fffffffu) return ToStatus(Error::kWireFormat);
  Msg root = Msg::kTraceRequest;
  if (signal == Signal::kMetrics) root = Msg::kMetricsRequest;
  if (signal == Signal::kLogs) root = Msg::kLogsRequest;
  Scanner scanner;
  const int64_t items = scanner.Message(root, wire.data(), wire.data() + wire.size(), 0);
  if (items < 0) return ToStatus(scanner.error);
  return items;
}

absl::Status ValidateIds(const pb::trace_service::ExportTraceServiceRequest& request) {
  for (const auto& rs : request.resource_spans()) {
    for (const auto& ss : rs.scope_spans()) {
      for (const auto& span : ss.spans()) {
        if (BadTraceId(span.trace_id()) || BadSpanId(span.span_id()) ||
            BadSpanId(span.parent_span_id())) {
          return IdError();
        }
        for (const auto& link : span.links()) {
          if (BadTraceId(link.trace_id()) || BadSpanId(link.span_id())) return IdError();
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateIds(const pb::metrics_service::ExportMetricsServiceRequest& request) {
  for (const auto& rm : request.resource_metrics()) {
    for (const auto& sm : rm.scope_metrics()) {
      for (const auto& m : sm.metrics()) {
        const bool bad = BadExemplars(m.gauge().data_points()) ||
                         BadExemplars(m.sum().data_points()) ||
                         BadExemplars(m.histogram().data_points()) ||
                         BadExemplars(m.exponential_histogram().data_points());
        if (bad) return IdError();
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateIds(const pb::logs_service::ExportLogsServiceRequest& request) {
  for (const auto& rl : request.resource_logs()) {
    for (const auto& sl : rl.scope_logs()) {
      for (const auto& record : sl.log_records()) {
        if (BadTraceId(record.trace_id()) || BadSpanId(record.span_id())) return IdError();
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace sprout::otlp
