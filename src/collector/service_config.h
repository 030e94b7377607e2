// The whole collector configuration, decoded and validated with the Collector's rules and
// error texts (reference §1.2–1.4). Decoding builds each component's typed config through its
// factory; nothing is started and no port is opened, so `sprout validate` uses exactly this.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/logging.h"
#include "collector/component.h"
#include "collector/factory.h"
#include "yaml-cpp/node/node.h"

namespace sprout::collector {

struct PipelineID {
  Signal signal;
  std::string name;
  std::string String() const;
};

struct PipelineConfig {
  PipelineID id;
  std::vector<ComponentID> receivers;
  std::vector<ComponentID> processors;
  std::vector<ComponentID> exporters;
};

// service::telemetry
struct TelemetryConfig {
  log::Level log_level = log::Level::kInfo;
  std::string metrics_level = "normal";  // none | basic | normal | detailed
  // `address`, or a pull/prometheus reader; "" = no listener of its own (`sprout all`)
  std::string metrics_address = "localhost:8888";
  std::map<std::string, std::string> resource;  // extra resource attributes → labels
};

struct ComponentEntry {
  ComponentID id;
  const Factory* factory = nullptr;
  std::unique_ptr<ComponentConfig> config;
};

struct ServiceConfig {
  std::vector<ComponentEntry> receivers;
  std::vector<ComponentEntry> processors;
  std::vector<ComponentEntry> exporters;
  std::vector<ComponentEntry> extensions;
  std::vector<ComponentID> service_extensions;  // service::extensions, in start order
  std::vector<PipelineConfig> pipelines;
  TelemetryConfig telemetry;

  const ComponentEntry* Find(Kind kind, const ComponentID& id) const;
};

// Decodes and validates `root`. The first problem found is returned, its message naming the
// path (e.g. `service::pipelines::traces: references processor "batch" which is not
// configured`, `'receivers::otlp::protocols' has invalid keys: foo`, `receivers: unknown type:
// "foo" for id: "foo" (valid values: [otlp])`).
absl::StatusOr<ServiceConfig> DecodeServiceConfig(const YAML::Node& root,
                                                  const Factories& factories);

}  // namespace sprout::collector
