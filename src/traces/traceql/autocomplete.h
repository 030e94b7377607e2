// The filter of the tag endpoints' `q` (issue 12 item 3): a TraceQL query as typed in Grafana's
// editor, possibly unfinished, narrowed to the matchers a tag-name or tag-value lookup can use,
// as Tempo does (its pkg/traceql ExtractMatchers / ExtractConditionGroups over ParseLenient).
//
// ExtractMatchers(partial):
//   1. The query is parsed. When it does not parse, it is tokenized (our Lexer, up to the first
//      `|` or lexer error), the unfinished matchers (an attribute or intrinsic followed by a
//      comparison operator and no value: `span.foo =`) are removed, then the `&&` / `||` left
//      dangling (next to a brace, a parenthesis, the ends or another connector) and the
//      parentheses left empty; unclosed braces and parentheses are closed; the result is parsed.
//      Still unparseable: no filter.
//   2. The first spanset filter of the pipeline is taken (`{ a } | count() > 1` → `{ a }`); a
//      spanset operation first (`{ a } && { b }`, `{ a } >> { b }`), a scalar filter or an empty
//      filter `{ }`: no filter.
//   3. Its expression is narrowed to its matchers: a matcher is a comparison (`= != =~ !~ < <= >
//      >=`) between an attribute (or intrinsic) and a literal, either way round, except `!= nil`
//      (Tempo fetches that attribute without a condition). `&&` keeps its matcher sides (one
//      side without matchers drops out); `||` needs matchers on both sides, else the whole `||`
//      matches anything (Tempo: an OR group without conditions means no filter). Anything else
//      (negation, arithmetic, attribute against attribute, a bare attribute) matches anything.
//      Nothing left: no filter.
// The result is the filter printed canonically, `{ <matchers> }` (Parse() accepts it), or "" for
// no filter.
//
// Differences from Tempo: the OR expansion is not capped at 10 groups (the filter is exact);
// a negation is dropped (Tempo extracts the matchers inside it unchanged, so `{ !(.a = 1) }`
// would filter by `.a = 1`); unclosed parentheses are closed too (Tempo closes braces
// only); a negative literal (`.a = -1`) is a value.
//
// Thread-safety: pure function.
#pragma once

#include <string>
#include <string_view>

namespace sprout::traces::traceql {

std::string ExtractMatchers(std::string_view partial);

}  // namespace sprout::traces::traceql
