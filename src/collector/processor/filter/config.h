// Configuration of the `filter` processor (Collector: processor/filterprocessor): the typed
// config, and its validation, which parses every condition into the groups the processor runs
// (a condition that does not parse fails at startup, as in the Collector). Every key and its
// default is listed in README.md.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "collector/factory.h"
#include "ottl/ottl.h"

namespace sprout::collector::filterprocessor {

using ottl::ContextKind;

enum class ErrorMode { kIgnore, kSilent, kPropagate };

// `ignore`, `silent`, `propagate` (any case), else `unknown error mode X`.
absl::StatusOr<ErrorMode> ParseErrorMode(const std::string& text);

// One entry of a context-inferred list: a plain condition (context from its paths) or a group.
struct ConditionSpec {
  std::string context;  // empty: infer from the condition
  std::vector<std::string> conditions;
  std::string error_mode;  // empty: the processor's
};

// The per-context keys of one signal in the legacy style.
struct LegacyKeys {
  std::vector<std::pair<ContextKind, std::vector<std::string>>> contexts;
};

struct Config : ComponentConfig {
  std::string error_mode = "ignore";
  LegacyKeys traces{
      {{ContextKind::kResource, {}}, {ContextKind::kSpan, {}}, {ContextKind::kSpanEvent, {}}}};
  LegacyKeys metrics{
      {{ContextKind::kResource, {}}, {ContextKind::kMetric, {}}, {ContextKind::kDataPoint, {}}}};
  LegacyKeys logs{{{ContextKind::kResource, {}}, {ContextKind::kLog, {}}}};
  std::vector<ConditionSpec> trace_conditions;
  std::vector<ConditionSpec> metric_conditions;
  std::vector<ConditionSpec> log_conditions;

  void Decode(config::Decoder& d) override;
  absl::Status Validate() const override;
};

// Conditions evaluated together in one context: true for any of them drops the item.
struct Group {
  ContextKind context;
  std::vector<ottl::Condition> conditions;
  ErrorMode mode;
};

// Every group of one signal, outermost context first (a dropped resource is not looked into).
absl::StatusOr<std::vector<Group>> BuildGroups(const Config& config, Signal signal);

}  // namespace sprout::collector::filterprocessor
