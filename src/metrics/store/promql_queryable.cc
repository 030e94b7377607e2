// MetricsStore::PromQueryable: the PromQL engine's read interface (promql::Queryable / Querier /
// SeriesCursor, metrics/promql/engine.h) over MetricsStore::Querier (StoreQuerier).
//
// One Open() is one StoreQuerier: the tenant's head and the blocks overlapping [mint, maxt],
// listed once, with the read barrier held until the querier is destroyed (so every Select of
// one query sees the same data). The querier keeps every SeriesSet it handed out alive until it
// is destroyed, because the iterators the engine took from them share their warnings and must
// not outlive the StoreQuerier; Warnings() is the listing's plus every set's.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "metrics/promql/engine.h"
#include "metrics/store/store.h"

namespace sprout::metrics {
namespace {

class StoreSeriesCursor final : public promql::SeriesCursor {
 public:
  explicit StoreSeriesCursor(tsdb::SeriesSet* set) : set_(set) {}
  bool Next() override { return set_->Next(); }
  const tsdb::Labels& labels() const override { return set_->labels(); }
  std::unique_ptr<chunkenc::Iterator> TakeIterator() override { return set_->TakeIterator(); }
  absl::Status Err() const override { return set_->Err(); }

 private:
  tsdb::SeriesSet* set_;  // owned by the querier
};

class StorePromQuerier final : public promql::Querier {
 public:
  explicit StorePromQuerier(std::unique_ptr<StoreQuerier> querier)
      : querier_(std::move(querier)) {}
  ~StorePromQuerier() override {
    sets_.clear();  // before the StoreQuerier they read from
    querier_.reset();
  }

  std::unique_ptr<promql::SeriesCursor> Select(std::span<const tsdb::Matcher> matchers,
                                               const tsdb::SelectHints& hints,
                                               tsdb::QueryLimiter* limiter) override {
    sets_.push_back(querier_->Select(matchers, hints, limiter));
    return std::make_unique<StoreSeriesCursor>(sets_.back().get());
  }

  std::vector<std::string> Warnings() const override {
    std::vector<std::string> out = querier_->warnings();
    for (const auto& set : sets_) {
      for (const std::string& w : set->warnings()) out.push_back(w);
    }
    return out;
  }

 private:
  std::unique_ptr<StoreQuerier> querier_;
  std::vector<std::unique_ptr<tsdb::SeriesSet>> sets_;
};

class StorePromQueryable final : public promql::Queryable {
 public:
  StorePromQueryable(MetricsStore* store, std::string tenant)
      : store_(store), tenant_(std::move(tenant)) {}

  absl::StatusOr<std::unique_ptr<promql::Querier>> Open(int64_t mint, int64_t maxt) override {
    absl::StatusOr<std::unique_ptr<StoreQuerier>> q = store_->Querier(tenant_, mint, maxt);
    if (!q.ok()) return q.status();
    return std::make_unique<StorePromQuerier>(*std::move(q));
  }

 private:
  MetricsStore* store_;
  const std::string tenant_;
};

}  // namespace

std::unique_ptr<promql::Queryable> MetricsStore::PromQueryable(std::string_view tenant) {
  return std::make_unique<StorePromQueryable>(this, std::string(tenant));
}

}  // namespace sprout::metrics
