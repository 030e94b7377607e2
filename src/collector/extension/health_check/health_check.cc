#include "collector/extension/health_check/health_check.h"

#include <atomic>
#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/go_duration.h"
#include "base/status.h"
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
    net::HttpServerOptions options;
    options.endpoint = config_.endpoint;
    options.max_request_body_size = 1 << 20;
    ASSIGN_OR_RETURN(
        server_, net::HttpServer::Start(
                     options, [this](const net::HttpRequest& request, net::HttpResponse& response) {
                       Handle(request, response);
                     }));
    settings_.telemetry.logger.Info("Starting health_check extension",
                                    {{"endpoint", config_.endpoint}, {"path", config_.path}});
    return absl::OkStatus();
  }

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
  // Go's ServeMux: a pattern ending in '/' matches its whole subtree.
  bool PathMatches(const std::string& path) const {
    if (config_.path.back() == '/') return absl::StartsWith(path, config_.path);
    return path == config_.path;
  }

  void Handle(const net::HttpRequest& request, net::HttpResponse& response) {
    if (!PathMatches(request.path)) {
      response.status = 404;
      response.SetHeader("Content-Type", "text/plain; charset=utf-8");
      response.body = "404 page not found\n";
      return;
    }
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

}  // namespace sprout::collector::healthcheck
