#include "otlp/json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "google/protobuf/any.pb.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/util/field_comparator.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/rpc/status.pb.h"
#include "otlp/signal.h"

namespace sprout::otlp {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kTraceId[] = "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\xf0";
constexpr char kSpanId[] = "\xa1\xb2\xc3\xd4\xe5\xf6\x07\x18";
constexpr char kTraceIdHex[] = "0102030405060708090a0b0c0d0e0ff0";
constexpr char kSpanIdHex[] = "a1b2c3d4e5f60718";

// Equality that treats NaN as equal to itself, so that NaN payloads can be compared.
bool Same(const google::protobuf::Message& a, const google::protobuf::Message& b,
          std::string* report) {
  google::protobuf::util::DefaultFieldComparator comparator;
  comparator.set_treat_nan_as_equal(true);
  google::protobuf::util::MessageDifferencer differencer;
  differencer.set_field_comparator(&comparator);
  differencer.ReportDifferencesToString(report);
  return differencer.Compare(a, b);
}

// ToJson, then ParseJson into a fresh message, which must equal the original.
template <typename M>
void ExpectRoundTrip(const M& original) {
  const std::string json = ToJson(original);
  M parsed;
  ASSERT_TRUE(ParseJson(json, &parsed).ok()) << json;
  std::string report;
  EXPECT_TRUE(Same(original, parsed, &report)) << report << "\n" << json;
  EXPECT_EQ(ToJson(parsed), json);
}

std::string Msg(const absl::Status& status) { return std::string(status.message()); }

template <typename M>
absl::Status ParseError(std::string_view json) {
  M message;
  return ParseJson(json, &message);
}

// Attributes of every AnyValue kind, with nested kvlist and array values.
void AddAllKinds(google::protobuf::RepeatedPtrField<pb::common::KeyValue>* attributes) {
  auto add = [&](const std::string& key) {
    auto* kv = attributes->Add();
    kv->set_key(key);
    return kv->mutable_value();
  };
  add("str")->set_string_value("hello \"world\"\n\u00e9");
  add("empty_str")->set_string_value("");
  add("bool")->set_bool_value(true);
  add("false")->set_bool_value(false);
  add("int")->set_int_value(-9007199254740993);  // not representable as a double
  add("zero_int")->set_int_value(0);
  add("double")->set_double_value(3.141592653589793);
  add("bytes")->set_bytes_value(std::string("\x00\xff\x10 binary", 10));
  auto* array = add("array")->mutable_array_value();
  array->add_values()->set_string_value("a");
  array->add_values()->set_int_value(7);
  array->add_values()->mutable_array_value()->add_values()->set_bool_value(false);
  auto* kvlist = add("kvlist")->mutable_kvlist_value();
  auto* inner = kvlist->add_values();
  inner->set_key("inner");
  inner->mutable_value()->mutable_kvlist_value()->add_values()->set_key("deepest");
  add("empty_array")->mutable_array_value();
  attributes->Add()->set_key("no_value");
}

pb::trace_service::ExportTraceServiceRequest FullTraceRequest() {
  pb::trace_service::ExportTraceServiceRequest request;
  auto* rs = request.add_resource_spans();
  AddAllKinds(rs->mutable_resource()->mutable_attributes());
  rs->mutable_resource()->set_dropped_attributes_count(3);
  auto* entity = rs->mutable_resource()->add_entity_refs();
  entity->set_schema_url("https://example.com/entity");
  entity->set_type("service");
  entity->add_id_keys("service.name");
  entity->add_description_keys("service.version");
  rs->set_schema_url("https://opentelemetry.io/schemas/1.21.0");
  auto* ss = rs->add_scope_spans();
  ss->mutable_scope()->set_name("io.sprout.test");
  ss->mutable_scope()->set_version("1.2.3");
  AddAllKinds(ss->mutable_scope()->mutable_attributes());
  ss->mutable_scope()->set_dropped_attributes_count(1);
  ss->set_schema_url("https://opentelemetry.io/schemas/1.20.0");
  auto* span = ss->add_spans();
  span->set_trace_id(kTraceId);
  span->set_span_id(kSpanId);
  span->set_trace_state("vendor=value");
  span->set_parent_span_id(std::string(8, '\xee'));
  span->set_flags(0x301);
  span->set_name("GET /api");
  span->set_kind(pb::trace::Span::SPAN_KIND_CLIENT);
  span->set_start_time_unix_nano(1'700'000'000'123'456'789);
  span->set_end_time_unix_nano(UINT64_MAX);
  AddAllKinds(span->mutable_attributes());
  span->set_dropped_attributes_count(4);
  auto* event = span->add_events();
  event->set_time_unix_nano(1'700'000'000'200'000'000);
  event->set_name("exception");
  event->add_attributes()->set_key("exception.type");
  event->set_dropped_attributes_count(2);
  span->set_dropped_events_count(5);
  auto* link = span->add_links();
  link->set_trace_id(std::string(16, '\x7f'));
  link->set_span_id(std::string(8, '\x01'));
  link->set_trace_state("a=b");
  link->add_attributes()->set_key("link.attr");
  link->set_dropped_attributes_count(6);
  link->set_flags(0x100);
  span->set_dropped_links_count(7);
  span->mutable_status()->set_message("boom");
  span->mutable_status()->set_code(pb::trace::Status::STATUS_CODE_ERROR);
  // A root span: no parent, default kind, empty status.
  auto* root = ss->add_spans();
  root->set_trace_id(kTraceId);
  root->set_span_id(std::string(8, '\x02'));
  root->set_name("root");
  root->mutable_status();
  return request;
}

TEST(JsonTest, FullTraceRequestRoundTrips) { ExpectRoundTrip(FullTraceRequest()); }

TEST(JsonTest, ExactSpanOutput) {
  pb::trace_service::ExportTraceServiceRequest request;
  auto* span = request.add_resource_spans()->add_scope_spans()->add_spans();
  span->set_trace_id(kTraceId);
  span->set_span_id(kSpanId);
  span->set_flags(257);
  span->set_name("op");
  span->set_kind(pb::trace::Span::SPAN_KIND_SERVER);
  span->set_start_time_unix_nano(1);
  span->set_end_time_unix_nano(18446744073709551615ull);
  auto* kv = span->add_attributes();
  kv->set_key("k");
  kv->mutable_value()->set_int_value(-5);
  span->mutable_status()->set_code(pb::trace::Status::STATUS_CODE_ERROR);
  EXPECT_EQ(ToJson(request),
            std::string(R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":")") +
                kTraceIdHex + R"(","spanId":")" + kSpanIdHex +
                R"(","name":"op","kind":2,"startTimeUnixNano":"1",)"
                R"("endTimeUnixNano":"18446744073709551615",)"
                R"("attributes":[{"key":"k","value":{"intValue":"-5"}}],)"
                R"("status":{"code":2},"flags":257}]}]}]})");
}

TEST(JsonTest, OptionsWriteIdsAsBase64AndEnumsByName) {
  pb::trace::TracesData data;
  auto* span = data.add_resource_spans()->add_scope_spans()->add_spans();
  span->set_trace_id(kTraceId, 16);
  span->set_span_id(kSpanId, 8);
  span->set_kind(pb::trace::Span::SPAN_KIND_SERVER);
  span->mutable_status()->set_code(pb::trace::Status::STATUS_CODE_ERROR);
  span->add_attributes()->mutable_value()->set_bytes_value("\xff");
  // base64 of the 16 and 8 bytes above, worked out by hand from the RFC 4648 alphabet.
  EXPECT_EQ(ToJson(data, JsonOptions{.hex_ids = false, .enum_names = true}),
            R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"AQIDBAUGBwgJCgsMDQ4P8A==",)"
            R"("spanId":"obLD1OX2Bxg=","kind":"SPAN_KIND_SERVER",)"
            R"("attributes":[{"value":{"bytesValue":"/w=="}}],)"
            R"("status":{"code":"STATUS_CODE_ERROR"}}]}]}]})");
  // An enum number without a name stays a number.
  span->set_kind(static_cast<pb::trace::Span::SpanKind>(42));
  EXPECT_THAT(ToJson(data, JsonOptions{.enum_names = true}), HasSubstr(R"("kind":42)"));
  // The defaults are OTLP/JSON.
  EXPECT_EQ(ToJson(data, JsonOptions{}), ToJson(data));
}

TEST(JsonTest, EmptyMessageIsEmptyObject) {
  EXPECT_EQ(ToJson(pb::trace_service::ExportTraceServiceRequest()), "{}");
  pb::trace_service::ExportTraceServiceRequest request;
  ASSERT_TRUE(ParseJson("{}", &request).ok());
  EXPECT_EQ(request.resource_spans_size(), 0);
}

TEST(JsonTest, HandWrittenTraceWithEnumNamesAndNumbers) {
  constexpr char kJson[] = R"({
    "resourceSpans": [{
      "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
      "scopeSpans": [{
        "scope": {"name": "lib"},
        "spans": [
          {"traceId": "0102030405060708090A0B0C0D0E0FF0", "spanId": "A1B2C3D4E5F60718",
           "parentSpanId": "", "name": "a", "kind": "SPAN_KIND_CONSUMER",
           "status": {"code": "STATUS_CODE_OK"}},
          {"traceId": "0102030405060708090a0b0c0d0e0ff0", "spanId": "a1b2c3d4e5f60718",
           "name": "b", "kind": 3, "status": {"code": 2}, "flags": 256}
        ]
      }]
    }]
  })";
  pb::trace_service::ExportTraceServiceRequest request;
  ASSERT_TRUE(ParseJson(kJson, &request).ok());
  const auto& spans = request.resource_spans(0).scope_spans(0).spans();
  ASSERT_EQ(spans.size(), 2);
  EXPECT_EQ(spans[0].trace_id(), kTraceId);
  EXPECT_EQ(spans[0].span_id(), kSpanId);
  EXPECT_EQ(spans[0].parent_span_id(), "");
  EXPECT_EQ(spans[0].kind(), pb::trace::Span::SPAN_KIND_CONSUMER);
  EXPECT_EQ(spans[0].status().code(), pb::trace::Status::STATUS_CODE_OK);
  EXPECT_EQ(spans[1].trace_id(), kTraceId);
  EXPECT_EQ(spans[1].kind(), pb::trace::Span::SPAN_KIND_CLIENT);
  EXPECT_EQ(spans[1].status().code(), pb::trace::Status::STATUS_CODE_ERROR);
  EXPECT_EQ(spans[1].flags(), 256u);
  EXPECT_EQ(request.resource_spans(0).resource().attributes(0).value().string_value(), "svc");
  EXPECT_EQ(request.resource_spans(0).scope_spans(0).scope().name(), "lib");
}

TEST(JsonTest, UnknownEnumNumberIsKept) {
  pb::trace::Span span;
  ASSERT_TRUE(ParseJson(R"({"kind": 42})", &span).ok());
  EXPECT_EQ(static_cast<int>(span.kind()), 42);
  EXPECT_EQ(ToJson(span), R"({"kind":42})");
}

TEST(JsonTest, UnknownEnumNameIsAnError) {
  pb::trace::Span span;
  absl::Status status = ParseJson(R"({"kind": "SPAN_KIND_BOGUS"})", &span);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(status), HasSubstr("kind: unknown value \"SPAN_KIND_BOGUS\""));
}

pb::metrics_service::ExportMetricsServiceRequest FullMetricsRequest() {
  pb::metrics_service::ExportMetricsServiceRequest request;
  auto* rm = request.add_resource_metrics();
  AddAllKinds(rm->mutable_resource()->mutable_attributes());
  rm->set_schema_url("https://opentelemetry.io/schemas/1.21.0");
  auto* sm = rm->add_scope_metrics();
  sm->mutable_scope()->set_name("meter");
  sm->set_schema_url("s");

  auto* gauge = sm->add_metrics();
  gauge->set_name("temperature");
  gauge->set_description("a gauge");
  gauge->set_unit("Cel");
  auto* gp = gauge->mutable_gauge()->add_data_points();
  gp->set_time_unix_nano(1000);
  gp->set_as_int(-42);
  gp->add_attributes()->set_key("room");
  auto* exemplar = gp->add_exemplars();
  exemplar->set_time_unix_nano(999);
  exemplar->set_as_double(21.5);
  exemplar->set_trace_id(kTraceId);
  exemplar->set_span_id(kSpanId);
  exemplar->add_filtered_attributes()->set_key("filtered");
  auto* gp2 = gauge->mutable_gauge()->add_data_points();
  gp2->set_as_double(0.0);  // a oneof member set to its default value is still present
  gp2->set_flags(1);
  auto* ex2 = gp2->add_exemplars();
  ex2->set_as_int(INT64_MIN);
  auto* metadata = gauge->add_metadata();
  metadata->set_key("meta");
  metadata->mutable_value()->set_string_value("data");

  auto* sum = sm->add_metrics();
  sum->set_name("requests");
  sum->mutable_sum()->set_aggregation_temporality(pb::metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
  sum->mutable_sum()->set_is_monotonic(true);
  auto* sp = sum->mutable_sum()->add_data_points();
  sp->set_start_time_unix_nano(1);
  sp->set_time_unix_nano(2);
  sp->set_as_int(INT64_MAX);

  auto* histogram = sm->add_metrics();
  histogram->set_name("latency");
  histogram->mutable_histogram()->set_aggregation_temporality(
      pb::metrics::AGGREGATION_TEMPORALITY_DELTA);
  auto* hp = histogram->mutable_histogram()->add_data_points();
  hp->set_count(3);
  hp->set_sum(0.0);
  hp->set_min(-1.5);
  hp->set_max(0.0);
  for (uint64_t c : {1, 0, 2}) hp->add_bucket_counts(c);
  for (double b : {0.5, 1e300}) hp->add_explicit_bounds(b);
  hp->add_exemplars()->set_as_double(0.25);
  histogram->mutable_histogram()->add_data_points();  // no sum, min, max

  auto* exponential = sm->add_metrics();
  exponential->set_name("exp");
  auto* ep = exponential->mutable_exponential_histogram()->add_data_points();
  ep->set_count(10);
  ep->set_sum(12.5);
  ep->set_scale(-3);
  ep->set_zero_count(1);
  ep->set_zero_threshold(1e-9);
  ep->mutable_positive()->set_offset(-7);
  for (uint64_t c : {1, 2, 3}) ep->mutable_positive()->add_bucket_counts(c);
  ep->mutable_negative()->set_offset(2);
  ep->mutable_negative()->add_bucket_counts(UINT64_MAX);
  ep->set_min(-100);
  ep->set_max(100);

  auto* summary = sm->add_metrics();
  summary->set_name("summary");
  auto* qp = summary->mutable_summary()->add_data_points();
  qp->set_count(4);
  qp->set_sum(10.0);
  auto* q = qp->add_quantile_values();
  q->set_quantile(0.99);
  q->set_value(9.5);
  qp->add_quantile_values()->set_value(1.0);  // quantile 0 omitted, still one element
  return request;
}

TEST(JsonTest, FullMetricsRequestRoundTrips) { ExpectRoundTrip(FullMetricsRequest()); }

TEST(JsonTest, OptionalFieldsSetToZeroAreWritten) {
  pb::metrics::HistogramDataPoint point;
  point.set_sum(0.0);
  EXPECT_EQ(ToJson(point), R"({"sum":0.0})");
  pb::metrics::HistogramDataPoint parsed;
  ASSERT_TRUE(ParseJson(R"({"sum": 0})", &parsed).ok());
  EXPECT_TRUE(parsed.has_sum());
  ASSERT_TRUE(ParseJson(R"({"count": "0"})", &parsed).ok());
  EXPECT_FALSE(parsed.has_sum());
  EXPECT_EQ(ToJson(parsed), "{}");
}

TEST(JsonTest, OneofMemberWithDefaultValueIsWritten) {
  pb::metrics::NumberDataPoint point;
  point.set_as_int(0);
  EXPECT_EQ(ToJson(point), R"({"asInt":"0"})");
  pb::common::AnyValue value;
  value.set_string_value("");
  EXPECT_EQ(ToJson(value), R"({"stringValue":""})");
  pb::common::AnyValue parsed;
  ASSERT_TRUE(ParseJson(R"({"stringValue":""})", &parsed).ok());
  EXPECT_EQ(parsed.value_case(), pb::common::AnyValue::kStringValue);
}

TEST(JsonTest, ExponentialHistogramNegativeValues) {
  pb::metrics::ExponentialHistogramDataPoint point;
  ASSERT_TRUE(
      ParseJson(R"({"scale": -4, "positive": {"offset": "-12", "bucketCounts": [1, "2"]}})", &point)
          .ok());
  EXPECT_EQ(point.scale(), -4);
  EXPECT_EQ(point.positive().offset(), -12);
  EXPECT_THAT(point.positive().bucket_counts(), ::testing::ElementsAre(1u, 2u));
  EXPECT_EQ(ToJson(point), R"({"scale":-4,"positive":{"offset":-12,"bucketCounts":["1","2"]}})");
}

pb::logs_service::ExportLogsServiceRequest FullLogsRequest() {
  pb::logs_service::ExportLogsServiceRequest request;
  auto* rl = request.add_resource_logs();
  AddAllKinds(rl->mutable_resource()->mutable_attributes());
  auto* sl = rl->add_scope_logs();
  sl->mutable_scope()->set_name("logger");
  auto* record = sl->add_log_records();
  record->set_time_unix_nano(5);
  record->set_observed_time_unix_nano(6);
  record->set_severity_number(pb::logs::SEVERITY_NUMBER_WARN2);
  record->set_severity_text("WARN");
  auto* body = record->mutable_body()->mutable_kvlist_value();
  auto* kv = body->add_values();
  kv->set_key("message");
  kv->mutable_value()->set_string_value("disk almost full");
  kv = body->add_values();
  kv->set_key("used");
  kv->mutable_value()->set_double_value(0.97);
  AddAllKinds(record->mutable_attributes());
  record->set_dropped_attributes_count(1);
  record->set_flags(1);
  record->set_trace_id(kTraceId);
  record->set_span_id(kSpanId);
  record->set_event_name("disk.warning");
  sl->add_log_records()->mutable_body()->set_string_value("plain");
  return request;
}

TEST(JsonTest, FullLogsRequestRoundTrips) { ExpectRoundTrip(FullLogsRequest()); }

TEST(JsonTest, LogSeverityByName) {
  pb::logs::LogRecord record;
  ASSERT_TRUE(ParseJson(R"({"severityNumber": "SEVERITY_NUMBER_ERROR", "body": {"kvlistValue":
      {"values": [{"key": "a", "value": {"boolValue": true}}]}}})",
                        &record)
                  .ok());
  EXPECT_EQ(record.severity_number(), pb::logs::SEVERITY_NUMBER_ERROR);
  EXPECT_TRUE(record.body().kvlist_value().values(0).value().bool_value());
  EXPECT_EQ(ToJson(record),
            R"({"severityNumber":17,"body":{"kvlistValue":{"values":[{"key":"a","value":)"
            R"({"boolValue":true}}]}}})");
}

TEST(JsonTest, AcceptsSnakeCaseNames) {
  constexpr char kJson[] = R"({"resource_spans": [{"scope_spans": [{"spans": [{
      "trace_id": "0102030405060708090a0b0c0d0e0ff0", "span_id": "a1b2c3d4e5f60718",
      "parent_span_id": "a1b2c3d4e5f60718", "start_time_unix_nano": "7",
      "dropped_attributes_count": 2, "attributes": [{"key": "k", "value": {"int_value": 1}}]
  }]}], "schema_url": "u"}]})";
  pb::trace_service::ExportTraceServiceRequest request;
  ASSERT_TRUE(ParseJson(kJson, &request).ok());
  const auto& span = request.resource_spans(0).scope_spans(0).spans(0);
  EXPECT_EQ(span.trace_id(), kTraceId);
  EXPECT_EQ(span.parent_span_id(), kSpanId);
  EXPECT_EQ(span.start_time_unix_nano(), 7u);
  EXPECT_EQ(span.dropped_attributes_count(), 2u);
  EXPECT_EQ(span.attributes(0).value().int_value(), 1);
  EXPECT_EQ(request.resource_spans(0).schema_url(), "u");
}

TEST(JsonTest, SixtyFourBitIntegersAsNumbersOrStrings) {
  pb::trace::Span span;
  ASSERT_TRUE(ParseJson(R"({"startTimeUnixNano": 18446744073709551615,
                            "endTimeUnixNano": 1e3, "droppedAttributesCount": "12"})",
                        &span)
                  .ok());
  EXPECT_EQ(span.start_time_unix_nano(), UINT64_MAX);
  EXPECT_EQ(span.end_time_unix_nano(), 1000u);
  EXPECT_EQ(span.dropped_attributes_count(), 12u);

  pb::common::AnyValue value;
  ASSERT_TRUE(ParseJson(R"({"intValue": -9223372036854775808})", &value).ok());
  EXPECT_EQ(value.int_value(), INT64_MIN);
  ASSERT_TRUE(ParseJson(R"({"intValue": "-9223372036854775808"})", &value).ok());
  EXPECT_EQ(value.int_value(), INT64_MIN);
  EXPECT_EQ(ToJson(value), R"({"intValue":"-9223372036854775808"})");
}

TEST(JsonTest, IntegerErrors) {
  auto expect_error = [](std::string_view json, std::string_view needle) {
    pb::trace::Span span;
    absl::Status status = ParseJson(json, &span);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << json;
    EXPECT_THAT(std::string(status.message()), HasSubstr(std::string(needle))) << json;
  };
  expect_error(R"({"startTimeUnixNano": 1.5})", "startTimeUnixNano: not an integer: 1.5");
  expect_error(R"({"startTimeUnixNano": "1.5"})", "startTimeUnixNano: invalid integer \"1.5\"");
  expect_error(R"({"startTimeUnixNano": -1})", "value out of range for fixed64: -1");
  expect_error(R"({"startTimeUnixNano": "-1"})", "value out of range for fixed64: \"-1\"");
  expect_error(R"({"startTimeUnixNano": "18446744073709551616"})", "value out of range");
  expect_error(R"({"startTimeUnixNano": 1e20})", "value out of range for fixed64");
  expect_error(R"({"startTimeUnixNano": ""})", "invalid integer \"\"");
  expect_error(R"({"startTimeUnixNano": " 1"})", "invalid integer");
  expect_error(R"({"startTimeUnixNano": true})", "expected an integer, got boolean");
  expect_error(R"({"droppedAttributesCount": 4294967296})", "value out of range for uint32");
  expect_error(R"({"flags": -1})", "value out of range for fixed32: -1");
  expect_error(R"({"kind": 2.5})", "not an integer");
  expect_error(R"({"kind": 4294967296})", "value out of range");

  pb::common::AnyValue value;
  EXPECT_FALSE(ParseJson(R"({"intValue": 9223372036854775808})", &value).ok());
  EXPECT_FALSE(ParseJson(R"({"intValue": "9223372036854775808"})", &value).ok());
  EXPECT_FALSE(ParseJson(R"({"intValue": NaN})", &value).ok());
}

TEST(JsonTest, UnknownFieldsAreIgnored) {
  constexpr char kJson[] = R"({"resourceSpans": [{"futureField": {"nested": [1, {"x": null}]},
      "scopeSpans": [{"spans": [{"name": "s", "futureScalar": 3, "futureArray": [[]],
      "status": {"futureStatus": "x", "code": 1}}]}]}], "extra": "yes", "@type": 5})";
  pb::trace_service::ExportTraceServiceRequest request;
  ASSERT_TRUE(ParseJson(kJson, &request).ok());
  const auto& span = request.resource_spans(0).scope_spans(0).spans(0);
  EXPECT_EQ(span.name(), "s");
  EXPECT_EQ(span.status().code(), pb::trace::Status::STATUS_CODE_OK);
}

TEST(JsonTest, NullMeansAbsent) {
  pb::trace::Span span;
  ASSERT_TRUE(ParseJson(R"({"name": null, "status": null, "attributes": null, "kind": null,
                            "traceId": null})",
                        &span)
                  .ok());
  EXPECT_FALSE(span.has_status());
  EXPECT_EQ(ToJson(span), "{}");
  pb::common::AnyValue value;
  ASSERT_TRUE(ParseJson(R"({"stringValue": null, "intValue": "3"})", &value).ok());
  EXPECT_EQ(value.int_value(), 3);
}

TEST(JsonTest, TwoMembersOfOneOneofIsAnError) {
  pb::common::AnyValue value;
  absl::Status status = ParseJson(R"({"stringValue": "a", "intValue": "3"})", &value);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(status), HasSubstr("intValue: oneof \"value\" already has a value"));
}

TEST(JsonTest, BadHexIsAnErrorWithPath) {
  constexpr char kJson[] = R"({"resourceSpans": [{"scopeSpans": [{"spans": [
      {"traceId": "0102030405060708090a0b0c0d0e0ff0"}, {"traceId": "zz"}]}]}]})";
  pb::trace_service::ExportTraceServiceRequest request;
  absl::Status status = ParseJson(kJson, &request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "resourceSpans[0].scopeSpans[0].spans[1].traceId: invalid hex string \"zz\"");
  // The message is cleared on error, not left half-filled.
  EXPECT_EQ(request.resource_spans_size(), 0);

  pb::trace::Span span;
  EXPECT_THAT(Msg(ParseJson(R"({"spanId": "abc"})", &span)),
              HasSubstr("spanId: invalid hex string \"abc\""));
  EXPECT_THAT(Msg(ParseJson(R"({"span_id": 12})", &span)),
              HasSubstr("span_id: expected a string, got number"));
}

TEST(JsonTest, Base64Variants) {
  pb::common::AnyValue value;
  // "\xfb\xff" is "+/8=" in the standard alphabet and "-_8" URL-safe without padding.
  for (const char* json : {R"({"bytesValue": "+/8="})", R"({"bytesValue": "-_8="})",
                           R"({"bytesValue": "-_8"})", R"({"bytesValue": "+/8"})"}) {
    ASSERT_TRUE(ParseJson(json, &value).ok()) << json;
    EXPECT_EQ(value.bytes_value(), "\xfb\xff") << json;
    EXPECT_EQ(ToJson(value), R"({"bytesValue":"+/8="})");
  }
  ASSERT_TRUE(ParseJson(R"({"bytesValue": ""})", &value).ok());
  EXPECT_TRUE(value.has_bytes_value());
  EXPECT_EQ(value.bytes_value(), "");
  ASSERT_TRUE(ParseJson(R"({"bytesValue": "aGVsbG8gd29ybGQ="})", &value).ok());
  EXPECT_EQ(value.bytes_value(), "hello world");
}

TEST(JsonTest, BadBase64IsAnError) {
  pb::common::AnyValue value;
  for (const char* json : {R"({"bytesValue": "a"})", R"({"bytesValue": "ab=c"})",
                           R"({"bytesValue": "ab!c"})", R"({"bytesValue": "abc=="})",
                           R"({"bytesValue": "===="})", R"({"bytesValue": "aGVsbG8 gd29y"})"}) {
    absl::Status status = ParseJson(json, &value);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << json;
    EXPECT_THAT(Msg(status), StartsWith("bytesValue: invalid base64 string")) << json;
  }
}

TEST(JsonTest, WrongTypeIsAnError) {
  using Request = pb::trace_service::ExportTraceServiceRequest;
  EXPECT_EQ(ParseError<Request>(R"({"resourceSpans": "oops"})").message(),
            "resourceSpans: expected an array, got string");
  EXPECT_EQ(ParseError<Request>(R"({"resourceSpans": [{"resource": []}]})").message(),
            "resourceSpans[0].resource: expected an object, got array");
  EXPECT_EQ(ParseError<Request>(R"({"resourceSpans": [null]})").message(),
            "resourceSpans[0]: null is not allowed in an array");
  EXPECT_EQ(ParseError<Request>(R"({"resourceSpans": [{"schemaUrl": 5}]})").message(),
            "resourceSpans[0].schemaUrl: expected a string, got number");
  EXPECT_EQ(ParseError<pb::common::AnyValue>(R"({"boolValue": "true"})").message(),
            "boolValue: expected a boolean, got string");
  EXPECT_EQ(ParseError<pb::common::AnyValue>(R"({"doubleValue": "pi"})").message(),
            "doubleValue: invalid number \"pi\"");
}

TEST(JsonTest, InvalidJsonReportsOffset) {
  pb::trace::Span span;
  absl::Status status = ParseJson(R"({"name": "x",, })", &span);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(status), StartsWith("invalid JSON at offset 13: "));
  EXPECT_THAT(Msg(ParseJson("", &span)), StartsWith("invalid JSON at offset 0: "));
  EXPECT_THAT(Msg(ParseJson("{} {}", &span)), StartsWith("invalid JSON at offset 3: "));
  EXPECT_THAT(Msg(ParseJson(std::string_view("{}\0{}", 5), &span)),
              StartsWith("invalid JSON at offset 2: "));
  EXPECT_THAT(Msg(ParseJson("{\"name\": \"\xff\"}", &span)), StartsWith("invalid JSON"));
}

TEST(JsonTest, TopLevelMustBeAnObject) {
  pb::trace_service::ExportTraceServiceRequest request;
  EXPECT_EQ(ParseJson("[]", &request).message(), "the JSON document must be an object, got array");
  EXPECT_EQ(ParseJson("null", &request).message(), "the JSON document must be an object, got null");
  EXPECT_FALSE(ParseJson("\"x\"", &request).ok());
}

std::string NestedArrays(int levels) {
  // AnyValue{arrayValue{values[AnyValue{...}]}}: one message level per AnyValue and ArrayValue.
  std::string json;
  for (int i = 0; i < levels; ++i) json += R"({"arrayValue":{"values":[)";
  json += R"({"intValue":"1"})";
  for (int i = 0; i < levels; ++i) json += "]}}";
  return json;
}

TEST(JsonTest, DepthLimit) {
  pb::common::AnyValue value;
  // 49 * 2 + 1 = 99 message levels: accepted.
  ASSERT_TRUE(ParseJson(NestedArrays(49), &value).ok());
  ExpectRoundTrip(value);
  absl::Status status = ParseJson(NestedArrays(50), &value);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(status), HasSubstr("nesting deeper than 100 levels"));
  EXPECT_THAT(Msg(status), StartsWith("arrayValue.values[0].arrayValue"));
  // Far deeper than the stack would allow for a recursive walk, in a message field and in an
  // unknown field (which the walk never enters, but the JSON parser must still survive).
  EXPECT_FALSE(ParseJson(NestedArrays(100000), &value).ok());
  std::string deep_unknown =
      R"({"unknown":)" + std::string(1000000, '[') + std::string(1000000, ']') + "}";
  EXPECT_TRUE(ParseJson(deep_unknown, &value).ok());
}

TEST(JsonTest, NanAndInfinity) {
  pb::metrics::HistogramDataPoint point;
  ASSERT_TRUE(ParseJson(R"({"sum": "NaN", "min": "-Infinity", "max": "Infinity",
                            "explicitBounds": [1.5, "2.5", "Infinity", NaN, -Infinity]})",
                        &point)
                  .ok());
  EXPECT_TRUE(std::isnan(point.sum()));
  EXPECT_EQ(point.min(), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(point.max(), std::numeric_limits<double>::infinity());
  ASSERT_EQ(point.explicit_bounds_size(), 5);
  EXPECT_EQ(point.explicit_bounds(1), 2.5);
  EXPECT_TRUE(std::isnan(point.explicit_bounds(3)));
  EXPECT_EQ(ToJson(point),
            R"({"sum":"NaN","explicitBounds":[1.5,2.5,"Infinity","NaN","-Infinity"],)"
            R"("min":"-Infinity","max":"Infinity"})");
  ExpectRoundTrip(point);
  EXPECT_FALSE(ParseJson(R"({"sum": "nan"})", &point).ok());
  EXPECT_FALSE(ParseJson(R"({"sum": "inf"})", &point).ok());
}

TEST(JsonTest, DoublesRoundTripExactly) {
  pb::metrics::HistogramDataPoint point;
  for (double d : {0.1, 1.0 / 3, 5e-324, 1.7976931348623157e308, -2.2250738585072014e-308,
                   123456789012345678.0, -0.0}) {
    point.add_explicit_bounds(d);
  }
  ExpectRoundTrip(point);
}

TEST(JsonTest, NumberEdgeCases) {
  pb::common::AnyValue value;
  ASSERT_TRUE(ParseJson(R"({"doubleValue": 1e-400})", &value).ok());
  EXPECT_EQ(value.double_value(), 0.0);
  ASSERT_TRUE(ParseJson(R"({"doubleValue": -0.0})", &value).ok());
  EXPECT_TRUE(std::signbit(value.double_value()));
  ASSERT_TRUE(ParseJson(R"({"doubleValue": 18446744073709551616})", &value).ok());
  EXPECT_EQ(value.double_value(), 18446744073709551616.0);
  ASSERT_TRUE(ParseJson(R"({"doubleValue": 2.2250738585072011e-308})", &value).ok());
  EXPECT_EQ(value.double_value(), 2.2250738585072011e-308);
  ASSERT_TRUE(ParseJson(R"({"doubleValue": 0.30000000000000004})", &value).ok());
  EXPECT_EQ(value.double_value(), 0.1 + 0.2);
  ASSERT_TRUE(ParseJson(R"({"intValue": 1E2})", &value).ok());
  EXPECT_EQ(value.int_value(), 100);
  EXPECT_THAT(Msg(ParseJson(R"({"doubleValue": 9.99e308})", &value)),
              StartsWith("invalid JSON at offset 16: Number too big"));
  EXPECT_THAT(Msg(ParseJson(R"({"doubleValue": 1e999})", &value)),
              StartsWith("invalid JSON at offset 16: Number too big"));
}

TEST(JsonTest, StatusWithRetryInfoRoundTrips) {
  google::rpc::Status status;
  status.set_code(14);
  status.set_message("server overloaded");
  google::rpc::RetryInfo retry;
  retry.mutable_retry_delay()->set_seconds(1);
  retry.mutable_retry_delay()->set_nanos(500'000'000);
  status.add_details()->PackFrom(retry);
  const std::string json = ToJson(status);
  EXPECT_EQ(json,
            R"({"code":14,"message":"server overloaded","details":[)"
            R"({"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1.500s"}]})");
  ExpectRoundTrip(status);

  google::rpc::Status parsed;
  ASSERT_TRUE(ParseJson(R"({"code": 8, "details": [{"retryDelay": "2s",
      "@type": "type.googleapis.com/google.rpc.RetryInfo"}, {}]})",
                        &parsed)
                  .ok());
  ASSERT_EQ(parsed.details_size(), 2);
  google::rpc::RetryInfo unpacked;
  ASSERT_TRUE(parsed.details(0).UnpackTo(&unpacked));
  EXPECT_EQ(unpacked.retry_delay().seconds(), 2);
  EXPECT_EQ(unpacked.retry_delay().nanos(), 0);
  EXPECT_EQ(parsed.details(1).type_url(), "");
}

TEST(JsonTest, AnyErrors) {
  using google::rpc::Status;
  EXPECT_EQ(ParseError<Status>(R"({"details": [{"retryDelay": "1s"}]})").message(),
            "details[0]: missing \"@type\"");
  EXPECT_EQ(
      ParseError<Status>(R"({"details": [{"@type": "type.googleapis.com/no.Such"}]})").message(),
      "details[0].@type: unsupported type \"type.googleapis.com/no.Such\"");
  EXPECT_EQ(ParseError<Status>(R"({"details": [{"@type": "type.googleapis.com/google.rpc.)"
                               R"(RetryInfo", "retryDelay": "1.5"}]})")
                .message(),
            "details[0].retryDelay: invalid duration \"1.5\"");
}

TEST(JsonTest, AnyHoldingWellKnownTypesUsesValue) {
  google::protobuf::Duration duration;
  duration.set_seconds(-3);
  duration.set_nanos(-250'000'000);
  google::rpc::Status status;
  status.add_details()->PackFrom(duration);
  google::protobuf::Any inner;
  inner.PackFrom(duration);
  status.add_details()->PackFrom(inner);
  EXPECT_EQ(ToJson(status),
            R"({"details":[{"@type":"type.googleapis.com/google.protobuf.Duration",)"
            R"("value":"-3.250s"},{"@type":"type.googleapis.com/google.protobuf.Any",)"
            R"("value":{"@type":"type.googleapis.com/google.protobuf.Duration",)"
            R"("value":"-3.250s"}}]})");
  ExpectRoundTrip(status);
}

TEST(JsonTest, DurationForms) {
  struct Case {
    const char* text;
    int64_t seconds;
    int32_t nanos;
    const char* canonical;
  };
  for (const Case& c :
       {Case{"0s", 0, 0, "0s"}, Case{"1.5s", 1, 500'000'000, "1.500s"},
        Case{"-0.000000001s", 0, -1, "-0.000000001s"}, Case{"3.000010s", 3, 10'000, "3.000010s"},
        Case{"315576000000s", 315'576'000'000, 0, "315576000000s"}}) {
    google::rpc::RetryInfo retry;
    const std::string json = std::string(R"({"retryDelay":")") + c.text + "\"}";
    ASSERT_TRUE(ParseJson(json, &retry).ok()) << json;
    EXPECT_EQ(retry.retry_delay().seconds(), c.seconds) << c.text;
    EXPECT_EQ(retry.retry_delay().nanos(), c.nanos) << c.text;
    EXPECT_EQ(ToJson(retry), std::string(R"({"retryDelay":")") + c.canonical + "\"}");
  }
  for (const char* bad :
       {"1", "s", "-s", "1.s", ".5s", "1.0000000001s", "315576000001s", "1e3s", "+1s", "1.5 s"}) {
    google::rpc::RetryInfo retry;
    const std::string json = std::string(R"({"retryDelay":")") + bad + "\"}";
    EXPECT_FALSE(ParseJson(json, &retry).ok()) << bad;
  }
}

TEST(JsonTest, ResponseWithPartialSuccess) {
  pb::trace_service::ExportTraceServiceResponse response;
  response.mutable_partial_success()->set_rejected_spans(3);
  response.mutable_partial_success()->set_error_message("bad spans");
  EXPECT_EQ(ToJson(response),
            R"({"partialSuccess":{"rejectedSpans":"3","errorMessage":"bad spans"}})");
  ExpectRoundTrip(response);
}

TEST(JsonTest, StringEscapes) {
  pb::common::AnyValue value;
  ASSERT_TRUE(ParseJson(R"({"stringValue": "a\u0000b\"\\\/\ud83d\ude00"})", &value).ok());
  EXPECT_EQ(value.string_value(), std::string("a\0b\"\\/\xf0\x9f\x98\x80", 10));
  ExpectRoundTrip(value);
  EXPECT_FALSE(ParseJson(R"({"stringValue": "\ud83d"})", &value).ok());
}

TEST(JsonTest, ConcurrentUseIsSafe) {
  // The first use of each message type builds its lookup tables; race the threads on it.
  const auto traces = FullTraceRequest();
  const auto metrics = FullMetricsRequest();
  const auto logs = FullLogsRequest();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        pb::trace_service::ExportTraceServiceRequest t2;
        pb::metrics_service::ExportMetricsServiceRequest m2;
        pb::logs_service::ExportLogsServiceRequest l2;
        EXPECT_TRUE(ParseJson(ToJson(traces), &t2).ok());
        EXPECT_TRUE(ParseJson(ToJson(metrics), &m2).ok());
        EXPECT_TRUE(ParseJson(ToJson(logs), &l2).ok());
      }
    });
  }
  for (auto& thread : threads) thread.join();
}

}  // namespace
}  // namespace sprout::otlp

namespace sprout::otlp {
namespace {

TEST(JsonTest, UnpairedLowSurrogateEscapesBecomeTheReplacementCharacter) {
  // Found by otlp_json_fuzzer: "\udEA2" decoded to the encoding of a lone surrogate, which is not
  // UTF-8, so our own JSON output could not be read back.
  google::rpc::Status status;
  ASSERT_TRUE(ParseJson(R"({"message":"a\udEA2b\udE0a"})", &status).ok());
  EXPECT_EQ(status.message(),
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD");
  google::rpc::Status again;
  ASSERT_TRUE(ParseJson(ToJson(status), &again).ok());
  EXPECT_EQ(again.message(), status.message());

  pb::trace_service::ExportTraceServiceRequest request;
  ASSERT_TRUE(
      ParseJson(R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"x\udc00"}]}]}]})", &request)
          .ok());
  EXPECT_EQ(request.resource_spans(0).scope_spans(0).spans(0).name(), "x\xEF\xBF\xBD");
  // A proper pair is still one code point (U+1F600).
  ASSERT_TRUE(ParseJson(R"({"message":"\ud83d\ude00"})", &status).ok());
  EXPECT_EQ(status.message(), "\xF0\x9F\x98\x80");
}

}  // namespace
}  // namespace sprout::otlp
