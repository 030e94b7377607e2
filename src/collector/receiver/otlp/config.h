// Configuration of the `otlp` receiver (Collector: receiver/otlpreceiver). Every key and its
// default is listed in README.md.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "collector/factory.h"
#include "net/tls.h"

namespace sprout::collector::otlpreceiver {

struct CorsConfig {
  std::vector<std::string> allowed_origins;  // exact origins or patterns with one '*'
  std::vector<std::string> allowed_headers;
  int64_t max_age = 0;  // seconds; 0: no Access-Control-Max-Age
};

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

  // max_recv_msg_size_mib in bytes (gRPC's 4 MiB default for 0). Valid once Validate() passed.
  int64_t MaxRecvMsgSizeBytes() const;
};

struct HttpConfig {
  bool enabled = false;
  std::string endpoint = "localhost:4318";
  int64_t max_request_body_size = 20 * 1024 * 1024;
  std::string traces_url_path = "/v1/traces";
  std::string metrics_url_path = "/v1/metrics";
  std::string logs_url_path = "/v1/logs";
  bool include_metadata = false;
  // Content-Encodings accepted on requests ("" means none).
  std::vector<std::string> compression_algorithms = {
      "", "gzip", "zstd", "zlib", "snappy", "deflate", "lz4", "x-snappy-framed"};
  CorsConfig cors;
  bool cors_enabled = false;
  std::map<std::string, std::string> response_headers;  // added to every response
};

struct Config : ComponentConfig {
  GrpcConfig grpc;
  HttpConfig http;

  void Decode(config::Decoder& decoder) override;
  absl::Status Validate() const override;
};

}  // namespace sprout::collector::otlpreceiver
