// The Collector's server-side `tls` block (configtls.ServerConfig) read into net's settings,
// shared by every collector component that listens (the otlp receiver's gRPC and HTTP
// protocols, and any later one). Keys and defaults: cert_file, cert_pem, key_file, key_pem,
// client_ca_file, client_ca_file_reload (false), min_version ("1.2"), max_version (""),
// cipher_suites ([]), reload_interval (0: never). Keys the Collector has that sprout does not
// support (ca_file/ca_pem on a server, include_system_ca_certs_pool, curve_preferences, tpm) are
// refused by name rather than silently ignored.
#pragma once

#include <optional>

#include "net/tls.h"

namespace sprout::config {
class Decoder;
}

namespace sprout::collector {

// Reads `tls` under `parent` when present (nullopt when absent or null). Errors, including the
// configtls validation messages, are recorded on the decoder under "<path>::tls".
std::optional<net::TlsServerSettings> DecodeTlsServer(config::Decoder& parent);

}  // namespace sprout::collector
