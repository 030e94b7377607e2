#include "collector/extension/health_check/health_check.h"

#include <atomic>
#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/go_duration.h"
#include "base/status.h"
#include "collector/confighttp.h"
#include "collector/extension/health_check/config.h"
#include "config/decoder.h"
#include "net/http_server.h"

namespace sprout::collector::healthcheck {
namespace {

class HealthCheck : public Component, public PipelineWatcher {
 public:
  HealthCheck(const CreateSettings& settings, const Config& config)
      : settings_(settings), config_(config) {}

  absl::Status Start(Host&) override {
    // Any method, on the I/O thread (the answer is a few bytes from memory). A path ending in
    // '/' matches its subtree, as Go's ServeMux.
    net::Router router;
    net::RouteOptions route;
    route.execution = net::RouteExecution::kInline;
    RETURN_IF_ERROR(router.Handle(
        "", config_.path,
        [this](net::HttpRequest& request, net::HttpResponse& response) {
          Handle(request, response);
        },
        route));
    AddHttpServerMiddleware(config_.http, "GET, HEAD, POST", &router);
    ASSIGN_OR_RETURN(
        server_, net::HttpServer::Start(ToHttpServerOptions(config_.http, 1), std::move(router)));
    settings_.telemetry.logger.Info("Starting health_check extension",
                                    {{"endpoint", config_.http.endpoint}, {"path", config_.path}});
    return absl::OkStatus();
  }

  int port() const { return server_ != nullptr ? server_->port() : 0; }

  absl::Status Shutdown(absl::Time deadline) override {
    if (server_ != nullptr)
      server_->Shutdown(std::max(absl::ZeroDuration(), deadline - absl::Now()));
    return absl::OkStatus();
  }

  void Ready() override {
    std::lock_guard<std::mutex> lock(mu_);
    ready_ = true;
    up_since_ = absl::Now();
    settings_.telemetry.logger.Info("Health Check state change", {{"status", "ready"}});
  }

  void NotReady() override {
    std::lock_guard<std::mutex> lock(mu_);
    ready_ = false;
    settings_.telemetry.logger.Info("Health Check state change", {{"status", "unavailable"}});
  }

 private:
  void Handle(const net::HttpRequest&, net::HttpResponse& response) {
    bool ready;
    absl::Time up_since;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ready = ready_;
      up_since = up_since_;
    }
    response.status = ready ? 200 : 503;
    if (config_.has_response_body) {
      response.body = ready ? config_.healthy_body : config_.unhealthy_body;
      return;
    }
    response.SetHeader("Content-Type", "application/json");
    if (ready) {
      const std::string since =
          absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", up_since, absl::UTCTimeZone());
      response.body =
          absl::StrCat(R"({"status":"Server available","upSince":")", since, R"(","uptime":")",
                       FormatGoDuration(absl::Now() - up_since), R"("})");
    } else {
      response.body =
          R"({"status":"Server not available","upSince":"0001-01-01T00:00:00Z","uptime":""})";
    }
  }

  CreateSettings settings_;
  Config config_;
  std::unique_ptr<net::HttpServer> server_;
  std::mutex mu_;
  bool ready_ = false;
  absl::Time up_since_;
};

class Factory : public ExtensionFactory {
 public:
  Factory() : ExtensionFactory("health_check") {}
  std::unique_ptr<ComponentConfig> CreateDefaultConfig() const override {
    return std::make_unique<Config>();
  }
  absl::StatusOr<std::unique_ptr<Component>> CreateExtension(
      const CreateSettings& settings, const ComponentConfig& config) const override {
    return std::unique_ptr<Component>(
        new HealthCheck(settings, static_cast<const Config&>(config)));
  }
};

}  // namespace

std::unique_ptr<ExtensionFactory> NewFactory() { return std::make_unique<Factory>(); }

int BoundPort(const Component& extension) {
  const auto* health_check = dynamic_cast<const HealthCheck*>(&extension);
  return health_check != nullptr ? health_check->port() : 0;
}

}  // namespace sprout::collector::healthcheck
