#include "cmd/all/all_config.h"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "base/status.h"
#include "collector/components.h"
#include "config/decoder.h"
#include "config/yaml_util.h"
#include "yaml-cpp/yaml.h"

namespace sprout::cmd {
namespace {

using config::internal::FindValue;
using config::internal::KeyText;
using config::internal::KindOf;
using config::internal::ValueKind;

constexpr const char* kTopLevelKeys[] = {
    "collector",       "data_dir", "http", "metrics", "multitenancy_enabled",
    "self_monitoring", "traces"};

// The `sprout` exporter type as `sprout validate` knows it: an empty config and no constructors
// (the stores exist only inside `sprout all`, which registers the real factory).
class StoreExporterConfig : public collector::ComponentConfig {
 public:
  void Decode(config::Decoder&) override {}
};

class ValidationOnlyStoreExporterFactory : public collector::ExporterFactory {
 public:
  ValidationOnlyStoreExporterFactory() : ExporterFactory(std::string(kStoreExporterType)) {}
  std::unique_ptr<collector::ComponentConfig> CreateDefaultConfig() const override {
    return std::make_unique<StoreExporterConfig>();
  }
  bool SupportsSignal(collector::Signal signal) const override {
    return signal == collector::Signal::kTraces || signal == collector::Signal::kMetrics;
  }
};

// `--set` takes `a::b=v`; as for sprout traces and sprout metrics, a key without "::" has its
// dots turned into "::" (`collector.exporters.otlp/tempo.endpoint=x`). A key with a dot inside
// one of its parts (a component named `otlp/a.b`) is written with "::".
std::string NormalizeSet(const std::string& set) {
  const size_t eq = set.find('=');
  const std::string key = set.substr(0, eq);
  if (key.find("::") != std::string::npos || key.find('.') == std::string::npos) return set;
  std::string out = absl::StrReplaceAll(key, {{".", "::"}});
  if (eq != std::string::npos) out += set.substr(eq);
  return out;
}

std::string JoinPath(const std::string& dir, std::string_view rest) {
  std::string base = dir;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  return absl::StrCat(base, "/", AV(rest));
}

// The collector section used when no config file has one:
//   otlp (grpc localhost:4317, http localhost:4318) → memory_limiter → sprout/traces,
//   sprout/metrics. No batch: a client's acknowledgement means the data is in a store's WAL.
YAML::Node DefaultCollectorSection() {
  YAML::Node c(YAML::NodeType::Map);
  c["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"] = "localhost:4317";
  c["receivers"]["otlp"]["protocols"]["http"]["endpoint"] = "localhost:4318";
  c["processors"]["memory_limiter"]["check_interval"] = "1s";
  c["processors"]["memory_limiter"]["limit_percentage"] = 80;
  c["processors"]["memory_limiter"]["spike_limit_percentage"] = 25;
  c["exporters"][std::string(kTracesStoreExporter)] = YAML::Node(YAML::NodeType::Map);
  c["exporters"][std::string(kMetricsStoreExporter)] = YAML::Node(YAML::NodeType::Map);
  for (const auto& [signal, exporter] :
       {std::pair<const char*, std::string_view>{"traces", kTracesStoreExporter},
        std::pair<const char*, std::string_view>{"metrics", kMetricsStoreExporter}}) {
    YAML::Node pipeline(YAML::NodeType::Map);
    pipeline["receivers"].push_back("otlp");
    pipeline["processors"].push_back("memory_limiter");
    pipeline["exporters"].push_back(std::string(exporter));
    c["service"]["pipelines"][signal] = pipeline;
  }
  return c;
}

traces::TracesConfig TracesDefaults(const AllConfig& all) {
  traces::TracesConfig c = traces::LocalDefaults();
  c.multitenancy_enabled = all.multitenancy_enabled;
  c.http_listen_address = all.http_listen_address;
  c.http_listen_port = all.http_port;
  c.otlp_grpc = {};  // the collector section's otlp receiver is the ingress
  c.otlp_http = {};
  c.backend = "local";
  c.local_path = JoinPath(all.data_dir, "traces/blocks");
  c.wal_path = JoinPath(all.data_dir, "traces/wal");
  c.metrics_generator.storage_path = JoinPath(all.data_dir, "traces/generator/wal");
  c.block_retention = absl::Hours(720);  // the seed's compactor.compaction.block_retention
  c.flush_all_on_shutdown = true;        // the seed's ingester.flush_all_on_shutdown
  c.generator_overrides.processors = {"service-graphs", "span-metrics"};  // the seed's
  return c;
}

metrics::MetricsConfig MetricsDefaults(const AllConfig& all) {
  metrics::MetricsConfig c = metrics::LocalDefaults();
  c.multitenancy_enabled = all.multitenancy_enabled;
  c.no_auth_tenant = all.tenant;
  c.http_listen_address = all.http_listen_address;
  c.http_listen_port = all.http_port;
  c.common_storage.backend = "filesystem";
  c.common_storage.filesystem_dir = JoinPath(all.data_dir, "metrics/blocks");
  c.tsdb_dir = JoinPath(all.data_dir, "metrics/tsdb/");
  c.sync_dir = JoinPath(all.data_dir, "metrics/tsdb-sync/");
  c.compactor_data_dir = JoinPath(all.data_dir, "metrics/compactor/");
  c.activity_tracker_filepath = JoinPath(all.data_dir, "metrics/metrics-activity.log");
  c.compactor_blocks_retention_period = absl::Hours(24 * 30);  // the seed's 30d
  if (c.max_global_exemplars_per_user <= 0) c.max_global_exemplars_per_user = 100000;
  return c;
}

// A key of a role section that sprout all does not read, and why.
struct Refusal {
  std::vector<std::string> path;  // inside the section
  const char* reason;
};

constexpr const char kHttpReason[] =
    "one process serves one HTTP port: set it with the top-level http::listen_address and "
    "http::port (the log level: collector::service::telemetry::logs::level)";
constexpr const char kTenancyReason[] =
    "multi-tenancy is one switch for every role: set the top-level multitenancy_enabled";

const std::vector<Refusal>& TracesRefusals() {
  static const auto* r = new std::vector<Refusal>{
      {{"server"}, kHttpReason},
      {{"distributor", "receivers"},
       "the OTLP ingress of sprout all is the collector section's otlp receiver "
       "(collector::receivers::otlp, by default on localhost:4317 and localhost:4318)"},
      {{"multitenancy_enabled"}, kTenancyReason},
  };
  return *r;
}

const std::vector<Refusal>& MetricsRefusals() {
  static const auto* r = new std::vector<Refusal>{
      {{"server"}, kHttpReason},
      {{"multitenancy_enabled"}, kTenancyReason},
      {{"no_auth_tenant"},
       "sprout all uses one tenant for every role when multi-tenancy is off: single-tenant "
       "(Tempo's), so the traces, the generator's series and Grafana's requests meet"},
  };
  return *r;
}

const std::vector<Refusal>& CollectorRefusals() {
  static const auto* r = new std::vector<Refusal>{
      {{"service", "telemetry", "metrics", "address"},
       "sprout all serves the process's own telemetry at /metrics on the top-level HTTP port "
       "(http::listen_address, http::port)"},
      {{"service", "telemetry", "metrics", "readers"},
       "sprout all serves the process's own telemetry at /metrics on the top-level HTTP port "
       "(http::listen_address, http::port)"},
  };
  return *r;
}

// Records every refused key present in `section` and removes it, so that the role's decoder
// does not act on it (all errors are reported together).
void ApplyRefusals(YAML::Node& section, const std::string& name,
                   const std::vector<Refusal>& refusals, std::vector<std::string>* errors) {
  for (const Refusal& refusal : refusals) {
    YAML::Node parent = section;
    bool found = true;
    for (size_t i = 0; i + 1 < refusal.path.size(); ++i) {
      std::optional<YAML::Node> child = FindValue(parent, refusal.path[i]);
      if (!child.has_value() || !child->IsMap()) {
        found = false;
        break;
      }
      parent.reset(*child);
    }
    if (!found || !parent.IsMap()) continue;
    const std::string& leaf = refusal.path.back();
    if (!FindValue(parent, leaf).has_value()) continue;
    errors->push_back(absl::StrCat("'", name, "::", absl::StrJoin(refusal.path, "::"),
                                   "' is not read by sprout all: ", refusal.reason));
    parent.remove(leaf);
  }
}

void AddPrefixed(absl::string_view prefix, absl::string_view message,
                 std::vector<std::string>* out) {
  for (absl::string_view line : absl::StrSplit(message, '\n')) {
    if (!line.empty()) out->push_back(absl::StrCat(prefix, ": ", line));
  }
}

// The sprout/* exporters: only the two names, each in pipelines of its own signal.
void CheckStoreExporters(const collector::ServiceConfig& c, std::vector<std::string>* errors,
                         std::vector<std::string>* warnings) {
  for (const collector::ComponentEntry& e : c.exporters) {
    if (e.id.type != kStoreExporterType) continue;
    const std::string id = e.id.String();
    if (id != kTracesStoreExporter && id != kMetricsStoreExporter) {
      errors->push_back(absl::StrCat("collector: exporters: \"", id,
                                     "\": the stores' exporters are sprout/traces and "
                                     "sprout/metrics"));
    }
  }
  bool traces_used = false;
  bool metrics_used = false;
  for (const collector::PipelineConfig& p : c.pipelines) {
    for (const collector::ComponentID& id : p.exporters) {
      if (id.type != kStoreExporterType) continue;
      const std::string s = id.String();
      const bool traces = s == kTracesStoreExporter;
      const bool metrics = s == kMetricsStoreExporter;
      traces_used |= traces;
      metrics_used |= metrics;
      if ((traces && p.id.signal != collector::Signal::kTraces) ||
          (metrics && p.id.signal != collector::Signal::kMetrics)) {
        errors->push_back(absl::StrCat("collector: service::pipelines::", p.id.String(),
                                       ": exporter \"", s, "\" takes only ",
                                       traces ? "traces" : "metrics"));
      }
    }
  }
  if (!traces_used) {
    warnings->push_back(
        "collector: no traces pipeline exports to sprout/traces: the trace store receives "
        "nothing from the collector");
  }
  if (!metrics_used) {
    warnings->push_back(
        "collector: no metrics pipeline exports to sprout/metrics: the metrics store receives "
        "nothing from the collector (the generator's series still reach it)");
  }
}

bool SensitiveKey(std::string_view key) {
  const std::string lower = absl::AsciiStrToLower(AV(key));
  for (const char* word : {"password", "secret", "token", "credentials", "api_key", "apikey"}) {
    if (absl::StrContains(lower, word) && !absl::EndsWith(lower, "_file")) return true;
  }
  return false;
}

// A copy of `node` with secrets replaced (the Collector's configopaque values: header values,
// passwords, tokens).
YAML::Node Masked(const YAML::Node& node, bool mask_all) {
  if (node.IsMap()) {
    YAML::Node out(YAML::NodeType::Map);
    for (const auto& entry : node) {
      const std::string key = KeyText(entry.first);
      const bool mask = mask_all || key == "headers" || SensitiveKey(key);
      out[key] = Masked(entry.second, mask);
    }
    return out;
  }
  if (node.IsSequence()) {
    YAML::Node out(YAML::NodeType::Sequence);
    for (const auto& item : node) out.push_back(Masked(item, mask_all));
    return out;
  }
  if (mask_all && node.IsScalar() && !node.Scalar().empty()) return YAML::Node("[REDACTED]");
  return YAML::Clone(node);
}

}  // namespace

std::shared_ptr<const collector::Factories> ValidationFactories() {
  auto factories = std::make_shared<collector::Factories>(collector::BuiltinFactories());
  factories->Register(std::make_unique<ValidationOnlyStoreExporterFactory>());
  return factories;
}

std::string AllConfig::HttpEndpoint() const {
  const bool ipv6 = http_listen_address.find(':') != std::string::npos;
  return ipv6 ? absl::StrCat("[", http_listen_address, "]:", http_port)
              : absl::StrCat(http_listen_address, ":", http_port);
}

std::string AllConfig::EffectiveYaml() const {
  YAML::Node root(YAML::NodeType::Map);
  root["data_dir"] = data_dir;
  root["http"]["listen_address"] = http_listen_address;
  root["http"]["port"] = http_port;
  root["multitenancy_enabled"] = multitenancy_enabled;
  root["self_monitoring"]["enabled"] = self_monitoring_enabled;
  root["self_monitoring"]["interval"] = absl::FormatDuration(self_monitoring_interval);
  root["collector"] = Masked(collector_yaml, false);
  YAML::Node t = YAML::Load(traces.EffectiveYaml());
  t.remove("server");
  t.remove("multitenancy_enabled");
  if (t["distributor"].IsMap()) t["distributor"].remove("receivers");
  if (t["distributor"].IsMap() && t["distributor"].size() == 0) t.remove("distributor");
  root["traces"] = t;
  YAML::Node m = YAML::Load(metrics.EffectiveYaml());
  m.remove("server");
  m.remove("multitenancy_enabled");
  m.remove("no_auth_tenant");
  root["metrics"] = m;
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

absl::StatusOr<AllConfigResult> LoadAllConfig(const AllConfigOptions& options) {
  AllConfigResult result;
  AllConfig& all = result.config;
  std::vector<std::string> errors;

  // Whether a config source has a collector section (then it is used as is); without one the
  // default section is the base that `--set collector...` edits.
  config::LoadOptions files_only;
  files_only.uris = options.uris;
  files_only.env = options.env;
  absl::StatusOr<config::Loaded> sources = config::Load(files_only);
  if (!sources.ok()) return sources.status();
  all.collector_is_default = !FindValue(sources->root, "collector").has_value();

  config::LoadOptions load = files_only;
  for (const std::string& set : options.set_overrides) {
    load.set_overrides.push_back(NormalizeSet(set));
  }
  absl::StatusOr<config::Loaded> loaded = config::Load(load);
  if (!loaded.ok()) return loaded.status();
  YAML::Node root = loaded->root;
  for (const config::Warning& w : loaded->warnings) {
    result.warnings.push_back(absl::StrCat(w.message, ": ", w.name));
  }

  // Top level.
  std::vector<std::string> unknown;
  for (const auto& entry : root) {
    const std::string key = KeyText(entry.first);
    if (std::find(std::begin(kTopLevelKeys), std::end(kTopLevelKeys), key) ==
        std::end(kTopLevelKeys)) {
      unknown.push_back(key);
    }
  }
  if (!unknown.empty()) {
    std::sort(unknown.begin(), unknown.end());
    errors.push_back(absl::StrCat("configuration has invalid keys: ", absl::StrJoin(unknown, ", "),
                                  " (valid keys: ", absl::StrJoin(kTopLevelKeys, ", "), ")"));
  }
  auto section = [&root, &errors](const char* name) -> YAML::Node {
    std::optional<YAML::Node> node = FindValue(root, name);
    if (!node.has_value() || KindOf(*node) == ValueKind::kNull) {
      return YAML::Node(YAML::NodeType::Null);
    }
    if (!node->IsMap()) {
      errors.push_back(absl::StrCat("'", name, "' expected a map, got '",
                                    config::internal::GoKindName(KindOf(*node)), "'"));
      return YAML::Node(YAML::NodeType::Null);
    }
    return YAML::Clone(*node);
  };
  {
    YAML::Node top(YAML::NodeType::Map);
    for (const char* key : {"data_dir", "http", "multitenancy_enabled", "self_monitoring"}) {
      if (std::optional<YAML::Node> v = FindValue(root, key); v.has_value()) top[key] = *v;
    }
    config::Decoder d(top, "");
    d.Read("data_dir", &all.data_dir);
    config::Decoder http = d.Child("http");
    http.Read("listen_address", &all.http_listen_address);
    int port = all.http_port;
    http.Read("port", &port);
    if (port < 0 || port > 65535) {
      http.AddError("port", absl::StrCat("invalid port ", port, ": must be between 0 and 65535"));
    } else {
      all.http_port = port;
    }
    d.Read("multitenancy_enabled", &all.multitenancy_enabled);
    config::Decoder self = d.Child("self_monitoring");
    self.Read("enabled", &all.self_monitoring_enabled);
    absl::Duration interval = all.self_monitoring_interval;
    self.Read("interval", &interval);
    if (interval < absl::Milliseconds(1)) {
      self.AddError("interval",
                    absl::StrCat("must be at least 1ms, got ", absl::FormatDuration(interval)));
    } else {
      all.self_monitoring_interval = interval;
    }
    absl::Status status = d.Finish();
    if (!status.ok()) AddPrefixed("configuration", status.message(), &errors);
    if (!options.data_dir_flag.empty()) all.data_dir = options.data_dir_flag;
    if (all.data_dir.empty()) errors.push_back("'data_dir' must not be empty");
  }

  // traces: Tempo's keys over the sprout all defaults.
  {
    YAML::Node t = section("traces");
    if (t.IsMap()) ApplyRefusals(t, "traces", TracesRefusals(), &errors);
    absl::StatusOr<traces::TracesConfigResult> decoded =
        traces::DecodeTracesConfig(t, TracesDefaults(all));
    if (!decoded.ok()) {
      AddPrefixed("traces", decoded.status().message(), &errors);
    } else {
      all.traces = std::move(decoded->config);
      for (const std::string& w : decoded->warnings) {
        result.warnings.push_back(absl::StrCat("traces: ", w));
      }
    }
  }
  // metrics: Mimir's keys over the sprout all defaults.
  {
    YAML::Node m = section("metrics");
    if (m.IsMap()) ApplyRefusals(m, "metrics", MetricsRefusals(), &errors);
    absl::StatusOr<metrics::MetricsConfigResult> decoded =
        metrics::DecodeMetricsConfig(m, MetricsDefaults(all));
    if (!decoded.ok()) {
      AddPrefixed("metrics", decoded.status().message(), &errors);
    } else {
      all.metrics = std::move(decoded->config);
      for (const std::string& w : decoded->warnings) {
        result.warnings.push_back(absl::StrCat("metrics: ", w));
      }
    }
  }
  // collector: an otelcol config; the default section unless a config file had one.
  {
    YAML::Node c = section("collector");
    if (all.collector_is_default) {
      YAML::Node base = DefaultCollectorSection();
      if (c.IsMap()) config::MergeInto(base, c);  // the --set values
      c.reset(base);
    } else if (!c.IsMap()) {
      c.reset(YAML::Node(YAML::NodeType::Map));
    }
    ApplyRefusals(c, "collector", CollectorRefusals(), &errors);
    all.collector_yaml.reset(c);
    all.factories = options.factories ? options.factories : ValidationFactories();
    absl::StatusOr<collector::ServiceConfig> decoded =
        collector::DecodeServiceConfig(c, *all.factories);
    if (!decoded.ok()) {
      AddPrefixed("collector", decoded.status().message(), &errors);
    } else {
      all.collector = std::move(*decoded);
      // Served on the one HTTP port, not on a listener of its own.
      all.collector.telemetry.metrics_address.clear();
      CheckStoreExporters(all.collector, &errors, &result.warnings);
    }
  }

  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  return result;
}

absl::Status CheckRunnable(const AllConfig& config) {
  if (absl::Status s = traces::CheckRunnable(config.traces); !s.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("traces: ", s.message()));
  }
  if (absl::Status s = metrics::CheckRunnable(config.metrics); !s.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("metrics: ", s.message()));
  }
  return absl::OkStatus();
}

int RunValidateAll(const AllConfigOptions& options) {
  absl::StatusOr<AllConfigResult> result = LoadAllConfig(options);
  if (!result.ok()) {
    std::fprintf(stderr, "Error: invalid configuration: %s\n",
                 std::string(result.status().message()).c_str());
    return 1;
  }
  for (const std::string& warning : result->warnings) {
    std::fprintf(stderr, "Warning: %s\n", warning.c_str());
  }
  return 0;
}

}  // namespace sprout::cmd
