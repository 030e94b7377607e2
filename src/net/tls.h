// Server-side TLS settings, as the Collector's configtls.ServerConfig has them. One struct for
// every listener Sprout has (the HTTP server and the gRPC server), so that each store and each
// receiver inherits TLS by passing it through. Decoding the Collector's YAML keys into it is the
// collector's job (collector/configtls.h); the stores map their own keys (Tempo's, Mimir's) onto
// the same struct.
//
// Plain data; thread-compatible.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sprout::net {

struct TlsServerSettings {
  // The server's certificate chain and private key, as a file or as PEM text (one of each).
  std::string cert_file;
  std::string cert_pem;
  std::string key_file;
  std::string key_pem;
  // Set: mutual TLS. Clients must present a certificate that chains to one of these CAs
  // (Go: ClientAuth = RequireAndVerifyClientCert).
  std::string client_ca_file;
  bool client_ca_file_reload = false;  // re-read client_ca_file when it changes
  // "1.0", "1.1", "1.2", "1.3"; an empty max_version means the newest the library supports.
  std::string min_version = "1.2";
  std::string max_version;
  // IANA names (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, ...); empty: the library's safe default.
  std::vector<std::string> cipher_suites;
  // Zero: the certificate and key are read once at start; otherwise re-read at this interval,
  // so a renewed certificate is served without a restart (new connections only).
  absl::Duration reload_interval = absl::ZeroDuration();
};

// Checks what can be checked without reading files: versions known and ordered, a certificate
// and a key given (each as a file or as PEM, not both). Messages are the Collector's configtls
// ones, e.g. "invalid TLS min_version: unsupported TLS version: \"1.5\"".
absl::Status ValidateTlsServerSettings(const TlsServerSettings& settings);

// "1.0" → 0x0301 ... "1.3" → 0x0304 (the protocol's version numbers, as OpenSSL's
// TLS1_x_VERSION); "" → `empty_default`. InvalidArgument `unsupported TLS version: "<v>"`.
absl::StatusOr<int> ParseTlsVersion(std::string_view version, int empty_default);

}  // namespace sprout::net
