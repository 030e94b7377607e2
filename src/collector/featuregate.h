// Feature gates, as the Collector's `--feature-gates` flag sets them: named switches for
// behaviour that is off (alpha) or on (beta) by default.
//
// Thread-safety: Apply() runs once at start-up, before any component exists; IsEnabled() may
// then be called from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace sprout::collector {

struct FeatureGate {
  std::string id;
  std::string stage;  // "alpha" (off by default) or "beta" (on by default)
  std::string description;
  bool enabled;
  // Non-empty for a gate of the Collector that sprout knows but does not implement: enabling
  // it is an error saying why (disabling it is accepted).
  std::string unsupported = {};
};

class FeatureGates {
 public:
  // The process-wide registry, holding every gate sprout knows.
  static FeatureGates& Global();

  // "a,+b,-c": enables a and b, disables c. Errors: `no such feature gate "x"`, and
  // `feature gate "x" is not supported by sprout yet: <why>` for enabling an unsupported one.
  absl::Status Apply(std::string_view flag);
  bool IsEnabled(std::string_view id) const;
  const std::vector<FeatureGate>& gates() const { return gates_; }

 private:
  FeatureGates();
  std::vector<FeatureGate> gates_;
};

// Gate IDs used by components (the prometheusremotewrite ones are documented in its README).
inline constexpr char kRetryOn429Gate[] = "exporter.prometheusremotewritexporter.RetryOn429";
inline constexpr char kEnableMultipleWorkersGate[] =
    "exporter.prometheusremotewritexporter.EnableMultipleWorkers";
inline constexpr char kEnableSendingRW2Gate[] =
    "exporter.prometheusremotewritexporter.enableSendingRW2";
inline constexpr char kRemoveTopLevelHTTPSettingsGate[] =
    "exporter.prometheusremotewritexporter.removeTopLevelHTTPSettings";

}  // namespace sprout::collector
