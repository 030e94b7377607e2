// Routes HTTP requests by method and path pattern, for net::HttpServer: the seam every HTTP API
// of Sprout stands on (the collector's receivers and extensions today; the Prometheus-, Tempo-
// and Loki-compatible APIs of the stores next).
//
// Patterns follow Go 1.22's ServeMux:
//   /api/v1/query                 literal segments
//   /api/v1/label/{name}/values   `{name}` matches one segment; PathValue("name") has it decoded
//   /api/traces/{id}
//   /static/{path...}             a final `{name...}` matches the rest (possibly empty)
//   /debug/                       a final `/` matches the whole subtree ("/" matches everything)
//   /exact/{$}                    `{$}` matches only the trailing slash
// A literal segment beats a wildcard and a wildcard beats a rest match, at each position, with
// backtracking, so `/api/v1/labels` and `/api/v1/{x}` coexist. Segments are matched %-decoded.
// GET routes also answer HEAD. A path that matches no pattern gets Go's 404 (`404 page not
// found\n`); a path that matches only for other methods gets 405 `Method Not Allowed\n` with an
// `Allow` header listing them, sorted. A path with a bad %-escape gets 400. Non-canonical paths
// (`//a`, `/a/../b`) are not redirected as Go does: they simply match literally.
//
// Each route chooses where its handler runs (RouteOptions::execution): on the server's bounded
// worker pool (the default: it may block, it gets a deadline and a cancellation signal, and it
// may stream its response), or inline on the I/O thread (the hot path of the OTLP receivers:
// no thread hand-off, but it must be quick and never block).
//
// Hooks: interceptors run for every request before routing, on the I/O thread (CORS, headers
// added to every response); the auth hook and the tenant check run before a route's handler,
// where the handler runs.
//
// Thread-safety: configure the router completely, then hand it to HttpServer::Start; from then
// on it is immutable and used concurrently.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "net/http_message.h"

namespace sprout::net {

enum class RouteExecution {
  kWorker,  // on the server's worker pool: may block; deadline, cancellation, streaming
  kInline,  // on the I/O thread that read the request: fastest, must not block
};

// How a route finds the tenant (Mimir/Tempo's X-Scope-OrgID) of its requests.
enum class TenantPolicy {
  kNone,       // not looked at; request.tenant stays empty
  kSingle,     // exactly one tenant (writes)
  kFederated,  // one or more, `a|b` (queries across tenants); request.tenant is normalized
};

struct RouteOptions {
  RouteExecution execution = RouteExecution::kWorker;
  // The request's deadline, counted from the end of its header: worker handlers see Cancelled()
  // become true then, and the response must be written by then. Zero: the server's
  // write_timeout (which may itself be zero: no deadline). Long queries and streams set more.
  absl::Duration timeout = absl::ZeroDuration();
  // Compress the response with gzip when the request's Accept-Encoding allows it and the
  // handler set no Content-Encoding of its own.
  bool gzip = false;
  TenantPolicy tenant = TenantPolicy::kNone;
  // Run the router's auth hook (when it has one) before the handler.
  bool authenticate = true;
};

// Multi-tenancy as Mimir (`-auth.multitenancy-enabled`, `-auth.no-auth-tenant`) and Tempo
// (`multitenancy_enabled`, tenant "single-tenant") have it.
struct TenantConfig {
  bool multitenancy_enabled = false;
  // The tenant of every request when multi-tenancy is off ("anonymous" in Mimir,
  // "single-tenant" in Tempo).
  std::string default_tenant = "anonymous";
};

struct Route {
  std::string method;   // "" matches every method
  std::string pattern;  // as registered
  HttpHandler handler;
  RouteOptions options;
  std::vector<std::string> wildcard_names;  // in path order; "" for anonymous ones
};

class Router {
 public:
  Router();
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;

  // Registers `handler` for `method` ("" for any) and `pattern`. Errors (InvalidArgument):
  // a pattern not starting with '/', a bad wildcard (`{}`, `{a b}`, `{x...}` not last, a name
  // used twice), or the same method and pattern registered twice.
  absl::Status Handle(std::string_view method, std::string_view pattern, HttpHandler handler,
                      RouteOptions options = {});

  // Runs for every request before routing, in the order added; returns true when it answered
  // the request itself (the response is sent as it is). Runs on the I/O thread: keep it cheap.
  using Interceptor = std::function<bool(HttpRequest&, HttpResponse&)>;
  void AddInterceptor(Interceptor interceptor);

  // Authenticates a request before its handler runs (routes with `authenticate`). An error
  // answers the request instead: Unauthenticated → 401, PermissionDenied → 403, anything else
  // → 500, with the message as a `text/plain` body (Go's http.Error). The hook may fill
  // request fields (e.g. the tenant from a token).
  using AuthHook = std::function<absl::Status(HttpRequest&)>;
  void SetAuth(AuthHook hook);

  void SetTenants(TenantConfig config);
  const TenantConfig& tenants() const;

  // --- used by the server (and tests) ---

  struct Match {
    const Route* route = nullptr;  // null: answer `status` (404, 405 or 400)
    int status = 200;
    std::string allow;  // for 405: "GET, HEAD, POST"
  };
  // Finds the route for `method` and `path` (still %-escaped) and fills `params` with the
  // decoded wildcard values.
  Match Find(std::string_view method, std::string_view path,
             std::vector<std::pair<std::string, std::string>>* params) const;

  // Whether any route runs on the worker pool (the server creates the pool only then).
  bool HasWorkerRoutes() const;
  // Runs the interceptors; true when one of them answered.
  bool Intercept(HttpRequest& request, HttpResponse& response) const;
  // The auth hook and the tenant check for `route`, then its handler. Exceptions propagate.
  void Serve(const Route& route, HttpRequest& request, HttpResponse& response) const;
  // Fills the response Go gives when no route matched (Match::status 404, 405 or 400).
  static void WriteNoRoute(const Match& match, HttpResponse& response);

  struct Node;  // implementation detail (the pattern tree)

 private:
  std::unique_ptr<Node> root_;
  std::vector<std::unique_ptr<Route>> routes_;
  std::vector<Interceptor> interceptors_;
  AuthHook auth_;
  TenantConfig tenants_;
};

// Go's http.Error: `text/plain; charset=utf-8`, `X-Content-Type-Options: nosniff`, the message
// and a newline.
void WriteHttpError(HttpResponse& response, int status, std::string_view message);

// The handler of a readiness endpoint (`/ready`): 200 `ready` while `ready()` is true, else 503
// `not ready` (text/plain), as Tempo, Mimir and every sprout server answer it.
HttpHandler ReadinessHandler(std::function<bool()> ready);

}  // namespace sprout::net
