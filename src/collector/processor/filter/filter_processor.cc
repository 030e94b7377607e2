#include "collector/processor/filter/filter_processor.h"

#include <algorithm>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status.h"
#include "collector/processor/filter/datapoint_functions.h"
#include "config/decoder.h"
#include "otlp/split.h"
#include "otlp/wire_filter.h"
#include "ottl/ottl.h"
#include "yaml-cpp/yaml.h"

namespace sprout::collector::filterprocessor {
namespace {

namespace pb = otlp::pb;
using ottl::ContextKind;

enum class ErrorMode { kIgnore, kSilent, kPropagate };

absl::StatusOr<ErrorMode> ParseErrorMode(const std::string& text) {
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "ignore") return ErrorMode::kIgnore;
  if (lower == "silent") return ErrorMode::kSilent;
  if (lower == "propagate") return ErrorMode::kPropagate;
  return absl::InvalidArgumentError(absl::StrCat("unknown error mode ", text));
}

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

  static const char* LegacyKey(ContextKind kind) {
    switch (kind) {
      case ContextKind::kResource:
        return "resource";
      case ContextKind::kSpan:
        return "span";
      case ContextKind::kSpanEvent:
        return "spanevent";
      case ContextKind::kMetric:
        return "metric";
      case ContextKind::kDataPoint:
        return "datapoint";
      case ContextKind::kLog:
        return "log_record";
      case ContextKind::kScope:
        return "scope";
    }
    return "";
  }

  static void DecodeLegacy(config::Decoder& d, const char* key, LegacyKeys* keys) {
    config::Decoder child = d.Child(key);
    for (auto& [kind, conditions] : keys->contexts) child.Read(LegacyKey(kind), &conditions);
    child.Refuse({"include", "exclude", "regexp"},
                 "(the filter's pre-OTTL include/exclude matching) is not supported by sprout; "
                 "write the match as an OTTL condition");
  }

  static void DecodeInferred(config::Decoder& d, const char* key, std::vector<ConditionSpec>* out) {
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

  void Decode(config::Decoder& d) override {
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

  absl::Status Validate() const override;
};

// Conditions evaluated together in one context: true for any of them drops the item.
struct Group {
  ContextKind context;
  std::vector<ottl::Condition> conditions;
  ErrorMode mode;
};

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

// Removes the elements for which drop(element) is true, keeping the order of the others.
// drop() is called once per element, in order, and may change it (e.g. filter its children).
template <typename T, typename Drop>
void RemoveIf(google::protobuf::RepeatedPtrField<T>* field, Drop drop) {
  int kept = 0;
  const int n = field->size();
  for (int i = 0; i < n; ++i) {
    if (!drop(field->Mutable(i))) {
      if (kept != i) field->SwapElements(kept, i);
      ++kept;
    }
  }
  if (kept < n) field->DeleteSubrange(kept, n - kept);
}

// Evaluates one group for the item; errors are handled by the group's error mode.
class Evaluator {
 public:
  explicit Evaluator(const log::Logger* logger) : logger_(logger) {}

  bool Matches(const Group& group, const ottl::EvalContext& context) {
    for (const ottl::Condition& condition : group.conditions) {
      auto result = condition.Eval(context);
      if (result.ok()) {
        if (*result) return true;
        continue;
      }
      switch (group.mode) {
        case ErrorMode::kIgnore:
          logger_->Warn(
              "failed to eval condition",
              {{"error", std::string(result.status().message())}, {"condition", condition.text()}});
          continue;
        case ErrorMode::kSilent:
          continue;
        case ErrorMode::kPropagate:
          if (errors_.size() < 10) {
            errors_.push_back(absl::StrCat("failed to eval condition: ", condition.text(), ", ",
                                           result.status().message()));
          }
          ++error_count_;
          return false;  // the item is kept; the request fails
      }
    }
    return false;
  }

  absl::Status status() const {
    if (error_count_ == 0) return absl::OkStatus();
    return absl::UnknownError(absl::StrJoin(errors_, "; "));
  }

 private:
  const log::Logger* logger_;
  std::vector<std::string> errors_;
  int64_t error_count_ = 0;
};

// The decisions of one group over a request, in traversal order: evaluated read-only first so
// that a request losing nothing is not copied.
using Decisions = std::vector<bool>;

// ---- traces ----

void Decide(const pb::trace_service::ExportTraceServiceRequest& request, const Group& group,
            Evaluator& eval, Decisions* out) {
  ottl::EvalContext ctx;
  for (const auto& rs : request.resource_spans()) {
    ctx.resource = &rs.resource();
    ctx.resource_schema_url = rs.schema_url();
    if (group.context == ContextKind::kResource) {
      out->push_back(eval.Matches(group, ctx));
      continue;
    }
    for (const auto& ss : rs.scope_spans()) {
      ctx.scope = &ss.scope();
      ctx.scope_schema_url = ss.schema_url();
      if (group.context == ContextKind::kScope) {
        out->push_back(eval.Matches(group, ctx));
        continue;
      }
      for (const auto& span : ss.spans()) {
        ctx.span = &span;
        if (group.context == ContextKind::kSpan) {
          out->push_back(eval.Matches(group, ctx));
          continue;
        }
        for (int e = 0; e < span.events_size(); ++e) {
          ctx.span_event = &span.events(e);
          ctx.event_index = e;
          out->push_back(eval.Matches(group, ctx));
        }
        ctx.span_event = nullptr;
        ctx.event_index = -1;
      }
    }
  }
}

void Apply(pb::trace_service::ExportTraceServiceRequest* request, const Group& group,
           const Decisions& decisions) {
  size_t next = 0;
  const ContextKind level = group.context;
  RemoveIf(request->mutable_resource_spans(), [&](pb::trace::ResourceSpans* rs) {
    if (level == ContextKind::kResource) return bool(decisions[next++]);
    RemoveIf(rs->mutable_scope_spans(), [&](pb::trace::ScopeSpans* ss) {
      if (level == ContextKind::kScope) return bool(decisions[next++]);
      RemoveIf(ss->mutable_spans(), [&](pb::trace::Span* span) {
        if (level == ContextKind::kSpan) return bool(decisions[next++]);
        RemoveIf(span->mutable_events(),
                 [&](pb::trace::Span_Event*) { return bool(decisions[next++]); });
        return false;  // a span whose events all went stays
      });
      return ss->spans_size() == 0;
    });
    return rs->scope_spans_size() == 0;
  });
}

// ---- metrics ----

void SetPoint(ottl::EvalContext& ctx, const pb::metrics::NumberDataPoint& p) {
  ctx.number_point = &p;
}
void SetPoint(ottl::EvalContext& ctx, const pb::metrics::HistogramDataPoint& p) {
  ctx.histogram_point = &p;
}
void SetPoint(ottl::EvalContext& ctx, const pb::metrics::ExponentialHistogramDataPoint& p) {
  ctx.exponential_point = &p;
}
void SetPoint(ottl::EvalContext& ctx, const pb::metrics::SummaryDataPoint& p) {
  ctx.summary_point = &p;
}

template <typename Points>
void DecidePoints(const Points& points, const Group& group, Evaluator& eval, ottl::EvalContext ctx,
                  Decisions* out) {
  for (const auto& p : points) {
    SetPoint(ctx, p);
    out->push_back(eval.Matches(group, ctx));
  }
}

void DecideMetricPoints(const pb::metrics::Metric& m, const Group& group, Evaluator& eval,
                        const ottl::EvalContext& ctx, Decisions* out) {
  switch (m.data_case()) {
    case pb::metrics::Metric::kGauge:
      return DecidePoints(m.gauge().data_points(), group, eval, ctx, out);
    case pb::metrics::Metric::kSum:
      return DecidePoints(m.sum().data_points(), group, eval, ctx, out);
    case pb::metrics::Metric::kHistogram:
      return DecidePoints(m.histogram().data_points(), group, eval, ctx, out);
    case pb::metrics::Metric::kExponentialHistogram:
      return DecidePoints(m.exponential_histogram().data_points(), group, eval, ctx, out);
    case pb::metrics::Metric::kSummary:
      return DecidePoints(m.summary().data_points(), group, eval, ctx, out);
    case pb::metrics::Metric::DATA_NOT_SET:
      return;
  }
}

void Decide(const pb::metrics_service::ExportMetricsServiceRequest& request, const Group& group,
            Evaluator& eval, Decisions* out) {
  ottl::EvalContext ctx;
  for (const auto& rm : request.resource_metrics()) {
    ctx.resource = &rm.resource();
    ctx.resource_schema_url = rm.schema_url();
    if (group.context == ContextKind::kResource) {
      out->push_back(eval.Matches(group, ctx));
      continue;
    }
    for (const auto& sm : rm.scope_metrics()) {
      ctx.scope = &sm.scope();
      ctx.scope_schema_url = sm.schema_url();
      if (group.context == ContextKind::kScope) {
        out->push_back(eval.Matches(group, ctx));
        continue;
      }
      for (const auto& m : sm.metrics()) {
        ctx.metric = &m;
        if (group.context == ContextKind::kMetric) {
          out->push_back(eval.Matches(group, ctx));
          continue;
        }
        DecideMetricPoints(m, group, eval, ctx, out);
      }
    }
  }
}

template <typename Data>
void ApplyPoints(Data* data, const Decisions& decisions, size_t* next) {
  RemoveIf(data->mutable_data_points(), [&](auto*) { return bool(decisions[(*next)++]); });
}

void Apply(pb::metrics_service::ExportMetricsServiceRequest* request, const Group& group,
           const Decisions& decisions) {
  size_t next = 0;
  const ContextKind level = group.context;
  RemoveIf(request->mutable_resource_metrics(), [&](pb::metrics::ResourceMetrics* rm) {
    if (level == ContextKind::kResource) return bool(decisions[next++]);
    RemoveIf(rm->mutable_scope_metrics(), [&](pb::metrics::ScopeMetrics* sm) {
      if (level == ContextKind::kScope) return bool(decisions[next++]);
      RemoveIf(sm->mutable_metrics(), [&](pb::metrics::Metric* m) {
        if (level == ContextKind::kMetric) return bool(decisions[next++]);
        switch (m->data_case()) {
          case pb::metrics::Metric::kGauge:
            ApplyPoints(m->mutable_gauge(), decisions, &next);
            break;
          case pb::metrics::Metric::kSum:
            ApplyPoints(m->mutable_sum(), decisions, &next);
            break;
          case pb::metrics::Metric::kHistogram:
            ApplyPoints(m->mutable_histogram(), decisions, &next);
            break;
          case pb::metrics::Metric::kExponentialHistogram:
            ApplyPoints(m->mutable_exponential_histogram(), decisions, &next);
            break;
          case pb::metrics::Metric::kSummary:
            ApplyPoints(m->mutable_summary(), decisions, &next);
            break;
          case pb::metrics::Metric::DATA_NOT_SET:
            break;
        }
        return otlp::MetricPointCount(*m) == 0;  // including metrics that had none
      });
      return sm->metrics_size() == 0;
    });
    return rm->scope_metrics_size() == 0;
  });
}

// ---- logs ----

void Decide(const pb::logs_service::ExportLogsServiceRequest& request, const Group& group,
            Evaluator& eval, Decisions* out) {
  ottl::EvalContext ctx;
  for (const auto& rl : request.resource_logs()) {
    ctx.resource = &rl.resource();
    ctx.resource_schema_url = rl.schema_url();
    if (group.context == ContextKind::kResource) {
      out->push_back(eval.Matches(group, ctx));
      continue;
    }
    for (const auto& sl : rl.scope_logs()) {
      ctx.scope = &sl.scope();
      ctx.scope_schema_url = sl.schema_url();
      if (group.context == ContextKind::kScope) {
        out->push_back(eval.Matches(group, ctx));
        continue;
      }
      for (const auto& log : sl.log_records()) {
        ctx.log = &log;
        out->push_back(eval.Matches(group, ctx));
      }
    }
  }
}

void Apply(pb::logs_service::ExportLogsServiceRequest* request, const Group& group,
           const Decisions& decisions) {
  size_t next = 0;
  const ContextKind level = group.context;
  RemoveIf(request->mutable_resource_logs(), [&](pb::logs::ResourceLogs* rl) {
    if (level == ContextKind::kResource) return bool(decisions[next++]);
    RemoveIf(rl->mutable_scope_logs(), [&](pb::logs::ScopeLogs* sl) {
      if (level == ContextKind::kScope) return bool(decisions[next++]);
      RemoveIf(sl->mutable_log_records(),
               [&](pb::logs::LogRecord*) { return bool(decisions[next++]); });
      return sl->log_records_size() == 0;
    });
    return rl->scope_logs_size() == 0;
  });
}

template <Signal S>
bool ChangesWithoutDrops(const typename otlp::SignalTraits<S>::Request& request,
                         const Group& group) {
  if constexpr (S == Signal::kMetrics) {
    if (group.context != ContextKind::kDataPoint) return false;
    for (const auto& rm : request.resource_metrics()) {
      for (const auto& sm : rm.scope_metrics()) {
        for (const auto& m : sm.metrics()) {
          if (otlp::MetricPointCount(m) == 0) return true;
        }
      }
    }
  }
  return false;
}

template <Signal S>
class FilterProcessor : public ConsumerComponent<S> {
 public:
  FilterProcessor(const CreateSettings& settings, std::vector<Group> groups,
                  std::shared_ptr<Consumer<S>> next)
      : logger_(settings.telemetry.logger), groups_(std::move(groups)), next_(std::move(next)) {
    if constexpr (S != Signal::kMetrics) {
      single_item_group_ = groups_.size() == 1 && (groups_[0].context == ContextKind::kSpan ||
                                                   groups_[0].context == ContextKind::kLog);
    }
    if (settings.telemetry.metrics != nullptr) {
      static constexpr const char* kName =
          S == Signal::kTraces    ? "otelcol_processor_filter_spans_filtered_total"
          : S == Signal::kMetrics ? "otelcol_processor_filter_datapoints_filtered_total"
                                  : "otelcol_processor_filter_logs_filtered_total";
      filtered_ = settings.telemetry.metrics->GetCounter(
          kName, "Number of items dropped by the filter processor",
          {{"filter", settings.id.String()}});
    }
  }

  absl::Status Consume(const Context& context, otlp::Batch<S> batch) override {
    if (groups_.empty()) return next_->Consume(context, std::move(batch));
    const int64_t before = batch.item_count();
    Evaluator eval(&logger_);
    Decisions decisions;
    if (single_item_group_ && batch.wire().has_value()) {
      // One group of span or log conditions, and the received bytes at hand: decide on the
      // decoded request, then copy the bytes without the dropped items instead of editing the
      // message and encoding it again.
      Decide(batch.request(), groups_[0], eval, &decisions);
      RETURN_IF_ERROR(eval.status());
      const int64_t dropped = std::count(decisions.begin(), decisions.end(), true);
      if (dropped == 0) return next_->Consume(context, std::move(batch));
      int64_t kept = 0;
      std::optional<std::string> wire = otlp::RemoveItems(S, *batch.wire(), decisions, &kept);
      if (wire.has_value()) {
        if (filtered_ != nullptr) filtered_->Add(static_cast<double>(before - kept));
        if (kept == 0) return absl::OkStatus();
        return next_->Consume(context, otlp::Batch<S>::FromTrustedWire(std::move(*wire), kept));
      }
      // Bytes the walk does not follow: edit the decoded message (decisions are reused).
      Apply(batch.mutable_request(), groups_[0], decisions);
      return Forward(context, std::move(batch), before);
    }
    for (const Group& group : groups_) {
      decisions.clear();
      Decide(batch.request(), group, eval, &decisions);
      const bool drops = std::find(decisions.begin(), decisions.end(), true) != decisions.end();
      if (!drops && !ChangesWithoutDrops<S>(batch.request(), group)) continue;
      Apply(batch.mutable_request(), group, decisions);
    }
    RETURN_IF_ERROR(eval.status());
    return Forward(context, std::move(batch), before);
  }

 private:
  absl::Status Forward(const Context& context, otlp::Batch<S> batch, int64_t before) {
    const int64_t after = batch.item_count();
    if (filtered_ != nullptr && after < before) filtered_->Add(static_cast<double>(before - after));
    if (after == 0) return absl::OkStatus();  // everything dropped: success, nothing sent on
    return next_->Consume(context, std::move(batch));
  }

  log::Logger logger_;
  const std::vector<Group> groups_;
  std::shared_ptr<Consumer<S>> next_;
  Counter* filtered_ = nullptr;
  // One group, of span or log record conditions: the received bytes can be cut directly.
  bool single_item_group_ = false;
};

class Factory : public AllSignalsProcessorFactory<Factory> {
 public:
  Factory() : AllSignalsProcessorFactory("filter") {}
  std::unique_ptr<ComponentConfig> CreateDefaultConfig() const override {
    return std::make_unique<Config>();
  }

  template <Signal S>
  static absl::StatusOr<ConsumerComponentPtr<S>> Make(const CreateSettings& settings,
                                                      const ComponentConfig& config,
                                                      std::shared_ptr<Consumer<S>> next) {
    ASSIGN_OR_RETURN(std::vector<Group> groups, BuildGroups(static_cast<const Config&>(config), S));
    return std::make_shared<FilterProcessor<S>>(settings, std::move(groups), std::move(next));
  }
};

}  // namespace

std::unique_ptr<ProcessorFactory> NewFactory() { return std::make_unique<Factory>(); }

}  // namespace sprout::collector::filterprocessor
