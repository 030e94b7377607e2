// Configuration of the `debug` exporter (Collector: exporter/debugexporter). Every key and its
// default is listed in README.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "collector/factory.h"

namespace sprout::collector::debugexporter {

struct Config : ComponentConfig {
  std::string verbosity = "basic";
  int64_t sampling_initial = 2;
  int64_t sampling_thereafter = 1;
  bool use_internal_logger = true;
  std::vector<std::string> output_paths = {"stdout"};

  void Decode(config::Decoder& d) override;
  absl::Status Validate() const override;
};

}  // namespace sprout::collector::debugexporter
