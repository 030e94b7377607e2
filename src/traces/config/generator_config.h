// The metrics-generator's configuration, at Tempo's paths: the `metrics_generator` block
// (registry, processors, storage) and the per-tenant `overrides.defaults.metrics_generator`
// block. Part of TracesConfig (traces_config.h), read by DecodeTracesConfig with Tempo's
// defaults; every key, default and behaviour is listed in README.md.
//
// Nothing runs from this yet: the generator itself is the rest of issue 13.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "config/decoder.h"
#include "yaml-cpp/node/node.h"

namespace sprout::traces {

// One entry of metrics_generator.storage.remote_write (a Prometheus remote_write
// configuration; the common keys are read, the rest warned about).
struct RemoteWriteConfig {
  std::string url;   // required, http:// or https://
  std::string name;  // "" = Prometheus derives one from the URL
  absl::Duration remote_timeout = absl::Seconds(30);
  std::map<std::string, std::string> headers;
  // Tempo sends exemplars whatever this says (reference §4.1); kept as written.
  bool send_exemplars = false;
  bool send_native_histograms = false;
  // basic_auth
  std::string basic_auth_username;
  std::string basic_auth_password;  // masked by EffectiveYaml()
  std::string basic_auth_password_file;
  // authorization
  std::string authorization_type;         // "" = Bearer when credentials are set
  std::string authorization_credentials;  // masked by EffectiveYaml()
  std::string authorization_credentials_file;
  // tls_config
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_server_name;
  bool tls_insecure_skip_verify = false;
  std::string proxy_url;
};

// span_metrics.intrinsic_dimensions: which intrinsic labels the span metrics carry.
struct IntrinsicDimensions {
  bool service = true;
  bool span_name = true;
  bool span_kind = true;
  bool status_code = true;
  bool status_message = false;
};

// span_metrics.dimension_mappings: a label `name` built from the values of `source_labels`
// joined by `join`.
struct DimensionMapping {
  std::string name;
  std::vector<std::string> source_labels;
  std::string join;
};

// One attribute test of a filter policy: `key` is scoped (`resource.x`, `span.x`) or an
// intrinsic (`name`, `status`, `kind`); `value` is the YAML scalar as written (a regex for
// match_type regex).
struct PolicyAttribute {
  std::string key;
  std::string value;
};

struct PolicyMatch {
  bool present = false;
  std::string match_type;  // "strict" or "regex"
  std::vector<PolicyAttribute> attributes;
};

// span_metrics.filter_policies entry: a span is kept when it matches every attribute of
// `include`, at least one of `include_any`, and not all of `exclude` (each part optional).
struct FilterPolicy {
  PolicyMatch include;
  PolicyMatch include_any;
  PolicyMatch exclude;
};

struct ServiceGraphsConfig {
  absl::Duration wait = absl::Seconds(10);
  int64_t max_items = 10000;
  int64_t workers = 10;
  std::vector<double> histogram_buckets = {0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8};
  std::vector<std::string> dimensions;
  bool enable_client_server_prefix = false;
  bool enable_messaging_system_latency_histogram = false;
  bool enable_virtual_node_label = false;
  std::vector<std::string> peer_attributes = {"peer.service", "db.name", "db.system",
                                              "db.system.name"};
  std::vector<std::string> database_name_attributes = {"db.namespace", "db.name", "db.system",
                                                       "db.system.name"};
  std::string span_multiplier_key;
  // Per tenant only (overrides.defaults.metrics_generator.processor.service_graphs.
  // filter_policies): not a key of the metrics_generator block in this Tempo version.
  std::vector<FilterPolicy> filter_policies;
};

struct SpanMetricsConfig {
  std::vector<double> histogram_buckets = {0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128,
                                           0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384};
  IntrinsicDimensions intrinsic_dimensions;
  std::vector<std::string> dimensions;
  std::vector<DimensionMapping> dimension_mappings;
  bool enable_target_info = false;
  bool enable_instance_label = true;
  std::vector<FilterPolicy> filter_policies;
  std::string span_multiplier_key;
  std::vector<std::string> target_info_excluded_dimensions;
};

// The `metrics_generator` block.
struct GeneratorConfig {
  // registry
  absl::Duration collection_interval = absl::Seconds(15);
  absl::Duration stale_duration = absl::Minutes(15);
  std::map<std::string, std::string> external_labels;
  std::string inject_tenant_id_as;  // "" = no tenant label
  int64_t max_label_name_length = 1024;
  int64_t max_label_value_length = 2048;
  // processor
  ServiceGraphsConfig service_graphs;
  SpanMetricsConfig span_metrics;
  // storage
  std::string storage_path;  // the remote-write WAL directory; "" = none
  std::vector<RemoteWriteConfig> remote_write;
  absl::Duration remote_write_flush_deadline = absl::Minutes(1);
  bool remote_write_add_org_id_header = true;
  // spans that ended longer ago than this are not counted
  absl::Duration metrics_ingestion_time_range_slack = absl::Seconds(30);
};

// `overrides.defaults.metrics_generator` (per tenant; every tenant gets these).
struct GeneratorOverrides {
  // Processors on for the tenant: service-graphs, span-metrics, local-blocks,
  // span-metrics-count, span-metrics-latency, span-metrics-size, host-info. Empty = the
  // generator does nothing for the tenant.
  std::vector<std::string> processors;
  int64_t max_active_series = 0;                              // 0 = no limit
  std::string generate_native_histograms = "classic";         // classic | native | both
  absl::Duration collection_interval = absl::ZeroDuration();  // 0 = the registry's
  bool disable_collection = false;
  absl::Duration ingestion_time_range_slack = absl::ZeroDuration();  // 0 = the generator's
  double native_histogram_bucket_factor = 1.1;
  int64_t native_histogram_max_bucket_number = 100;
  absl::Duration native_histogram_min_reset_duration = absl::Minutes(15);
  std::map<std::string, std::string> remote_write_headers;
  // The tenant's processor settings: metrics_generator.processor.* with each key set under
  // overrides.defaults.metrics_generator.processor.* replacing the generator's value
  // (service_graphs: dimensions, enable_client_server_prefix,
  // enable_messaging_system_latency_histogram, enable_virtual_node_label, filter_policies,
  // histogram_buckets, peer_attributes, span_multiplier_key; span_metrics: every key).
  ServiceGraphsConfig service_graphs;
  SpanMetricsConfig span_metrics;

  bool HasProcessor(std::string_view name) const;
};

namespace internal {
// Reads the `metrics_generator` map into *out: type errors go to the decoder; errors of the
// list entries (remote_write, dimension_mappings, filter_policies) to *errors; Prometheus
// remote_write keys not read to *warnings.
void DecodeGenerator(config::Decoder& generator, GeneratorConfig* out,
                     std::vector<std::string>* errors, std::vector<std::string>* warnings);
// Reads `overrides.defaults.metrics_generator` into *out; the tenant's processor settings start
// from `generator` (decoded first). List entries' errors go to *errors.
void DecodeGeneratorOverrides(config::Decoder& overrides, const GeneratorConfig& generator,
                              GeneratorOverrides* out, std::vector<std::string>* errors);
// The effective YAML of each block (secrets masked).
YAML::Node GeneratorYaml(const GeneratorConfig& config);
YAML::Node GeneratorOverridesYaml(const GeneratorOverrides& overrides);
}  // namespace internal

}  // namespace sprout::traces
