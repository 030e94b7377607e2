#include "otlp/consumer_error.h"

#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/cord.h"

namespace sprout::otlp {
namespace {
constexpr char kPermanentUrl[] = "sprout.dev/permanent";
constexpr char kRetryDelayUrl[] = "sprout.dev/retry-delay-ns";

// The gRPC codes the OTLP specification makes retryable whatever the server says: HTTP 503 on
// the receiving side, a retry on the exporting side (ResourceExhausted is retryable only with a
// RetryInfo, so it is not among them).
bool IsTransientCode(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDataLoss:
      return true;
    default:
      return false;
  }
}

}  // namespace

absl::Status MarkPermanent(absl::Status status) {
  if (status.ok()) return status;
  status.SetPayload(kPermanentUrl, absl::Cord("1"));
  return status;
}

bool IsPermanent(const absl::Status& status) {
  return status.GetPayload(kPermanentUrl).has_value();
}

absl::Status WithRetryDelay(absl::Status status, absl::Duration delay) {
  if (status.ok()) return status;
  status.SetPayload(kRetryDelayUrl, absl::Cord(std::to_string(absl::ToInt64Nanoseconds(delay))));
  return status;
}

std::optional<absl::Duration> RetryDelay(const absl::Status& status) {
  auto payload = status.GetPayload(kRetryDelayUrl);
  if (!payload.has_value()) return std::nullopt;
  return absl::Nanoseconds(std::stoll(std::string(*payload)));
}

absl::StatusCode ReceiverCode(const absl::Status& status) {
  if (status.ok()) return absl::StatusCode::kOk;
  if (status.code() != absl::StatusCode::kUnknown) return status.code();
  return IsPermanent(status) ? absl::StatusCode::kInternal : absl::StatusCode::kUnavailable;
}

int HttpStatusFromCode(absl::StatusCode code) {
  if (IsTransientCode(code)) return 503;
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kUnimplemented:
      return 404;
    default:
      return 500;
  }
}

bool IsRetryableGrpcCode(absl::StatusCode code, bool has_retry_info) {
  if (IsTransientCode(code)) return true;
  return code == absl::StatusCode::kResourceExhausted && has_retry_info;
}

}  // namespace sprout::otlp

namespace sprout::otlp {
const char* GrpcCodeName(absl::StatusCode code) {
  static const char* kNames[] = {
      "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
      "DataLoss", "Unauthenticated"};
  const int i = static_cast<int>(code);
  return i >= 0 && i < 17 ? kNames[i] : "Unknown";
}
}  // namespace sprout::otlp
