// The parsed condition tree and the seams between parser, paths and converters (ottl/ internals).
//
// The parser resolves everything it can while parsing: paths become accessor functions,
// enums become integers, converters are looked up, their arity checked and their regular
// expressions compiled. What is left for Eval() is walking a tree of Getter and BoolExpr nodes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ottl/ottl.h"
#include "ottl/value.h"

namespace sprout::ottl {

// Produces a value for one item. Implementations are immutable after parsing.
class Getter {
 public:
  virtual ~Getter() = default;
  virtual absl::StatusOr<Value> Get(const EvalContext& ctx) const = 0;
  // The constant value for literals (strings, numbers, ... and constant maps/lists).
  virtual const Value* literal() const { return nullptr; }
};

class BoolExpr {
 public:
  virtual ~BoolExpr() = default;
  virtual absl::StatusOr<bool> Eval(const EvalContext& ctx) const = 0;
};

// A literal value owned by the tree (the Value borrows from `storage`).
class LiteralGetter : public Getter {
 public:
  explicit LiteralGetter(Value v) : value_(std::move(v)) {}
  absl::StatusOr<Value> Get(const EvalContext&) const override {
    Value v = value_;
    v.hold = nullptr;  // the condition outlives Eval(): borrow, do not touch the refcount
    return v;
  }
  const Value* literal() const override { return &value_; }

 private:
  Value value_;
};

// One `[...]` after a path or converter.
struct Key {
  enum Kind { kString, kInt, kDynamic } kind = kString;
  std::string str;
  int64_t index = 0;
  std::unique_ptr<Getter> getter;  // kDynamic: a path or converter giving a string or an int
};

// How indexing errors are worded: values from OTLP data (pcommon type names: `type Str does not
// support string indexing`) or values produced by converters (Go types: `type, string, ...`).
enum class KeyStyle { kPcommon, kGo };
absl::StatusOr<Value> ApplyKeys(Value v, const std::vector<Key>& keys, size_t first,
                                const EvalContext& ctx, KeyStyle style);

// --- paths.cc ---
struct PathSegment {
  std::string name;
  std::vector<Key> keys;
  size_t offset = 0;
};
// Resolves a parsed path (`attributes["k"]`, `span.status.code`) for the parser's context.
absl::StatusOr<std::unique_ptr<Getter>> ResolvePath(std::vector<PathSegment> segments,
                                                    const ParserOptions& options);
// An enum symbol of the context (`SPAN_KIND_SERVER` → 2).
absl::StatusOr<int64_t> ResolveEnum(std::string_view symbol, ContextKind context);
// The contexts a path's first segment names, as InferContext reads them.
std::optional<ContextKind> PathContextName(std::string_view segment);

// --- funcs.cc ---
struct Arg {
  std::string name;  // empty for positional arguments
  std::unique_ptr<Getter> getter;
  size_t offset = 0;
};
absl::StatusOr<std::unique_ptr<Getter>> MakeConverter(std::string_view name, size_t offset,
                                                      std::vector<Arg> args, std::vector<Key> keys,
                                                      const ParserOptions& options);

// --- eval.cc: tree nodes built by the parser ---
std::unique_ptr<BoolExpr> MakeOr(std::vector<std::unique_ptr<BoolExpr>> terms);
std::unique_ptr<BoolExpr> MakeAnd(std::vector<std::unique_ptr<BoolExpr>> terms);
std::unique_ptr<BoolExpr> MakeNot(std::unique_ptr<BoolExpr> operand);
std::unique_ptr<BoolExpr> MakeConstant(bool value);
std::unique_ptr<BoolExpr> MakeComparison(std::unique_ptr<Getter> left, CompareOp op,
                                         std::unique_ptr<Getter> right);
// A converter used as a condition: must produce a bool.
std::unique_ptr<BoolExpr> MakeConverterCondition(std::unique_ptr<Getter> converter);
enum class MathOp { kAdd, kSub, kMul, kDiv };
std::unique_ptr<Getter> MakeMath(std::unique_ptr<Getter> left, MathOp op,
                                 std::unique_ptr<Getter> right);
// `[a, b]` and `{"k": v}` literals whose items are not all constant.
std::unique_ptr<Getter> MakeList(std::vector<std::unique_ptr<Getter>> items);
std::unique_ptr<Getter> MakeMap(std::vector<std::pair<std::string, std::unique_ptr<Getter>>> items);

// Error text helpers.
std::string ValueText(const Value& v);  // Go's %v, roughly

}  // namespace sprout::ottl

namespace sprout::ottl {
struct Condition::Impl {
  std::string text;
  std::unique_ptr<BoolExpr> root;
};
}  // namespace sprout::ottl
