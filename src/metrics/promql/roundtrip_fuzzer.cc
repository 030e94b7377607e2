// libFuzzer target promql_roundtrip_fuzzer (tests/fuzz/README.md), the differential fuzz of
// format_query: whenever arbitrary bytes parse, the canonical text (ToString) and the prettified
// text (Prettify, what /api/v1/format_query answers) parse again to the same tree (SameTree:
// positions and matcher order aside), and printing that tree gives the same canonical text.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "metrics/promql/ast.h"
#include "metrics/promql/parser.h"
#include "metrics/promql/printer.h"

namespace promql = sprout::metrics::promql;

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view query(reinterpret_cast<const char*>(data), size);
  promql::ParseResult first = promql::Parse(query);
  if (!first.ok()) return 0;
  const std::string canonical = promql::ToString(*first.expr);
  for (const std::string& text : {canonical, promql::Prettify(*first.expr)}) {
    promql::ParseResult again = promql::Parse(text);
    Check(again.ok());
    Check(promql::SameTree(*first.expr, *again.expr));
    Check(promql::ToString(*again.expr) == canonical);
  }
  return 0;
}
