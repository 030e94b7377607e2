#include "otlp/split.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "otlp/batch.h"

namespace sprout::otlp {
namespace {

using TracesRequest = pb::trace_service::ExportTraceServiceRequest;
using MetricsRequest = pb::metrics_service::ExportMetricsServiceRequest;
using LogsRequest = pb::logs_service::ExportLogsServiceRequest;

// resources[i][j] = spans in scope j of resource i; span names are "r<i>s<j>-<k>".
TracesRequest Traces(const std::vector<std::vector<int>>& resources) {
  TracesRequest req;
  for (size_t i = 0; i < resources.size(); ++i) {
    auto* rs = req.add_resource_spans();
    auto* attr = rs->mutable_resource()->add_attributes();
    attr->set_key("service.name");
    attr->mutable_value()->set_string_value("svc" + std::to_string(i));
    rs->set_schema_url("https://schema/" + std::to_string(i));
    for (size_t j = 0; j < resources[i].size(); ++j) {
      auto* ss = rs->add_scope_spans();
      ss->mutable_scope()->set_name("scope" + std::to_string(j));
      for (int k = 0; k < resources[i][j]; ++k) {
        ss->add_spans()->set_name("r" + std::to_string(i) + "s" + std::to_string(j) + "-" +
                                  std::to_string(k));
      }
    }
  }
  return req;
}

std::vector<std::string> SpanNames(const TracesRequest& req) {
  std::vector<std::string> names;
  for (const auto& rs : req.resource_spans()) {
    for (const auto& ss : rs.scope_spans()) {
      for (const auto& span : ss.spans()) {
        names.push_back(rs.resource().attributes(0).value().string_value() + "/" +
                        ss.scope().name() + "/" + span.name());
      }
    }
  }
  return names;
}

TEST(MoveFirstItemsTest, SplitsTracesInOrderCopyingResourceAndScope) {
  TracesRequest from = Traces({{2, 3}, {4}});
  const std::vector<std::string> all = SpanNames(from);
  std::vector<std::string> seen;
  std::vector<int64_t> sizes;
  while (CountItems(from) > 0) {
    TracesRequest part;
    MoveFirstItems(&from, 3, &part);
    sizes.push_back(CountItems(part));
    for (const auto& name : SpanNames(part)) seen.push_back(name);
    for (const auto& rs : part.resource_spans()) {
      EXPECT_EQ(rs.schema_url(),
                "https://schema/" + rs.resource().attributes(0).value().string_value().substr(3));
      for (const auto& ss : rs.scope_spans()) EXPECT_GT(ss.spans_size(), 0);
    }
  }
  EXPECT_EQ(seen, all);
  EXPECT_EQ(sizes, (std::vector<int64_t>{3, 3, 3}));
  EXPECT_EQ(from.resource_spans_size(), 0);  // emptied containers are removed
}

TEST(MoveFirstItemsTest, WholeResourcesMoveWhenTheyFit) {
  TracesRequest from = Traces({{1}, {1}, {5}});
  TracesRequest part;
  MoveFirstItems(&from, 2, &part);
  EXPECT_EQ(part.resource_spans_size(), 2);
  EXPECT_EQ(from.resource_spans_size(), 1);
  EXPECT_EQ(CountItems(from), 5);
  // Moving more than there is takes everything.
  TracesRequest rest;
  MoveFirstItems(&from, 100, &rest);
  EXPECT_EQ(CountItems(rest), 5);
  EXPECT_EQ(from.resource_spans_size(), 0);
}

TEST(MoveFirstItemsTest, SplitsAMetricKeepingItsDescription) {
  MetricsRequest from;
  auto* sm = from.add_resource_metrics()->add_scope_metrics();
  auto* m = sm->add_metrics();
  m->set_name("requests");
  m->set_unit("1");
  m->set_description("d");
  m->mutable_sum()->set_is_monotonic(true);
  m->mutable_sum()->set_aggregation_temporality(pb::metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
  for (int i = 0; i < 5; ++i) m->mutable_sum()->add_data_points()->set_as_int(i);
  auto* empty = sm->add_metrics();  // a metric without points follows
  empty->set_name("empty");
  auto* h = sm->add_metrics();
  h->set_name("latency");
  h->mutable_histogram()->add_data_points()->set_count(7);

  MetricsRequest part;
  MoveFirstItems(&from, 2, &part);
  ASSERT_EQ(CountItems(part), 2);
  const auto& pm = part.resource_metrics(0).scope_metrics(0).metrics(0);
  EXPECT_EQ(pm.name(), "requests");
  EXPECT_EQ(pm.unit(), "1");
  EXPECT_EQ(pm.description(), "d");
  EXPECT_TRUE(pm.sum().is_monotonic());
  EXPECT_EQ(pm.sum().aggregation_temporality(), pb::metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
  EXPECT_EQ(pm.sum().data_points(1).as_int(), 1);
  EXPECT_EQ(CountItems(from), 4);

  MetricsRequest part2;
  MoveFirstItems(&from, 3, &part2);  // the rest of "requests" plus the point-less metric
  EXPECT_EQ(CountItems(part2), 3);
  ASSERT_EQ(part2.resource_metrics(0).scope_metrics(0).metrics_size(), 2);
  EXPECT_EQ(part2.resource_metrics(0).scope_metrics(0).metrics(1).name(), "empty");
  EXPECT_EQ(part2.resource_metrics(0).scope_metrics(0).metrics(0).sum().data_points(0).as_int(), 2);
  MetricsRequest part3;
  MoveFirstItems(&from, 3, &part3);
  EXPECT_EQ(CountItems(part3), 1);
  EXPECT_EQ(part3.resource_metrics(0).scope_metrics(0).metrics(0).name(), "latency");
  EXPECT_EQ(from.resource_metrics_size(), 0);
}

TEST(MoveFirstItemsTest, SplitsLogs) {
  LogsRequest from;
  auto* sl = from.add_resource_logs()->add_scope_logs();
  sl->mutable_scope()->set_name("lib");
  for (int i = 0; i < 4; ++i)
    sl->add_log_records()->set_severity_number(static_cast<pb::logs::SeverityNumber>(i + 1));
  LogsRequest part;
  MoveFirstItems(&from, 3, &part);
  EXPECT_EQ(CountItems(part), 3);
  EXPECT_EQ(part.resource_logs(0).scope_logs(0).scope().name(), "lib");
  EXPECT_EQ(from.resource_logs(0).scope_logs(0).log_records(0).severity_number(), 4);
}

TEST(BatchWireTest, ConcatenatedRequestsDecodeAsTheirUnion) {
  TracesRequest a = Traces({{2}});
  TracesRequest b = Traces({{1, 1}});
  auto batch_a = TracesBatch::Parse(a.SerializeAsString());
  ASSERT_TRUE(batch_a.ok());
  TracesBatch batch_b;
  *batch_b.mutable_request() = b;  // decoded and changed: serialized on demand
  std::string wire;
  batch_a->AppendWire(&wire);
  batch_b.AppendWire(&wire);
  EXPECT_EQ(batch_a->wire()->size() + b.ByteSizeLong(), wire.size());
  TracesBatch merged = TracesBatch::FromTrustedWire(wire, 4);
  EXPECT_EQ(merged.item_count(), 4);
  EXPECT_FALSE(merged.decoded());
  EXPECT_EQ(merged.request().resource_spans_size(), 2);
  EXPECT_EQ(CountItems(merged.request()), 4);
}

}  // namespace
}  // namespace sprout::otlp
