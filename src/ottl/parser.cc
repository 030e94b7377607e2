// Recursive-descent parser for OTTL conditions (team reference collector.md §7.2).
//
// A condition is parsed twice. The first pass checks syntax only (and collects the first segment
// of every path, which is all InferContext needs); its errors are the `<line>:<col>: ...` syntax
// errors. The second pass builds the tree, resolving paths, enums and converters; its errors are
// the Collector's semantic messages. So, as in the Collector, `foo ==` reports the syntax error
// and not the unknown path.
//
// Alternatives are tried in the grammar's order with backtracking (a boolean value is first tried
// as a comparison, then as a constant, then as a parenthesised expression); when all fail, the
// error that got furthest is reported. Nesting is limited to kMaxDepth levels.
#include <charconv>
#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status.h"
#include "ottl/internal.h"
#include "ottl/lexer.h"

namespace sprout::ottl {
namespace {

constexpr int kMaxDepth = 100;
constexpr std::string_view kSyntaxPrefix = "condition has invalid syntax: ";

class Parser {
 public:
  Parser(std::string_view text, const std::vector<Token>& tokens, const ParserOptions& options,
         bool syntax_only)
      : text_(text), tokens_(tokens), options_(options), syntax_only_(syntax_only) {}

  // The whole condition. Errors are final messages.
  absl::StatusOr<std::unique_ptr<BoolExpr>> ParseCondition() {
    auto root = ParseExpr();
    if (root.ok() && Peek().kind != Tok::kEnd) {
      root = Fail(Peek(), "");
    }
    if (!root.ok()) {
      if (fatal_) return root.status();
      return absl::InvalidArgumentError(absl::StrCat(
          AV(kSyntaxPrefix), Position(text_, furthest_offset_), ": ", AV(furthest_message_)));
    }
    if (!custom_error_.ok()) return custom_error_;
    return root;
  }

  const std::vector<std::string>& path_heads() const { return path_heads_; }

 private:
  // Depth of nested constructs; refuses to go deeper than kMaxDepth.
  class DepthGuard {
   public:
    explicit DepthGuard(Parser* p) : p_(p) { ++p_->depth_; }
    ~DepthGuard() { --p_->depth_; }
    absl::Status Check(const Token& at) {
      if (p_->depth_ <= kMaxDepth) return absl::OkStatus();
      p_->fatal_ = true;
      return absl::InvalidArgumentError(
          absl::StrCat(AV(kSyntaxPrefix), Position(p_->text_, at.offset), ": nesting deeper than ",
                       kMaxDepth, " levels"));
    }

   private:
    Parser* p_;
  };

  const Token& Peek(size_t ahead = 0) const {
    const size_t i = std::min(pos_ + ahead, tokens_.size() - 1);
    return tokens_[i];
  }
  const Token& Next() {
    const Token& t = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }
  bool Accept(Tok kind) {
    if (Peek().kind != kind) return false;
    Next();
    return true;
  }

  // A syntax failure at `at`; remembered when it is the furthest so far.
  absl::Status Fail(const Token& at, std::string_view expected) {
    if (!have_failure_ || at.offset > furthest_offset_) {
      have_failure_ = true;
      furthest_offset_ = at.offset;
      const std::string_view shown = at.kind == Tok::kEnd ? std::string_view("<EOF>") : at.text;
      furthest_message_ = absl::StrCat("unexpected token \"", AV(shown), "\"");
      if (!expected.empty()) absl::StrAppend(&furthest_message_, " (expected ", AV(expected), ")");
    }
    return absl::InvalidArgumentError("syntax");
  }
  absl::Status Expect(Tok kind, std::string_view what) {
    if (Accept(kind)) return absl::OkStatus();
    return Fail(Peek(), what);
  }
  // A semantic error: stops parsing, no alternative is tried.
  absl::Status Fatal(absl::Status status) {
    fatal_ = true;
    return status;
  }

  static bool IsName(Tok kind) { return kind == Tok::kUpper || kind == Tok::kMixed; }
  bool AtConverter() const { return IsName(Peek().kind) && Peek(1).kind == Tok::kLParen; }
  // `set(...)`: an editor where a converter is expected (accepted by the grammar, refused after).
  bool AtEditor() const {
    return (Peek().kind == Tok::kLower || Peek().kind == Tok::kMixed) &&
           (Peek().kind == Tok::kMixed ? Peek().text[0] >= 'a' : true) &&
           Peek(1).kind == Tok::kLParen;
  }

  // expr := term ("or" term)*
  absl::StatusOr<std::unique_ptr<BoolExpr>> ParseExpr() {
    std::vector<std::unique_ptr<BoolExpr>> terms;
    ASSIGN_OR_RETURN(auto first, ParseTerm());
    terms.push_back(std::move(first));
    while (Accept(Tok::kOr)) {
      ASSIGN_OR_RETURN(auto next, ParseTerm());
      terms.push_back(std::move(next));
    }
    return MakeOr(std::move(terms));
  }

  // term := boolValue ("and" boolValue)*
  absl::StatusOr<std::unique_ptr<BoolExpr>> ParseTerm() {
    std::vector<std::unique_ptr<BoolExpr>> terms;
    ASSIGN_OR_RETURN(auto first, ParseBoolValue());
    terms.push_back(std::move(first));
    while (Accept(Tok::kAnd)) {
      ASSIGN_OR_RETURN(auto next, ParseBoolValue());
      terms.push_back(std::move(next));
    }
    return MakeAnd(std::move(terms));
  }

  // boolValue := "not"? (comparison | Boolean | Converter | "(" expr ")")
  absl::StatusOr<std::unique_ptr<BoolExpr>> ParseBoolValue() {
    DepthGuard guard(this);
    RETURN_IF_ERROR(guard.Check(Peek()));
    const bool negate = Accept(Tok::kNot);
    auto inner = ParseBoolOperand();
    if (!inner.ok()) return inner.status();
    if (negate) return MakeNot(std::move(*inner));
    return inner;
  }

  absl::StatusOr<std::unique_ptr<BoolExpr>> ParseBoolOperand() {
    const size_t start = pos_;
    {
      auto cmp = ParseComparison();
      if (cmp.ok() || fatal_) return cmp;
      pos_ = start;
    }
    if (Peek().kind == Tok::kBool) {
      const bool value = Next().text == "true";
      return MakeConstant(value);
    }
    if (AtConverter() || AtEditor()) {
      auto converter = ParseConverter();
      if (!converter.ok()) return converter.status();
      return MakeConverterCondition(std::move(*converter));
    }
    if (Accept(Tok::kLParen)) {
      ASSIGN_OR_RETURN(auto inner, ParseExpr());
      RETURN_IF_ERROR(Expect(Tok::kRParen, "\")\""));
      return inner;
    }
    return Fail(Peek(), "a comparison, true, false, a converter or \"(\"");
  }

  // comparison := value OP value
  absl::StatusOr<std::unique_ptr<BoolExpr>> ParseComparison() {
    ASSIGN_OR_RETURN(auto left, ParseValue());
    if (Peek().kind != Tok::kCompare) return Fail(Peek(), "a comparison operator");
    const std::string_view op_text = Next().text;
    CompareOp op = CompareOp::kEq;
    if (op_text == "!=") op = CompareOp::kNe;
    if (op_text == "<") op = CompareOp::kLt;
    if (op_text == "<=") op = CompareOp::kLe;
    if (op_text == ">") op = CompareOp::kGt;
    if (op_text == ">=") op = CompareOp::kGe;
    ASSIGN_OR_RETURN(auto right, ParseValue());
    return MakeComparison(std::move(left), op, std::move(right));
  }

  static std::unique_ptr<Getter> Literal(Value v) {
    return std::make_unique<LiteralGetter>(std::move(v));
  }

  // value := nil | math | Bytes | String | Boolean | Enum | list | map
  absl::StatusOr<std::unique_ptr<Getter>> ParseValue() {
    const Token& t = Peek();
    switch (t.kind) {
      case Tok::kLower:
        if (t.text == "nil") {
          Next();
          return Literal(Value::Nil());
        }
        return ParseMath();
      case Tok::kInt:
      case Tok::kFloat:
      case Tok::kLParen:
        return ParseMath();
      case Tok::kBytes:
        Next();
        return Literal(Value::Owned(Type::kBytes, t.value));
      case Tok::kString:
        Next();
        return Literal(Value::OwnedStr(t.value));
      case Tok::kBool:
        Next();
        return Literal(Value::Bool(t.text == "true"));
      case Tok::kUpper:
        if (Peek(1).kind == Tok::kLParen) return ParseMath();
        Next();
        return ParseEnum(t);
      case Tok::kMixed:
        if (Peek(1).kind == Tok::kLParen) return ParseMath();
        break;
      case Tok::kLBracket:
        return ParseList();
      case Tok::kLBrace:
        return ParseMap();
      default:
        break;
    }
    return Fail(t, "a value");
  }

  absl::StatusOr<std::unique_ptr<Getter>> ParseEnum(const Token& t) {
    if (syntax_only_) return Literal(Value::Int(0));
    auto value = ResolveEnum(t.text, options_.context);
    if (!value.ok()) return Fatal(value.status());
    return Literal(Value::Int(*value));
  }

  // math := multDiv (("+"|"-") multDiv)*
  absl::StatusOr<std::unique_ptr<Getter>> ParseMath() {
    ASSIGN_OR_RETURN(auto left, ParseMulDiv());
    while (Peek().kind == Tok::kAddSub) {
      const MathOp op = Next().text == "+" ? MathOp::kAdd : MathOp::kSub;
      ASSIGN_OR_RETURN(auto right, ParseMulDiv());
      left = MakeMath(std::move(left), op, std::move(right));
    }
    return left;
  }

  absl::StatusOr<std::unique_ptr<Getter>> ParseMulDiv() {
    ASSIGN_OR_RETURN(auto left, ParseMathOperand());
    while (Peek().kind == Tok::kMulDiv) {
      const MathOp op = Next().text == "*" ? MathOp::kMul : MathOp::kDiv;
      ASSIGN_OR_RETURN(auto right, ParseMathOperand());
      left = MakeMath(std::move(left), op, std::move(right));
    }
    return left;
  }

  // Converter | Float | Int | path | "(" math ")"
  absl::StatusOr<std::unique_ptr<Getter>> ParseMathOperand() {
    const Token& t = Peek();
    switch (t.kind) {
      case Tok::kInt: {
        Next();
        std::string_view digits = t.text;
        if (!digits.empty() && digits[0] == '+') digits.remove_prefix(1);
        int64_t v = 0;
        auto res = std::from_chars(digits.data(), digits.data() + digits.size(), v);
        if (res.ec != std::errc() || res.ptr != digits.data() + digits.size()) {
          return FatalSyntax(
              t, absl::StrCat("invalid int literal ", AV(t.text), ": value out of range"));
        }
        return Literal(Value::Int(v));
      }
      case Tok::kFloat: {
        Next();
        std::string_view digits = t.text;
        if (!digits.empty() && digits[0] == '+') digits.remove_prefix(1);
        double v = 0;
        auto res = std::from_chars(digits.data(), digits.data() + digits.size(), v);
        if (res.ec != std::errc() || res.ptr != digits.data() + digits.size() ||
            !std::isfinite(v)) {
          return FatalSyntax(
              t, absl::StrCat("invalid float literal ", AV(t.text), ": value out of range"));
        }
        return Literal(Value::Double(v));
      }
      case Tok::kLParen: {
        DepthGuard guard(this);
        RETURN_IF_ERROR(guard.Check(t));
        Next();
        ASSIGN_OR_RETURN(auto inner, ParseMath());
        RETURN_IF_ERROR(Expect(Tok::kRParen, "\")\""));
        return inner;
      }
      case Tok::kLower:
      case Tok::kMixed:
      case Tok::kUpper:
        if (AtConverter() || AtEditor()) return ParseConverter();
        if (t.kind == Tok::kLower && t.text != "nil") return ParsePath();
        break;
      default:
        break;
    }
    return Fail(t, "a number, a path, a converter or \"(\"");
  }

  absl::Status FatalSyntax(const Token& at, std::string_view what) {
    return Fatal(absl::InvalidArgumentError(
        absl::StrCat(AV(kSyntaxPrefix), Position(text_, at.offset), ": ", AV(what))));
  }

  // key := "[" (String | Int | path | Converter) "]"
  absl::Status ParseKeys(std::vector<Key>* keys) {
    while (Peek().kind == Tok::kLBracket) {
      DepthGuard guard(this);
      RETURN_IF_ERROR(guard.Check(Peek()));
      Next();
      const Token& t = Peek();
      Key key;
      if (t.kind == Tok::kString) {
        Next();
        key.kind = Key::kString;
        key.str = t.value;
      } else if (t.kind == Tok::kInt) {
        Next();
        std::string_view digits = t.text;
        if (!digits.empty() && digits[0] == '+') digits.remove_prefix(1);
        auto res = std::from_chars(digits.data(), digits.data() + digits.size(), key.index);
        if (res.ec != std::errc() || res.ptr != digits.data() + digits.size()) {
          return FatalSyntax(
              t, absl::StrCat("invalid int literal ", AV(t.text), ": value out of range"));
        }
        key.kind = Key::kInt;
      } else if (AtConverter() || AtEditor()) {
        key.kind = Key::kDynamic;
        ASSIGN_OR_RETURN(key.getter, ParseConverter());
      } else if (t.kind == Tok::kLower && t.text != "nil") {
        key.kind = Key::kDynamic;
        ASSIGN_OR_RETURN(key.getter, ParsePath());
      } else {
        return Fail(t, "a string, an int, a path or a converter");
      }
      RETURN_IF_ERROR(Expect(Tok::kRBracket, "\"]\""));
      keys->push_back(std::move(key));
    }
    return absl::OkStatus();
  }

  // path := Lowercase key* ("." Lowercase key*)*
  absl::StatusOr<std::unique_ptr<Getter>> ParsePath() {
    std::vector<PathSegment> segments;
    while (true) {
      const Token& t = Peek();
      if (t.kind != Tok::kLower || t.text == "nil") return Fail(t, "a path segment");
      Next();
      PathSegment seg;
      seg.name = std::string(t.text);
      seg.offset = t.offset;
      RETURN_IF_ERROR(ParseKeys(&seg.keys));
      segments.push_back(std::move(seg));
      if (Peek().kind != Tok::kDot) break;
      Next();
    }
    if (syntax_only_) {
      path_heads_.push_back(segments[0].name);
      return Literal(Value::Nil());
    }
    auto getter = ResolvePath(std::move(segments), options_);
    if (!getter.ok()) return Fatal(getter.status());
    return getter;
  }

  // Converter := Name "(" (arg ("," arg)*)? ")" key*;  arg := (Lowercase "=")? value
  absl::StatusOr<std::unique_ptr<Getter>> ParseConverter() {
    DepthGuard guard(this);
    const Token& name = Next();
    RETURN_IF_ERROR(guard.Check(name));
    if (name.text[0] >= 'a' && custom_error_.ok()) {
      custom_error_ = absl::InvalidArgumentError(absl::StrCat(
          "converter names must start with an uppercase letter but got '", AV(name.text), "'"));
    }
    RETURN_IF_ERROR(Expect(Tok::kLParen, "\"(\""));
    std::vector<Arg> args;
    if (!Accept(Tok::kRParen)) {
      while (true) {
        Arg arg;
        arg.offset = Peek().offset;
        if (Peek().kind == Tok::kLower && Peek(1).kind == Tok::kEqual) {
          arg.name = std::string(Next().text);
          Next();
        }
        ASSIGN_OR_RETURN(arg.getter, ParseValue());
        args.push_back(std::move(arg));
        if (Accept(Tok::kComma)) continue;
        RETURN_IF_ERROR(Expect(Tok::kRParen, "\",\" or \")\""));
        break;
      }
    }
    std::vector<Key> keys;
    RETURN_IF_ERROR(ParseKeys(&keys));
    if (syntax_only_ || name.text[0] >= 'a') return Literal(Value::Nil());
    auto converter =
        MakeConverter(name.text, name.offset, std::move(args), std::move(keys), options_);
    if (!converter.ok()) return Fatal(converter.status());
    return converter;
  }

  // list := "[" (value ("," value)*)? "]"
  absl::StatusOr<std::unique_ptr<Getter>> ParseList() {
    DepthGuard guard(this);
    RETURN_IF_ERROR(guard.Check(Peek()));
    Next();
    std::vector<std::unique_ptr<Getter>> items;
    if (!Accept(Tok::kRBracket)) {
      while (true) {
        ASSIGN_OR_RETURN(auto item, ParseValue());
        items.push_back(std::move(item));
        if (Accept(Tok::kComma)) continue;
        RETURN_IF_ERROR(Expect(Tok::kRBracket, "\",\" or \"]\""));
        break;
      }
    }
    bool constant = true;
    for (const auto& item : items) constant = constant && item->literal() != nullptr;
    if (!constant) return MakeList(std::move(items));
    auto list = std::make_shared<OwnedList>();
    for (const auto& item : items) list->items.push_back(*item->literal());
    return Literal(Value::OwnedListValue(std::move(list)));
  }

  // map := "{" (String ":" value ("," String ":" value)*)? "}"
  absl::StatusOr<std::unique_ptr<Getter>> ParseMap() {
    DepthGuard guard(this);
    RETURN_IF_ERROR(guard.Check(Peek()));
    Next();
    std::vector<std::pair<std::string, std::unique_ptr<Getter>>> items;
    if (!Accept(Tok::kRBrace)) {
      while (true) {
        const Token& key = Peek();
        if (key.kind != Tok::kString) return Fail(key, "a string key");
        Next();
        RETURN_IF_ERROR(Expect(Tok::kColon, "\":\""));
        ASSIGN_OR_RETURN(auto item, ParseValue());
        items.emplace_back(key.value, std::move(item));
        if (Accept(Tok::kComma)) continue;
        RETURN_IF_ERROR(Expect(Tok::kRBrace, "\",\" or \"}\""));
        break;
      }
    }
    bool constant = true;
    for (const auto& item : items) constant = constant && item.second->literal() != nullptr;
    if (!constant) return MakeMap(std::move(items));
    auto map = std::make_shared<OwnedMap>();
    for (const auto& [k, item] : items) map->entries.emplace_back(k, *item->literal());
    return Literal(Value::OwnedMapValue(std::move(map)));
  }

  std::string_view text_;
  const std::vector<Token>& tokens_;
  const ParserOptions& options_;
  const bool syntax_only_;
  size_t pos_ = 0;
  int depth_ = 0;
  bool fatal_ = false;
  bool have_failure_ = false;
  size_t furthest_offset_ = 0;
  std::string furthest_message_;
  absl::Status custom_error_;
  std::vector<std::string> path_heads_;
};

absl::StatusOr<std::vector<Token>> LexCondition(std::string_view text) {
  auto tokens = Lex(text);
  if (!tokens.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(AV(kSyntaxPrefix), tokens.status().message()));
  }
  return tokens;
}

}  // namespace

absl::StatusOr<Condition> Condition::Parse(std::string_view text, const ParserOptions& options) {
  ASSIGN_OR_RETURN(std::vector<Token> tokens, LexCondition(text));
  {
    Parser syntax(text, tokens, options, /*syntax_only=*/true);
    RETURN_IF_ERROR(syntax.ParseCondition().status());
  }
  Parser parser(text, tokens, options, /*syntax_only=*/false);
  ASSIGN_OR_RETURN(auto root, parser.ParseCondition());
  auto impl = std::make_shared<Impl>();
  impl->text = std::string(text);
  impl->root = std::move(root);
  return Condition(std::move(impl));
}

absl::StatusOr<ContextKind> InferContext(std::string_view text, otlp::Signal signal) {
  std::vector<ContextKind> allowed;
  switch (signal) {
    case otlp::Signal::kTraces:
      allowed = {ContextKind::kResource, ContextKind::kScope, ContextKind::kSpan,
                 ContextKind::kSpanEvent};
      break;
    case otlp::Signal::kMetrics:
      allowed = {ContextKind::kResource, ContextKind::kScope, ContextKind::kMetric,
                 ContextKind::kDataPoint};
      break;
    case otlp::Signal::kLogs:
      allowed = {ContextKind::kResource, ContextKind::kScope, ContextKind::kLog};
      break;
  }
  auto unable = [&]() {
    std::vector<std::string> names;
    for (ContextKind k : allowed) names.push_back(absl::StrCat("\"", AV(ContextName(k)), "\""));
    return absl::InvalidArgumentError(absl::StrCat("unable to infer a valid context ([",
                                                   absl::StrJoin(names, " "),
                                                   "]) from condition \"", AV(text), "\""));
  };
  ASSIGN_OR_RETURN(std::vector<Token> tokens, LexCondition(text));
  ParserOptions options;
  options.context_prefixed_paths = true;
  Parser parser(text, tokens, options, /*syntax_only=*/true);
  RETURN_IF_ERROR(parser.ParseCondition().status());
  std::set<ContextKind> named;
  for (const std::string& head : parser.path_heads()) {
    if (auto kind = PathContextName(head)) named.insert(*kind);
  }
  if (named.empty()) return unable();
  // The innermost context named; every other one must contain it.
  std::optional<ContextKind> innermost;
  for (ContextKind k : named) {
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) return unable();
    if (!innermost || ContextContains(*innermost, k)) innermost = k;
  }
  for (ContextKind k : named) {
    if (!ContextContains(k, *innermost)) return unable();
  }
  return *innermost;
}

}  // namespace sprout::ottl
