// Tests only: a real HTTP server with the metrics API and the store's routes in front of a
// MetricsStore, and a client for it (the handler-level tests of the store share it).
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "base/status.h"
#include "metrics/api/metrics_api.h"
#include "metrics/store/http.h"
#include "metrics/store/store.h"
#include "net/http_client.h"
#include "net/http_server.h"

namespace sprout::metrics {

// Starts the server on a free loopback port (multitenancy on, default tenant `anonymous`);
// `max_request_body_size` 0 keeps the server's default. Fills the outputs, which the caller
// owns; `base` is "http://127.0.0.1:<port>".
inline absl::Status StartStoreHttp(MetricsStore* store, MetricsRegistry* registry,
                                   int64_t max_request_body_size,
                                   std::unique_ptr<api::MetricsApi>* api,
                                   std::unique_ptr<net::HttpServer>* server,
                                   std::unique_ptr<net::HttpClient>* client, std::string* base) {
  api::MetricsApiOptions api_options;
  api_options.tenants = {true, "anonymous"};
  api_options.registry = registry;
  api_options.queryable = store;
  *api = std::make_unique<api::MetricsApi>(api_options);
  net::Router router;
  RETURN_IF_ERROR((*api)->Register(&router));
  RETURN_IF_ERROR(RegisterStoreRoutes(store, registry, &router));
  net::HttpServerOptions server_options;
  server_options.endpoint = "127.0.0.1:0";
  if (max_request_body_size > 0) server_options.max_request_body_size = max_request_body_size;
  server_options.worker_threads = 2;
  ASSIGN_OR_RETURN(*server, net::HttpServer::Start(server_options, std::move(router)));
  ASSIGN_OR_RETURN(*client, net::HttpClient::Create({}));
  *base = "http://127.0.0.1:" + std::to_string((*server)->port());
  return absl::OkStatus();
}

}  // namespace sprout::metrics
