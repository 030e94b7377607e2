// Fuzzes the OTTL parser and evaluator: any text is parsed in every context with both path
// styles (and the filter functions); whatever parses is evaluated against a small fixed span,
// span event, metric with data point and log record. Nothing may crash, leak or hang; errors are
// fine. InferContext runs on every input too.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ottl/ottl.h"

namespace {

namespace pb = sprout::otlp::pb;
using sprout::ottl::Condition;
using sprout::ottl::ContextKind;
using sprout::ottl::EvalContext;
using sprout::ottl::ParserOptions;

struct Fixture {
  pb::resource::Resource resource;
  pb::common::InstrumentationScope scope;
  pb::trace::Span span;
  pb::metrics::Metric metric;
  pb::logs::LogRecord log;

  Fixture() {
    auto add = [](auto* attrs, const char* key, const char* value) {
      auto* kv = attrs->Add();
      kv->set_key(key);
      kv->mutable_value()->set_string_value(value);
    };
    add(resource.mutable_attributes(), "service.name", "svc");
    scope.set_name("lib");
    span.set_trace_id(std::string(16, '\x01'));
    span.set_span_id(std::string(8, '\x02'));
    span.set_trace_state("a=b,c=d");
    span.set_name("GET /x");
    span.set_kind(pb::trace::Span::SPAN_KIND_CLIENT);
    span.set_start_time_unix_nano(1700000000000000000ULL);
    span.set_end_time_unix_nano(1700000001000000000ULL);
    add(span.mutable_attributes(), "a", "b");
    auto* kv = span.mutable_attributes()->Add();
    kv->set_key("n");
    kv->mutable_value()->set_int_value(3);
    kv = span.mutable_attributes()->Add();
    kv->set_key("l");
    kv->mutable_value()->mutable_array_value()->add_values()->set_double_value(1.5);
    kv = span.mutable_attributes()->Add();
    kv->set_key("m");
    add(kv->mutable_value()->mutable_kvlist_value()->mutable_values(), "x", "y");
    span.add_events()->set_name("ev");
    add(span.mutable_events(0)->mutable_attributes(), "e", "f");
    metric.set_name("m");
    auto* point = metric.mutable_sum()->add_data_points();
    point->set_as_int(5);
    add(point->mutable_attributes(), "host", "h");
    log.mutable_body()->set_string_value("body");
    log.set_severity_number(pb::logs::SEVERITY_NUMBER_WARN);
    add(log.mutable_attributes(), "k", "v");
  }

  EvalContext For(ContextKind kind) const {
    EvalContext c;
    c.resource = &resource;
    c.scope = &scope;
    switch (kind) {
      case ContextKind::kSpanEvent:
        c.span_event = &span.events(0);
        c.event_index = 0;
        [[fallthrough]];
      case ContextKind::kSpan:
        c.span = &span;
        break;
      case ContextKind::kDataPoint:
        c.number_point = &metric.sum().data_points(0);
        [[fallthrough]];
      case ContextKind::kMetric:
        c.metric = &metric;
        break;
      case ContextKind::kLog:
        c.log = &log;
        break;
      default:
        break;
    }
    return c;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Fixture* fixture = new Fixture();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (ContextKind kind :
       {ContextKind::kResource, ContextKind::kScope, ContextKind::kSpan, ContextKind::kSpanEvent,
        ContextKind::kMetric, ContextKind::kDataPoint, ContextKind::kLog}) {
    for (bool prefixed : {false, true}) {
      ParserOptions options;
      options.context = kind;
      options.context_prefixed_paths = prefixed;
      auto condition = Condition::Parse(text, options);
      if (!condition.ok()) continue;
      (void)condition->Eval(fixture->For(kind));
    }
  }
  for (auto signal : {sprout::otlp::Signal::kTraces, sprout::otlp::Signal::kMetrics,
                      sprout::otlp::Signal::kLogs}) {
    (void)sprout::ottl::InferContext(text, signal);
  }
  return 0;
}
