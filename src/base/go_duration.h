// Durations written the way Go's time package writes and reads them ("1m30s", "200ms").
//
// The Collector's configuration and its health_check output use Go duration strings, so Sprout
// reads and prints exactly that syntax.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sprout {

// Parses "[-+]?(number unit)+" with units ns, us, µs, ms, s, m, h, or a bare "0".
// Error message matches Go: `time: invalid duration "x"` / `time: missing unit in duration "1"`.
absl::StatusOr<absl::Duration> ParseGoDuration(std::string_view text);

// Formats like Go's Duration.String(): "0s", "1.5µs", "250ms", "1m30s", "2h0m0.5s".
std::string FormatGoDuration(absl::Duration d);

}  // namespace sprout
