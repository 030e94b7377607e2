// A blocking HTTP/1.1 client on libcurl, for exporters that POST to a backend (Prometheus
// remote write) and, later, S3.
//
// Connections are kept alive and reused: each client holds a pool of curl easy handles, and
// every call borrows one for its duration. Calls are thread-safe and may run concurrently (one
// connection each); at most `max_idle_connections` stay open between calls. TLS uses OpenSSL
// through curl.
//
// What is sent is what the caller gives: no `Expect: 100-continue`, no default Content-Type, no
// Accept-Encoding; User-Agent from the options unless a header sets it. Redirects are not
// followed. Proxies come from the environment (http_proxy, https_proxy, no_proxy), as in Go,
// unless `proxy_url` names one. The client must outlive every call; destroying it closes the
// idle connections.
#pragma once

#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sprout::net {

struct HttpClientOptions {
  std::string ca_file;    // PEM roots; empty: the system's
  std::string cert_file;  // client certificate (mTLS)
  std::string key_file;
  bool insecure_skip_verify = false;  // do not verify the server's certificate
  std::string user_agent;
  int max_idle_connections = 16;  // pooled connections kept open between calls
  // An idle connection older than this is not reused (closed, a new one opened); zero: no limit.
  absl::Duration idle_connection_timeout = absl::Seconds(90);
  // The proxy for every call (http://, https://, socks5://...), as Go's Transport.Proxy =
  // ProxyURL: the environment's proxy variables, no_proxy included, are then not consulted.
  // Empty: from the environment.
  std::string proxy_url;
  // Response bytes kept in HttpClientResponse::body; the rest is read and dropped (so the
  // connection stays reusable). For callers that only quote the start of an error body.
  size_t max_response_body = std::numeric_limits<size_t>::max();
};

struct HttpClientResponse {
  int status = 0;  // 0 when no response arrived (see `error`)
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  // Transport error, curl's message (e.g. "Failed to connect to 127.0.0.1 port 1 after 0 ms:
  // Couldn't connect to server", "Operation timed out after 200 milliseconds with 0 bytes
  // received"), or "request canceled" after CancelAll() or Close(). Empty when `status` is set.
  std::string error;

  std::string_view Header(std::string_view name) const;  // first value, case-insensitive
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Errors (InvalidArgument, in the Collector's words) name the file for unreadable TLS
  // material, a CA file without a certificate, or a certificate without a key.
  static absl::StatusOr<std::unique_ptr<HttpClient>> Create(const HttpClientOptions& options);

  // Sends one request and waits for the whole response, at most `timeout` (zero: no limit);
  // connecting gives up after min(timeout, 30s). `body` is sent from the caller's memory without
  // a copy (any size); GET and HEAD with an empty body send none. A transport failure, including
  // a response cut short, gives status 0 and `error`, never a partial response.
  virtual HttpClientResponse Do(std::string_view method, const std::string& url,
                                const std::vector<std::pair<std::string, std::string>>& headers,
                                std::string_view body, absl::Duration timeout) = 0;

  // Makes every call in progress end now with the error "request canceled"; calls started
  // afterwards are not affected. Thread-safe; does not block on calls.
  virtual void CancelAll() = 0;

  // CancelAll(), and every later call fails at once with "request canceled", for good (used at
  // a shutdown deadline: no call, however late it starts, can outlive it). Thread-safe,
  // idempotent; does not block on calls.
  virtual void Close() = 0;
};

}  // namespace sprout::net
