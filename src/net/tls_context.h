// OpenSSL server contexts built from net::TlsServerSettings, kept current while the server
// runs: the certificate and key are re-read every `reload_interval`, the client CA file when it
// changes (`client_ca_file_reload`). Internal to src/net (the HTTP server's TLS listener); only
// the .cc includes Asio's and OpenSSL's headers.
//
// What is checked and the messages are the Collector's (configtls): an unreadable certificate or
// key is `failed to load TLS config: failed to load TLS cert and key: open <path>: <reason>`, a
// bad one `... failed to load TLS cert and key PEMs: tls: <reason>` (e.g. `private key does not
// match public key`), an unknown cipher
// suite `failed to load TLS config: invalid TLS cipher suite: "<name>"`, an unreadable client CA
// file `failed to load CA <path>: <reason>`, one without a certificate `failed to parse CA
// <path>`.
//
// Thread-safety: Current() may be called concurrently.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "net/tls.h"

namespace boost::asio::ssl {
class context;
}

namespace sprout::net {

class TlsServerContext {
 public:
  // Loads everything once; any error fails the creation.
  static absl::StatusOr<std::unique_ptr<TlsServerContext>> Create(
      const TlsServerSettings& settings);
  ~TlsServerContext();

  // The context for a new connection. When `reload_interval` has passed since the last load (or
  // the client CA file's modification time or size changed, with client_ca_file_reload), a new
  // context is built first. A reload that fails keeps the previous context (a certificate being
  // rewritten must not take the listener down; Go's Collector fails the handshakes instead) and
  // is tried again at the next interval. Connections keep the context they started with.
  std::shared_ptr<boost::asio::ssl::context> Current();

  // How many contexts were built (1 after Create); for tests.
  int generation() const;
  // The error of the last failed reload, OK if the last attempt succeeded.
  absl::Status last_reload_error() const;

 private:
  explicit TlsServerContext(const TlsServerSettings& settings);
  absl::StatusOr<std::shared_ptr<boost::asio::ssl::context>> Build();

  const TlsServerSettings settings_;
  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> current_;
  absl::Time next_reload_ = absl::InfiniteFuture();
  absl::Time next_ca_check_ = absl::InfiniteFuture();
  std::string ca_stamp_;  // mtime and size of client_ca_file at the last load
  int generation_ = 0;
  absl::Status last_reload_error_;
};

// Go's crypto/tls.CipherSuites() names (TLS 1.0–1.3, the secure ones) → OpenSSL's cipher list
// syntax for the TLS ≤ 1.2 ones ("" for a TLS 1.3 suite, which, as in Go, is not configurable
// and is accepted and ignored). InvalidArgument `invalid TLS cipher suite: "<name>"` otherwise.
absl::StatusOr<std::string> OpenSslCipherName(std::string_view go_name);

}  // namespace sprout::net
