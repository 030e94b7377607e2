// Configuration of the `otlp` receiver (Collector: receiver/otlpreceiver). Every key and its
// default is listed in README.md.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "collector/confighttp.h"
#include "collector/factory.h"
#include "net/tls.h"

namespace sprout::collector::otlpreceiver {

struct GrpcConfig {
  bool enabled = false;  // a protocol is on only when its key is present
  std::string endpoint = "localhost:4317";
  // 0: gRPC's default of 4 MiB. Bounds each message as received and once decompressed.
  int64_t max_recv_msg_size_mib = 0;
  int64_t read_buffer_size = 512 * 1024;
  int64_t write_buffer_size = 0;
  int64_t max_concurrent_streams = 0;
  bool include_metadata = false;
  std::optional<net::TlsServerSettings> tls;  // unset: plaintext
  // Credentials metadata (authorization, ...) include_metadata keeps; see FilterMetadata.
  std::vector<std::string> include_sensitive_metadata;

  // max_recv_msg_size_mib in bytes (gRPC's 4 MiB default for 0). Valid once Validate() passed.
  int64_t MaxRecvMsgSizeBytes() const;
};

// The confighttp server settings (collector/confighttp.h) plus the receiver's paths.
struct HttpConfig : HttpServerConfig {
  HttpConfig() { endpoint = "localhost:4318"; }
  bool enabled = false;
  std::string traces_url_path = "/v1/traces";
  std::string metrics_url_path = "/v1/metrics";
  std::string logs_url_path = "/v1/logs";
};

struct Config : ComponentConfig {
  GrpcConfig grpc;
  HttpConfig http;

  void Decode(config::Decoder& decoder) override;
  absl::Status Validate() const override;
};

}  // namespace sprout::collector::otlpreceiver
