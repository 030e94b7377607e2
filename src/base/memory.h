// Memory facts for components that limit themselves (memory_limiter): how much memory the
// process may use, how much it uses, and handing freed memory back to the system.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace sprout {

// The memory this process may use: the cgroup v2 `memory.max` of its cgroup, else the cgroup v1
// `memory.limit_in_bytes`, else (no limit set: "max", or v1's huge sentinel) MemTotal of
// /proc/meminfo. `root` prefixes every path read (tests point it at a fake tree).
absl::StatusOr<uint64_t> TotalMemoryBytes(const std::string& root = "");

// Which allocator serves malloc in this process: "jemalloc" (when its mallctl is linked in) or
// "glibc".
const char* AllocatorName();

// Bytes the allocator has handed out and not yet got back (jemalloc `stats.allocated`); -1 when
// the allocator cannot tell (glibc).
int64_t AllocatorAllocatedBytes();

// Returns the allocator's free pages to the system (jemalloc: purge every arena; glibc:
// malloc_trim), so that RSS follows what is actually in use. Costs a few milliseconds with a
// large heap; call it when memory is short, not on every request.
void PurgeAllocator();

}  // namespace sprout
