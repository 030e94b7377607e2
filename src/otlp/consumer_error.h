// How consumer errors are classified, following the Collector.
//
// A consumer error is an absl::Status. Its code is kept end to end when a component sets a
// specific one (e.g. RESOURCE_EXHAUSTED from a downstream server). Generic failures use
// UNKNOWN, and two marks ride along as status payloads:
//  - permanent: retrying the same data can never succeed (malformed data, a 400 from the
//    backend). Exporters drop such data instead of retrying; receivers answer INTERNAL.
//  - retry delay: the backend asked the client to wait (gRPC RetryInfo, HTTP Retry-After).
//    Receivers forward it as RetryInfo / `Retry-After` on 429 and 503.
// A generic error that is not permanent means "try again later": receivers answer UNAVAILABLE
// (HTTP 503), so SDKs retry and no data is lost.
#pragma once

#include <optional>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace sprout::otlp {

absl::Status MarkPermanent(absl::Status status);
bool IsPermanent(const absl::Status& status);

absl::Status WithRetryDelay(absl::Status status, absl::Duration delay);
std::optional<absl::Duration> RetryDelay(const absl::Status& status);

// The gRPC code a receiver returns for a pipeline error.
absl::StatusCode ReceiverCode(const absl::Status& status);

// The Collector's gRPC code → HTTP status table (see reference §2.3).
int HttpStatusFromCode(absl::StatusCode code);

// Whether an exporter should retry after a downstream gRPC error with `code`: Canceled,
// DeadlineExceeded, Aborted, OutOfRange, Unavailable, DataLoss; ResourceExhausted only when the
// server sent a RetryInfo delay.
bool IsRetryableGrpcCode(absl::StatusCode code, bool has_retry_info);

}  // namespace sprout::otlp

namespace sprout::otlp {
// The code's name as Go's gRPC prints it ("Unavailable", "ResourceExhausted").
const char* GrpcCodeName(absl::StatusCode code);
}  // namespace sprout::otlp
