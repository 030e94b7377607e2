// Matcher: one label matcher of a series selector ({name="v"}, !=, =~, !~) with Prometheus's
// semantics.
//
// - A label a series does not have has the value "": {a=""} selects series without `a`,
//   {a!=""} series that have it, {a=~".*"} every series, {a=~".+"} series that have `a`.
// - Regular expressions are RE2 (Go's regexp syntax) and fully anchored the way Prometheus
//   compiles them, `^(?s:re)$`: the whole value must match and `.` matches a newline too
//   (Prometheus 3's behaviour). The pattern must compile on its own first, so "a)|(b" is refused
//   rather than accepted through the wrapping group.
// - Fast paths, chosen at construction and reported by strategy(): a regex that is a literal or
//   an alternation of literals (`a|b|c`, optionally in one group) is a set lookup; `lit.*` is a
//   prefix comparison; `.*` and `.+` need no regex at all. Everything else runs RE2. The
//   postings index also uses set_values() to look values up instead of scanning them.
//
// Errors: Create returns InvalidArgument naming the pattern and carrying RE2's message, e.g.
//   invalid regular expression "a(b": missing ): a(b
// A Matcher is immutable, cheap to copy (the compiled regex is shared) and safe to use from
// any number of threads at once.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"

namespace re2 {
class RE2;
}

namespace sprout::metrics::tsdb {

class Matcher {
 public:
  enum class Type { kEqual, kNotEqual, kRegexMatch, kRegexNoMatch };

  // How a value is tested (regex types); equality types report kEqual.
  enum class Strategy {
    kEqual,     // = / != : one string comparison
    kSet,       // literal or alternation of literals: hash-set lookup
    kPrefix,    // literal followed by .*: prefix comparison
    kAny,       // .* : every value
    kNonEmpty,  // .+ : every non-empty value
    kRegex,     // RE2
  };

  static absl::StatusOr<Matcher> Create(Type type, std::string_view name, std::string_view value);
  // For patterns known to be valid (tests, internal callers): aborts the process when Create
  // would fail. Equality types never fail.
  static Matcher MustCreate(Type type, std::string_view name, std::string_view value);

  Type type() const { return type_; }
  const std::string& name() const { return name_; }
  const std::string& value() const { return value_; }
  Strategy strategy() const { return strategy_; }

  // Whether a label with value `v` (or, for v == "", a series without the label) is selected.
  bool Matches(std::string_view v) const;
  // Matches(""), computed once: whether series lacking the label are selected.
  bool matches_empty() const { return matches_empty_; }
  // = and =~ are positive; != and !~ negative.
  bool negative() const { return type_ == Type::kNotEqual || type_ == Type::kRegexNoMatch; }

  // For kEqual and kSet strategies: the finite set S of literals the equality or regex tests
  // against (a positive matcher selects exactly the values in S, a negative one every value
  // outside S). Empty otherwise.
  const std::vector<std::string>& set_values() const { return set_values_; }
  // For kPrefix: the literal prefix.
  const std::string& prefix() const { return prefix_; }

  // Prometheus text form: name="value", name!~"value" (values Go-quoted).
  std::string ToString() const;

 private:
  Matcher() = default;
  bool MatchesRegex(std::string_view v) const;  // the positive form of a regex matcher

  Type type_ = Type::kEqual;
  Strategy strategy_ = Strategy::kEqual;
  bool matches_empty_ = false;
  std::string name_;
  std::string value_;
  std::string prefix_;
  std::vector<std::string> set_values_;
  absl::flat_hash_set<std::string> set_;
  std::shared_ptr<const re2::RE2> re_;
};

// Parses a regex that is only literals joined by `|` (optionally inside one (...) or (?:...)
// group; characters escaped with a backslash count as literals). Returns false for anything
// else. Exposed for tests.
bool ParseLiteralAlternation(std::string_view pattern, std::vector<std::string>* out);

}  // namespace sprout::metrics::tsdb
