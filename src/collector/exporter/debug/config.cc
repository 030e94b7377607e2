#include "collector/exporter/debug/config.h"

#include "absl/strings/str_cat.h"
#include "config/decoder.h"

namespace sprout::collector::debugexporter {

void Config::Decode(config::Decoder& d) {
  d.Read("verbosity", &verbosity);
  d.Read("sampling_initial", &sampling_initial);
  d.Read("sampling_thereafter", &sampling_thereafter);
  d.Read("use_internal_logger", &use_internal_logger);
  d.Read("output_paths", &output_paths);
  // The Collector's exporter helper keys are accepted; the debug exporter never retries or
  // queues (it cannot fail).
  d.Raw("sending_queue");
  d.Raw("retry_on_failure");
  d.Raw("timeout");
}

absl::Status Config::Validate() const {
  if (verbosity != "basic" && verbosity != "normal" && verbosity != "detailed") {
    return absl::InvalidArgumentError(absl::StrCat("unrecognized verbosity level \"", verbosity,
                                                   "\" (valid values: basic, normal, detailed)"));
  }
  if (sampling_initial < 0 || sampling_thereafter < 0) {
    return absl::InvalidArgumentError("sampling values must be non-negative");
  }
  if (use_internal_logger && !output_paths.empty() &&
      !(output_paths.size() == 1 && output_paths[0] == "stdout")) {
    return absl::InvalidArgumentError("output_paths requires use_internal_logger to be false");
  }
  return absl::OkStatus();
}

}  // namespace sprout::collector::debugexporter
