// Values and timestamps (collector.md §10.4): the `le` and `quantile` numbers and the stale
// marker; timestamps are milliseconds (NanosToMillis in prometheus_internal.h).
#include <bit>

#include "base/go_format.h"
#include "otlp/prometheus_internal.h"

namespace sprout::otlp {
namespace prom_internal {

void AppendFloat(double v, std::string* out) { AppendGoFloat(v, 'f', -1, out); }

}  // namespace prom_internal

double PromStaleNaN() { return std::bit_cast<double>(prom_internal::kStaleNaNBits); }

}  // namespace sprout::otlp
