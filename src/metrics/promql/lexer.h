// The PromQL lexer: Prometheus 2.42's tokens, states and error texts.
//
// Next() returns one token at a time. A lexer error is returned once as a kError token (its
// text the message, its position where Prometheus reports it) and the lexer then returns kEof
// forever. Comments are returned as kComment (the parser skips them). Inside braces every word
// is an identifier; outside them keywords are recognised case-insensitively ("SUM", "Inf").
//
// Thread-safety: one Lexer per query; the input must outlive it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sprout::metrics::promql {

enum class Tok : uint8_t {
  kEof,
  kError,
  kComment,
  kIdentifier,
  kMetricIdentifier,
  kString,
  kNumber,
  kDuration,
  kLeftParen,
  kRightParen,
  kLeftBrace,
  kRightBrace,
  kLeftBracket,
  kRightBracket,
  kComma,
  kEql,
  kColon,
  kAt,
  // operators
  kSub,
  kAdd,
  kMul,
  kMod,
  kDiv,
  kEqlc,
  kNeq,
  kLte,
  kLss,
  kGte,
  kGtr,
  kEqlRegex,
  kNeqRegex,
  kPow,
  kLand,
  kLor,
  kLunless,
  kAtan2,
  // aggregators
  kAvg,
  kBottomk,
  kCount,
  kCountValues,
  kGroup,
  kMax,
  kMin,
  kQuantile,
  kStddev,
  kStdvar,
  kSum,
  kTopk,
  kLimitk,
  kLimitRatio,
  // keywords
  kBool,
  kBy,
  kGroupLeft,
  kGroupRight,
  kIgnoring,
  kOffset,
  kOn,
  kWithout,
  // preprocessors
  kStart,
  kEnd,
};

bool IsAggregatorTok(Tok t);
bool IsOperatorTok(Tok t);
bool IsKeywordTok(Tok t);

struct Token {
  Tok type = Tok::kEof;
  int32_t pos = 0;
  std::string_view text;  // the token's bytes (kError: empty; see Lexer::error())
};

class Lexer {
 public:
  explicit Lexer(std::string_view input) : in_(input) {}

  Token Next();
  // The message of the last kError token.
  const std::string& error() const { return error_; }

  // Prometheus's description of a token in "unexpected ..." messages: `identifier "foo"`,
  // `"("`, `<op:+>`, `<by>`, `<aggr:sum>`, `number "5"`, `end of input`.
  static std::string Describe(const Token& t);

 private:
  int32_t Peek() const;
  int32_t NextRune();
  void Backup() { pos_ -= width_; }
  bool Accept(std::string_view valid);
  void AcceptRun(std::string_view valid);
  Token Emit(Tok t);
  Token Error(std::string message);
  bool ScanNumber();
  bool AcceptRemainingDuration();
  Token LexStatements();
  Token LexInsideBraces();
  Token LexString(bool raw);
  Token LexNumberOrDuration();
  Token LexDuration();
  Token LexKeywordOrIdentifier();
  Token LexIdentifier();
  Token LexLineComment();
  bool LexEscape();  // false: an error was recorded in pending_error_

  std::string_view in_;
  size_t pos_ = 0;
  size_t start_ = 0;
  int width_ = 0;
  int paren_depth_ = 0;
  bool brace_open_ = false;
  bool bracket_open_ = false;
  bool got_colon_ = false;
  bool pending_duration_ = false;  // right after '[': a duration must follow
  bool done_ = false;
  int32_t string_open_ = 0;
  std::string error_;
  std::string pending_error_;
};

}  // namespace sprout::metrics::promql
