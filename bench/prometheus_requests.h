// The requests the translation benchmarks use (prometheus_bench.cc, and prometheus_count.cc for
// callgrind's instruction counts): one resource like an instrumented service's, gauges and
// counters with 5 point attributes, or classic histograms with 10 bounds.
#pragma once

#include <string>

#include "absl/strings/str_cat.h"
#include "otlp/signal.h"

namespace sprout::bench {

namespace pb = ::sprout::otlp::pb;

inline void AddAttribute(google::protobuf::RepeatedPtrField<pb::common::KeyValue>* attributes,
                         std::string key, std::string value) {
  auto* kv = attributes->Add();
  kv->set_key(std::move(key));
  kv->mutable_value()->set_string_value(std::move(value));
}

inline pb::metrics_service::ExportMetricsServiceRequest MakeRequest(int metrics, int points,
                                                                    bool histograms,
                                                                    bool same_series = false) {
  pb::metrics_service::ExportMetricsServiceRequest request;
  auto* rm = request.add_resource_metrics();
  auto* resource_attributes = rm->mutable_resource()->mutable_attributes();
  AddAttribute(resource_attributes, "service.name", "load-generator");
  AddAttribute(resource_attributes, "service.instance.id", "0f8e5a1c-2b7d-4e36-9a51-6c3d2e1f0a9b");
  AddAttribute(resource_attributes, "host.name", "ip-10-0-12-34.ec2.internal");
  auto* sm = rm->add_scope_metrics();
  sm->mutable_scope()->set_name("bench");
  sm->mutable_scope()->set_version("1.0.0");
  for (int m = 0; m < metrics; ++m) {
    auto* metric = sm->add_metrics();
    metric->set_name(absl::StrCat("app.requests.", same_series ? 0 : m));
    metric->set_unit(histograms ? "s" : "{request}");
    for (int p = 0; p < points; ++p) {
      google::protobuf::RepeatedPtrField<pb::common::KeyValue>* attributes;
      if (histograms) {
        auto* h = metric->mutable_histogram();
        h->set_aggregation_temporality(pb::metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
        auto* point = h->add_data_points();
        point->set_time_unix_nano(1700000000000000000ULL);
        point->set_count(100);
        point->set_sum(12.5);
        for (double bound : {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0}) {
          point->add_explicit_bounds(bound);
          point->add_bucket_counts(9);
        }
        point->add_bucket_counts(10);
        attributes = point->mutable_attributes();
      } else if (m % 2 == 0) {
        auto* point = metric->mutable_gauge()->add_data_points();
        point->set_time_unix_nano(1700000000000000000ULL);
        point->set_as_double(p * 0.5);
        attributes = point->mutable_attributes();
      } else {
        auto* sum = metric->mutable_sum();
        sum->set_aggregation_temporality(pb::metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
        sum->set_is_monotonic(true);
        auto* point = sum->add_data_points();
        point->set_time_unix_nano(1700000000000000000ULL);
        point->set_as_int(p);
        attributes = point->mutable_attributes();
      }
      AddAttribute(attributes, "http.request.method", p % 2 ? "GET" : "POST");
      AddAttribute(attributes, "http.route", absl::StrCat("/api/v1/items/", p % 7));
      AddAttribute(attributes, "http.response.status_code", absl::StrCat(200 + p % 3));
      AddAttribute(attributes, "server.address", "api.example.com");
      AddAttribute(attributes, "worker", absl::StrCat("w-", same_series ? 0 : p));
    }
  }
  return request;
}

}  // namespace sprout::bench
