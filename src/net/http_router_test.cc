#include "net/http_router.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sprout::net {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

HttpHandler Named(std::string name) {
  return [name](HttpRequest&, HttpResponse& response) { response.body = name; };
}

// Registers every route or fails the test.
void Add(Router& router, std::string_view method, std::string_view pattern,
         RouteOptions options = {}) {
  absl::Status status = router.Handle(
      method, pattern, Named(std::string(method) + " " + std::string(pattern)), options);
  ASSERT_TRUE(status.ok()) << status;
}

// The body the matched route writes, or the error status.
std::string Route(const Router& router, std::string_view method, std::string_view path,
                  std::vector<std::pair<std::string, std::string>>* params = nullptr) {
  std::vector<std::pair<std::string, std::string>> local;
  Router::Match m = router.Find(method, path, params != nullptr ? params : &local);
  if (m.route == nullptr) return absl::StrCat(m.status, m.allow.empty() ? "" : " ", m.allow);

  HttpRequest request;
  HttpResponse response;
  m.route->handler(request, response);
  return response.body;
}

TEST(RouterTest, PrometheusStylePatterns) {
  Router r;
  Add(r, "GET", "/api/v1/query");
  Add(r, "POST", "/api/v1/query");
  Add(r, "GET", "/api/v1/labels");
  Add(r, "GET", "/api/v1/label/{name}/values");
  Add(r, "GET", "/api/v1/{anything}");
  Add(r, "GET", "/api/traces/{id}");
  EXPECT_EQ(Route(r, "GET", "/api/v1/query"), "GET /api/v1/query");
  EXPECT_EQ(Route(r, "POST", "/api/v1/query"), "POST /api/v1/query");
  EXPECT_EQ(Route(r, "GET", "/api/v1/labels"), "GET /api/v1/labels");  // literal beats {x}
  EXPECT_EQ(Route(r, "GET", "/api/v1/series"), "GET /api/v1/{anything}");
  std::vector<std::pair<std::string, std::string>> params;
  EXPECT_EQ(Route(r, "GET", "/api/v1/label/job/values", &params),
            "GET /api/v1/label/{name}/values");
  EXPECT_THAT(params, ElementsAre(Pair("name", "job")));
  EXPECT_EQ(Route(r, "GET", "/api/traces/0af7651916cd43dd8448eb211c80319c", &params),
            "GET /api/traces/{id}");
  EXPECT_THAT(params, ElementsAre(Pair("id", "0af7651916cd43dd8448eb211c80319c")));
}

TEST(RouterTest, NotFoundAndMethodNotAllowedAsGo) {
  Router r;
  Add(r, "POST", "/v1/traces");
  Add(r, "GET", "/api/v1/query");
  Add(r, "POST", "/api/v1/query");
  Add(r, "DELETE", "/api/v1/admin/{x}");
  EXPECT_EQ(Route(r, "GET", "/v1/traces"), "405 POST");
  EXPECT_EQ(Route(r, "PUT", "/api/v1/query"), "405 GET, HEAD, POST");
  EXPECT_EQ(Route(r, "GET", "/api/v1/admin/tsdb"), "405 DELETE");
  EXPECT_EQ(Route(r, "GET", "/nope"), "404");
  EXPECT_EQ(Route(r, "POST", "/v1/traces/extra"), "404");
  EXPECT_EQ(Route(r, "HEAD", "/api/v1/query"), "GET /api/v1/query");  // GET answers HEAD

  HttpResponse response;
  Router::WriteNoRoute(r.Find("PUT", "/api/v1/query", nullptr), response);
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.body, "Method Not Allowed\n");
  EXPECT_EQ(response.Header("Allow"), "GET, HEAD, POST");
  EXPECT_EQ(response.Header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(response.Header("X-Content-Type-Options"), "nosniff");
  HttpResponse not_found;
  Router::WriteNoRoute(r.Find("GET", "/nope", nullptr), not_found);
  EXPECT_EQ(not_found.status, 404);
  EXPECT_EQ(not_found.body, "404 page not found\n");
}

TEST(RouterTest, RestWildcardsAndTrailingSlash) {
  Router r;
  Add(r, "GET", "/static/{path...}");
  Add(r, "", "/debug/");
  Add(r, "GET", "/exact/{$}");
  std::vector<std::pair<std::string, std::string>> params;
  EXPECT_EQ(Route(r, "GET", "/static/css/a.css", &params), "GET /static/{path...}");
  EXPECT_THAT(params, ElementsAre(Pair("path", "css/a.css")));
  EXPECT_EQ(Route(r, "GET", "/static/", &params), "GET /static/{path...}");
  EXPECT_THAT(params, ElementsAre(Pair("path", "")));
  EXPECT_EQ(Route(r, "GET", "/static"), "404");
  EXPECT_EQ(Route(r, "PATCH", "/debug/pprof/heap"), " /debug/");  // any method
  EXPECT_EQ(Route(r, "GET", "/debug/"), " /debug/");
  EXPECT_EQ(Route(r, "GET", "/exact/"), "GET /exact/{$}");
  EXPECT_EQ(Route(r, "GET", "/exact/more"), "404");

  Router root;
  Add(root, "", "/");  // everything
  EXPECT_EQ(Route(root, "GET", "/"), " /");
  EXPECT_EQ(Route(root, "POST", "/a/b/c"), " /");
  EXPECT_EQ(Route(root, "OPTIONS", "*"), " /");
}

TEST(RouterTest, SegmentsMatchDecoded) {
  Router r;
  Add(r, "GET", "/api/v1/label/{name}/values");
  Add(r, "GET", "/a b");
  std::vector<std::pair<std::string, std::string>> params;
  EXPECT_EQ(Route(r, "GET", "/api/v1/label/a%2Fb/values", &params),
            "GET /api/v1/label/{name}/values");
  EXPECT_THAT(params, ElementsAre(Pair("name", "a/b")));  // %2F stays inside the segment
  EXPECT_EQ(Route(r, "GET", "/a%20b"), "GET /a b");
  EXPECT_EQ(Route(r, "GET", "/a%zzb"), "400");
}

TEST(RouterTest, BacktracksToALessSpecificPatternForTheMethod) {
  Router r;
  Add(r, "POST", "/api/v1/query");
  Add(r, "GET", "/api/v1/{x}");
  EXPECT_EQ(Route(r, "GET", "/api/v1/query"), "GET /api/v1/{x}");
}

TEST(RouterTest, RejectsBadPatterns) {
  Router r;
  auto handler = Named("x");
  EXPECT_EQ(r.Handle("GET", "api", handler).message(), "parsing \"api\": path must start with '/'");
  EXPECT_FALSE(r.Handle("GET", "/a/{}", handler).ok());
  EXPECT_FALSE(r.Handle("GET", "/a/{x y}", handler).ok());
  EXPECT_FALSE(r.Handle("GET", "/a/{x", handler).ok());
  EXPECT_FALSE(r.Handle("GET", "/a/x{y}", handler).ok());
  EXPECT_FALSE(r.Handle("GET", "/a/{rest...}/b", handler).ok());
  EXPECT_EQ(r.Handle("GET", "/a/{x}/{x}", handler).message(),
            "parsing \"/a/{x}/{x}\": duplicate wildcard name \"x\"");
  EXPECT_TRUE(r.Handle("GET", "/a/{x}", handler).ok());
  EXPECT_EQ(r.Handle("GET", "/a/{x}", handler).message(),
            "pattern \"GET /a/{x}\" conflicts with pattern \"GET /a/{x}\"");
  EXPECT_TRUE(r.Handle("POST", "/a/{x}", handler).ok());
  EXPECT_EQ(r.Handle("GET", "/b", nullptr).message(), "http: nil handler");
}

TEST(RouterTest, ServeRunsAuthThenTenantThenHandler) {
  Router r;
  RouteOptions with_tenant;
  with_tenant.tenant = TenantPolicy::kSingle;
  Add(r, "POST", "/api/v1/push", with_tenant);
  RouteOptions federated = with_tenant;
  federated.tenant = TenantPolicy::kFederated;
  Add(r, "GET", "/api/v1/query", federated);
  RouteOptions open;
  open.authenticate = false;
  Add(r, "GET", "/ready", open);

  auto serve = [&](std::string_view method, std::string_view path,
                   std::vector<std::pair<std::string, std::string>> headers, std::string* tenant) {
    HttpRequest request;
    request.method = std::string(method);
    request.headers = std::move(headers);
    HttpResponse response;
    Router::Match m = r.Find(method, path, &request.path_params);
    EXPECT_NE(m.route, nullptr);
    r.Serve(*m.route, request, response);
    if (tenant != nullptr) *tenant = request.tenant;
    return response;
  };

  // Multi-tenancy off: every request gets the default tenant.
  std::string tenant;
  HttpResponse res = serve("POST", "/api/v1/push", {}, &tenant);
  EXPECT_EQ(res.body, "POST /api/v1/push");
  EXPECT_EQ(tenant, "anonymous");

  r.SetTenants(TenantConfig{true, ""});
  res = serve("POST", "/api/v1/push", {}, nullptr);
  EXPECT_EQ(res.status, 401);
  EXPECT_EQ(res.body, "no org id\n");
  res = serve("POST", "/api/v1/push", {{"x-scope-orgid", "a|b"}}, nullptr);
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(res.body, "multiple org IDs present\n");
  res = serve("GET", "/api/v1/query", {{"x-scope-orgid", "b|a"}}, &tenant);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(tenant, "a|b");

  r.SetAuth([](HttpRequest& request) -> absl::Status {
    std::string_view auth = request.Header("authorization");
    if (auth.empty()) return absl::UnauthenticatedError("missing credentials");
    if (auth != "Bearer good") return absl::PermissionDeniedError("not allowed");
    request.tenant = "from-token";
    return absl::OkStatus();
  });
  res = serve("POST", "/api/v1/push", {{"x-scope-orgid", "a"}}, nullptr);
  EXPECT_EQ(res.status, 401);
  EXPECT_EQ(res.body, "missing credentials\n");
  res = serve("POST", "/api/v1/push", {{"authorization", "Bearer bad"}}, nullptr);
  EXPECT_EQ(res.status, 403);
  res = serve("POST", "/api/v1/push", {{"authorization", "Bearer good"}}, &tenant);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(tenant, "from-token");            // set by the auth hook; the header is not needed
  res = serve("GET", "/ready", {}, nullptr);  // a route without authentication
  EXPECT_EQ(res.status, 200);
}

TEST(RouterTest, InterceptorsRunInOrderAndMayAnswer) {
  Router r;
  Add(r, "GET", "/x");
  r.AddInterceptor([](HttpRequest&, HttpResponse& response) {
    response.SetHeader("X-Added", "1");
    return false;
  });
  r.AddInterceptor([](HttpRequest& request, HttpResponse& response) {
    if (request.method != "OPTIONS") return false;
    response.status = 204;
    return true;
  });
  HttpRequest get;
  get.method = "GET";
  HttpResponse res;
  EXPECT_FALSE(r.Intercept(get, res));
  EXPECT_EQ(res.Header("X-Added"), "1");
  HttpRequest options;
  options.method = "OPTIONS";
  HttpResponse preflight;
  EXPECT_TRUE(r.Intercept(options, preflight));
  EXPECT_EQ(preflight.status, 204);
  EXPECT_EQ(preflight.Header("X-Added"), "1");
}

TEST(RouterTest, HasWorkerRoutes) {
  Router r;
  RouteOptions inline_route;
  inline_route.execution = RouteExecution::kInline;
  Add(r, "POST", "/v1/traces", inline_route);
  EXPECT_FALSE(r.HasWorkerRoutes());
  Add(r, "GET", "/api/v1/query");
  EXPECT_TRUE(r.HasWorkerRoutes());
}

}  // namespace
}  // namespace sprout::net
