// libFuzzer target traceql_parser_fuzzer (tests/fuzz/README.md): arbitrary bytes as a TraceQL
// query. Parse() returns a tree or an error, never crashes, hangs or recurses without bound; an
// error has a position inside the query and Tempo's "parse error at line L, col C: " form; a
// tree prints, the printed text parses back to an equal tree (the round trip) and prints the same.
// The same bytes as a tag endpoint's partial `q`: ExtractMatchers gives "" or a filter that
// parses and that it gives back unchanged (autocomplete.h).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "traces/traceql/ast.h"
#include "traces/traceql/autocomplete.h"
#include "traces/traceql/parser.h"
#include "traces/traceql/printer.h"

namespace traceql = sprout::traces::traceql;

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

void Walk(const traceql::Node& n, size_t size) {
  Check(n.pos.start >= 0 && n.pos.start <= n.pos.end && static_cast<size_t>(n.pos.end) <= size);
  for (const traceql::Node* c : {n.lhs.get(), n.rhs.get()}) {
    if (c) Walk(*c, size);
  }
  for (const auto& i : n.items) Walk(*i, size);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view query(reinterpret_cast<const char*>(data), size);
  if (const std::string filter = traceql::ExtractMatchers(query); !filter.empty()) {
    Check(traceql::Parse(filter).ok());
    Check(traceql::ExtractMatchers(filter) == filter);
  }
  traceql::ParseResult r = traceql::Parse(query);
  if (!r.ok()) {
    Check(!r.error.message.empty());
    Check(r.error.pos.start >= 0 && static_cast<size_t>(r.error.pos.start) <= size);
    Check(r.error.line >= 1 && r.error.column >= 1);
    Check(r.error.ToString().starts_with("parse error at line "));
    return 0;
  }
  Walk(*r.query.root, size);
  const std::string printed = traceql::Print(r.query);
  Check(!printed.empty());
  traceql::ParseResult again = traceql::Parse(printed);
  Check(again.ok());
  Check(traceql::Equal(r.query, again.query));
  Check(traceql::Print(again.query) == printed);  // the canonical form is a fixed point
  return 0;
}
