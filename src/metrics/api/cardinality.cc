#include "metrics/api/cardinality.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/go_format.h"
#include "base/json_escape.h"
#include "base/status.h"
#include "metrics/api/params.h"
#include "metrics/api/response.h"

namespace sprout::metrics::api {
namespace {

// Mimir's request limits (pkg/cardinality): `limit` 0..500, default 20.
constexpr int64_t kMimirMaxLimit = 500;
constexpr int64_t kMimirDefaultLimit = 20;

// Go's http.Error: the text, a newline, text/plain.
void MimirError(net::HttpResponse& response, int status, std::string_view message) {
  response.status = status;
  response.SetHeader("Content-Type", "text/plain; charset=utf-8");
  response.SetHeader("X-Content-Type-Options", "nosniff");
  response.body = absl::StrCat(AV(message), "\n");
}

void MimirStatusError(net::HttpResponse& response, const absl::Status& status) {
  const int code = status.code() == absl::StatusCode::kUnavailable ? 503 : 500;
  MimirError(response, code, SV(status.message()));
}

void WriteJson(net::HttpResponse& response, std::string body) {
  response.status = 200;
  response.SetHeader("Content-Type", "application/json");
  response.body = std::move(body);
}

int64_t NowMs(const CardinalityApiOptions& o) {
  return o.now_ms ? o.now_ms() : absl::ToUnixMillis(absl::Now());
}

// Mimir's checks common to its three routes; false after answering.
bool MimirPreamble(net::HttpRequest& request, net::HttpResponse& response,
                   const CardinalityApiOptions& o) {
  if (!o.enabled) {
    MimirError(response, 400,
               absl::StrCat("cardinality analysis is disabled for the tenant: ", request.tenant));
    return false;
  }
  if (absl::Status s = request.ParseForm(); !s.ok()) {
    MimirError(response, 400, SV(s.message()));
    return false;
  }
  return true;
}

// `selector`: absent → every series; more than one, or one that does not parse → Mimir's texts.
absl::StatusOr<MatcherSet> MimirSelector(const net::QueryParams& form) {
  std::vector<std::string_view> values = form.GetAll("selector");
  if (values.empty()) return MatcherSet{};
  if (values.size() > 1) {
    return absl::InvalidArgumentError("multiple 'selector' params are not allowed");
  }
  absl::StatusOr<MatcherSpecSet> spec = ParseMetricSelector(values[0]);
  if (!spec.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("failed to parse selector: ", spec.status().message()));
  }
  // As Prometheus's ParseMetricSelector (Mimir's parser), `{}` and matchers that all match ""
  // are accepted: no matcher counts every series (an empty active_series answer).
  absl::StatusOr<std::vector<MatcherSet>> sets = ToMatcherSets({*spec});
  if (!sets.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("failed to parse selector: ", sets.status().message()));
  }
  return std::move((*sets)[0]);
}

absl::StatusOr<int64_t> MimirLimit(const net::QueryParams& form) {
  std::vector<std::string_view> values = form.GetAll("limit");
  if (values.empty()) return kMimirDefaultLimit;
  if (values.size() > 1)
    return absl::InvalidArgumentError("multiple 'limit' params are not allowed");
  absl::StatusOr<int64_t> limit = GoAtoi(values[0]);
  if (!limit.ok()) return limit.status();
  if (*limit < 0) return absl::InvalidArgumentError("'limit' param cannot be less than '0'");
  if (*limit > kMimirMaxLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("'limit' param cannot be greater than '", kMimirMaxLimit, "'"));
  }
  return *limit;
}

// `count_method`: the activity bound (INT64_MIN for inmemory).
absl::StatusOr<int64_t> MimirCountMethod(const net::QueryParams& form,
                                         const CardinalityApiOptions& o) {
  std::vector<std::string_view> values = form.GetAll("count_method");
  if (values.empty() || values[0] == "inmemory") return INT64_MIN;
  if (values[0] == "active") return NowMs(o) - absl::ToInt64Milliseconds(o.active_idle_timeout);
  return absl::InvalidArgumentError(absl::StrCat("invalid 'count_method' param '", AV(values[0]),
                                                 "'. valid options are: [active,inmemory]"));
}

// Prometheus's UTF-8 label name check (model.UTF8Validation): non-empty, valid UTF-8.
bool IsValidUtf8LabelName(std::string_view s) {
  if (s.empty()) return false;
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);
    for (size_t k = 1; k < n; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n;
  }
  return true;
}

// Go's json.Marshal of a float64 (user_stats).
void AppendFloat(double v, std::string* out) {
  if (!AppendGoJsonFloat(v, out)) out->append("0");
}

struct Stat {
  std::string name;
  uint64_t count;
};

// Prometheus's top-`limit` lists: count descending (ties by name, where Prometheus's heap leaves
// them in no particular order).
void AppendTop(std::string_view key, std::vector<Stat> stats, size_t limit, std::string* out) {
  std::sort(stats.begin(), stats.end(), [](const Stat& a, const Stat& b) {
    return a.count != b.count ? a.count > b.count : a.name < b.name;
  });
  if (stats.size() > limit) stats.resize(limit);
  absl::StrAppend(out, "\"", AV(key), "\":[");
  for (size_t i = 0; i < stats.size(); ++i) {
    if (i > 0) out->append(",");
    out->append("{\"name\":");
    AppendGoJsonString(stats[i].name, out);
    absl::StrAppend(out, ",\"value\":", stats[i].count, "}");
  }
  out->append("]");
}

}  // namespace

net::HttpHandler TsdbStatusHandler(Queryable* q) {
  return [q](net::HttpRequest& request, net::HttpResponse& response) {
    (void)request.ParseForm();
    int64_t limit = 10;
    if (std::string_view s = request.form.Get("limit"); !s.empty()) {
      absl::StatusOr<int64_t> v = GoAtoi(s);
      if (!v.ok() || *v < 1) {
        return WriteError(response, ErrorType::kBadData, "limit must be a positive number");
      }
      limit = *v;
    }
    absl::StatusOr<HeadStatus> head = q->TsdbHeadStatus(request.tenant);
    if (!head.ok()) return WriteStatusError(response, head.status());
    absl::StatusOr<CardinalityResult> card = q->Cardinality(request.tenant, {}, {}, INT64_MIN);
    if (!card.ok()) return WriteStatusError(response, card.status());
    std::vector<Stat> metrics, values_per_name, bytes_per_name, pairs;
    uint64_t label_pairs = 0;
    for (const LabelNameCardinality& l : card->labels) {
      uint64_t bytes = 0;
      for (const LabelValueSeries& v : l.values) {
        if (l.name == "__name__") metrics.push_back({v.value, v.series});
        pairs.push_back({absl::StrCat(l.name, "=", v.value), v.series});
        bytes += v.value.size();
      }
      label_pairs += l.values.size();
      values_per_name.push_back({l.name, l.values.size()});
      bytes_per_name.push_back({l.name, bytes});
    }
    std::string data =
        absl::StrCat("{\"headStats\":{\"numSeries\":", head->num_series,
                     ",\"numLabelPairs\":", label_pairs, ",\"chunkCount\":", head->chunk_count,
                     ",\"minTime\":", head->min_time, ",\"maxTime\":", head->max_time, "},");
    const size_t n = static_cast<size_t>(limit);
    AppendTop("seriesCountByMetricName", std::move(metrics), n, &data);
    data += ",";
    AppendTop("labelValueCountByLabelName", std::move(values_per_name), n, &data);
    data += ",";
    AppendTop("memoryInBytesByLabelName", std::move(bytes_per_name), n, &data);
    data += ",";
    AppendTop("seriesCountByLabelValuePair", std::move(pairs), n, &data);
    data += "}";
    WriteSuccess(response, data);
  };
}

net::HttpHandler LabelNamesCardinalityHandler(Queryable* q, CardinalityApiOptions o) {
  return [q, o](net::HttpRequest& request, net::HttpResponse& response) {
    if (!MimirPreamble(request, response, o)) return;
    absl::StatusOr<MatcherSet> selector = MimirSelector(request.form);
    if (!selector.ok()) return MimirError(response, 400, SV(selector.status().message()));
    absl::StatusOr<int64_t> limit = MimirLimit(request.form);
    if (!limit.ok()) return MimirError(response, 400, SV(limit.status().message()));
    absl::StatusOr<int64_t> active_since = MimirCountMethod(request.form, o);
    if (!active_since.ok()) return MimirError(response, 400, SV(active_since.status().message()));
    absl::StatusOr<CardinalityResult> card =
        q->Cardinality(request.tenant, *selector, {}, *active_since);
    if (!card.ok()) return MimirStatusError(response, card.status());
    std::vector<Stat> names;
    uint64_t total = 0;
    for (const LabelNameCardinality& l : card->labels) {
      names.push_back({l.name, l.values.size()});
      total += l.values.size();
    }
    std::sort(names.begin(), names.end(), [](const Stat& a, const Stat& b) {
      return a.count != b.count ? a.count > b.count : a.name < b.name;
    });
    std::string body = absl::StrCat("{\"label_values_count_total\":", total,
                                    ",\"label_names_count\":", names.size(), ",\"cardinality\":[");
    for (size_t i = 0; i < names.size() && i < static_cast<size_t>(*limit); ++i) {
      if (i > 0) body += ",";
      body += "{\"label_name\":";
      AppendGoJsonString(names[i].name, &body);
      absl::StrAppend(&body, ",\"label_values_count\":", names[i].count, "}");
    }
    body += "]}\n";
    WriteJson(response, std::move(body));
  };
}

net::HttpHandler LabelValuesCardinalityHandler(Queryable* q, CardinalityApiOptions o) {
  return [q, o](net::HttpRequest& request, net::HttpResponse& response) {
    if (!MimirPreamble(request, response, o)) return;
    std::vector<std::string> names;
    for (std::string_view n : request.form.GetAll("label_names[]")) names.emplace_back(n);
    if (names.empty()) return MimirError(response, 400, "'label_names[]' param is required");
    for (const std::string& n : names) {
      if (!IsValidUtf8LabelName(n)) {
        return MimirError(response, 400, absl::StrCat("invalid 'label_names' param '", n, "'"));
      }
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    absl::StatusOr<MatcherSet> selector = MimirSelector(request.form);
    if (!selector.ok()) return MimirError(response, 400, SV(selector.status().message()));
    absl::StatusOr<int64_t> limit = MimirLimit(request.form);
    if (!limit.ok()) return MimirError(response, 400, SV(limit.status().message()));
    absl::StatusOr<int64_t> active_since = MimirCountMethod(request.form, o);
    if (!active_since.ok()) return MimirError(response, 400, SV(active_since.status().message()));
    absl::StatusOr<CardinalityResult> card =
        q->Cardinality(request.tenant, *selector, names, *active_since);
    if (!card.ok()) return MimirStatusError(response, card.status());
    struct Item {
      std::string name;
      uint64_t series = 0;
      std::vector<LabelValueSeries> values;
    };
    std::vector<Item> items;
    for (const std::string& n : names) {
      Item item{n, 0, {}};
      for (LabelNameCardinality& l : card->labels) {
        if (l.name != n) continue;
        item.values = std::move(l.values);
      }
      for (const LabelValueSeries& v : item.values) item.series += v.series;
      std::sort(item.values.begin(), item.values.end(),
                [](const LabelValueSeries& a, const LabelValueSeries& b) {
                  return a.series != b.series ? a.series > b.series : a.value < b.value;
                });
      items.push_back(std::move(item));
    }
    std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
      return a.series != b.series ? a.series > b.series : a.name < b.name;
    });
    std::string body = absl::StrCat("{\"series_count_total\":", card->head_series, ",\"labels\":[");
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) body += ",";
      body += "{\"label_name\":";
      AppendGoJsonString(items[i].name, &body);
      absl::StrAppend(&body, ",\"label_values_count\":", items[i].values.size(),
                      ",\"series_count\":", items[i].series, ",\"cardinality\":[");
      for (size_t j = 0; j < items[i].values.size() && j < static_cast<size_t>(*limit); ++j) {
        if (j > 0) body += ",";
        body += "{\"label_value\":";
        AppendGoJsonString(items[i].values[j].value, &body);
        absl::StrAppend(&body, ",\"series_count\":", items[i].values[j].series, "}");
      }
      body += "]}";
    }
    body += "]}\n";
    WriteJson(response, std::move(body));
  };
}

net::HttpHandler ActiveSeriesHandler(Queryable* q, CardinalityApiOptions o) {
  return [q, o](net::HttpRequest& request, net::HttpResponse& response) {
    if (!MimirPreamble(request, response, o)) return;
    if (!request.form.Has("selector")) {
      return MimirError(response, 400, "missing 'selector' parameter");
    }
    absl::StatusOr<MatcherSet> selector = MimirSelector(request.form);
    if (!selector.ok()) return MimirError(response, 400, SV(selector.status().message()));
    const int64_t active_since = NowMs(o) - absl::ToInt64Milliseconds(o.active_idle_timeout);
    absl::StatusOr<std::vector<tsdb::Labels>> series =
        q->ActiveSeries(request.tenant, *selector, active_since);
    if (!series.ok()) return MimirStatusError(response, series.status());
    std::string body = "{\"data\":[";
    for (size_t i = 0; i < series->size(); ++i) {
      if (i > 0) body += ",";
      body += "{";
      bool first = true;
      for (const tsdb::Label l : (*series)[i]) {
        if (!first) body += ",";
        first = false;
        AppendGoJsonString(l.name, &body);
        body += ":";
        AppendGoJsonString(l.value, &body);
      }
      body += "}";
    }
    body += "]}";
    WriteJson(response, std::move(body));
  };
}

net::HttpHandler UserStatsHandler(Queryable* q) {
  return [q](net::HttpRequest& request, net::HttpResponse& response) {
    absl::StatusOr<UserStats> stats = q->TenantUserStats(request.tenant);
    if (!stats.ok()) return MimirStatusError(response, stats.status());
    std::string body = "{\"ingestionRate\":";
    AppendFloat(stats->api_ingestion_rate + stats->rule_ingestion_rate, &body);
    absl::StrAppend(&body, ",\"numSeries\":", stats->num_series, ",\"APIIngestionRate\":");
    AppendFloat(stats->api_ingestion_rate, &body);
    body += ",\"RuleIngestionRate\":";
    AppendFloat(stats->rule_ingestion_rate, &body);
    body += "}\n";
    WriteJson(response, std::move(body));
  };
}

}  // namespace sprout::metrics::api
