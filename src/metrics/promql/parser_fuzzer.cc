// libFuzzer target promql_parser_fuzzer (tests/fuzz/README.md): arbitrary bytes as a PromQL
// query. Parse() returns a tree or an error, never crashes, hangs or recurses without bound; an
// error has a position inside the query and Prometheus's "<line>:<col>: parse error: " form; a
// tree prints (canonical and pretty) and every node's type and position range is sane.
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

void Walk(const promql::Expr& e, size_t size) {
  Check(e.pos.start >= 0 && e.pos.start <= e.pos.end && static_cast<size_t>(e.pos.end) <= size);
  Check(e.Type() != promql::ValueType::kNone);
  for (const promql::Expr* c : {e.lhs.get(), e.rhs.get(), e.expr.get(), e.param.get()}) {
    if (c) Walk(*c, size);
  }
  for (const auto& a : e.args) Walk(*a, size);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view query(reinterpret_cast<const char*>(data), size);
  promql::ParseResult r = promql::Parse(query);
  if (!r.ok()) {
    Check(!r.error.message.empty());
    Check(r.error.pos.start >= 0 && static_cast<size_t>(r.error.pos.start) <= size);
    Check(r.error.ToString().find(": parse error: ") != std::string::npos);
    return 0;
  }
  Walk(*r.expr, size);
  Check(!promql::ToString(*r.expr).empty());
  Check(!promql::Prettify(*r.expr).empty());
  return 0;
}
