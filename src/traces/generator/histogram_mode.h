// Which shapes a histogram family of the metrics-generator emits (Tempo's per-tenant
// `generate_native_histograms` override): classic `_bucket`/`_sum`/`_count` series, one native
// histogram series under the base name, or both. Header-only so that processor configs can name
// it without the registry (ParseHistogramMode / HistogramModeName are in registry.h).
#pragma once

namespace sprout::traces::generator {

enum class HistogramMode { kClassic, kNative, kBoth };

}  // namespace sprout::traces::generator
