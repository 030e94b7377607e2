// The TraceQL lexer: Tempo's tokens (reference §2.1–2.2).
//
// Next() returns one token at a time. Literals carry their value (strings unescaped, numbers
// and durations parsed, durations in nanoseconds), attributes and intrinsics come whole as one
// token with their scope (`span.http.url`, `parent.resource.x`, `span."a b"`, `.x`,
// `trace:duration`, `duration`). An attribute name runs to whitespace or one of `{}()=~!<>&|^,`
// (Tempo's rule, so `span.a-b` is the attribute "a-b"), quoted parts included. Go comments are
// skipped; a character that starts no token is an identifier (as in Tempo). A lexer error is a
// kError token whose `text` is the message (Tempo's); the lexer then returns kEof forever.
// Keywords are case-sensitive. README.md lists the rules.
//
// Thread-safety: one Lexer per query; the input must outlive it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "traces/traceql/ast.h"

namespace sprout::traces::traceql {

enum class Tok : uint8_t {
  kEof,
  kError,
  kIdentifier,  // a bare word that is no keyword (hint names)
  kString,
  kInt,
  kFloat,
  kDuration,
  kNil,
  kTrue,
  kFalse,
  kStatus,     // value.i = Status
  kKind,       // value.i = Kind
  kAttribute,  // attr (also intrinsics: attr.scope == kIntrinsic)
  kLBrace,
  kRBrace,
  kLParen,
  kRParen,
  kComma,
  kPipe,
  // operators
  kEq,
  kNeq,
  kRe,
  kNre,
  kGt,
  kGte,
  kLt,
  kLte,
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kPow,
  kAnd,
  kOr,
  kNot,
  kDesc,
  kAnce,
  kSibl,
  kNotChild,
  kNotParent,
  kNotDesc,
  kNotAnce,
  kUnionChild,
  kUnionParent,
  kUnionDesc,
  kUnionAnce,
  kUnionSibl,
  // keywords
  kBy,
  kCoalesce,
  kSelect,
  kWith,
  kCount,
  kAvg,
  kMin,
  kMax,
  kSum,
};

struct Token {
  Tok type = Tok::kEof;
  Pos pos;
  std::string text;  // identifier; error message
  Static value;      // literals
  Attribute attr;    // kAttribute
};

// A token in "syntax error: unexpected ..." messages, as Tempo names it: Tempo's lexer replaces
// the generated parser's names of fixed tokens by their text ("}", "&&", "nil", "by", "span.",
// "trace:", "duration"), the others keep their grammar names ("IDENTIFIER", "STRING",
// "INTEGER", "FLOAT", "DURATION", "$end"). TokName is the fixed part (by type), Describe the
// whole (statuses, kinds and attributes by their text; an attribute by its first lexeme).
std::string_view TokName(Tok t);
std::string Describe(const Token& t);
// Words that are tokens to Tempo's lexer but identifiers here (`id`, `rootService`, `rate`, …):
// named by their text in messages and refused as hint names.
bool IsTempoKeyword(std::string_view word);
// Tempo's attribute-name rule: a name runs up to whitespace or one of `{}()=~!<>&|^,`.
bool IsAttributeChar(char c);

class Lexer {
 public:
  explicit Lexer(std::string_view input) : in_(input) {}
  Token Next();

 private:
  Token Error(int32_t start, std::string message);
  bool LexString(char quote, std::string* out, std::string* error);
  Token LexNumber(int32_t start);
  Token LexWord(int32_t start);
  Token LexAttributeName(int32_t start, Attribute attr);

  std::string_view in_;
  size_t i_ = 0;
  bool done_ = false;
  // Set in the lexer that names what follows a bad `span:` (for the message only): a scope
  // prefix there is returned as itself, without looking further (no recursion).
  bool describe_only_ = false;
};

// Tempo's duration parsing, into nanoseconds: Prometheus's syntax first ("1d12h", "2w", "1y":
// integers, units y w d h m s ms in this order), then Go's time.ParseDuration ("1h30m", "1.5s",
// "10us", "10µs"). False with Go's message when neither accepts the text.
bool ParseDuration(std::string_view text, int64_t* ns, std::string* error);

}  // namespace sprout::traces::traceql
