#include "metrics/promql/parser.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "metrics/promql/functions.h"
#include "base/go_text.h"
#include "metrics/promql/lexer.h"
#include "re2/re2.h"

namespace sprout::metrics::promql {
namespace {

// Thrown (and caught in Parse) at the first error: Prometheus reports only the first one, and
// nothing after it can change that.
struct Abort {};

bool IsSpaceByte(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

int BinaryPrecedence(Tok t) {
  switch (t) {
    case Tok::kLor:
      return 1;
    case Tok::kLand:
    case Tok::kLunless:
      return 2;
    case Tok::kEqlc:
    case Tok::kNeq:
    case Tok::kGtr:
    case Tok::kLss:
    case Tok::kGte:
    case Tok::kLte:
      return 3;
    case Tok::kAdd:
    case Tok::kSub:
      return 4;
    case Tok::kMul:
    case Tok::kDiv:
    case Tok::kMod:
    case Tok::kAtan2:
      return 5;
    case Tok::kPow:
      return 6;
    default:
      return -1;
  }
}

BinaryOp ToBinaryOp(Tok t) {
  switch (t) {
    case Tok::kAdd:
      return BinaryOp::kAdd;
    case Tok::kSub:
      return BinaryOp::kSub;
    case Tok::kMul:
      return BinaryOp::kMul;
    case Tok::kDiv:
      return BinaryOp::kDiv;
    case Tok::kMod:
      return BinaryOp::kMod;
    case Tok::kPow:
      return BinaryOp::kPow;
    case Tok::kAtan2:
      return BinaryOp::kAtan2;
    case Tok::kEqlc:
      return BinaryOp::kEql;
    case Tok::kNeq:
      return BinaryOp::kNeq;
    case Tok::kGtr:
      return BinaryOp::kGtr;
    case Tok::kLss:
      return BinaryOp::kLss;
    case Tok::kGte:
      return BinaryOp::kGte;
    case Tok::kLte:
      return BinaryOp::kLte;
    case Tok::kLand:
      return BinaryOp::kAnd;
    case Tok::kLor:
      return BinaryOp::kOr;
    default:
      return BinaryOp::kUnless;
  }
}

AggregateOp ToAggregateOp(Tok t) {
  switch (t) {
    case Tok::kAvg:
      return AggregateOp::kAvg;
    case Tok::kBottomk:
      return AggregateOp::kBottomk;
    case Tok::kCount:
      return AggregateOp::kCount;
    case Tok::kCountValues:
      return AggregateOp::kCountValues;
    case Tok::kGroup:
      return AggregateOp::kGroup;
    case Tok::kMax:
      return AggregateOp::kMax;
    case Tok::kMin:
      return AggregateOp::kMin;
    case Tok::kQuantile:
      return AggregateOp::kQuantile;
    case Tok::kStddev:
      return AggregateOp::kStddev;
    case Tok::kStdvar:
      return AggregateOp::kStdvar;
    case Tok::kTopk:
      return AggregateOp::kTopk;
    case Tok::kLimitk:
      return AggregateOp::kLimitk;
    case Tok::kLimitRatio:
      return AggregateOp::kLimitRatio;
    default:
      return AggregateOp::kSum;
  }
}

// Words that may name a metric although the lexer made them keywords (Prometheus's
// metric_identifier rule).
bool IsMetricIdentifierTok(Tok t) {
  if (IsAggregatorTok(t)) return true;
  switch (t) {
    case Tok::kIdentifier:
    case Tok::kMetricIdentifier:
    case Tok::kBy:
    case Tok::kLand:
    case Tok::kLor:
    case Tok::kLunless:
    case Tok::kOffset:
    case Tok::kWithout:
    case Tok::kStart:
    case Tok::kEnd:
      return true;
    default:
      return false;
  }
}

// Words that may name a label in grouping clauses (Prometheus's maybe_label rule).
bool IsMaybeLabelTok(Tok t) {
  if (IsAggregatorTok(t)) return true;
  switch (t) {
    case Tok::kIdentifier:
    case Tok::kMetricIdentifier:
    case Tok::kBool:
    case Tok::kBy:
    case Tok::kGroupLeft:
    case Tok::kGroupRight:
    case Tok::kIgnoring:
    case Tok::kLand:
    case Tok::kLor:
    case Tok::kLunless:
    case Tok::kOffset:
    case Tok::kOn:
    case Tok::kStart:
    case Tok::kEnd:
    case Tok::kAtan2:
      return true;
    default:
      return false;
  }
}

bool CanStartExpr(Tok t) {
  switch (t) {
    case Tok::kNumber:
    case Tok::kString:
    case Tok::kLeftParen:
    case Tok::kLeftBrace:
    case Tok::kAdd:
    case Tok::kSub:
      return true;
    default:
      return IsMetricIdentifierTok(t);
  }
}

bool IsLegacyLabelName(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// Go's Unquote of a lexed string token (escapes already validated by the lexer).
std::string Unquote(std::string_view tok) {
  if (tok.size() < 2) return std::string();
  const char quote = tok[0];
  std::string_view s = tok.substr(1, tok.size() - 2);
  if (quote == '`') return std::string(s);  // raw: kept as written, \r included
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out.push_back(s[i]);
      continue;
    }
    char c = s[++i];
    auto hex = [&](int n) {
      uint32_t v = 0;
      for (int k = 0; k < n; ++k) {
        char h = s[++i];
        v = v * 16 + (h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
      }
      return v;
    };
    switch (c) {
      case 'a':
        out.push_back('\a');
        break;
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'v':
        out.push_back('\v');
        break;
      case 'x':
        out.push_back(static_cast<char>(hex(2)));
        break;
      case 'u':
        AppendUtf8(static_cast<int32_t>(hex(4)), &out);
        break;
      case 'U':
        AppendUtf8(static_cast<int32_t>(hex(8)), &out);
        break;
      case '0':
      case '1':
      case '2':
      case '3':
      case '4':
      case '5':
      case '6':
      case '7': {
        uint32_t v = static_cast<uint32_t>(c - '0');
        v = v * 8 + static_cast<uint32_t>(s[++i] - '0');
        v = v * 8 + static_cast<uint32_t>(s[++i] - '0');
        out.push_back(static_cast<char>(v));
        break;
      }
      default:
        out.push_back(c);
        break;  // \\ and the quote
    }
  }
  return out;
}

std::string GoRegexpErrorCode(RE2::ErrorCode code) {
  switch (code) {
    case RE2::ErrorMissingParen:
      return "missing closing )";
    case RE2::ErrorUnexpectedParen:
      return "unexpected )";
    case RE2::ErrorMissingBracket:
      return "missing closing ]";
    case RE2::ErrorBadCharRange:
      return "invalid character class range";
    case RE2::ErrorBadEscape:
      return "invalid escape sequence";
    case RE2::ErrorBadCharClass:
      return "invalid character class";
    case RE2::ErrorRepeatArgument:
      return "missing argument to repetition operator";
    case RE2::ErrorRepeatSize:
      return "invalid repeat count";
    case RE2::ErrorRepeatOp:
      return "invalid nested repetition operator";
    case RE2::ErrorBadPerlOp:
      return "invalid or unsupported Perl syntax";
    case RE2::ErrorBadUTF8:
      return "invalid UTF-8";
    case RE2::ErrorBadNamedCapture:
      return "invalid named capture";
    case RE2::ErrorTrailingBackslash:
      return "trailing backslash at end of expression";
    case RE2::ErrorPatternTooLarge:
      return "expression too large";
    default:
      return "invalid regexp";
  }
}

RE2::Options RegexOptions() {
  RE2::Options o;
  o.set_log_errors(false);
  return o;
}

// Whether a matcher matches the empty string (the "at least one non-empty matcher" rule).
bool MatchesEmpty(const LabelMatcher& m) {
  switch (m.type) {
    case MatchType::kEqual:
      return m.value.empty();
    case MatchType::kNotEqual:
      return !m.value.empty();
    default: {
      RE2 re("^(?:" + m.value + ")$", RegexOptions());
      bool match = re.ok() && RE2::FullMatch("", re);
      return m.type == MatchType::kRegexMatch ? match : !match;
    }
  }
}

class Parser {
 public:
  explicit Parser(std::string_view in) : in_(in), lex_(in) {}

  ExprPtr ParseTop() {
    if (Peek().type == Tok::kEof) Fail(PosRange{0, 0}, "no expression found in input");
    ExprPtr e = ParseBinary(0);
    if (Peek().type != Tok::kEof) Unexpected("", "");
    Check(*e);
    return e;
  }

  ParseError error;

 private:
  [[noreturn]] void Fail(PosRange pos, std::string message) {
    if (lexer_failed_) throw Abort{};  // the lexer's error came first
    error.pos = pos;
    error.message = std::move(message);
    throw Abort{};
  }

  // A syntax error at the lookahead, in the innermost construct that has an error rule.
  [[noreturn]] void Unexpected(std::string_view context, std::string_view expected) {
    const Token& t = Peek();
    if (t.type == Tok::kError) throw Abort{};  // already recorded
    std::string msg = "unexpected " + Lexer::Describe(t);
    if (context.empty() && aggregation_depth_ > 0) context = "aggregation";
    if (!context.empty()) msg += " in " + std::string(context);
    if (!expected.empty()) msg += ", expected " + std::string(expected);
    Fail(PosRange{t.pos, t.pos + static_cast<int32_t>(t.text.size())}, std::move(msg));
  }

  const Token& Peek() {
    if (!have_) {
      do {
        tok_ = lex_.Next();
      } while (tok_.type == Tok::kComment);
      have_ = true;
      if (tok_.type == Tok::kError) {
        error.pos = PosRange{tok_.pos, static_cast<int32_t>(in_.size())};
        error.message = lex_.error();
        lexer_failed_ = true;
      }
    }
    return tok_;
  }

  Token Take() {
    Peek();
    if (lexer_failed_) throw Abort{};
    have_ = false;
    return tok_;
  }

  static int32_t End(const Token& t) { return t.pos + static_cast<int32_t>(t.text.size()); }

  double Number(const Token& t) {
    double v;
    std::string err;
    if (!ParseNumberLiteral(t.text, &v, &err))
      Fail(PosRange{t.pos, End(t)}, "error parsing number: " + err);
    return v;
  }

  int64_t Duration(const Token& t) {
    int64_t ms;
    std::string err;
    if (!ParsePromDuration(t.text, &ms, &err)) Fail(PosRange{t.pos, End(t)}, err);
    if (ms == 0) Fail(PosRange{t.pos, End(t)}, "duration must be greater than 0");
    return ms;
  }

  // Computes e's height from its children and refuses trees higher than kMaxDepth.
  void Seal(Expr* e) {
    int32_t h = 0;
    auto take = [&](const ExprPtr& c) {
      if (c) h = std::max(h, c->height);
    };
    take(e->lhs);
    take(e->rhs);
    take(e->expr);
    take(e->param);
    for (const auto& a : e->args) take(a);
    e->height = h + 1;
    if (e->height > kMaxDepth) Fail(e->pos, "expression nests too deeply");
  }

  struct DepthGuard {
    explicit DepthGuard(Parser* p) : p(p) {
      if (++p->depth_ > kMaxDepth) {
        const Token& t = p->Peek();
        p->Fail(PosRange{t.pos, End(t)}, "expression nests too deeply");
      }
    }
    ~DepthGuard() { --p->depth_; }
    Parser* p;
  };

  ExprPtr ParseBinary(int min_prec) {
    DepthGuard guard(this);
    ExprPtr lhs = ParseUnary();
    while (true) {
      const Tok t = Peek().type;
      const int prec = BinaryPrecedence(t);
      if (prec < 0 || prec < min_prec) break;
      Take();
      auto bin = std::make_unique<Expr>();
      bin->kind = NodeKind::kBinary;
      bin->binary_op = ToBinaryOp(t);
      bin->matching = std::make_unique<VectorMatching>();
      if (Peek().type == Tok::kBool) {
        Take();
        bin->return_bool = true;
      }
      if (Peek().type == Tok::kOn || Peek().type == Tok::kIgnoring) {
        bin->matching->on = Take().type == Tok::kOn;
        bin->matching->matching_labels = ParseGroupingLabels();
        if (Peek().type == Tok::kGroupLeft || Peek().type == Tok::kGroupRight) {
          bin->matching->card =
              Take().type == Tok::kGroupLeft ? Cardinality::kManyToOne : Cardinality::kOneToMany;
          if (Peek().type == Tok::kLeftParen) bin->matching->include = ParseGroupingLabels();
        }
      }
      ExprPtr rhs = ParseBinary(t == Tok::kPow ? prec : prec + 1);
      bin->pos = PosRange{lhs->pos.start, rhs->pos.end};
      bin->lhs = std::move(lhs);
      bin->rhs = std::move(rhs);
      Seal(bin.get());
      lhs = std::move(bin);
    }
    return lhs;
  }

  ExprPtr ParseUnary() {
    const Token& t = Peek();
    if (t.type != Tok::kAdd && t.type != Tok::kSub) return ParsePostfix(ParsePrimary());
    Token op = Take();
    DepthGuard guard(this);
    ExprPtr operand = ParseBinary(6);  // binds like '*': only '^' reaches into the operand
    if (operand->kind == NodeKind::kNumber) {
      if (op.type == Tok::kSub) operand->number = -operand->number;
      operand->pos.start = op.pos;
      return operand;
    }
    auto u = std::make_unique<Expr>();
    u->kind = NodeKind::kUnary;
    u->unary_minus = op.type == Tok::kSub;
    u->pos = PosRange{op.pos, operand->pos.end};
    u->expr = std::move(operand);
    Seal(u.get());
    return u;
  }

  ExprPtr ParsePrimary() {
    const Token t = Peek();
    switch (t.type) {
      case Tok::kNumber: {
        Take();
        auto e = std::make_unique<Expr>();
        e->kind = NodeKind::kNumber;
        e->number = Number(t);
        e->pos = PosRange{t.pos, End(t)};
        return e;
      }
      case Tok::kString: {
        Take();
        auto e = std::make_unique<Expr>();
        e->kind = NodeKind::kString;
        e->str = Unquote(t.text);
        e->pos = PosRange{t.pos, End(t)};
        return e;
      }
      case Tok::kLeftParen: {
        Take();
        ExprPtr inner = ParseBinary(0);
        if (Peek().type != Tok::kRightParen) Unexpected("", "");
        Token close = Take();
        auto e = std::make_unique<Expr>();
        e->kind = NodeKind::kParen;
        e->pos = PosRange{t.pos, End(close)};
        e->expr = std::move(inner);
        Seal(e.get());
        return e;
      }
      case Tok::kLeftBrace: {
        auto e = std::make_unique<Expr>();
        e->kind = NodeKind::kVectorSelector;
        e->pos.start = t.pos;
        ParseLabelMatchers(e.get());
        return e;
      }
      default:
        break;
    }
    if (!IsMetricIdentifierTok(t.type)) Unexpected("", "");
    Take();
    if (IsAggregatorTok(t.type)) {
      Tok next = Peek().type;
      if (next == Tok::kLeftParen || next == Tok::kBy || next == Tok::kWithout)
        return ParseAggregate(t);
    }
    if (t.type == Tok::kIdentifier && Peek().type == Tok::kLeftParen) return ParseCall(t);
    auto e = std::make_unique<Expr>();
    e->kind = NodeKind::kVectorSelector;
    e->metric_name = std::string(t.text);
    e->pos = PosRange{t.pos, End(t)};
    if (Peek().type == Tok::kLeftBrace) ParseLabelMatchers(e.get());
    e->matchers.push_back(LabelMatcher{MatchType::kEqual, "__name__", e->metric_name});
    return e;
  }

  // `{...}` of a selector; `e` may already hold the name given before the braces.
  void ParseLabelMatchers(Expr* e) {
    Take();  // {
    std::string quoted_name;
    int32_t quoted_name_pos = -1;
    if (Peek().type != Tok::kRightBrace) {
      while (true) {
        const Token t = Peek();
        if (t.type == Tok::kIdentifier || t.type == Tok::kString) {
          Take();
          std::string name = t.type == Tok::kString ? Unquote(t.text) : std::string(t.text);
          const Tok op = Peek().type;
          if (t.type == Tok::kString &&
              (op == Tok::kComma || op == Tok::kRightBrace)) {  // {"metric.name", ...}
            if (quoted_name_pos >= 0) {
              Fail(PosRange{t.pos, End(t)}, "metric name must not be set twice: " +
                                                GoQuote(quoted_name) + " or " + GoQuote(name));
            }
            quoted_name = std::move(name);
            quoted_name_pos = t.pos;
          } else {
            if (op != Tok::kEql && op != Tok::kNeq && op != Tok::kEqlRegex &&
                op != Tok::kNeqRegex) {
              Unexpected("label matching", "label matching operator");
            }
            Take();
            const Token v = Peek();
            if (v.type != Tok::kString) Unexpected("label matching", "string");
            Take();
            LabelMatcher m;
            m.type = op == Tok::kEql        ? MatchType::kEqual
                     : op == Tok::kNeq      ? MatchType::kNotEqual
                     : op == Tok::kEqlRegex ? MatchType::kRegexMatch
                                            : MatchType::kRegexNoMatch;
            m.name = std::move(name);
            m.value = Unquote(v.text);
            if (m.type == MatchType::kRegexMatch || m.type == MatchType::kRegexNoMatch) {
              const std::string anchored = "^(?:" + m.value + ")$";
              RE2 re(anchored, RegexOptions());
              if (!re.ok()) {
                std::string arg = re.error_arg();
                if (re.error_code() == RE2::ErrorMissingParen) arg = anchored;
                Fail(PosRange{t.pos, End(v)},
                     "error parsing regexp: " + GoRegexpErrorCode(re.error_code()) + ": `" + arg +
                         "`");
              }
            }
            e->matchers.push_back(std::move(m));
          }
        } else {
          Unexpected("label matching", "identifier or \"}\"");
        }
        const Tok sep = Peek().type;
        if (sep == Tok::kComma) {
          Take();
          if (Peek().type == Tok::kRightBrace) break;
          continue;
        }
        if (sep == Tok::kRightBrace) break;
        Unexpected("label matching", "\",\" or \"}\"");
      }
    }
    Token close = Take();  // }
    e->pos.end = End(close);
    if (quoted_name_pos >= 0) {
      if (!e->metric_name.empty()) {
        Fail(PosRange{e->pos.start, e->pos.end},
             "metric name must not be set twice: " + GoQuote(e->metric_name) + " or " +
                 GoQuote(quoted_name));
      }
      e->metric_name = quoted_name;
      e->matchers.push_back(LabelMatcher{MatchType::kEqual, "__name__", quoted_name});
    }
  }

  std::vector<std::string> ParseGroupingLabels() {
    if (Peek().type != Tok::kLeftParen) Unexpected("grouping opts", "\"(\"");
    Take();
    std::vector<std::string> labels;
    if (Peek().type == Tok::kRightParen) {
      last_grouping_end_ = End(Take());
      return labels;
    }
    while (true) {
      const Token t = Peek();
      if (t.type == Tok::kString) {
        Take();
        labels.push_back(Unquote(t.text));
      } else if (IsMaybeLabelTok(t.type)) {
        Take();
        if (!IsLegacyLabelName(t.text)) {
          Fail(PosRange{t.pos, End(t)},
               "unexpected " + Lexer::Describe(t) + " in grouping opts, expected label");
        }
        labels.emplace_back(t.text);
      } else {
        Unexpected("grouping opts", "label");
      }
      const Tok sep = Peek().type;
      if (sep == Tok::kComma) {
        Take();
        if (Peek().type == Tok::kRightParen) {
          last_grouping_end_ = End(Take());
          return labels;
        }
        continue;
      }
      if (sep == Tok::kRightParen) {
        last_grouping_end_ = End(Take());
        return labels;
      }
      Unexpected("grouping opts", "\",\" or \")\"");
    }
  }

  // `( args )` of a call or an aggregation; returns the arguments and the closing paren's end.
  std::vector<ExprPtr> ParseCallBody(int32_t* end) {
    Take();  // (
    std::vector<ExprPtr> args;
    if (Peek().type != Tok::kRightParen) {
      while (true) {
        args.push_back(ParseBinary(0));
        if (Peek().type == Tok::kComma) {
          Token comma = Take();
          if (!CanStartExpr(Peek().type)) {
            Fail(PosRange{comma.pos, End(comma)},
                 "trailing commas not allowed in function call args");
          }
          continue;
        }
        if (Peek().type == Tok::kRightParen) break;
        Unexpected("", "");
      }
    }
    *end = End(Take());
    return args;
  }

  ExprPtr ParseCall(const Token& name) {
    int32_t end;
    std::vector<ExprPtr> args = ParseCallBody(&end);
    const Function* f = FindFunction(name.text);
    if (!f) Fail(PosRange{name.pos, End(name)}, "unknown function with name " + GoQuote(name.text));
    auto e = std::make_unique<Expr>();
    e->kind = NodeKind::kCall;
    e->func = f;
    e->args = std::move(args);
    e->pos = PosRange{name.pos, end};
    Seal(e.get());
    return e;
  }

  ExprPtr ParseAggregate(const Token& op) {
    auto e = std::make_unique<Expr>();
    e->kind = NodeKind::kAggregate;
    e->aggregate_op = ToAggregateOp(op.type);
    ++aggregation_depth_;
    bool modifier_before = false;
    if (Peek().type == Tok::kBy || Peek().type == Tok::kWithout) {
      e->without = Take().type == Tok::kWithout;
      e->grouping = ParseGroupingLabels();
      modifier_before = true;
    }
    if (Peek().type != Tok::kLeftParen) Unexpected("", "");
    int32_t end;
    std::vector<ExprPtr> args = ParseCallBody(&end);
    --aggregation_depth_;
    if (!modifier_before && (Peek().type == Tok::kBy || Peek().type == Tok::kWithout)) {
      e->without = Take().type == Tok::kWithout;
      e->grouping = ParseGroupingLabels();
      end = last_grouping_end_;
    }
    e->pos = PosRange{op.pos, end};
    if (args.empty()) Fail(e->pos, "no arguments for aggregate expression provided");
    const size_t want = AggregateHasParam(e->aggregate_op) ? 2 : 1;
    if (args.size() != want) {
      Fail(e->pos, "wrong number of arguments for aggregate expression provided, expected " +
                       std::to_string(want) + ", got " + std::to_string(args.size()));
    }
    if (want == 2) e->param = std::move(args[0]);
    e->expr = std::move(args[want - 1]);
    Seal(e.get());
    return e;
  }

  ExprPtr ParsePostfix(ExprPtr e) {
    while (true) {
      const Tok t = Peek().type;
      if (t == Tok::kLeftBracket) {
        e = ParseRangeOrSubquery(std::move(e));
      } else if (t == Tok::kOffset) {
        ParseOffset(e.get());
      } else if (t == Tok::kAt) {
        ParseAt(e.get());
      } else {
        return e;
      }
    }
  }

  ExprPtr ParseRangeOrSubquery(ExprPtr e) {
    Token open = Take();
    if (Peek().type != Tok::kDuration) Unexpected("subquery selector", "duration");
    const int64_t range = Duration(Take());
    const Tok t = Peek().type;
    if (t == Tok::kRightBracket) {
      Token close = Take();
      const char* err = nullptr;
      if (e->kind != NodeKind::kVectorSelector) {
        err = "ranges only allowed for vector selectors";
      } else if (e->offset_ms != 0) {
        err = "no offset modifiers allowed before range";
      } else if (e->at != AtKind::kNone) {
        err = "no @ modifiers allowed before range";
      }
      if (err) Fail(PosRange{open.pos, End(close)}, err);
      auto m = std::make_unique<Expr>();
      m->kind = NodeKind::kMatrixSelector;
      m->range_ms = range;
      m->pos = PosRange{e->pos.start, End(close)};
      m->expr = std::move(e);
      Seal(m.get());
      return m;
    }
    if (t != Tok::kColon) Unexpected("subquery or range", "\":\" or \"]\"");
    Take();
    int64_t step = 0;
    if (Peek().type == Tok::kDuration) {
      step = Duration(Take());
      if (Peek().type != Tok::kRightBracket) Unexpected("subquery selector", "\"]\"");
    } else if (Peek().type != Tok::kRightBracket) {
      Unexpected("subquery selector", "duration or \"]\"");
    }
    Token close = Take();
    auto s = std::make_unique<Expr>();
    s->kind = NodeKind::kSubquery;
    s->range_ms = range;
    s->step_ms = step;
    s->pos = PosRange{e->pos.start, End(close)};
    s->expr = std::move(e);
    Seal(s.get());
    return s;
  }

  // The node that holds the offset and @ of `e` (the vector selector of a range selector).
  Expr* ModifierTarget(Expr* e, const char* what) {
    switch (e->kind) {
      case NodeKind::kVectorSelector:
      case NodeKind::kSubquery:
        return e;
      case NodeKind::kMatrixSelector:
        return e->expr.get();
      default:
        Fail(e->pos, std::string(what) +
                         " modifier must be preceded by an instant vector selector or range vector "
                         "selector or a subquery");
    }
  }

  void ParseOffset(Expr* e) {
    Take();
    bool negative = false;
    if (Peek().type == Tok::kSub) {
      Take();
      negative = true;
    }
    if (Peek().type != Tok::kDuration) Unexpected("offset", "duration");
    Token d = Take();
    const int64_t ms = Duration(d);
    Expr* target = ModifierTarget(e, "offset");
    if (target->offset_ms != 0) Fail(e->pos, "offset may not be set multiple times");
    target->offset_ms = negative ? -ms : ms;
    e->pos.end = End(d);
  }

  void ParseAt(Expr* e) {
    Take();
    const Token t = Peek();
    if (t.type == Tok::kStart || t.type == Tok::kEnd) {
      Take();
      if (Peek().type != Tok::kLeftParen) Unexpected("@", "timestamp");
      Take();
      if (Peek().type != Tok::kRightParen) Unexpected("@", "timestamp");
      Token close = Take();
      Expr* target = ModifierTarget(e, "@");
      if (target->at != AtKind::kNone) Fail(e->pos, "@ <timestamp> may not be set multiple times");
      target->at = t.type == Tok::kStart ? AtKind::kStart : AtKind::kEnd;
      e->pos.end = End(close);
      return;
    }
    bool negative = false;
    if (t.type == Tok::kAdd || t.type == Tok::kSub) {
      Take();
      negative = t.type == Tok::kSub;
    }
    if (Peek().type != Tok::kNumber) Unexpected("@", "timestamp");
    Token n = Take();
    double ts = Number(n);
    if (negative) ts = -ts;
    if (std::isinf(ts) || std::isnan(ts) || ts >= 9.223372036854775807e18 ||
        ts <= -9.223372036854775808e18) {
      char buf[400];  // %f of the largest double: 309 digits and the decimals
      std::string text;
      if (std::isnan(ts)) {
        text = "NaN";
      } else if (std::isinf(ts)) {
        text = ts > 0 ? "+Inf" : "-Inf";
      } else {
        std::snprintf(buf, sizeof buf, "%f", ts);
        text = buf;
      }
      Fail(e->pos, "timestamp out of bounds for @ modifier: " + text);
    }
    Expr* target = ModifierTarget(e, "@");
    if (target->at != AtKind::kNone) Fail(e->pos, "@ <timestamp> may not be set multiple times");
    target->at = AtKind::kTimestamp;
    const double ms = std::round(ts * 1000.0);
    // Go converts an out-of-range float to int64 as the minimum int64 on amd64.
    target->at_ms = (ms >= 9.223372036854775807e18 || ms < -9.223372036854775808e18)
                        ? std::numeric_limits<int64_t>::min()
                        : static_cast<int64_t>(ms);
    e->pos.end = End(n);
  }

  // ---- type checking (Prometheus's checkAST), after a successful parse ----

  PosRange OpRange(const Expr& b) {
    PosRange r;
    r.start = b.lhs->pos.end;
    while (r.start < static_cast<int32_t>(in_.size()) && IsSpaceByte(in_[r.start])) r.start++;
    r.end = b.rhs->pos.start;
    return r;
  }

  void ExpectType(Expr& e, ValueType want, const std::string& context) {
    ValueType t = Check(e);
    if (t != want) {
      Fail(e.pos, "expected type " + std::string(DocumentedTypeName(want)) + " in " + context +
                      ", got " + std::string(DocumentedTypeName(t)));
    }
  }

  ValueType Check(Expr& e) {
    const ValueType type = e.Type();
    switch (e.kind) {
      case NodeKind::kAggregate:
        ExpectType(*e.expr, ValueType::kVector, "aggregation expression");
        if (e.aggregate_op == AggregateOp::kCountValues) {
          ExpectType(*e.param, ValueType::kString, "aggregation parameter");
        } else if (e.param) {
          ExpectType(*e.param, ValueType::kScalar, "aggregation parameter");
        }
        break;
      case NodeKind::kBinary: {
        Expr& b = e;  // the set-operator cardinality and scalar matching are settled here
        const ValueType lt = Check(*b.lhs);
        const ValueType rt = Check(*b.rhs);
        if (b.return_bool && !IsComparison(b.binary_op)) {
          Fail(OpRange(b), "bool modifier can only be used on comparison operators");
        }
        if (IsComparison(b.binary_op) && !b.return_bool && rt == ValueType::kScalar &&
            lt == ValueType::kScalar) {
          Fail(OpRange(b), "comparisons between scalars must use BOOL modifier");
        }
        if (IsSetOperator(b.binary_op) && b.matching->card == Cardinality::kOneToOne) {
          b.matching->card = Cardinality::kManyToMany;
        }
        if (b.matching->on) {
          for (const auto& l1 : b.matching->matching_labels) {
            for (const auto& l2 : b.matching->include) {
              if (l1 == l2) {
                Fail(OpRange(b),
                     "label " + GoQuote(l1) + " must not occur in ON and GROUP clause at once");
              }
            }
          }
        }
        if (lt != ValueType::kScalar && lt != ValueType::kVector) {
          Fail(b.lhs->pos, "binary expression must contain only scalar and instant vector types");
        }
        if (rt != ValueType::kScalar && rt != ValueType::kVector) {
          Fail(b.rhs->pos, "binary expression must contain only scalar and instant vector types");
        }
        if (lt != ValueType::kVector || rt != ValueType::kVector) {
          if (!b.matching->matching_labels.empty()) {
            Fail(b.pos, "vector matching only allowed between instant vectors");
          }
          b.matching.reset();
        } else if (IsSetOperator(b.binary_op)) {
          if (b.matching->card == Cardinality::kOneToMany ||
              b.matching->card == Cardinality::kManyToOne) {
            Fail(b.pos,
                 "no grouping allowed for " + GoQuote(BinaryOpString(b.binary_op)) + " operation");
          }
        }
        if ((lt == ValueType::kScalar || rt == ValueType::kScalar) && IsSetOperator(b.binary_op)) {
          Fail(b.pos, "set operator " + GoQuote(BinaryOpString(b.binary_op)) +
                          " not allowed in binary scalar expression");
        }
        break;
      }
      case NodeKind::kCall: {
        const Function& f = *e.func;
        const int nargs = static_cast<int>(f.arg_types.size());
        const int got = static_cast<int>(e.args.size());
        const std::string name = GoQuote(f.name);
        if (f.variadic == 0) {
          if (nargs != got) {
            Fail(e.pos, "expected " + std::to_string(nargs) + " argument(s) in call to " + name +
                            ", got " + std::to_string(got));
          }
        } else {
          const int na = nargs - 1;
          if (na > got) {
            Fail(e.pos, "expected at least " + std::to_string(na) + " argument(s) in call to " +
                            name + ", got " + std::to_string(got));
          } else if (f.variadic > 0 && na + f.variadic < got) {
            Fail(e.pos, "expected at most " + std::to_string(na + f.variadic) +
                            " argument(s) in call to " + name + ", got " + std::to_string(got));
          }
        }
        for (int i = 0; i < got; ++i) {
          int k = i;
          if (k >= nargs) {
            if (f.variadic == 0) break;
            k = nargs - 1;
          }
          ExpectType(*e.args[i], f.arg_types[k], "call to function " + name);
        }
        break;
      }
      case NodeKind::kParen:
        Check(*e.expr);
        break;
      case NodeKind::kUnary: {
        const ValueType t = Check(*e.expr);
        if (t != ValueType::kScalar && t != ValueType::kVector) {
          Fail(e.pos,
               "unary expression only allowed on expressions of type scalar or instant vector, "
               "got " +
                   GoQuote(DocumentedTypeName(t)));
        }
        break;
      }
      case NodeKind::kSubquery: {
        const ValueType t = Check(*e.expr);
        if (t != ValueType::kVector) {
          Fail(e.pos, "subquery is only allowed on instant vector, got " +
                          std::string(ValueTypeName(t)) + " instead");
        }
        break;
      }
      case NodeKind::kMatrixSelector:
        Check(*e.expr);
        break;
      case NodeKind::kVectorSelector: {
        if (!e.metric_name.empty()) {
          for (size_t i = 0; i + 1 < e.matchers.size(); ++i) {
            if (e.matchers[i].name == "__name__") {
              Fail(e.pos, "metric name must not be set twice: " + GoQuote(e.metric_name) + " or " +
                              GoQuote(e.matchers[i].value));
            }
          }
          break;
        }
        bool not_empty = false;
        for (const auto& m : e.matchers) {
          if (!MatchesEmpty(m)) {
            not_empty = true;
            break;
          }
        }
        if (!not_empty) Fail(e.pos, "vector selector must contain at least one non-empty matcher");
        break;
      }
      case NodeKind::kNumber:
      case NodeKind::kString:
        break;
    }
    return type;
  }

  std::string_view in_;
  Lexer lex_;
  Token tok_;
  bool have_ = false;
  bool lexer_failed_ = false;
  int depth_ = 0;
  int aggregation_depth_ = 0;
  int32_t last_grouping_end_ = 0;
};

}  // namespace

std::string ParseError::ToString() const {
  return std::to_string(line) + ":" + std::to_string(column) + ": parse error: " + message;
}

ParseResult Parse(std::string_view query) {
  ParseResult result;
  Parser p(query);
  try {
    result.expr = p.ParseTop();
    return result;
  } catch (const Abort&) {
  }
  result.error = std::move(p.error);
  int32_t pos = result.error.pos.start;
  if (pos < 0 || pos > static_cast<int32_t>(query.size())) pos = 0;
  int line = 1;
  int last_newline = -1;
  for (int32_t i = 0; i < pos; ++i) {
    if (query[i] == '\n') {
      ++line;
      last_newline = i;
    }
  }
  result.error.line = line;
  result.error.column = pos - last_newline;
  return result;
}

absl::StatusOr<ExprPtr> ParseExpr(std::string_view query) {
  ParseResult r = Parse(query);
  if (!r.ok()) return absl::InvalidArgumentError(r.error.ToString());
  return std::move(r.expr);
}

bool ParseNumberLiteral(std::string_view text, double* value, std::string* error) {
  const std::string s(text);
  // strconv.ParseInt(s, 0, 64)
  {
    size_t i = 0;
    int base = 10;
    if (s.size() > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
      base = 16;
      i = 2;
    } else if (s.size() > 1 && s[0] == '0') {
      base = 8;
      i = 1;
    }
    bool ok = i < s.size();
    unsigned __int128 v = 0;
    bool overflow = false;
    for (size_t k = i; ok && k < s.size(); ++k) {
      char c = s[k];
      int d = c >= '0' && c <= '9'     ? c - '0'
              : (c >= 'a' && c <= 'f') ? c - 'a' + 10
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                       : 99;
      if (d >= base) {
        ok = false;
        break;
      }
      v = v * base + d;
      if (v > static_cast<unsigned __int128>(std::numeric_limits<int64_t>::max())) overflow = true;
    }
    if (ok && !overflow) {
      *value = static_cast<double>(static_cast<int64_t>(v));
      return true;
    }
  }
  // strconv.ParseFloat(s, 64): decimal (no sign: the lexer never includes one), inf, nan.
  std::string lower;
  for (char c : s) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower == "inf" || lower == "infinity") {
    *value = std::numeric_limits<double>::infinity();
    return true;
  }
  if (lower == "nan") {
    *value = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  size_t i = 0, digits = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
  }
  bool ok = digits > 0;
  if (ok && i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    size_t exp_digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++exp_digits;
    ok = exp_digits > 0;
  }
  ok = ok && i == s.size();
  if (!ok) {
    *error = "strconv.ParseFloat: parsing " + GoQuote(s) + ": invalid syntax";
    return false;
  }
  errno = 0;
  double v = std::strtod(s.c_str(), nullptr);
  if (errno == ERANGE && std::isinf(v)) {
    *error = "strconv.ParseFloat: parsing " + GoQuote(s) + ": value out of range";
    return false;
  }
  *value = v;
  return true;
}

bool ParsePromDuration(std::string_view text, int64_t* ms, std::string* error) {
  static constexpr struct {
    std::string_view unit;
    int64_t mult;
  } kUnits[] = {{"y", 365LL * 24 * 3600 * 1000},
                {"w", 7LL * 24 * 3600 * 1000},
                {"d", 24LL * 3600 * 1000},
                {"h", 3600LL * 1000},
                {"m", 60LL * 1000},
                {"s", 1000},
                {"ms", 1}};
  if (text == "0") {
    *ms = 0;
    return true;
  }
  auto invalid = [&] {
    *error = "not a valid duration string: " + GoQuote(text);
    return false;
  };
  if (text.empty()) return invalid();
  size_t i = 0;
  size_t next_unit = 0;
  int64_t total = 0;
  bool overflow = false;
  while (i < text.size()) {
    size_t j = i;
    while (j < text.size() && text[j] >= '0' && text[j] <= '9') ++j;
    if (j == i) return invalid();
    std::string_view num = text.substr(i, j - i);
    size_t k = j;
    while (k < text.size() && !(text[k] >= '0' && text[k] <= '9')) ++k;
    std::string_view unit = text.substr(j, k - j);
    size_t u = next_unit;
    while (u < std::size(kUnits) && kUnits[u].unit != unit) ++u;
    if (u == std::size(kUnits)) return invalid();
    next_unit = u + 1;
    // strconv.Atoi saturates on overflow; the range check below catches it.
    int64_t n = 0;
    for (char c : num) {
      if (n > (std::numeric_limits<int64_t>::max() - 9) / 10) {
        n = std::numeric_limits<int64_t>::max();
        break;
      }
      n = n * 10 + (c - '0');
    }
    if (n > std::numeric_limits<int64_t>::max() / 1000000 / kUnits[u].mult) overflow = true;
    int64_t add = 0;
    if (__builtin_mul_overflow(n, kUnits[u].mult, &add) ||
        __builtin_add_overflow(total, add, &total) || total < 0) {
      overflow = true;
    }
    i = k;
  }
  if (overflow || total > std::numeric_limits<int64_t>::max() / 1000000) {
    *error = "duration out of range";
    return false;
  }
  *ms = total;
  return true;
}

}  // namespace sprout::metrics::promql
