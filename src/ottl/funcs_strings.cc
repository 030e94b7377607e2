// String converters (collector.md §7.8): IsMatch and ExtractPatterns (RE2, compiled at parse
// time), prefixes and suffixes, Len, Concat, case conversions, Substring, Split, Trim, Index.
#include <algorithm>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "base/hex.h"
#include "ottl/funcs_internal.h"
#include "re2/re2.h"

namespace sprout::ottl::funcs {
namespace {

absl::Status CompileRegex(FunctionCall& c, size_t i, std::string_view fn) {
  RE2::Options options;
  options.set_log_errors(false);
  const std::string_view pattern = c.lit(i);
  c.re = std::make_unique<RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!c.re->ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the pattern supplied to ", AV(fn),
                     " is not a valid regexp pattern: error parsing regexp: ", c.re->error()));
  }
  return absl::OkStatus();
}

absl::Status SetupIsMatch(FunctionCall& c) { return CompileRegex(c, 1, "IsMatch"); }

absl::StatusOr<Value> IsMatch(const FunctionCall& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, c.arg(0, ctx));
  if (v.type == Type::kString) {
    return Value::Bool(RE2::PartialMatch(re2::StringPiece(v.s.data(), v.s.size()), *c.re));
  }
  std::string s;
  if (!StringLike(v, &s)) return Value::Bool(false);
  return Value::Bool(RE2::PartialMatch(s, *c.re));
}

absl::Status SetupExtractPatterns(FunctionCall& c) {
  RETURN_IF_ERROR(CompileRegex(c, 1, "ExtractPatterns"));
  if (c.re->NamedCapturingGroups().empty()) {
    return absl::InvalidArgumentError(
        "at least 1 named capture group must be supplied in the given regex");
  }
  return absl::OkStatus();
}

absl::StatusOr<Value> ExtractPatterns(const FunctionCall& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, StringArg(c, 0, ctx));
  const int n = c.re->NumberOfCapturingGroups() + 1;
  std::vector<re2::StringPiece> groups(n);
  auto map = std::make_shared<OwnedMap>();
  if (c.re->Match(re2::StringPiece(v.s.data(), v.s.size()), 0, v.s.size(), RE2::UNANCHORED,
                  groups.data(), n)) {
    for (const auto& [name, index] : c.re->NamedCapturingGroups()) {
      const re2::StringPiece& g = groups[index];
      map->entries.emplace_back(name, Value::OwnedStr(std::string(g.data(), g.size())));
    }
  }
  return Value::OwnedMapValue(std::move(map));
}

template <bool kPrefix>
absl::StatusOr<Value> HasAffix(const FunctionCall& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value target, StringArg(c, 0, ctx));
  ASSIGN_OR_RETURN(Value affix, StringArg(c, 1, ctx));
  return Value::Bool(kPrefix ? target.s.starts_with(affix.s) : target.s.ends_with(affix.s));
}

absl::StatusOr<Value> Len(const FunctionCall& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, c.arg(0, ctx));
  switch (v.type) {
    case Type::kString:
      return Value::Int(static_cast<int64_t>(v.s.size()));
    case Type::kMap:
      return Value::Int(static_cast<int64_t>(MapSize(v)));
    case Type::kList:
      return Value::Int(static_cast<int64_t>(ListSize(v)));
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "Len: target arg must be a string, a slice or a map, got ", AV(TypeForError(v))));
  }
}

absl::StatusOr<Value> Concat(const FunctionCall& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value list, c.arg(0, ctx));
  if (list.type != Type::kList) {
    return Err("Concat", absl::StrCat("vals must be a list, got ", AV(TypeForError(list))));
  }
  const std::string_view delimiter = c.lit(1);
  std::string out, item;
  const size_t n = ListSize(list);
  bool first = true;
  for (size_t i = 0; i < n; ++i) {
    const Value v = ListAt(list, i);
    if (v.type == Type::kMap || v.type == Type::kList) continue;
    if (!first) out.append(delimiter);
    first = false;
    if (v.is_nil()) {
      out.append("nil");
    } else if (v.type == Type::kBytes) {
      out.append(HexEncode(v.s));
    } else {
      StringLike(v, &item);
      out.append(item);
    }
  }
  return Value::OwnedStr(std::move(out));
}

// Splits a string into words at delimiters (space _ - .), lower→upper and letter↔digit changes,
// and before the last capital of an acronym followed by lower case ("HTTPServer" → HTTP Server).
std::vector<std::string_view> Words(std::string_view s) {
  auto upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  auto lower = [](char c) { return c >= 'a' && c <= 'z'; };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  std::vector<std::string_view> words;
  size_t start = 0;
  auto flush = [&](size_t end) {
    if (end > start) words.push_back(s.substr(start, end - start));
    start = end;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    const char ch = s[i];
    if (ch == ' ' || ch == '_' || ch == '-' || ch == '.') {
      flush(i);
      start = i + 1;
      continue;
    }
    if (i == start) continue;
    const char prev = s[i - 1];
    const bool boundary = (upper(ch) && (lower(prev) || digit(prev))) ||
                          (digit(ch) && (lower(prev) || upper(prev))) ||
                          ((lower(ch) || upper(ch)) && digit(prev)) ||
                          (upper(ch) && upper(prev) && i + 1 < s.size() && lower(s[i + 1]));
    if (boundary) flush(i);
  }
  flush(s.size());
  return words;
}

std::string Snake(std::string_view s) {
  std::string out;
  for (std::string_view w : Words(s)) {
    if (!out.empty()) out.push_back('_');
    out.append(absl::AsciiStrToLower(AV(w)));
  }
  return out;
}

std::string Camel(std::string_view s) {
  std::string out;
  for (std::string_view w : Words(s)) {
    out.push_back(absl::ascii_toupper(static_cast<unsigned char>(w[0])));
    out.append(w.substr(1));
  }
  return out;
}

enum CaseMode { kLower = 0, kUpper, kSnake, kCamel };

std::string ConvertTo(std::string_view s, int mode) {
  switch (mode) {
    case kLower:
      return absl::AsciiStrToLower(AV(s));
    case kUpper:
      return absl::AsciiStrToUpper(AV(s));
    case kSnake:
      return Snake(s);
    default:
      return Camel(s);
  }
}

template <int kMode>
absl::StatusOr<Value> ToCase(const FunctionCall& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, StringArg(c, 0, ctx));
  return Value::OwnedStr(ConvertTo(v.s, kMode));
}

absl::Status SetupConvertCase(FunctionCall& c) {
  const std::string_view to = c.lit(1);
  if (to == "lower") {
    c.mode = kLower;
  } else if (to == "upper") {
    c.mode = kUpper;
  } else if (to == "snake") {
    c.mode = kSnake;
  } else if (to == "camel") {
    c.mode = kCamel;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid case: ", AV(to), ", allowed cases are: lower, upper, snake, camel"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Value> ConvertCase(const FunctionCall& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, StringArg(c, 0, ctx));
  return Value::OwnedStr(ConvertTo(v.s, c.mode));
}

// Byte offset of the rune with index `runes` (s.size() when past the end).
size_t RuneOffset(std::string_view s, int64_t runes) {
  size_t i = 0;
  while (i < s.size() && runes > 0) {
    ++i;
    while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
    --runes;
  }
  return i;
}

size_t RuneCount(std::string_view s) {
  size_t n = 0;
  for (char ch : s) n += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
  return n;
}

absl::StatusOr<Value> Substring(const FunctionCall& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, StringArg(c, 0, ctx));
  ASSIGN_OR_RETURN(int64_t start, IntArg(c, 1, ctx));
  ASSIGN_OR_RETURN(int64_t length, IntArg(c, 2, ctx));
  bool utf8 = false;
  if (c.has(3)) {
    ASSIGN_OR_RETURN(Value u, c.arg(3, ctx));
    if (u.type != Type::kBool) {
      return absl::InvalidArgumentError(
          absl::StrCat("expected bool but got ", AV(TypeForError(u))));
    }
    utf8 = u.u.b;
  }
  if (start < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid start for substring function, ", start, " cannot be negative"));
  }
  if (length <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("invalid length for substring function, ",
                                                   length, " cannot be negative or zero"));
  }
  const uint64_t size = utf8 ? RuneCount(v.s) : v.s.size();
  const uint64_t end = static_cast<uint64_t>(start) + static_cast<uint64_t>(length);
  if (end > size) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid range for substring function, ", end,
                     " cannot be greater than the length of target string(", size, ")"));
  }
  if (!utf8) return Value::OwnedStr(std::string(v.s.substr(start, length)));
  const size_t from = RuneOffset(v.s, start);
  const size_t to = RuneOffset(v.s, start + length);
  return Value::OwnedStr(std::string(v.s.substr(from, to - from)));
}

absl::StatusOr<Value> Split(const FunctionCall& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, StringArg(c, 0, ctx));
  const std::string_view delimiter = c.lit(1);
  auto list = std::make_shared<OwnedList>();
  if (delimiter.empty()) {
    // Go's strings.Split with an empty separator: one item per UTF-8 sequence.
    size_t i = 0;
    while (i < v.s.size()) {
      const size_t next = RuneOffset(v.s.substr(i), 1);
      list->items.push_back(Value::OwnedStr(std::string(v.s.substr(i, next))));
      i += next;
    }
  } else {
    for (absl::string_view part : absl::StrSplit(AV(v.s), AV(delimiter))) {
      list->items.push_back(Value::OwnedStr(std::string(part)));
    }
  }
  return Value::OwnedListValue(std::move(list));
}

absl::StatusOr<Value> Trim(const FunctionCall& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, StringArg(c, 0, ctx));
  const std::string_view cutset = c.has(1) ? c.lit(1) : std::string_view(" ");
  std::string_view s = v.s;
  // Byte-wise cutset (Go's strings.Trim works on runes; identical for ASCII cutsets).
  while (!s.empty() && cutset.find(s.front()) != std::string_view::npos) s.remove_prefix(1);
  while (!s.empty() && cutset.find(s.back()) != std::string_view::npos) s.remove_suffix(1);
  return Value::OwnedStr(std::string(s));
}

template <bool kPrefix>
absl::StatusOr<Value> TrimAffix(const FunctionCall& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, StringArg(c, 0, ctx));
  ASSIGN_OR_RETURN(Value affix, StringArg(c, 1, ctx));
  std::string_view s = v.s;
  if (kPrefix && s.starts_with(affix.s)) s.remove_prefix(affix.s.size());
  if (!kPrefix && s.ends_with(affix.s)) s.remove_suffix(affix.s.size());
  return Value::OwnedStr(std::string(s));
}

absl::StatusOr<Value> Index(const FunctionCall& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value target, c.arg(0, ctx));
  ASSIGN_OR_RETURN(Value value, c.arg(1, ctx));
  if (target.type == Type::kString) {
    if (value.type != Type::kString) {
      return absl::InvalidArgumentError(
          absl::StrCat("Index: value must be a string, got ", AV(TypeForError(value))));
    }
    const size_t at = target.s.find(value.s);
    return Value::Int(at == std::string_view::npos ? -1 : static_cast<int64_t>(at));
  }
  if (target.type == Type::kList) {
    const size_t n = ListSize(target);
    for (size_t i = 0; i < n; ++i) {
      if (Compare(ListAt(target, i), value, CompareOp::kEq)) return Value::Int(i);
    }
    return Value::Int(-1);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("Index: target must be a string or a slice, got ", AV(TypeForError(target))));
}

}  // namespace

void AddStringFunctions(std::vector<FunctionSpec>* specs) {
  specs->insert(
      specs->end(),
      {
          {"IsMatch", {kTarget, {"pattern", false, true}}, IsMatch, SetupIsMatch},
          {"HasPrefix", {kTarget, {"prefix"}}, HasAffix<true>},
          {"HasSuffix", {kTarget, {"suffix"}}, HasAffix<false>},
          {"Len", {kTarget}, Len},
          {"Concat", {{"vals"}, {"delimiter", false, true}}, Concat},
          {"ToLowerCase", {kTarget}, ToCase<kLower>},
          {"ToUpperCase", {kTarget}, ToCase<kUpper>},
          {"ToSnakeCase", {kTarget}, ToCase<kSnake>},
          {"ToCamelCase", {kTarget}, ToCase<kCamel>},
          {"ConvertCase", {kTarget, {"toCase", false, true}}, ConvertCase, SetupConvertCase},
          {"Substring", {kTarget, {"start"}, {"length"}, {"utf8_safe", true}}, Substring},
          {"Split", {kTarget, {"delimiter", false, true}}, Split},
          {"Trim", {kTarget, {"replacement", true, true}}, Trim},
          {"TrimPrefix", {kTarget, {"prefix"}}, TrimAffix<true>},
          {"TrimSuffix", {kTarget, {"suffix"}}, TrimAffix<false>},
          {"Index", {kTarget, kValue}, Index},
          {"ExtractPatterns",
           {kTarget, {"pattern", false, true}},
           ExtractPatterns,
           SetupExtractPatterns},
      });
}

}  // namespace sprout::ottl::funcs
