#include "collector/processor/filter/datapoint_functions.h"

#include <string_view>

namespace sprout::collector::filterprocessor {
namespace {

using ottl::EvalContext;
using ottl::FunctionCall;
using ottl::Value;
using KeyValues = google::protobuf::RepeatedPtrField<otlp::pb::common::KeyValue>;

template <typename F>
bool AnyPointAttributes(const otlp::pb::metrics::Metric& m, F&& f) {
  auto scan = [&](const auto& points) {
    for (const auto& p : points) {
      if (f(p.attributes())) return true;
    }
    return false;
  };
  switch (m.data_case()) {
    case otlp::pb::metrics::Metric::kGauge:
      return scan(m.gauge().data_points());
    case otlp::pb::metrics::Metric::kSum:
      return scan(m.sum().data_points());
    case otlp::pb::metrics::Metric::kHistogram:
      return scan(m.histogram().data_points());
    case otlp::pb::metrics::Metric::kExponentialHistogram:
      return scan(m.exponential_histogram().data_points());
    case otlp::pb::metrics::Metric::kSummary:
      return scan(m.summary().data_points());
    default:
      return false;
  }
}

absl::StatusOr<Value> HasAttrKeyOnDatapoint(const FunctionCall& c, const EvalContext& ctx) {
  if (ctx.metric == nullptr) return Value::Bool(false);
  const std::string_view key = c.lit(0);
  return Value::Bool(AnyPointAttributes(*ctx.metric, [&](const KeyValues& attrs) {
    for (const auto& kv : attrs) {
      if (kv.key() == key) return true;
    }
    return false;
  }));
}

absl::StatusOr<Value> HasAttrOnDatapoint(const FunctionCall& c, const EvalContext& ctx) {
  if (ctx.metric == nullptr) return Value::Bool(false);
  const std::string_view key = c.lit(0), expected = c.lit(1);
  return Value::Bool(AnyPointAttributes(*ctx.metric, [&](const KeyValues& attrs) {
    for (const auto& kv : attrs) {
      if (kv.key() == key) {
        return kv.value().value_case() == otlp::pb::common::AnyValue::kStringValue &&
               kv.value().string_value() == expected;
      }
    }
    return false;
  }));
}

}  // namespace

const ottl::FunctionRegistry& MetricFunctions() {
  static const ottl::FunctionRegistry* registry = new ottl::FunctionRegistry(
      ottl::FunctionRegistry::Standard(), {
                                              {"HasAttrKeyOnDatapoint",
                                               {{"key", false, true}},
                                               HasAttrKeyOnDatapoint,
                                               nullptr,
                                               ottl::ContextKind::kMetric},
                                              {"HasAttrOnDatapoint",
                                               {{"key", false, true}, {"expectedVal", false, true}},
                                               HasAttrOnDatapoint,
                                               nullptr,
                                               ottl::ContextKind::kMetric},
                                          });
  return *registry;
}

}  // namespace sprout::collector::filterprocessor
