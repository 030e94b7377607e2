#include "collector/receiver/otlp/config.h"

#include <cstdint>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "collector/confighttp.h"
#include "collector/configtls.h"
#include "config/decoder.h"
#include "net/grpc_server.h"

namespace sprout::collector::otlpreceiver {
namespace {

std::string WithLeadingSlash(std::string path) {
  if (path.empty() || path[0] != '/') path = "/" + path;
  return path;
}

}  // namespace

void Config::Decode(config::Decoder& decoder) {
  config::Decoder protocols = decoder.Child("protocols");
  if (protocols.Has("grpc")) {
    grpc.enabled = true;
    config::Decoder g = protocols.Child("grpc");
    g.Read("endpoint", &grpc.endpoint);
    std::string transport = "tcp";
    g.Read("transport", &transport);
    if (transport != "tcp") g.AddError("transport", "only \"tcp\" is supported");
    g.Read("max_recv_msg_size_mib", &grpc.max_recv_msg_size_mib);
    g.Read("read_buffer_size", &grpc.read_buffer_size);
    g.Read("write_buffer_size", &grpc.write_buffer_size);
    g.Read("max_concurrent_streams", &grpc.max_concurrent_streams);
    g.Read("include_metadata", &grpc.include_metadata);
    grpc.tls = DecodeTlsServer(g);
    if (grpc.tls.has_value()) {
      if (absl::Status status = net::CheckGrpcServerTls(*grpc.tls); !status.ok()) {
        g.AddError("tls", SV(status.message()));
      }
    }
    DecodeSensitiveMetadataKeys(g, &grpc.include_sensitive_metadata);
    // Refusing a setting sprout lacks is better than silently running without it.
    g.Refuse({"auth", "keepalive"}, "is not supported by sprout's otlp receiver yet");
  }
  if (protocols.Has("http")) {
    http.enabled = true;
    config::Decoder h = protocols.Child("http");
    h.Read("endpoint", &http.endpoint);
    DecodeHttpServer(h, &http);
    h.Read("traces_url_path", &http.traces_url_path);
    h.Read("metrics_url_path", &http.metrics_url_path);
    h.Read("logs_url_path", &http.logs_url_path);
    http.traces_url_path = WithLeadingSlash(http.traces_url_path);
    http.metrics_url_path = WithLeadingSlash(http.metrics_url_path);
    http.logs_url_path = WithLeadingSlash(http.logs_url_path);
  }
}

absl::Status Config::Validate() const {
  if (!grpc.enabled && !http.enabled) {
    return absl::InvalidArgumentError(
        "must specify at least one protocol when using the OTLP receiver");
  }
  if (grpc.enabled) {
    // As configgrpc: the size in bytes must fit a (64-bit) int; 0 means gRPC's default.
    constexpr int64_t kMaxMib = std::numeric_limits<int64_t>::max() / 1024 / 1024;
    if (grpc.max_recv_msg_size_mib < 0 || grpc.max_recv_msg_size_mib > kMaxMib) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid max_recv_msg_size_mib value, must be between 1 and ", kMaxMib, ": ",
                       grpc.max_recv_msg_size_mib));
    }
    if (grpc.read_buffer_size < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid read_buffer_size value: ", grpc.read_buffer_size));
    }
    if (grpc.write_buffer_size < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid write_buffer_size value: ", grpc.write_buffer_size));
    }
    if (grpc.max_concurrent_streams < 0 ||
        grpc.max_concurrent_streams > std::numeric_limits<uint32_t>::max()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid max_concurrent_streams value, must be between 0 and 4294967295: ",
                       grpc.max_concurrent_streams));
    }
  }
  return absl::OkStatus();
}

int64_t GrpcConfig::MaxRecvMsgSizeBytes() const {
  return max_recv_msg_size_mib > 0 ? max_recv_msg_size_mib * 1024 * 1024 : int64_t{4} << 20;
}

}  // namespace sprout::collector::otlpreceiver
