#include "ottl/lexer.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/go_text.h"
#include "base/hex.h"
#include "base/status.h"

namespace sprout::ottl {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLowerC(char c) { return c >= 'a' && c <= 'z'; }
bool IsUpperC(char c) { return c >= 'A' && c <= 'Z'; }
bool IsWordChar(char c) { return IsDigit(c) || IsLowerC(c) || IsUpperC(c) || c == '_'; }
bool IsHexDigit(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
// Go's regexp \s: [\t\n\f\r ].
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

// Length of `\b(word)\b` at `p`, or 0.
size_t Keyword(std::string_view text, size_t p, std::string_view word) {
  if (text.substr(p, word.size()) != word) return 0;
  const size_t end = p + word.size();
  if (end < text.size() && IsWordChar(text[end])) return 0;
  if (p > 0 && IsWordChar(text[p - 1])) return 0;
  return word.size();
}

}  // namespace

std::string Position(std::string_view text, size_t offset) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return absl::StrCat(line, ":", col);
}

absl::StatusOr<std::vector<Token>> Lex(std::string_view text) {
  std::vector<Token> tokens;
  size_t p = 0;
  auto error = [&](size_t at, std::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(Position(text, at), ": ", AV(what)));
  };
  while (p < text.size()) {
    const char c = text[p];
    if (IsSpace(c)) {
      ++p;
      continue;
    }
    Token t;
    t.offset = p;
    size_t n = 0;
    // Bytes: 0x[a-fA-F0-9]+
    if (c == '0' && p + 2 < text.size() && text[p + 1] == 'x' && IsHexDigit(text[p + 2])) {
      n = 2;
      while (p + n < text.size() && IsHexDigit(text[p + n])) ++n;
      t.kind = Tok::kBytes;
      t.text = text.substr(p, n);
      auto decoded = HexDecode(t.text.substr(2));
      if (!decoded) {
        return error(p, absl::StrCat("invalid bytes literal ", AV(t.text),
                                     ": encoding/hex: odd length hex string"));
      }
      t.value = std::move(*decoded);
      tokens.push_back(std::move(t));
      p += n;
      continue;
    }
    // Float: [-+]?\d*\.\d+([eE][-+]?\d+)?   Int: [-+]?\d+
    {
      size_t q = p;
      if (text[q] == '-' || text[q] == '+') ++q;
      size_t digits_start = q;
      while (q < text.size() && IsDigit(text[q])) ++q;
      const size_t int_digits = q - digits_start;
      if (q + 1 < text.size() && text[q] == '.' && IsDigit(text[q + 1])) {
        ++q;
        while (q < text.size() && IsDigit(text[q])) ++q;
        if (q < text.size() && (text[q] == 'e' || text[q] == 'E')) {
          size_t r = q + 1;
          if (r < text.size() && (text[r] == '-' || text[r] == '+')) ++r;
          if (r < text.size() && IsDigit(text[r])) {
            while (r < text.size() && IsDigit(text[r])) ++r;
            q = r;
          }
        }
        t.kind = Tok::kFloat;
        t.text = text.substr(p, q - p);
        tokens.push_back(std::move(t));
        p = q;
        continue;
      }
      if (int_digits > 0) {
        t.kind = Tok::kInt;
        t.text = text.substr(p, q - p);
        tokens.push_back(std::move(t));
        p = q;
        continue;
      }
    }
    // String: "(\\.|[^\\"])*"
    if (c == '"') {
      size_t q = p + 1;
      bool closed = false;
      while (q < text.size()) {
        if (text[q] == '\\') {
          if (q + 1 >= text.size()) break;
          q += 2;
          continue;
        }
        if (text[q] == '"') {
          closed = true;
          ++q;
          break;
        }
        ++q;
      }
      if (!closed) return error(p, "invalid input text (unterminated string literal)");
      t.kind = Tok::kString;
      t.text = text.substr(p, q - p);
      if (!GoUnquote(t.text, &t.value)) {
        return error(p, absl::StrCat("invalid quoted string ", AV(t.text), ": invalid syntax"));
      }
      tokens.push_back(std::move(t));
      p = q;
      continue;
    }
    struct Word {
      std::string_view word;
      Tok kind;
    };
    static constexpr Word kKeywords[] = {{"not", Tok::kNot}, {"or", Tok::kOr}, {"and", Tok::kAnd}};
    bool matched = false;
    for (const Word& w : kKeywords) {
      if ((n = Keyword(text, p, w.word)) > 0) {
        t.kind = w.kind;
        matched = true;
        break;
      }
    }
    if (!matched) {
      const std::string_view rest = text.substr(p);
      if (rest.starts_with("==") || rest.starts_with("!=") || rest.starts_with(">=") ||
          rest.starts_with("<=")) {
        t.kind = Tok::kCompare;
        n = 2;
      } else if (c == '>' || c == '<') {
        t.kind = Tok::kCompare;
        n = 1;
      } else if (c == '+' || c == '-') {
        t.kind = Tok::kAddSub;
        n = 1;
      } else if (c == '*' || c == '/') {
        t.kind = Tok::kMulDiv;
        n = 1;
      } else if ((n = Keyword(text, p, "true")) > 0 || (n = Keyword(text, p, "false")) > 0) {
        t.kind = Tok::kBool;
      } else {
        n = 1;
        switch (c) {
          case '=':
            t.kind = Tok::kEqual;
            break;
          case '(':
            t.kind = Tok::kLParen;
            break;
          case ')':
            t.kind = Tok::kRParen;
            break;
          case '{':
            t.kind = Tok::kLBrace;
            break;
          case '}':
            t.kind = Tok::kRBrace;
            break;
          case ':':
            t.kind = Tok::kColon;
            break;
          case ',':
            t.kind = Tok::kComma;
            break;
          case '.':
            t.kind = Tok::kDot;
            break;
          case '[':
            t.kind = Tok::kLBracket;
            break;
          case ']':
            t.kind = Tok::kRBracket;
            break;
          default:
            n = 0;
        }
        if (n == 0) {
          if (!IsUpperC(c) && !IsLowerC(c)) {
            return error(
                p, absl::StrCat("invalid input text \"",
                                AV(text.substr(p, std::min<size_t>(16, text.size() - p))), "\""));
          }
          bool has_upper = false, has_lower = false;
          while (p + n < text.size() && IsWordChar(text[p + n])) {
            has_upper |= IsUpperC(text[p + n]);
            has_lower |= IsLowerC(text[p + n]);
            ++n;
          }
          if (IsUpperC(c)) {
            t.kind = has_lower ? Tok::kMixed : Tok::kUpper;
          } else {
            t.kind = has_upper ? Tok::kMixed : Tok::kLower;
          }
        }
      }
    }
    t.text = text.substr(p, n);
    tokens.push_back(std::move(t));
    p += n;
  }
  Token end;
  end.kind = Tok::kEnd;
  end.offset = text.size();
  tokens.push_back(std::move(end));
  return tokens;
}

}  // namespace sprout::ottl
