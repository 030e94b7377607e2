#include "collector/exporter/otlp/config.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "config/decoder.h"

namespace sprout::collector::otlpexporter {

void Config::Decode(config::Decoder& decoder) {
  decoder.Read("endpoint", &endpoint);
  config::Decoder t = decoder.Child("tls");
  t.Read("insecure", &tls.insecure);
  t.Read("insecure_skip_verify", &tls.insecure_skip_verify);
  t.Read("ca_file", &tls.ca_file);
  t.Read("cert_file", &tls.cert_file);
  t.Read("key_file", &tls.key_file);
  t.Read("server_name_override", &tls.server_name_override);
  t.Refuse({"ca_pem", "cert_pem", "key_pem", "min_version", "max_version", "cipher_suites",
            "reload_interval", "include_system_ca_certs_pool"},
           "is not supported by sprout yet");
  decoder.Read("compression", &compression);
  decoder.Read("headers", &headers);
  decoder.Read("timeout", &timeout);
  config::Decoder retry = decoder.Child("retry_on_failure");
  DecodeRetrySettings(retry, &retry_on_failure);
  config::Decoder queue = decoder.Child("sending_queue");
  sending_queue.Decode(queue);
  decoder.Read("balancer_name", &balancer_name);
  decoder.Read("write_buffer_size", &write_buffer_size);
  decoder.Read("read_buffer_size", &read_buffer_size);
  decoder.Read("wait_for_ready", &wait_for_ready);
  if (decoder.Has("keepalive")) {
    keepalive.enabled = true;
    config::Decoder k = decoder.Child("keepalive");
    k.Read("time", &keepalive.time);
    k.Read("timeout", &keepalive.timeout);
    k.Read("permit_without_stream", &keepalive.permit_without_stream);
  }
  decoder.Refuse({"auth", "authority", "compression_params"}, "is not supported by sprout yet");
}

absl::StatusOr<Config::Target> Config::ResolveTarget() const {
  if (endpoint.empty()) return absl::InvalidArgumentError("requires a non-empty \"endpoint\"");
  Target target{endpoint, !tls.insecure || !tls.ca_file.empty()};
  std::string_view e = endpoint;
  if (absl::StartsWith(AV(e), "https://")) {
    target.address = std::string(e.substr(8));
    target.tls = true;
  } else if (absl::StartsWith(AV(e), "http://")) {
    target.address = std::string(e.substr(7));
  }
  if (absl::StartsWith(target.address, "dns:///") || absl::StartsWith(target.address, "unix:")) {
    return target;
  }
  while (!target.address.empty() && target.address.back() == '/') target.address.pop_back();
  const size_t colon = target.address.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid endpoint \"", endpoint, "\": missing port in address"));
  }
  int port = 0;
  if (!absl::SimpleAtoi(target.address.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("endpoint port is not a number: strconv.ParseInt: parsing \"",
                     target.address.substr(colon + 1), "\": invalid syntax"));
  }
  return target;
}

absl::Status Config::Validate() const {
  RETURN_IF_ERROR(ResolveTarget().status());
  const std::string c = absl::AsciiStrToLower(compression);
  if (c != "gzip" && c != "deflate" && c != "none" && !c.empty()) {
    if (c == "zstd" || c == "snappy" || c == "zlib" || c == "lz4") {
      return absl::InvalidArgumentError(absl::StrCat(
          "compression \"", compression, "\" is not supported by sprout's gRPC client yet"));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported compression type \"", compression, "\""));
  }
  // The policies gRPC C++ 1.51 has built in (grpc-go has more, e.g. weighted ones).
  if (!balancer_name.empty() && balancer_name != "round_robin" && balancer_name != "pick_first") {
    return absl::InvalidArgumentError(absl::StrCat("invalid balancer_name: ", balancer_name));
  }
  if (tls.insecure_skip_verify) {
    return absl::InvalidArgumentError("tls::insecure_skip_verify is not supported by sprout yet");
  }
  if (timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("timeout must be non-negative");
  }
  RETURN_IF_ERROR(Annotate(ValidateRetrySettings(retry_on_failure), "retry_on_failure"));
  RETURN_IF_ERROR(Annotate(sending_queue.Validate(), "sending_queue"));
  return absl::OkStatus();
}

}  // namespace sprout::collector::otlpexporter
