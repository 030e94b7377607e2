// Configuration of the `otlp` exporter (Collector: exporter/otlpexporter, OTLP over gRPC).
// Every key and its default is listed in README.md.
#pragma once

#include <map>
#include <string>

#include "base/backoff.h"
#include "collector/exporter_helper.h"
#include "collector/factory.h"

namespace sprout::collector::otlpexporter {

struct TlsConfig {
  bool insecure = false;  // true (and no CA) → plaintext
  bool insecure_skip_verify = false;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string server_name_override;
};

struct KeepaliveConfig {
  bool enabled = false;
  absl::Duration time = absl::ZeroDuration();
  absl::Duration timeout = absl::ZeroDuration();
  bool permit_without_stream = false;
};

struct Config : ComponentConfig {
  std::string endpoint;
  TlsConfig tls;
  std::string compression = "gzip";
  std::map<std::string, std::string> headers;
  absl::Duration timeout = absl::Seconds(5);
  BackoffConfig retry_on_failure;  // Collector defaults: 5s, x1.5, ±0.5, max 30s, 300s total
  QueueSettings sending_queue;     // enabled, 10 consumers, 1000 requests
  std::string balancer_name = "round_robin";
  int64_t write_buffer_size = 512 * 1024;
  int64_t read_buffer_size = 0;
  bool wait_for_ready = false;
  KeepaliveConfig keepalive;

  void Decode(config::Decoder& decoder) override;
  absl::Status Validate() const override;

  // The gRPC target and whether TLS is used, from `endpoint` and `tls` (see README).
  struct Target {
    std::string address;
    bool tls;
  };
  absl::StatusOr<Target> ResolveTarget() const;
};

}  // namespace sprout::collector::otlpexporter
