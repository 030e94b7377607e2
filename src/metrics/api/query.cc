#include "metrics/api/query.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/go_format.h"
#include "base/go_text.h"
#include "base/status.h"
#include "metrics/promql/parser.h"

namespace sprout::metrics::api {
namespace {

// Go's strconv.ParseFloat accepts no surrounding spaces; absl::SimpleAtod does. Both accept
// "NaN", "Inf", "+Inf", "infinity" (any case) and exponents.
bool GoParseFloat(std::string_view s, double* v) {
  if (s.empty() || absl::ascii_isspace(static_cast<unsigned char>(s.front())) ||
      absl::ascii_isspace(static_cast<unsigned char>(s.back()))) {
    return false;
  }
  return absl::SimpleAtod(AV(s), v);
}

void AppendSeconds(absl::Duration d, std::string* out) {
  const double s = absl::ToDoubleSeconds(d);
  const double abs = std::fabs(s);
  // jsoniter (Prometheus's JSON encoder) writes float64 as strconv 'f', or 'e' outside
  // [1e-6, 1e21): 8.11e-07.
  AppendGoFloat(s, abs != 0 && (abs < 1e-6 || abs >= 1e21) ? 'e' : 'f', -1, out);
}

// Prometheus's bucket boundary for index `idx` of a schema (getBound): 2^(idx / 2^schema).
double BucketBound(int32_t idx, int32_t schema) {
  if (schema <= 0) return std::ldexp(1.0, static_cast<int>(idx) * (1 << -schema));
  const int32_t frac_idx = idx & ((1 << schema) - 1);
  const int exp = (idx >> schema) + 1;
  const double frac = std::exp2(static_cast<double>(frac_idx) / static_cast<double>(1 << schema)) / 2;
  return std::ldexp(frac, exp);
}

struct Bucket {
  int rule;
  double lower;
  double upper;
  double count;
};

// Every non-empty bucket of one side, lowest index first: [index, count].
std::vector<std::pair<int32_t, double>> Expand(const std::vector<chunkenc::BucketSpan>& spans,
                                               const std::vector<double>& counts) {
  std::vector<std::pair<int32_t, double>> out;
  int32_t idx = 0;
  size_t k = 0;
  for (const chunkenc::BucketSpan& span : spans) {
    idx += span.offset;
    for (uint32_t j = 0; j < span.length && k < counts.size(); ++j, ++idx, ++k) {
      if (counts[k] != 0) out.emplace_back(idx, counts[k]);
    }
  }
  return out;
}

void CollectSelectors(const promql::Expr& e, std::vector<const promql::Expr*>* out) {
  if (e.kind == promql::NodeKind::kVectorSelector) out->push_back(&e);
  for (const promql::Expr* child : {e.expr.get(), e.lhs.get(), e.rhs.get(), e.param.get()}) {
    if (child != nullptr) CollectSelectors(*child, out);
  }
  for (const auto& arg : e.args) CollectSelectors(*arg, out);
}

tsdb::Matcher::Type MatcherType(promql::MatchType t) {
  switch (t) {
    case promql::MatchType::kEqual:
      return tsdb::Matcher::Type::kEqual;
    case promql::MatchType::kNotEqual:
      return tsdb::Matcher::Type::kNotEqual;
    case promql::MatchType::kRegexMatch:
      return tsdb::Matcher::Type::kRegexMatch;
    case promql::MatchType::kRegexNoMatch:
      return tsdb::Matcher::Type::kRegexNoMatch;
  }
  return tsdb::Matcher::Type::kEqual;
}

class EmptyCursor final : public promql::SeriesCursor {
 public:
  bool Next() override { return false; }
  const tsdb::Labels& labels() const override { return labels_; }
  std::unique_ptr<chunkenc::Iterator> TakeIterator() override { return nullptr; }
  absl::Status Err() const override { return absl::OkStatus(); }

 private:
  tsdb::Labels labels_;
};

class EmptyQuerier final : public promql::Querier {
 public:
  std::unique_ptr<promql::SeriesCursor> Select(std::span<const tsdb::Matcher>,
                                               const tsdb::SelectHints&,
                                               tsdb::QueryLimiter*) override {
    return std::make_unique<EmptyCursor>();
  }
};

class ClampedQueryable final : public promql::Queryable {
 public:
  ClampedQueryable(std::unique_ptr<promql::Queryable> inner, int64_t min_t)
      : inner_(std::move(inner)), min_t_(min_t) {}
  absl::StatusOr<std::unique_ptr<promql::Querier>> Open(int64_t mint, int64_t maxt) override {
    if (maxt < min_t_) return std::make_unique<EmptyQuerier>();
    return inner_->Open(std::max(mint, min_t_), maxt);
  }

 private:
  std::unique_ptr<promql::Queryable> inner_;
  const int64_t min_t_;
};

}  // namespace

std::unique_ptr<promql::Queryable> ClampMinTime(std::unique_ptr<promql::Queryable> inner,
                                                int64_t min_t_ms) {
  return std::make_unique<ClampedQueryable>(std::move(inner), min_t_ms);
}

absl::StatusOr<std::vector<std::vector<tsdb::Matcher>>> ExtractSelectors(
    const promql::Expr& expr) {
  std::vector<const promql::Expr*> selectors;
  CollectSelectors(expr, &selectors);
  std::vector<std::vector<tsdb::Matcher>> out;
  for (const promql::Expr* sel : selectors) {
    std::vector<tsdb::Matcher> set;
    for (const promql::LabelMatcher& m : sel->matchers) {
      absl::StatusOr<tsdb::Matcher> tm = tsdb::Matcher::Create(MatcherType(m.type), m.name, m.value);
      if (!tm.ok()) return tm.status();
      set.push_back(*std::move(tm));
    }
    out.push_back(std::move(set));
  }
  return out;
}

absl::StatusOr<int64_t> ParsePromApiDuration(std::string_view text) {
  double seconds = 0;
  if (GoParseFloat(text, &seconds)) {
    const double ns = seconds * 1e9;
    if (ns > static_cast<double>(std::numeric_limits<int64_t>::max()) ||
        ns < static_cast<double>(std::numeric_limits<int64_t>::min())) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot parse ", GoQuote(text), " to a valid duration. It overflows int64"));
    }
    // Go's conversion of NaN to an integer yields the minimum int64 on amd64 (a negative step).
    if (std::isnan(ns)) return std::numeric_limits<int64_t>::min();
    return static_cast<int64_t>(ns);
  }
  int64_t ms = 0;
  std::string error;
  if (promql::ParsePromDuration(text, &ms, &error)) {
    if (ms > std::numeric_limits<int64_t>::max() / 1000000) {
      return std::numeric_limits<int64_t>::max();
    }
    return ms * 1000000;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("cannot parse ", GoQuote(text), " to a valid duration"));
}

absl::StatusOr<int64_t> CheckRangeParams(int64_t start_ms, int64_t end_ms, int64_t step_ns) {
  if (end_ms < start_ms) {
    return absl::InvalidArgumentError(
        "invalid parameter \"end\": end timestamp must not be before start time");
  }
  if (step_ns <= 0) {
    return absl::InvalidArgumentError(
        "invalid parameter \"step\": zero or negative query resolution step widths are not "
        "accepted. Try a positive integer");
  }
  // Go's end.Sub(start) saturates at the largest time.Duration; then integer division.
  const __int128 span_ns =
      (static_cast<__int128>(end_ms) - static_cast<__int128>(start_ms)) * 1000000;
  const __int128 capped =
      span_ns > std::numeric_limits<int64_t>::max() ? std::numeric_limits<int64_t>::max() : span_ns;
  if (capped / step_ns > 11000) {
    return absl::InvalidArgumentError(
        "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query "
        "resolution (?step=XX)");
  }
  return step_ns / 1000000;
}

ErrorType QueryErrorTypeOf(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return ErrorType::kBadData;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kResourceExhausted:
      return ErrorType::kExecution;
    case absl::StatusCode::kCancelled:
      return ErrorType::kCanceled;
    case absl::StatusCode::kDeadlineExceeded:
      return ErrorType::kTimeout;
    case absl::StatusCode::kUnavailable:
      return ErrorType::kUnavailable;
    default:
      return ErrorType::kInternal;
  }
}

void AppendPointTimestamp(int64_t t_ms, std::string* out) {
  uint64_t abs = static_cast<uint64_t>(t_ms);
  if (t_ms < 0) {
    out->push_back('-');
    abs = ~abs + 1;
  }
  absl::StrAppend(out, abs / 1000);
  if (const uint64_t fraction = abs % 1000; fraction != 0) {
    out->push_back('.');
    if (fraction < 100) out->push_back('0');
    if (fraction < 10) out->push_back('0');
    absl::StrAppend(out, fraction);
  }
}

void AppendScalarTimestamp(int64_t t_ms, std::string* out) {
  // |t| >= 0.001 s and < 1e16 s: Go's encoding/json always takes the 'f' form here.
  AppendGoFloat(static_cast<double>(t_ms) / 1000, 'f', -1, out);
}

void AppendSampleValue(double v, std::string* out) {
  out->push_back('"');
  const double abs = std::fabs(v);
  AppendGoFloat(v, abs != 0 && (abs < 1e-6 || abs >= 1e21) ? 'e' : 'f', -1, out);
  out->push_back('"');
}

void AppendScalarValue(double v, std::string* out) {
  out->push_back('"');
  AppendGoFloat(v, 'f', -1, out);
  out->push_back('"');
}

void AppendLabelsJson(const tsdb::Labels& labels, std::string* out) {
  out->push_back('{');
  bool first = true;
  for (const tsdb::Label l : labels) {
    if (!first) out->push_back(',');
    first = false;
    AppendGoJsonString(l.name, out);
    out->push_back(':');
    AppendGoJsonString(l.value, out);
  }
  out->push_back('}');
}

void AppendHistogramJson(const chunkenc::FloatHistogram& h, std::string* out) {
  std::vector<Bucket> buckets;
  if (h.UsesCustomBuckets()) {
    // Prometheus's rule: the first bucket (from -Inf) closed at both ends (3), the others open
    // left (0); no negative side, no zero bucket.
    for (const auto& [idx, count] : Expand(h.positive_spans, h.positive_buckets)) {
      const chunkenc::CustomBucketRange b = chunkenc::CustomBucketBounds(h.custom_values, idx);
      buckets.push_back({idx <= 0 ? 3 : 0, b.lower, b.upper, count});
    }
  } else {
    std::vector<std::pair<int32_t, double>> neg = Expand(h.negative_spans, h.negative_buckets);
    for (auto it = neg.rbegin(); it != neg.rend(); ++it) {
      buckets.push_back({1, -BucketBound(it->first, h.schema),
                         -BucketBound(it->first - 1, h.schema), it->second});
    }
    if (h.zero_count > 0) buckets.push_back({3, -h.zero_threshold, h.zero_threshold, h.zero_count});
    for (const auto& [idx, count] : Expand(h.positive_spans, h.positive_buckets)) {
      buckets.push_back({0, BucketBound(idx - 1, h.schema), BucketBound(idx, h.schema), count});
    }
  }
  out->append("{\"count\":");
  AppendSampleValue(h.count, out);
  out->append(",\"sum\":");
  AppendSampleValue(h.sum, out);
  if (!buckets.empty()) {
    out->append(",\"buckets\":[");
    for (size_t i = 0; i < buckets.size(); ++i) {
      if (i > 0) out->push_back(',');
      absl::StrAppend(out, "[", buckets[i].rule, ",");
      AppendSampleValue(buckets[i].lower, out);
      out->push_back(',');
      AppendSampleValue(buckets[i].upper, out);
      out->push_back(',');
      AppendSampleValue(buckets[i].count, out);
      out->push_back(']');
    }
    out->push_back(']');
  }
  out->push_back('}');
}

namespace {

// ~32 bytes a float point, the labels' bytes twice, 256 bytes a histogram.
size_t EstimateQueryDataSize(const promql::QueryResult& result) {
  size_t estimate = 256;
  for (const promql::ResultSeries& s : result.series) {
    estimate += 32 + 2 * s.labels.bytes().size() + 32 * s.floats.size() + 256 * s.histograms.size();
  }
  return estimate;
}

}  // namespace

std::string QueryDataJson(const promql::QueryResult& result, bool with_stats) {
  std::string out;
  out.reserve(EstimateQueryDataSize(result));
  AppendQueryDataJson(result, with_stats, &out, nullptr);
  return out;
}

void AppendQueryDataJson(const promql::QueryResult& result, bool with_stats, std::string* outp,
                         const std::function<bool(std::string*)>& flush) {
  std::string& out = *outp;
  out.append("{\"resultType\":\"");
  out.append(promql::ValueTypeName(result.type));
  out.append("\",\"result\":");
  switch (result.type) {
    case promql::ValueType::kScalar:
      out.push_back('[');
      AppendScalarTimestamp(result.scalar.t, &out);
      out.push_back(',');
      AppendScalarValue(result.scalar.f, &out);
      out.push_back(']');
      break;
    case promql::ValueType::kString:
      out.push_back('[');
      AppendScalarTimestamp(result.scalar.t, &out);
      out.push_back(',');
      AppendGoJsonString(result.str, &out);
      out.push_back(']');
      break;
    case promql::ValueType::kVector:
    case promql::ValueType::kMatrix: {
      const bool vector = result.type == promql::ValueType::kVector;
      out.push_back('[');
      for (size_t i = 0; i < result.series.size(); ++i) {
        const promql::ResultSeries& s = result.series[i];
        if (i > 0) out.push_back(',');
        out.append("{\"metric\":");
        AppendLabelsJson(s.labels, &out);
        if (vector) {
          if (!s.histograms.empty()) {
            out.append(",\"histogram\":[");
            AppendPointTimestamp(s.histograms.front().t, &out);
            out.push_back(',');
            AppendHistogramJson(s.histograms.front().h, &out);
            out.push_back(']');
          } else if (!s.floats.empty()) {
            out.append(",\"value\":[");
            AppendPointTimestamp(s.floats.front().t, &out);
            out.push_back(',');
            AppendSampleValue(s.floats.front().f, &out);
            out.push_back(']');
          }
        } else {
          if (!s.floats.empty()) {
            out.append(",\"values\":[");
            for (size_t j = 0; j < s.floats.size(); ++j) {
              if (j > 0) out.push_back(',');
              out.push_back('[');
              AppendPointTimestamp(s.floats[j].t, &out);
              out.push_back(',');
              AppendSampleValue(s.floats[j].f, &out);
              out.push_back(']');
            }
            out.push_back(']');
          }
          if (!s.histograms.empty()) {
            out.append(",\"histograms\":[");
            for (size_t j = 0; j < s.histograms.size(); ++j) {
              if (j > 0) out.push_back(',');
              out.push_back('[');
              AppendPointTimestamp(s.histograms[j].t, &out);
              out.push_back(',');
              AppendHistogramJson(s.histograms[j].h, &out);
              out.push_back(']');
            }
            out.push_back(']');
          }
        }
        out.push_back('}');
        if (flush && out.size() >= kQueryStreamPiece && !flush(&out)) return;
      }
      out.push_back(']');
      break;
    }
    case promql::ValueType::kNone:
      out.append("null");
      break;
  }
  if (with_stats) {
    const promql::QueryStats& st = result.stats;
    out.append(",\"stats\":{\"timings\":{\"evalTotalTime\":");
    AppendSeconds(st.total_time - st.queue_time, &out);
    out.append(",\"resultSortTime\":0,\"queryPreparationTime\":");
    AppendSeconds(st.prepare_time, &out);
    out.append(",\"innerEvalTime\":");
    AppendSeconds(st.eval_time, &out);
    out.append(",\"execQueueTime\":");
    AppendSeconds(st.queue_time, &out);
    out.append(",\"execTotalTime\":");
    AppendSeconds(st.total_time, &out);
    absl::StrAppend(&out, "},\"samples\":{\"totalQueryableSamples\":", st.total_samples,
                    ",\"peakSamples\":", st.peak_samples, "}}");
  }
  out.push_back('}');
}

void WriteQuerySuccess(net::HttpResponse& response, const promql::QueryResult& result,
                       bool with_stats, const std::vector<std::string>& warnings) {
  const size_t estimate = EstimateQueryDataSize(result);
  if (estimate < kQueryStreamThreshold) {
    WriteSuccess(response, QueryDataJson(result, with_stats), warnings);
    return;
  }
  // A large answer goes out in pieces as it is written (chunked; each piece gzipped when the
  // client accepts it): the client reads while the rest is formatted and compressed, and the
  // whole text is never held (nor copied into an envelope).
  response.status = 200;
  response.SetHeader("Content-Type", "application/json");
  std::string buf;
  buf.reserve(kQueryStreamPiece + 64 * 1024);
  buf.append("{\"status\":\"success\",\"data\":");
  bool alive = true;
  auto flush = [&](std::string* piece) {
    alive = response.Write(*piece);
    piece->clear();
    return alive;
  };
  AppendQueryDataJson(result, with_stats, &buf, flush);
  if (!alive) return;  // the client went away: nothing more to send
  if (!warnings.empty()) {
    buf += ",\"warnings\":";
    buf += JsonStringArray(warnings);
  }
  buf.push_back('}');
  response.Write(buf);
}

// ---------------------------------------------------------------------------------------------
// CancelWatcher

CancelWatcher::CancelWatcher(absl::Duration interval) : interval_(interval) {}

CancelWatcher::~CancelWatcher() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

CancelWatcher::Guard::~Guard() {
  if (w_ != nullptr) w_->Remove(id_);
}

std::unique_ptr<CancelWatcher::Guard> CancelWatcher::Watch(
    std::shared_ptr<net::RequestControl> control, tsdb::QueryLimiter* limiter) {
  if (control == nullptr || limiter == nullptr) return std::make_unique<Guard>(nullptr, 0);
  absl::MutexLock lock(&mu_);
  const uint64_t id = next_id_++;
  entries_.push_back({id, std::move(control), limiter});
  if (!started_) {
    started_ = true;
    thread_ = std::thread([this] { Loop(); });
  }
  return std::make_unique<Guard>(this, id);
}

size_t CancelWatcher::watched() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

void CancelWatcher::Remove(uint64_t id) {
  absl::MutexLock lock(&mu_);
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].id == id) {
      entries_[i] = std::move(entries_.back());
      entries_.pop_back();
      return;
    }
  }
}

void CancelWatcher::Loop() {
  absl::MutexLock lock(&mu_);
  while (!stop_) {
    if (entries_.empty()) {
      // Sleep until something is watched (or stop).
      mu_.Await(absl::Condition(
          +[](CancelWatcher* w) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return w->stop_ || !w->entries_.empty();
          },
          this));
      continue;
    }
    for (const Entry& e : entries_) {
      if (e.control->Cancelled() && !e.limiter->cancelled()) e.limiter->Cancel();
    }
    mu_.AwaitWithTimeout(
        absl::Condition(+[](bool* stop) { return *stop; }, &stop_), interval_);
  }
}

}  // namespace sprout::metrics::api
