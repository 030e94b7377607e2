#include "collector/featuregate.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/status.h"

namespace sprout::collector {

FeatureGates::FeatureGates() {
  gates_.push_back({kRetryOn429Gate, "alpha",
                    "prometheusremotewrite: retry requests answered 429 Too Many Requests", false});
  gates_.push_back({kEnableMultipleWorkersGate, "alpha",
                    "prometheusremotewrite: requests of one batch sent at once = "
                    "max_batch_request_parallelism (default 5) instead of num_consumers; sprout "
                    "still handles one batch at a time",
                    false});
  gates_.push_back({kEnableSendingRW2Gate, "alpha",
                    "prometheusremotewrite: allows protobuf_message io.prometheus.write.v2.Request "
                    "(which sprout refuses yet, so the gate alone changes nothing)",
                    false});
  gates_.push_back({kRemoveTopLevelHTTPSettingsGate, "alpha",
                    "prometheusremotewrite: HTTP client settings only in an `http` block", false,
                    "sprout reads the HTTP client settings (endpoint, tls, headers, ...) at the "
                    "top level of the exporter only"});
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
    if (enable && !gate->unsupported.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "feature gate \"", item, "\" is not supported by sprout yet: ", gate->unsupported));
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
