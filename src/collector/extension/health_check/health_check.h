// The `health_check` extension: an HTTP endpoint answering 503 until every pipeline has
// started, 200 while the collector runs, and 503 again from the moment shutdown begins — so an
// orchestrator stops routing traffic before receivers close.
#pragma once

#include <memory>

#include "collector/factory.h"

namespace sprout::collector::healthcheck {

std::unique_ptr<ExtensionFactory> NewFactory();

// The TCP port a started health_check extension listens on (its endpoint may say port 0);
// 0 for any other component.
int BoundPort(const Component& extension);

}  // namespace sprout::collector::healthcheck
