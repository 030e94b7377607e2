#include "metrics/api/metrics_api.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/go_format.h"
#include "base/json_escape.h"
#include "base/status.h"
#include "metrics/api/params.h"
#include "metrics/api/query.h"
#include "metrics/api/response.h"
#include "metrics/promql/parser.h"
#include "metrics/promql/printer.h"

namespace sprout::metrics::api {
namespace {

constexpr const char* kPrefixes[] = {"", "/prometheus"};
constexpr const char* kTruncated = "results truncated due to limit";

// Prometheus asks the storage for one more than the limit to know whether it truncated.
int64_t HintLimit(int64_t limit) { return limit > 0 ? limit + 1 : 0; }

template <typename T>
bool Truncate(std::vector<T>* values, int64_t limit) {
  if (limit <= 0 || static_cast<int64_t>(values->size()) <= limit) return false;
  values->resize(static_cast<size_t>(limit));
  return true;
}

std::string LabelSetJson(const tsdb::Labels& labels) {
  std::string out = "{";
  bool first = true;
  for (const tsdb::Label l : labels) {
    if (!first) out += ",";
    first = false;
    AppendJsonString(l.name, &out);
    out += ":";
    AppendJsonString(l.value, &out);
  }
  out += "}";
  return out;
}

// The parameters every metadata endpoint shares. Returns false after answering the request
// with the error.
struct CommonParams {
  int64_t start = kMinTimeMs;
  int64_t end = kMaxTimeMs;
  int64_t limit = 0;
  std::vector<MatcherSet> matcher_sets;
};

// `min_start` (max_query_lookback): the earliest start the storage is asked for.
// `match_param_errors`: a bad `match[]` answered as `invalid parameter "match[]": ...` (the
// series endpoint, as Prometheus 2.42's invalidParamError); the label endpoints answer the bare
// text.
bool ParseCommon(net::HttpRequest& request, net::HttpResponse& response, CommonParams* out,
                 int64_t min_start = kMinTimeMs, bool match_param_errors = false) {
  if (absl::Status s = request.ParseForm(); !s.ok()) {
    WriteError(response, ErrorType::kBadData,
               absl::StrCat("error parsing form values: ", s.message()));
    return false;
  }
  absl::StatusOr<int64_t> start = ParseTimeParam("start", request.form.Get("start"), kMinTimeMs);
  if (!start.ok()) {
    WriteStatusError(response, start.status());
    return false;
  }
  absl::StatusOr<int64_t> end = ParseTimeParam("end", request.form.Get("end"), kMaxTimeMs);
  if (!end.ok()) {
    WriteStatusError(response, end.status());
    return false;
  }
  absl::StatusOr<std::vector<MatcherSpecSet>> specs =
      ParseMatchersParam(request.form.GetAll("match[]"));
  if (!specs.ok()) {
    if (match_param_errors) {
      WriteError(response, ErrorType::kBadData,
                 absl::StrCat("invalid parameter \"match[]\": ", specs.status().message()));
    } else {
      WriteStatusError(response, specs.status());
    }
    return false;
  }
  absl::StatusOr<std::vector<MatcherSet>> sets = ToMatcherSets(*specs);
  if (!sets.ok()) {
    WriteStatusError(response, sets.status());
    return false;
  }
  absl::StatusOr<int64_t> limit = ParseLimitParam(request.form.Get("limit"));
  if (!limit.ok()) {
    WriteStatusError(response, limit.status());
    return false;
  }
  out->start = std::max(*start, min_start);
  out->end = *end;
  out->limit = *limit;
  out->matcher_sets = *std::move(sets);
  return true;
}

// Parameters of /api/v1/query and /api/v1/query_range once checked.
struct QueryRequestParams {
  bool range = false;
  int64_t start = 0;  // `time` for an instant query
  int64_t end = 0;
  int64_t step_ms = 0;
  absl::Duration timeout;
  bool stats = false;
};

// Prometheus 2.42's parameter handling, in its order (instant: time, timeout, query; range:
// start, end, end < start, step, step <= 0, 11,000 points, timeout, query). A malformed form body
// is ignored as Prometheus's FormValue ignores it. Returns false after answering the error.
bool ParseQueryParams(net::HttpRequest& request, net::HttpResponse& response, bool range,
                      int64_t now_ms, absl::Duration max_timeout, QueryRequestParams* out) {
  (void)request.ParseForm();
  const net::QueryParams& form = request.form;
  out->range = range;
  if (!range) {
    absl::StatusOr<int64_t> t = ParseTimeParam("time", form.Get("time"), now_ms);
    if (!t.ok()) {
      // 2.42 words this one parameter's error twice.
      WriteError(response, ErrorType::kBadData,
                 absl::StrCat("invalid parameter \"time\": Invalid time value for 'time': ",
                              ParseTimestamp(form.Get("time")).status().message()));
      return false;
    }
    out->start = out->end = *t;
  } else {
    // start and end are required: an absent one is "cannot parse \"\" to a valid timestamp".
    for (const char* name : {"start", "end"}) {
      absl::StatusOr<int64_t> t = ParseTimestamp(form.Get(name));
      if (!t.ok()) {
        WriteError(response, ErrorType::kBadData,
                   absl::StrCat("invalid parameter \"", name, "\": ", t.status().message()));
        return false;
      }
      (std::string_view(name) == "start" ? out->start : out->end) = *t;
    }
    if (out->end < out->start) {
      WriteStatusError(response, CheckRangeParams(out->start, out->end, 1).status());
      return false;
    }
    absl::StatusOr<int64_t> step_ns = ParsePromApiDuration(form.Get("step"));
    if (!step_ns.ok()) {
      WriteError(response, ErrorType::kBadData,
                 absl::StrCat("invalid parameter \"step\": ", step_ns.status().message()));
      return false;
    }
    absl::StatusOr<int64_t> step_ms = CheckRangeParams(out->start, out->end, *step_ns);
    if (!step_ms.ok()) {
      WriteStatusError(response, step_ms.status());
      return false;
    }
    if (*step_ms == 0) {
      // A step below 1 ms: 2.42 divides by the step in milliseconds and answers its runtime
      // panic as an execution error; sprout gives the same answer.
      WriteError(response, ErrorType::kExecution,
                 "unexpected error: runtime error: integer divide by zero");
      return false;
    }
    out->step_ms = *step_ms;
  }
  out->timeout = max_timeout;
  if (std::string_view to = form.Get("timeout"); !to.empty()) {
    absl::StatusOr<int64_t> ns = ParsePromApiDuration(to);
    if (!ns.ok()) {
      WriteError(response, ErrorType::kBadData,
                 absl::StrCat("invalid parameter \"timeout\": ", ns.status().message()));
      return false;
    }
    out->timeout = std::min(absl::Nanoseconds(*ns), max_timeout);
  }
  out->stats = !form.Get("stats").empty();
  return true;
}

}  // namespace

MetricsApi::MetricsApi(MetricsApiOptions options)
    : options_(std::move(options)),
      engine_(std::make_shared<promql::Engine>(options_.query.engine)) {}

MetricsApi::~MetricsApi() {
  if (options_.registry != nullptr) {
    for (int id : callbacks_) options_.registry->RemoveCallback(id);
  }
}

std::string MetricsApi::BuildInfoJson() const {
  const BuildInfo& b = options_.build;
  std::string data = "{\"application\":\"Grafana Mimir\"";
  auto field = [&data](const char* name, const std::string& value) {
    absl::StrAppend(&data, ",\"", name, "\":");
    AppendJsonString(value, &data);
  };
  field("version", b.version);
  field("revision", b.revision);
  field("branch", b.branch);
  field("buildUser", b.build_user);
  field("buildDate", b.build_date);
  field("goVersion", b.go_version);
  data +=
      ",\"features\":{\"ruler_config_api\":\"false\",\"alertmanager_config_api\":\"false\","
      "\"query_sharding\":\"false\",\"federated_rules\":\"false\"}}";
  net::HttpResponse r;
  WriteSuccess(r, data);
  return r.body;
}

absl::Status MetricsApi::Register(net::Router* router) {
  router->SetTenants(options_.tenants);
  MetricsRegistry* registry = options_.registry;
  if (registry != nullptr && options_.queryable != nullptr) {
    callbacks_.push_back(registry->AddGaugeCallback(
        "sprout_metrics_queries_running",
        "PromQL queries in the engine now (promql::Engine::running()).", {},
        [engine = engine_] { return static_cast<double>(engine->running()); }));
  }

  // Counts requests by route and status; the handler runs inside.
  auto counted = [registry](std::string route, net::HttpHandler handler) -> net::HttpHandler {
    return [registry, route = std::move(route), handler = std::move(handler)](
               net::HttpRequest& request, net::HttpResponse& response) {
      handler(request, response);
      if (registry != nullptr) {
        registry
            ->GetCounter("sprout_metrics_http_requests_total",
                         "HTTP requests answered by sprout metrics.",
                         {{"method", request.method},
                          {"route", route},
                          {"status_code", std::to_string(response.status)}})
            ->Increment();
      }
    };
  };
  auto handle = [&](std::string_view method, const std::string& pattern, net::HttpHandler handler,
                    net::RouteOptions options) -> absl::Status {
    return router->Handle(method, pattern, counted(pattern, std::move(handler)), options);
  };

  net::RouteOptions plain;
  plain.execution = net::RouteExecution::kInline;
  net::RouteOptions tenant;
  tenant.tenant = net::TenantPolicy::kSingle;
  tenant.gzip = true;

  if (options_.serve_process_endpoints) {
    std::shared_ptr<std::atomic<bool>> ready = ready_;
    RETURN_IF_ERROR(handle(
        "GET", "/ready",
        net::ReadinessHandler([ready] { return ready->load(std::memory_order_acquire); }), plain));

    net::RouteOptions metrics_route = plain;
    metrics_route.gzip = true;
    RETURN_IF_ERROR(handle(
        "GET", "/metrics",
        [registry](net::HttpRequest&, net::HttpResponse& response) {
          response.SetHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
          response.body = registry != nullptr ? registry->RenderText() : "";
        },
        metrics_route));

    RETURN_IF_ERROR(handle(
        "GET", "/config",
        [yaml = options_.effective_config](net::HttpRequest&, net::HttpResponse& response) {
          response.SetHeader("Content-Type", "text/plain; charset=utf-8");
          response.body = yaml;
        },
        plain));
  }

  const std::string buildinfo = BuildInfoJson();
  for (const char* prefix : kPrefixes) {
    const std::string p = prefix;
    RETURN_IF_ERROR(handle(
        "GET", p + "/api/v1/status/buildinfo",
        [buildinfo](net::HttpRequest&, net::HttpResponse& response) {
          response.SetHeader("Content-Type", "application/json");
          response.body = buildinfo;
        },
        plain));
    RETURN_IF_ERROR(handle(
        "GET", p + "/api/v1/rules",
        [](net::HttpRequest&, net::HttpResponse& response) {
          WriteSuccess(response, "{\"groups\":[]}");
        },
        tenant));
    RETURN_IF_ERROR(handle(
        "GET", p + "/api/v1/alerts",
        [](net::HttpRequest&, net::HttpResponse& response) {
          WriteSuccess(response, "{\"alerts\":[]}");
        },
        tenant));

    // Prometheus's /api/v1/format_query: the query prettified as Prometheus 2.42 does, or its
    // parse error as bad_data.
    auto format_query = [](net::HttpRequest& request, net::HttpResponse& response) {
      (void)request.ParseForm();  // Prometheus's FormValue ignores a malformed body
      promql::ParseResult parsed = promql::Parse(request.form.Get("query"));
      std::string body;
      if (parsed.ok()) {
        body = "{\"status\":\"success\",\"data\":";
        AppendGoJsonString(promql::Prettify(*parsed.expr), &body);
        response.status = 200;
      } else {
        body = "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":";
        AppendGoJsonString("invalid parameter \"query\": " + parsed.error.ToString(), &body);
        response.status = ErrorTypeHttpStatus(ErrorType::kBadData);
      }
      body += "}";
      response.SetHeader("Content-Type", "application/json");
      response.body = std::move(body);
    };
    RETURN_IF_ERROR(handle("GET", p + "/api/v1/format_query", format_query, tenant));
    RETURN_IF_ERROR(handle("POST", p + "/api/v1/format_query", format_query, tenant));

    Queryable* q = options_.queryable;
    if (q == nullptr) continue;
    // limits.max_query_lookback for the series and label endpoints (Mimir clamps their start).
    auto min_start = [query = options_.query, now = options_.now_ms](std::string_view tenant) {
      absl::Duration lookback = query.max_query_lookback;
      if (query.for_tenant) {
        QueryApiOptions own = query;
        query.for_tenant(tenant, &own);
        lookback = own.max_query_lookback;
      }
      if (lookback <= absl::ZeroDuration()) return kMinTimeMs;
      const int64_t now_ms = now ? now() : absl::ToUnixMillis(absl::Now());
      return now_ms - absl::ToInt64Milliseconds(lookback);
    };

    auto labels = [q, min_start](net::HttpRequest& request, net::HttpResponse& response) {
      CommonParams p;
      if (!ParseCommon(request, response, &p, min_start(request.tenant))) return;
      absl::StatusOr<std::vector<std::string>> names =
          q->LabelNames(request.tenant, p.matcher_sets, p.start, p.end, HintLimit(p.limit));
      if (!names.ok()) return WriteStatusError(response, names.status());
      std::vector<std::string> warnings;
      if (Truncate(&*names, p.limit)) warnings.push_back(kTruncated);
      WriteSuccess(response, JsonStringArray(*names), warnings);
    };
    RETURN_IF_ERROR(handle("GET", p + "/api/v1/labels", labels, tenant));
    RETURN_IF_ERROR(handle("POST", p + "/api/v1/labels", labels, tenant));

    auto values = [q, min_start](net::HttpRequest& request, net::HttpResponse& response) {
      absl::StatusOr<std::string> name = UnescapeLabelNameParam(request.PathValue("name"));
      if (!name.ok()) return WriteStatusError(response, name.status());
      CommonParams p;
      if (!ParseCommon(request, response, &p, min_start(request.tenant))) return;
      absl::StatusOr<std::vector<std::string>> vals =
          q->LabelValues(request.tenant, *name, p.matcher_sets, p.start, p.end, HintLimit(p.limit));
      if (!vals.ok()) return WriteStatusError(response, vals.status());
      std::vector<std::string> warnings;
      if (Truncate(&*vals, p.limit)) warnings.push_back(kTruncated);
      WriteSuccess(response, JsonStringArray(*vals), warnings);
    };
    RETURN_IF_ERROR(handle("GET", p + "/api/v1/label/{name}/values", values, tenant));

    auto series = [q, min_start](net::HttpRequest& request, net::HttpResponse& response) {
      if (absl::Status s = request.ParseForm(); !s.ok()) {
        return WriteError(response, ErrorType::kBadData,
                          absl::StrCat("error parsing form values: ", s.message()));
      }
      if (request.form.GetAll("match[]").empty()) {
        return WriteError(response, ErrorType::kBadData, "no match[] parameter provided");
      }
      CommonParams p;
      if (!ParseCommon(request, response, &p, min_start(request.tenant),
                       /*match_param_errors=*/true)) {
        return;
      }
      absl::StatusOr<std::vector<tsdb::Labels>> sets =
          q->Series(request.tenant, p.matcher_sets, p.start, p.end, HintLimit(p.limit));
      if (!sets.ok()) return WriteStatusError(response, sets.status());
      std::vector<std::string> warnings;
      if (Truncate(&*sets, p.limit)) warnings.push_back(kTruncated);
      std::string data = "[";
      for (size_t i = 0; i < sets->size(); ++i) {
        if (i > 0) data += ",";
        data += LabelSetJson((*sets)[i]);
      }
      data += "]";
      WriteSuccess(response, data, warnings);
    };
    RETURN_IF_ERROR(handle("GET", p + "/api/v1/series", series, tenant));
    RETURN_IF_ERROR(handle("POST", p + "/api/v1/series", series, tenant));

    auto metadata = [q](net::HttpRequest& request, net::HttpResponse& response) {
      if (absl::Status s = request.ParseForm(); !s.ok()) {
        return WriteError(response, ErrorType::kBadData,
                          absl::StrCat("error parsing form values: ", s.message()));
      }
      int64_t limit = -1;
      int64_t limit_per_metric = -1;
      if (std::string_view s = request.form.Get("limit"); !s.empty()) {
        absl::StatusOr<int64_t> v = GoAtoi(s);
        if (!v.ok()) return WriteError(response, ErrorType::kBadData, "limit must be a number");
        limit = *v;
      }
      if (std::string_view s = request.form.Get("limit_per_metric"); !s.empty()) {
        absl::StatusOr<int64_t> v = GoAtoi(s);
        if (!v.ok()) {
          return WriteError(response, ErrorType::kBadData, "limit_per_metric must be a number");
        }
        limit_per_metric = *v;
      }
      auto md = q->Metadata(request.tenant, request.form.Get("metric"), limit, limit_per_metric);
      if (!md.ok()) return WriteStatusError(response, md.status());
      std::string data = "{";
      bool first = true;
      for (const auto& [metric, entries] : *md) {
        if (!first) data += ",";
        first = false;
        AppendJsonString(metric, &data);
        data += ":[";
        for (size_t i = 0; i < entries.size(); ++i) {
          if (i > 0) data += ",";
          data += "{\"type\":";
          AppendJsonString(entries[i].type, &data);
          data += ",\"help\":";
          AppendJsonString(entries[i].help, &data);
          data += ",\"unit\":";
          AppendJsonString(entries[i].unit, &data);
          data += "}";
        }
        data += "]";
      }
      data += "}";
      WriteSuccess(response, data);
    };
    RETURN_IF_ERROR(handle("GET", p + "/api/v1/metadata", metadata, tenant));

    CardinalityApiOptions card = options_.cardinality;
    if (!card.now_ms) card.now_ms = options_.now_ms;
    RETURN_IF_ERROR(handle("GET", p + "/api/v1/status/tsdb", TsdbStatusHandler(q), tenant));
    for (const char* method : {"GET", "POST"}) {
      RETURN_IF_ERROR(handle(method, p + "/api/v1/cardinality/label_names",
                             LabelNamesCardinalityHandler(q, card), tenant));
      RETURN_IF_ERROR(handle(method, p + "/api/v1/cardinality/label_values",
                             LabelValuesCardinalityHandler(q, card), tenant));
      RETURN_IF_ERROR(handle(method, p + "/api/v1/cardinality/active_series",
                             ActiveSeriesHandler(q, card), tenant));
    }
    // Mimir serves user_stats at the root only.
    if (p.empty()) {
      RETURN_IF_ERROR(handle("GET", "/api/v1/user_stats", UserStatsHandler(q), tenant));
    }

    // Prometheus's parameters, checks and JSON; the exemplars of every selector of the query
    // (Prometheus's ExtractSelectors).
    auto exemplars = [q](net::HttpRequest& request, net::HttpResponse& response) {
      if (absl::Status s = request.ParseForm(); !s.ok()) {
        return WriteError(response, ErrorType::kBadData,
                          absl::StrCat("error parsing form values: ", s.message()));
      }
      absl::StatusOr<int64_t> start =
          ParseTimeParam("start", request.form.Get("start"), kMinTimeMs);
      if (!start.ok()) return WriteStatusError(response, start.status());
      absl::StatusOr<int64_t> end = ParseTimeParam("end", request.form.Get("end"), kMaxTimeMs);
      if (!end.ok()) return WriteStatusError(response, end.status());
      if (*end < *start) {
        return WriteError(response, ErrorType::kBadData,
                          "end timestamp must not be before start timestamp");
      }
      promql::ParseResult parsed = promql::Parse(request.form.Get("query"));
      if (!parsed.ok()) {
        return WriteError(response, ErrorType::kBadData, parsed.error.ToString());
      }
      absl::StatusOr<std::vector<MatcherSet>> sets = ExtractSelectors(*parsed.expr);
      if (!sets.ok()) return WriteStatusError(response, sets.status());
      if (sets->empty()) {
        // No selector (`1`, `time()`): Prometheus answers 204 without a body.
        response.status = 204;
        response.body.clear();
        return;
      }
      absl::StatusOr<std::vector<SeriesExemplars>> found =
          q->Exemplars(request.tenant, *sets, *start, *end);
      if (!found.ok()) return WriteStatusError(response, found.status());
      std::string data = "[";
      for (size_t i = 0; i < found->size(); ++i) {
        const SeriesExemplars& series = (*found)[i];
        if (i > 0) data += ",";
        data += "{\"seriesLabels\":";
        data += LabelSetJson(series.series);
        data += ",\"exemplars\":[";
        for (size_t j = 0; j < series.exemplars.size(); ++j) {
          const ExemplarPoint& e = series.exemplars[j];
          if (j > 0) data += ",";
          data += "{\"labels\":";
          data += LabelSetJson(e.labels);
          data += ",\"value\":";
          AppendSampleValue(e.value, &data);
          data += ",\"timestamp\":";
          AppendPointTimestamp(e.t_ms, &data);
          data += "}";
        }
        data += "]}";
      }
      data += "]";
      WriteSuccess(response, data);
    };
    RETURN_IF_ERROR(handle("GET", p + "/api/v1/query_exemplars", exemplars, tenant));
    RETURN_IF_ERROR(handle("POST", p + "/api/v1/query_exemplars", exemplars, tenant));

    // PromQL. The route's deadline is past querier.timeout, so that the query's own limiter
    // (deadline, limits) decides and the answer is Prometheus's timeout error; the watcher
    // cancels the limiter when the client goes away.
    net::RouteOptions query_route = tenant;
    query_route.timeout = options_.query.engine.timeout + absl::Seconds(10);
    for (const bool range : {false, true}) {
      auto run = [q, range, engine = engine_, watcher = watcher_, defaults = options_.query,
                  now = options_.now_ms](net::HttpRequest& request, net::HttpResponse& response) {
        QueryApiOptions limits = defaults;
        if (defaults.for_tenant) defaults.for_tenant(request.tenant, &limits);
        const int64_t now_ms = now ? now() : absl::ToUnixMillis(absl::Now());
        QueryRequestParams qp;
        if (!ParseQueryParams(request, response, range, now_ms, limits.engine.timeout, &qp)) {
          return;
        }
        const std::string_view query = request.form.Get("query");
        promql::ParseResult parsed = promql::Parse(query);
        if (!parsed.ok()) {
          // 2.42 names the parameter for an instant query only.
          return WriteError(
              response, ErrorType::kBadData,
              range ? parsed.error.ToString()
                    : absl::StrCat("invalid parameter \"query\": ", parsed.error.ToString()));
        }
        if (range) {
          const promql::ValueType type = parsed.expr->Type();
          if (type != promql::ValueType::kScalar && type != promql::ValueType::kVector) {
            return WriteError(
                response, ErrorType::kBadData,
                absl::StrCat("invalid expression type \"", AV(promql::DocumentedTypeName(type)),
                             "\" for range query, must be Scalar or instant Vector"));
          }
        }
        if (qp.timeout <= absl::ZeroDuration()) {
          // Prometheus's context is already done when the query starts.
          return WriteError(response, ErrorType::kTimeout, "query timed out in query execution");
        }
        tsdb::QueryLimiter limiter(limits.max_fetched_series_per_query,
                                   limits.max_fetched_chunks_per_query, absl::Now() + qp.timeout);
        promql::QueryOptions options;
        options.limiter = &limiter;
        std::unique_ptr<promql::Queryable> data = q->PromQueryable(request.tenant);
        if (data == nullptr) {
          return WriteError(response, ErrorType::kInternal, "no PromQL view of the storage");
        }
        if (limits.max_query_lookback > absl::ZeroDuration()) {
          data = ClampMinTime(std::move(data),
                              now_ms - absl::ToInt64Milliseconds(limits.max_query_lookback));
        }
        absl::StatusOr<promql::QueryResult> result;
        {
          std::unique_ptr<CancelWatcher::Guard> guard = watcher->Watch(request.control, &limiter);
          result = range ? engine->RangeQuery(*data, query, qp.start, qp.end, qp.step_ms, options)
                         : engine->InstantQuery(*data, query, qp.start, options);
        }
        if (!result.ok()) {
          return WriteError(response, QueryErrorTypeOf(result.status()),
                            SV(result.status().message()));
        }
        WriteQuerySuccess(response, *result, qp.stats, result->warnings);
      };
      const std::string path = p + (range ? "/api/v1/query_range" : "/api/v1/query");
      RETURN_IF_ERROR(handle("GET", path, run, query_route));
      RETURN_IF_ERROR(handle("POST", path, run, query_route));
    }
  }
  return absl::OkStatus();
}

}  // namespace sprout::metrics::api
