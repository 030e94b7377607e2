// This process's own resource use, read from /proc (Linux).
#pragma once

#include <cstdint>

namespace sprout {

// User + system CPU time consumed so far, in seconds.
double ProcessCpuSeconds();
// Resident set size in bytes (0 when /proc is unavailable).
int64_t ProcessRssBytes();

}  // namespace sprout
