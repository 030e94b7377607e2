// Configuration of the `health_check` extension (Collector: contrib
// extension/healthcheckextension). Every key and its default is listed in README.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "collector/factory.h"

namespace sprout::collector::healthcheck {

struct Config : ComponentConfig {
  std::string endpoint = "localhost:13133";
  std::string path = "/";
  bool has_response_body = false;
  std::string healthy_body;
  std::string unhealthy_body;
  bool check_collector_pipeline = false;

  void Decode(config::Decoder& d) override;
  absl::Status Validate() const override;
};

}  // namespace sprout::collector::healthcheck
