#include "net/tls.h"

#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace sprout::net {

absl::StatusOr<int> ParseTlsVersion(std::string_view version, int empty_default) {
  if (version.empty()) return empty_default;
  if (version == "1.0") return 0x0301;
  if (version == "1.1") return 0x0302;
  if (version == "1.2") return 0x0303;
  if (version == "1.3") return 0x0304;
  return absl::InvalidArgumentError(absl::StrCat("unsupported TLS version: \"", AV(version), "\""));
}

absl::Status ValidateTlsServerSettings(const TlsServerSettings& settings) {
  const bool cert_file = !settings.cert_file.empty();
  const bool cert_pem = !settings.cert_pem.empty();
  const bool key_file = !settings.key_file.empty();
  const bool key_pem = !settings.key_pem.empty();
  if (cert_file && cert_pem) {
    return absl::InvalidArgumentError("provide either certificate file or PEM, but not both");
  }
  if (key_file && key_pem) {
    return absl::InvalidArgumentError("provide either key file or PEM, but not both");
  }
  const bool has_cert = cert_file || cert_pem;
  const bool has_key = key_file || key_pem;
  if (has_cert != has_key) {
    return absl::InvalidArgumentError(
        "TLS configuration must include both certificate and key (CertFile/CertPem and "
        "KeyFile/KeyPem)");
  }
  if (!has_cert) {
    return absl::InvalidArgumentError(
        "TLS configuration must include both certificate and key for server connections");
  }
  auto min = ParseTlsVersion(settings.min_version, 0x0303);
  if (!min.ok()) return Annotate(min.status(), "invalid TLS min_version");
  auto max = ParseTlsVersion(settings.max_version, 0);
  if (!max.ok()) return Annotate(max.status(), "invalid TLS max_version");
  if (*max != 0 && *max < *min) {
    return absl::InvalidArgumentError(
        "invalid TLS configuration: min_version cannot be greater than max_version");
  }
  if (settings.reload_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("reload_interval must not be negative");
  }
  return absl::OkStatus();
}

}  // namespace sprout::net
