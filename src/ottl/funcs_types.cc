// Type tests (collector.md §7.8): IsString, IsInt, IsDouble, IsBool, IsMap, IsList, IsEmpty,
// IsRootSpan.
#include <algorithm>

#include "ottl/funcs_internal.h"

namespace sprout::ottl::funcs {
namespace {

template <Type T>
absl::StatusOr<Value> IsType(const FunctionCall& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, c.arg(0, ctx));
  return Value::Bool(v.type == T);
}

absl::StatusOr<Value> IsEmpty(const FunctionCall& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, c.arg(0, ctx));
  switch (v.type) {
    case Type::kNil:
      return Value::Bool(true);
    case Type::kBool:
      return Value::Bool(!v.u.b);
    case Type::kInt:
    case Type::kDuration:
      return Value::Bool(v.u.i == 0);
    case Type::kDouble:
      return Value::Bool(v.u.d == 0);
    case Type::kString:
    case Type::kBytes:
      return Value::Bool(v.s.empty());
    case Type::kTraceId:
    case Type::kSpanId:
      return Value::Bool(v.s.find_first_not_of('\0') == std::string_view::npos);
    case Type::kMap:
      return Value::Bool(MapSize(v) == 0);
    case Type::kList:
      return Value::Bool(ListSize(v) == 0);
    case Type::kTime:
      return Value::Bool(false);
  }
  return Value::Bool(false);
}

absl::StatusOr<Value> IsRootSpan(const FunctionCall&, const EvalContext& ctx) {
  if (ctx.span == nullptr) return Value::Bool(false);
  const std::string& parent = ctx.span->parent_span_id();
  return Value::Bool(parent.find_first_not_of('\0') == std::string::npos);
}

}  // namespace

void AddTypeFunctions(std::vector<FunctionSpec>* specs) {
  specs->insert(specs->end(), {
                                  {"IsString", {kValue}, IsType<Type::kString>},
                                  {"IsInt", {kValue}, IsType<Type::kInt>},
                                  {"IsDouble", {kValue}, IsType<Type::kDouble>},
                                  {"IsBool", {kValue}, IsType<Type::kBool>},
                                  {"IsMap", {kValue}, IsType<Type::kMap>},
                                  {"IsList", {kValue}, IsType<Type::kList>},
                                  {"IsEmpty", {kValue}, IsEmpty},
                                  {"IsRootSpan", {}, IsRootSpan, nullptr, ContextKind::kSpan},
                              });
}

}  // namespace sprout::ottl::funcs
