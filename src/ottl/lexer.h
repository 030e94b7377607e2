// OTTL tokens (ottl/ internals). The token set and the order in which they are tried follow the
// Collector's lexer (team reference collector.md §7.1); names are lexed whole (`IsMatch`,
// `SPAN_KIND_SERVER`, `attributes`) and classified afterwards.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace sprout::ottl {

enum class Tok {
  kEnd,
  kBytes,    // 0x… ; value = decoded bytes
  kFloat,    // text
  kInt,      // text
  kString,   // value = unquoted
  kNot,      // not
  kOr,       // or
  kAnd,      // and
  kCompare,  // == != >= <= > <
  kAddSub,   // + -
  kMulDiv,   // * /
  kBool,     // true false
  kEqual,    // =
  kLParen,
  kRParen,
  kLBrace,
  kRBrace,
  kColon,
  kComma,
  kDot,
  kLBracket,
  kRBracket,
  kUpper,  // [A-Z][A-Z0-9_]*  (an enum symbol or an all-caps converter name)
  kLower,  // [a-z][a-z0-9_]*  (a path segment; `nil`)
  kMixed,  // a name mixing cases (`IsMatch`, `isMatch`)
};

struct Token {
  Tok kind = Tok::kEnd;
  std::string_view text;  // as written
  size_t offset = 0;      // byte offset in the condition
  std::string value;      // kString: unquoted text; kBytes: decoded bytes
};

// 1-based line and byte column of `offset` in `text`, as "line:col".
std::string Position(std::string_view text, size_t offset);

// Tokenizes the whole condition. Errors are syntax errors already formatted as
// "<line>:<col>: <what>" (without the "condition has invalid syntax: " prefix).
absl::StatusOr<std::vector<Token>> Lex(std::string_view text);

}  // namespace sprout::ottl
