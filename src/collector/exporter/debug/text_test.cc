#include "collector/exporter/debug/text.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace sprout::collector::debugexporter {
namespace {

namespace pb = otlp::pb;

TEST(DebugTextTest, FormatsValuesLikePcommon) {
  pb::common::AnyValue v;
  v.set_string_value("hi");
  EXPECT_EQ(FormatValue(v), "Str(hi)");
  v.set_int_value(-3);
  EXPECT_EQ(FormatValue(v), "Int(-3)");
  v.set_double_value(1.5);
  EXPECT_EQ(FormatValue(v), "Double(1.5)");
  v.set_bool_value(true);
  EXPECT_EQ(FormatValue(v), "Bool(true)");
  v.set_bytes_value("\x01\x02");
  EXPECT_EQ(FormatValue(v), "Bytes(AQI=)");
  pb::common::AnyValue map;
  auto* kv = map.mutable_kvlist_value()->add_values();
  kv->set_key("z");
  kv->mutable_value()->set_int_value(1);
  kv = map.mutable_kvlist_value()->add_values();
  kv->set_key("a");
  kv->mutable_value()->mutable_array_value()->add_values()->set_string_value("x");
  EXPECT_EQ(FormatValue(map), R"(Map({"a":["x"],"z":1}))");
  EXPECT_EQ(FormatValue(pb::common::AnyValue()), "Empty()");
}

// Each verbosity formats doubles as the Go code it mirrors: pdata's AsString (the JSON number
// form) for attribute values, fmt's %v in `normal`, fmt's %f in `detailed`.
TEST(DebugTextTest, FormatsDoublesAsTheCollectorDoes) {
  pb::common::AnyValue v;
  v.set_double_value(1e23);  // binary value 99999999999999991611392
  EXPECT_EQ(FormatValue(v), "Double(1e+23)");
  v.set_double_value(1e-7);
  EXPECT_EQ(ValueAsString(v), "1e-7");
  v.set_double_value(std::numeric_limits<double>::infinity());
  EXPECT_EQ(ValueAsString(v), "json: unsupported value: +Inf");
  pb::common::AnyValue list;
  list.mutable_array_value()->add_values()->set_double_value(1e21);
  EXPECT_EQ(ValueAsString(list), "[1e+21]");
  list.mutable_array_value()->add_values()->set_double_value(std::nan(""));
  EXPECT_EQ(ValueAsString(list), "");  // json.Marshal fails; pdata ignores the error

  pb::metrics_service::ExportMetricsServiceRequest metrics;
  auto* sm = metrics.add_resource_metrics()->add_scope_metrics();
  auto* gauge = sm->add_metrics();
  gauge->set_name("g");
  gauge->mutable_gauge()->add_data_points()->set_as_double(1234567.5);
  gauge->mutable_gauge()->add_data_points()->set_as_double(
      -std::numeric_limits<double>::infinity());
  auto* summary = sm->add_metrics();
  summary->set_name("s");
  auto* point = summary->mutable_summary()->add_data_points();
  point->set_sum(2.5);
  auto* quantile = point->add_quantile_values();
  quantile->set_quantile(0.99);
  quantile->set_value(1e21);
  EXPECT_EQ(NormalText(metrics),
            "ResourceMetrics #0\nScopeMetrics #0 \ng{} 1.2345675e+06\ng{} -Inf\n"
            "s{} count=0 sum=2.500000 q0.99=1e+21\n");
  const std::string text = DetailedText(metrics);
  EXPECT_NE(text.find("Value: 1234567.500000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Value: -Inf\n"), std::string::npos) << text;  // C's %f: "-inf"
  EXPECT_NE(text.find("QuantileValue #0: Quantile 0.990000, Value "
                      "1000000000000000000000.000000\n"),
            std::string::npos)
      << text;
}

TEST(DebugTextTest, FormatsTimestampsLikeGo) {
  EXPECT_EQ(FormatTimestamp(0), "1970-01-01 00:00:00 +0000 UTC");
  EXPECT_EQ(FormatTimestamp(1694105832045933000ULL), "2023-09-07 16:57:12.045933 +0000 UTC");
}

TEST(DebugTextTest, DetailedSpan) {
  pb::trace_service::ExportTraceServiceRequest request;
  auto* rs = request.add_resource_spans();
  auto* attr = rs->mutable_resource()->add_attributes();
  attr->set_key("service.name");
  attr->mutable_value()->set_string_value("checkout");
  auto* ss = rs->add_scope_spans();
  ss->mutable_scope()->set_name("lib");
  ss->mutable_scope()->set_version("1.0");
  auto* span = ss->add_spans();
  span->set_trace_id(std::string(16, '\x01'));
  span->set_span_id(std::string(8, '\x02'));
  span->set_name("GET /");
  span->set_kind(pb::trace::Span::SPAN_KIND_SERVER);
  span->set_start_time_unix_nano(1000000000);
  span->set_end_time_unix_nano(2500000000);
  span->mutable_status()->set_code(pb::trace::Status::STATUS_CODE_ERROR);
  auto* event = span->add_events();
  event->set_name("boom");
  auto* ea = event->add_attributes();
  ea->set_key("k");
  ea->mutable_value()->set_int_value(7);
  const std::string text = DetailedText(request);
  EXPECT_NE(text.find("ResourceSpans #0\nResource SchemaURL: \nResource attributes:\n"
                      "     -> service.name: Str(checkout)\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("InstrumentationScope lib 1.0\nSpan #0\n"
                      "    Trace ID       : 01010101010101010101010101010101\n"
                      "    Parent ID      : \n"
                      "    ID             : 0202020202020202\n"
                      "    Name           : GET /\n"
                      "    Kind           : Server\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("    Start time     : 1970-01-01 00:00:01 +0000 UTC\n"
                      "    End time       : 1970-01-01 00:00:02.5 +0000 UTC\n"
                      "    Status code    : Error\n"),
            std::string::npos);
  EXPECT_NE(text.find("Events:\nSpanEvent #0\n     -> Name: boom\n"), std::string::npos);
  EXPECT_NE(text.find("     -> Attributes::\n          -> k: Int(7)\n"), std::string::npos);
  EXPECT_EQ(NormalText(request),
            "ResourceTraces #0 service.name=checkout\nScopeTraces #0 lib@1.0\n"
            "GET / 01010101010101010101010101010101 0202020202020202\n");
}

TEST(DebugTextTest, DetailedMetricsAndLogs) {
  pb::metrics_service::ExportMetricsServiceRequest metrics;
  auto* m = metrics.add_resource_metrics()->add_scope_metrics()->add_metrics();
  m->set_name("requests");
  m->mutable_sum()->set_is_monotonic(true);
  m->mutable_sum()->set_aggregation_temporality(pb::metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
  m->mutable_sum()->add_data_points()->set_as_int(42);
  const std::string text = DetailedText(metrics);
  EXPECT_NE(text.find("     -> DataType: Sum\n     -> IsMonotonic: true\n"
                      "     -> AggregationTemporality: Cumulative\nNumberDataPoints #0\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("Value: 42\n"), std::string::npos);
  EXPECT_EQ(NormalText(metrics), "ResourceMetrics #0\nScopeMetrics #0 \nrequests{} 42\n");

  pb::logs_service::ExportLogsServiceRequest logs;
  auto* record = logs.add_resource_logs()->add_scope_logs()->add_log_records();
  record->set_severity_number(pb::logs::SEVERITY_NUMBER_WARN2);
  record->mutable_body()->set_string_value("disk full");
  const std::string log_text = DetailedText(logs);
  EXPECT_NE(log_text.find("SeverityNumber: Warn2(14)\nBody: Str(disk full)\n"), std::string::npos)
      << log_text;
}

}  // namespace
}  // namespace sprout::collector::debugexporter
