// Tenant IDs as Mimir and Tempo take them: the `X-Scope-OrgID` header, checked with dskit's
// rules (tenant.ValidTenantID) and messages, so that a client gets the same error from Sprout's
// stores as from the systems they replace.
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace sprout::net {

inline constexpr std::string_view kOrgIdHeader = "x-scope-orgid";
inline constexpr size_t kMaxTenantIdLength = 150;

// dskit's ValidTenantID: letters, digits and `!-_.*'()`, at most 150 bytes, not "." or "..".
// InvalidArgument with dskit's text: `tenant ID 'a/b' contains unsupported character '/'`,
// `tenant ID is too long: max 150 characters`, `tenant ID is '.' or '..'`.
absl::Status ValidateTenantId(std::string_view id);

// The tenant of a request from its X-Scope-OrgID value. Missing (empty): Unauthenticated
// `no org id` (dskit's user.ErrNoOrgID; Mimir and Tempo answer it with 401). `federated`:
// `a|b|a` is allowed and normalized to `a|b` (sorted, de-duplicated); otherwise several
// different IDs are InvalidArgument `multiple org IDs present`.
absl::StatusOr<std::string> TenantFromOrgId(std::string_view org_id, bool federated);

}  // namespace sprout::net
