// The IDs under which `sprout all` offers its stores to the collector pipeline (the `sprout`
// exporter type, names `traces` and `metrics`): one definition for the configuration
// (all_config.h) and the exporters (store_exporters.h).
#pragma once

#include <string_view>

namespace sprout::cmd {

inline constexpr char kStoreExporterType[] = "sprout";
inline constexpr char kTracesStoreExporter[] = "sprout/traces";
inline constexpr char kMetricsStoreExporter[] = "sprout/metrics";

}  // namespace sprout::cmd
