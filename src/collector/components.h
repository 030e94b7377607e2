// The component types built into sprout.
#pragma once

#include "collector/factory.h"

namespace sprout::collector {

Factories BuiltinFactories();

}  // namespace sprout::collector
