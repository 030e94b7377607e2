#include "collector/processor/filter/filter_processor.h"

#include <algorithm>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status.h"
#include "collector/processor/filter/config.h"
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
