#include "collector/processor/filter/config.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status.h"
#include "collector/processor/filter/datapoint_functions.h"
#include "config/decoder.h"
#include "yaml-cpp/yaml.h"

namespace sprout::collector::filterprocessor {
namespace {

// The pre-OTTL keys are the OTTL context names, but "log_record" for logs.
std::string_view LegacyKey(ContextKind kind) {
  return kind == ContextKind::kLog ? "log_record" : ottl::ContextName(kind);
}

void DecodeLegacy(config::Decoder& d, const char* key, LegacyKeys* keys) {
  config::Decoder child = d.Child(key);
  for (auto& [kind, conditions] : keys->contexts) child.Read(LegacyKey(kind), &conditions);
  child.Refuse({"include", "exclude", "regexp"},
               "(the filter's pre-OTTL include/exclude matching) is not supported by sprout; "
               "write the match as an OTTL condition");
}

void DecodeInferred(config::Decoder& d, const char* key, std::vector<ConditionSpec>* out) {
  YAML::Node list = d.Raw(key);
  if (!list.IsDefined() || list.IsNull()) return;
  if (!list.IsSequence()) {
    d.AddError(key, "expected a list of conditions or condition groups");
    return;
  }
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node item = list[i];
    if (item.IsScalar()) {
      out->push_back(ConditionSpec{"", {item.as<std::string>()}, ""});
      continue;
    }
    if (!item.IsMap()) {
      d.AddError(key, absl::StrCat("item ", i, ": expected a condition or a group"));
      continue;
    }
    config::Decoder group(item, absl::StrCat(d.path(), "::", key, "::", i));
    ConditionSpec spec;
    group.Read("context", &spec.context);
    group.Read("conditions", &spec.conditions);
    group.Read("error_mode", &spec.error_mode);
    if (absl::Status s = group.Finish(); !s.ok()) {
      d.AddError(key, SV(s.message()));
      continue;
    }
    out->push_back(std::move(spec));
  }
}

int Level(ContextKind kind) {
  switch (kind) {
    case ContextKind::kResource:
      return 0;
    case ContextKind::kScope:
      return 1;
    case ContextKind::kSpan:
    case ContextKind::kMetric:
    case ContextKind::kLog:
      return 2;
    case ContextKind::kSpanEvent:
    case ContextKind::kDataPoint:
      return 3;
  }
  return 0;
}

bool ContextOfSignal(ContextKind kind, Signal signal) {
  switch (kind) {
    case ContextKind::kResource:
    case ContextKind::kScope:
      return true;
    case ContextKind::kSpan:
    case ContextKind::kSpanEvent:
      return signal == Signal::kTraces;
    case ContextKind::kMetric:
    case ContextKind::kDataPoint:
      return signal == Signal::kMetrics;
    case ContextKind::kLog:
      return signal == Signal::kLogs;
  }
  return false;
}

absl::StatusOr<ottl::Condition> ParseOne(const std::string& text, ContextKind context,
                                         bool prefixed) {
  ottl::ParserOptions options;
  options.context = context;
  options.context_prefixed_paths = prefixed;
  // The filter's own functions are known in the metric context only, as in the Collector.
  if (context == ContextKind::kMetric) options.functions = &MetricFunctions();
  auto parsed = ottl::Condition::Parse(text, options);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unable to parse OTTL condition \"", text, "\": ", parsed.status().message()));
  }
  return parsed;
}

}  // namespace

absl::StatusOr<ErrorMode> ParseErrorMode(const std::string& text) {
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "ignore") return ErrorMode::kIgnore;
  if (lower == "silent") return ErrorMode::kSilent;
  if (lower == "propagate") return ErrorMode::kPropagate;
  return absl::InvalidArgumentError(absl::StrCat("unknown error mode ", text));
}

void Config::Decode(config::Decoder& d) {
  d.Read("error_mode", &error_mode);
  DecodeLegacy(d, "traces", &traces);
  DecodeLegacy(d, "metrics", &metrics);
  DecodeLegacy(d, "logs", &logs);
  DecodeInferred(d, "trace_conditions", &trace_conditions);
  DecodeInferred(d, "metric_conditions", &metric_conditions);
  DecodeInferred(d, "log_conditions", &log_conditions);
  d.Refuse({"spans"},
           "(the filter's pre-OTTL include/exclude matching) is not supported by sprout; "
           "write the match as an OTTL condition under traces::span");
  d.Refuse({"profiles", "profile_conditions"}, "(profiles) is not supported by sprout");
}

// Every group of one signal, outermost context first (a dropped resource is not looked into).
absl::StatusOr<std::vector<Group>> BuildGroups(const Config& config, Signal signal) {
  ASSIGN_OR_RETURN(const ErrorMode mode, ParseErrorMode(config.error_mode));
  const LegacyKeys& legacy = signal == Signal::kTraces    ? config.traces
                             : signal == Signal::kMetrics ? config.metrics
                                                          : config.logs;
  const std::vector<ConditionSpec>& inferred = signal == Signal::kTraces ? config.trace_conditions
                                               : signal == Signal::kMetrics
                                                   ? config.metric_conditions
                                                   : config.log_conditions;
  std::vector<Group> groups;
  std::vector<std::string> errors;
  for (const auto& [kind, conditions] : legacy.contexts) {
    if (conditions.empty()) continue;
    Group group{kind, {}, mode};
    for (const std::string& text : conditions) {
      auto parsed = ParseOne(text, kind, /*prefixed=*/false);
      if (parsed.ok()) {
        group.conditions.push_back(std::move(*parsed));
      } else {
        errors.emplace_back(parsed.status().message());
      }
    }
    groups.push_back(std::move(group));
  }
  for (const ConditionSpec& spec : inferred) {
    ErrorMode group_mode = mode;
    if (!spec.error_mode.empty()) {
      ASSIGN_OR_RETURN(group_mode, ParseErrorMode(spec.error_mode));
    }
    std::optional<ContextKind> group_context;
    if (!spec.context.empty()) {
      group_context = ottl::ParseContextName(spec.context);
      if (!group_context.has_value() || !ContextOfSignal(*group_context, signal)) {
        return absl::InvalidArgumentError(absl::StrCat("unknown context ", spec.context));
      }
    }
    for (const std::string& text : spec.conditions) {
      ContextKind kind;
      if (group_context.has_value()) {
        kind = *group_context;
      } else {
        auto inferred_kind = ottl::InferContext(text, signal);
        if (!inferred_kind.ok()) {
          errors.push_back(absl::StrCat("unable to parse OTTL condition \"", text,
                                        "\": ", inferred_kind.status().message()));
          continue;
        }
        kind = *inferred_kind;
      }
      auto parsed = ParseOne(text, kind, /*prefixed=*/true);
      if (!parsed.ok()) {
        errors.emplace_back(parsed.status().message());
        continue;
      }
      // Consecutive conditions of one context and mode share a group.
      if (groups.empty() || groups.back().context != kind || groups.back().mode != group_mode) {
        groups.push_back(Group{kind, {}, group_mode});
      }
      groups.back().conditions.push_back(std::move(*parsed));
    }
  }
  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  std::stable_sort(groups.begin(), groups.end(), [](const Group& a, const Group& b) {
    return Level(a.context) < Level(b.context);
  });
  return groups;
}

absl::Status Config::Validate() const {
  RETURN_IF_ERROR(ParseErrorMode(error_mode).status());
  for (Signal signal : {Signal::kTraces, Signal::kMetrics, Signal::kLogs}) {
    RETURN_IF_ERROR(BuildGroups(*this, signal).status());
  }
  return absl::OkStatus();
}

}  // namespace sprout::collector::filterprocessor
