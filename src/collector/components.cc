#include "collector/components.h"

#include "collector/exporter/debug/debug_exporter.h"
#include "collector/exporter/otlp/otlp_exporter.h"
#include "collector/exporter/prometheusremotewrite/prw_exporter.h"
#include "collector/extension/health_check/health_check.h"
#include "collector/processor/batch/batch_processor.h"
#include "collector/processor/filter/filter_processor.h"
#include "collector/processor/memory_limiter/memory_limiter.h"
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
  factories.Register(batchprocessor::NewFactory());
  factories.Register(memorylimiter::NewFactory());
  factories.Register(filterprocessor::NewFactory());
  return factories;
}

}  // namespace sprout::collector
