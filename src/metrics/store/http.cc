#include "metrics/store/http.h"

#include <cstdint>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "base/status.h"
#include "metrics/ingest/remote_write.h"

namespace sprout::metrics {
namespace {

net::HttpHandler Counted(MetricsRegistry* registry, std::string route, net::HttpHandler handler) {
  return [registry, route = std::move(route), handler = std::move(handler)](
             net::HttpRequest& request, net::HttpResponse& response) {
    handler(request, response);
    if (registry == nullptr) return;
    registry
        ->GetCounter("sprout_metrics_http_requests_total",
                     "HTTP requests answered by sprout metrics.",
                     {{"method", request.method},
                      {"route", route},
                      {"status_code", std::to_string(response.status)}})
        ->Increment();
  };
}

}  // namespace

absl::Status RegisterStoreRoutes(MetricsStore* store, MetricsRegistry* registry,
                                 net::Router* router) {
  net::RouteOptions options;
  options.execution = net::RouteExecution::kWorker;
  options.tenant = net::TenantPolicy::kSingle;

  auto push = [store](int success_status) -> net::HttpHandler {
    return [store, success_status](net::HttpRequest& request, net::HttpResponse& response) {
      if (request.body_too_large) {
        const uint64_t limit = static_cast<uint64_t>(store->config().max_recv_msg_size);
        uint64_t size = limit + 1;
        if (uint64_t declared = 0;
            absl::SimpleAtoi(AV(request.Header("content-length")), &declared) && declared > limit) {
          size = declared;
        }
        return net::WriteHttpError(response, 400,
                                   ingest::MessageSizeLimitMessage(size, "compressed", limit));
      }
      const std::string body = std::move(request.body);
      const PushResult result = store->Push(request.tenant, body);
      if (result.ok()) {
        response.status = success_status;
        return;
      }
      net::WriteHttpError(response, result.http_status, result.message);
    };
  };
  RETURN_IF_ERROR(router->Handle("POST", "/api/v1/push",
                                 Counted(registry, "/api/v1/push", push(200)), options));
  RETURN_IF_ERROR(router->Handle("POST", "/api/v1/write",
                                 Counted(registry, "/api/v1/write", push(204)), options));

  auto read = [store](net::HttpRequest& request, net::HttpResponse& response) {
    if (request.body_too_large) {
      return net::WriteHttpError(response, 400, "http: request body too large");
    }
    ReadResult result = store->RemoteRead(request.tenant, request.body);
    if (result.http_status != 200) {
      return net::WriteHttpError(response, result.http_status, result.body);
    }
    response.status = 200;
    response.SetHeader("Content-Type", "application/x-protobuf");
    response.SetHeader("Content-Encoding", "snappy");
    response.body = std::move(result.body);
  };
  for (const char* prefix : {"", "/prometheus"}) {
    const std::string pattern = std::string(prefix) + "/api/v1/read";
    RETURN_IF_ERROR(router->Handle("POST", pattern, Counted(registry, pattern, read), options));
  }
  // Mimir's flush endpoint: cuts every head (or those named by `tenant` parameters) into
  // blocks, open chunks included. 204 once done with wait=true, at once otherwise (the flush
  // runs on the cutting job's thread); 400 for a query that does not parse, as Mimir. Sprout's
  // own: 500 with the error when a waited-for flush failed (Mimir only logs it).
  net::RouteOptions admin = options;
  admin.tenant = net::TenantPolicy::kNone;
  auto flush = [store](net::HttpRequest& request, net::HttpResponse& response) {
    if (!request.ParseForm().ok()) {
      response.status = 400;
      return;
    }
    std::vector<std::string> tenants;
    for (std::string_view t : request.form.GetAll("tenant")) tenants.emplace_back(t);
    if (request.form.Get("wait") == "true") {
      if (absl::Status s = store->Flush(tenants); !s.ok()) {
        return net::WriteHttpError(response, 500, std::string(s.message()));
      }
    } else {
      store->RequestFlush(std::move(tenants));
    }
    response.status = 204;
  };
  for (const char* method : {"GET", "POST"}) {
    RETURN_IF_ERROR(router->Handle(method, "/ingester/flush",
                                   Counted(registry, "/ingester/flush", flush), admin));
  }
  return absl::OkStatus();
}

}  // namespace sprout::metrics
