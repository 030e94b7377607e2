#include "metrics/api/params.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/go_text.h"
#include "base/status.h"
#include "re2/re2.h"

namespace sprout::metrics::api {
namespace {

absl::Status ParseError(size_t byte_pos, std::string_view message) {
  // Prometheus prints "<line>:<column>" with a 1-based byte column (selectors are one line).
  return absl::InvalidArgumentError(
      absl::StrCat("1:", byte_pos + 1, ": parse error: ", AV(message)));
}

bool IsNameStart(char c) { return absl::ascii_isalpha(c) || c == '_' || c == ':'; }
bool IsNameChar(char c) { return IsNameStart(c) || absl::ascii_isdigit(c); }
bool IsLabelStart(char c) { return absl::ascii_isalpha(c) || c == '_'; }
bool IsLabelChar(char c) { return IsLabelStart(c) || absl::ascii_isdigit(c); }

// The selector lexer/parser: positions are byte offsets into `in_`.
class SelectorParser {
 public:
  explicit SelectorParser(std::string_view in, bool allow_empty = false)
      : in_(in), allow_empty_(allow_empty) {}

  // With a non-null `end`, input after a complete selector is left alone: *end is where it
  // starts (after spaces; in_.size() when there is none).
  absl::StatusOr<MatcherSpecSet> Parse(size_t* end = nullptr) {
    MatcherSpecSet out;
    SkipSpace();
    if (pos_ == in_.size()) return ParseError(pos_, "unexpected end of input");
    std::string metric_name;
    bool has_name = false;
    if (IsNameStart(in_[pos_])) {
      const size_t start = pos_;
      while (pos_ < in_.size() && IsNameChar(in_[pos_])) ++pos_;
      metric_name = std::string(in_.substr(start, pos_ - start));
      has_name = true;
      SkipSpace();
    }
    bool braces = false;
    if (pos_ < in_.size() && in_[pos_] == '{') {
      braces = true;
      ++pos_;
      absl::Status status = ParseMatchers(&out);
      if (!status.ok()) return status;
    }
    SkipSpace();
    if (!has_name && !braces) {
      return ParseError(pos_, absl::StrCat("unexpected character: ", QuoteRune(in_[pos_])));
    }
    if (end != nullptr) {
      *end = pos_;
    } else if (pos_ < in_.size()) {
      return ParseError(
          pos_, absl::StrCat("could not parse remaining input ", GoQuote(in_.substr(pos_)), "..."));
    }
    if (has_name) {
      for (const MatcherSpec& m : out) {
        if (m.name == "__name__") {
          return ParseError(0, absl::StrCat("metric name must not be set twice: ",
                                            GoQuote(metric_name), " or ", GoQuote(m.value)));
        }
      }
      out.insert(out.begin(), MatcherSpec{MatcherSpec::Op::kEqual, "__name__", metric_name});
    }
    bool any_non_empty = false;
    for (const MatcherSpec& m : out) any_non_empty = any_non_empty || !m.MatchesEmpty();
    if (!any_non_empty && !allow_empty_) {
      return ParseError(0, "vector selector must contain at least one non-empty matcher");
    }
    return out;
  }

 private:
  static std::string QuoteRune(char c) {
    if (c == '\'') return "'\\''";
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "'\\x%02x'", static_cast<unsigned char>(c));
      return buf;
    }
    return absl::StrCat("'", std::string(1, c), "'");
  }

  void SkipSpace() {
    while (pos_ < in_.size() &&
           (in_[pos_] == ' ' || in_[pos_] == '\t' || in_[pos_] == '\n' || in_[pos_] == '\r')) {
      ++pos_;
    }
  }

  // A description of the token at pos_ for "unexpected X" messages, as Prometheus's parser
  // names them.
  std::string TokenDescription() {
    if (pos_ >= in_.size()) return "end of input";
    const char c = in_[pos_];
    if (IsLabelStart(c)) {
      size_t end = pos_;
      while (end < in_.size() && IsLabelChar(in_[end])) ++end;
      return absl::StrCat("identifier ", GoQuote(in_.substr(pos_, end - pos_)));
    }
    if (c == '"' || c == '\'' || c == '`') return "string";
    if (c == '}') return "\"}\"";
    if (c == ',') return "\",\"";
    if (c == '=' || c == '!') {
      if (pos_ + 1 < in_.size() && (in_[pos_ + 1] == '=' || in_[pos_ + 1] == '~')) {
        return absl::StrCat("\"", AV(in_.substr(pos_, 2)), "\"");
      }
      return absl::StrCat("\"", std::string(1, c), "\"");
    }
    return absl::StrCat("\"", std::string(1, c), "\"");
  }

  // Characters the lexer accepts inside braces; anything else is a lexer error.
  absl::Status CheckLexable() {
    if (pos_ >= in_.size()) return ParseError(pos_, "unexpected end of input inside braces");
    const char c = in_[pos_];
    if (IsLabelStart(c) || c == '"' || c == '\'' || c == '`' || c == '}' || c == ',' || c == '=' ||
        c == '!') {
      if (c == '!' && !(pos_ + 1 < in_.size() && (in_[pos_ + 1] == '=' || in_[pos_ + 1] == '~'))) {
        return ParseError(pos_, "unexpected character inside braces: '!'");
      }
      return absl::OkStatus();
    }
    return ParseError(pos_, absl::StrCat("unexpected character inside braces: ", QuoteRune(c)));
  }

  absl::Status ParseMatchers(MatcherSpecSet* out) {
    for (;;) {
      SkipSpace();
      if (absl::Status s = CheckLexable(); !s.ok()) return s;
      const char c = in_[pos_];
      if (c == '}') {
        ++pos_;
        return absl::OkStatus();
      }
      // A label name: identifier or quoted string.
      std::string name;
      if (IsLabelStart(c)) {
        const size_t start = pos_;
        while (pos_ < in_.size() && IsLabelChar(in_[pos_])) ++pos_;
        name = std::string(in_.substr(start, pos_ - start));
      } else if (c == '"' || c == '\'' || c == '`') {
        absl::StatusOr<std::string> quoted = ParseString();
        if (!quoted.ok()) return quoted.status();
        name = *std::move(quoted);
        SkipSpace();
        if (absl::Status s = CheckLexable(); !s.ok()) return s;
        if (in_[pos_] == ',' || in_[pos_] == '}') {
          // `{"metric.name"}`: a bare quoted metric name.
          out->push_back(MatcherSpec{MatcherSpec::Op::kEqual, "__name__", std::move(name)});
          if (in_[pos_] == ',') ++pos_;
          continue;
        }
      } else {
        return ParseError(pos_, absl::StrCat("unexpected ", TokenDescription(),
                                             " in label matching, expected identifier or \"}\""));
      }
      SkipSpace();
      if (absl::Status s = CheckLexable(); !s.ok()) return s;
      MatcherSpec::Op op;
      if (in_.substr(pos_, 2) == "=~") {
        op = MatcherSpec::Op::kRegexMatch;
        pos_ += 2;
      } else if (in_.substr(pos_, 2) == "!=") {
        op = MatcherSpec::Op::kNotEqual;
        pos_ += 2;
      } else if (in_.substr(pos_, 2) == "!~") {
        op = MatcherSpec::Op::kRegexNoMatch;
        pos_ += 2;
      } else if (in_[pos_] == '=') {
        op = MatcherSpec::Op::kEqual;
        ++pos_;
      } else {
        return ParseError(pos_, absl::StrCat("unexpected ", TokenDescription(),
                                             " in label matching, expected label matching "
                                             "operator"));
      }
      SkipSpace();
      if (absl::Status s = CheckLexable(); !s.ok()) return s;
      if (in_[pos_] != '"' && in_[pos_] != '\'' && in_[pos_] != '`') {
        return ParseError(pos_, absl::StrCat("unexpected ", TokenDescription(),
                                             " in label matching, expected string"));
      }
      const size_t value_pos = pos_;
      absl::StatusOr<std::string> value = ParseString();
      if (!value.ok()) return value.status();
      MatcherSpec m{op, std::move(name), *std::move(value)};
      if (op == MatcherSpec::Op::kRegexMatch || op == MatcherSpec::Op::kRegexNoMatch) {
        RE2 re(absl::StrCat("^(?s:", m.value, ")$"), RE2::Quiet);
        if (!re.ok()) {
          return ParseError(value_pos, absl::StrCat("error parsing regexp: ", re.error()));
        }
      }
      out->push_back(std::move(m));
      SkipSpace();
      if (absl::Status s = CheckLexable(); !s.ok()) return s;
      if (in_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (in_[pos_] == '}') continue;  // closed at the top of the loop
      return ParseError(pos_, absl::StrCat("unexpected ", TokenDescription(),
                                           " in label matching, expected \",\" or \"}\""));
    }
  }

  // A quoted string at pos_ ("", '' with Go's escapes; `` raw).
  absl::StatusOr<std::string> ParseString() {
    const size_t start = pos_;
    const char quote = in_[pos_++];
    std::string out;
    while (true) {
      if (pos_ >= in_.size() || (quote != '`' && in_[pos_] == '\n')) {
        return ParseError(start, "unterminated quoted string");
      }
      const char c = in_[pos_];
      if (c == quote) {
        ++pos_;
        return out;
      }
      if (c != '\\' || quote == '`') {
        out.push_back(c);
        ++pos_;
        continue;
      }
      // Escapes, as Go's strconv.Unquote.
      const size_t esc = pos_;
      if (++pos_ >= in_.size()) return ParseError(start, "unterminated quoted string");
      const char e = in_[pos_++];
      switch (e) {
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
        case '\\':
          out.push_back('\\');
          break;
        case '"':
        case '\'':
          if (e != quote) return ParseError(esc, "unknown escape sequence");
          out.push_back(e);
          break;
        case 'x':
        case 'u':
        case 'U': {
          const size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          if (pos_ + n > in_.size()) return ParseError(esc, "illegal character in escape sequence");
          uint32_t v = 0;
          for (size_t i = 0; i < n; ++i) {
            const char h = in_[pos_ + i];
            if (!absl::ascii_isxdigit(h)) {
              return ParseError(esc, "illegal character in escape sequence");
            }
            v = v * 16 + (absl::ascii_isdigit(h) ? h - '0' : (absl::ascii_tolower(h) - 'a' + 10));
          }
          pos_ += n;
          if (e == 'x') {
            out.push_back(static_cast<char>(v));
          } else {
            if (v > 0x10FFFF || (v >= 0xD800 && v < 0xE000)) {
              return ParseError(esc, "escape sequence is an invalid Unicode code point");
            }
            AppendUtf8(static_cast<int32_t>(v), &out);
          }
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            if (pos_ + 2 > in_.size()) {
              return ParseError(esc, "illegal character in escape sequence");
            }
            uint32_t v = e - '0';
            for (size_t i = 0; i < 2; ++i) {
              const char o = in_[pos_ + i];
              if (o < '0' || o > '7')
                return ParseError(esc, "illegal character in escape sequence");
              v = v * 8 + (o - '0');
            }
            if (v > 255) return ParseError(esc, "octal escape value > 255");
            pos_ += 2;
            out.push_back(static_cast<char>(v));
            break;
          }
          return ParseError(esc, "unknown escape sequence");
      }
    }
  }

  std::string_view in_;
  bool allow_empty_ = false;
  size_t pos_ = 0;
};

}  // namespace

bool MatcherSpec::MatchesEmpty() const {
  switch (op) {
    case Op::kEqual:
      return value.empty();
    case Op::kNotEqual:
      return !value.empty();
    case Op::kRegexMatch:
    case Op::kRegexNoMatch: {
      RE2 re(absl::StrCat("^(?s:", value, ")$"), RE2::Quiet);
      const bool matches = re.ok() && RE2::FullMatch("", re);
      return op == Op::kRegexMatch ? matches : !matches;
    }
  }
  return false;
}

std::string MatcherSpec::ToString() const {
  const char* ops[] = {"=", "!=", "=~", "!~"};
  return absl::StrCat(name, ops[static_cast<int>(op)], GoQuote(value));
}

absl::StatusOr<int64_t> ParseTimestamp(std::string_view text) {
  const std::string s(text);
  // Unix seconds with an optional fraction, rounded to milliseconds (Prometheus's parseTime).
  double seconds = 0;
  if (!s.empty() && absl::SimpleAtod(s, &seconds) && !absl::ascii_isalpha(s.back())) {
    if (std::isnan(seconds)) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot parse ", GoQuote(text), " to a valid timestamp"));
    }
    double whole = 0;
    const double frac = std::modf(seconds, &whole);
    constexpr double kMaxSeconds = static_cast<double>(kMaxTimeMs / 1000);
    constexpr double kMinSeconds = static_cast<double>(kMinTimeMs / 1000);
    if (whole >= kMaxSeconds) return kMaxTimeMs;
    if (whole <= kMinSeconds) return kMinTimeMs;
    return static_cast<int64_t>(whole) * 1000 + static_cast<int64_t>(std::llround(frac * 1000));
  }
  absl::Time t;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, s, &t, &err)) return absl::ToUnixMillis(t);
  return absl::InvalidArgumentError(
      absl::StrCat("cannot parse ", GoQuote(text), " to a valid timestamp"));
}

absl::StatusOr<int64_t> ParseTimeParam(std::string_view name, std::string_view value,
                                       int64_t default_ms) {
  if (value.empty()) return default_ms;
  absl::StatusOr<int64_t> t = ParseTimestamp(value);
  if (!t.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid parameter ", GoQuote(name), ": ", t.status().message()));
  }
  return t;
}

absl::StatusOr<int64_t> GoAtoi(std::string_view text) {
  const auto error = [text](std::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat("strconv.Atoi: parsing ", GoQuote(text), ": ", AV(what)));
  };
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
  if (i == text.size()) return error("invalid syntax");
  uint64_t v = 0;
  bool overflow = false;
  for (; i < text.size(); ++i) {
    if (!absl::ascii_isdigit(text[i])) return error("invalid syntax");
    const uint64_t digit = static_cast<uint64_t>(text[i] - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
      overflow = true;
      v = std::numeric_limits<uint64_t>::max();
    } else {
      v = v * 10 + digit;
    }
  }
  const uint64_t max = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  if (overflow || v > max) return error("value out of range");
  return negative ? static_cast<int64_t>(~v + 1) : static_cast<int64_t>(v);
}

absl::StatusOr<int64_t> ParseLimitParam(std::string_view value) {
  if (value.empty()) return 0;
  absl::StatusOr<int64_t> limit = GoAtoi(value);
  if (!limit.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid parameter \"limit\": ", limit.status().message()));
  }
  if (*limit < 0) {
    return absl::InvalidArgumentError("invalid parameter \"limit\": limit must be non-negative");
  }
  return limit;
}

absl::StatusOr<MatcherSpecSet> ParseSeriesSelector(std::string_view text) {
  return SelectorParser(text).Parse();
}

absl::StatusOr<MatcherSpecSet> ParseMetricSelector(std::string_view text) {
  return SelectorParser(text, /*allow_empty=*/true).Parse();
}

absl::StatusOr<std::vector<MatcherSpecSet>> ParseMatchersParam(
    const std::vector<std::string_view>& values) {
  std::vector<MatcherSpecSet> sets;
  for (std::string_view v : values) {
    // parser.ParseMetricSelector, as Prometheus's parseMatchersParam: `{}` parses, then fails the
    // check below with the API's text rather than PromQL's.
    absl::StatusOr<MatcherSpecSet> set = ParseMetricSelector(v);
    if (!set.ok()) return set.status();
    sets.push_back(*std::move(set));
  }
  for (const MatcherSpecSet& set : sets) {
    bool non_empty = false;
    for (const MatcherSpec& m : set) non_empty = non_empty || !m.MatchesEmpty();
    if (!non_empty) {
      return absl::InvalidArgumentError("match[] must contain at least one non-empty matcher");
    }
  }
  return sets;
}

absl::StatusOr<std::vector<MatcherSet>> ToMatcherSets(const std::vector<MatcherSpecSet>& sets) {
  std::vector<MatcherSet> out;
  out.reserve(sets.size());
  for (const MatcherSpecSet& set : sets) {
    MatcherSet matchers;
    matchers.reserve(set.size());
    for (const MatcherSpec& m : set) {
      tsdb::Matcher::Type type = tsdb::Matcher::Type::kEqual;
      switch (m.op) {
        case MatcherSpec::Op::kEqual:
          type = tsdb::Matcher::Type::kEqual;
          break;
        case MatcherSpec::Op::kNotEqual:
          type = tsdb::Matcher::Type::kNotEqual;
          break;
        case MatcherSpec::Op::kRegexMatch:
          type = tsdb::Matcher::Type::kRegexMatch;
          break;
        case MatcherSpec::Op::kRegexNoMatch:
          type = tsdb::Matcher::Type::kRegexNoMatch;
          break;
      }
      absl::StatusOr<tsdb::Matcher> matcher = tsdb::Matcher::Create(type, m.name, m.value);
      if (!matcher.ok()) return absl::InvalidArgumentError(matcher.status().message());
      matchers.push_back(*std::move(matcher));
    }
    out.push_back(std::move(matchers));
  }
  return out;
}

absl::StatusOr<std::string> UnescapeLabelNameParam(std::string_view name) {
  const auto invalid = [name] {
    return absl::InvalidArgumentError(absl::StrCat("invalid label name: ", GoQuote(name)));
  };
  if (name.empty()) return invalid();
  if (name.substr(0, 3) != "U__") return std::string(name);
  std::string out;
  for (size_t i = 3; i < name.size(); ++i) {
    const char c = name[i];
    if (c != '_') {
      if (!IsLabelChar(c) && c != ':') return invalid();
      out.push_back(c);
      continue;
    }
    if (i + 1 < name.size() && name[i + 1] == '_') {
      out.push_back('_');
      ++i;
      continue;
    }
    const size_t end = name.find('_', i + 1);
    if (end == std::string_view::npos || end == i + 1) return invalid();
    uint32_t cp = 0;
    for (size_t j = i + 1; j < end; ++j) {
      if (!absl::ascii_isxdigit(name[j]) || cp > 0x10FFFF) return invalid();
      cp = cp * 16 +
           (absl::ascii_isdigit(name[j]) ? name[j] - '0' : absl::ascii_tolower(name[j]) - 'a' + 10);
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000)) return invalid();
    AppendUtf8(static_cast<int32_t>(cp), &out);
    i = end;
  }
  if (out.empty()) return invalid();
  return out;
}

}  // namespace sprout::metrics::api
