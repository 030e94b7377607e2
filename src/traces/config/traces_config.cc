#include "traces/config/traces_config.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "base/go_duration.h"
#include "base/status.h"
#include "config/decoder.h"
#include "config/yaml_util.h"
#include "traces/config/tempo_config_keys.h"
#include "yaml-cpp/yaml.h"

namespace sprout::traces {
namespace {

using config::internal::KindOf;
using config::internal::ValueKind;

constexpr const char kDefaultOtlpGrpcEndpoint[] = "localhost:4317";
constexpr const char kDefaultOtlpHttpEndpoint[] = "localhost:4318";

// Keys read into TracesConfig (dotted, as Tempo's manifest names them).
constexpr const char* kImplementedKeys[] = {
    "target",
    "multitenancy_enabled",
    "server.http_listen_address",
    "server.http_listen_port",
    "server.grpc_listen_port",
    "distributor.receivers.otlp.protocols.grpc.endpoint",
    "distributor.receivers.otlp.protocols.http.endpoint",
    "ingester.flush_all_on_shutdown",
    "ingester.flush_check_period",
    "ingester.max_block_duration",
    "ingester.max_block_bytes",
    "ingester.trace_idle_period",
    "compactor.compaction.block_retention",
    "compactor.compaction.compacted_block_retention",
    "compactor.compaction.compaction_cycle",
    "compactor.compaction.compaction_window",
    "compactor.compaction.max_block_bytes",
    "compactor.compaction.max_compaction_objects",
    "query_frontend.metrics.max_duration",
    "query_frontend.metrics.max_intervals",
    "query_frontend.metrics.max_exemplars",
    "query_frontend.metrics.max_response_series",
    "storage.trace.backend",
    "storage.trace.local.path",
    "storage.trace.wal.path",
    "storage.trace.s3.bucket",
    "storage.trace.s3.endpoint",
    "storage.trace.s3.region",
    "storage.trace.s3.prefix",
    "storage.trace.s3.access_key",
    "storage.trace.s3.secret_key",
    "storage.trace.s3.insecure",
    "overrides.defaults.ingestion.rate_limit_bytes",
    "overrides.defaults.ingestion.burst_size_bytes",
    "overrides.defaults.global.max_bytes_per_trace",
    // the metrics-generator (generator_config.h)
    "metrics_generator.registry.collection_interval",
    "metrics_generator.registry.stale_duration",
    "metrics_generator.registry.external_labels",
    "metrics_generator.registry.inject_tenant_id_as",
    "metrics_generator.registry.max_label_name_length",
    "metrics_generator.registry.max_label_value_length",
    "metrics_generator.processor.service_graphs.wait",
    "metrics_generator.processor.service_graphs.max_items",
    "metrics_generator.processor.service_graphs.workers",
    "metrics_generator.processor.service_graphs.histogram_buckets",
    "metrics_generator.processor.service_graphs.dimensions",
    "metrics_generator.processor.service_graphs.enable_client_server_prefix",
    "metrics_generator.processor.service_graphs.enable_messaging_system_latency_histogram",
    "metrics_generator.processor.service_graphs.enable_virtual_node_label",
    "metrics_generator.processor.service_graphs.peer_attributes",
    "metrics_generator.processor.service_graphs.database_name_attributes",
    "metrics_generator.processor.service_graphs.span_multiplier_key",
    "metrics_generator.processor.span_metrics.histogram_buckets",
    "metrics_generator.processor.span_metrics.intrinsic_dimensions.service",
    "metrics_generator.processor.span_metrics.intrinsic_dimensions.span_name",
    "metrics_generator.processor.span_metrics.intrinsic_dimensions.span_kind",
    "metrics_generator.processor.span_metrics.intrinsic_dimensions.status_code",
    "metrics_generator.processor.span_metrics.intrinsic_dimensions.status_message",
    "metrics_generator.processor.span_metrics.dimensions",
    "metrics_generator.processor.span_metrics.dimension_mappings",
    "metrics_generator.processor.span_metrics.enable_target_info",
    "metrics_generator.processor.span_metrics.enable_instance_label",
    "metrics_generator.processor.span_metrics.filter_policies",
    "metrics_generator.processor.span_metrics.span_multiplier_key",
    "metrics_generator.processor.span_metrics.target_info_excluded_dimensions",
    "metrics_generator.storage.path",
    "metrics_generator.storage.remote_write",
    "metrics_generator.storage.remote_write_flush_deadline",
    "metrics_generator.storage.remote_write_add_org_id_header",
    "metrics_generator.metrics_ingestion_time_range_slack",
    "overrides.defaults.metrics_generator.processors",
    "overrides.defaults.metrics_generator.max_active_series",
    "overrides.defaults.metrics_generator.generate_native_histograms",
    "overrides.defaults.metrics_generator.collection_interval",
    "overrides.defaults.metrics_generator.disable_collection",
    "overrides.defaults.metrics_generator.ingestion_time_range_slack",
    "overrides.defaults.metrics_generator.native_histogram_bucket_factor",
    "overrides.defaults.metrics_generator.native_histogram_max_bucket_number",
    "overrides.defaults.metrics_generator.native_histogram_min_reset_duration",
    "overrides.defaults.metrics_generator.remote_write_headers",
    "overrides.defaults.metrics_generator.processor.service_graphs.dimensions",
    "overrides.defaults.metrics_generator.processor.service_graphs.enable_client_server_prefix",
    "overrides.defaults.metrics_generator.processor.service_graphs."
    "enable_messaging_system_latency_histogram",
    "overrides.defaults.metrics_generator.processor.service_graphs.enable_virtual_node_label",
    "overrides.defaults.metrics_generator.processor.service_graphs.filter_policies",
    "overrides.defaults.metrics_generator.processor.service_graphs.histogram_buckets",
    "overrides.defaults.metrics_generator.processor.service_graphs.peer_attributes",
    "overrides.defaults.metrics_generator.processor.service_graphs.span_multiplier_key",
    "overrides.defaults.metrics_generator.processor.span_metrics.dimension_mappings",
    "overrides.defaults.metrics_generator.processor.span_metrics.dimensions",
    "overrides.defaults.metrics_generator.processor.span_metrics.enable_instance_label",
    "overrides.defaults.metrics_generator.processor.span_metrics.enable_target_info",
    "overrides.defaults.metrics_generator.processor.span_metrics.filter_policies",
    "overrides.defaults.metrics_generator.processor.span_metrics.histogram_buckets",
    "overrides.defaults.metrics_generator.processor.span_metrics.intrinsic_dimensions.service",
    "overrides.defaults.metrics_generator.processor.span_metrics.intrinsic_dimensions.span_name",
    "overrides.defaults.metrics_generator.processor.span_metrics.intrinsic_dimensions.span_kind",
    "overrides.defaults.metrics_generator.processor.span_metrics.intrinsic_dimensions."
    "status_code",
    "overrides.defaults.metrics_generator.processor.span_metrics.intrinsic_dimensions."
    "status_message",
    "overrides.defaults.metrics_generator.processor.span_metrics.span_multiplier_key",
    "overrides.defaults.metrics_generator.processor.span_metrics."
    "target_info_excluded_dimensions",
};

// Real Tempo keys accepted without a warning because a later issue uses them: the rest of the
// S3 client settings (the object-store issue). The metrics-generator's keys not read (ring,
// local_blocks, its WAL tuning, the per-tenant processor overrides) are warned about.
constexpr const char* kAcceptedPrefixes[] = {
    "storage.trace.s3.",
};

// A per-tenant Tempo key whose value is a map of flags (Tempo lists it as one leaf): its five
// flags are implemented keys, so another key below it is an error, not a warning.
constexpr const char kIntrinsicDimensionsOverride[] =
    "overrides.defaults.metrics_generator.processor.span_metrics.intrinsic_dimensions";

struct KeyIndex {
  absl::flat_hash_set<std::string> implemented;
  absl::flat_hash_set<std::string> tempo_leaves;
  absl::flat_hash_set<std::string> blocks;  // every proper prefix of a known leaf
};

const KeyIndex& Index() {
  static const KeyIndex* index = [] {
    auto* idx = new KeyIndex;
    auto add_blocks = [idx](std::string_view leaf) {
      for (size_t dot = leaf.find('.'); dot != std::string_view::npos;
           dot = leaf.find('.', dot + 1)) {
        idx->blocks.insert(std::string(leaf.substr(0, dot)));
      }
    };
    for (absl::string_view piece : absl::StrSplit(AV(TempoConfigKeysText()), '\n')) {
      const std::string_view line = SV(absl::StripAsciiWhitespace(piece));
      if (line.empty() || line[0] == '#') continue;
      idx->tempo_leaves.insert(std::string(line));
      add_blocks(line);
    }
    for (const char* key : kImplementedKeys) {
      idx->implemented.insert(key);
      add_blocks(key);
    }
    return idx;
  }();
  return *index;
}

KeyClass LeafClass(const std::string& path) {
  for (const char* prefix : kAcceptedPrefixes) {
    if (absl::StartsWith(path, prefix)) return KeyClass::kAccepted;
  }
  return KeyClass::kNotImplemented;
}

std::string Display(std::string_view dotted) {
  return absl::StrReplaceAll(AV(dotted), {{".", "::"}});
}

// `--set` takes the collector's `a::b=v`; Tempo users write `a.b=v` (Tempo keys never contain
// dots), so a key part without "::" has its dots turned into "::".
std::string NormalizeSet(const std::string& set) {
  const size_t eq = set.find('=');
  const std::string key = set.substr(0, eq);
  if (key.find("::") != std::string::npos || key.find('.') == std::string::npos) return set;
  std::string out = absl::StrReplaceAll(key, {{".", "::"}});
  if (eq != std::string::npos) out += set.substr(eq);
  return out;
}

// Walks the tree: classifies every key, records warnings and errors.
void Classify(const YAML::Node& node, const std::string& prefix, std::vector<std::string>* errors,
              std::vector<std::string>* warnings, bool* structural_error) {
  std::vector<std::string> unknown;
  for (const auto& entry : node) {
    const std::string key = config::internal::KeyText(entry.first);
    const std::string dotted = prefix.empty() ? key : absl::StrCat(prefix, ".", key);
    const YAML::Node& value = entry.second;
    switch (ClassifyKey(dotted)) {
      case KeyClass::kImplemented:
      case KeyClass::kAccepted:
        break;
      case KeyClass::kNotImplemented:
        warnings->push_back(absl::StrCat(
            "'", Display(dotted),
            "' is a Tempo setting that sprout traces does not implement yet; it is ignored"));
        break;
      case KeyClass::kBlock:
        if (value.IsMap()) {
          Classify(value, dotted, errors, warnings, structural_error);
        } else if (KindOf(value) != ValueKind::kNull) {
          *structural_error = true;
          errors->push_back(absl::StrCat("'", Display(dotted), "' expected a map, got '",
                                         config::internal::GoKindName(KindOf(value)), "'"));
        }
        break;
      case KeyClass::kUnknown:
        unknown.push_back(key);
        break;
    }
  }
  if (unknown.empty()) return;
  std::sort(unknown.begin(), unknown.end());
  if (prefix.empty()) {
    errors->push_back(
        absl::StrCat("configuration has invalid keys: ", absl::StrJoin(unknown, ", ")));
  } else {
    errors->push_back(
        absl::StrCat("'", Display(prefix), "' has invalid keys: ", absl::StrJoin(unknown, ", ")));
  }
}

// Marks every key of `d` as read: unknown keys were already reported by Classify().
void MarkAllUsed(config::Decoder& d) {
  for (const std::string& key : d.Keys()) (void)d.Raw(key);
}

void CheckPort(config::Decoder& d, std::string_view key, int port) {
  if (port < 0 || port > 65535) {
    d.AddError(key, absl::StrCat("invalid port ", port, ": must be between 0 and 65535"));
  }
}

void CheckPositive(config::Decoder& d, std::string_view key, absl::Duration v) {
  if (v <= absl::ZeroDuration()) d.AddError(key, "must be positive");
}

void CheckNonNegative(config::Decoder& d, std::string_view key, int64_t v) {
  if (v < 0) d.AddError(key, "must not be negative");
}

// One protocol of the OTLP receiver: present (even with an empty value) = enabled, on the
// receiver's default endpoint unless one is given.
void ReadOtlpProtocol(config::Decoder& protocols, std::string_view name,
                      const char* default_endpoint, OtlpProtocol* out) {
  if (!protocols.Has(name)) return;
  out->enabled = true;
  out->endpoint = default_endpoint;
  config::Decoder proto = protocols.Child(name);
  proto.Read("endpoint", &out->endpoint);
  if (out->endpoint.empty()) proto.AddError("endpoint", "must not be empty");
  MarkAllUsed(proto);
}

}  // namespace

KeyClass ClassifyKey(std::string_view dotted_path) {
  const KeyIndex& index = Index();
  const std::string path(dotted_path);
  if (index.implemented.contains(path)) return KeyClass::kImplemented;
  // A block first: distributor.receivers is a Tempo leaf (a map of receivers) that holds
  // implemented keys.
  if (index.blocks.contains(path)) return KeyClass::kBlock;
  if (index.tempo_leaves.contains(path)) return LeafClass(path);
  // Below a Tempo key whose value is a map of its own (distributor.receivers holds the
  // collector's receiver configurations): part of that real key.
  for (size_t dot = path.rfind('.'); dot != std::string::npos && dot > 0;
       dot = path.rfind('.', dot - 1)) {
    const std::string parent = path.substr(0, dot);
    // A map-valued Tempo key whose keys are all implemented: anything else below it is a typo.
    if (parent == kIntrinsicDimensionsOverride) return KeyClass::kUnknown;
    if (index.tempo_leaves.contains(parent)) return LeafClass(parent);
  }
  return KeyClass::kUnknown;
}

std::string TracesConfig::LocalPath() const {
  if (!local_path.empty()) return local_path;
  std::string wal = wal_path;
  while (wal.size() > 1 && wal.back() == '/') wal.pop_back();
  const size_t slash = wal.rfind('/');
  if (slash == std::string::npos) return "traces";
  return absl::StrCat(wal.substr(0, slash), "/traces");
}

std::string TracesConfig::HttpEndpoint() const {
  const bool ipv6 = http_listen_address.find(':') != std::string::npos;
  return ipv6 ? absl::StrCat("[", http_listen_address, "]:", http_listen_port)
              : absl::StrCat(http_listen_address, ":", http_listen_port);
}

std::string TracesConfig::EffectiveYaml() const {
  YAML::Node root(YAML::NodeType::Map);
  root["target"] = target;
  root["multitenancy_enabled"] = multitenancy_enabled;
  root["server"]["http_listen_address"] = http_listen_address;
  root["server"]["http_listen_port"] = http_listen_port;
  root["server"]["grpc_listen_port"] = grpc_listen_port;
  YAML::Node receivers(YAML::NodeType::Map);
  if (otlp_grpc.enabled) {
    receivers["otlp"]["protocols"]["grpc"]["endpoint"] = otlp_grpc.endpoint;
  }
  if (otlp_http.enabled) {
    receivers["otlp"]["protocols"]["http"]["endpoint"] = otlp_http.endpoint;
  }
  root["distributor"]["receivers"] = receivers;
  root["ingester"]["flush_all_on_shutdown"] = flush_all_on_shutdown;
  root["ingester"]["max_block_duration"] = FormatGoDuration(max_block_duration);
  root["ingester"]["max_block_bytes"] = max_block_bytes;
  root["ingester"]["trace_idle_period"] = FormatGoDuration(trace_idle_period);
  root["ingester"]["flush_check_period"] = FormatGoDuration(flush_check_period);
  root["compactor"]["compaction"]["block_retention"] = FormatGoDuration(block_retention);
  root["compactor"]["compaction"]["compacted_block_retention"] =
      FormatGoDuration(compacted_block_retention);
  root["compactor"]["compaction"]["compaction_cycle"] = FormatGoDuration(compaction_cycle);
  root["compactor"]["compaction"]["compaction_window"] = FormatGoDuration(compaction_window);
  root["compactor"]["compaction"]["max_block_bytes"] = compaction_max_block_bytes;
  root["compactor"]["compaction"]["max_compaction_objects"] = max_compaction_objects;
  YAML::Node trace(YAML::NodeType::Map);
  trace["backend"] = backend;
  trace["local"]["path"] = local_path;
  trace["wal"]["path"] = wal_path;
  trace["s3"]["bucket"] = s3.bucket;
  trace["s3"]["endpoint"] = s3.endpoint;
  trace["s3"]["region"] = s3.region;
  trace["s3"]["prefix"] = s3.prefix;
  trace["s3"]["access_key"] = s3.access_key;
  trace["s3"]["secret_key"] = s3.secret_key.empty() ? "" : "********";
  trace["s3"]["insecure"] = s3.insecure;
  root["query_frontend"]["metrics"]["max_duration"] = FormatGoDuration(metrics_max_duration);
  root["query_frontend"]["metrics"]["max_intervals"] = metrics_max_intervals;
  root["query_frontend"]["metrics"]["max_exemplars"] = metrics_max_exemplars;
  root["query_frontend"]["metrics"]["max_response_series"] = metrics_max_response_series;
  root["storage"]["trace"] = trace;
  YAML::Node defaults(YAML::NodeType::Map);
  defaults["ingestion"]["rate_limit_bytes"] = ingestion_rate_limit_bytes;
  defaults["ingestion"]["burst_size_bytes"] = ingestion_burst_size_bytes;
  defaults["global"]["max_bytes_per_trace"] = max_bytes_per_trace;
  defaults["metrics_generator"] = internal::GeneratorOverridesYaml(generator_overrides);
  root["overrides"]["defaults"] = defaults;
  root["metrics_generator"] = internal::GeneratorYaml(metrics_generator);
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

TracesConfig LocalDefaults() {
  TracesConfig c;
  c.backend = "local";
  c.local_path = "./data/traces/blocks";
  c.wal_path = "./data/traces/wal";
  c.otlp_grpc = {.enabled = true, .endpoint = kDefaultOtlpGrpcEndpoint};
  c.otlp_http = {.enabled = true, .endpoint = kDefaultOtlpHttpEndpoint};
  return c;
}

absl::StatusOr<TracesConfigResult> DecodeTracesConfig(const YAML::Node& root,
                                                      const TracesConfig& defaults) {
  TracesConfigResult result;
  result.config = defaults;
  std::vector<std::string> errors;
  bool structural_error = false;
  const bool empty = KindOf(root) == ValueKind::kNull;
  if (!empty && !root.IsMap()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "configuration: expected a map, got '", config::internal::GoKindName(KindOf(root)), "'"));
  }
  if (!empty) Classify(root, "", &errors, &result.warnings, &structural_error);

  if (!structural_error) {
    TracesConfig& c = result.config;
    const YAML::Node map = empty ? YAML::Node(YAML::NodeType::Map) : root;
    config::Decoder d(map, "");
    d.Read("target", &c.target);
    d.Read("multitenancy_enabled", &c.multitenancy_enabled);
    {
      config::Decoder server = d.Child("server");
      server.Read("http_listen_address", &c.http_listen_address);
      server.Read("http_listen_port", &c.http_listen_port);
      server.Read("grpc_listen_port", &c.grpc_listen_port);
      CheckPort(server, "http_listen_port", c.http_listen_port);
      CheckPort(server, "grpc_listen_port", c.grpc_listen_port);
      MarkAllUsed(server);
    }
    {
      config::Decoder distributor = d.Child("distributor");
      if (distributor.Has("receivers")) {
        // A protocol named in the file runs; with a file, Tempo's defaults name none.
        config::Decoder receivers = distributor.Child("receivers");
        config::Decoder otlp = receivers.Child("otlp");
        config::Decoder protocols = otlp.Child("protocols");
        ReadOtlpProtocol(protocols, "grpc", kDefaultOtlpGrpcEndpoint, &c.otlp_grpc);
        ReadOtlpProtocol(protocols, "http", kDefaultOtlpHttpEndpoint, &c.otlp_http);
        MarkAllUsed(protocols);
        MarkAllUsed(otlp);
        MarkAllUsed(receivers);
      }
      MarkAllUsed(distributor);
    }
    {
      config::Decoder ingester = d.Child("ingester");
      ingester.Read("flush_all_on_shutdown", &c.flush_all_on_shutdown);
      ingester.Read("max_block_duration", &c.max_block_duration);
      ingester.Read("max_block_bytes", &c.max_block_bytes);
      ingester.Read("trace_idle_period", &c.trace_idle_period);
      ingester.Read("flush_check_period", &c.flush_check_period);
      CheckPositive(ingester, "max_block_duration", c.max_block_duration);
      if (c.max_block_bytes <= 0) ingester.AddError("max_block_bytes", "must be positive");
      CheckPositive(ingester, "trace_idle_period", c.trace_idle_period);
      CheckPositive(ingester, "flush_check_period", c.flush_check_period);
      MarkAllUsed(ingester);
    }
    {
      config::Decoder compactor = d.Child("compactor");
      config::Decoder compaction = compactor.Child("compaction");
      compaction.Read("block_retention", &c.block_retention);
      compaction.Read("compacted_block_retention", &c.compacted_block_retention);
      compaction.Read("compaction_cycle", &c.compaction_cycle);
      compaction.Read("compaction_window", &c.compaction_window);
      compaction.Read("max_block_bytes", &c.compaction_max_block_bytes);
      compaction.Read("max_compaction_objects", &c.max_compaction_objects);
      CheckPositive(compaction, "block_retention", c.block_retention);
      if (c.compacted_block_retention < absl::ZeroDuration()) {
        compaction.AddError("compacted_block_retention", "must not be negative");
      }
      CheckPositive(compaction, "compaction_cycle", c.compaction_cycle);
      CheckPositive(compaction, "compaction_window", c.compaction_window);
      if (c.compaction_max_block_bytes <= 0) {
        compaction.AddError("max_block_bytes", "must be positive");
      }
      if (c.max_compaction_objects <= 0) {
        compaction.AddError("max_compaction_objects", "must be positive");
      }
      MarkAllUsed(compaction);
      MarkAllUsed(compactor);
    }
    {
      // TraceQL metrics limits (traces/api/metrics_api.h); 0 = no limit for the first two.
      config::Decoder frontend = d.Child("query_frontend");
      config::Decoder metrics = frontend.Child("metrics");
      metrics.Read("max_duration", &c.metrics_max_duration);
      metrics.Read("max_intervals", &c.metrics_max_intervals);
      metrics.Read("max_exemplars", &c.metrics_max_exemplars);
      metrics.Read("max_response_series", &c.metrics_max_response_series);
      if (c.metrics_max_duration < absl::ZeroDuration()) {
        metrics.AddError("max_duration", "must not be negative");
      }
      if (c.metrics_max_intervals < 0) metrics.AddError("max_intervals", "must not be negative");
      if (c.metrics_max_exemplars < 0) metrics.AddError("max_exemplars", "must not be negative");
      if (c.metrics_max_response_series < 0) {
        metrics.AddError("max_response_series", "must not be negative");
      }
      MarkAllUsed(metrics);
      MarkAllUsed(frontend);
    }
    {
      config::Decoder storage = d.Child("storage");
      config::Decoder trace = storage.Child("trace");
      trace.Read("backend", &c.backend);
      if (c.backend.empty()) {
        trace.AddError("backend",
                       "is not set: Tempo has no default storage backend; use local or s3");
      } else if (c.backend != "local" && c.backend != "s3") {
        trace.AddError("backend", absl::StrCat("unsupported storage backend \"", c.backend,
                                               "\": sprout traces supports local and s3"));
      }
      config::Decoder local = trace.Child("local");
      local.Read("path", &c.local_path);
      MarkAllUsed(local);
      config::Decoder wal = trace.Child("wal");
      wal.Read("path", &c.wal_path);
      if (c.wal_path.empty()) wal.AddError("path", "must not be empty");
      MarkAllUsed(wal);
      config::Decoder s3 = trace.Child("s3");
      s3.Read("bucket", &c.s3.bucket);
      s3.Read("endpoint", &c.s3.endpoint);
      s3.Read("region", &c.s3.region);
      s3.Read("prefix", &c.s3.prefix);
      s3.Read("access_key", &c.s3.access_key);
      s3.Read("secret_key", &c.s3.secret_key);
      s3.Read("insecure", &c.s3.insecure);
      MarkAllUsed(s3);
      MarkAllUsed(trace);
      MarkAllUsed(storage);
    }
    {
      // Before the overrides: a tenant's processor settings start from the generator's.
      config::Decoder generator = d.Child("metrics_generator");
      internal::DecodeGenerator(generator, &c.metrics_generator, &errors, &result.warnings);
    }
    {
      config::Decoder overrides = d.Child("overrides");
      config::Decoder defaults_block = overrides.Child("defaults");
      config::Decoder ingestion = defaults_block.Child("ingestion");
      ingestion.Read("rate_limit_bytes", &c.ingestion_rate_limit_bytes);
      ingestion.Read("burst_size_bytes", &c.ingestion_burst_size_bytes);
      CheckNonNegative(ingestion, "rate_limit_bytes", c.ingestion_rate_limit_bytes);
      CheckNonNegative(ingestion, "burst_size_bytes", c.ingestion_burst_size_bytes);
      MarkAllUsed(ingestion);
      config::Decoder global = defaults_block.Child("global");
      global.Read("max_bytes_per_trace", &c.max_bytes_per_trace);
      CheckNonNegative(global, "max_bytes_per_trace", c.max_bytes_per_trace);
      MarkAllUsed(global);
      config::Decoder generator_overrides = defaults_block.Child("metrics_generator");
      internal::DecodeGeneratorOverrides(generator_overrides, c.metrics_generator,
                                         &c.generator_overrides, &errors);
      MarkAllUsed(defaults_block);
      MarkAllUsed(overrides);
    }
    // Tempo runs the modules named by `target`; sprout traces is one process with all of
    // them, so another target would silently expose a different surface: refused.
    for (absl::string_view piece : absl::StrSplit(c.target, ',')) {
      const absl::string_view module = absl::StripAsciiWhitespace(piece);
      if (module != "all") {
        d.AddError("target", absl::StrCat("module \"", module,
                                          "\" is not supported: sprout traces runs every "
                                          "module in one process (target: all)"));
        break;
      }
    }
    MarkAllUsed(d);
    absl::Status status = d.Finish();
    if (!status.ok()) errors.push_back(std::string(status.message()));
  }
  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  return result;
}

absl::StatusOr<TracesConfigResult> LoadTracesConfig(const config::LoadOptions& options) {
  config::LoadOptions normalized = options;
  normalized.set_overrides.clear();
  for (const std::string& set : options.set_overrides) {
    normalized.set_overrides.push_back(NormalizeSet(set));
  }
  absl::StatusOr<config::Loaded> loaded = config::Load(normalized);
  if (!loaded.ok()) return loaded.status();
  const TracesConfig defaults = options.uris.empty() ? LocalDefaults() : TracesConfig{};
  absl::StatusOr<TracesConfigResult> result = DecodeTracesConfig(loaded->root, defaults);
  if (!result.ok()) return result.status();
  for (const config::Warning& w : loaded->warnings) {
    result->warnings.push_back(absl::StrCat(w.message, ": ", w.name));
  }
  return result;
}

absl::Status CheckRunnable(const TracesConfig& config) {
  if (config.backend == "s3") {
    return absl::FailedPreconditionError(
        "storage backend \"s3\": s3 is not available yet; use the local backend "
        "(--set storage.trace.backend=local)");
  }
  return absl::OkStatus();
}

}  // namespace sprout::traces
