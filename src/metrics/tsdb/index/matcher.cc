#include "metrics/tsdb/index/matcher.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "absl/status/status.h"
#include "metrics/tsdb/index/labels.h"
#include "re2/re2.h"

namespace sprout::metrics::tsdb {
namespace {

bool IsRegexMeta(char c) {
  switch (c) {
    case '\\':
    case '.':
    case '+':
    case '*':
    case '?':
    case '(':
    case ')':
    case '|':
    case '[':
    case ']':
    case '{':
    case '}':
    case '^':
    case '$':
      return true;
    default:
      return false;
  }
}

// In Go's syntax a backslash before punctuation escapes it; before a letter or digit it is a
// class, an assertion or an escape sequence (\d, \b, \n, \x41, \Q...\E): not a plain literal.
bool IsEscapableLiteral(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  return u < 0x80 && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '_' || u < 0x20 || u == 0x7f);
}

// A regex `s` that is one literal (no alternation). Appends the literal's text to `out`.
bool ParseLiteral(std::string_view s, std::string* out) {
  out->clear();
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\\') {
      if (i + 1 >= s.size() || !IsEscapableLiteral(s[i + 1])) return false;
      out->push_back(s[++i]);
      continue;
    }
    if (IsRegexMeta(c)) return false;
    out->push_back(c);
  }
  return true;
}

}  // namespace

bool ParseLiteralAlternation(std::string_view pattern, std::vector<std::string>* out) {
  out->clear();
  std::string_view body = pattern;
  // One group around everything: (...) or (?:...). The body holds no parentheses, so its
  // closing parenthesis must be the last character.
  if (body.starts_with("(?:")) {
    if (body.size() < 4 || body.back() != ')') return false;
    body = body.substr(3, body.size() - 4);
  } else if (body.starts_with("(")) {
    if (body.size() < 2 || body.back() != ')') return false;
    body = body.substr(1, body.size() - 2);
  }
  // A trailing ')' preceded by an odd number of backslashes was escaped: not a group close.
  if (body.size() != pattern.size()) {
    size_t backslashes = 0;
    for (size_t i = body.size(); i > 0 && body[i - 1] == '\\'; --i) ++backslashes;
    if (backslashes % 2 == 1) return false;
  }
  std::string literal;
  size_t start = 0;
  for (size_t i = 0; i <= body.size(); ++i) {
    if (i < body.size() && body[i] == '\\') {
      if (i + 1 == body.size()) return false;
      ++i;  // skip the escaped character (validated by ParseLiteral)
      continue;
    }
    if (i == body.size() || body[i] == '|') {
      if (!ParseLiteral(body.substr(start, i - start), &literal)) return false;
      out->push_back(literal);
      start = i + 1;
    }
  }
  std::sort(out->begin(), out->end());
  out->erase(std::unique(out->begin(), out->end()), out->end());
  return true;
}

absl::StatusOr<Matcher> Matcher::Create(Type type, std::string_view name, std::string_view value) {
  Matcher m;
  m.type_ = type;
  m.name_.assign(name);
  m.value_.assign(value);
  if (type == Type::kEqual || type == Type::kNotEqual) {
    m.strategy_ = Strategy::kEqual;
    m.set_values_.push_back(m.value_);
    m.matches_empty_ = m.Matches("");
    return m;
  }

  RE2::Options options;
  options.set_log_errors(false);
  options.set_dot_nl(true);
  {
    // The pattern alone first: its own error message, and no escaping the wrapping group.
    RE2 alone(re2::StringPiece(value.data(), value.size()), options);
    if (!alone.ok()) {
      return absl::InvalidArgumentError(std::string("invalid regular expression \"")
                                            .append(value)
                                            .append("\": ")
                                            .append(alone.error()));
    }
  }
  auto re = std::make_shared<RE2>(std::string("^(?s:").append(value).append(")$"), options);
  if (!re->ok()) {
    return absl::InvalidArgumentError(std::string("invalid regular expression \"")
                                          .append(value)
                                          .append("\": ")
                                          .append(re->error()));
  }
  m.re_ = std::move(re);

  if (value == ".*") {
    m.strategy_ = Strategy::kAny;
  } else if (value == ".+") {
    m.strategy_ = Strategy::kNonEmpty;
  } else if (ParseLiteralAlternation(value, &m.set_values_)) {
    m.strategy_ = Strategy::kSet;
    m.set_.insert(m.set_values_.begin(), m.set_values_.end());
  } else {
    m.set_values_.clear();
    std::string prefix;
    if (value.size() >= 2 && value.ends_with(".*")) {
      const std::string_view head = value.substr(0, value.size() - 2);
      size_t backslashes = 0;  // "\.*" is a repeated literal dot, not a prefix
      for (size_t i = head.size(); i > 0 && head[i - 1] == '\\'; --i) ++backslashes;
      if (backslashes % 2 == 0 && ParseLiteral(head, &prefix)) {
        m.strategy_ = Strategy::kPrefix;
        m.prefix_ = std::move(prefix);
      }
    }
    if (m.strategy_ != Strategy::kPrefix) m.strategy_ = Strategy::kRegex;
  }
  m.matches_empty_ = m.Matches("");
  return m;
}

Matcher Matcher::MustCreate(Type type, std::string_view name, std::string_view value) {
  absl::StatusOr<Matcher> m = Create(type, name, value);
  if (!m.ok()) {
    std::fprintf(stderr, "Matcher::MustCreate: %s\n", m.status().ToString().c_str());
    std::abort();
  }
  return *std::move(m);
}

bool Matcher::MatchesRegex(std::string_view v) const {
  switch (strategy_) {
    case Strategy::kAny:
      return true;
    case Strategy::kNonEmpty:
      return !v.empty();
    case Strategy::kSet:
      return set_.contains(absl::string_view(v.data(), v.size()));
    case Strategy::kPrefix:
      return v.starts_with(prefix_);
    case Strategy::kRegex:
    case Strategy::kEqual:
      break;
  }
  return RE2::FullMatch(re2::StringPiece(v.data(), v.size()), *re_);
}

bool Matcher::Matches(std::string_view v) const {
  switch (type_) {
    case Type::kEqual:
      return v == value_;
    case Type::kNotEqual:
      return v != value_;
    case Type::kRegexMatch:
      return MatchesRegex(v);
    case Type::kRegexNoMatch:
      return !MatchesRegex(v);
  }
  return false;
}

std::string Matcher::ToString() const {
  std::string out;
  if (IsLegacyLabelName(name_)) {
    out = name_;
  } else {
    AppendGoQuoted(out, name_);
  }
  switch (type_) {
    case Type::kEqual:
      out.append("=");
      break;
    case Type::kNotEqual:
      out.append("!=");
      break;
    case Type::kRegexMatch:
      out.append("=~");
      break;
    case Type::kRegexNoMatch:
      out.append("!~");
      break;
  }
  AppendGoQuoted(out, value_);
  return out;
}

}  // namespace sprout::metrics::tsdb
