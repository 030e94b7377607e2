#include "collector/extension/health_check/config.h"

#include "config/decoder.h"

namespace sprout::collector::healthcheck {

void Config::Decode(config::Decoder& d) {
  d.Read("endpoint", &http.endpoint);
  DecodeHttpServer(d, &http);
  d.Read("path", &path);
  if (d.Has("response_body")) {
    has_response_body = true;
    config::Decoder body = d.Child("response_body");
    body.Read("healthy", &healthy_body);
    body.Read("unhealthy", &unhealthy_body);
  }
  config::Decoder pipeline = d.Child("check_collector_pipeline");
  pipeline.Read("enabled", &check_collector_pipeline);
  pipeline.Raw("interval");
  pipeline.Raw("exporter_failure_threshold");
}

absl::Status Config::Validate() const {
  if (http.endpoint.empty()) return absl::InvalidArgumentError("bad config: endpoint must be specified");
  if (path.empty() || path[0] != '/') {
    return absl::InvalidArgumentError("\"path\" must start with \"/\"");
  }
  if (check_collector_pipeline) {
    return absl::InvalidArgumentError(
        "check_collector_pipeline is not supported (it is deprecated and broken in the "
        "Collector as well)");
  }
  return absl::OkStatus();
}

}  // namespace sprout::collector::healthcheck
