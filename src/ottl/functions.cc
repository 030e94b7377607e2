// The function registry and the parse-time binding of a call to its function: arity, named and
// positional arguments, literal-only parameters, setup.
#include "ottl/functions.h"

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "ottl/funcs_internal.h"
#include "ottl/internal.h"
#include "re2/re2.h"

namespace sprout::ottl {
namespace {

// A call as a node of the parsed tree.
class Call : public FunctionCall, public Getter {
 public:
  std::vector<Key> keys;

  absl::StatusOr<Value> Get(const EvalContext& ctx) const override {
    ASSIGN_OR_RETURN(Value v, spec->fn(*this, ctx));
    if (keys.empty()) return v;
    return ApplyKeys(std::move(v), keys, 0, ctx, KeyStyle::kGo);
  }
};

}  // namespace

FunctionCall::FunctionCall() = default;
FunctionCall::~FunctionCall() = default;

absl::StatusOr<Value> FunctionCall::arg(size_t i, const EvalContext& ctx) const {
  return args[i]->Get(ctx);
}

std::string_view FunctionCall::lit(size_t i) const { return has(i) ? args[i]->literal()->s : ""; }

const FunctionRegistry& FunctionRegistry::Standard() {
  static const FunctionRegistry* registry = [] {
    std::vector<FunctionSpec> specs;
    funcs::AddTypeFunctions(&specs);
    funcs::AddStringFunctions(&specs);
    funcs::AddConversionFunctions(&specs);
    funcs::AddTimeFunctions(&specs);
    funcs::AddCollectionFunctions(&specs);
    return new FunctionRegistry(FunctionRegistry(), std::move(specs));
  }();
  return *registry;
}

FunctionRegistry::FunctionRegistry(const FunctionRegistry& base, std::vector<FunctionSpec> more)
    : specs_(base.specs_) {
  for (FunctionSpec& spec : more) {
    bool replaced = false;
    for (FunctionSpec& existing : specs_) {
      if (existing.name == spec.name) {
        existing = spec;
        replaced = true;
      }
    }
    if (!replaced) specs_.push_back(std::move(spec));
  }
}

const FunctionSpec* FunctionRegistry::Find(std::string_view name, ContextKind context) const {
  for (const FunctionSpec& spec : specs_) {
    if (spec.name != name) continue;
    if (spec.only_in.has_value() && *spec.only_in != context) return nullptr;
    return &spec;
  }
  return nullptr;
}

absl::StatusOr<std::unique_ptr<Getter>> MakeConverter(std::string_view name, size_t offset,
                                                      std::vector<Arg> args, std::vector<Key> keys,
                                                      const ParserOptions& options) {
  const FunctionRegistry& registry =
      options.functions != nullptr ? *options.functions : FunctionRegistry::Standard();
  const FunctionSpec* spec = registry.Find(name, options.context);
  if (spec == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("undefined function \"", AV(name), "\""));
  }
  auto call = std::make_unique<Call>();
  call->spec = spec;
  call->keys = std::move(keys);
  call->args.resize(spec->params.size());
  size_t required = 0;
  for (const FunctionParam& p : spec->params) required += !p.optional;
  bool named_seen = false;
  for (size_t i = 0; i < args.size(); ++i) {
    Arg& arg = args[i];
    size_t index = i;
    if (!arg.name.empty()) {
      named_seen = true;
      index = spec->params.size();
      for (size_t k = 0; k < spec->params.size(); ++k) {
        if (spec->params[k].name == arg.name) index = k;
      }
      if (index == spec->params.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("no such parameter \"", arg.name, "\" for function \"", AV(name), "\""));
      }
      if (call->args[index] != nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("duplicate argument \"", arg.name, "\" for function \"", AV(name), "\""));
      }
    } else if (named_seen) {
      return absl::InvalidArgumentError(absl::StrCat(
          "positional arguments must come before named arguments (function \"", AV(name), "\")"));
    }
    if (index >= spec->params.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("incorrect number of arguments. Expected: ", spec->params.size(),
                       " Received: ", args.size()));
    }
    if (spec->params[index].literal) {
      const Value* lit = arg.getter->literal();
      if (lit == nullptr || lit->type != Type::kString) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid argument at position ", index, ": must be a string"));
      }
    }
    call->args[index] = std::move(arg.getter);
  }
  for (size_t k = 0; k < spec->params.size(); ++k) {
    if (call->args[k] == nullptr && !spec->params[k].optional) {
      if (args.size() < required && !named_seen) {
        return absl::InvalidArgumentError(absl::StrCat(
            "incorrect number of arguments. Expected: ", required, " Received: ", args.size()));
      }
      return absl::InvalidArgumentError(absl::StrCat(
          "missing argument \"", AV(spec->params[k].name), "\" for function \"", AV(name), "\""));
    }
  }
  if (spec->setup != nullptr) RETURN_IF_ERROR(spec->setup(*call));
  return std::unique_ptr<Getter>(std::move(call));
}

}  // namespace sprout::ottl
