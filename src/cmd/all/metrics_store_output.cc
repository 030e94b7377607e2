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
  const metrics::PushResult pushed = store_->PushWriteRequest(target, request);
  if (pushed.ok()) {
    writes_.fetch_add(1, std::memory_order_relaxed);
    return absl::OkStatus();
  }
  failures_.fetch_add(1, std::memory_order_relaxed);
  std::string message =
      absl::StrCat("metrics store (tenant ", std::string(target), "): ", pushed.message);
  if (pushed.http_status == 429) return absl::ResourceExhaustedError(std::move(message));
  if (pushed.http_status >= 500) return absl::UnavailableError(std::move(message));
  return absl::InvalidArgumentError(std::move(message));
}

void MetricsStoreOutput::Close(absl::Time) { closed_.store(true, std::memory_order_release); }

}  // namespace sprout::cmd
