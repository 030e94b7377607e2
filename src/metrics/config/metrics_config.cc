#include "metrics/config/metrics_config.h"

#include <algorithm>
#include <limits>
#include <map>
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
#include "metrics/config/mimir_config_keys.h"
#include "yaml-cpp/yaml.h"

namespace sprout::metrics {
namespace {

using config::internal::KindOf;
using config::internal::ValueKind;

// Keys read into MetricsConfig (dotted, as Mimir's docs name them).
constexpr const char* kImplementedKeys[] = {
    "target",
    "multitenancy_enabled",
    "no_auth_tenant",
    "server.http_listen_address",
    "server.http_listen_port",
    "server.grpc_listen_port",
    "common.storage.backend",
    "common.storage.filesystem.dir",
    "common.storage.s3.endpoint",
    "common.storage.s3.region",
    "common.storage.s3.bucket_name",
    "common.storage.s3.access_key_id",
    "common.storage.s3.secret_access_key",
    "common.storage.s3.insecure",
    "blocks_storage.backend",
    "blocks_storage.filesystem.dir",
    "blocks_storage.s3.endpoint",
    "blocks_storage.s3.region",
    "blocks_storage.s3.bucket_name",
    "blocks_storage.s3.access_key_id",
    "blocks_storage.s3.secret_access_key",
    "blocks_storage.s3.insecure",
    "blocks_storage.storage_prefix",
    "blocks_storage.tsdb.dir",
    "blocks_storage.tsdb.wal_fsync_before_ack",  // sprout's own key (Mimir has none)
    "blocks_storage.tsdb.head_compaction_interval",
    "blocks_storage.bucket_store.sync_dir",
    "blocks_storage.bucket_store.bucket_index.enabled",
    "blocks_storage.bucket_store.bucket_index.max_stale_period",
    "compactor.data_dir",
    "compactor.compaction_interval",
    "compactor.cleanup_interval",
    "compactor.block_ranges",
    "activity_tracker.filepath",
    "distributor.max_recv_msg_size",
    "limits.ingestion_rate",
    "limits.ingestion_burst_size",
    "limits.max_global_series_per_user",
    "limits.max_global_exemplars_per_user",
    "limits.out_of_order_time_window",
    "limits.past_grace_period",
    "limits.compactor_blocks_retention_period",
    "limits.max_fetched_series_per_query",
    "limits.max_fetched_chunks_per_query",
    "limits.max_query_lookback",
    "limits.cardinality_analysis_enabled",
    "limits.max_global_series_per_metric",
    "limits.max_label_names_per_series",
    "limits.max_label_name_length",
    "limits.max_label_value_length",
    "limits.max_metadata_length",
    "limits.creation_grace_period",
    "limits.native_histograms_ingestion_enabled",
    "limits.otel_metric_suffixes_enabled",
    "limits.promote_otel_resource_attributes",
    "runtime_config.file",
    "runtime_config.period",
    "querier.timeout",
    "querier.max_concurrent",
    "querier.max_samples",
    "querier.lookback_delta",
};

// Real Mimir keys accepted without a warning because a later issue uses them: the ruler and
// the Alertmanager (their blocks and their limits) and the rest of the S3 client settings.
constexpr const char* kAcceptedPrefixes[] = {
    "ruler.",        "ruler_storage.",       "alertmanager.",      "alertmanager_storage.",
    "limits.ruler_", "limits.alertmanager_", "common.storage.s3.", "blocks_storage.s3.",
};

struct KeyIndex {
  absl::flat_hash_set<std::string> implemented;
  absl::flat_hash_set<std::string> mimir_leaves;
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
    for (absl::string_view piece : absl::StrSplit(AV(MimirConfigKeysText()), '\n')) {
      const std::string_view line = SV(absl::StripAsciiWhitespace(piece));
      if (line.empty() || line[0] == '#') continue;
      idx->mimir_leaves.insert(std::string(line));
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

std::string Display(std::string_view dotted) {
  return absl::StrReplaceAll(AV(dotted), {{".", "::"}});
}

// `--set` takes the collector's `a::b=v`; Mimir users write `a.b=v` (Mimir keys never contain
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
            "' is a Mimir setting that sprout metrics does not implement yet; it is ignored"));
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

void ReadPrometheusDuration(config::Decoder& d, std::string_view key, absl::Duration* out) {
  YAML::Node value = d.Raw(key);
  if (!value.IsDefined() || value.IsNull()) return;
  if (!value.IsScalar()) {
    d.AddError(key, absl::StrCat("expected a duration, got '",
                                 config::internal::GoKindName(KindOf(value)), "'"));
    return;
  }
  absl::StatusOr<absl::Duration> parsed = ParsePrometheusDuration(value.Scalar());
  if (!parsed.ok()) {
    d.AddError(key, SV(parsed.status().message()));
    return;
  }
  *out = *parsed;
}

void ReadStorage(config::Decoder storage, StorageConfig* out) {
  storage.Read("backend", &out->backend);
  config::Decoder fs = storage.Child("filesystem");
  fs.Read("dir", &out->filesystem_dir);
  MarkAllUsed(fs);
  config::Decoder s3 = storage.Child("s3");
  s3.Read("endpoint", &out->s3.endpoint);
  s3.Read("region", &out->s3.region);
  s3.Read("bucket_name", &out->s3.bucket_name);
  s3.Read("access_key_id", &out->s3.access_key_id);
  s3.Read("secret_access_key", &out->s3.secret_access_key);
  s3.Read("insecure", &out->s3.insecure);
  MarkAllUsed(s3);
  MarkAllUsed(storage);
}

void CheckBackend(config::Decoder& d, const std::string& backend) {
  if (backend.empty() || backend == "filesystem" || backend == "s3") return;
  d.AddError("backend", absl::StrCat("unsupported storage backend \"", backend,
                                     "\": sprout metrics supports filesystem and s3"));
}

void CheckPort(config::Decoder& d, std::string_view key, int port) {
  if (port < 0 || port > 65535) {
    d.AddError(key, absl::StrCat("invalid port ", port, ": must be between 0 and 65535"));
  }
}

// compactor.block_ranges: a YAML list of Go durations (or one comma-separated string, as the
// flag takes it). Each must be > 0 and, as Mimir's Validate checks, a multiple of the previous.
void ReadBlockRanges(config::Decoder& d, std::vector<absl::Duration>* out) {
  std::vector<std::string> texts;
  bool present = false;
  for (const std::string& k : d.Keys()) present = present || k == "block_ranges";
  if (!present) return;
  d.Read("block_ranges", &texts);
  std::vector<absl::Duration> ranges;
  for (const std::string& t : texts) {
    absl::StatusOr<absl::Duration> r = ParseGoDuration(t);
    if (!r.ok()) return d.AddError("block_ranges", std::string(r.status().message()));
    ranges.push_back(*r);
  }
  if (ranges.empty()) return d.AddError("block_ranges", "at least one block range is required");
  for (size_t i = 0; i < ranges.size(); ++i) {
    if (ranges[i] <= absl::ZeroDuration()) {
      return d.AddError("block_ranges", "compactor block range periods must be positive");
    }
    if (i > 0 && ranges[i] % ranges[i - 1] != absl::ZeroDuration()) {
      return d.AddError(
          "block_ranges",
          absl::StrCat("compactor block range periods should be divisible by the previous one, "
                       "but ",
                       FormatGoDuration(ranges[i]), " is not divisible by ",
                       FormatGoDuration(ranges[i - 1])));
    }
  }
  *out = std::move(ranges);
}

void CheckNonNegative(config::Decoder& d, std::string_view key, double v) {
  if (v < 0) d.AddError(key, "must not be negative");
}

}  // namespace

const std::vector<std::string>& TenantLimitKeys() {
  static const std::vector<std::string>* keys = new std::vector<std::string>{
      "ingestion_rate",
      "ingestion_burst_size",
      "max_global_series_per_user",
      "max_global_series_per_metric",
      "max_global_exemplars_per_user",
      "max_label_names_per_series",
      "max_label_name_length",
      "max_label_value_length",
      "max_metadata_length",
      "creation_grace_period",
      "past_grace_period",
      "out_of_order_time_window",
      "native_histograms_ingestion_enabled",
      "compactor_blocks_retention_period",
      "max_fetched_series_per_query",
      "max_fetched_chunks_per_query",
      "max_query_lookback",
      "otel_metric_suffixes_enabled",
      "promote_otel_resource_attributes",
  };
  return *keys;
}

void DecodeTenantLimits(config::Decoder& d, TenantLimits* l) {
  d.Read("ingestion_rate", &l->ingestion_rate);
  d.Read("ingestion_burst_size", &l->ingestion_burst_size);
  d.Read("max_global_series_per_user", &l->max_global_series_per_user);
  d.Read("max_global_series_per_metric", &l->max_global_series_per_metric);
  d.Read("max_global_exemplars_per_user", &l->max_global_exemplars_per_user);
  d.Read("max_label_names_per_series", &l->max_label_names_per_series);
  d.Read("max_label_name_length", &l->max_label_name_length);
  d.Read("max_label_value_length", &l->max_label_value_length);
  d.Read("max_metadata_length", &l->max_metadata_length);
  ReadPrometheusDuration(d, "creation_grace_period", &l->creation_grace_period);
  ReadPrometheusDuration(d, "past_grace_period", &l->past_grace_period);
  ReadPrometheusDuration(d, "out_of_order_time_window", &l->out_of_order_time_window);
  d.Read("native_histograms_ingestion_enabled", &l->native_histograms_ingestion_enabled);
  ReadPrometheusDuration(d, "compactor_blocks_retention_period",
                         &l->compactor_blocks_retention_period);
  d.Read("max_fetched_series_per_query", &l->max_fetched_series_per_query);
  d.Read("max_fetched_chunks_per_query", &l->max_fetched_chunks_per_query);
  ReadPrometheusDuration(d, "max_query_lookback", &l->max_query_lookback);
  d.Read("otel_metric_suffixes_enabled", &l->otel_metric_suffixes_enabled);
  d.Read("promote_otel_resource_attributes", &l->promote_otel_resource_attributes);
  CheckNonNegative(d, "ingestion_rate", l->ingestion_rate);
  for (auto [key, v] :
       {std::pair<const char*, int64_t>{"ingestion_burst_size", l->ingestion_burst_size},
        {"max_global_series_per_user", l->max_global_series_per_user},
        {"max_global_series_per_metric", l->max_global_series_per_metric},
        {"max_global_exemplars_per_user", l->max_global_exemplars_per_user},
        {"max_label_names_per_series", l->max_label_names_per_series},
        {"max_label_name_length", l->max_label_name_length},
        {"max_label_value_length", l->max_label_value_length},
        {"max_metadata_length", l->max_metadata_length},
        {"max_fetched_series_per_query", l->max_fetched_series_per_query},
        {"max_fetched_chunks_per_query", l->max_fetched_chunks_per_query}}) {
    CheckNonNegative(d, key, static_cast<double>(v));
  }
}

YAML::Node TenantLimitsYaml(const TenantLimits& l, const TenantLimits* base) {
  YAML::Node n(YAML::NodeType::Map);
  auto put = [&](const char* key, auto value, auto base_value) {
    if (base == nullptr || value != base_value) n[key] = value;
  };
  auto put_d = [&](const char* key, absl::Duration value, absl::Duration base_value) {
    if (base == nullptr || value != base_value) n[key] = FormatPrometheusDuration(value);
  };
  const TenantLimits def;
  const TenantLimits& b = base != nullptr ? *base : def;
  put("ingestion_rate", l.ingestion_rate, b.ingestion_rate);
  put("ingestion_burst_size", l.ingestion_burst_size, b.ingestion_burst_size);
  put("max_global_series_per_user", l.max_global_series_per_user, b.max_global_series_per_user);
  put("max_global_series_per_metric", l.max_global_series_per_metric,
      b.max_global_series_per_metric);
  put("max_global_exemplars_per_user", l.max_global_exemplars_per_user,
      b.max_global_exemplars_per_user);
  put("max_label_names_per_series", l.max_label_names_per_series, b.max_label_names_per_series);
  put("max_label_name_length", l.max_label_name_length, b.max_label_name_length);
  put("max_label_value_length", l.max_label_value_length, b.max_label_value_length);
  put("max_metadata_length", l.max_metadata_length, b.max_metadata_length);
  put_d("creation_grace_period", l.creation_grace_period, b.creation_grace_period);
  put_d("past_grace_period", l.past_grace_period, b.past_grace_period);
  put_d("out_of_order_time_window", l.out_of_order_time_window, b.out_of_order_time_window);
  put("native_histograms_ingestion_enabled", l.native_histograms_ingestion_enabled,
      b.native_histograms_ingestion_enabled);
  put_d("compactor_blocks_retention_period", l.compactor_blocks_retention_period,
        b.compactor_blocks_retention_period);
  put("max_fetched_series_per_query", l.max_fetched_series_per_query,
      b.max_fetched_series_per_query);
  put("max_fetched_chunks_per_query", l.max_fetched_chunks_per_query,
      b.max_fetched_chunks_per_query);
  put_d("max_query_lookback", l.max_query_lookback, b.max_query_lookback);
  put("otel_metric_suffixes_enabled", l.otel_metric_suffixes_enabled,
      b.otel_metric_suffixes_enabled);
  put("promote_otel_resource_attributes", l.promote_otel_resource_attributes,
      b.promote_otel_resource_attributes);
  return n;
}

std::vector<std::string> TenantLimits::PromotedOtelResourceAttributes() const {
  std::vector<std::string> out;
  for (absl::string_view key : absl::StrSplit(promote_otel_resource_attributes, ',')) {
    if (!key.empty()) out.emplace_back(key);
  }
  return out;
}

TenantLimits MetricsConfig::DefaultLimits() const {
  TenantLimits l;
  l.ingestion_rate = ingestion_rate;
  l.ingestion_burst_size = ingestion_burst_size;
  l.max_global_series_per_user = max_global_series_per_user;
  l.max_global_series_per_metric = max_global_series_per_metric;
  l.max_global_exemplars_per_user = max_global_exemplars_per_user;
  l.max_label_names_per_series = max_label_names_per_series;
  l.max_label_name_length = max_label_name_length;
  l.max_label_value_length = max_label_value_length;
  l.max_metadata_length = max_metadata_length;
  l.creation_grace_period = creation_grace_period;
  l.past_grace_period = past_grace_period;
  l.out_of_order_time_window = out_of_order_time_window;
  l.native_histograms_ingestion_enabled = native_histograms_ingestion_enabled;
  l.compactor_blocks_retention_period = compactor_blocks_retention_period;
  l.max_fetched_series_per_query = max_fetched_series_per_query;
  l.max_fetched_chunks_per_query = max_fetched_chunks_per_query;
  l.max_query_lookback = max_query_lookback;
  l.otel_metric_suffixes_enabled = otel_metric_suffixes_enabled;
  l.promote_otel_resource_attributes = promote_otel_resource_attributes;
  return l;
}

void MetricsConfig::SetDefaultLimits(const TenantLimits& l) {
  ingestion_rate = l.ingestion_rate;
  ingestion_burst_size = l.ingestion_burst_size;
  max_global_series_per_user = l.max_global_series_per_user;
  max_global_series_per_metric = l.max_global_series_per_metric;
  max_global_exemplars_per_user = l.max_global_exemplars_per_user;
  max_label_names_per_series = l.max_label_names_per_series;
  max_label_name_length = l.max_label_name_length;
  max_label_value_length = l.max_label_value_length;
  max_metadata_length = l.max_metadata_length;
  creation_grace_period = l.creation_grace_period;
  past_grace_period = l.past_grace_period;
  out_of_order_time_window = l.out_of_order_time_window;
  native_histograms_ingestion_enabled = l.native_histograms_ingestion_enabled;
  compactor_blocks_retention_period = l.compactor_blocks_retention_period;
  max_fetched_series_per_query = l.max_fetched_series_per_query;
  max_fetched_chunks_per_query = l.max_fetched_chunks_per_query;
  max_query_lookback = l.max_query_lookback;
  otel_metric_suffixes_enabled = l.otel_metric_suffixes_enabled;
  promote_otel_resource_attributes = l.promote_otel_resource_attributes;
}

KeyClass ClassifyKey(std::string_view dotted_path) {
  const KeyIndex& index = Index();
  const std::string path(dotted_path);
  if (index.implemented.contains(path)) return KeyClass::kImplemented;
  if (index.mimir_leaves.contains(path)) {
    for (const char* prefix : kAcceptedPrefixes) {
      if (absl::StartsWith(path, prefix)) return KeyClass::kAccepted;
    }
    return KeyClass::kNotImplemented;
  }
  if (index.blocks.contains(path)) return KeyClass::kBlock;
  return KeyClass::kUnknown;
}

std::string MetricsConfig::BlocksBackend() const {
  return blocks_storage.backend.empty() ? common_storage.backend : blocks_storage.backend;
}

std::string MetricsConfig::BlocksFilesystemDir() const {
  if (!blocks_storage.filesystem_dir.empty()) return blocks_storage.filesystem_dir;
  if (!common_storage.filesystem_dir.empty()) return common_storage.filesystem_dir;
  return "blocks";
}

std::string MetricsConfig::HttpEndpoint() const {
  const bool ipv6 = http_listen_address.find(':') != std::string::npos;
  return ipv6 ? absl::StrCat("[", http_listen_address, "]:", http_listen_port)
              : absl::StrCat(http_listen_address, ":", http_listen_port);
}

std::string MetricsConfig::EffectiveYaml() const {
  auto storage = [](const StorageConfig& s, bool with_backend_default) {
    YAML::Node n(YAML::NodeType::Map);
    if (with_backend_default || !s.backend.empty()) n["backend"] = s.backend;
    n["filesystem"]["dir"] = s.filesystem_dir;
    YAML::Node s3(YAML::NodeType::Map);
    s3["endpoint"] = s.s3.endpoint;
    s3["region"] = s.s3.region;
    s3["bucket_name"] = s.s3.bucket_name;
    s3["access_key_id"] = s.s3.access_key_id;
    s3["secret_access_key"] = s.s3.secret_access_key.empty() ? "" : "********";
    s3["insecure"] = s.s3.insecure;
    n["s3"] = s3;
    return n;
  };
  YAML::Node root(YAML::NodeType::Map);
  root["target"] = target;
  root["multitenancy_enabled"] = multitenancy_enabled;
  root["no_auth_tenant"] = no_auth_tenant;
  root["server"]["http_listen_address"] = http_listen_address;
  root["server"]["http_listen_port"] = http_listen_port;
  root["server"]["grpc_listen_port"] = grpc_listen_port;
  root["distributor"]["max_recv_msg_size"] = max_recv_msg_size;
  root["limits"] = TenantLimitsYaml(DefaultLimits());
  root["limits"]["cardinality_analysis_enabled"] = cardinality_analysis_enabled;
  root["runtime_config"]["file"] = runtime_config_file;
  root["runtime_config"]["period"] = FormatGoDuration(runtime_config_period);
  root["querier"]["timeout"] = FormatGoDuration(querier_timeout);
  root["querier"]["max_concurrent"] = querier_max_concurrent;
  root["querier"]["max_samples"] = querier_max_samples;
  root["querier"]["lookback_delta"] = FormatGoDuration(querier_lookback_delta);
  YAML::Node blocks = storage(blocks_storage, false);
  blocks["storage_prefix"] = storage_prefix;
  blocks["tsdb"]["dir"] = tsdb_dir;
  blocks["tsdb"]["wal_fsync_before_ack"] = wal_fsync_before_ack;
  blocks["tsdb"]["head_compaction_interval"] = FormatGoDuration(head_compaction_interval);
  blocks["bucket_store"]["sync_dir"] = sync_dir;
  blocks["bucket_store"]["bucket_index"]["enabled"] = bucket_index_enabled;
  blocks["bucket_store"]["bucket_index"]["max_stale_period"] =
      FormatGoDuration(bucket_index_max_stale_period);
  root["blocks_storage"] = blocks;
  root["compactor"]["data_dir"] = compactor_data_dir;
  root["compactor"]["compaction_interval"] = FormatGoDuration(compactor_compaction_interval);
  root["compactor"]["cleanup_interval"] = FormatGoDuration(compactor_cleanup_interval);
  for (absl::Duration r : compactor_block_ranges) {
    root["compactor"]["block_ranges"].push_back(FormatGoDuration(r));
  }
  root["activity_tracker"]["filepath"] = activity_tracker_filepath;
  root["common"]["storage"] = storage(common_storage, true);
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

MetricsConfig LocalDefaults() {
  MetricsConfig c;
  c.multitenancy_enabled = false;
  c.max_global_exemplars_per_user = 100000;
  c.common_storage.filesystem_dir = "./data/metrics/blocks";
  c.tsdb_dir = "./data/metrics/tsdb/";
  c.sync_dir = "./data/metrics/tsdb-sync/";
  c.compactor_data_dir = "./data/metrics/compactor/";
  c.activity_tracker_filepath = "./data/metrics/metrics-activity.log";
  return c;
}

absl::StatusOr<MetricsConfigResult> DecodeMetricsConfig(const YAML::Node& root,
                                                        const MetricsConfig& defaults) {
  MetricsConfigResult result;
  result.config = defaults;
  if (KindOf(root) == ValueKind::kNull) return result;
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "configuration: expected a map, got '", config::internal::GoKindName(KindOf(root)), "'"));
  }
  std::vector<std::string> errors;
  bool structural_error = false;
  Classify(root, "", &errors, &result.warnings, &structural_error);

  if (!structural_error) {
    MetricsConfig& c = result.config;
    config::Decoder d(root, "");
    d.Read("target", &c.target);
    d.Read("multitenancy_enabled", &c.multitenancy_enabled);
    d.Read("no_auth_tenant", &c.no_auth_tenant);
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
      config::Decoder common = d.Child("common");
      config::Decoder storage = common.Child("storage");
      ReadStorage(storage, &c.common_storage);
      CheckBackend(storage, c.common_storage.backend);
      MarkAllUsed(common);
    }
    {
      config::Decoder blocks = d.Child("blocks_storage");
      ReadStorage(blocks, &c.blocks_storage);
      CheckBackend(blocks, c.blocks_storage.backend);
      blocks.Read("storage_prefix", &c.storage_prefix);
      config::Decoder tsdb = blocks.Child("tsdb");
      tsdb.Read("dir", &c.tsdb_dir);
      tsdb.Read("wal_fsync_before_ack", &c.wal_fsync_before_ack);
      tsdb.Read("head_compaction_interval", &c.head_compaction_interval);
      // Mimir's bounds (errInvalidCompactionInterval).
      if (c.head_compaction_interval <= absl::ZeroDuration() ||
          c.head_compaction_interval > absl::Minutes(15)) {
        tsdb.AddError("head_compaction_interval",
                      "invalid TSDB compaction interval: must be above 0 and at most 15m");
      }
      MarkAllUsed(tsdb);
      config::Decoder bucket_store = blocks.Child("bucket_store");
      bucket_store.Read("sync_dir", &c.sync_dir);
      config::Decoder bucket_index = bucket_store.Child("bucket_index");
      bucket_index.Read("enabled", &c.bucket_index_enabled);
      bucket_index.Read("max_stale_period", &c.bucket_index_max_stale_period);
      MarkAllUsed(bucket_index);
      MarkAllUsed(bucket_store);
      MarkAllUsed(blocks);
    }
    {
      config::Decoder compactor = d.Child("compactor");
      compactor.Read("data_dir", &c.compactor_data_dir);
      compactor.Read("compaction_interval", &c.compactor_compaction_interval);
      compactor.Read("cleanup_interval", &c.compactor_cleanup_interval);
      if (c.compactor_cleanup_interval <= absl::ZeroDuration()) {
        compactor.AddError("cleanup_interval", "must be positive");
      }
      ReadBlockRanges(compactor, &c.compactor_block_ranges);
      MarkAllUsed(compactor);
      config::Decoder tracker = d.Child("activity_tracker");
      tracker.Read("filepath", &c.activity_tracker_filepath);
      MarkAllUsed(tracker);
      config::Decoder distributor = d.Child("distributor");
      distributor.Read("max_recv_msg_size", &c.max_recv_msg_size);
      if (c.max_recv_msg_size <= 0) distributor.AddError("max_recv_msg_size", "must be positive");
      MarkAllUsed(distributor);
    }
    {
      config::Decoder querier = d.Child("querier");
      querier.Read("timeout", &c.querier_timeout);
      querier.Read("max_concurrent", &c.querier_max_concurrent);
      querier.Read("max_samples", &c.querier_max_samples);
      querier.Read("lookback_delta", &c.querier_lookback_delta);
      if (c.querier_timeout <= absl::ZeroDuration())
        querier.AddError("timeout", "must be positive");
      if (c.querier_max_concurrent <= 0) querier.AddError("max_concurrent", "must be positive");
      if (c.querier_max_samples <= 0) querier.AddError("max_samples", "must be positive");
      if (c.querier_lookback_delta <= absl::ZeroDuration()) {
        querier.AddError("lookback_delta", "must be positive");
      }
      MarkAllUsed(querier);
    }
    {
      config::Decoder limits = d.Child("limits");
      TenantLimits l = c.DefaultLimits();
      DecodeTenantLimits(limits, &l);
      c.SetDefaultLimits(l);
      limits.Read("cardinality_analysis_enabled", &c.cardinality_analysis_enabled);
      MarkAllUsed(limits);
    }
    {
      config::Decoder runtime = d.Child("runtime_config");
      runtime.Read("file", &c.runtime_config_file);
      runtime.Read("period", &c.runtime_config_period);
      if (!c.runtime_config_file.empty() && c.runtime_config_period <= absl::ZeroDuration()) {
        runtime.AddError("period", "must be positive");
      }
      MarkAllUsed(runtime);
    }
    // Mimir runs the modules named by `target`; sprout metrics is one process with all of
    // them, so another target would silently expose a different surface: refused.
    for (absl::string_view piece : absl::StrSplit(c.target, ',')) {
      const absl::string_view module = absl::StripAsciiWhitespace(piece);
      if (module != "all") {
        d.AddError("target", absl::StrCat("module \"", module,
                                          "\" is not supported: sprout metrics runs every "
                                          "module in one process (target: all)"));
        break;
      }
    }
    if (c.no_auth_tenant.empty()) d.AddError("no_auth_tenant", "must not be empty");
    MarkAllUsed(d);
    absl::Status status = d.Finish();
    if (!status.ok()) errors.push_back(std::string(status.message()));
  }
  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  return result;
}

absl::StatusOr<MetricsConfigResult> LoadMetricsConfig(const config::LoadOptions& options) {
  config::LoadOptions normalized = options;
  normalized.set_overrides.clear();
  for (const std::string& set : options.set_overrides) {
    normalized.set_overrides.push_back(NormalizeSet(set));
  }
  absl::StatusOr<config::Loaded> loaded = config::Load(normalized);
  if (!loaded.ok()) return loaded.status();
  const MetricsConfig defaults = options.uris.empty() ? LocalDefaults() : MetricsConfig{};
  absl::StatusOr<MetricsConfigResult> result = DecodeMetricsConfig(loaded->root, defaults);
  if (!result.ok()) return result.status();
  for (const config::Warning& w : loaded->warnings) {
    result->warnings.push_back(absl::StrCat(w.message, ": ", w.name));
  }
  return result;
}

absl::Status CheckRunnable(const MetricsConfig& config) {
  if (config.BlocksBackend() == "s3") {
    return absl::FailedPreconditionError(
        "storage backend \"s3\": s3 is not available yet; use the filesystem backend "
        "(--set common.storage.backend=filesystem)");
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Duration> ParsePrometheusDuration(std::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("empty duration string");
  if (text == "0") return absl::ZeroDuration();
  struct Unit {
    std::string_view name;
    int64_t ms;
  };
  static constexpr Unit kUnits[] = {
      {"y", 365LL * 24 * 3600 * 1000},
      {"w", 7LL * 24 * 3600 * 1000},
      {"d", 24LL * 3600 * 1000},
      {"h", 3600LL * 1000},
      {"m", 60LL * 1000},
      {"s", 1000},
      {"ms", 1},
  };
  const absl::Status invalid =
      absl::InvalidArgumentError(absl::StrCat("not a valid duration string: \"", AV(text), "\""));
  size_t pos = 0;
  size_t next_unit = 0;  // units must appear in the order of kUnits, each at most once
  int64_t total_ms = 0;
  while (pos < text.size()) {
    size_t digits_end = pos;
    while (digits_end < text.size() && absl::ascii_isdigit(text[digits_end])) ++digits_end;
    if (digits_end == pos) return invalid;
    size_t unit_end = digits_end;
    while (unit_end < text.size() && absl::ascii_isalpha(text[unit_end])) ++unit_end;
    const std::string_view unit = text.substr(digits_end, unit_end - digits_end);
    size_t u = next_unit;
    while (u < std::size(kUnits) && kUnits[u].name != unit) ++u;
    if (u == std::size(kUnits)) return invalid;
    next_unit = u + 1;
    int64_t value = 0;
    for (size_t i = pos; i < digits_end; ++i) {
      if (value > (std::numeric_limits<int64_t>::max() - 9) / 10) {
        return absl::InvalidArgumentError("duration out of range");
      }
      value = value * 10 + (text[i] - '0');
    }
    if (value > (std::numeric_limits<int64_t>::max() - total_ms) / kUnits[u].ms) {
      return absl::InvalidArgumentError("duration out of range");
    }
    total_ms += value * kUnits[u].ms;
    pos = unit_end;
  }
  // Go's time.Duration (nanoseconds) must hold it, as model.Duration is converted to one.
  if (total_ms > std::numeric_limits<int64_t>::max() / 1000000) {
    return absl::InvalidArgumentError("duration out of range");
  }
  return absl::Milliseconds(total_ms);
}

std::string FormatPrometheusDuration(absl::Duration d) {
  int64_t ms = absl::ToInt64Milliseconds(d);
  if (ms == 0) return "0s";
  std::string out;
  auto unit = [&](std::string_view name, int64_t mult, bool exact) {
    if (exact && ms % mult != 0) return;
    if (int64_t v = ms / mult; v > 0) {
      absl::StrAppend(&out, v, AV(name));
      ms -= v * mult;
    }
  };
  unit("y", 365LL * 24 * 3600 * 1000, true);
  unit("w", 7LL * 24 * 3600 * 1000, true);
  unit("d", 24LL * 3600 * 1000, false);
  unit("h", 3600LL * 1000, false);
  unit("m", 60LL * 1000, false);
  unit("s", 1000, false);
  unit("ms", 1, false);
  return out;
}

}  // namespace sprout::metrics
