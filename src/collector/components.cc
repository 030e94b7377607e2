#include "collector/components.h"

#include "collector/exporter/debug/debug_exporter.h"
#include "collector/exporter/otlp/otlp_exporter.h"
#include "collector/exporter/prometheusremotewrite/prw_exporter.h"
#include "collector/extension/health_check/health_check.h"
#include "collector/receiver/otlp/otlp_receiver.h"

namespace sprout::collector {

Factories BuiltinFactories() {
  Factories factories;
  factories.Register(otlpreceiver::NewFactory());
  factories.Register(otlpexporter::NewFactory("otlp"));
  factories.Register(otlpexporter::NewFactory("otlp_grpc"));
  factories.Register(debugexporter::NewFactory());
  factories.Register(prwexporter::NewFactory());
  factories.Register(healthcheck::NewFactory());
  return factories;
}

}  // namespace sprout::collector
