// Configuration of the `health_check` extension (Collector: contrib
// extension/healthcheckextension). Every key and its default is listed in README.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "collector/confighttp.h"
#include "collector/factory.h"

namespace sprout::collector::healthcheck {

struct Config : ComponentConfig {
  Config() { http.endpoint = "localhost:13133"; }
  // The confighttp keys (endpoint, tls, timeouts, ...) sit at the top of the extension's
  // config, as in the Collector.
  HttpServerConfig http;
  std::string path = "/";
  bool has_response_body = false;
  std::string healthy_body;
  std::string unhealthy_body;
  bool check_collector_pipeline = false;

  void Decode(config::Decoder& d) override;
  absl::Status Validate() const override;
};

}  // namespace sprout::collector::healthcheck
