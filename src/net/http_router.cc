#include "net/http_router.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/container/inlined_vector.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status.h"
#include "net/tenant.h"

namespace sprout::net {

// One position of the pattern tree. A route ends at a node (`routes`), or at the node's `rest`
// wildcard (`rest_routes`), which matches every remaining segment.
struct Router::Node {
  std::map<std::string, std::unique_ptr<Node>, std::less<>> literals;
  std::unique_ptr<Node> wildcard;  // `{name}`
  std::vector<const Route*> routes;
  std::vector<const Route*> rest_routes;  // `{name...}` or a trailing '/'
};

namespace {

// A path split at '/', without the leading one: "/" → [""], "/a/b/" → ["a", "b", ""].
using Segments = absl::InlinedVector<std::string_view, 8>;

Segments Split(std::string_view path) {
  Segments out;
  if (!path.empty() && path[0] == '/') path.remove_prefix(1);
  for (;;) {
    const size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool ValidWildcardName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    const bool ok = c == '_' || absl::ascii_isalpha(c) || (i > 0 && absl::ascii_isdigit(c));
    if (!ok) return false;
  }
  return true;
}

// The routes at a leaf that accept `method`: exact method, then GET for HEAD, then "any".
const Route* PickMethod(const std::vector<const Route*>& routes, std::string_view method) {
  const Route* any = nullptr;
  const Route* get = nullptr;
  for (const Route* r : routes) {
    if (r->method == method) return r;
    if (r->method.empty()) any = r;
    if (r->method == "GET") get = r;
  }
  if (method == "HEAD" && get != nullptr) return get;
  return any;
}

void CollectMethods(const std::vector<const Route*>& routes, std::set<std::string>* methods) {
  for (const Route* r : routes) {
    methods->insert(r->method);
    if (r->method == "GET") methods->insert("HEAD");
  }
}

// Depth-first match: literal, then `{name}`, then the rest wildcard. `values` collects the
// wildcard values in path order. With `methods`, collects the methods of every route whose
// pattern matches the path instead of stopping at the first match.
struct Matcher {
  const Segments& segments;
  std::string_view method;
  std::vector<std::string_view> values;
  std::set<std::string>* methods = nullptr;
  std::string rest_value;  // storage for the rest wildcard's value

  const Route* Run(const Router::Node* node, size_t i) {
    if (i == segments.size()) {
      if (methods != nullptr) {
        CollectMethods(node->routes, methods);
        return nullptr;
      }
      return PickMethod(node->routes, method);
    }
    if (auto it = node->literals.find(segments[i]); it != node->literals.end()) {
      if (const Route* r = Run(it->second.get(), i + 1)) return r;
    }
    if (node->wildcard != nullptr) {
      values.push_back(segments[i]);
      if (const Route* r = Run(node->wildcard.get(), i + 1)) return r;
      values.pop_back();
    }
    if (!node->rest_routes.empty()) {
      if (methods != nullptr) {
        CollectMethods(node->rest_routes, methods);
        return nullptr;
      }
      if (const Route* r = PickMethod(node->rest_routes, method)) {
        // The remaining segments, joined again: "a/b/" for /x/{rest...} and /x/a/b/.
        rest_value.clear();
        for (size_t k = i; k < segments.size(); ++k) {
          if (k > i) rest_value.push_back('/');
          rest_value.append(segments[k]);
        }
        values.push_back(rest_value);
        return r;
      }
    }
    return nullptr;
  }
};

}  // namespace

void WriteHttpError(HttpResponse& response, int status, std::string_view message) {
  response.status = status;
  response.SetHeader("Content-Type", "text/plain; charset=utf-8");
  response.SetHeader("X-Content-Type-Options", "nosniff");
  response.body = absl::StrCat(AV(message), "\n");
}

Router::Router() : root_(std::make_unique<Node>()) {}
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

HttpHandler ReadinessHandler(std::function<bool()> ready) {
  return [ready = std::move(ready)](HttpRequest&, HttpResponse& response) {
    const bool is_ready = ready();
    response.status = is_ready ? 200 : 503;
    response.SetHeader("Content-Type", "text/plain; charset=utf-8");
    response.body = is_ready ? "ready" : "not ready";
  };
}

absl::Status Router::Handle(std::string_view method, std::string_view pattern, HttpHandler handler,
                            RouteOptions options) {
  auto fail = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("parsing \"", AV(pattern), "\": ", AV(why)));
  };
  if (pattern.empty() || pattern[0] != '/') return fail("path must start with '/'");
  if (!handler) return absl::InvalidArgumentError("http: nil handler");
  auto route = std::make_unique<Route>();
  route->method = std::string(method);
  route->pattern = std::string(pattern);
  route->handler = std::move(handler);
  route->options = options;

  Segments segments = Split(pattern);
  Node* node = root_.get();
  bool rest = false;
  std::set<std::string> names;
  for (size_t i = 0; i < segments.size(); ++i) {
    std::string_view seg = segments[i];
    const bool last = i + 1 == segments.size();
    if (last && seg.empty()) {
      // A trailing '/' (or the pattern "/"): the anonymous rest wildcard.
      route->wildcard_names.emplace_back();
      rest = true;
      break;
    }
    if (!seg.empty() && seg.front() == '{') {
      if (seg.back() != '}') return fail("bad wildcard segment (must end with '}')");
      std::string_view name = seg.substr(1, seg.size() - 2);
      if (name == "$") {
        if (!last) return fail("{$} not at end");
        // Exactly the trailing slash: the literal empty segment.
        auto& child = node->literals[""];
        if (child == nullptr) child = std::make_unique<Node>();
        node = child.get();
        continue;
      }
      const bool multi = name.size() > 3 && name.substr(name.size() - 3) == "...";
      if (multi) name.remove_suffix(3);
      if (!ValidWildcardName(name)) {
        return fail(absl::StrCat("bad wildcard name \"", AV(name), "\""));
      }
      if (!names.insert(std::string(name)).second) {
        return fail(absl::StrCat("duplicate wildcard name \"", AV(name), "\""));
      }
      route->wildcard_names.emplace_back(name);
      if (multi) {
        if (!last) return fail("{...} wildcard not at end");
        rest = true;
        break;
      }
      if (node->wildcard == nullptr) node->wildcard = std::make_unique<Node>();
      node = node->wildcard.get();
      continue;
    }
    if (seg.find('{') != std::string_view::npos || seg.find('}') != std::string_view::npos) {
      return fail("bad wildcard segment (must be a whole segment)");
    }
    auto decoded = PathUnescape(seg);
    if (!decoded.ok()) return fail(SV(decoded.status().message()));
    auto& child = node->literals[*decoded];
    if (child == nullptr) child = std::make_unique<Node>();
    node = child.get();
  }
  std::vector<const Route*>& leaf = rest ? node->rest_routes : node->routes;
  for (const Route* existing : leaf) {
    if (existing->method == route->method) {
      return absl::InvalidArgumentError(absl::StrCat(
          "pattern \"", route->method.empty() ? "" : route->method + " ", AV(pattern),
          "\" conflicts with pattern \"", existing->method.empty() ? "" : existing->method + " ",
          existing->pattern, "\""));
    }
  }
  leaf.push_back(route.get());
  routes_.push_back(std::move(route));
  return absl::OkStatus();
}

void Router::AddInterceptor(Interceptor interceptor) {
  interceptors_.push_back(std::move(interceptor));
}
void Router::SetAuth(AuthHook hook) { auth_ = std::move(hook); }
void Router::SetTenants(TenantConfig config) { tenants_ = std::move(config); }
const TenantConfig& Router::tenants() const { return tenants_; }

Router::Match Router::Find(std::string_view method, std::string_view path,
                           std::vector<std::pair<std::string, std::string>>* params) const {
  Match match;
  Segments segments = Split(path);
  // Segments with escapes are matched decoded; the storage outlives the matcher.
  absl::InlinedVector<std::string, 2> decoded;
  if (path.find('%') != std::string_view::npos) {
    decoded.reserve(segments.size());
    for (std::string_view& seg : segments) {
      if (seg.find('%') == std::string_view::npos) continue;
      auto d = PathUnescape(seg);
      if (!d.ok()) {
        match.status = 400;
        return match;
      }
      decoded.push_back(std::move(*d));
      seg = decoded.back();
    }
  }
  Matcher matcher{segments, method, {}, nullptr, {}};
  const Route* route = matcher.Run(root_.get(), 0);
  if (route != nullptr) {
    match.route = route;
    if (params != nullptr && !route->wildcard_names.empty()) {
      params->clear();
      for (size_t i = 0; i < route->wildcard_names.size() && i < matcher.values.size(); ++i) {
        if (route->wildcard_names[i].empty()) continue;
        params->emplace_back(route->wildcard_names[i], std::string(matcher.values[i]));
      }
    }
    return match;
  }
  std::set<std::string> methods;
  Matcher collector{segments, method, {}, &methods, {}};
  collector.Run(root_.get(), 0);
  if (methods.empty()) {
    match.status = 404;
    return match;
  }
  match.status = 405;
  methods.erase("");  // an any-method route would have matched
  match.allow = absl::StrJoin(methods, ", ");
  return match;
}

bool Router::HasWorkerRoutes() const {
  return std::any_of(routes_.begin(), routes_.end(), [](const std::unique_ptr<Route>& r) {
    return r->options.execution == RouteExecution::kWorker;
  });
}

bool Router::Intercept(HttpRequest& request, HttpResponse& response) const {
  for (const Interceptor& interceptor : interceptors_) {
    if (interceptor(request, response)) return true;
  }
  return false;
}

void Router::Serve(const Route& route, HttpRequest& request, HttpResponse& response) const {
  if (auth_ && route.options.authenticate) {
    absl::Status status = auth_(request);
    if (!status.ok()) {
      const int code = status.code() == absl::StatusCode::kUnauthenticated    ? 401
                       : status.code() == absl::StatusCode::kPermissionDenied ? 403
                                                                              : 500;
      WriteHttpError(response, code, SV(status.message()));
      return;
    }
  }
  if (route.options.tenant != TenantPolicy::kNone && request.tenant.empty()) {
    if (!tenants_.multitenancy_enabled) {
      request.tenant = tenants_.default_tenant;
    } else {
      auto tenant = TenantFromOrgId(request.Header(kOrgIdHeader),
                                    route.options.tenant == TenantPolicy::kFederated);
      if (!tenant.ok()) {
        WriteHttpError(response,
                       tenant.status().code() == absl::StatusCode::kUnauthenticated ? 401 : 400,
                       SV(tenant.status().message()));
        return;
      }
      request.tenant = std::move(*tenant);
    }
  }
  route.handler(request, response);
}

void Router::WriteNoRoute(const Match& match, HttpResponse& response) {
  if (match.status == 405) {
    response.SetHeader("Allow", match.allow);
    WriteHttpError(response, 405, "Method Not Allowed");
  } else if (match.status == 400) {
    WriteHttpError(response, 400, "400 Bad Request");
  } else {
    WriteHttpError(response, 404, "404 page not found");
  }
}

}  // namespace sprout::net
