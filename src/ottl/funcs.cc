// Converters (team reference collector.md §7.8) and the filter processor's datapoint functions.
//
// Each converter is a FuncSpec: its parameters (name, optional, literal-only) and a function
// over its evaluated arguments. Arity, parameter names and literal-only parameters are checked
// at parse time; `setup` does the rest of the parse-time work (compiling regular expressions,
// validating case names and time formats).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/go_duration.h"
#include "base/hex.h"
#include "base/status.h"
#include "ottl/internal.h"
#include "ottl/lexer.h"
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"
#include "re2/re2.h"

namespace sprout::ottl {
namespace {

class Call;
using Fn = absl::StatusOr<Value> (*)(const Call&, const EvalContext&);
using Setup = absl::Status (*)(Call&);

struct Param {
  std::string_view name;
  bool optional = false;
  bool literal = false;  // must be a string literal (Go: a `string` parameter)
};

enum class Where { kAny, kSpan, kFilterMetric };

struct FuncSpec {
  std::string_view name;
  std::vector<Param> params;
  Fn fn;
  Setup setup = nullptr;
  Where where = Where::kAny;
};

class Call : public Getter {
 public:
  const FuncSpec* spec = nullptr;
  std::vector<std::unique_ptr<Getter>> args;  // by parameter; null for an omitted optional
  std::vector<Key> keys;
  // Parse-time state.
  std::unique_ptr<RE2> re;
  int mode = 0;
  std::string format;
  absl::TimeZone zone = absl::UTCTimeZone();

  absl::StatusOr<Value> Get(const EvalContext& ctx) const override {
    ASSIGN_OR_RETURN(Value v, spec->fn(*this, ctx));
    if (keys.empty()) return v;
    return ApplyKeys(std::move(v), keys, 0, ctx, KeyStyle::kGo);
  }

  bool has(size_t i) const { return i < args.size() && args[i] != nullptr; }
  absl::StatusOr<Value> arg(size_t i, const EvalContext& ctx) const { return args[i]->Get(ctx); }
  // The string literal of a literal-only parameter ("" when omitted).
  std::string_view lit(size_t i) const { return has(i) ? args[i]->literal()->s : ""; }
};

absl::Status Err(std::string_view fn, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(AV(fn), ": ", AV(what)));
}

std::string_view TypeForError(const Value& v) { return v.is_nil() ? "nil" : GoTypeName(v); }

// StringGetter: the value must be a string.
absl::StatusOr<Value> StringArg(const Call& c, size_t i, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, c.arg(i, ctx));
  if (v.type != Type::kString) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected string but got ", AV(TypeForError(v))));
  }
  return v;
}

absl::StatusOr<int64_t> IntArg(const Call& c, size_t i, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, c.arg(i, ctx));
  if (v.type != Type::kInt) {
    return absl::InvalidArgumentError(absl::StrCat("expected int64 but got ", AV(TypeForError(v))));
  }
  return v.u.i;
}

absl::StatusOr<int64_t> TimeArg(const Call& c, size_t i, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, c.arg(i, ctx));
  if (v.type != Type::kTime) {
    return absl::InvalidArgumentError(absl::StrCat("expected time but got ", AV(TypeForError(v))));
  }
  return v.u.i;
}

absl::StatusOr<int64_t> DurationArg(const Call& c, size_t i, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, c.arg(i, ctx));
  if (v.type != Type::kDuration) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected duration but got ", AV(TypeForError(v))));
  }
  return v.u.i;
}

// --- type tests ---------------------------------------------------------------------------------

template <Type T>
absl::StatusOr<Value> IsType(const Call& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, c.arg(0, ctx));
  return Value::Bool(v.type == T);
}

absl::StatusOr<Value> IsEmpty(const Call& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, c.arg(0, ctx));
  switch (v.type) {
    case Type::kNil:
      return Value::Bool(true);
    case Type::kBool:
      return Value::Bool(!v.u.b);
    case Type::kInt:
    case Type::kDuration:
      return Value::Bool(v.u.i == 0);
    case Type::kDouble:
      return Value::Bool(v.u.d == 0);
    case Type::kString:
    case Type::kBytes:
      return Value::Bool(v.s.empty());
    case Type::kTraceId:
    case Type::kSpanId:
      return Value::Bool(v.s.find_first_not_of('\0') == std::string_view::npos);
    case Type::kMap:
      return Value::Bool(MapSize(v) == 0);
    case Type::kList:
      return Value::Bool(ListSize(v) == 0);
    case Type::kTime:
      return Value::Bool(false);
  }
  return Value::Bool(false);
}

absl::StatusOr<Value> IsRootSpan(const Call&, const EvalContext& ctx) {
  if (ctx.span == nullptr) return Value::Bool(false);
  const std::string& parent = ctx.span->parent_span_id();
  return Value::Bool(parent.find_first_not_of('\0') == std::string::npos);
}

// --- strings ------------------------------------------------------------------------------------

absl::Status CompileRegex(Call& c, size_t i, std::string_view fn) {
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

absl::Status SetupIsMatch(Call& c) { return CompileRegex(c, 1, "IsMatch"); }

absl::StatusOr<Value> IsMatch(const Call& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, c.arg(0, ctx));
  if (v.type == Type::kString) {
    return Value::Bool(RE2::PartialMatch(re2::StringPiece(v.s.data(), v.s.size()), *c.re));
  }
  std::string s;
  if (!StringLike(v, &s)) return Value::Bool(false);
  return Value::Bool(RE2::PartialMatch(s, *c.re));
}

absl::Status SetupExtractPatterns(Call& c) {
  RETURN_IF_ERROR(CompileRegex(c, 1, "ExtractPatterns"));
  if (c.re->NamedCapturingGroups().empty()) {
    return absl::InvalidArgumentError(
        "at least 1 named capture group must be supplied in the given regex");
  }
  return absl::OkStatus();
}

absl::StatusOr<Value> ExtractPatterns(const Call& c, const EvalContext& ctx) {
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
absl::StatusOr<Value> HasAffix(const Call& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value target, StringArg(c, 0, ctx));
  ASSIGN_OR_RETURN(Value affix, StringArg(c, 1, ctx));
  return Value::Bool(kPrefix ? target.s.starts_with(affix.s) : target.s.ends_with(affix.s));
}

absl::StatusOr<Value> Len(const Call& c, const EvalContext& ctx) {
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

absl::StatusOr<Value> Concat(const Call& c, const EvalContext& ctx) {
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
absl::StatusOr<Value> ToCase(const Call& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, StringArg(c, 0, ctx));
  return Value::OwnedStr(ConvertTo(v.s, kMode));
}

absl::Status SetupConvertCase(Call& c) {
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

absl::StatusOr<Value> ConvertCase(const Call& c, const EvalContext& ctx) {
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

absl::StatusOr<Value> Substring(const Call& c, const EvalContext& ctx) {
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

absl::StatusOr<Value> Split(const Call& c, const EvalContext& ctx) {
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

absl::StatusOr<Value> Trim(const Call& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, StringArg(c, 0, ctx));
  const std::string_view cutset = c.has(1) ? c.lit(1) : std::string_view(" ");
  std::string_view s = v.s;
  // Byte-wise cutset (Go's strings.Trim works on runes; identical for ASCII cutsets).
  while (!s.empty() && cutset.find(s.front()) != std::string_view::npos) s.remove_prefix(1);
  while (!s.empty() && cutset.find(s.back()) != std::string_view::npos) s.remove_suffix(1);
  return Value::OwnedStr(std::string(s));
}

template <bool kPrefix>
absl::StatusOr<Value> TrimAffix(const Call& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, StringArg(c, 0, ctx));
  ASSIGN_OR_RETURN(Value affix, StringArg(c, 1, ctx));
  std::string_view s = v.s;
  if (kPrefix && s.starts_with(affix.s)) s.remove_prefix(affix.s.size());
  if (!kPrefix && s.ends_with(affix.s)) s.remove_suffix(affix.s.size());
  return Value::OwnedStr(std::string(s));
}

absl::StatusOr<Value> Index(const Call& c, const EvalContext& ctx) {
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

// --- conversions --------------------------------------------------------------------------------

std::optional<double> ParseGoFloat(std::string_view s) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  std::string lower = absl::AsciiStrToLower(AV(s));
  if (lower == "inf" || lower == "infinity" || lower == "-inf" || lower == "-infinity") {
    return lower[0] == '-' ? -std::numeric_limits<double>::infinity()
                           : std::numeric_limits<double>::infinity();
  }
  if (lower == "nan") return std::numeric_limits<double>::quiet_NaN();
  double d = 0;
  auto res = std::from_chars(s.data(), s.data() + s.size(), d);
  if (s.empty() || res.ec != std::errc() || res.ptr != s.data() + s.size()) return std::nullopt;
  return d;
}

absl::StatusOr<Value> Int(const Call& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, c.arg(0, ctx));
  switch (v.type) {
    case Type::kInt:
      return v;
    case Type::kDouble:
      if (!std::isfinite(v.u.d) || std::fabs(v.u.d) >= 9.2233720368547758e18) return Value::Nil();
      return Value::Int(static_cast<int64_t>(v.u.d));
    case Type::kBool:
      return Value::Int(v.u.b ? 1 : 0);
    case Type::kString: {
      std::string_view s = v.s;
      if (!s.empty() && s[0] == '+') s.remove_prefix(1);
      int64_t i = 0;
      auto res = std::from_chars(s.data(), s.data() + s.size(), i);
      if (s.empty() || res.ec != std::errc() || res.ptr != s.data() + s.size()) {
        return Value::Nil();
      }
      return Value::Int(i);
    }
    default:
      return Value::Nil();
  }
}

absl::StatusOr<Value> Double(const Call& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, c.arg(0, ctx));
  switch (v.type) {
    case Type::kDouble:
      return v;
    case Type::kInt:
      return Value::Double(static_cast<double>(v.u.i));
    case Type::kBool:
      return Value::Double(v.u.b ? 1 : 0);
    case Type::kString: {
      auto d = ParseGoFloat(v.s);
      return d ? Value::Double(*d) : Value::Nil();
    }
    default:
      return Value::Nil();
  }
}

absl::StatusOr<Value> String(const Call& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, c.arg(0, ctx));
  switch (v.type) {
    case Type::kNil:
      return Value::Nil();
    case Type::kString:
      return v;
    case Type::kBytes:
    case Type::kTraceId:
    case Type::kSpanId:
      return Value::OwnedStr(HexEncode(v.s));
    case Type::kDuration:
      return Value::OwnedStr(FormatGoDuration(absl::Nanoseconds(v.u.i)));
    default: {
      std::string s;
      StringLike(v, &s);
      return Value::OwnedStr(std::move(s));
    }
  }
}

absl::StatusOr<Value> Bool(const Call& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, c.arg(0, ctx));
  switch (v.type) {
    case Type::kBool:
      return v;
    case Type::kInt:
      return Value::Bool(v.u.i != 0);
    case Type::kDouble:
      return Value::Bool(v.u.d != 0);
    case Type::kString: {
      static constexpr std::string_view kTrue[] = {"1", "t", "T", "true", "TRUE", "True"};
      static constexpr std::string_view kFalse[] = {"0", "f", "F", "false", "FALSE", "False"};
      for (std::string_view t : kTrue) {
        if (v.s == t) return Value::Bool(true);
      }
      for (std::string_view f : kFalse) {
        if (v.s == f) return Value::Bool(false);
      }
      return Value::Nil();
    }
    default:
      return Value::Nil();
  }
}

absl::StatusOr<Value> Hex(const Call& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, c.arg(0, ctx));
  std::string bytes;
  switch (v.type) {
    case Type::kString:
    case Type::kBytes:
    case Type::kTraceId:
    case Type::kSpanId:
      return Value::OwnedStr(HexEncode(v.s));
    case Type::kInt:
    case Type::kDouble: {
      uint64_t bits;
      if (v.type == Type::kInt) {
        bits = static_cast<uint64_t>(v.u.i);
      } else {
        std::memcpy(&bits, &v.u.d, sizeof(bits));
      }
      for (int shift = 56; shift >= 0; shift -= 8)
        bytes.push_back(static_cast<char>(bits >> shift));
      return Value::OwnedStr(HexEncode(bytes));
    }
    case Type::kBool:
      return Value::Str(v.u.b ? "01" : "00");
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("Hex: unsupported type ", AV(TypeForError(v))));
  }
}

// SHA-256 (FIPS 180-4).
std::string Sha256(std::string_view data) {
  static constexpr uint32_t k[64] = {
      0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
      0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
      0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
      0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
      0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
      0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
      0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
      0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
      0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
      0xc67178f2};
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::string msg(data);
  const uint64_t bit_len = static_cast<uint64_t>(data.size()) * 8;
  msg.push_back(static_cast<char>(0x80));
  while (msg.size() % 64 != 56) msg.push_back('\0');
  for (int shift = 56; shift >= 0; shift -= 8) msg.push_back(static_cast<char>(bit_len >> shift));
  auto rotr = [](uint32_t x, int n) { return (x >> n) | (x << (32 - n)); };
  for (size_t block = 0; block < msg.size(); block += 64) {
    uint32_t w[64];
    for (int i = 0; i < 16; ++i) {
      const auto* p = reinterpret_cast<const unsigned char*>(msg.data() + block + 4 * i);
      w[i] = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
    }
    for (int i = 16; i < 64; ++i) {
      const uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      const uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; ++i) {
      const uint32_t S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
      const uint32_t ch = (e & f) ^ (~e & g);
      const uint32_t t1 = hh + S1 + ch + k[i] + w[i];
      const uint32_t S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
      const uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
      const uint32_t t2 = S0 + maj;
      hh = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
  }
  std::string digest;
  for (uint32_t word : h) {
    for (int shift = 24; shift >= 0; shift -= 8) digest.push_back(static_cast<char>(word >> shift));
  }
  return digest;
}

absl::StatusOr<Value> SHA256(const Call& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, StringArg(c, 0, ctx));
  return Value::OwnedStr(HexEncode(Sha256(v.s)));
}

template <Type kType>
absl::StatusOr<Value> MakeId(const Call& c, const EvalContext& ctx) {
  constexpr size_t n = kType == Type::kTraceId ? 16 : 8;
  constexpr std::string_view fn = kType == Type::kTraceId ? "TraceID" : "SpanID";
  ASSIGN_OR_RETURN(Value v, c.arg(0, ctx));
  if ((v.type == Type::kBytes || v.type == kType) && v.s.size() == n) {
    return Value::Owned(kType, std::string(v.s));
  }
  if (v.type == Type::kString && v.s.size() == 2 * n) {
    if (auto bytes = HexDecode(v.s)) return Value::Owned(kType, std::move(*bytes));
  }
  return Err(fn, absl::StrCat(kType == Type::kTraceId ? "trace" : "span", " ids must be ", n,
                              " bytes (or ", 2 * n, " hex characters)"));
}

// --- time ---------------------------------------------------------------------------------------

absl::StatusOr<Value> Duration(const Call& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, StringArg(c, 0, ctx));
  ASSIGN_OR_RETURN(absl::Duration d, ParseGoDuration(v.s));
  return Value::Duration(absl::ToInt64Nanoseconds(d));
}

absl::StatusOr<Value> Now(const Call&, const EvalContext&) {
  return Value::Time(absl::GetCurrentTimeNanos());
}

template <int64_t kDivisor>
absl::StatusOr<Value> UnixAs(const Call& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(int64_t t, TimeArg(c, 0, ctx));
  // Go's Unix*/UnixNano truncate toward minus infinity for seconds; keep it simple: floor.
  int64_t q = t / kDivisor;
  if (t % kDivisor < 0) --q;
  return Value::Int(q);
}

absl::StatusOr<Value> Unix(const Call& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(int64_t seconds, IntArg(c, 0, ctx));
  int64_t nanos = 0;
  if (c.has(1)) {
    ASSIGN_OR_RETURN(nanos, IntArg(c, 1, ctx));
  }
  return Value::Time(absl::ToUnixNanos(absl::FromUnixSeconds(seconds) + absl::Nanoseconds(nanos)));
}

template <int kUnit>  // 0 ns, 1 µs, 2 ms (int64); 3 s, 4 min, 5 h (float64)
absl::StatusOr<Value> DurationAs(const Call& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(int64_t d, DurationArg(c, 0, ctx));
  switch (kUnit) {
    case 0:
      return Value::Int(d);
    case 1:
      return Value::Int(d / 1000);
    case 2:
      return Value::Int(d / 1000000);
    case 3:
      return Value::Double(static_cast<double>(d) / 1e9);
    case 4:
      return Value::Double(static_cast<double>(d) / 60e9);
    default:
      return Value::Double(static_cast<double>(d) / 3600e9);
  }
}

// Time(time, format[, location[, locale]]): `format` uses the Collector's strptime-like
// directives (see README.md); the text is read in `location` (default UTC) unless it carries an
// offset. Locales other than English month/day names are not supported.
constexpr std::string_view kMonths[] = {"january",   "february", "march",    "april",
                                        "may",       "june",     "july",     "august",
                                        "september", "october",  "november", "december"};
constexpr std::string_view kDays[] = {"sunday",   "monday", "tuesday", "wednesday",
                                      "thursday", "friday", "saturday"};

// Expands the composite directives into simple ones.
std::string ExpandFormat(std::string_view format) {
  std::string out;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%' || i + 1 >= format.size()) {
      out.push_back(format[i]);
      continue;
    }
    const char d = format[++i];
    switch (d) {
      case 'D':
        out.append("%m/%d/%Y");
        break;
      case 'x':
        out.append("%m/%d/%y");
        break;
      case 'F':
        out.append("%Y-%m-%d");
        break;
      case 'T':
      case 'X':
        out.append("%H:%M:%S");
        break;
      case 'R':
        out.append("%H:%M");
        break;
      case 'r':
        out.append("%I:%M:%S %p");
        break;
      case 'c':
        out.append("%a %b %d %H:%M:%S %Y");
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 't':
        out.push_back('\t');
        break;
      default:
        out.push_back('%');
        out.push_back(d);
    }
  }
  return out;
}

absl::Status SetupTime(Call& c) {
  const std::string_view format = c.lit(1);
  if (format.empty()) return absl::InvalidArgumentError("format cannot be nil");
  c.format = ExpandFormat(format);
  static constexpr std::string_view kSupported = "YymoqbhBdegaAHlIpPMSLfsZzwijk%";
  for (size_t i = 0; i < c.format.size(); ++i) {
    if (c.format[i] != '%') continue;
    if (i + 1 >= c.format.size() || kSupported.find(c.format[i + 1]) == std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("unsupported ctimefmt.ToNative() directive: %",
                       i + 1 < c.format.size() ? std::string(1, c.format[i + 1]) : std::string()));
    }
    ++i;
  }
  const std::string_view location = c.lit(2);
  if (!location.empty() && !absl::LoadTimeZone(AV(location), &c.zone)) {
    return absl::InvalidArgumentError(absl::StrCat("unknown time zone ", AV(location)));
  }
  return absl::OkStatus();
}

struct TimeParser {
  std::string_view in;
  size_t pos = 0;

  bool Number(int min_digits, int max_digits, int* out) {
    int n = 0, v = 0;
    while (n < max_digits && pos < in.size() && in[pos] >= '0' && in[pos] <= '9') {
      v = v * 10 + (in[pos++] - '0');
      ++n;
    }
    *out = v;
    return n >= min_digits;
  }
  bool Name(const std::string_view* names, int count, int* out) {
    // Full names first, then three-letter abbreviations (case-insensitive, like Go).
    for (int abbrev = 0; abbrev < 2; ++abbrev) {
      for (int i = 0; i < count; ++i) {
        const std::string_view name = abbrev ? names[i].substr(0, 3) : names[i];
        if (in.size() - pos >= name.size() &&
            absl::EqualsIgnoreCase(AV(in.substr(pos, name.size())), AV(name))) {
          pos += name.size();
          *out = i;
          return true;
        }
      }
    }
    return false;
  }
  bool Offset(int* seconds) {
    if (pos < in.size() && in[pos] == 'Z') {
      ++pos;
      *seconds = 0;
      return true;
    }
    if (pos >= in.size() || (in[pos] != '+' && in[pos] != '-')) return false;
    const int sign = in[pos++] == '-' ? -1 : 1;
    int h = 0, m = 0, s = 0;
    if (!Number(2, 2, &h)) return false;
    if (pos < in.size() && in[pos] == ':') ++pos;
    Number(0, 2, &m);
    if (pos < in.size() && in[pos] == ':') ++pos;
    Number(0, 2, &s);
    *seconds = sign * (h * 3600 + m * 60 + s);
    return true;
  }
};

absl::StatusOr<Value> TimeFn(const Call& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, StringArg(c, 0, ctx));
  if (v.s.empty()) return absl::InvalidArgumentError("time cannot be nil");
  TimeParser p{v.s};
  int year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0, pm = -1;
  int64_t nanos = 0;
  std::optional<int> offset;
  auto fail = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("parsing time \"", AV(v.s), "\" as \"", AV(c.lit(1)), "\": ", AV(why)));
  };
  const std::string& f = c.format;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') {
      if (p.pos >= v.s.size() || v.s[p.pos] != f[i]) return fail("cannot parse literal text");
      ++p.pos;
      continue;
    }
    const char d = f[++i];
    bool ok = true;
    int n = 0;
    switch (d) {
      case 'Y':
        ok = p.Number(4, 4, &year);
        break;
      case 'y':
        ok = p.Number(2, 2, &n);
        year = n >= 69 ? 1900 + n : 2000 + n;
        break;
      case 'm':
      case 'o':
      case 'q':
        ok = p.Number(1, 2, &month) && month >= 1 && month <= 12;
        break;
      case 'b':
      case 'h':
      case 'B':
        ok = p.Name(kMonths, 12, &n);
        month = n + 1;
        break;
      case 'd':
      case 'g':
        ok = p.Number(1, 2, &day);
        break;
      case 'e':
        if (p.pos < v.s.size() && v.s[p.pos] == ' ') ++p.pos;
        ok = p.Number(1, 2, &day);
        break;
      case 'a':
      case 'A':
        ok = p.Name(kDays, 7, &n);
        break;
      case 'H':
        ok = p.Number(1, 2, &hour) && hour < 24;
        break;
      case 'I':
      case 'l':
        ok = p.Number(1, 2, &hour) && hour >= 1 && hour <= 12;
        break;
      case 'p':
      case 'P': {
        const std::string_view rest = v.s.substr(p.pos, 2);
        ok = absl::EqualsIgnoreCase(AV(rest), "AM") || absl::EqualsIgnoreCase(AV(rest), "PM");
        if (ok) {
          pm = absl::EqualsIgnoreCase(AV(rest), "PM") ? 1 : 0;
          p.pos += 2;
        }
        break;
      }
      case 'M':
        ok = p.Number(1, 2, &minute) && minute < 60;
        break;
      case 'S':
        ok = p.Number(1, 2, &second) && second < 60;
        break;
      case 'L':
      case 'f':
      case 's': {
        // Fractional seconds: any number of digits.
        int64_t frac = 0;
        int digits = 0;
        while (p.pos < v.s.size() && v.s[p.pos] >= '0' && v.s[p.pos] <= '9') {
          if (digits < 9) {
            frac = frac * 10 + (v.s[p.pos] - '0');
            ++digits;
          }
          ++p.pos;
        }
        ok = digits > 0;
        while (digits++ < 9) frac *= 10;
        nanos = frac;
        break;
      }
      case 'Z': {
        const size_t start = p.pos;
        while (p.pos < v.s.size() && v.s[p.pos] >= 'A' && v.s[p.pos] <= 'Z') ++p.pos;
        ok = p.pos - start >= 3;
        if (ok) offset = 0;
        break;
      }
      case 'z':
      case 'w':
      case 'i':
      case 'j':
      case 'k': {
        int seconds = 0;
        ok = p.Offset(&seconds);
        offset = seconds;
        break;
      }
      case '%':
        ok = p.pos < v.s.size() && v.s[p.pos] == '%';
        ++p.pos;
        break;
      default:
        ok = false;
    }
    if (!ok) return fail(absl::StrCat("cannot parse %", std::string(1, d)));
    // Go accepts fractional seconds right after the seconds even when the layout has none.
    if (d == 'S' && p.pos + 1 < v.s.size() && (v.s[p.pos] == '.' || v.s[p.pos] == ',') &&
        v.s[p.pos + 1] >= '0' && v.s[p.pos + 1] <= '9' &&
        !(i + 2 < f.size() && f[i + 1] == v.s[p.pos] && f[i + 2] == '%')) {
      ++p.pos;
      int64_t frac = 0;
      int digits = 0;
      while (p.pos < v.s.size() && v.s[p.pos] >= '0' && v.s[p.pos] <= '9') {
        if (digits < 9) {
          frac = frac * 10 + (v.s[p.pos] - '0');
          ++digits;
        }
        ++p.pos;
      }
      while (digits++ < 9) frac *= 10;
      nanos = frac;
    }
  }
  if (p.pos != v.s.size()) return fail(absl::StrCat("extra text: \"", AV(v.s.substr(p.pos)), "\""));
  if (pm == 1 && hour < 12) hour += 12;
  if (pm == 0 && hour == 12) hour = 0;
  const absl::CivilSecond civil(year, month, day, hour, minute, second);
  if (civil.day() != day || civil.month() != month) return fail("day out of range");
  absl::Time t;
  if (offset) {
    t = absl::FromCivil(civil, absl::FixedTimeZone(*offset));
  } else {
    t = absl::FromCivil(civil, c.zone);
  }
  return Value::Time(absl::ToUnixNanos(t + absl::Nanoseconds(nanos)));
}

// --- collections --------------------------------------------------------------------------------

absl::StatusOr<Value> ContainsValue(const Call& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value target, c.arg(0, ctx));
  ASSIGN_OR_RETURN(Value item, c.arg(1, ctx));
  if (target.type != Type::kList) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected slice but got ", AV(TypeForError(target))));
  }
  const size_t n = ListSize(target);
  for (size_t i = 0; i < n; ++i) {
    if (Compare(ListAt(target, i), item, CompareOp::kEq)) return Value::Bool(true);
  }
  return Value::Bool(false);
}

absl::StatusOr<Value> Coalesce(const Call& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value list, c.arg(0, ctx));
  if (list.type != Type::kList) {
    return Err("Coalesce", absl::StrCat("values must be a list, got ", AV(TypeForError(list))));
  }
  const size_t n = ListSize(list);
  for (size_t i = 0; i < n; ++i) {
    Value v = ListAt(list, i);
    if (!v.is_nil()) {
      if (!v.hold) v.hold = list.hold;  // a borrowed item of an owned list keeps the list alive
      return v;
    }
  }
  return Value::Nil();
}

absl::StatusOr<Value> Keys(const Call& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value map, c.arg(0, ctx));
  if (map.type != Type::kMap) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected pcommon.Map but got ", AV(TypeForError(map))));
  }
  auto list = std::make_shared<OwnedList>();
  MapForEach(map, [&](std::string_view key, const Value&) {
    list->items.push_back(Value::OwnedStr(std::string(key)));
  });
  return Value::OwnedListValue(std::move(list));
}

// Deeper documents are refused rather than converted recursively.
constexpr int kMaxJsonDepth = 100;

Value FromJson(const rapidjson::Value& j) {
  if (j.IsObject()) {
    auto map = std::make_shared<OwnedMap>();
    for (auto it = j.MemberBegin(); it != j.MemberEnd(); ++it) {
      std::string key(it->name.GetString(), it->name.GetStringLength());
      // JSON objects may repeat a key; the last one wins, as in Go's map decoding.
      auto existing = std::find_if(map->entries.begin(), map->entries.end(),
                                   [&](const auto& e) { return e.first == key; });
      if (existing != map->entries.end()) {
        existing->second = FromJson(it->value);
      } else {
        map->entries.emplace_back(std::move(key), FromJson(it->value));
      }
    }
    return Value::OwnedMapValue(std::move(map));
  }
  if (j.IsArray()) {
    auto list = std::make_shared<OwnedList>();
    for (const auto& item : j.GetArray()) list->items.push_back(FromJson(item));
    return Value::OwnedListValue(std::move(list));
  }
  if (j.IsString()) return Value::OwnedStr(std::string(j.GetString(), j.GetStringLength()));
  if (j.IsBool()) return Value::Bool(j.GetBool());
  if (j.IsNumber()) return Value::Double(j.GetDouble());
  return Value::Nil();
}

// Depth of a document without recursion.
int JsonDepth(const rapidjson::Value& root) {
  std::vector<std::pair<const rapidjson::Value*, int>> stack = {{&root, 1}};
  int max_depth = 0;
  while (!stack.empty()) {
    auto [v, depth] = stack.back();
    stack.pop_back();
    max_depth = std::max(max_depth, depth);
    if (max_depth > kMaxJsonDepth) break;
    if (v->IsObject()) {
      for (auto it = v->MemberBegin(); it != v->MemberEnd(); ++it) {
        stack.emplace_back(&it->value, depth + 1);
      }
    } else if (v->IsArray()) {
      for (const auto& item : v->GetArray()) stack.emplace_back(&item, depth + 1);
    }
  }
  return max_depth;
}

absl::StatusOr<Value> ParseJSON(const Call& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, StringArg(c, 0, ctx));
  rapidjson::Document doc;
  // The iterative parser does not recurse, so deep nesting cannot exhaust the stack.
  doc.Parse<rapidjson::kParseIterativeFlag>(v.s.data(), v.s.size());
  if (doc.HasParseError()) {
    return Err("ParseJSON", rapidjson::GetParseError_En(doc.GetParseError()));
  }
  if (!doc.IsObject() && !doc.IsArray()) {
    return Err("ParseJSON", "could not convert parsed value into pcommon.Map or pcommon.Slice");
  }
  if (JsonDepth(doc) > kMaxJsonDepth) {
    return Err("ParseJSON", absl::StrCat("nesting deeper than ", kMaxJsonDepth, " levels"));
  }
  return FromJson(doc);
}

// --- the filter processor's metric functions -----------------------------------------------------

template <typename F>
bool AnyPointAttributes(const otlp::pb::metrics::Metric& m, F&& f) {
  auto scan = [&](const auto& points) {
    for (const auto& p : points) {
      if (f(p.attributes())) return true;
    }
    return false;
  };
  switch (m.data_case()) {
    case otlp::pb::metrics::Metric::kGauge:
      return scan(m.gauge().data_points());
    case otlp::pb::metrics::Metric::kSum:
      return scan(m.sum().data_points());
    case otlp::pb::metrics::Metric::kHistogram:
      return scan(m.histogram().data_points());
    case otlp::pb::metrics::Metric::kExponentialHistogram:
      return scan(m.exponential_histogram().data_points());
    case otlp::pb::metrics::Metric::kSummary:
      return scan(m.summary().data_points());
    default:
      return false;
  }
}

absl::StatusOr<Value> HasAttrKeyOnDatapoint(const Call& c, const EvalContext& ctx) {
  if (ctx.metric == nullptr) return Value::Bool(false);
  const std::string_view key = c.lit(0);
  return Value::Bool(AnyPointAttributes(*ctx.metric, [&](const KeyValues& attrs) {
    for (const auto& kv : attrs) {
      if (kv.key() == key) return true;
    }
    return false;
  }));
}

absl::StatusOr<Value> HasAttrOnDatapoint(const Call& c, const EvalContext& ctx) {
  if (ctx.metric == nullptr) return Value::Bool(false);
  const std::string_view key = c.lit(0), expected = c.lit(1);
  return Value::Bool(AnyPointAttributes(*ctx.metric, [&](const KeyValues& attrs) {
    for (const auto& kv : attrs) {
      if (kv.key() == key) {
        return kv.value().value_case() == otlp::pb::common::AnyValue::kStringValue &&
               kv.value().string_value() == expected;
      }
    }
    return false;
  }));
}

// --- the registry -------------------------------------------------------------------------------

const std::vector<FuncSpec>& Registry() {
  const Param value{"value"}, target{"target"};
  static const std::vector<FuncSpec> specs = {
      {"IsMatch", {target, {"pattern", false, true}}, IsMatch, SetupIsMatch},
      {"IsString", {value}, IsType<Type::kString>},
      {"IsInt", {value}, IsType<Type::kInt>},
      {"IsDouble", {value}, IsType<Type::kDouble>},
      {"IsBool", {value}, IsType<Type::kBool>},
      {"IsMap", {value}, IsType<Type::kMap>},
      {"IsList", {value}, IsType<Type::kList>},
      {"IsEmpty", {value}, IsEmpty},
      {"IsRootSpan", {}, IsRootSpan, nullptr, Where::kSpan},
      {"HasPrefix", {target, {"prefix"}}, HasAffix<true>},
      {"HasSuffix", {target, {"suffix"}}, HasAffix<false>},
      {"Len", {target}, Len},
      {"Concat", {{"vals"}, {"delimiter", false, true}}, Concat},
      {"Int", {value}, Int},
      {"Double", {value}, Double},
      {"String", {value}, String},
      {"Bool", {value}, Bool},
      {"ToLowerCase", {target}, ToCase<kLower>},
      {"ToUpperCase", {target}, ToCase<kUpper>},
      {"ToSnakeCase", {target}, ToCase<kSnake>},
      {"ToCamelCase", {target}, ToCase<kCamel>},
      {"ConvertCase", {target, {"toCase", false, true}}, ConvertCase, SetupConvertCase},
      {"Substring", {target, {"start"}, {"length"}, {"utf8_safe", true}}, Substring},
      {"Split", {target, {"delimiter", false, true}}, Split},
      {"Trim", {target, {"replacement", true, true}}, Trim},
      {"TrimPrefix", {target, {"prefix"}}, TrimAffix<true>},
      {"TrimSuffix", {target, {"suffix"}}, TrimAffix<false>},
      {"Index", {target, value}, Index},
      {"Hex", {value}, Hex},
      {"SHA256", {value}, SHA256},
      {"TraceID", {{"bytes"}}, MakeId<Type::kTraceId>},
      {"SpanID", {{"bytes"}}, MakeId<Type::kSpanId>},
      {"Duration", {{"duration"}}, Duration},
      {"Time",
       {{"time"}, {"format", false, true}, {"location", true, true}, {"locale", true, true}},
       TimeFn,
       SetupTime},
      {"Now", {}, Now},
      {"UnixNano", {{"time"}}, UnixAs<1>},
      {"UnixMicro", {{"time"}}, UnixAs<1000>},
      {"UnixMilli", {{"time"}}, UnixAs<1000000>},
      {"UnixSeconds", {{"time"}}, UnixAs<1000000000>},
      {"Unix", {{"seconds"}, {"nanoseconds", true}}, Unix},
      {"Nanoseconds", {{"duration"}}, DurationAs<0>},
      {"Microseconds", {{"duration"}}, DurationAs<1>},
      {"Milliseconds", {{"duration"}}, DurationAs<2>},
      {"Seconds", {{"duration"}}, DurationAs<3>},
      {"Minutes", {{"duration"}}, DurationAs<4>},
      {"Hours", {{"duration"}}, DurationAs<5>},
      {"ContainsValue", {target, {"item"}}, ContainsValue},
      {"Coalesce", {{"values"}}, Coalesce},
      {"Keys", {target}, Keys},
      {"ParseJSON", {target}, ParseJSON},
      {"ExtractPatterns",
       {target, {"pattern", false, true}},
       ExtractPatterns,
       SetupExtractPatterns},
      {"HasAttrKeyOnDatapoint",
       {{"key", false, true}},
       HasAttrKeyOnDatapoint,
       nullptr,
       Where::kFilterMetric},
      {"HasAttrOnDatapoint",
       {{"key", false, true}, {"expectedVal", false, true}},
       HasAttrOnDatapoint,
       nullptr,
       Where::kFilterMetric},
  };
  return specs;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Getter>> MakeConverter(std::string_view name, size_t offset,
                                                      std::vector<Arg> args, std::vector<Key> keys,
                                                      const ParserOptions& options) {
  const FuncSpec* spec = nullptr;
  for (const FuncSpec& s : Registry()) {
    if (s.name == name) spec = &s;
  }
  if (spec != nullptr && spec->where == Where::kSpan && options.context != ContextKind::kSpan) {
    spec = nullptr;
  }
  if (spec != nullptr && spec->where == Where::kFilterMetric &&
      (!options.filter_functions || options.context != ContextKind::kMetric)) {
    spec = nullptr;
  }
  if (spec == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("undefined function \"", AV(name), "\""));
  }
  auto call = std::make_unique<Call>();
  call->spec = spec;
  call->keys = std::move(keys);
  call->args.resize(spec->params.size());
  size_t required = 0;
  for (const Param& p : spec->params) required += !p.optional;
  bool named_seen = false;
  for (size_t i = 0; i < args.size(); ++i) {
    Arg& arg = args[i];
    size_t index = i;
    if (!arg.name.empty()) {
      named_seen = true;
      index = spec->params.size();
      for (size_t k = 0; k < spec->params.size(); ++k) {
        if (spec->params[k].name == arg.name) index = k;
      }
      if (index == spec->params.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("no such parameter \"", arg.name, "\" for function \"", AV(name), "\""));
      }
      if (call->args[index] != nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("duplicate argument \"", arg.name, "\" for function \"", AV(name), "\""));
      }
    } else if (named_seen) {
      return absl::InvalidArgumentError(absl::StrCat(
          "positional arguments must come before named arguments (function \"", AV(name), "\")"));
    }
    if (index >= spec->params.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("incorrect number of arguments. Expected: ", spec->params.size(),
                       " Received: ", args.size()));
    }
    if (spec->params[index].literal) {
      const Value* lit = arg.getter->literal();
      if (lit == nullptr || lit->type != Type::kString) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid argument at position ", index, ": must be a string"));
      }
    }
    call->args[index] = std::move(arg.getter);
  }
  for (size_t k = 0; k < spec->params.size(); ++k) {
    if (call->args[k] == nullptr && !spec->params[k].optional) {
      if (args.size() < required && !named_seen) {
        return absl::InvalidArgumentError(absl::StrCat(
            "incorrect number of arguments. Expected: ", required, " Received: ", args.size()));
      }
      return absl::InvalidArgumentError(absl::StrCat(
          "missing argument \"", AV(spec->params[k].name), "\" for function \"", AV(name), "\""));
    }
  }
  if (spec->setup != nullptr) RETURN_IF_ERROR(spec->setup(*call));
  return std::unique_ptr<Getter>(std::move(call));
}

}  // namespace sprout::ottl
