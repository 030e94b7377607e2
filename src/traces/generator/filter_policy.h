// Filter policies (Tempo's `filter_policies`, pkg/spanfilter): which spans a processor counts.
// The types only, so that both processors' configurations can hold them; the matcher is
// SpanFilter in span_metrics.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace sprout::traces::generator {

// One attribute of a filter policy. `key` is `resource.<name>`, `span.<name>` or an intrinsic
// (`name`, `status`, `kind`); `value` is typed as in the YAML (strict matching compares type and
// value; regex needs a string and matches string attributes, unanchored like Go's MatchString).
struct PolicyAttribute {
  std::string key;
  std::variant<std::string, int64_t, double, bool> value;
};

enum class MatchType { kStrict, kRegex };

struct PolicyMatch {
  MatchType match_type = MatchType::kStrict;
  std::vector<PolicyAttribute> attributes;
};

// A span passes a policy when `include` (every attribute matches), `include_any` (at least one
// matches) and not `exclude` (every attribute matches); it is counted when it passes every policy.
struct FilterPolicy {
  std::optional<PolicyMatch> include;
  std::optional<PolicyMatch> include_any;
  std::optional<PolicyMatch> exclude;
};

}  // namespace sprout::traces::generator
