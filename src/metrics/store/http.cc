#include "metrics/store/http.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status.h"
#include "metrics/ingest/remote_write.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "otlp/http_export.h"

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

constexpr std::string_view kAccepted =
    "remote write accepts application/x-protobuf (proto=prometheus.WriteRequest, remote write "
    "1.0) and application/x-protobuf;proto=io.prometheus.write.v2.Request (remote write 2.0)";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (absl::ascii_tolower(static_cast<unsigned char>(a[i])) !=
        absl::ascii_tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// Remote write 2.0's content negotiation: the message from the Content-Type. No Content-Type is
// 1.0 (Prometheus's receiver reads it so); std::nullopt: unsupported (415).
std::optional<ingest::Protocol> ProtocolOf(std::string_view content_type) {
  if (Trim(content_type).empty()) return ingest::Protocol::kV1;
  size_t semi = content_type.find(';');
  if (!EqualsIgnoreCase(Trim(content_type.substr(0, semi)), "application/x-protobuf")) {
    return std::nullopt;
  }
  std::string_view proto = "prometheus.WriteRequest";
  while (semi != std::string_view::npos) {
    content_type.remove_prefix(semi + 1);
    semi = content_type.find(';');
    const std::string_view param = Trim(content_type.substr(0, semi));
    const size_t eq = param.find('=');
    if (eq == std::string_view::npos || !EqualsIgnoreCase(Trim(param.substr(0, eq)), "proto")) {
      continue;
    }
    proto = Trim(param.substr(eq + 1));
    if (proto.size() >= 2 && proto.front() == '"' && proto.back() == '"') {
      proto = proto.substr(1, proto.size() - 2);
    }
  }
  if (proto == "prometheus.WriteRequest") return ingest::Protocol::kV1;
  if (proto == "io.prometheus.write.v2.Request") return ingest::Protocol::kV2;
  return std::nullopt;
}

// Remote write 2.0's written-count headers.
void SetWrittenHeaders(net::HttpResponse& response, const PushResult& result) {
  response.SetHeader("X-Prometheus-Remote-Write-Samples-Written",
                     std::to_string(result.samples_written));
  response.SetHeader("X-Prometheus-Remote-Write-Histograms-Written",
                     std::to_string(result.histograms_written));
  response.SetHeader("X-Prometheus-Remote-Write-Exemplars-Written",
                     std::to_string(result.exemplars_written));
}

}  // namespace

absl::Status RegisterStoreRoutes(MetricsStore* store, MetricsRegistry* registry,
                                 net::Router* router) {
  net::RouteOptions options;
  options.execution = net::RouteExecution::kWorker;
  options.tenant = net::TenantPolicy::kSingle;

  auto push = [store](int success_status) -> net::HttpHandler {
    return [store, success_status](net::HttpRequest& request, net::HttpResponse& response) {
      const std::string_view content_type = request.Header("content-type");
      const std::optional<ingest::Protocol> protocol = ProtocolOf(content_type);
      if (!protocol) {
        return net::WriteHttpError(
            response, 415,
            absl::StrCat("unsupported Content-Type \"", AV(content_type), "\": ", AV(kAccepted)));
      }
      // No Content-Encoding is snappy, as Prometheus's receiver reads it (1.0 senders omitted it).
      const std::string_view encoding = Trim(request.Header("content-encoding"));
      if (!encoding.empty() && !EqualsIgnoreCase(encoding, "snappy")) {
        return net::WriteHttpError(
            response, 415,
            absl::StrCat("unsupported Content-Encoding \"", AV(encoding),
                         "\": remote write bodies are snappy-compressed (block format)"));
      }
      const bool v2 = *protocol == ingest::Protocol::kV2;
      if (request.body_too_large) {
        if (v2) SetWrittenHeaders(response, PushResult{});
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
      const PushResult result = store->Push(request.tenant, body, *protocol);
      if (v2) SetWrittenHeaders(response, result);
      if (result.ok()) {
        // Remote write 2.0: 204 on both routes (the spec's "should"); 1.0 keeps Mimir's 200 on
        // /api/v1/push.
        response.status = v2 ? 204 : success_status;
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

absl::Status RegisterOtlpRoute(MetricsStore* store, MetricsRegistry* registry, net::Router* router,
                               const OtlpRouteOptions& options) {
  net::RouteOptions route;
  route.execution = net::RouteExecution::kWorker;
  route.tenant = net::TenantPolicy::kSingle;
  auto handler = [store, translation = options.translation,
                  for_tenant = options.translation_for_tenant](net::HttpRequest& request,
                                                               net::HttpResponse& response) {
    const size_t limit = static_cast<size_t>(store->config().max_recv_msg_size);
    otlp::HttpExportBodyOptions body_options;
    body_options.max_body_size = limit;
    // As the remote-write route: Mimir's text, the size from Content-Length; once decompressed
    // the decoder stops one byte past the limit.
    body_options.too_large_message = [limit](uint64_t declared, bool decompressed) {
      const size_t size = declared > limit ? static_cast<size_t>(declared) : limit + 1;
      return ingest::MessageSizeLimitMessage(size, decompressed ? "uncompressed" : "compressed",
                                             limit);
    };
    std::optional<otlp::HttpExportBody> body =
        otlp::ReadHttpExportBody(request, response, body_options);
    if (!body.has_value()) return;
    const otlp::HttpEncoding encoding = body->encoding;
    auto batch = otlp::ParseHttpExportBody<otlp::Signal::kMetrics>(encoding, std::move(body->body));
    if (!batch.ok()) {
      return otlp::WriteHttpStatus(response, encoding, 400, absl::StatusCode::kInvalidArgument,
                                   SV(batch.status().message()));
    }
    opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceResponse answer;
    const int64_t points = batch->item_count();
    if (points == 0) return otlp::WriteHttpMessage(response, encoding, answer);
    const OtlpIngestResult result = store->IngestOtlp(
        request.tenant, batch->request(), for_tenant ? for_tenant(request.tenant) : translation);
    if (result.retryable()) {
      const bool limited = result.http_status == 429;
      return otlp::WriteHttpStatus(
          response, encoding, limited ? 429 : 503,
          limited ? absl::StatusCode::kResourceExhausted : absl::StatusCode::kUnavailable,
          result.message);
    }
    if (!result.ok()) {
      const int64_t rejected =
          result.samples_stored == 0
              ? points
              : std::min(points, result.dropped_points + result.samples_refused);
      std::vector<std::string> parts;
      if (!result.message.empty()) parts.push_back(result.message);
      parts.insert(parts.end(), result.translation_errors.begin(), result.translation_errors.end());
      answer.mutable_partial_success()->set_rejected_data_points(rejected);
      answer.mutable_partial_success()->set_error_message(absl::StrJoin(parts, "; "));
    }
    otlp::WriteHttpMessage(response, encoding, answer);
  };
  return router->Handle("POST", options.path, Counted(registry, options.path, std::move(handler)),
                        route);
}

}  // namespace sprout::metrics
