// The PromQL function table: every function of Prometheus 2.x (as of 2.42) plus the later ones
// Sprout accepts (sort_by_label, sort_by_label_desc, histogram_avg, histogram_stddev,
// histogram_stdvar, mad_over_time, double_exponential_smoothing, info).
//
// Argument checking follows Prometheus: with variadic == 0 exactly arg_types.size() arguments;
// with variadic > 0 between arg_types.size()-1 and arg_types.size()-1+variadic; with
// variadic < 0 at least arg_types.size()-1. Extra arguments of a variadic function have the type
// of the last entry of arg_types.
//
// Thread-safety: the table is immutable static data.
#pragma once

#include <string_view>
#include <vector>

#include "metrics/promql/ast.h"

namespace sprout::metrics::promql {

struct Function {
  std::string_view name;
  std::vector<ValueType> arg_types;
  int variadic = 0;
  ValueType return_type = ValueType::kVector;
  bool later = false;  // not in Prometheus 2.42 (added later; 2.42 answers "unknown function")
};

// nullptr when there is no such function (names are case-sensitive).
const Function* FindFunction(std::string_view name);

// Every function, in name order.
const std::vector<Function>& AllFunctions();

}  // namespace sprout::metrics::promql
