// The filter processor's own OTTL functions (Collector: processor/filterprocessor), known only to
// the parsers the filter builds for the metric context: HasAttrKeyOnDatapoint(key) (any data
// point of the metric has the attribute) and HasAttrOnDatapoint(key, expectedVal) (any has it
// with that string value). Both arguments are string literals.
//
// Thread-safety: the registry is built once and immutable.
#pragma once

#include "ottl/functions.h"

namespace sprout::collector::filterprocessor {

// The standard OTTL functions plus the two above.
const ottl::FunctionRegistry& MetricFunctions();

}  // namespace sprout::collector::filterprocessor
