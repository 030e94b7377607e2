// An HTTP/1.1 server on Boost.Beast/Asio (plain or TLS); the only part of Sprout that includes
// Beast. Every listener of the project uses it, so every listener gets the same protection:
//
// - Start() binds synchronously, so "address already in use" is reported to the caller before
//   anything else starts; port 0 picks a free port (see port()).
// - Keep-alive connections are served by a fixed pool of I/O threads (`threads`). Requests are
//   routed by a net::Router: a route's handler runs inline on the I/O thread (fast, must not
//   block) or on a bounded worker pool (may block; gets a deadline and a cancellation signal
//   that fires when the client disconnects; may stream its response). See http_router.h.
// - Slow or idle clients cannot hold connections: the timeouts below are Go's http.Server ones
//   (the Collector's confighttp keys) with safe defaults, and `max_connections` caps the
//   connections of one server; an excess connection is answered at once with a 503 and closed.
// - A request body larger than `max_request_body_size` is not read: the handler is called with
//   `body_too_large = true` and an empty body, and the connection is closed after the response.
//   Request bodies are passed as received (Content-Encoding is the handler's job:
//   net/compression.h) and can be moved out of the request.
// - TLS (`tls`): the Collector's configtls server settings, including mutual TLS and reloading
//   of the certificate and client CAs (net/tls.h, net/tls_context.h).
// - Shutdown() stops accepting, lets requests already being handled finish and send their
//   response (up to `grace`), then cancels what still runs and closes every connection. It is
//   idempotent and is called by the destructor.
//
// Thread-safety: Start/Shutdown from any one thread (never from a handler); handlers are called
// concurrently from the I/O threads and the worker threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "net/http_message.h"
#include "net/http_router.h"
#include "net/tls.h"

namespace sprout::net {

// The default body limit (confighttp's 20 MiB), used when max_request_body_size ≤ 0.
inline constexpr int64_t kDefaultMaxRequestBodySize = 20 << 20;

struct HttpServerOptions {
  std::string endpoint = "localhost:0";  // "host:port"; "" host or ":port" means all interfaces
  // ≤ 0: kDefaultMaxRequestBodySize (as confighttp).
  int64_t max_request_body_size = kDefaultMaxRequestBodySize;
  int threads = 1;  // I/O threads

  // Go's http.Server timeouts; zero disables one. Each request's clock starts when its first
  // byte arrives (for the first request of a connection: when the connection is accepted).
  //   read_header_timeout: the request line and headers must arrive within it (and, with TLS,
  //     the handshake); zero: read_timeout is used. A connection that times out here is closed
  //     without an answer, as Go does.
  //   read_timeout: the whole request, body included. A connection whose body stalls past it
  //     is closed without an answer (Go's handler sees a read error on a dead connection).
  //   write_timeout: from the end of the request's header to the end of its response (handler
  //     time included); a response not written by then is dropped and the connection closed.
  //     A route may set its own (RouteOptions::timeout).
  //   idle_timeout: how long a keep-alive connection may wait for its next request; zero:
  //     read_timeout is used.
  absl::Duration read_header_timeout = absl::Seconds(10);
  absl::Duration read_timeout = absl::Minutes(1);
  absl::Duration write_timeout = absl::Seconds(30);
  absl::Duration idle_timeout = absl::Minutes(2);

  // Open connections this server keeps at most; 0: no limit. A connection accepted beyond it
  // gets `503 Service Unavailable` (`Retry-After: 1`, `Connection: close`) without its request
  // being read, and is closed; over TLS it is closed at once (no handshake is spent on it).
  int max_connections = 4096;

  // TLS on every connection when set (validated by ValidateTlsServerSettings at Start).
  std::optional<TlsServerSettings> tls;

  // The worker pool for RouteExecution::kWorker routes; created only when the router has one.
  int worker_threads = 0;          // 0: the number of CPUs (at least 2)
  int max_queued_requests = 1024;  // beyond: 503 `server busy: too many requests queued`
};

class HttpServer {
 public:
  virtual ~HttpServer() = default;

  // Binds, listens and starts the I/O threads. Errors: `listen tcp <address>: <reason>` with the
  // address as resolved, like Go (e.g. "listen tcp 127.0.0.1:4318: bind: address already in use"
  // for "localhost:4318"; ":4318" stays ":4318"), `invalid endpoint "<endpoint>": ...`, or the
  // TLS loading errors of tls_context.h. "localhost" binds 127.0.0.1; an empty host binds all
  // interfaces (dual-stack where IPv6 is available).
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                           Router router);
  // One handler for every request, run inline on the I/O threads (no routing).
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                           HttpHandler handler);

  // The bound TCP port.
  virtual int port() const = 0;
  virtual void Shutdown(absl::Duration grace) = 0;
  // Connections open right now (accepted and not yet closed; refused ones not counted).
  virtual int open_connections() const = 0;
};

// Splits "host:port" (also "[::1]:port", ":port"); an empty host stays empty.
absl::Status SplitHostPort(std::string_view endpoint, std::string* host, int* port);

// Whether an Accept-Encoding value allows gzip (`gzip` or `*` with a non-zero q-value, and gzip
// not refused explicitly with q=0).
bool AcceptsGzip(std::string_view accept_encoding);

}  // namespace sprout::net
