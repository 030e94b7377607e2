#include "cmd/all/metrics_store_output.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "metrics/store/store.h"
#include "prometheus/remote.pb.h"

namespace sprout::cmd {

MetricsStoreOutput::MetricsStoreOutput(metrics::MetricsStore* store, std::string fixed_tenant)
    : store_(store), fixed_tenant_(std::move(fixed_tenant)) {}

absl::Status MetricsStoreOutput::Write(std::string_view tenant, prometheus::WriteRequest request) {
  if (closed_.load(std::memory_order_acquire)) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    return absl::FailedPreconditionError("the metrics store output is closed");
  }
  const std::string_view target = fixed_tenant_.empty() ? tenant : fixed_tenant_;
  const auto refused = [&](const metrics::PushResult& pushed) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    std::string message =
        absl::StrCat("metrics store (tenant ", std::string(target), "): ", pushed.message);
    if (pushed.http_status == 429) return absl::ResourceExhaustedError(std::move(message));
    if (pushed.http_status >= 500) return absl::UnavailableError(std::move(message));
    return absl::InvalidArgumentError(std::move(message));
  };
  // New series' initial 0 samples first, on their own: after a restart the store already holds
  // newer samples of those series (written by the previous process) and refuses the zeros as
  // out of order (400) — expected, counted, not a failure of the collection.
  const prometheus::WriteRequest initial = traces::generator::SplitInitialSamples(&request);
  if (initial.timeseries_size() > 0) {
    const metrics::PushResult pushed = store_->PushWriteRequest(target, initial);
    if (pushed.http_status == 400) {
      initial_refused_.fetch_add(1, std::memory_order_relaxed);
    } else if (!pushed.ok()) {
      return refused(pushed);  // 429 or 5xx: the store takes nothing now
    }
  }
  if (request.timeseries_size() == 0) {
    writes_.fetch_add(1, std::memory_order_relaxed);
    return absl::OkStatus();
  }
  const metrics::PushResult pushed = store_->PushWriteRequest(target, request);
  if (!pushed.ok()) return refused(pushed);
  writes_.fetch_add(1, std::memory_order_relaxed);
  return absl::OkStatus();
}

void MetricsStoreOutput::Close(absl::Time) { closed_.store(true, std::memory_order_release); }

}  // namespace sprout::cmd
