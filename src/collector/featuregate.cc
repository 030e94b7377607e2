#include "collector/featuregate.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/status.h"

namespace sprout::collector {

FeatureGates::FeatureGates() {
  gates_.push_back({kRetryOn429Gate, "alpha",
                    "prometheusremotewrite: retry requests answered 429 Too Many Requests", false});
}

FeatureGates& FeatureGates::Global() {
  static FeatureGates* gates = new FeatureGates();
  return *gates;
}

absl::Status FeatureGates::Apply(std::string_view flag) {
  for (absl::string_view item : absl::StrSplit(AV(flag), ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    bool enable = true;
    if (absl::ConsumePrefix(&item, "-"))
      enable = false;
    else
      absl::ConsumePrefix(&item, "+");
    FeatureGate* gate = nullptr;
    for (FeatureGate& g : gates_) {
      if (g.id == item) gate = &g;
    }
    if (gate == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("no such feature gate \"", item, "\""));
    }
    gate->enabled = enable;
  }
  return absl::OkStatus();
}

bool FeatureGates::IsEnabled(std::string_view id) const {
  for (const FeatureGate& g : gates_) {
    if (g.id == id) return g.enabled;
  }
  return false;
}

}  // namespace sprout::collector
