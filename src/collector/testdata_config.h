// Test helper: a component's testdata/config.yaml (a whole collector configuration), decoded with
// the built-in factories as `sprout validate` would, and one entry's typed config from it. Every
// component folder keeps such a file with each of its keys set, and a test that loads it.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "collector/components.h"
#include "collector/service_config.h"
#include "config/config.h"

namespace sprout::collector::testing {

// `component_dir` relative to src/collector, e.g. "processor/batch".
inline absl::StatusOr<ServiceConfig> LoadTestdataConfig(std::string_view component_dir) {
  const std::string path = std::string(SPROUT_COLLECTOR_SOURCE_DIR) + "/" +
                           std::string(component_dir) + "/testdata/config.yaml";
  std::ifstream file(path);
  if (!file) return absl::NotFoundError("cannot open " + path);
  std::stringstream text;
  text << file.rdbuf();
  auto root = config::ParseYaml(text.str(), path);
  if (!root.ok()) return root.status();
  static const Factories* factories = new Factories(BuiltinFactories());
  return DecodeServiceConfig(*root, *factories);
}

// The typed config of entry `id` of `kind` (the test fails when it is missing).
template <typename Config>
const Config& ConfigOf(const ServiceConfig& service, Kind kind, std::string_view id) {
  const ComponentEntry* entry = service.Find(kind, *ComponentID::Parse(id));
  EXPECT_NE(entry, nullptr) << id;
  static const Config kMissing;
  if (entry == nullptr) return kMissing;
  return static_cast<const Config&>(*entry->config);
}

}  // namespace sprout::collector::testing
