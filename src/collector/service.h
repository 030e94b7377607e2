// The running collector: every component of a validated configuration, wired into pipelines,
// plus internal telemetry.
//
// Start order (as the Collector): internal telemetry, extensions, exporters, processors (last
// to first in each pipeline), receivers; then extensions that watch the pipelines (health_check)
// are told Ready. Shutdown reverses it: NotReady first, receivers (so nothing new arrives),
// processors (flushing what they hold), exporters (draining their queues, bounded by
// `shutdown_timeout`), extensions, telemetry.
//
// Thread-safety: Start() and Shutdown() from one thread; data flows on the receivers' threads.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/logging.h"
#include "base/metrics.h"
#include "collector/component.h"
#include "collector/service_config.h"

namespace sprout::net {
class HttpServer;
}

namespace sprout::collector {

struct ServiceSettings {
  std::string build_version;
  absl::Duration shutdown_timeout = absl::Seconds(30);
  log::Logger logger;
};

class Service : public Host {
 public:
  // Builds every component used by a pipeline or listed in service::extensions; nothing runs yet.
  static absl::StatusOr<std::unique_ptr<Service>> Create(ServiceConfig config,
                                                         const ServiceSettings& settings);
  ~Service() override;

  absl::Status Start();
  void Shutdown();

  Component* GetExtension(const ComponentID& id) const override;
  MetricsRegistry& metrics() { return *metrics_; }
  // The bound address of the internal telemetry endpoint (empty when off).
  std::string telemetry_address() const;

 private:
  struct Built {
    ComponentID id;
    Kind kind;
    std::shared_ptr<Component> component;
    const char* signal = nullptr;  // exporters and processors: the pipeline signal
  };
  Service(ServiceConfig config, const ServiceSettings& settings);
  template <Signal S>
  absl::Status BuildSignal(std::vector<std::shared_ptr<Consumer<S>>>* heads_by_receiver_index);
  absl::Status Build();
  TelemetrySettings TelemetryFor(const ComponentID& id, Kind kind, const char* signal) const;
  absl::Status StartTelemetry();

  ServiceConfig config_;
  ServiceSettings settings_;
  std::unique_ptr<MetricsRegistry> metrics_;
  std::unique_ptr<net::HttpServer> telemetry_server_;
  std::vector<Built> extensions_;
  std::vector<Built> exporters_;
  std::vector<Built> processors_;  // start order: last processor of each pipeline first
  std::vector<Built> receivers_;
  std::vector<Built> started_;  // in start order, for a partial start's rollback
  absl::Time start_time_;
  bool shut_down_ = false;
};

}  // namespace sprout::collector
