// MetricsStoreOutput: the metrics-generator's in-process output in `sprout all` (issue 14). Each
// collection of a tenant (a prometheus::WriteRequest: series, samples, native histograms and
// exemplars with their `traceID` label) goes into the MetricsStore with
// MetricsStore::PushWriteRequest — no snappy, no HTTP, no remote-write WAL: the store's own WAL
// holds it once Write returns OK, and the store's validation, limits and counters apply exactly
// as to a remote-write request.
//
// It lives in the command layer because it joins the two roles: traces/ never depends on
// metrics/.
//
// Tenants: the series of a trace tenant go to the same metrics tenant (so, with multitenancy, the
// tenant of a trace is the tenant of its generator series); `fixed_tenant`, when set, sends every
// collection to that one tenant instead (one process, multitenancy off, where the two roles'
// single tenants are named differently).
//
// New series' initial 0 samples (traces::generator::SplitInitialSamples) are written first, on
// their own; the store refusing them (400: after a restart it holds newer samples of the same
// series, written by the previous process) is counted in initial_refused() and is not an error.
//
// Errors (logged and counted by the GeneratorService; a collection is never retried — the next
// one carries the counters' new totals): 429 → ResourceExhausted, 5xx → Unavailable (nothing
// stored), 400 → InvalidArgument with the store's first refusal (the good series were stored),
// after Close → FailedPrecondition.
//
// Thread-safety: Write may be called from several threads; Close once.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "traces/generator/output.h"

namespace sprout::metrics {
class MetricsStore;
}  // namespace sprout::metrics

namespace sprout::cmd {

class MetricsStoreOutput : public traces::generator::GeneratorOutput {
 public:
  // `store` must outlive the output (and be started before the generator's first collection).
  explicit MetricsStoreOutput(metrics::MetricsStore* store, std::string fixed_tenant = "");

  absl::Status Write(std::string_view tenant, prometheus::WriteRequest request) override;
  // Nothing is buffered: later writes fail.
  void Close(absl::Time deadline) override;

  // Collections written (OK) and refused, in whole or in part (not OK).
  uint64_t writes() const { return writes_.load(std::memory_order_relaxed); }
  uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }
  // Writes of initial 0 samples the store refused (400), the rest of the collection stored.
  uint64_t initial_refused() const { return initial_refused_.load(std::memory_order_relaxed); }

 private:
  metrics::MetricsStore* const store_;
  const std::string fixed_tenant_;
  std::atomic<bool> closed_{false};
  std::atomic<uint64_t> writes_{0};
  std::atomic<uint64_t> failures_{0};
  std::atomic<uint64_t> initial_refused_{0};
};

}  // namespace sprout::cmd
