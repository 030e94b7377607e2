// Helpers shared by the files of the standard converters (funcs_*.cc); not an API.
#pragma once

#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "ottl/functions.h"
#include "ottl/internal.h"

namespace sprout::ottl::funcs {

inline absl::Status Err(std::string_view fn, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(AV(fn), ": ", AV(what)));
}

inline std::string_view TypeForError(const Value& v) { return v.is_nil() ? "nil" : GoTypeName(v); }

// StringGetter: the value must be a string.
inline absl::StatusOr<Value> StringArg(const FunctionCall& c, size_t i, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, c.arg(i, ctx));
  if (v.type != Type::kString) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected string but got ", AV(TypeForError(v))));
  }
  return v;
}

inline absl::StatusOr<int64_t> IntArg(const FunctionCall& c, size_t i, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, c.arg(i, ctx));
  if (v.type != Type::kInt) {
    return absl::InvalidArgumentError(absl::StrCat("expected int64 but got ", AV(TypeForError(v))));
  }
  return v.u.i;
}

inline absl::StatusOr<int64_t> TimeArg(const FunctionCall& c, size_t i, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, c.arg(i, ctx));
  if (v.type != Type::kTime) {
    return absl::InvalidArgumentError(absl::StrCat("expected time but got ", AV(TypeForError(v))));
  }
  return v.u.i;
}

inline absl::StatusOr<int64_t> DurationArg(const FunctionCall& c, size_t i,
                                           const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, c.arg(i, ctx));
  if (v.type != Type::kDuration) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected duration but got ", AV(TypeForError(v))));
  }
  return v.u.i;
}

// Each funcs_*.cc appends its converters to the standard registry's list.
void AddTypeFunctions(std::vector<FunctionSpec>* specs);
void AddStringFunctions(std::vector<FunctionSpec>* specs);
void AddConversionFunctions(std::vector<FunctionSpec>* specs);
void AddTimeFunctions(std::vector<FunctionSpec>* specs);
void AddCollectionFunctions(std::vector<FunctionSpec>* specs);

inline const FunctionParam kValue{"value"};
inline const FunctionParam kTarget{"target"};

}  // namespace sprout::ottl::funcs
