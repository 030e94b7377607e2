#include "traces/traceql/lexer.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <utility>

#include "base/go_text.h"

namespace sprout::traces::traceql {

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

struct NamedIntrinsic {
  std::string_view name;
  Intrinsic intrinsic;
};

constexpr NamedIntrinsic kLegacy[] = {
    {"duration", Intrinsic::kDuration},
    {"childCount", Intrinsic::kChildCount},
    {"name", Intrinsic::kName},
    {"status", Intrinsic::kStatus},
    {"statusMessage", Intrinsic::kStatusMessage},
    {"kind", Intrinsic::kKind},
    {"parent", Intrinsic::kParent},
    {"rootName", Intrinsic::kTraceRootSpan},
    {"rootServiceName", Intrinsic::kTraceRootService},
    {"traceDuration", Intrinsic::kTraceDuration},
    {"nestedSetLeft", Intrinsic::kNestedSetLeft},
    {"nestedSetRight", Intrinsic::kNestedSetRight},
    {"nestedSetParent", Intrinsic::kNestedSetParent},
};
constexpr NamedIntrinsic kSpanColon[] = {
    {"duration", Intrinsic::kDuration},
    {"name", Intrinsic::kName},
    {"kind", Intrinsic::kKind},
    {"status", Intrinsic::kStatus},
    {"statusMessage", Intrinsic::kStatusMessage},
    {"id", Intrinsic::kSpanID},
    {"parentID", Intrinsic::kParentID},
    {"childCount", Intrinsic::kChildCount},
};
constexpr NamedIntrinsic kTraceColon[] = {
    {"duration", Intrinsic::kTraceDuration},
    {"rootName", Intrinsic::kTraceRootSpan},
    {"rootService", Intrinsic::kTraceRootService},
    {"id", Intrinsic::kTraceID},
};
constexpr NamedIntrinsic kEventColon[] = {
    {"name", Intrinsic::kEventName},
    {"timeSinceStart", Intrinsic::kEventTimeSinceStart},
};
constexpr NamedIntrinsic kLinkColon[] = {
    {"traceID", Intrinsic::kLinkTraceID},
    {"spanID", Intrinsic::kLinkSpanID},
};
constexpr NamedIntrinsic kInstrumentationColon[] = {
    {"name", Intrinsic::kInstrumentationName},
    {"version", Intrinsic::kInstrumentationVersion},
};

template <size_t N>
Intrinsic Find(const NamedIntrinsic (&table)[N], std::string_view name) {
  for (const auto& e : table) {
    if (e.name == name) return e.intrinsic;
  }
  return Intrinsic::kNone;
}

}  // namespace

bool IsAttributeChar(char c) {
  if (IsSpace(c)) return false;
  switch (c) {
    case '{':
    case '}':
    case '(':
    case ')':
    case '=':
    case '~':
    case '!':
    case '<':
    case '>':
    case '&':
    case '|':
    case '^':
    case ',':
      return false;
    default:
      return true;
  }
}

std::string_view TokName(Tok t) {
  switch (t) {
    case Tok::kEof:
      return "$end";
    case Tok::kError:
      return "$unk";
    case Tok::kIdentifier:
      return "IDENTIFIER";
    case Tok::kString:
      return "STRING";
    case Tok::kInt:
      return "INTEGER";
    case Tok::kFloat:
      return "FLOAT";
    case Tok::kDuration:
      return "DURATION";
    case Tok::kNil:
      return "nil";
    case Tok::kTrue:
      return "true";
    case Tok::kFalse:
      return "false";
    case Tok::kStatus:
      return "STATUS";
    case Tok::kKind:
      return "KIND";
    case Tok::kAttribute:
      return "ATTRIBUTE";
    case Tok::kLBrace:
      return "{";
    case Tok::kRBrace:
      return "}";
    case Tok::kLParen:
      return "(";
    case Tok::kRParen:
      return ")";
    case Tok::kComma:
      return ",";
    case Tok::kPipe:
      return "|";
    case Tok::kEq:
      return "=";
    case Tok::kNeq:
      return "!=";
    case Tok::kRe:
      return "=~";
    case Tok::kNre:
      return "!~";
    case Tok::kGt:
      return ">";
    case Tok::kGte:
      return ">=";
    case Tok::kLt:
      return "<";
    case Tok::kLte:
      return "<=";
    case Tok::kAdd:
      return "+";
    case Tok::kSub:
      return "-";
    case Tok::kMul:
      return "*";
    case Tok::kDiv:
      return "/";
    case Tok::kMod:
      return "%";
    case Tok::kPow:
      return "^";
    case Tok::kAnd:
      return "&&";
    case Tok::kOr:
      return "||";
    case Tok::kNot:
      return "!";
    case Tok::kDesc:
      return ">>";
    case Tok::kAnce:
      return "<<";
    case Tok::kSibl:
      return "~";
    case Tok::kNotChild:
      return "!>";
    case Tok::kNotParent:
      return "!<";
    case Tok::kNotDesc:
      return "!>>";
    case Tok::kNotAnce:
      return "!<<";
    case Tok::kUnionChild:
      return "&>";
    case Tok::kUnionParent:
      return "&<";
    case Tok::kUnionDesc:
      return "&>>";
    case Tok::kUnionAnce:
      return "&<<";
    case Tok::kUnionSibl:
      return "&~";
    case Tok::kBy:
      return "by";
    case Tok::kCoalesce:
      return "coalesce";
    case Tok::kSelect:
      return "select";
    case Tok::kWith:
      return "with";
    case Tok::kCount:
      return "count";
    case Tok::kAvg:
      return "avg";
    case Tok::kMin:
      return "min";
    case Tok::kMax:
      return "max";
    case Tok::kSum:
      return "sum";
  }
  return "$unk";
}

std::string Describe(const Token& t) {
  switch (t.type) {
    case Tok::kStatus:
      return std::string(StatusText(static_cast<Status>(t.value.i)));
    case Tok::kKind:
      return std::string(KindText(static_cast<Kind>(t.value.i)));
    case Tok::kAttribute: {
      const Attribute& a = t.attr;
      if (a.scope == Scope::kIntrinsic) {
        // Tempo lexes `span:` as one token and the name as another; a legacy intrinsic is one.
        const size_t colon = a.name.find(':');
        return colon == std::string::npos ? a.name : a.name.substr(0, colon + 1);
      }
      // The first token of the attribute: its first scope prefix or the lone dot.
      if (a.parent) return "parent.";
      switch (a.scope) {
        case Scope::kSpan:
          return "span.";
        case Scope::kResource:
          return "resource.";
        case Scope::kEvent:
          return "event.";
        case Scope::kLink:
          return "link.";
        case Scope::kInstrumentation:
          return "instrumentation.";
        default:
          return ".";
      }
    }
    case Tok::kIdentifier:
      return IsTempoKeyword(t.text) ? t.text : "IDENTIFIER";
    default:
      return std::string(TokName(t.type));
  }
}

bool IsTempoKeyword(std::string_view word) {
  // Words Tempo's lexer turns into tokens that this grammar has no use for outside a scope
  // (`trace:rootService`, `span:id`) or that belong to TraceQL metrics (issue 13).
  static constexpr std::string_view kWords[] = {
      "rootService",
      "id",
      "traceID",
      "spanID",
      "parentID",
      "timeSinceStart",
      "version",
      "rate",
      "count_over_time",
      "min_over_time",
      "max_over_time",
      "avg_over_time",
      "sum_over_time",
      "quantile_over_time",
      "histogram_over_time",
      "compare",
      "topk",
      "bottomk",
  };
  for (const auto w : kWords) {
    if (w == word) return true;
  }
  return false;
}

namespace {

// Prometheus's model.ParseDuration: integer amounts of y w d h m s ms, each at most once, in
// this order ("1d12h", "2w"), or "0".
bool ParsePromDuration(std::string_view text, int64_t* ns) {
  if (text == "0") {
    *ns = 0;
    return true;
  }
  struct Unit {
    std::string_view name;
    long double ns;
  };
  static constexpr Unit kUnits[] = {{"y", 365 * 24 * 3600e9L},
                                    {"w", 7 * 24 * 3600e9L},
                                    {"d", 24 * 3600e9L},
                                    {"h", 3600e9L},
                                    {"m", 60e9L},
                                    {"s", 1e9L},
                                    {"ms", 1e6L}};
  size_t i = 0;
  size_t next_unit = 0;
  long double total = 0;
  bool any = false;
  while (i < text.size()) {
    const size_t num_start = i;
    while (i < text.size() && IsDigit(text[i])) ++i;
    if (i == num_start) return false;
    const size_t unit_start = i;
    while (i < text.size() && !IsDigit(text[i])) ++i;
    const std::string_view unit = text.substr(unit_start, i - unit_start);
    size_t u = next_unit;
    while (u < std::size(kUnits) && kUnits[u].name != unit) ++u;
    if (u == std::size(kUnits)) return false;
    next_unit = u + 1;
    total +=
        std::strtold(std::string(text.substr(num_start, unit_start - num_start)).c_str(), nullptr) *
        kUnits[u].ns;
    if (total > static_cast<long double>(std::numeric_limits<int64_t>::max())) return false;
    any = true;
  }
  if (!any) return false;
  *ns = static_cast<int64_t>(total);
  return true;
}

}  // namespace

bool ParseDuration(std::string_view text, int64_t* ns, std::string* error) {
  if (ParsePromDuration(text, ns)) return true;
  std::string quoted = "\"";
  quoted.append(text);
  quoted.push_back('"');
  size_t i = 0;
  bool neg = false;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) {
    neg = text[i] == '-';
    ++i;
  }
  if (i == text.size()) {
    *error = "time: invalid duration " + quoted;
    return false;
  }
  long double total = 0;
  while (i < text.size()) {
    const size_t num_start = i;
    while (i < text.size() && IsDigit(text[i])) ++i;
    const size_t int_end = i;
    size_t frac_end = i;
    if (i < text.size() && text[i] == '.') {
      ++i;
      while (i < text.size() && IsDigit(text[i])) ++i;
      frac_end = i;
    }
    if (int_end == num_start && frac_end <= int_end + 1) {
      *error = "time: invalid duration " + quoted;
      return false;
    }
    const long double number =
        std::strtold(std::string(text.substr(num_start, frac_end - num_start)).c_str(), nullptr);
    const size_t unit_start = i;
    while (i < text.size() && !IsDigit(text[i]) && text[i] != '.') ++i;
    const std::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit.empty()) {
      *error = "time: missing unit in duration " + quoted;
      return false;
    }
    long double scale;
    if (unit == "ns") {
      scale = 1;
    } else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") {
      scale = 1e3L;
    } else if (unit == "ms") {
      scale = 1e6L;
    } else if (unit == "s") {
      scale = 1e9L;
    } else if (unit == "m") {
      scale = 60e9L;
    } else if (unit == "h") {
      scale = 3600e9L;
    } else {
      *error = "time: unknown unit \"" + std::string(unit) + "\" in duration " + quoted;
      return false;
    }
    total += number * scale;
    if (total > static_cast<long double>(std::numeric_limits<int64_t>::max())) {
      *error = "time: invalid duration " + quoted;
      return false;
    }
  }
  const auto v = static_cast<int64_t>(total);
  *ns = neg ? -v : v;
  return true;
}

Token Lexer::Error(int32_t start, std::string message) {
  done_ = true;
  Token t;
  t.type = Tok::kError;
  t.pos = Pos{start, static_cast<int32_t>(i_)};
  t.text = std::move(message);
  return t;
}

bool Lexer::LexString(char quote, std::string* out, std::string* error) {
  // i_ is past the opening quote. Go's scanner finds the literal and reports its errors first
  // (Tempo passes them on): "literal not terminated" (end of input, or a newline in a quoted
  // string), "invalid char escape"; then strconv.Unquote decodes it ("invalid syntax").
  *error = "literal not terminated";
  const size_t open = i_ - 1;
  if (quote == '`') {
    while (true) {
      if (i_ >= in_.size()) return false;
      const char c = in_[i_++];
      if (c == quote) return true;
      if (c != '\r') out->push_back(c);  // Unquote drops carriage returns from raw strings
    }
  }
  while (true) {
    if (i_ >= in_.size()) return false;
    const char c = in_[i_++];
    if (c == '\n') return false;
    if (c == quote) break;
    if (c == '\\') {
      if (i_ >= in_.size()) {
        *error = "invalid char escape";
        return false;
      }
      const char e = in_[i_++];
      // Go's scanner's escapes: a b f n r t v \ and the quote; 3 octal digits; x + 2, u + 4,
      // U + 8 hex digits.
      int digits = 0, base = 16;
      switch (e) {
        case 'a':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
        case 'v':
        case '\\':
          break;
        case 'x':
          digits = 2;
          break;
        case 'u':
          digits = 4;
          break;
        case 'U':
          digits = 8;
          break;
        default:
          if (e == quote) break;
          if (e >= '0' && e <= '7') {
            digits = 2;
            base = 8;
            break;
          }
          *error = "invalid char escape";
          return false;
      }
      for (int d = 0; d < digits; ++d) {
        if (i_ >= in_.size()) {
          *error = "invalid char escape";
          return false;
        }
        const char h = in_[i_];
        const bool ok = base == 8 ? (h >= '0' && h <= '7')
                                  : ((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') ||
                                     (h >= 'A' && h <= 'F'));
        if (!ok) {
          *error = "invalid char escape";
          return false;
        }
        ++i_;
      }
    }
  }
  *error = "invalid syntax";
  return GoUnquote(in_.substr(open, i_ - open), out);
}

Token Lexer::LexNumber(int32_t start) {
  // Go's scanner: digits, an optional fraction ("1.", ".5", "1.5") and exponent.
  bool is_float = false;
  while (i_ < in_.size() && IsDigit(in_[i_])) ++i_;
  if (i_ < in_.size() && in_[i_] == '.') {
    is_float = true;
    ++i_;
    while (i_ < in_.size() && IsDigit(in_[i_])) ++i_;
  }
  if (i_ < in_.size() && (in_[i_] == 'e' || in_[i_] == 'E')) {
    is_float = true;
    ++i_;
    if (i_ < in_.size() && (in_[i_] == '+' || in_[i_] == '-')) ++i_;
    while (i_ < in_.size() && IsDigit(in_[i_])) ++i_;
  }
  const size_t number_end = i_;
  // Tempo then tries a duration: the number and the digits, '.', 'µ' and unit letters
  // (n s u m h d w y) right after it; if they do not parse (Prometheus's syntax, then Go's), the
  // number stands alone and the rest is lexed on its own.
  size_t j = i_;
  while (j < in_.size()) {
    const char c = in_[j];
    if (IsDigit(c) || c == '.' || c == 'n' || c == 's' || c == 'u' || c == 'm' || c == 'h' ||
        c == 'd' || c == 'w' || c == 'y') {
      ++j;
    } else if (c == '\xC2' && j + 1 < in_.size() && in_[j + 1] == '\xB5') {
      j += 2;
    } else {
      break;
    }
  }
  Token t;
  if (j > number_end) {
    std::string error;
    int64_t ns = 0;
    if (ParseDuration(in_.substr(start, j - start), &ns, &error)) {
      i_ = j;
      t.type = Tok::kDuration;
      t.value.type = Type::kDuration;
      t.value.i = ns;
      t.pos = Pos{start, static_cast<int32_t>(i_)};
      return t;
    }
  }
  const std::string text(in_.substr(start, number_end - start));
  if (is_float) {
    errno = 0;
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size()) {
      return Error(start, "strconv.ParseFloat: parsing \"" + text + "\": invalid syntax");
    }
    if (errno == ERANGE && std::isinf(v)) {
      return Error(start, "strconv.ParseFloat: parsing \"" + text + "\": value out of range");
    }
    t.type = Tok::kFloat;
    t.value.type = Type::kFloat;
    t.value.f = v;
  } else {
    errno = 0;
    const long long v = std::strtoll(text.c_str(), nullptr, 10);
    if (errno == ERANGE) {
      return Error(start, "strconv.Atoi: parsing \"" + text + "\": value out of range");
    }
    t.type = Tok::kInt;
    t.value.type = Type::kInt;
    t.value.i = v;
  }
  t.pos = Pos{start, static_cast<int32_t>(i_)};
  return t;
}

Token Lexer::LexAttributeName(int32_t start, Attribute attr) {
  // i_ is past the scope prefix's dot. Tempo's parseAttribute: unquoted runs of attribute
  // characters and quoted parts, concatenated (`span.a"b c"d` is "ab cd").
  while (i_ < in_.size()) {
    const char c = in_[i_];
    if (c == '"') {
      ++i_;
      while (true) {
        if (i_ >= in_.size()) return Error(start, "unexpected EOF, expecting \"");
        const char q = in_[i_++];
        if (q == '"') break;
        if (q == '\\') {
          if (i_ >= in_.size() || (in_[i_] != '\\' && in_[i_] != '"')) {
            return Error(start, "invalid escape sequence");
          }
          attr.name.push_back(in_[i_++]);
          continue;
        }
        attr.name.push_back(q);
      }
    } else if (IsAttributeChar(c)) {
      attr.name.push_back(c);
      ++i_;
    } else {
      break;
    }
  }
  if (attr.name.empty()) return Error(start, "syntax error: unexpected END_ATTRIBUTE");
  Token t;
  t.type = Tok::kAttribute;
  t.attr = std::move(attr);
  t.pos = Pos{start, static_cast<int32_t>(i_)};
  return t;
}

Token Lexer::LexWord(int32_t start) {
  while (i_ < in_.size() && (IsLetter(in_[i_]) || IsDigit(in_[i_]))) ++i_;
  const std::string_view w = in_.substr(start, i_ - start);
  const char next = i_ < in_.size() ? in_[i_] : '\0';

  if (next == '.') {
    Attribute a;
    bool scoped = true;
    if (w == "span") {
      a.scope = Scope::kSpan;
    } else if (w == "resource") {
      a.scope = Scope::kResource;
    } else if (w == "event") {
      a.scope = Scope::kEvent;
    } else if (w == "link") {
      a.scope = Scope::kLink;
    } else if (w == "instrumentation") {
      a.scope = Scope::kInstrumentation;
    } else if (w == "parent") {
      a.parent = true;
      ++i_;
      // parent.span.x / parent.resource.x / parent.x
      const std::string_view rest = in_.substr(i_);
      if (rest.starts_with("span.")) {
        a.scope = Scope::kSpan;
        i_ += 4;
      } else if (rest.starts_with("resource.")) {
        a.scope = Scope::kResource;
        i_ += 8;
      } else {
        return LexAttributeName(start, std::move(a));
      }
    } else {
      scoped = false;
    }
    if (scoped) {
      ++i_;  // the dot
      return LexAttributeName(start, std::move(a));
    }
  }
  if (next == ':') {
    const NamedIntrinsic* table = nullptr;
    size_t n = 0;
    if (w == "span") {
      table = kSpanColon;
      n = std::size(kSpanColon);
    } else if (w == "trace") {
      table = kTraceColon;
      n = std::size(kTraceColon);
    } else if (w == "event") {
      table = kEventColon;
      n = std::size(kEventColon);
    } else if (w == "link") {
      table = kLinkColon;
      n = std::size(kLinkColon);
    } else if (w == "instrumentation") {
      table = kInstrumentationColon;
      n = std::size(kInstrumentationColon);
    }
    if (table != nullptr && describe_only_) {
      ++i_;
      Token t;
      t.type = Tok::kAttribute;
      t.attr.scope = Scope::kIntrinsic;
      t.attr.name = std::string(w) + ":";
      t.pos = Pos{start, static_cast<int32_t>(i_)};
      return t;
    }
    if (table != nullptr) {
      ++i_;
      // `span:` is a token of its own in Tempo: whitespace may follow it.
      while (i_ < in_.size() && IsSpace(in_[i_])) ++i_;
      const size_t name_start = i_;
      while (i_ < in_.size() && (IsLetter(in_[i_]) || IsDigit(in_[i_]))) ++i_;
      const std::string_view name = in_.substr(name_start, i_ - name_start);
      Intrinsic found = Intrinsic::kNone;
      for (size_t k = 0; k < n; ++k) {
        if (table[k].name == name) found = table[k].intrinsic;
      }
      if (found == Intrinsic::kNone) {
        // What follows the colon is no intrinsic of this scope: report it as Tempo's parser
        // would, by the token it is.
        Lexer rest(in_.substr(name_start));
        rest.describe_only_ = true;
        const Token next = rest.Next();
        const auto at = static_cast<int32_t>(name_start) + next.pos.start;
        i_ = name_start;
        if (next.type == Tok::kError) return Error(at, next.text);
        return Error(at, "syntax error: unexpected " + Describe(next));
      }
      Token t;
      t.type = Tok::kAttribute;
      t.attr.scope = Scope::kIntrinsic;
      t.attr.intrinsic = found;
      t.attr.name = std::string(w) + ":" + std::string(name);
      t.pos = Pos{start, static_cast<int32_t>(i_)};
      return t;
    }
  }

  Token t;
  t.pos = Pos{start, static_cast<int32_t>(i_)};
  if (const Intrinsic in = Find(kLegacy, w); in != Intrinsic::kNone) {
    t.type = Tok::kAttribute;
    t.attr.scope = Scope::kIntrinsic;
    t.attr.intrinsic = in;
    t.attr.name = std::string(w);
    return t;
  }
  struct Keyword {
    std::string_view word;
    Tok tok;
    int64_t value;
  };
  static constexpr Keyword kKeywords[] = {
      {"nil", Tok::kNil, 0},
      {"true", Tok::kTrue, 0},
      {"false", Tok::kFalse, 0},
      {"error", Tok::kStatus, static_cast<int64_t>(Status::kError)},
      {"ok", Tok::kStatus, static_cast<int64_t>(Status::kOk)},
      {"unset", Tok::kStatus, static_cast<int64_t>(Status::kUnset)},
      {"unspecified", Tok::kKind, static_cast<int64_t>(Kind::kUnspecified)},
      {"internal", Tok::kKind, static_cast<int64_t>(Kind::kInternal)},
      {"server", Tok::kKind, static_cast<int64_t>(Kind::kServer)},
      {"client", Tok::kKind, static_cast<int64_t>(Kind::kClient)},
      {"producer", Tok::kKind, static_cast<int64_t>(Kind::kProducer)},
      {"consumer", Tok::kKind, static_cast<int64_t>(Kind::kConsumer)},
      {"by", Tok::kBy, 0},
      {"coalesce", Tok::kCoalesce, 0},
      {"select", Tok::kSelect, 0},
      {"with", Tok::kWith, 0},
      {"count", Tok::kCount, 0},
      {"avg", Tok::kAvg, 0},
      {"min", Tok::kMin, 0},
      {"max", Tok::kMax, 0},
      {"sum", Tok::kSum, 0},
  };
  for (const auto& k : kKeywords) {
    if (k.word != w) continue;
    t.type = k.tok;
    switch (k.tok) {
      case Tok::kNil:
        t.value.type = Type::kNil;
        break;
      case Tok::kTrue:
        t.value.type = Type::kBool;
        t.value.b = true;
        break;
      case Tok::kFalse:
        t.value.type = Type::kBool;
        break;
      case Tok::kStatus:
        t.value.type = Type::kStatus;
        t.value.i = k.value;
        break;
      case Tok::kKind:
        t.value.type = Type::kKind;
        t.value.i = k.value;
        break;
      default:
        break;
    }
    return t;
  }
  t.type = Tok::kIdentifier;
  t.text = std::string(w);
  return t;
}

Token Lexer::Next() {
  if (done_) {
    Token t;
    t.pos = Pos{static_cast<int32_t>(in_.size()), static_cast<int32_t>(in_.size())};
    return t;
  }
  // Whitespace and Go comments (Tempo's scanner skips both; an unterminated /* runs to the end).
  while (i_ < in_.size()) {
    if (IsSpace(in_[i_])) {
      ++i_;
    } else if (in_.substr(i_).starts_with("//")) {
      while (i_ < in_.size() && in_[i_] != '\n') ++i_;
    } else if (in_.substr(i_).starts_with("/*")) {
      const size_t close = in_.find("*/", i_ + 2);
      i_ = close == std::string_view::npos ? in_.size() : close + 2;
    } else {
      break;
    }
  }
  const auto start = static_cast<int32_t>(i_);
  Token t;
  if (i_ >= in_.size()) {
    t.pos = Pos{start, start};
    return t;
  }
  const char c = in_[i_];
  const auto peek = [&](size_t k) { return i_ + k < in_.size() ? in_[i_ + k] : '\0'; };
  if (IsDigit(c)) return LexNumber(start);
  if (IsLetter(c)) return LexWord(start);
  if (c == '"' || c == '`') {
    ++i_;
    std::string error;
    if (!LexString(c, &t.value.s, &error)) return Error(start, error);
    t.type = Tok::kString;
    t.value.type = Type::kString;
    t.pos = Pos{start, static_cast<int32_t>(i_)};
    return t;
  }
  if (c == '.') {
    if (IsDigit(peek(1))) return LexNumber(start);  // ".5" is a float to Go's scanner
    ++i_;
    return LexAttributeName(start, Attribute{});
  }
  // Operators: longest match.
  struct Punct {
    std::string_view text;
    Tok tok;
  };
  static constexpr Punct kPuncts[] = {
      {"!>>", Tok::kNotDesc},    {"!<<", Tok::kNotAnce},  {"&>>", Tok::kUnionDesc},
      {"&<<", Tok::kUnionAnce},  {"!=", Tok::kNeq},       {"!~", Tok::kNre},
      {"!>", Tok::kNotChild},    {"!<", Tok::kNotParent}, {"=~", Tok::kRe},
      {">=", Tok::kGte},         {">>", Tok::kDesc},      {"<=", Tok::kLte},
      {"<<", Tok::kAnce},        {"&&", Tok::kAnd},       {"&>", Tok::kUnionChild},
      {"&<", Tok::kUnionParent}, {"&~", Tok::kUnionSibl}, {"||", Tok::kOr},
      {"=", Tok::kEq},           {">", Tok::kGt},         {"<", Tok::kLt},
      {"!", Tok::kNot},          {"~", Tok::kSibl},       {"|", Tok::kPipe},
      {"+", Tok::kAdd},          {"-", Tok::kSub},        {"*", Tok::kMul},
      {"/", Tok::kDiv},          {"%", Tok::kMod},        {"^", Tok::kPow},
      {"{", Tok::kLBrace},       {"}", Tok::kRBrace},     {"(", Tok::kLParen},
      {")", Tok::kRParen},       {",", Tok::kComma},
  };
  const std::string_view rest = in_.substr(i_);
  for (const auto& p : kPuncts) {
    if (rest.starts_with(p.text)) {
      i_ += p.text.size();
      t.type = p.tok;
      t.pos = Pos{start, static_cast<int32_t>(i_)};
      return t;
    }
  }
  // Any other character (or UTF-8 sequence) is an identifier to Tempo's lexer.
  ++i_;
  if (static_cast<unsigned char>(c) >= 0xC0) {
    while (i_ < in_.size() && (static_cast<unsigned char>(in_[i_]) & 0xC0) == 0x80) ++i_;
  }
  t.type = Tok::kIdentifier;
  t.text = std::string(in_.substr(start, i_ - start));
  t.pos = Pos{start, static_cast<int32_t>(i_)};
  return t;
}

}  // namespace sprout::traces::traceql
