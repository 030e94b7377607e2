#include "ottl/ottl.h"

#include "absl/strings/ascii.h"
#include "base/status.h"
#include "ottl/internal.h"

namespace sprout::ottl {

std::string_view ContextName(ContextKind kind) {
  switch (kind) {
    case ContextKind::kResource:
      return "resource";
    case ContextKind::kScope:
      return "scope";
    case ContextKind::kSpan:
      return "span";
    case ContextKind::kSpanEvent:
      return "spanevent";
    case ContextKind::kMetric:
      return "metric";
    case ContextKind::kDataPoint:
      return "datapoint";
    case ContextKind::kLog:
      break;
  }
  return "log";
}

std::optional<ContextKind> ParseContextName(std::string_view name) {
  const std::string lower = absl::AsciiStrToLower(AV(name));
  if (lower == "log_record") return ContextKind::kLog;
  if (lower == "instrumentation_scope") return ContextKind::kScope;
  for (ContextKind kind :
       {ContextKind::kResource, ContextKind::kScope, ContextKind::kSpan, ContextKind::kSpanEvent,
        ContextKind::kMetric, ContextKind::kDataPoint, ContextKind::kLog}) {
    if (lower == ContextName(kind)) return kind;
  }
  return std::nullopt;
}

bool ContextContains(ContextKind outer, ContextKind inner) {
  if (outer == inner) return true;
  switch (outer) {
    case ContextKind::kResource:
      return true;
    case ContextKind::kScope:
      return inner != ContextKind::kResource;
    case ContextKind::kSpan:
      return inner == ContextKind::kSpanEvent;
    case ContextKind::kMetric:
      return inner == ContextKind::kDataPoint;
    default:
      return false;
  }
}

absl::StatusOr<bool> Condition::Eval(const EvalContext& context) const {
  return impl_->root->Eval(context);
}

const std::string& Condition::text() const { return impl_->text; }

}  // namespace sprout::ottl
