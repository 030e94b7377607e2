// The `filter` processor: drops spans, span events, metrics, data points and log records (or
// whole resources and scopes) for which any of its OTTL conditions is true.
//
// Both configuration styles of the Collector:
//  - per-context keys (`traces: {resource, span, spanevent}`, `metrics: {resource, metric,
//    datapoint}`, `logs: {resource, log_record}`), paths read in that context;
//  - context-inferred lists (`trace_conditions`, `metric_conditions`, `log_conditions`) of
//    strings whose paths name their context (`span.name`), or of groups
//    `{context, conditions, error_mode}`.
// Conditions are parsed when the configuration is validated, so a bad condition stops startup
// with the Collector's message.
//
// Data is evaluated read-only first; a request from which nothing is dropped passes on
// untouched (still undecoded bytes for the exporter), and only a request that loses something is
// copied and edited. Emptied scopes and resources are removed; when nothing is left, the next
// consumer is not called and the caller sees success.
#pragma once

#include <memory>

#include "collector/factory.h"

namespace sprout::collector::filterprocessor {

std::unique_ptr<ProcessorFactory> NewFactory();

}  // namespace sprout::collector::filterprocessor
