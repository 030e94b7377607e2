// Removing items from an encoded export request without re-encoding it.
//
// RemoveItems(signal, wire, drop) copies `wire` leaving out the spans (traces) or log records
// (logs) whose `drop` flag is set; flags are in the order a decode visits the items (resource by
// resource, scope by scope). Scopes and resources left without items are removed, as the filter
// processor does. Everything else is copied byte for byte, so the result decodes to exactly what
// editing the decoded message would give, without the cost of serializing it again.
//
// `wire` must be a valid request (one that ScanRequest accepted) and `drop` must hold one flag
// per item. Metrics are not supported (their items sit one level deeper).
//
// Thread-safety: a pure function.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "otlp/signal.h"

namespace sprout::otlp {

std::string RemoveItems(Signal signal, std::string_view wire, const std::vector<bool>& drop);

}  // namespace sprout::otlp
