// The request and response a handler of net::HttpServer sees, and the helpers an API server
// needs on them: decoded query parameters with repeated keys (`match[]`), form bodies merged as
// Go's Request.ParseForm does, path parameters from the router, the tenant, and a cancellation
// signal that fires when the client disconnects or the request's deadline passes.
//
// Ownership: the server owns both objects for the duration of the handler call. The handler may
// move anything out of the request (the body in particular: `std::move(request.body)` is how a
// body reaches a decoder without a copy).
//
// Thread-safety: a request/response pair is used by one handler at a time. Cancelled() and
// deadline() may be read from any thread; HttpResponse::Write is for the handler's thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sprout::net {

// Decoded `key=value` pairs in the order received; a key may repeat (`match[]=a&match[]=b`).
class QueryParams {
 public:
  using Entry = std::pair<std::string, std::string>;

  // First value of `key`, or "" when absent (Go's url.Values.Get).
  std::string_view Get(std::string_view key) const;
  // Every value of `key`, in order.
  std::vector<std::string_view> GetAll(std::string_view key) const;
  bool Has(std::string_view key) const;
  void Add(std::string key, std::string value) {
    entries_.emplace_back(std::move(key), std::move(value));
  }
  const std::vector<Entry>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }

 private:
  std::vector<Entry> entries_;
};

// Go's url.ParseQuery: `&`-separated pairs, `+` is a space, %XX escapes; a pair without `=`
// has an empty value; empty pairs are skipped. Every well-formed pair is kept even when another
// one fails; the first error is returned: `invalid semicolon separator in query` or
// `invalid URL escape "%zz"` (InvalidArgument).
absl::Status ParseQueryInto(std::string_view raw, QueryParams* out);
absl::StatusOr<QueryParams> ParseQuery(std::string_view raw);
// Go's url.QueryUnescape (`+` → space) and url.PathUnescape (`+` stays).
absl::StatusOr<std::string> QueryUnescape(std::string_view s);
absl::StatusOr<std::string> PathUnescape(std::string_view s);

// Why a request's cancellation fired.
enum class CancelReason : int {
  kNone = 0,
  kClientGone = 1,  // the client closed or reset the connection
  kDeadline = 2,    // the request's deadline passed
  kShutdown = 3,    // the server is shutting down and the grace period is over
};

// Shared between the server and the handler of one request.
class RequestControl {
 public:
  explicit RequestControl(absl::Time deadline = absl::InfiniteFuture()) : deadline_(deadline) {}
  bool Cancelled() const { return reason_.load(std::memory_order_acquire) != 0; }
  CancelReason reason() const { return static_cast<CancelReason>(reason_.load()); }
  absl::Time deadline() const { return deadline_; }
  // The first reason wins.
  void Cancel(CancelReason reason) {
    int expected = 0;
    reason_.compare_exchange_strong(expected, static_cast<int>(reason));
  }

 private:
  std::atomic<int> reason_{0};
  const absl::Time deadline_;
};

struct HttpRequest {
  std::string method;  // as sent, e.g. "POST"
  std::string target;  // as sent, e.g. "/v1/traces?x=1"
  std::string path;    // target without the query, still %-escaped, e.g. "/v1/traces"
  std::string query;   // after '?', without it; empty when none
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
  std::string body;
  bool body_too_large = false;
  std::string remote_address;  // "ip:port"
  bool tls = false;            // arrived over TLS

  // Filled by the router: the matched pattern ("/api/v1/label/{name}/values"), the %-decoded
  // values of its wildcards, and the tenant when the route asks for one (see Router).
  std::string_view pattern;
  std::vector<std::pair<std::string, std::string>> path_params;
  std::string tenant;
  // Filled by ParseForm().
  QueryParams form;

  // First value of header `name` (case-insensitive), or "" when absent.
  std::string_view Header(std::string_view name) const;
  // Value of the wildcard `{name}` of the matched pattern, or "" (Go's Request.PathValue).
  std::string_view PathValue(std::string_view name) const;

  // Go's Request.ParseForm: `form` gets the values of an `application/x-www-form-urlencoded`
  // body (POST, PUT and PATCH) followed by the URL's query values, so that form.Get() prefers the
  // body, as Prometheus's API expects. Safe to call twice (the second call does nothing). Errors
  // as ParseQuery; the pairs that parsed are kept.
  absl::Status ParseForm();

  // True once the client went away, the deadline passed, or the server is shutting down; a
  // long-running handler should poll it and stop. Never true for inline routes (see Router).
  bool Cancelled() const { return control != nullptr && control->Cancelled(); }
  // When the response must be complete; InfiniteFuture() when there is no deadline.
  absl::Time deadline() const {
    return control != nullptr ? control->deadline() : absl::InfiniteFuture();
  }

  std::shared_ptr<RequestControl> control;  // set by the server; may be null in tests

 private:
  bool form_parsed_ = false;
};

class HttpResponse;

namespace internal {
// Implemented by the server for requests that run on the worker pool.
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  virtual bool Write(HttpResponse& response, std::string_view data) = 0;
  virtual bool started() const = 0;

 protected:
  static void Attach(HttpResponse& response, ResponseStream* stream);
};
}  // namespace internal

class HttpResponse {
 public:
  HttpResponse() = default;
  HttpResponse(int status, std::vector<std::pair<std::string, std::string>> headers,
               std::string body)
      : status(status), headers(std::move(headers)), body(std::move(body)) {}

  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // Replaces every header named `name` (case-insensitive) by one with `value`.
  void SetHeader(std::string_view name, std::string_view value);
  // First value of header `name` (case-insensitive), or "".
  std::string_view Header(std::string_view name) const;

  // Streams the response: the first call sends the status and headers (chunked transfer
  // encoding; for HTTP/1.0 clients the connection closes at the end instead), each call sends
  // `data` as it is (gzip-compressed when the route compresses and the client accepts it) and
  // blocks until the bytes are written, so a slow client slows the handler instead of growing a
  // buffer. Returns false once the connection failed (the client reset it, the deadline passed,
  // a write failed, shutdown): stop producing. A client that only half-closed still receives
  // the stream (poll Cancelled() to stop early). `body` is ignored once streaming began.
  // On inline routes (and in tests) there is no stream: Write appends to `body` and returns true.
  bool Write(std::string_view data);
  bool streaming() const;

 private:
  friend class internal::ResponseStream;
  internal::ResponseStream* stream_ = nullptr;  // owned by the server; null when not streaming
};

using HttpHandler = std::function<void(HttpRequest&, HttpResponse&)>;

}  // namespace sprout::net
