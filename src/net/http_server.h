// A small HTTP/1.1 server on Boost.Beast/Asio; the only part of Sprout that includes Beast.
//
// - Start() binds synchronously, so "address already in use" is reported to the caller before
//   anything else starts; port 0 picks a free port (see port()).
// - Keep-alive connections are served by a fixed pool of I/O threads (`threads`); the handler
//   runs on one of those threads and must not block for long. Chunked request bodies are
//   accepted. Request bodies are passed as received: Content-Encoding is the handler's job
//   (net/compression.h).
// - A request body larger than `max_request_body_size` is not read: the handler is called with
//   `body_too_large = true` and an empty body, and the connection is closed after the response.
// - Shutdown() stops accepting, lets requests already being handled finish and send their
//   response (up to `grace`), then closes every connection. It is idempotent and is called by
//   the destructor.
//
// Thread-safety: Start/Shutdown from any one thread; the handler is called concurrently from the
// I/O threads.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sprout::net {

struct HttpRequest {
  std::string method;  // as sent, e.g. "POST"
  std::string target;  // as sent, e.g. "/v1/traces?x=1"
  std::string path;    // target without the query, e.g. "/v1/traces"
  std::string query;   // after '?', without it; empty when none
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
  std::string body;
  bool body_too_large = false;
  std::string remote_address;  // "ip:port"

  // First value of header `name` (case-insensitive), or "" when absent.
  std::string_view Header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // Replaces every header named `name` (case-insensitive) by one with `value`.
  void SetHeader(std::string_view name, std::string_view value);
};

using HttpHandler = std::function<void(const HttpRequest&, HttpResponse&)>;

struct HttpServerOptions {
  std::string endpoint = "localhost:0";  // "host:port"; "" host or ":port" means all interfaces
  size_t max_request_body_size = 20 << 20;
  int threads = 1;
  absl::Duration idle_timeout = absl::ZeroDuration();  // zero: keep idle connections forever
};

class HttpServer {
 public:
  virtual ~HttpServer() = default;

  // Binds, listens and starts the I/O threads. Errors: `listen tcp <address>: <reason>` with the
  // address as resolved, like Go (e.g. "listen tcp 127.0.0.1:4318: bind: address already in use"
  // for "localhost:4318"; ":4318" stays ":4318"), or `invalid endpoint "<endpoint>": ...`.
  // "localhost" binds 127.0.0.1; an empty host binds all interfaces (dual-stack where IPv6 is
  // available). Must not be followed by Shutdown from inside the handler (it joins the threads).
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                           HttpHandler handler);

  // The bound TCP port.
  virtual int port() const = 0;
  virtual void Shutdown(absl::Duration grace) = 0;
};

// Splits "host:port" (also "[::1]:port", ":port"); an empty host stays empty.
absl::Status SplitHostPort(std::string_view endpoint, std::string* host, int* port);

}  // namespace sprout::net
