// OTTL functions (converters) and the registry a parser looks them up in.
//
// FunctionRegistry::Standard() holds the library's converters (team reference collector.md §7.8,
// the Collector's pkg/ottl/ottlfuncs). A component with functions of its own (the filter
// processor's HasAttrOnDatapoint) builds a registry from the standard one plus its functions and
// passes it in ParserOptions::functions when it parses; nothing is registered globally, so two
// components never see each other's functions.
//
// A function is a FunctionSpec: its parameters (name, optional, literal-only), an evaluation
// function over a FunctionCall, and optionally a setup run once at parse time (compiling a
// regular expression, checking a format) and a context outside which the name is unknown.
// Arity, parameter names and literal-only parameters are checked at parse time.
//
// Thread-safety: a registry is immutable once built and may be shared; Standard() lives for the
// process. Evaluation functions must be thread-safe (a parsed condition is evaluated
// concurrently); FunctionCall is read-only after setup.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ottl/ottl.h"
#include "ottl/value.h"

namespace re2 {
class RE2;
}

namespace sprout::ottl {

class Getter;  // ottl internals: one argument's expression
class FunctionCall;

using FunctionImpl = absl::StatusOr<Value> (*)(const FunctionCall& call, const EvalContext& ctx);
using FunctionSetup = absl::Status (*)(FunctionCall& call);

struct FunctionParam {
  std::string_view name;
  bool optional = false;
  bool literal = false;  // must be a string literal (Go: a `string` parameter)
};

struct FunctionSpec {
  std::string_view name;
  std::vector<FunctionParam> params;
  FunctionImpl fn = nullptr;
  FunctionSetup setup = nullptr;
  // Known only when parsing in this context (IsRootSpan: span).
  std::optional<ContextKind> only_in;
};

// One call of a function in a parsed condition: its arguments (evaluated on demand) and the
// state its setup left.
class FunctionCall {
 public:
  FunctionCall();
  virtual ~FunctionCall();

  const FunctionSpec* spec = nullptr;
  std::vector<std::unique_ptr<Getter>> args;  // by parameter; null for an omitted optional

  // Whether parameter `i` was given.
  bool has(size_t i) const { return i < args.size() && args[i] != nullptr; }
  // Parameter `i` evaluated for the item.
  absl::StatusOr<Value> arg(size_t i, const EvalContext& ctx) const;
  // The string literal of a literal-only parameter ("" when omitted).
  std::string_view lit(size_t i) const;

  // Parse-time state for setup functions.
  std::unique_ptr<re2::RE2> re;
  int mode = 0;
  std::string format;
  absl::TimeZone zone = absl::UTCTimeZone();
};

class FunctionRegistry {
 public:
  // The library's converters.
  static const FunctionRegistry& Standard();

  FunctionRegistry() = default;
  // `base`'s functions plus `more`; a name in both is `more`'s.
  FunctionRegistry(const FunctionRegistry& base, std::vector<FunctionSpec> more);

  // The function named `name` usable in `context`, or nullptr.
  const FunctionSpec* Find(std::string_view name, ContextKind context) const;

 private:
  std::vector<FunctionSpec> specs_;
};

}  // namespace sprout::ottl
