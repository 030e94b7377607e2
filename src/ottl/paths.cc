// Context paths (team reference collector.md §7.5–7.7): every path is resolved at parse time to
// an accessor function over EvalContext; keys are applied to what it returns.
#include <array>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/hex.h"
#include "base/status.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "ottl/internal.h"

namespace sprout::ottl {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using otlp::pb::common::KeyValue;
namespace metrics = otlp::pb::metrics;
namespace trace = otlp::pb::trace;

using Accessor = Value (*)(const EvalContext&);

// How the first key of a path is applied.
enum class KeyMode { kGeneric, kTraceState, kBody };

const OwnedMap kEmptyMap;

// --- values from messages ---------------------------------------------------------------------

Value MessageToValue(const Message& m);

Value FieldToValue(const Message& m, const FieldDescriptor* f, int index) {
  const auto* r = m.GetReflection();
  const bool rep = index >= 0;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return Value::Int(rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f));
    case FieldDescriptor::CPPTYPE_INT64:
      return Value::Int(rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f));
    case FieldDescriptor::CPPTYPE_UINT32:
      return Value::Int(rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f));
    case FieldDescriptor::CPPTYPE_UINT64:
      return Value::Int(
          static_cast<int64_t>(rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f)));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return Value::Double(rep ? r->GetRepeatedDouble(m, f, index) : r->GetDouble(m, f));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return Value::Double(rep ? r->GetRepeatedFloat(m, f, index) : r->GetFloat(m, f));
    case FieldDescriptor::CPPTYPE_BOOL:
      return Value::Bool(rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f));
    case FieldDescriptor::CPPTYPE_ENUM:
      return Value::Int(rep ? r->GetRepeatedEnumValue(m, f, index) : r->GetEnumValue(m, f));
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& s = rep ? r->GetRepeatedStringReference(m, f, index, &scratch)
                                 : r->GetStringReference(m, f, &scratch);
      // Only a Cord field would use `scratch`; OTLP has none, but stay safe.
      if (&s == &scratch) {
        return Value::Owned(f->type() == FieldDescriptor::TYPE_BYTES ? Type::kBytes : Type::kString,
                            scratch);
      }
      return Value::View(f->type() == FieldDescriptor::TYPE_BYTES ? Type::kBytes : Type::kString,
                         s);
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const Message& sub = rep ? r->GetRepeatedMessage(m, f, index) : r->GetMessage(m, f);
      if (f->message_type() == otlp::pb::common::AnyValue::descriptor()) {
        return FromAnyValue(static_cast<const otlp::pb::common::AnyValue&>(sub));
      }
      return MessageToValue(sub);
    }
  }
  return Value::Nil();
}

// A message as a map of its fields (set fields of oneofs only); repeated KeyValue fields are
// attribute maps. Used for the rarely compared list paths (events, links, data_points, ...).
Value MessageToValue(const Message& m) {
  auto map = std::make_shared<OwnedMap>();
  const auto* d = m.GetDescriptor();
  const auto* r = m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->is_repeated()) {
      if (f->message_type() == KeyValue::descriptor()) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
        // The message's own field: a borrowed attribute map, as for `attributes`.
        const auto& attributes = r->GetRepeatedPtrField<KeyValue>(m, f);
#pragma GCC diagnostic pop
        map->entries.emplace_back(f->name(), Value::PbMap(&attributes));
        continue;
      }
      auto list = std::make_shared<OwnedList>();
      const int n = r->FieldSize(m, f);
      for (int k = 0; k < n; ++k) list->items.push_back(FieldToValue(m, f, k));
      map->entries.emplace_back(f->name(), Value::OwnedListValue(std::move(list)));
      continue;
    }
    if ((f->containing_oneof() || f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) &&
        !r->HasField(m, f)) {
      continue;
    }
    map->entries.emplace_back(f->name(), FieldToValue(m, f, -1));
  }
  return Value::OwnedMapValue(std::move(map));
}

template <typename M>
Value MessagesToList(const google::protobuf::RepeatedPtrField<M>& items) {
  auto list = std::make_shared<OwnedList>();
  list->items.reserve(items.size());
  for (const M& item : items) list->items.push_back(MessageToValue(item));
  return Value::OwnedListValue(std::move(list));
}

template <typename T>
Value ScalarsToList(const google::protobuf::RepeatedField<T>& items) {
  auto list = std::make_shared<OwnedList>();
  list->items.reserve(items.size());
  for (T item : items) {
    if constexpr (std::is_floating_point_v<T>) {
      list->items.push_back(Value::Double(item));
    } else {
      list->items.push_back(Value::Int(static_cast<int64_t>(item)));
    }
  }
  return Value::OwnedListValue(std::move(list));
}

// --- IDs and times ------------------------------------------------------------------------------

constexpr char kZeroId[16] = {};

// pcommon IDs are fixed-size arrays: an absent (or malformed) ID reads as all zeros.
Value Id(Type type, const std::string& bytes) {
  const size_t n = type == Type::kTraceId ? 16 : 8;
  if (bytes.size() != n) return Value::View(type, std::string_view(kZeroId, n));
  return Value::View(type, bytes);
}

// pcommon's TraceID.String(): lower hex, "" for the all-zero ID.
Value IdString(const std::string& bytes, size_t n) {
  if (bytes.size() != n || bytes.find_first_not_of('\0') == std::string::npos) {
    return Value::Str("");
  }
  return Value::OwnedStr(HexEncode(bytes));
}

Value Time(uint64_t nanos) { return Value::Time(static_cast<int64_t>(nanos)); }
Value UInt(uint64_t v) { return Value::Int(static_cast<int64_t>(v)); }

// --- resource and scope --------------------------------------------------------------------------

Value CacheMap(const EvalContext&) { return Value::MapRef(&kEmptyMap); }

#define RES(expr)                                   \
  [](const EvalContext& c) -> Value {               \
    if (c.resource == nullptr) return Value::Nil(); \
    const auto& r = *c.resource;                    \
    return expr;                                    \
  }
#define SCOPE(expr)                              \
  [](const EvalContext& c) -> Value {            \
    if (c.scope == nullptr) return Value::Nil(); \
    const auto& s = *c.scope;                    \
    return expr;                                 \
  }
#define SPAN(expr)                              \
  [](const EvalContext& c) -> Value {           \
    if (c.span == nullptr) return Value::Nil(); \
    const auto& s = *c.span;                    \
    return expr;                                \
  }
#define EVENT(expr)                                   \
  [](const EvalContext& c) -> Value {                 \
    if (c.span_event == nullptr) return Value::Nil(); \
    const auto& e = *c.span_event;                    \
    return expr;                                      \
  }
#define METRIC(expr)                              \
  [](const EvalContext& c) -> Value {             \
    if (c.metric == nullptr) return Value::Nil(); \
    const auto& m = *c.metric;                    \
    return expr;                                  \
  }
#define LOGREC(expr)                           \
  [](const EvalContext& c) -> Value {          \
    if (c.log == nullptr) return Value::Nil(); \
    const auto& l = *c.log;                    \
    return expr;                               \
  }

struct Field {
  std::string_view name;
  std::string_view sub;  // second segment ("string" of trace_id.string), or empty
  Accessor accessor;
  KeyMode mode = KeyMode::kGeneric;
};

const std::vector<Field>& ResourceFields() {
  static const std::vector<Field> fields = {
      {"attributes", "", RES(Value::PbMap(&r.attributes()))},
      {"dropped_attributes_count", "", RES(UInt(r.dropped_attributes_count()))},
      {"schema_url", "", [](const EvalContext& c) { return Value::Str(c.resource_schema_url); }},
      {"cache", "", CacheMap},
  };
  return fields;
}

const std::vector<Field>& ScopeFields() {
  static const std::vector<Field> fields = {
      {"name", "", SCOPE(Value::Str(s.name()))},
      {"version", "", SCOPE(Value::Str(s.version()))},
      {"attributes", "", SCOPE(Value::PbMap(&s.attributes()))},
      {"dropped_attributes_count", "", SCOPE(UInt(s.dropped_attributes_count()))},
      {"schema_url", "", [](const EvalContext& c) { return Value::Str(c.scope_schema_url); }},
      {"cache", "", CacheMap},
  };
  return fields;
}

std::string_view SpanKindString(int kind) {
  static constexpr std::array<std::string_view, 6> kNames = {"Unspecified", "Internal", "Server",
                                                             "Client",      "Producer", "Consumer"};
  return kind >= 0 && kind < 6 ? kNames[kind] : std::string_view();
}
std::string_view SpanKindDeprecatedString(int kind) {
  static constexpr std::array<std::string_view, 6> kNames = {
      "SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER",
      "SPAN_KIND_CLIENT",      "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"};
  return kind >= 0 && kind < 6 ? kNames[kind] : std::string_view();
}

Value StatusMap(const trace::Span& s) { return MessageToValue(s.status()); }

const std::vector<Field>& SpanFields() {
  static const std::vector<Field> fields = {
      {"trace_id", "string", SPAN(IdString(s.trace_id(), 16))},
      {"trace_id", "", SPAN(Id(Type::kTraceId, s.trace_id()))},
      {"span_id", "string", SPAN(IdString(s.span_id(), 8))},
      {"span_id", "", SPAN(Id(Type::kSpanId, s.span_id()))},
      {"parent_span_id", "string", SPAN(IdString(s.parent_span_id(), 8))},
      {"parent_span_id", "", SPAN(Id(Type::kSpanId, s.parent_span_id()))},
      {"trace_state", "", SPAN(Value::Str(s.trace_state())), KeyMode::kTraceState},
      {"name", "", SPAN(Value::Str(s.name()))},
      {"kind", "string", SPAN(Value::Str(SpanKindString(s.kind())))},
      {"kind", "deprecated_string", SPAN(Value::Str(SpanKindDeprecatedString(s.kind())))},
      {"kind", "", SPAN(Value::Int(s.kind()))},
      {"start_time_unix_nano", "", SPAN(UInt(s.start_time_unix_nano()))},
      {"end_time_unix_nano", "", SPAN(UInt(s.end_time_unix_nano()))},
      {"start_time", "", SPAN(Time(s.start_time_unix_nano()))},
      {"end_time", "", SPAN(Time(s.end_time_unix_nano()))},
      {"attributes", "", SPAN(Value::PbMap(&s.attributes()))},
      {"dropped_attributes_count", "", SPAN(UInt(s.dropped_attributes_count()))},
      {"events", "", SPAN(MessagesToList(s.events()))},
      {"dropped_events_count", "", SPAN(UInt(s.dropped_events_count()))},
      {"links", "", SPAN(MessagesToList(s.links()))},
      {"dropped_links_count", "", SPAN(UInt(s.dropped_links_count()))},
      {"status", "code", SPAN(Value::Int(s.status().code()))},
      {"status", "message", SPAN(Value::Str(s.status().message()))},
      {"status", "", SPAN(StatusMap(s))},
      {"flags", "", SPAN(UInt(s.flags()))},
      {"cache", "", CacheMap},
  };
  return fields;
}

const std::vector<Field>& SpanEventFields() {
  static const std::vector<Field> fields = {
      {"name", "", EVENT(Value::Str(e.name()))},
      {"time_unix_nano", "", EVENT(UInt(e.time_unix_nano()))},
      {"time", "", EVENT(Time(e.time_unix_nano()))},
      {"attributes", "", EVENT(Value::PbMap(&e.attributes()))},
      {"dropped_attributes_count", "", EVENT(UInt(e.dropped_attributes_count()))},
      {"event_index", "", [](const EvalContext& c) { return Value::Int(c.event_index); }},
      {"cache", "", CacheMap},
  };
  return fields;
}

// METRIC_DATA_TYPE_* of a metric.
int64_t MetricType(const metrics::Metric& m) {
  switch (m.data_case()) {
    case metrics::Metric::kGauge:
      return 1;
    case metrics::Metric::kSum:
      return 2;
    case metrics::Metric::kHistogram:
      return 3;
    case metrics::Metric::kExponentialHistogram:
      return 4;
    case metrics::Metric::kSummary:
      return 5;
    default:
      return 0;
  }
}

Value Temporality(const metrics::Metric& m) {
  switch (m.data_case()) {
    case metrics::Metric::kSum:
      return Value::Int(m.sum().aggregation_temporality());
    case metrics::Metric::kHistogram:
      return Value::Int(m.histogram().aggregation_temporality());
    case metrics::Metric::kExponentialHistogram:
      return Value::Int(m.exponential_histogram().aggregation_temporality());
    default:
      return Value::Nil();
  }
}

Value DataPoints(const metrics::Metric& m) {
  switch (m.data_case()) {
    case metrics::Metric::kGauge:
      return MessagesToList(m.gauge().data_points());
    case metrics::Metric::kSum:
      return MessagesToList(m.sum().data_points());
    case metrics::Metric::kHistogram:
      return MessagesToList(m.histogram().data_points());
    case metrics::Metric::kExponentialHistogram:
      return MessagesToList(m.exponential_histogram().data_points());
    case metrics::Metric::kSummary:
      return MessagesToList(m.summary().data_points());
    default:
      return Value::OwnedListValue(std::make_shared<OwnedList>());
  }
}

const std::vector<Field>& MetricFields() {
  static const std::vector<Field> fields = {
      {"name", "", METRIC(Value::Str(m.name()))},
      {"description", "", METRIC(Value::Str(m.description()))},
      {"unit", "", METRIC(Value::Str(m.unit()))},
      {"type", "", METRIC(Value::Int(MetricType(m)))},
      {"aggregation_temporality", "", METRIC(Temporality(m))},
      {"is_monotonic", "",
       METRIC(m.has_sum() ? Value::Bool(m.sum().is_monotonic()) : Value::Nil())},
      {"data_points", "", METRIC(DataPoints(m))},
      {"metadata", "", METRIC(Value::PbMap(&m.metadata()))},
      {"cache", "", CacheMap},
  };
  return fields;
}

// Calls `f` with whichever data point is set; nil when none.
template <typename F>
Value WithPoint(const EvalContext& c, F&& f) {
  if (c.number_point != nullptr) return f(*c.number_point);
  if (c.histogram_point != nullptr) return f(*c.histogram_point);
  if (c.exponential_point != nullptr) return f(*c.exponential_point);
  if (c.summary_point != nullptr) return f(*c.summary_point);
  return Value::Nil();
}

template <typename P>
constexpr bool kIsNumber = std::is_same_v<P, metrics::NumberDataPoint>;
template <typename P>
constexpr bool kIsHistogram = std::is_same_v<P, metrics::HistogramDataPoint>;
template <typename P>
constexpr bool kIsExponential = std::is_same_v<P, metrics::ExponentialHistogramDataPoint>;
template <typename P>
constexpr bool kIsSummary = std::is_same_v<P, metrics::SummaryDataPoint>;

// A data point field that exists for the point types where `cond` holds; nil elsewhere.
#define POINT(cond, expr)                                   \
  [](const EvalContext& c) -> Value {                       \
    return WithPoint(c, [](const auto& p) -> Value {        \
      using P [[maybe_unused]] = std::decay_t<decltype(p)>; \
      if constexpr (cond) {                                 \
        return expr;                                        \
      } else {                                              \
        return Value::Nil();                                \
      }                                                     \
    });                                                     \
  }

Value Buckets(const metrics::ExponentialHistogramDataPoint::Buckets& b) {
  return MessageToValue(b);
}

const std::vector<Field>& DataPointFields() {
  static const std::vector<Field> fields = {
      {"attributes", "", POINT(true, Value::PbMap(&p.attributes()))},
      {"start_time_unix_nano", "", POINT(true, UInt(p.start_time_unix_nano()))},
      {"time_unix_nano", "", POINT(true, UInt(p.time_unix_nano()))},
      {"start_time", "", POINT(true, Time(p.start_time_unix_nano()))},
      {"time", "", POINT(true, Time(p.time_unix_nano()))},
      {"value_double", "", POINT(kIsNumber<P>, Value::Double(p.as_double()))},
      {"value_int", "", POINT(kIsNumber<P>, Value::Int(p.as_int()))},
      {"exemplars", "", POINT(!kIsSummary<P>, MessagesToList(p.exemplars()))},
      {"flags", "", POINT(true, UInt(p.flags()))},
      {"count", "", POINT(!kIsNumber<P>, UInt(p.count()))},
      {"sum", "", POINT(!kIsNumber<P>, Value::Double(p.sum()))},
      {"bucket_counts", "", POINT(kIsHistogram<P>, ScalarsToList(p.bucket_counts()))},
      {"explicit_bounds", "", POINT(kIsHistogram<P>, ScalarsToList(p.explicit_bounds()))},
      {"scale", "", POINT(kIsExponential<P>, Value::Int(p.scale()))},
      {"zero_count", "", POINT(kIsExponential<P>, UInt(p.zero_count()))},
      {"positive", "offset", POINT(kIsExponential<P>, Value::Int(p.positive().offset()))},
      {"positive", "bucket_counts",
       POINT(kIsExponential<P>, ScalarsToList(p.positive().bucket_counts()))},
      {"positive", "", POINT(kIsExponential<P>, Buckets(p.positive()))},
      {"negative", "offset", POINT(kIsExponential<P>, Value::Int(p.negative().offset()))},
      {"negative", "bucket_counts",
       POINT(kIsExponential<P>, ScalarsToList(p.negative().bucket_counts()))},
      {"negative", "", POINT(kIsExponential<P>, Buckets(p.negative()))},
      {"quantile_values", "", POINT(kIsSummary<P>, MessagesToList(p.quantile_values()))},
      {"cache", "", CacheMap},
  };
  return fields;
}

// pcommon Value.AsString() of a log body.
Value BodyString(const otlp::pb::common::AnyValue& body) {
  const Value v = FromAnyValue(body);
  if (v.type == Type::kString) return v;
  if (v.type == Type::kNil) return Value::Str("");
  std::string s;
  StringLike(v, &s);
  return Value::OwnedStr(std::move(s));
}

const std::vector<Field>& LogFields() {
  static const std::vector<Field> fields = {
      {"time_unix_nano", "", LOGREC(UInt(l.time_unix_nano()))},
      {"observed_time_unix_nano", "", LOGREC(UInt(l.observed_time_unix_nano()))},
      {"time", "", LOGREC(Time(l.time_unix_nano()))},
      {"observed_time", "", LOGREC(Time(l.observed_time_unix_nano()))},
      {"severity_number", "", LOGREC(Value::Int(l.severity_number()))},
      {"severity_text", "", LOGREC(Value::Str(l.severity_text()))},
      {"body", "string", LOGREC(BodyString(l.body()))},
      {"body", "", LOGREC(FromAnyValue(l.body())), KeyMode::kBody},
      {"attributes", "", LOGREC(Value::PbMap(&l.attributes()))},
      {"dropped_attributes_count", "", LOGREC(UInt(l.dropped_attributes_count()))},
      {"flags", "", LOGREC(UInt(l.flags()))},
      {"trace_id", "string", LOGREC(IdString(l.trace_id(), 16))},
      {"trace_id", "", LOGREC(Id(Type::kTraceId, l.trace_id()))},
      {"span_id", "string", LOGREC(IdString(l.span_id(), 8))},
      {"span_id", "", LOGREC(Id(Type::kSpanId, l.span_id()))},
      {"event_name", "", LOGREC(Value::Str(l.event_name()))},
      {"cache", "", CacheMap},
  };
  return fields;
}

const std::vector<Field>& FieldsOf(ContextKind kind) {
  switch (kind) {
    case ContextKind::kResource:
      return ResourceFields();
    case ContextKind::kScope:
      return ScopeFields();
    case ContextKind::kSpan:
      return SpanFields();
    case ContextKind::kSpanEvent:
      return SpanEventFields();
    case ContextKind::kMetric:
      return MetricFields();
    case ContextKind::kDataPoint:
      return DataPointFields();
    case ContextKind::kLog:
      break;
  }
  return LogFields();
}

std::string_view DisplayName(ContextKind kind) {
  switch (kind) {
    case ContextKind::kResource:
      return "Resource";
    case ContextKind::kScope:
      return "Instrumentation Scope";
    case ContextKind::kSpan:
      return "Span";
    case ContextKind::kSpanEvent:
      return "SpanEvent";
    case ContextKind::kMetric:
      return "Metric";
    case ContextKind::kDataPoint:
      return "DataPoint";
    case ContextKind::kLog:
      break;
  }
  return "Log";
}

// W3C tracestate: comma-separated `key=value` members with optional spaces/tabs around them.
// Malformed members are skipped; an absent key reads as "" (as ptrace's TraceState.Get does).
std::string_view TraceStateGet(std::string_view list, std::string_view key) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    std::string_view member = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    while (!member.empty() && (member.front() == ' ' || member.front() == '\t')) {
      member.remove_prefix(1);
    }
    while (!member.empty() && (member.back() == ' ' || member.back() == '\t')) {
      member.remove_suffix(1);
    }
    const size_t eq = member.find('=');
    if (eq == std::string_view::npos) continue;
    if (member.substr(0, eq) == key) return member.substr(eq + 1);
  }
  return std::string_view();
}

class PathGetter : public Getter {
 public:
  PathGetter(Accessor accessor, KeyMode mode, std::vector<Key> keys)
      : accessor_(accessor), mode_(mode), keys_(std::move(keys)) {}

  absl::StatusOr<Value> Get(const EvalContext& ctx) const override {
    Value v = accessor_(ctx);
    if (keys_.empty()) return v;
    switch (mode_) {
      case KeyMode::kGeneric:
        break;
      case KeyMode::kTraceState: {
        const Key& key = keys_[0];
        std::string_view name = key.str;
        Value dynamic;
        if (key.kind == Key::kDynamic) {
          ASSIGN_OR_RETURN(dynamic, key.getter->Get(ctx));
          if (dynamic.type != Type::kString) {
            return absl::InvalidArgumentError(
                absl::StrCat("trace_state keys must be strings, got ", AV(GoTypeName(dynamic))));
          }
          name = dynamic.s;
        } else if (key.kind == Key::kInt) {
          return absl::InvalidArgumentError("trace_state keys must be strings, got int64");
        }
        return ApplyKeys(Value::Str(TraceStateGet(v.s, name)), keys_, 1, ctx, KeyStyle::kGo);
      }
      case KeyMode::kBody:
        if (v.type != Type::kMap && v.type != Type::kList) {
          return absl::InvalidArgumentError(
              absl::StrCat("log bodies of type ", AV(PcommonTypeName(v)), " cannot be indexed"));
        }
        break;
    }
    return ApplyKeys(std::move(v), keys_, 0, ctx, KeyStyle::kPcommon);
  }

 private:
  Accessor accessor_;
  KeyMode mode_;
  std::vector<Key> keys_;
};

std::optional<ContextKind> ExactContextName(std::string_view s) {
  if (s == "resource") return ContextKind::kResource;
  if (s == "scope") return ContextKind::kScope;
  if (s == "span") return ContextKind::kSpan;
  if (s == "spanevent") return ContextKind::kSpanEvent;
  if (s == "metric") return ContextKind::kMetric;
  if (s == "datapoint") return ContextKind::kDataPoint;
  if (s == "log") return ContextKind::kLog;
  return std::nullopt;
}

}  // namespace

std::optional<ContextKind> PathContextName(std::string_view segment) {
  return ExactContextName(segment);
}

absl::StatusOr<std::unique_ptr<Getter>> ResolvePath(std::vector<PathSegment> segs,
                                                    const ParserOptions& options) {
  const ContextKind context = options.context;
  std::string path_text;
  for (const auto& s : segs) absl::StrAppend(&path_text, path_text.empty() ? "" : ".", s.name);

  ContextKind fields_of = context;
  size_t i = 0;
  const std::string_view head = segs[0].name;
  const std::optional<ContextKind> named = ExactContextName(head);
  if (options.context_prefixed_paths && named) {
    if (!ContextContains(*named, context)) {
      return absl::InvalidArgumentError(
          absl::StrCat("context \"", AV(head), "\" from path \"", path_text,
                       "\" cannot be used in the ", AV(ContextName(context)),
                       " context: a path may name this context or one that contains it"));
    }
    fields_of = *named;
    i = 1;
  } else if (head == "resource" && context != ContextKind::kResource) {
    fields_of = ContextKind::kResource;
    i = 1;
  } else if (head == "instrumentation_scope" && context != ContextKind::kResource &&
             context != ContextKind::kScope) {
    fields_of = ContextKind::kScope;
    i = 1;
  } else if (!options.context_prefixed_paths && head == "span" &&
             context == ContextKind::kSpanEvent) {
    fields_of = ContextKind::kSpan;
    i = 1;
  } else if (!options.context_prefixed_paths && head == "metric" &&
             context == ContextKind::kDataPoint) {
    fields_of = ContextKind::kMetric;
    i = 1;
  }

  auto invalid = [&](std::string_view segment) {
    std::string url_name(ContextName(fields_of));
    return absl::InvalidArgumentError(absl::StrCat(
        "segment \"", AV(segment), "\" from path \"", path_text,
        "\" is not a valid path nor a valid OTTL keyword for the ", AV(DisplayName(fields_of)),
        " context - review https://github.com/open-telemetry/opentelemetry-collector-contrib/"
        "tree/main/pkg/ottl/contexts/ottl",
        url_name, " to see all valid paths"));
  };
  if (i == 1 && (!segs[0].keys.empty() || segs.size() == 1)) return invalid(head);

  const Field* match = nullptr;
  size_t consumed = 0;
  for (const Field& f : FieldsOf(fields_of)) {
    if (f.name != segs[i].name) continue;
    if (!f.sub.empty()) {
      if (i + 1 < segs.size() && segs[i + 1].name == f.sub && segs[i].keys.empty()) {
        match = &f;
        consumed = 2;
        break;
      }
      continue;
    }
    match = &f;
    consumed = 1;
    break;
  }
  if (match == nullptr) return invalid(segs[i].name);
  const size_t last = i + consumed - 1;
  if (last + 1 < segs.size()) return invalid(segs[last + 1].name);
  return std::unique_ptr<Getter>(
      std::make_unique<PathGetter>(match->accessor, match->mode, std::move(segs[last].keys)));
}

absl::StatusOr<int64_t> ResolveEnum(std::string_view symbol, ContextKind context) {
  struct Enum {
    std::string_view name;
    int64_t value;
  };
  static constexpr Enum kSpanEnums[] = {
      {"SPAN_KIND_UNSPECIFIED", 0}, {"SPAN_KIND_INTERNAL", 1}, {"SPAN_KIND_SERVER", 2},
      {"SPAN_KIND_CLIENT", 3},      {"SPAN_KIND_PRODUCER", 4}, {"SPAN_KIND_CONSUMER", 5},
      {"STATUS_CODE_UNSET", 0},     {"STATUS_CODE_OK", 1},     {"STATUS_CODE_ERROR", 2},
  };
  static constexpr Enum kMetricEnums[] = {
      {"METRIC_DATA_TYPE_NONE", 0},
      {"METRIC_DATA_TYPE_GAUGE", 1},
      {"METRIC_DATA_TYPE_SUM", 2},
      {"METRIC_DATA_TYPE_HISTOGRAM", 3},
      {"METRIC_DATA_TYPE_EXPONENTIAL_HISTOGRAM", 4},
      {"METRIC_DATA_TYPE_SUMMARY", 5},
      {"AGGREGATION_TEMPORALITY_UNSPECIFIED", 0},
      {"AGGREGATION_TEMPORALITY_DELTA", 1},
      {"AGGREGATION_TEMPORALITY_CUMULATIVE", 2},
      {"FLAG_NONE", 0},
      {"FLAG_NO_RECORDED_VALUE", 1},
  };
  auto lookup = [&](const auto& table) -> std::optional<int64_t> {
    for (const Enum& e : table) {
      if (e.name == symbol) return e.value;
    }
    return std::nullopt;
  };
  std::optional<int64_t> value;
  switch (context) {
    case ContextKind::kResource:
    case ContextKind::kScope:
      return absl::InvalidArgumentError("enums aren't supported for the current context");
    case ContextKind::kSpan:
    case ContextKind::kSpanEvent:
      value = lookup(kSpanEnums);
      break;
    case ContextKind::kMetric:
    case ContextKind::kDataPoint:
      value = lookup(kMetricEnums);
      break;
    case ContextKind::kLog: {
      static constexpr std::string_view kLevels[] = {"TRACE", "DEBUG", "INFO",
                                                     "WARN",  "ERROR", "FATAL"};
      if (symbol == "SEVERITY_NUMBER_UNSPECIFIED") value = 0;
      constexpr std::string_view kPrefix = "SEVERITY_NUMBER_";
      if (symbol.starts_with(kPrefix)) {
        const std::string_view rest = symbol.substr(kPrefix.size());
        for (int level = 0; level < 6; ++level) {
          const std::string_view name = kLevels[level];
          if (!rest.starts_with(name)) continue;
          const std::string_view suffix = rest.substr(name.size());
          if (suffix.empty()) value = level * 4 + 1;
          if (suffix == "2" || suffix == "3" || suffix == "4") {
            value = level * 4 + (suffix[0] - '0');
          }
        }
      }
      break;
    }
  }
  if (!value) {
    return absl::InvalidArgumentError(absl::StrCat("enum symbol, ", AV(symbol), ", not found"));
  }
  return *value;
}

}  // namespace sprout::ottl
