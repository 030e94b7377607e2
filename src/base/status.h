// Small helpers over absl::Status used across Sprout's module boundaries.
//
// Errors cross module boundaries as absl::Status / absl::StatusOr. Third-party exceptions are
// caught where the library is called and turned into a Status with context.
#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

#define SPROUT_CONCAT_INNER(a, b) a##b
#define SPROUT_CONCAT(a, b) SPROUT_CONCAT_INNER(a, b)

// Returns from the current function when `expr` (an absl::Status) is not OK.
#define RETURN_IF_ERROR(expr)                        \
  do {                                               \
    ::absl::Status sprout_status_ = (expr);          \
    if (!sprout_status_.ok()) return sprout_status_; \
  } while (0)

// ASSIGN_OR_RETURN(auto x, MakeX()): assigns the value of a StatusOr or returns its error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  SPROUT_ASSIGN_OR_RETURN_IMPL(SPROUT_CONCAT(sprout_statusor_, __LINE__), lhs, expr)
#define SPROUT_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()

namespace sprout {

// Debian's Abseil is built with its own absl::string_view (ABSL_OPTION_USE_STD_STRING_VIEW=0),
// so absl::StrCat and friends do not accept std::string_view. Wrap with this.
inline absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }
// The other direction: absl::Status::message() and friends into our std::string_view APIs.
inline std::string_view SV(absl::string_view s) { return std::string_view(s.data(), s.size()); }

// Returns `status` with `context: ` prefixed to its message; OK stays OK.
inline absl::Status Annotate(const absl::Status& status, std::string_view context) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(AV(context), ": ", status.message()));
}

}  // namespace sprout
