#include "otlp/wire_scan.h"

#include <gtest/gtest.h>

#include "otlp/batch.h"

namespace sprout::otlp {
namespace {

pb::trace_service::ExportTraceServiceRequest Traces(int resources, int spans) {
  pb::trace_service::ExportTraceServiceRequest request;
  for (int r = 0; r < resources; ++r) {
    auto* rs = request.add_resource_spans();
    auto* kv = rs->mutable_resource()->add_attributes();
    kv->set_key("service.name");
    kv->mutable_value()->set_string_value("svc");
    auto* ss = rs->add_scope_spans();
    ss->mutable_scope()->set_name("lib");
    for (int i = 0; i < spans; ++i) {
      auto* span = ss->add_spans();
      span->set_trace_id(std::string(16, 'a'));
      span->set_span_id(std::string(8, 'b'));
      span->set_name("op");
      auto* attr = span->add_attributes();
      attr->set_key("nested");
      auto* list = attr->mutable_value()->mutable_kvlist_value()->add_values();
      list->set_key("x");
      list->mutable_value()->mutable_array_value()->add_values()->set_int_value(1);
      auto* link = span->add_links();
      link->set_trace_id(std::string(16, 'c'));
      link->set_span_id(std::string(8, 'd'));
      span->add_events()->set_name("e");
    }
  }
  return request;
}

TEST(WireScanTest, CountsSpans) {
  auto request = Traces(3, 4);
  auto items = ScanRequest(Signal::kTraces, request.SerializeAsString());
  ASSERT_TRUE(items.ok()) << items.status();
  EXPECT_EQ(*items, 12);
  EXPECT_EQ(*ScanRequest(Signal::kTraces, ""), 0);
}

TEST(WireScanTest, CountsDataPointsOfEveryType) {
  pb::metrics_service::ExportMetricsServiceRequest request;
  auto* sm = request.add_resource_metrics()->add_scope_metrics();
  sm->add_metrics()->mutable_gauge()->add_data_points()->set_as_double(1);
  auto* sum = sm->add_metrics()->mutable_sum();
  sum->add_data_points()->set_as_int(1);
  sum->add_data_points()->set_as_int(2);
  auto* h = sm->add_metrics()->mutable_histogram()->add_data_points();
  h->add_bucket_counts(1);
  h->add_bucket_counts(2);
  h->add_explicit_bounds(0.5);
  auto* e = sm->add_metrics()->mutable_exponential_histogram()->add_data_points();
  e->mutable_positive()->add_bucket_counts(3);
  e->mutable_positive()->set_offset(-2);
  e->add_exemplars()->set_trace_id(std::string(16, 'x'));
  sm->add_metrics()->mutable_summary()->add_data_points()->add_quantile_values()->set_value(1);
  auto items = ScanRequest(Signal::kMetrics, request.SerializeAsString());
  ASSERT_TRUE(items.ok()) << items.status();
  EXPECT_EQ(*items, CountItems(request));
  EXPECT_EQ(*items, 6);
}

TEST(WireScanTest, OneofSwitchCountsOnlyTheLastMember) {
  pb::metrics::Metric gauge;
  gauge.mutable_gauge()->add_data_points();
  gauge.mutable_gauge()->add_data_points();
  pb::metrics::Metric sum;
  sum.mutable_sum()->add_data_points();
  // Two encodings of Metric concatenated merge: the sum replaces the gauge.
  const std::string metric = gauge.SerializeAsString() + sum.SerializeAsString();
  pb::metrics::ScopeMetrics scope;
  ASSERT_TRUE(scope.add_metrics()->ParseFromString(metric));
  EXPECT_EQ(scope.metrics(0).data_case(), pb::metrics::Metric::kSum);
  // Build the request bytes by hand so the concatenated Metric is kept as sent.
  std::string scope_bytes;
  scope_bytes.push_back(static_cast<char>(0x12));  // field 2 (metrics), wire type 2
  scope_bytes.push_back(static_cast<char>(metric.size()));
  scope_bytes += metric;
  std::string resource_bytes;
  resource_bytes.push_back(static_cast<char>(0x12));  // field 2 (scope_metrics)
  resource_bytes.push_back(static_cast<char>(scope_bytes.size()));
  resource_bytes += scope_bytes;
  std::string request_bytes;
  request_bytes.push_back(static_cast<char>(0x0a));  // field 1 (resource_metrics)
  request_bytes.push_back(static_cast<char>(resource_bytes.size()));
  request_bytes += resource_bytes;
  pb::metrics_service::ExportMetricsServiceRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(request_bytes));
  EXPECT_EQ(*ScanRequest(Signal::kMetrics, request_bytes), CountItems(parsed));
  EXPECT_EQ(CountItems(parsed), 1);
}

TEST(WireScanTest, RejectsWhatTheParserRejects) {
  const std::string good = Traces(1, 2).SerializeAsString();
  for (size_t cut = 1; cut < good.size(); cut += 7) {
    const std::string truncated = good.substr(0, good.size() - cut);
    pb::trace_service::ExportTraceServiceRequest parsed;
    const bool parser_ok = parsed.ParseFromString(truncated);
    const bool scan_ok = ScanRequest(Signal::kTraces, truncated).ok();
    EXPECT_EQ(parser_ok, scan_ok) << "cut " << cut;
  }
  EXPECT_FALSE(ScanRequest(Signal::kTraces, "\xff\xff\xff").ok());
  EXPECT_FALSE(ScanRequest(Signal::kTraces, std::string("\x00", 1)).ok());  // field number 0
  EXPECT_FALSE(ScanRequest(Signal::kTraces, "\x0c").ok());  // end-group outside a group
}

TEST(WireScanTest, TagBitsBeyond32AreDroppedLikeTheParser) {
  // Found by otlp_proto_fuzzer: a 5-byte tag whose last byte overflows 32 bits.
  const std::string wire("\x30\xd9\x06\xf8\xf8\xf8\xf8\x68\xf8\x68\x68\x68\x68\x40", 14);
  pb::trace_service::ExportTraceServiceRequest parsed;
  EXPECT_EQ(parsed.ParseFromString(wire), ScanRequest(Signal::kTraces, wire).ok());
}

TEST(WireScanTest, ChecksIdLengthsLikeTheCollector) {
  auto request = Traces(1, 1);
  request.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0)->set_trace_id(
      "short");
  EXPECT_EQ(ScanRequest(Signal::kTraces, request.SerializeAsString()).status().message(),
            "invalid length for ID");
  EXPECT_EQ(ValidateIds(request).message(), "invalid length for ID");
  request.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0)->clear_trace_id();
  EXPECT_TRUE(ScanRequest(Signal::kTraces, request.SerializeAsString()).ok());
  EXPECT_TRUE(ValidateIds(request).ok());
}

TEST(WireScanTest, RejectsInvalidUtf8LikeTheParser) {
  auto request = Traces(1, 1);
  request.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0)->set_name("\xc3\x28");
  std::string wire;
  request.SerializePartialToString(&wire);
  pb::trace_service::ExportTraceServiceRequest parsed;
  EXPECT_FALSE(parsed.ParseFromString(wire));
  EXPECT_FALSE(ScanRequest(Signal::kTraces, wire).ok());
}

TEST(WireScanTest, UnknownFieldsAndGroupsAreSkipped) {
  std::string wire = Traces(1, 1).SerializeAsString();
  wire += "\xf8\x01\x05";                  // field 31 varint
  wire += "\x9b\x02\xa0\x02\x01\x9c\x02";  // group 35 { field 36 varint } end group 35
  pb::trace_service::ExportTraceServiceRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire));
  auto items = ScanRequest(Signal::kTraces, wire);
  ASSERT_TRUE(items.ok()) << items.status();
  EXPECT_EQ(*items, 1);
}

TEST(WireScanTest, EnforcesTheParsersDepthLimit) {
  auto build = [](int depth) {
    pb::logs_service::ExportLogsServiceRequest request;
    pb::common::AnyValue* v =
        request.add_resource_logs()->add_scope_logs()->add_log_records()->mutable_body();
    for (int i = 0; i < depth; ++i) v = v->mutable_array_value()->add_values();
    v->set_int_value(1);
    std::string wire;
    request.SerializeToString(&wire);
    return wire;
  };
  for (int depth : {10, 45, 46, 47, 48, 60}) {
    const std::string wire = build(depth);
    pb::logs_service::ExportLogsServiceRequest parsed;
    EXPECT_EQ(parsed.ParseFromString(wire), ScanRequest(Signal::kLogs, wire).ok()) << depth;
  }
}

TEST(WireScanTest, BatchKeepsBytesUntilChanged) {
  const std::string wire = Traces(2, 3).SerializeAsString();
  auto batch = TracesBatch::Parse(wire);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->item_count(), 6);
  EXPECT_FALSE(batch->decoded());
  ASSERT_TRUE(batch->wire().has_value());
  EXPECT_EQ(*batch->wire(), wire);
  EXPECT_EQ(batch->request().resource_spans_size(), 2);  // decodes on demand
  EXPECT_TRUE(batch->wire().has_value());                // still unchanged
  TracesBatch copy = *batch;
  copy.mutable_request()->mutable_resource_spans()->RemoveLast();
  EXPECT_FALSE(copy.wire().has_value());
  EXPECT_EQ(copy.item_count(), 3);
  EXPECT_EQ(*batch->wire(), wire);  // the shared original is untouched
  EXPECT_EQ(batch->item_count(), 6);
}

}  // namespace
}  // namespace sprout::otlp
