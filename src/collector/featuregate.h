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
};

class FeatureGates {
 public:
  // The process-wide registry, holding every gate sprout knows.
  static FeatureGates& Global();

  // "a,+b,-c": enables a and b, disables c. Error: `no such feature gate "x"`.
  absl::Status Apply(std::string_view flag);
  bool IsEnabled(std::string_view id) const;
  const std::vector<FeatureGate>& gates() const { return gates_; }

 private:
  FeatureGates();
  std::vector<FeatureGate> gates_;
};

// Gate IDs used by components.
inline constexpr char kRetryOn429Gate[] = "exporter.prometheusremotewritexporter.RetryOn429";

}  // namespace sprout::collector
