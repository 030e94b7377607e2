#include "net/tenant.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/status.h"

namespace sprout::net {
namespace {

bool ValidTenantChar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '-':
    case '_':
    case '.':
    case '*':
    case '\'':
    case '(':
    case ')':
      return true;
    default:
      return false;
  }
}

}  // namespace

absl::Status ValidateTenantId(std::string_view id) {
  for (unsigned char c : id) {
    if (!ValidTenantChar(c)) {
      return absl::InvalidArgumentError(absl::StrCat("tenant ID '", AV(id),
                                                     "' contains unsupported character '",
                                                     std::string(1, static_cast<char>(c)), "'"));
    }
  }
  if (id.size() > kMaxTenantIdLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("tenant ID is too long: max ", kMaxTenantIdLength, " characters"));
  }
  if (id == "." || id == "..") return absl::InvalidArgumentError("tenant ID is '.' or '..'");
  return absl::OkStatus();
}

absl::StatusOr<std::string> TenantFromOrgId(std::string_view org_id, bool federated) {
  if (org_id.empty()) return absl::UnauthenticatedError("no org id");
  if (org_id.find('|') == std::string_view::npos) {
    RETURN_IF_ERROR(ValidateTenantId(org_id));
    return std::string(org_id);
  }
  std::vector<absl::string_view> ids = absl::StrSplit(AV(org_id), '|');
  for (absl::string_view id : ids) RETURN_IF_ERROR(ValidateTenantId(SV(id)));
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  if (!federated && ids.size() > 1) {
    return absl::InvalidArgumentError("multiple org IDs present");
  }
  return absl::StrJoin(ids, "|");
}

}  // namespace sprout::net
