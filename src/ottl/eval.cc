// Boolean and math nodes of the condition tree, and key application.
#include <limits>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "ottl/internal.h"

namespace sprout::ottl {
namespace {

class OrExpr : public BoolExpr {
 public:
  explicit OrExpr(std::vector<std::unique_ptr<BoolExpr>> terms) : terms_(std::move(terms)) {}
  absl::StatusOr<bool> Eval(const EvalContext& ctx) const override {
    for (const auto& t : terms_) {
      ASSIGN_OR_RETURN(bool v, t->Eval(ctx));
      if (v) return true;  // short-circuit: later errors are never seen
    }
    return false;
  }

 private:
  std::vector<std::unique_ptr<BoolExpr>> terms_;
};

class AndExpr : public BoolExpr {
 public:
  explicit AndExpr(std::vector<std::unique_ptr<BoolExpr>> terms) : terms_(std::move(terms)) {}
  absl::StatusOr<bool> Eval(const EvalContext& ctx) const override {
    for (const auto& t : terms_) {
      ASSIGN_OR_RETURN(bool v, t->Eval(ctx));
      if (!v) return false;
    }
    return true;
  }

 private:
  std::vector<std::unique_ptr<BoolExpr>> terms_;
};

class NotExpr : public BoolExpr {
 public:
  explicit NotExpr(std::unique_ptr<BoolExpr> operand) : operand_(std::move(operand)) {}
  absl::StatusOr<bool> Eval(const EvalContext& ctx) const override {
    ASSIGN_OR_RETURN(bool v, operand_->Eval(ctx));
    return !v;
  }

 private:
  std::unique_ptr<BoolExpr> operand_;
};

class ConstantExpr : public BoolExpr {
 public:
  explicit ConstantExpr(bool value) : value_(value) {}
  absl::StatusOr<bool> Eval(const EvalContext&) const override { return value_; }

 private:
  bool value_;
};

class ComparisonExpr : public BoolExpr {
 public:
  ComparisonExpr(std::unique_ptr<Getter> left, CompareOp op, std::unique_ptr<Getter> right)
      : left_(std::move(left)), right_(std::move(right)), op_(op) {}
  absl::StatusOr<bool> Eval(const EvalContext& ctx) const override {
    ASSIGN_OR_RETURN(Value a, left_->Get(ctx));
    ASSIGN_OR_RETURN(Value b, right_->Get(ctx));
    return Compare(a, b, op_);
  }

 private:
  std::unique_ptr<Getter> left_, right_;
  CompareOp op_;
};

class ConverterCondition : public BoolExpr {
 public:
  explicit ConverterCondition(std::unique_ptr<Getter> converter)
      : converter_(std::move(converter)) {}
  absl::StatusOr<bool> Eval(const EvalContext& ctx) const override {
    ASSIGN_OR_RETURN(Value v, converter_->Get(ctx));
    if (v.type != Type::kBool) {
      return absl::InvalidArgumentError(
          absl::StrCat("value returned from Converter in constant expression must be bool but got ",
                       AV(GoTypeName(v))));
    }
    return v.u.b;
  }

 private:
  std::unique_ptr<Getter> converter_;
};

// Two's-complement arithmetic without undefined behaviour (Go wraps on overflow).
int64_t Wrap(uint64_t v) { return static_cast<int64_t>(v); }

class MathGetter : public Getter {
 public:
  MathGetter(std::unique_ptr<Getter> left, MathOp op, std::unique_ptr<Getter> right)
      : left_(std::move(left)), right_(std::move(right)), op_(op) {}

  absl::StatusOr<Value> Get(const EvalContext& ctx) const override {
    ASSIGN_OR_RETURN(Value a, left_->Get(ctx));
    ASSIGN_OR_RETURN(Value b, right_->Get(ctx));
    switch (a.type) {
      case Type::kInt: {
        if (b.type != Type::kInt) return MustBe(b, "int64");
        const uint64_t x = static_cast<uint64_t>(a.u.i), y = static_cast<uint64_t>(b.u.i);
        switch (op_) {
          case MathOp::kAdd:
            return Value::Int(Wrap(x + y));
          case MathOp::kSub:
            return Value::Int(Wrap(x - y));
          case MathOp::kMul:
            return Value::Int(Wrap(x * y));
          case MathOp::kDiv:
            if (b.u.i == 0) return DivideByZero();
            if (a.u.i == std::numeric_limits<int64_t>::min() && b.u.i == -1) return a;
            return Value::Int(a.u.i / b.u.i);
        }
        break;
      }
      case Type::kDouble: {
        if (b.type != Type::kDouble) return MustBe(b, "float64");
        switch (op_) {
          case MathOp::kAdd:
            return Value::Double(a.u.d + b.u.d);
          case MathOp::kSub:
            return Value::Double(a.u.d - b.u.d);
          case MathOp::kMul:
            return Value::Double(a.u.d * b.u.d);
          case MathOp::kDiv:
            if (b.u.d == 0) return DivideByZero();
            return Value::Double(a.u.d / b.u.d);
        }
        break;
      }
      case Type::kTime: {
        if (op_ == MathOp::kSub && b.type == Type::kTime) {
          return Value::Duration(Wrap(static_cast<uint64_t>(a.u.i) - static_cast<uint64_t>(b.u.i)));
        }
        if (b.type == Type::kDuration && (op_ == MathOp::kAdd || op_ == MathOp::kSub)) {
          const uint64_t x = static_cast<uint64_t>(a.u.i), y = static_cast<uint64_t>(b.u.i);
          return Value::Time(Wrap(op_ == MathOp::kAdd ? x + y : x - y));
        }
        return absl::InvalidArgumentError(
            absl::StrCat("only time.Time - time.Time and time.Time +/- time.Duration are "
                         "supported, not time.Time and ",
                         AV(GoTypeName(b))));
      }
      case Type::kDuration: {
        if (b.type == Type::kDuration && (op_ == MathOp::kAdd || op_ == MathOp::kSub)) {
          const uint64_t x = static_cast<uint64_t>(a.u.i), y = static_cast<uint64_t>(b.u.i);
          return Value::Duration(Wrap(op_ == MathOp::kAdd ? x + y : x - y));
        }
        return absl::InvalidArgumentError(absl::StrCat(
            "only time.Duration +/- time.Duration is supported, not time.Duration and ",
            AV(GoTypeName(b))));
      }
      default:
        break;
    }
    return absl::InvalidArgumentError(
        absl::StrCat(AV(ValueText(a)), " must be int64, float64, time.Time or time.Duration (got ",
                     AV(GoTypeName(a)), ")"));
  }

 private:
  static absl::Status MustBe(const Value& v, std::string_view type) {
    return absl::InvalidArgumentError(
        absl::StrCat(AV(ValueText(v)), " must be ", AV(type), " (got ", AV(GoTypeName(v)), ")"));
  }
  static absl::Status DivideByZero() {
    return absl::InvalidArgumentError("attempted to divide by 0");
  }

  std::unique_ptr<Getter> left_, right_;
  MathOp op_;
};

class ListGetter : public Getter {
 public:
  explicit ListGetter(std::vector<std::unique_ptr<Getter>> items) : items_(std::move(items)) {}
  absl::StatusOr<Value> Get(const EvalContext& ctx) const override {
    auto list = std::make_shared<OwnedList>();
    list->items.reserve(items_.size());
    for (const auto& item : items_) {
      ASSIGN_OR_RETURN(Value v, item->Get(ctx));
      list->items.push_back(std::move(v));
    }
    return Value::OwnedListValue(std::move(list));
  }

 private:
  std::vector<std::unique_ptr<Getter>> items_;
};

class MapGetter : public Getter {
 public:
  explicit MapGetter(std::vector<std::pair<std::string, std::unique_ptr<Getter>>> items)
      : items_(std::move(items)) {}
  absl::StatusOr<Value> Get(const EvalContext& ctx) const override {
    auto map = std::make_shared<OwnedMap>();
    map->entries.reserve(items_.size());
    for (const auto& [key, getter] : items_) {
      ASSIGN_OR_RETURN(Value v, getter->Get(ctx));
      map->entries.emplace_back(key, std::move(v));
    }
    return Value::OwnedMapValue(std::move(map));
  }

 private:
  std::vector<std::pair<std::string, std::unique_ptr<Getter>>> items_;
};

}  // namespace

std::unique_ptr<BoolExpr> MakeOr(std::vector<std::unique_ptr<BoolExpr>> terms) {
  if (terms.size() == 1) return std::move(terms[0]);
  return std::make_unique<OrExpr>(std::move(terms));
}
std::unique_ptr<BoolExpr> MakeAnd(std::vector<std::unique_ptr<BoolExpr>> terms) {
  if (terms.size() == 1) return std::move(terms[0]);
  return std::make_unique<AndExpr>(std::move(terms));
}
std::unique_ptr<BoolExpr> MakeNot(std::unique_ptr<BoolExpr> operand) {
  return std::make_unique<NotExpr>(std::move(operand));
}
std::unique_ptr<BoolExpr> MakeConstant(bool value) { return std::make_unique<ConstantExpr>(value); }
std::unique_ptr<BoolExpr> MakeComparison(std::unique_ptr<Getter> left, CompareOp op,
                                         std::unique_ptr<Getter> right) {
  return std::make_unique<ComparisonExpr>(std::move(left), op, std::move(right));
}
std::unique_ptr<BoolExpr> MakeConverterCondition(std::unique_ptr<Getter> converter) {
  return std::make_unique<ConverterCondition>(std::move(converter));
}
std::unique_ptr<Getter> MakeMath(std::unique_ptr<Getter> left, MathOp op,
                                 std::unique_ptr<Getter> right) {
  return std::make_unique<MathGetter>(std::move(left), op, std::move(right));
}
std::unique_ptr<Getter> MakeList(std::vector<std::unique_ptr<Getter>> items) {
  return std::make_unique<ListGetter>(std::move(items));
}
std::unique_ptr<Getter> MakeMap(
    std::vector<std::pair<std::string, std::unique_ptr<Getter>>> items) {
  return std::make_unique<MapGetter>(std::move(items));
}

std::string ValueText(const Value& v) {
  switch (v.type) {
    case Type::kNil:
      return "<nil>";
    case Type::kString:
      return std::string(v.s);
    case Type::kDuration:
      return absl::StrCat(v.u.i, "ns");
    default: {
      std::string out;
      StringLike(v, &out);
      return out;
    }
  }
}

absl::StatusOr<Value> ApplyKeys(Value v, const std::vector<Key>& keys, size_t first,
                                const EvalContext& ctx, KeyStyle style) {
  for (size_t k = first; k < keys.size(); ++k) {
    const Key& key = keys[k];
    bool by_string;
    std::string_view str;
    int64_t index = 0;
    Value dynamic;
    if (key.kind == Key::kDynamic) {
      ASSIGN_OR_RETURN(dynamic, key.getter->Get(ctx));
      if (dynamic.type == Type::kString) {
        by_string = true;
        str = dynamic.s;
      } else if (dynamic.type == Type::kInt) {
        by_string = false;
        index = dynamic.u.i;
      } else {
        return absl::InvalidArgumentError(absl::StrCat(
            "invalid key type: a key must be a string or an int64, got ", AV(GoTypeName(dynamic))));
      }
    } else {
      by_string = key.kind == Key::kString;
      str = key.str;
      index = key.index;
    }
    if (by_string && v.type == Type::kMap) {
      Value next;
      if (!MapFind(v, str, &next)) return Value::Nil();  // missing key: nil, no error
      v = std::move(next);
      continue;
    }
    if (!by_string && v.type == Type::kList) {
      const size_t n = ListSize(v);
      if (index < 0 || static_cast<uint64_t>(index) >= n) {
        return absl::InvalidArgumentError(absl::StrCat("index ", index, " out of bounds"));
      }
      v = ListAt(v, static_cast<size_t>(index));
      continue;
    }
    const std::string_view what = by_string ? "string" : "int";
    if (style == KeyStyle::kPcommon) {
      return absl::InvalidArgumentError(absl::StrCat("type ", AV(PcommonTypeName(v)),
                                                     " does not support ", AV(what), " indexing"));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("type, ", AV(GoTypeName(v)), ", does not support ", AV(what), " indexing"));
  }
  return v;
}

}  // namespace sprout::ottl
