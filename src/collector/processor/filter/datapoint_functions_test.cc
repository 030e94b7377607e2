#include "collector/processor/filter/datapoint_functions.h"

#include <gtest/gtest.h>

namespace sprout::collector::filterprocessor {
namespace {

using ottl::Condition;
using ottl::ContextKind;
using ottl::ParserOptions;

absl::StatusOr<bool> Eval(std::string_view text, const otlp::pb::metrics::Metric& metric) {
  ParserOptions options;
  options.context = ContextKind::kMetric;
  options.functions = &MetricFunctions();
  auto condition = Condition::Parse(text, options);
  if (!condition.ok()) return condition.status();
  ottl::EvalContext ctx;
  ctx.metric = &metric;
  return condition->Eval(ctx);
}

TEST(FilterFunctionsTest, DatapointAttributesOfTheMetric) {
  otlp::pb::metrics::Metric metric;
  metric.set_name("cpu");
  auto* point = metric.mutable_gauge()->add_data_points();
  point->set_as_double(1);
  auto* kv = point->add_attributes();
  kv->set_key("host");
  kv->mutable_value()->set_string_value("a");
  metric.mutable_gauge()->add_data_points()->set_as_double(2);  // no attributes
  EXPECT_EQ(*Eval("HasAttrKeyOnDatapoint(\"host\")", metric), true);
  EXPECT_EQ(*Eval("HasAttrKeyOnDatapoint(\"nope\")", metric), false);
  EXPECT_EQ(*Eval("HasAttrOnDatapoint(\"host\", \"a\")", metric), true);
  EXPECT_EQ(*Eval("HasAttrOnDatapoint(\"host\", \"b\")", metric), false);
  EXPECT_EQ(*Eval("IsString(name) and HasAttrKeyOnDatapoint(\"host\")", metric), true);
}

// Only the filter's metric-context parsers know them; the library does not.
TEST(FilterFunctionsTest, KnownOnlyToTheFiltersMetricParsers) {
  ParserOptions options;
  options.context = ContextKind::kMetric;
  EXPECT_EQ(Condition::Parse("HasAttrKeyOnDatapoint(\"host\")", options).status().message(),
            "undefined function \"HasAttrKeyOnDatapoint\"");
  options.functions = &MetricFunctions();
  options.context = ContextKind::kDataPoint;
  EXPECT_EQ(Condition::Parse("HasAttrOnDatapoint(\"host\", \"a\")", options).status().message(),
            "undefined function \"HasAttrOnDatapoint\"");
  options.context = ContextKind::kMetric;
  EXPECT_EQ(Condition::Parse("HasAttrOnDatapoint(\"host\", name)", options).status().message(),
            "invalid argument at position 1: must be a string");
}

}  // namespace
}  // namespace sprout::collector::filterprocessor
