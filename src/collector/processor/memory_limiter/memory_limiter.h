// The `memory_limiter` processor: refuses new data while the process uses more memory than its
// soft limit (limit − spike), so that clients retry later instead of the process running out.
//
// Memory is measured as the process's resident set size (/proc/self/statm), checked every
// `check_interval` on one thread per configured limiter. RSS is what the kernel's OOM killer
// and a container's memory limit see, and, unlike a garbage-collected runtime's heap size, it
// includes everything a C++ process holds (allocator caches, thread stacks, code). At or above
// the soft limit the limiter first hands the allocator's free pages back to the system
// (jemalloc purge, glibc malloc_trim) and measures again; data is refused while the measure stays
// at or above the soft limit. At or above the hard limit the same happens and a warning says so.
//
// Refusal returns `data refused due to high memory usage` as UNAVAILABLE: retryable, so the OTLP
// receiver answers gRPC UNAVAILABLE / HTTP 503 and SDKs resend. Data already accepted is never
// dropped to make room: it sits in exporter queues that drain at the backend's pace, and the
// limiter's only lever is to stop intake.
//
// One limiter per configuration entry, shared by every pipeline that lists it (as in the
// Collector), started with the first and stopped with the last.
#pragma once

#include <memory>

#include "collector/factory.h"

namespace sprout::collector::memorylimiter {

std::unique_ptr<ProcessorFactory> NewFactory();

}  // namespace sprout::collector::memorylimiter
