// The `debug` exporter: writes what it receives to the log, at the Collector's verbosities
// (basic: one line of counts per batch; normal: plus one line per resource, scope and item;
// detailed: every field). Never fails and never blocks on a backend.
#pragma once

#include <memory>

#include "collector/factory.h"

namespace sprout::collector::debugexporter {

std::unique_ptr<ExporterFactory> NewFactory();

}  // namespace sprout::collector::debugexporter
