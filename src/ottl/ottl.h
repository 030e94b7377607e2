// OTTL conditions: parse once, evaluate many times over OTLP data.
//
// The OpenTelemetry Transformation Language's condition grammar (`expr` of the reference:
// `or`/`and`/`not`, comparisons, math, paths, enums, converters), evaluated against one item of
// decoded OTLP data: a resource, a scope, a span, a span event, a metric, a data point or a log
// record. Processors (filter; later transform and routing) use it; it knows nothing about them.
//
// Errors:
//  - Parse() returns InvalidArgument. Syntax errors read
//    `condition has invalid syntax: <line>:<column>: <what>` (1-based, column in bytes);
//    semantic errors (unknown path, enum, converter, bad regex, wrong arity) use the Collector's
//    wording, e.g. `enum symbol, FOO, not found`.
//  - Eval() returns an error only for what OTLP's OTTL reports at run time (indexing a string,
//    HasPrefix on a non-string, a non-bool converter used as a condition, divide by zero, ...).
//    Comparisons never fail: mismatched types are simply unequal.
//
// Thread-safety: a parsed Condition is immutable; Eval() may run concurrently from any number of
// threads. Eval() does not allocate for plain path/literal comparisons (values borrow from the
// OTLP messages and from the condition).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "otlp/signal.h"

namespace sprout::ottl {

// The OTTL contexts, from the outermost to the innermost.
enum class ContextKind { kResource, kScope, kSpan, kSpanEvent, kMetric, kDataPoint, kLog };

// "resource", "scope", "span", "spanevent", "metric", "datapoint", "log".
std::string_view ContextName(ContextKind kind);
// Case-insensitive inverse of ContextName; also accepts "log_record" (the filter's legacy key)
// and "instrumentation_scope".
std::optional<ContextKind> ParseContextName(std::string_view name);
// Whether `inner` may be evaluated with `outer`'s paths available (span event ⊂ span ⊂ scope ⊂
// resource; datapoint ⊂ metric ⊂ scope ⊂ resource; log ⊂ scope ⊂ resource).
bool ContextContains(ContextKind outer, ContextKind inner);

// The item a condition is evaluated against: pointers into decoded OTLP messages. Everything on
// the path from the resource down to the context's item must be set (a span condition needs
// resource, scope and span; a span-event condition additionally span_event). Pointers must
// stay valid during Eval().
struct EvalContext {
  const otlp::pb::resource::Resource* resource = nullptr;
  std::string_view resource_schema_url;
  const otlp::pb::common::InstrumentationScope* scope = nullptr;
  std::string_view scope_schema_url;
  // span, spanevent
  const otlp::pb::trace::Span* span = nullptr;
  const otlp::pb::trace::Span_Event* span_event = nullptr;
  int64_t event_index = -1;
  // metric, datapoint (exactly one data point pointer is set for a datapoint condition)
  const otlp::pb::metrics::Metric* metric = nullptr;
  const otlp::pb::metrics::NumberDataPoint* number_point = nullptr;
  const otlp::pb::metrics::HistogramDataPoint* histogram_point = nullptr;
  const otlp::pb::metrics::ExponentialHistogramDataPoint* exponential_point = nullptr;
  const otlp::pb::metrics::SummaryDataPoint* summary_point = nullptr;
  // log
  const otlp::pb::logs::LogRecord* log = nullptr;
};

class FunctionRegistry;

struct ParserOptions {
  // The context conditions are evaluated in; paths may reach this context and its ancestors.
  ContextKind context = ContextKind::kSpan;
  // Newer style (`trace_conditions`, or a group with `context:`): a path's first segment may name
  // a context (`span.name`, `resource.attributes["k"]`, `scope.name`, `spanevent.name`). Paths
  // without one are read in `context`. The legacy style (`traces: span:`) reads every path in
  // `context`, with `resource.` and `instrumentation_scope.` reaching the ancestors and, in the
  // span-event context, `span.` the parent span (exactly as the legacy per-context keys do).
  bool context_prefixed_paths = false;
  // The functions conditions may call (functions.h); nullptr: FunctionRegistry::Standard(). A
  // component with functions of its own passes a registry that adds them (not owned; must
  // outlive parsing).
  const FunctionRegistry* functions = nullptr;
  // Lambdas (All, Any, ...) are behind the Collector's alpha gate ottl.functions.enableLambda.
};

class Condition {
 public:
  static absl::StatusOr<Condition> Parse(std::string_view text, const ParserOptions& options);

  // True when the condition holds for the item (for the filter: drop it).
  absl::StatusOr<bool> Eval(const EvalContext& context) const;

  // The text it was parsed from.
  const std::string& text() const;

  struct Impl;  // the parsed tree (ottl/ internals)

 private:
  explicit Condition(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// The innermost context any path of `text` names by its first segment (`span.name and
// resource.attributes["a"] == "b"` → kSpan), for the filter's context-inferred style.
// InvalidArgument when the text does not parse or names no context:
// `unable to infer a valid context (["resource" "scope" "span" ...]) from statement "..."`-style.
// `signal` restricts the contexts accepted (traces: resource, scope, span, spanevent).
absl::StatusOr<ContextKind> InferContext(std::string_view text, otlp::Signal signal);

}  // namespace sprout::ottl
