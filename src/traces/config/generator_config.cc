#include "traces/config/generator_config.h"

#include <algorithm>
#include <charconv>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/go_duration.h"
#include "config/yaml_util.h"
#include "yaml-cpp/yaml.h"

namespace sprout::traces {
namespace {

using config::internal::KindOf;
using config::internal::ValueKind;

// Tempo's processor names and its sub-processors' (reference §4.1).
constexpr const char* kSupportedProcessors[] = {
    "service-graphs",
    "span-metrics",
    "local-blocks",
    "span-metrics-count",
    "span-metrics-latency",
    "span-metrics-size",
    "service-graphs-request",
    "service-graphs-latency",
    "service-graphs-connection-info",
    "host-info",
};

// Prometheus remote_write keys that are real but not read (yet): a warning each.
constexpr const char* kRemoteWriteNotRead[] = {
    "queue_config",
    "metadata_config",
    "write_relabel_configs",
    "oauth2",
    "sigv4",
    "azuread",
    "google_iam",
    "follow_redirects",
    "enable_http2",
    "protobuf_message",
    "round_robin_dns",
    "no_proxy",
    "proxy_from_environment",
    "proxy_connect_header",
    "bearer_token",
    "bearer_token_file",
    "http_headers",
};

void MarkAllUsed(config::Decoder& d) {
  for (const std::string& key : d.Keys()) (void)d.Raw(key);
}

// A Prometheus label name: [a-zA-Z_][a-zA-Z0-9_]*.
bool ValidLabelName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

// A list of numbers, strictly increasing (Prometheus refuses other bucket lists).
void ReadBuckets(config::Decoder& d, std::string_view key, std::vector<double>* out) {
  YAML::Node node = d.Raw(key);
  if (KindOf(node) == ValueKind::kNull) return;
  if (!node.IsSequence()) {
    d.AddError(key, absl::StrCat("expected a list of numbers, got '",
                                 config::internal::GoKindName(KindOf(node)), "'"));
    return;
  }
  std::vector<double> buckets;
  for (size_t i = 0; i < node.size(); ++i) {
    const YAML::Node item = node[i];
    const ValueKind kind = KindOf(item);
    std::optional<double> v;
    if (kind == ValueKind::kInt || kind == ValueKind::kFloat) {
      v = config::internal::ParseFloat(item.Scalar());
    }
    if (!v) {
      d.AddError(key, absl::StrCat("item ", i, ": expected a number, got '",
                                   config::internal::GoValueString(item), "'"));
      return;
    }
    if (!buckets.empty() && *v <= buckets.back()) {
      d.AddError(key, "buckets must be in increasing order");
      return;
    }
    buckets.push_back(*v);
  }
  *out = std::move(buckets);
}

void CheckPositive(config::Decoder& d, std::string_view key, absl::Duration v) {
  if (v <= absl::ZeroDuration()) d.AddError(key, "must be positive");
}

void CheckNotNegative(config::Decoder& d, std::string_view key, absl::Duration v) {
  if (v < absl::ZeroDuration()) d.AddError(key, "must not be negative");
}

void CheckLabelNames(config::Decoder& d, std::string_view key,
                     const std::map<std::string, std::string>& labels) {
  for (const auto& [name, value] : labels) {
    if (!ValidLabelName(name)) {
      d.AddError(key, absl::StrCat("invalid label name \"", name, "\""));
    }
  }
}

// Decodes the entries of the list at `key` with `decode_one`, each with its own decoder named
// `<path>::<key>[i]` whose unknown keys and errors go to *errors.
template <typename T, typename F>
void ReadList(config::Decoder& d, std::string_view key, std::vector<T>* out,
              std::vector<std::string>* errors, F decode_one) {
  YAML::Node node = d.Raw(key);
  if (KindOf(node) == ValueKind::kNull) return;
  if (!node.IsSequence()) {
    d.AddError(key, absl::StrCat("expected a list, got '",
                                 config::internal::GoKindName(KindOf(node)), "'"));
    return;
  }
  const std::string path = config::internal::JoinPath(d.path(), key);
  std::vector<T> items;
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string item_path = absl::StrCat(path, "[", i, "]");
    const YAML::Node item = node[i];
    if (!item.IsMap()) {
      errors->push_back(absl::StrCat("'", item_path, "' expected a map, got '",
                                     config::internal::GoKindName(KindOf(item)), "'"));
      continue;
    }
    config::Decoder entry(item, item_path);
    T value;
    decode_one(entry, &value);
    absl::Status status = entry.Finish();
    if (!status.ok()) errors->push_back(std::string(status.message()));
    items.push_back(std::move(value));
  }
  *out = std::move(items);
}

void DecodeRemoteWrite(config::Decoder& d, RemoteWriteConfig* rw,
                       std::vector<std::string>* warnings) {
  d.Read("url", &rw->url);
  d.Read("name", &rw->name);
  d.Read("remote_timeout", &rw->remote_timeout);
  d.Read("headers", &rw->headers);
  d.Read("send_exemplars", &rw->send_exemplars);
  d.Read("send_native_histograms", &rw->send_native_histograms);
  d.Read("proxy_url", &rw->proxy_url);
  {
    config::Decoder auth = d.Child("basic_auth");
    auth.Read("username", &rw->basic_auth_username);
    auth.Read("password", &rw->basic_auth_password);
    auth.Read("password_file", &rw->basic_auth_password_file);
  }
  {
    config::Decoder auth = d.Child("authorization");
    auth.Read("type", &rw->authorization_type);
    auth.Read("credentials", &rw->authorization_credentials);
    auth.Read("credentials_file", &rw->authorization_credentials_file);
  }
  {
    config::Decoder tls = d.Child("tls_config");
    tls.Read("ca_file", &rw->tls_ca_file);
    tls.Read("cert_file", &rw->tls_cert_file);
    tls.Read("key_file", &rw->tls_key_file);
    tls.Read("server_name", &rw->tls_server_name);
    tls.Read("insecure_skip_verify", &rw->tls_insecure_skip_verify);
  }
  for (const char* key : kRemoteWriteNotRead) {
    if (!d.Has(key)) continue;
    (void)d.Raw(key);
    warnings->push_back(absl::StrCat("'", config::internal::JoinPath(d.path(), key),
                                     "' is a Prometheus remote_write setting that sprout "
                                     "traces does not implement yet; it is ignored"));
  }
  if (rw->url.empty()) {
    d.AddError("url", "is required");
  } else if (!absl::StartsWith(rw->url, "http://") && !absl::StartsWith(rw->url, "https://")) {
    d.AddError("url", absl::StrCat("unsupported scheme in \"", rw->url,
                                   "\": expected http:// or https://"));
  }
  CheckPositive(d, "remote_timeout", rw->remote_timeout);
  if (!rw->basic_auth_password.empty() && !rw->basic_auth_password_file.empty()) {
    d.AddError("basic_auth", "at most one of password and password_file must be configured");
  }
  if (!rw->authorization_credentials.empty() && !rw->authorization_credentials_file.empty()) {
    d.AddError("authorization",
               "at most one of credentials and credentials_file must be configured");
  }
  const bool basic = !rw->basic_auth_username.empty() || !rw->basic_auth_password.empty() ||
                     !rw->basic_auth_password_file.empty();
  const bool bearer =
      !rw->authorization_credentials.empty() || !rw->authorization_credentials_file.empty();
  if (basic && bearer) {
    d.AddError("", "at most one of basic_auth and authorization must be configured");
  }
}

void DecodePolicyMatch(config::Decoder& parent, std::string_view key, PolicyMatch* out,
                       std::vector<std::string>* errors) {
  if (!parent.Has(key)) return;
  out->present = true;
  config::Decoder m = parent.Child(key);
  m.Read("match_type", &out->match_type);
  if (out->match_type != "strict" && out->match_type != "regex") {
    m.AddError("match_type", absl::StrCat("invalid match type \"", out->match_type,
                                          "\": expected strict or regex"));
  }
  ReadList(m, "attributes", &out->attributes, errors,
           [](config::Decoder& a, PolicyAttribute* attr) {
             a.Read("key", &attr->key);
             YAML::Node value = a.Raw("value");
             if (value.IsDefined() && value.IsScalar()) {
               attr->value = value.Scalar();
             } else if (value.IsDefined() && KindOf(value) != ValueKind::kNull) {
               a.AddError("value", absl::StrCat("expected a scalar, got '",
                                                config::internal::GoKindName(KindOf(value)), "'"));
             }
             if (attr->key.empty()) a.AddError("key", "is required");
           });
}

void DecodeFilterPolicies(config::Decoder& d, std::vector<FilterPolicy>* out,
                          std::vector<std::string>* errors) {
  ReadList(d, "filter_policies", out, errors, [errors](config::Decoder& p, FilterPolicy* policy) {
    DecodePolicyMatch(p, "include", &policy->include, errors);
    DecodePolicyMatch(p, "include_any", &policy->include_any, errors);
    DecodePolicyMatch(p, "exclude", &policy->exclude, errors);
  });
}

// The keys a tenant cannot set (wait, max_items, workers, database_name_attributes) were
// already refused as unknown below overrides, so one reader serves both blocks.
void DecodeServiceGraphs(config::Decoder& d, ServiceGraphsConfig* sg) {
  d.Read("wait", &sg->wait);
  d.Read("max_items", &sg->max_items);
  d.Read("workers", &sg->workers);
  ReadBuckets(d, "histogram_buckets", &sg->histogram_buckets);
  d.Read("dimensions", &sg->dimensions);
  d.Read("enable_client_server_prefix", &sg->enable_client_server_prefix);
  d.Read("enable_messaging_system_latency_histogram",
         &sg->enable_messaging_system_latency_histogram);
  d.Read("enable_virtual_node_label", &sg->enable_virtual_node_label);
  d.Read("peer_attributes", &sg->peer_attributes);
  d.Read("database_name_attributes", &sg->database_name_attributes);
  d.Read("span_multiplier_key", &sg->span_multiplier_key);
  CheckPositive(d, "wait", sg->wait);
  if (sg->max_items <= 0) d.AddError("max_items", "must be positive");
  if (sg->workers <= 0) d.AddError("workers", "must be positive");
  MarkAllUsed(d);
}

void DecodeSpanMetrics(config::Decoder& d, SpanMetricsConfig* sm,
                       std::vector<std::string>* errors) {
  ReadBuckets(d, "histogram_buckets", &sm->histogram_buckets);
  {
    config::Decoder intrinsic = d.Child("intrinsic_dimensions");
    intrinsic.Read("service", &sm->intrinsic_dimensions.service);
    intrinsic.Read("span_name", &sm->intrinsic_dimensions.span_name);
    intrinsic.Read("span_kind", &sm->intrinsic_dimensions.span_kind);
    intrinsic.Read("status_code", &sm->intrinsic_dimensions.status_code);
    intrinsic.Read("status_message", &sm->intrinsic_dimensions.status_message);
    MarkAllUsed(intrinsic);
  }
  d.Read("dimensions", &sm->dimensions);
  ReadList(d, "dimension_mappings", &sm->dimension_mappings, errors,
           [](config::Decoder& m, DimensionMapping* mapping) {
             m.Read("name", &mapping->name);
             m.Read("source_labels", &mapping->source_labels);
             m.Read("join", &mapping->join);
             if (mapping->name.empty()) m.AddError("name", "is required");
             if (mapping->source_labels.empty()) {
               m.AddError("source_labels", "must name at least one attribute");
             }
           });
  d.Read("enable_target_info", &sm->enable_target_info);
  d.Read("enable_instance_label", &sm->enable_instance_label);
  DecodeFilterPolicies(d, &sm->filter_policies, errors);
  d.Read("span_multiplier_key", &sm->span_multiplier_key);
  d.Read("target_info_excluded_dimensions", &sm->target_info_excluded_dimensions);
  MarkAllUsed(d);
}

// Shortest text that reads back as the same double ("0.1", "16.384").
std::string FormatDouble(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, end);
}

YAML::Node Buckets(const std::vector<double>& buckets) {
  YAML::Node out(YAML::NodeType::Sequence);
  for (double b : buckets) out.push_back(FormatDouble(b));
  return out;
}

YAML::Node Strings(const std::vector<std::string>& list) {
  YAML::Node out(YAML::NodeType::Sequence);
  for (const std::string& s : list) out.push_back(s);
  return out;
}

YAML::Node StringMap(const std::map<std::string, std::string>& map) {
  YAML::Node out(YAML::NodeType::Map);
  for (const auto& [k, v] : map) out[k] = v;
  return out;
}

YAML::Node PolicyMatchYaml(const PolicyMatch& m) {
  YAML::Node out(YAML::NodeType::Map);
  out["match_type"] = m.match_type;
  YAML::Node attrs(YAML::NodeType::Sequence);
  for (const PolicyAttribute& a : m.attributes) {
    YAML::Node attr(YAML::NodeType::Map);
    attr["key"] = a.key;
    attr["value"] = a.value;
    attrs.push_back(attr);
  }
  out["attributes"] = attrs;
  return out;
}

YAML::Node PoliciesYaml(const std::vector<FilterPolicy>& list) {
  YAML::Node policies(YAML::NodeType::Sequence);
  for (const FilterPolicy& p : list) {
    YAML::Node policy(YAML::NodeType::Map);
    if (p.include.present) policy["include"] = PolicyMatchYaml(p.include);
    if (p.include_any.present) policy["include_any"] = PolicyMatchYaml(p.include_any);
    if (p.exclude.present) policy["exclude"] = PolicyMatchYaml(p.exclude);
    policies.push_back(policy);
  }
  return policies;
}

YAML::Node SpanMetricsYaml(const SpanMetricsConfig& sm) {
  YAML::Node s(YAML::NodeType::Map);
  s["histogram_buckets"] = Buckets(sm.histogram_buckets);
  s["intrinsic_dimensions"]["service"] = sm.intrinsic_dimensions.service;
  s["intrinsic_dimensions"]["span_name"] = sm.intrinsic_dimensions.span_name;
  s["intrinsic_dimensions"]["span_kind"] = sm.intrinsic_dimensions.span_kind;
  s["intrinsic_dimensions"]["status_code"] = sm.intrinsic_dimensions.status_code;
  s["intrinsic_dimensions"]["status_message"] = sm.intrinsic_dimensions.status_message;
  s["dimensions"] = Strings(sm.dimensions);
  YAML::Node mappings(YAML::NodeType::Sequence);
  for (const DimensionMapping& m : sm.dimension_mappings) {
    YAML::Node mapping(YAML::NodeType::Map);
    mapping["name"] = m.name;
    mapping["source_labels"] = Strings(m.source_labels);
    mapping["join"] = m.join;
    mappings.push_back(mapping);
  }
  s["dimension_mappings"] = mappings;
  s["enable_target_info"] = sm.enable_target_info;
  s["enable_instance_label"] = sm.enable_instance_label;
  s["filter_policies"] = PoliciesYaml(sm.filter_policies);
  s["span_multiplier_key"] = sm.span_multiplier_key;
  s["target_info_excluded_dimensions"] = Strings(sm.target_info_excluded_dimensions);
  return s;
}

}  // namespace

bool GeneratorOverrides::HasProcessor(std::string_view name) const {
  return std::find(processors.begin(), processors.end(), name) != processors.end();
}

namespace internal {

void DecodeGenerator(config::Decoder& d, GeneratorConfig* out, std::vector<std::string>* errors,
                     std::vector<std::string>* warnings) {
  {
    config::Decoder registry = d.Child("registry");
    registry.Read("collection_interval", &out->collection_interval);
    registry.Read("stale_duration", &out->stale_duration);
    registry.Read("external_labels", &out->external_labels);
    registry.Read("inject_tenant_id_as", &out->inject_tenant_id_as);
    registry.Read("max_label_name_length", &out->max_label_name_length);
    registry.Read("max_label_value_length", &out->max_label_value_length);
    CheckPositive(registry, "collection_interval", out->collection_interval);
    CheckPositive(registry, "stale_duration", out->stale_duration);
    CheckLabelNames(registry, "external_labels", out->external_labels);
    if (!out->inject_tenant_id_as.empty() && !ValidLabelName(out->inject_tenant_id_as)) {
      registry.AddError("inject_tenant_id_as",
                        absl::StrCat("invalid label name \"", out->inject_tenant_id_as, "\""));
    }
    if (out->max_label_name_length < 0) {
      registry.AddError("max_label_name_length", "must not be negative");
    }
    if (out->max_label_value_length < 0) {
      registry.AddError("max_label_value_length", "must not be negative");
    }
    MarkAllUsed(registry);
  }
  {
    config::Decoder processor = d.Child("processor");
    config::Decoder sg = processor.Child("service_graphs");
    DecodeServiceGraphs(sg, &out->service_graphs);
    config::Decoder sm = processor.Child("span_metrics");
    DecodeSpanMetrics(sm, &out->span_metrics, errors);
    MarkAllUsed(processor);
  }
  {
    config::Decoder storage = d.Child("storage");
    storage.Read("path", &out->storage_path);
    ReadList(storage, "remote_write", &out->remote_write, errors,
             [warnings](config::Decoder& e, RemoteWriteConfig* rw) {
               DecodeRemoteWrite(e, rw, warnings);
             });
    storage.Read("remote_write_flush_deadline", &out->remote_write_flush_deadline);
    storage.Read("remote_write_add_org_id_header", &out->remote_write_add_org_id_header);
    CheckNotNegative(storage, "remote_write_flush_deadline", out->remote_write_flush_deadline);
    MarkAllUsed(storage);
  }
  d.Read("metrics_ingestion_time_range_slack", &out->metrics_ingestion_time_range_slack);
  CheckNotNegative(d, "metrics_ingestion_time_range_slack",
                   out->metrics_ingestion_time_range_slack);
  MarkAllUsed(d);
}

void DecodeGeneratorOverrides(config::Decoder& d, const GeneratorConfig& generator,
                              GeneratorOverrides* out, std::vector<std::string>* errors) {
  out->service_graphs = generator.service_graphs;
  out->span_metrics = generator.span_metrics;
  {
    config::Decoder processor = d.Child("processor");
    config::Decoder sg = processor.Child("service_graphs");
    DecodeFilterPolicies(sg, &out->service_graphs.filter_policies, errors);
    DecodeServiceGraphs(sg, &out->service_graphs);
    config::Decoder sm = processor.Child("span_metrics");
    DecodeSpanMetrics(sm, &out->span_metrics, errors);
    MarkAllUsed(processor);
  }
  d.Read("processors", &out->processors);
  d.Read("max_active_series", &out->max_active_series);
  d.Read("generate_native_histograms", &out->generate_native_histograms);
  d.Read("collection_interval", &out->collection_interval);
  d.Read("disable_collection", &out->disable_collection);
  d.Read("ingestion_time_range_slack", &out->ingestion_time_range_slack);
  d.Read("native_histogram_bucket_factor", &out->native_histogram_bucket_factor);
  d.Read("native_histogram_max_bucket_number", &out->native_histogram_max_bucket_number);
  d.Read("native_histogram_min_reset_duration", &out->native_histogram_min_reset_duration);
  d.Read("remote_write_headers", &out->remote_write_headers);
  for (const std::string& p : out->processors) {
    const bool known = std::any_of(std::begin(kSupportedProcessors), std::end(kSupportedProcessors),
                                   [&p](const char* s) { return p == s; });
    if (!known) {
      d.AddError("processors", absl::StrCat("\"", p, "\" is not a known processor, valid values: ",
                                            absl::StrJoin(kSupportedProcessors, ", ")));
    }
  }
  if (out->max_active_series < 0) d.AddError("max_active_series", "must not be negative");
  const std::string& mode = out->generate_native_histograms;
  if (mode != "classic" && mode != "native" && mode != "both") {
    d.AddError("generate_native_histograms",
               absl::StrCat("invalid value \"", mode, "\": expected classic, native or both"));
  }
  CheckNotNegative(d, "collection_interval", out->collection_interval);
  CheckNotNegative(d, "ingestion_time_range_slack", out->ingestion_time_range_slack);
  if (!(out->native_histogram_bucket_factor > 1.0)) {
    d.AddError("native_histogram_bucket_factor", "must be greater than 1");
  }
  if (out->native_histogram_max_bucket_number < 0) {
    d.AddError("native_histogram_max_bucket_number", "must not be negative");
  }
  CheckNotNegative(d, "native_histogram_min_reset_duration",
                   out->native_histogram_min_reset_duration);
  MarkAllUsed(d);
}

YAML::Node GeneratorYaml(const GeneratorConfig& c) {
  YAML::Node out(YAML::NodeType::Map);
  YAML::Node registry(YAML::NodeType::Map);
  registry["collection_interval"] = FormatGoDuration(c.collection_interval);
  registry["stale_duration"] = FormatGoDuration(c.stale_duration);
  registry["external_labels"] = StringMap(c.external_labels);
  registry["inject_tenant_id_as"] = c.inject_tenant_id_as;
  registry["max_label_name_length"] = c.max_label_name_length;
  registry["max_label_value_length"] = c.max_label_value_length;
  out["registry"] = registry;

  const ServiceGraphsConfig& sg = c.service_graphs;
  YAML::Node g(YAML::NodeType::Map);
  g["wait"] = FormatGoDuration(sg.wait);
  g["max_items"] = sg.max_items;
  g["workers"] = sg.workers;
  g["histogram_buckets"] = Buckets(sg.histogram_buckets);
  g["dimensions"] = Strings(sg.dimensions);
  g["enable_client_server_prefix"] = sg.enable_client_server_prefix;
  g["enable_messaging_system_latency_histogram"] = sg.enable_messaging_system_latency_histogram;
  g["enable_virtual_node_label"] = sg.enable_virtual_node_label;
  g["peer_attributes"] = Strings(sg.peer_attributes);
  g["database_name_attributes"] = Strings(sg.database_name_attributes);
  g["span_multiplier_key"] = sg.span_multiplier_key;
  out["processor"]["service_graphs"] = g;

  out["processor"]["span_metrics"] = SpanMetricsYaml(c.span_metrics);

  YAML::Node storage(YAML::NodeType::Map);
  storage["path"] = c.storage_path;
  YAML::Node rws(YAML::NodeType::Sequence);
  for (const RemoteWriteConfig& rw : c.remote_write) {
    YAML::Node e(YAML::NodeType::Map);
    e["url"] = rw.url;
    if (!rw.name.empty()) e["name"] = rw.name;
    e["remote_timeout"] = FormatGoDuration(rw.remote_timeout);
    if (!rw.headers.empty()) e["headers"] = StringMap(rw.headers);
    e["send_exemplars"] = rw.send_exemplars;
    e["send_native_histograms"] = rw.send_native_histograms;
    if (!rw.basic_auth_username.empty()) e["basic_auth"]["username"] = rw.basic_auth_username;
    if (!rw.basic_auth_password.empty()) e["basic_auth"]["password"] = "********";
    if (!rw.basic_auth_password_file.empty()) {
      e["basic_auth"]["password_file"] = rw.basic_auth_password_file;
    }
    if (!rw.authorization_type.empty()) e["authorization"]["type"] = rw.authorization_type;
    if (!rw.authorization_credentials.empty()) e["authorization"]["credentials"] = "********";
    if (!rw.authorization_credentials_file.empty()) {
      e["authorization"]["credentials_file"] = rw.authorization_credentials_file;
    }
    if (!rw.tls_ca_file.empty()) e["tls_config"]["ca_file"] = rw.tls_ca_file;
    if (!rw.tls_cert_file.empty()) e["tls_config"]["cert_file"] = rw.tls_cert_file;
    if (!rw.tls_key_file.empty()) e["tls_config"]["key_file"] = rw.tls_key_file;
    if (!rw.tls_server_name.empty()) e["tls_config"]["server_name"] = rw.tls_server_name;
    if (rw.tls_insecure_skip_verify) e["tls_config"]["insecure_skip_verify"] = true;
    if (!rw.proxy_url.empty()) e["proxy_url"] = rw.proxy_url;
    rws.push_back(e);
  }
  storage["remote_write"] = rws;
  storage["remote_write_flush_deadline"] = FormatGoDuration(c.remote_write_flush_deadline);
  storage["remote_write_add_org_id_header"] = c.remote_write_add_org_id_header;
  out["storage"] = storage;
  out["metrics_ingestion_time_range_slack"] =
      FormatGoDuration(c.metrics_ingestion_time_range_slack);
  return out;
}

YAML::Node GeneratorOverridesYaml(const GeneratorOverrides& o) {
  YAML::Node out(YAML::NodeType::Map);
  out["processors"] = Strings(o.processors);
  out["max_active_series"] = o.max_active_series;
  out["generate_native_histograms"] = o.generate_native_histograms;
  out["collection_interval"] = FormatGoDuration(o.collection_interval);
  out["disable_collection"] = o.disable_collection;
  out["ingestion_time_range_slack"] = FormatGoDuration(o.ingestion_time_range_slack);
  out["native_histogram_bucket_factor"] = FormatDouble(o.native_histogram_bucket_factor);
  out["native_histogram_max_bucket_number"] = o.native_histogram_max_bucket_number;
  out["native_histogram_min_reset_duration"] =
      FormatGoDuration(o.native_histogram_min_reset_duration);
  out["remote_write_headers"] = StringMap(o.remote_write_headers);
  const ServiceGraphsConfig& sg = o.service_graphs;
  YAML::Node g(YAML::NodeType::Map);
  g["dimensions"] = Strings(sg.dimensions);
  g["enable_client_server_prefix"] = sg.enable_client_server_prefix;
  g["enable_messaging_system_latency_histogram"] = sg.enable_messaging_system_latency_histogram;
  g["enable_virtual_node_label"] = sg.enable_virtual_node_label;
  g["filter_policies"] = PoliciesYaml(sg.filter_policies);
  g["histogram_buckets"] = Buckets(sg.histogram_buckets);
  g["peer_attributes"] = Strings(sg.peer_attributes);
  g["span_multiplier_key"] = sg.span_multiplier_key;
  out["processor"]["service_graphs"] = g;
  out["processor"]["span_metrics"] = SpanMetricsYaml(o.span_metrics);
  return out;
}

}  // namespace internal
}  // namespace sprout::traces
