#include "metrics/config/runtime_config.h"

#include <openssl/sha.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/hex.h"
#include "config/decoder.h"
#include "yaml-cpp/yaml.h"

namespace sprout::metrics {
namespace {

// Mimir's runtime configuration sections other than `overrides` (runtimeConfigValues): accepted
// and ignored.
constexpr const char* kIgnoredSections[] = {
    "multi_kv_config",
    "ingester_chunk_streaming",
    "ingester_limits",
    "distributor_limits",
    "ingester_stream_chunks_when_using_blocks",
};

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return HexEncode(std::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

}  // namespace

absl::StatusOr<RuntimeConfig> ParseRuntimeConfig(std::string_view text,
                                                 const TenantLimits& defaults) {
  RuntimeConfig out;
  out.raw = std::string(text);
  YAML::Node root;
  try {
    root = YAML::Load(out.raw);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("yaml: ", e.what()));
  }
  if (!root.IsDefined() || root.IsNull()) return out;
  if (!root.IsMap()) {
    return absl::InvalidArgumentError("the runtime configuration must be a YAML map");
  }
  std::vector<std::string> errors;
  std::vector<std::string> unknown_top;
  for (const auto& entry : root) {
    const std::string key = entry.first.as<std::string>("");
    if (key == "overrides") continue;
    if (std::find_if(std::begin(kIgnoredSections), std::end(kIgnoredSections),
                     [&](const char* s) { return key == s; }) != std::end(kIgnoredSections)) {
      out.warnings.push_back(
          absl::StrCat("'", key, "' is a Mimir setting that sprout metrics ignores"));
      continue;
    }
    unknown_top.push_back(key);
  }
  if (!unknown_top.empty()) {
    std::sort(unknown_top.begin(), unknown_top.end());
    errors.push_back(
        absl::StrCat("runtime configuration has invalid keys: ", absl::StrJoin(unknown_top, ", ")));
  }
  const YAML::Node overrides = root["overrides"];
  if (overrides.IsDefined() && !overrides.IsNull() && !overrides.IsMap()) {
    errors.push_back("'overrides' expected a map");
  } else if (overrides.IsDefined() && overrides.IsMap()) {
    const std::vector<std::string>& keys = TenantLimitKeys();
    for (const auto& entry : overrides) {
      const std::string tenant = entry.first.as<std::string>("");
      const std::string path = absl::StrCat("overrides::", tenant);
      const YAML::Node& node = entry.second;
      TenantLimits limits = defaults;
      if (node.IsDefined() && !node.IsNull()) {
        if (!node.IsMap()) {
          errors.push_back(absl::StrCat("'", path, "' expected a map"));
          continue;
        }
        std::vector<std::string> unknown;
        for (const auto& kv : node) {
          const std::string k = kv.first.as<std::string>("");
          if (std::find(keys.begin(), keys.end(), k) != keys.end()) continue;
          const KeyClass cls = ClassifyKey(absl::StrCat("limits.", k));
          if (cls == KeyClass::kNotImplemented || cls == KeyClass::kAccepted) {
            out.warnings.push_back(absl::StrCat(
                "'", path, "::", k,
                "' is a Mimir limit that sprout metrics does not implement yet; it is ignored"));
          } else {
            unknown.push_back(k);
          }
        }
        if (!unknown.empty()) {
          std::sort(unknown.begin(), unknown.end());
          errors.push_back(
              absl::StrCat("'", path, "' has invalid keys: ", absl::StrJoin(unknown, ", ")));
        }
        config::Decoder d(node, path);
        DecodeTenantLimits(d, &limits);
        for (const std::string& k : d.Keys()) (void)d.Raw(k);
        if (absl::Status s = d.Finish(); !s.ok()) errors.push_back(std::string(s.message()));
      }
      out.overrides[tenant] = limits;
    }
  }
  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  return out;
}

std::string RuntimeConfigYaml(const RuntimeConfig& config, const TenantLimits& defaults,
                              bool diff) {
  YAML::Node root(YAML::NodeType::Map);
  YAML::Node overrides(YAML::NodeType::Map);
  for (const auto& [tenant, limits] : config.overrides) {
    overrides[tenant] = TenantLimitsYaml(limits, diff ? &defaults : nullptr);
  }
  root["overrides"] = overrides;
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

RuntimeConfigManager::RuntimeConfigManager(RuntimeConfigOptions options)
    : options_(std::move(options)), current_(std::make_shared<RuntimeConfig>()) {
  if (options_.registry != nullptr && !options_.file.empty()) {
    last_reload_ok_ = options_.registry->GetGauge(
        "cortex_runtime_config_last_reload_successful",
        "Whether the last runtime-config reload attempt was successful.");
  }
}

RuntimeConfigManager::~RuntimeConfigManager() { Stop(); }

absl::Status RuntimeConfigManager::Reload() {
  std::ifstream in(options_.file, std::ios::binary);
  absl::Status status;
  std::string text;
  if (!in) {
    status = absl::NotFoundError(
        absl::StrCat("failed to load runtime config: open ", options_.file, ": cannot read"));
  } else {
    std::ostringstream buf;
    buf << in.rdbuf();
    text = buf.str();
  }
  absl::StatusOr<RuntimeConfig> parsed;
  if (status.ok()) {
    parsed = ParseRuntimeConfig(text, options_.defaults);
    if (!parsed.ok()) {
      status = absl::InvalidArgumentError(absl::StrCat(
          "failed to load runtime config: ", options_.file, ": ", parsed.status().message()));
    }
  }
  if (!status.ok()) {
    if (last_reload_ok_ != nullptr) last_reload_ok_->Set(0);
    if (options_.on_error) options_.on_error(status);
    return status;
  }
  const std::string hash = Sha256Hex(text);
  bool changed = false;
  std::string old_hash;
  {
    absl::MutexLock lock(&mu_);
    if (hash != hash_) {
      old_hash = hash_;
      hash_ = hash;
      current_ = std::make_shared<RuntimeConfig>(*std::move(parsed));
      changed = true;
    }
  }
  if (last_reload_ok_ != nullptr) last_reload_ok_->Set(1);
  if (changed) {
    generation_.fetch_add(1, std::memory_order_acq_rel);
    if (options_.registry != nullptr) {
      const std::string help = "Hash of the currently active runtime configuration file.";
      if (!old_hash.empty()) {
        options_.registry->GetGauge("cortex_runtime_config_hash", help, {{"sha256", old_hash}})
            ->Set(0);
      }
      options_.registry->GetGauge("cortex_runtime_config_hash", help, {{"sha256", hash}})->Set(1);
    }
    if (options_.on_reload) options_.on_reload(current()->warnings);
  }
  return absl::OkStatus();
}

absl::Status RuntimeConfigManager::Start() {
  if (options_.file.empty()) return absl::OkStatus();
  if (absl::Status s = Reload(); !s.ok()) return s;
  thread_ = std::thread([this] { Loop(); });
  return absl::OkStatus();
}

void RuntimeConfigManager::Stop() {
  {
    absl::MutexLock lock(&stop_mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void RuntimeConfigManager::Loop() {
  for (;;) {
    {
      absl::MutexLock lock(&stop_mu_);
      auto stopped = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(stop_mu_) { return stop_; };
      if (stop_mu_.AwaitWithTimeout(absl::Condition(&stopped), options_.period)) return;
    }
    (void)Reload();  // errors: on_error and the gauge; the previous overrides stay
  }
}

TenantLimits RuntimeConfigManager::LimitsFor(std::string_view tenant) const {
  absl::MutexLock lock(&mu_);
  auto it = current_->overrides.find(std::string(tenant));
  return it == current_->overrides.end() ? options_.defaults : it->second;
}

std::shared_ptr<const RuntimeConfig> RuntimeConfigManager::current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

}  // namespace sprout::metrics
