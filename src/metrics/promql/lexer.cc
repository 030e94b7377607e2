#include "metrics/promql/lexer.h"

#include <algorithm>
#include <cctype>

#include "base/go_text.h"

namespace sprout::metrics::promql {
namespace {

bool IsSpace(int32_t r) { return r == ' ' || r == '\t' || r == '\n' || r == '\r'; }
bool IsAlpha(int32_t r) { return r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'); }
bool IsDigit(int32_t r) { return r >= '0' && r <= '9'; }
bool IsAlphaNumeric(int32_t r) { return IsAlpha(r) || IsDigit(r); }
bool Contains(std::string_view set, int32_t r) {
  return r >= 0 && r < 128 && set.find(static_cast<char>(r)) != std::string_view::npos;
}

struct Keyword {
  std::string_view word;
  Tok tok;
};
constexpr Keyword kKeywords[] = {
    {"and", Tok::kLand},
    {"or", Tok::kLor},
    {"unless", Tok::kLunless},
    {"atan2", Tok::kAtan2},
    {"sum", Tok::kSum},
    {"avg", Tok::kAvg},
    {"count", Tok::kCount},
    {"min", Tok::kMin},
    {"max", Tok::kMax},
    {"group", Tok::kGroup},
    {"stddev", Tok::kStddev},
    {"stdvar", Tok::kStdvar},
    {"topk", Tok::kTopk},
    {"bottomk", Tok::kBottomk},
    {"count_values", Tok::kCountValues},
    {"quantile", Tok::kQuantile},
    {"limitk", Tok::kLimitk},
    {"limit_ratio", Tok::kLimitRatio},
    {"offset", Tok::kOffset},
    {"by", Tok::kBy},
    {"without", Tok::kWithout},
    {"on", Tok::kOn},
    {"ignoring", Tok::kIgnoring},
    {"group_left", Tok::kGroupLeft},
    {"group_right", Tok::kGroupRight},
    {"bool", Tok::kBool},
    {"start", Tok::kStart},
    {"end", Tok::kEnd},
    {"inf", Tok::kNumber},
    {"nan", Tok::kNumber},
};

}  // namespace

bool IsAggregatorTok(Tok t) { return t >= Tok::kAvg && t <= Tok::kLimitRatio; }
bool IsOperatorTok(Tok t) { return (t >= Tok::kSub && t <= Tok::kAtan2) || t == Tok::kAt; }
bool IsKeywordTok(Tok t) { return t >= Tok::kBool && t <= Tok::kWithout; }

std::string Lexer::Describe(const Token& t) {
  auto quoted = [&](std::string_view s) {
    return s.size() > 10 ? GoQuotePrefix(s, 10) + "..." : GoQuote(s);
  };
  switch (t.type) {
    case Tok::kEof:
      return "end of input";
    case Tok::kError:
      return "error";
    case Tok::kComment:
      return "comment";
    case Tok::kIdentifier:
      return "identifier " + GoQuote(t.text);
    case Tok::kMetricIdentifier:
      return "metric identifier " + GoQuote(t.text);
    case Tok::kString:
      return "string " + quoted(t.text);
    case Tok::kNumber:
      return "number " + quoted(t.text);
    case Tok::kDuration:
      return "duration " + quoted(t.text);
    case Tok::kAt:
      return "\"<Item 57385>\" <op:@>";  // 2.42 has no name for '@'
    default:
      break;
  }
  if (IsKeywordTok(t.type)) return "<" + std::string(t.text) + ">";
  if (IsOperatorTok(t.type)) return "<op:" + std::string(t.text) + ">";
  if (IsAggregatorTok(t.type)) return "<aggr:" + std::string(t.text) + ">";
  return quoted(t.text);
}

int32_t Lexer::Peek() const {
  int w;
  return DecodeRune(in_, pos_, &w);
}

int32_t Lexer::NextRune() {
  int32_t r = DecodeRune(in_, pos_, &width_);
  pos_ += width_;
  return r;
}

bool Lexer::Accept(std::string_view valid) {
  if (Contains(valid, NextRune())) return true;
  Backup();
  return false;
}

void Lexer::AcceptRun(std::string_view valid) {
  while (Contains(valid, NextRune())) {
  }
  Backup();
}

Token Lexer::Emit(Tok t) {
  Token tok{t, static_cast<int32_t>(start_), in_.substr(start_, pos_ - start_)};
  start_ = pos_;
  return tok;
}

Token Lexer::Error(std::string message) {
  error_ = std::move(message);
  done_ = true;
  return Token{Tok::kError, static_cast<int32_t>(start_), {}};
}

Token Lexer::Next() {
  if (done_) return Token{Tok::kEof, static_cast<int32_t>(in_.size()), {}};
  return LexStatements();
}

Token Lexer::LexStatements() {
  while (true) {
    if (pending_duration_) return LexDuration();
    if (brace_open_) return LexInsideBraces();
    if (in_.substr(pos_).starts_with("#")) return LexLineComment();
    int32_t r = NextRune();
    if (r == -1) {
      if (paren_depth_ != 0) return Error("unclosed left parenthesis");
      if (bracket_open_) return Error("unclosed left bracket");
      done_ = true;
      return Emit(Tok::kEof);
    }
    switch (r) {
      case ',':
        return Emit(Tok::kComma);
      case '*':
        return Emit(Tok::kMul);
      case '/':
        return Emit(Tok::kDiv);
      case '%':
        return Emit(Tok::kMod);
      case '+':
        return Emit(Tok::kAdd);
      case '-':
        return Emit(Tok::kSub);
      case '^':
        return Emit(Tok::kPow);
      case '=': {
        int32_t t = Peek();
        if (t == '=') {
          NextRune();
          return Emit(Tok::kEqlc);
        }
        if (t == '~') return Error("unexpected character after '=': " + GoQuoteRune(t));
        return Emit(Tok::kEql);
      }
      case '!': {
        int32_t t = NextRune();
        if (t != '=') return Error("unexpected character after '!': " + GoQuoteRune(t));
        return Emit(Tok::kNeq);
      }
      case '<':
        if (Peek() == '=') {
          NextRune();
          return Emit(Tok::kLte);
        }
        return Emit(Tok::kLss);
      case '>':
        if (Peek() == '=') {
          NextRune();
          return Emit(Tok::kGte);
        }
        return Emit(Tok::kGtr);
      case '"':
      case '\'':
        string_open_ = r;
        return LexString(false);
      case '`':
        string_open_ = r;
        return LexString(true);
      case '(':
        paren_depth_++;
        return Emit(Tok::kLeftParen);
      case ')': {
        Token t = Emit(Tok::kRightParen);
        if (--paren_depth_ < 0) return Error("unexpected right parenthesis " + GoQuoteRune(r));
        return t;
      }
      case '{': {
        brace_open_ = true;
        return Emit(Tok::kLeftBrace);
      }
      case '[': {
        if (bracket_open_) return Error("unexpected left bracket " + GoQuoteRune(r));
        got_colon_ = false;
        Token t = Emit(Tok::kLeftBracket);
        while (IsSpace(Peek())) NextRune();
        start_ = pos_;
        bracket_open_ = true;
        pending_duration_ = true;
        return t;
      }
      case ']': {
        if (!bracket_open_) return Error("unexpected right bracket " + GoQuoteRune(r));
        bracket_open_ = false;
        return Emit(Tok::kRightBracket);
      }
      case '@':
        return Emit(Tok::kAt);
      default:
        break;
    }
    if (IsSpace(r)) {
      while (IsSpace(Peek())) NextRune();
      start_ = pos_;
      continue;
    }
    if (IsDigit(r) || (r == '.' && IsDigit(Peek()))) {
      Backup();
      return LexNumberOrDuration();
    }
    if (IsAlpha(r) || r == ':') {
      if (!bracket_open_) {
        Backup();
        return LexKeywordOrIdentifier();
      }
      if (got_colon_) return Error("unexpected colon " + GoQuoteRune(r));
      got_colon_ = true;
      return Emit(Tok::kColon);
    }
    return Error("unexpected character: " + GoQuoteRune(r));
  }
}

Token Lexer::LexInsideBraces() {
  while (true) {
    if (in_.substr(pos_).starts_with("#")) return LexLineComment();
    int32_t r = NextRune();
    if (r == -1) return Error("unexpected end of input inside braces");
    if (IsSpace(r)) {
      while (IsSpace(Peek())) NextRune();
      start_ = pos_;
      continue;
    }
    if (IsAlpha(r)) {
      Backup();
      return LexIdentifier();
    }
    switch (r) {
      case ',':
        return Emit(Tok::kComma);
      case '"':
      case '\'':
        string_open_ = r;
        return LexString(false);
      case '`':
        string_open_ = r;
        return LexString(true);
      case '=':
        if (NextRune() == '~') return Emit(Tok::kEqlRegex);
        Backup();
        return Emit(Tok::kEql);
      case '!': {
        int32_t nr = NextRune();
        if (nr == '~') return Emit(Tok::kNeqRegex);
        if (nr == '=') return Emit(Tok::kNeq);
        return Error("unexpected character after '!' inside braces: " + GoQuoteRune(nr));
      }
      case '{':
        return Error("unexpected left brace " + GoQuoteRune(r));
      case '}':
        brace_open_ = false;
        return Emit(Tok::kRightBrace);
      default:
        return Error("unexpected character inside braces: " + GoQuoteRune(r));
    }
  }
}

Token Lexer::LexLineComment() {
  pos_ += 1;
  while (pos_ < in_.size() && in_[pos_] != '\n' && in_[pos_] != '\r') pos_++;
  return Emit(Tok::kComment);
}

Token Lexer::LexIdentifier() {
  while (IsAlphaNumeric(NextRune())) {
  }
  Backup();
  return Emit(Tok::kIdentifier);
}

Token Lexer::LexKeywordOrIdentifier() {
  int32_t r;
  do {
    r = NextRune();
  } while (IsAlphaNumeric(r) || r == ':');
  Backup();
  std::string_view word = in_.substr(start_, pos_ - start_);
  std::string lower(word);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const Keyword& k : kKeywords) {
    if (k.word == lower) return Emit(k.tok);
  }
  if (word.find(':') == std::string_view::npos) return Emit(Tok::kIdentifier);
  return Emit(Tok::kMetricIdentifier);
}

bool Lexer::ScanNumber() {
  std::string_view digits = "0123456789";
  if (Accept("0") && Accept("xX")) digits = "0123456789abcdefABCDEF";
  AcceptRun(digits);
  if (Accept(".")) AcceptRun(digits);
  if (Accept("eE")) {
    Accept("+-");
    AcceptRun("0123456789");
  }
  return !IsAlphaNumeric(Peek());
}

bool Lexer::AcceptRemainingDuration() {
  if (!Accept("smhdwy")) return false;
  Accept("s");
  while (Accept("0123456789")) {
    while (Accept("0123456789")) {
    }
    if (!Accept("smhdw")) return false;
    Accept("s");
  }
  return !IsAlphaNumeric(NextRune());
}

Token Lexer::LexNumberOrDuration() {
  if (ScanNumber()) return Emit(Tok::kNumber);
  if (AcceptRemainingDuration()) {
    Backup();
    return Emit(Tok::kDuration);
  }
  return Error("bad number or duration syntax: " + GoQuote(in_.substr(start_, pos_ - start_)));
}

Token Lexer::LexDuration() {
  pending_duration_ = false;
  if (ScanNumber()) return Error("missing unit character in duration");
  if (!AcceptRemainingDuration()) {
    return Error("bad duration syntax: " + GoQuote(in_.substr(start_, pos_ - start_)));
  }
  Backup();
  return Emit(Tok::kDuration);
}

bool Lexer::LexEscape() {
  int32_t ch = NextRune();
  int n = 0;
  uint32_t base = 0, max = 0;
  switch (ch) {
    case 'a':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
    case 'v':
    case '\\':
      return true;
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
      n = 3, base = 8, max = 255;
      break;
    case 'x':
      ch = NextRune();
      n = 2, base = 16, max = 255;
      break;
    case 'u':
      ch = NextRune();
      n = 4, base = 16, max = 0x10FFFF;
      break;
    case 'U':
      ch = NextRune();
      n = 8, base = 16, max = 0x10FFFF;
      break;
    case -1:
      pending_error_ = "escape sequence not terminated";
      return false;
    default:
      if (ch == string_open_) return true;
      pending_error_ = "unknown escape sequence " + GoRuneU(ch);
      return false;
  }
  uint32_t x = 0;
  while (n > 0) {
    uint32_t d = 16;
    if (ch >= '0' && ch <= '9')
      d = ch - '0';
    else if (ch >= 'a' && ch <= 'f')
      d = ch - 'a' + 10;
    else if (ch >= 'A' && ch <= 'F')
      d = ch - 'A' + 10;
    if (d >= base) {
      if (ch == -1) {
        pending_error_ = "escape sequence not terminated";
      } else {
        pending_error_ = "illegal character " + GoRuneU(ch) + " in escape sequence";
      }
      return false;
    }
    x = x * base + d;
    if (--n > 0) ch = NextRune();
  }
  if (x > max || (x >= 0xD800 && x < 0xE000)) {
    pending_error_ = "escape sequence is an invalid Unicode code point";
    return false;
  }
  return true;
}

Token Lexer::LexString(bool raw) {
  while (true) {
    int32_t r = NextRune();
    if (!raw && r == '\\') {
      if (!LexEscape()) return Error(pending_error_);
      continue;
    }
    if (r == 0xFFFD) return Error("invalid UTF-8 rune");
    if (r == -1) return Error(raw ? "unterminated raw string" : "unterminated quoted string");
    if (!raw && r == '\n') return Error("unterminated quoted string");
    if (r == string_open_) break;
  }
  return Emit(Tok::kString);
}

}  // namespace sprout::metrics::promql
