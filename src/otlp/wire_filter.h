// Removing items from an encoded export request without re-encoding it.
//
// RemoveItems(signal, wire, drop) copies `wire` leaving out the spans (traces) or log records
// (logs) whose `drop` flag is set; flags are in the order a decode visits the items (resource by
// resource, scope by scope). Scopes and resources left without items are removed, as the filter
// processor does. Everything else is copied byte for byte, so the result decodes to exactly what
// editing the decoded message would give, without the cost of serializing it again.
//
// `wire` should be a request ScanRequest accepted (unknown fields and groups are copied as they
// are). nullopt when the bytes cannot be walked or `drop` does not hold exactly one flag per item
// (the caller then edits the decoded message instead). *kept_items gets the items left. Metrics
// are not supported (their items sit one level deeper).
//
// Thread-safety: a pure function.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "otlp/signal.h"

namespace sprout::otlp {

std::optional<std::string> RemoveItems(Signal signal, std::string_view wire,
                                       const std::vector<bool>& drop, int64_t* kept_items);

}  // namespace sprout::otlp
