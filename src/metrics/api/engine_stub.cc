// STUB (drop before merge): a stand-in for promql::Engine (metrics/promql/engine.h) so that the
// query API can be built and tested before the real engine lands. It evaluates only:
//  - a number literal → scalar, a string literal → string;
//  - a plain vector selector → per step, each series' last sample within the lookback delta
//    (stale markers end a series), through the Queryable, under the limiter and max_samples;
//  - anything else → one series without labels of value 1 at every step.
// Errors: the parser's (InvalidArgument), the limiter's, max_samples (FailedPrecondition).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "metrics/promql/engine.h"
#include "metrics/promql/parser.h"

namespace sprout::metrics::promql {
namespace {

constexpr uint64_t kStaleBits = 0x7ff0000000000002ULL;
bool IsStale(double v) {
  uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  return b == kStaleBits;
}

tsdb::Matcher::Type ToType(MatchType t) {
  switch (t) {
    case MatchType::kEqual:
      return tsdb::Matcher::Type::kEqual;
    case MatchType::kNotEqual:
      return tsdb::Matcher::Type::kNotEqual;
    case MatchType::kRegexMatch:
      return tsdb::Matcher::Type::kRegexMatch;
    case MatchType::kRegexNoMatch:
      return tsdb::Matcher::Type::kRegexNoMatch;
  }
  return tsdb::Matcher::Type::kEqual;
}

}  // namespace

Engine::Engine(EngineOptions options) : options_(options) {}
Engine::~Engine() = default;

int Engine::running() const {
  absl::MutexLock lock(&mu_);
  return running_;
}

absl::StatusOr<QueryResult> Engine::InstantQuery(Queryable& queryable, std::string_view query,
                                                 int64_t time_ms, const QueryOptions& options) {
  return Run(queryable, query, time_ms, time_ms, 0, true, options);
}

absl::StatusOr<QueryResult> Engine::RangeQuery(Queryable& queryable, std::string_view query,
                                               int64_t start_ms, int64_t end_ms, int64_t step_ms,
                                               const QueryOptions& options) {
  return Run(queryable, query, start_ms, end_ms, step_ms, false, options);
}

absl::StatusOr<QueryResult> Engine::Run(Queryable& queryable, std::string_view query,
                                        int64_t start_ms, int64_t end_ms, int64_t step_ms,
                                        bool instant, const QueryOptions& options) {
  const absl::Time begin = absl::Now();
  {
    absl::MutexLock lock(&mu_);
    ++running_;
  }
  struct Done {
    Engine* e;
    ~Done() {
      absl::MutexLock lock(&e->mu_);
      --e->running_;
    }
  } done{this};

  tsdb::QueryLimiter own(0, 0, absl::Now() + options_.timeout);
  tsdb::QueryLimiter* limiter = options.limiter != nullptr ? options.limiter : &own;
  if (absl::Status s = limiter->Check(); !s.ok()) return s;

  absl::StatusOr<ExprPtr> expr = ParseExpr(query);
  if (!expr.ok()) return expr.status();
  const Expr* e = expr->get();
  while (e->kind == NodeKind::kParen) e = e->expr.get();

  QueryResult result;
  std::vector<int64_t> steps;
  if (instant) {
    steps.push_back(start_ms);
  } else {
    for (int64_t t = start_ms; t <= end_ms; t += step_ms) steps.push_back(t);
  }
  if (e->kind == NodeKind::kNumber || e->kind == NodeKind::kString) {
    if (instant) {
      result.type = e->kind == NodeKind::kNumber ? ValueType::kScalar : ValueType::kString;
      result.scalar = {start_ms, e->number};
      result.str = e->str;
    } else {
      result.type = ValueType::kMatrix;
      ResultSeries s;
      for (int64_t t : steps) s.floats.push_back({t, e->number});
      result.series.push_back(std::move(s));
    }
  } else if (e->kind == NodeKind::kVectorSelector) {
    result.type = instant ? ValueType::kVector : ValueType::kMatrix;
    const int64_t lookback =
        options.lookback_delta_ms > 0 ? options.lookback_delta_ms : options_.lookback_delta_ms;
    std::vector<tsdb::Matcher> matchers;
    for (const LabelMatcher& m : e->matchers) {
      absl::StatusOr<tsdb::Matcher> tm = tsdb::Matcher::Create(ToType(m.type), m.name, m.value);
      if (!tm.ok()) return tm.status();
      matchers.push_back(*std::move(tm));
    }
    const int64_t mint = start_ms - lookback + 1 - e->offset_ms;
    const int64_t maxt = end_ms - e->offset_ms;
    absl::StatusOr<std::unique_ptr<Querier>> q = queryable.Open(mint, maxt);
    if (!q.ok()) return q.status();
    tsdb::SelectHints hints;
    hints.start = mint;
    hints.end = maxt;
    hints.step_ms = step_ms;
    std::unique_ptr<SeriesCursor> cursor = (*q)->Select(matchers, hints, limiter);
    int64_t held = 0;
    while (cursor->Next()) {
      if (absl::Status s = limiter->Check(); !s.ok()) return s;
      std::unique_ptr<chunkenc::Iterator> it = cursor->TakeIterator();
      std::vector<std::pair<int64_t, double>> samples;
      std::vector<std::pair<int64_t, chunkenc::FloatHistogram>> hists;
      for (chunkenc::ValueType vt = it->Next(); vt != chunkenc::ValueType::kNone;
           vt = it->Next()) {
        if (vt == chunkenc::ValueType::kFloat) {
          samples.push_back(it->At());
        } else {
          chunkenc::FloatHistogram h;
          const int64_t t = it->AtFloatHistogram(&h);
          hists.emplace_back(t, std::move(h));
        }
        if (++result.stats.total_samples % 1024 == 0) {
          if (absl::Status s = limiter->Check(); !s.ok()) return s;
        }
      }
      if (!it->Err().ok()) return it->Err();
      ResultSeries rs;
      rs.labels = cursor->labels();
      size_t fi = 0;
      size_t hi = 0;
      for (int64_t t : steps) {
        const int64_t ref = t - e->offset_ms;
        while (fi + 1 < samples.size() && samples[fi + 1].first <= ref) ++fi;
        while (hi + 1 < hists.size() && hists[hi + 1].first <= ref) ++hi;
        const bool f_ok = fi < samples.size() && samples[fi].first <= ref &&
                          samples[fi].first > ref - lookback;
        const bool h_ok = hi < hists.size() && hists[hi].first <= ref &&
                          hists[hi].first > ref - lookback;
        if (h_ok && (!f_ok || hists[hi].first > samples[fi].first)) {
          rs.histograms.push_back({t, hists[hi].second});
        } else if (f_ok && !IsStale(samples[fi].second)) {
          rs.floats.push_back({t, samples[fi].second});
        }
      }
      held += static_cast<int64_t>(rs.floats.size() + rs.histograms.size());
      if (held > options_.max_samples) return absl::FailedPreconditionError(kTooManySamples);
      result.stats.peak_samples = held;
      if (!rs.floats.empty() || !rs.histograms.empty()) result.series.push_back(std::move(rs));
    }
    if (!cursor->Err().ok()) return cursor->Err();
    std::sort(result.series.begin(), result.series.end(),
              [](const ResultSeries& a, const ResultSeries& b) { return a.labels < b.labels; });
    result.warnings = (*q)->Warnings();
  } else {
    result.type = instant ? ValueType::kVector : ValueType::kMatrix;
    ResultSeries s;
    for (int64_t t : steps) s.floats.push_back({t, 1});
    result.series.push_back(std::move(s));
  }
  result.stats.total_time = absl::Now() - begin;
  result.stats.eval_time = result.stats.total_time;
  return result;
}

}  // namespace sprout::metrics::promql
