// An in-memory promql::Queryable for the engine's tests and fuzzer: float series held in vectors,
// selected with the index's matchers, in label order. Optionally blocks in Open (concurrency
// tests). Not thread-safe beyond that.
#pragma once

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"
#include "metrics/promql/engine.h"

namespace sprout::metrics::promql::testutil {

using tsdb::Labels;

struct MemSeries {
  Labels labels;
  std::vector<std::pair<int64_t, double>> samples;
};

class VecIterator final : public chunkenc::Iterator {
 public:
  explicit VecIterator(const std::vector<std::pair<int64_t, double>>* s) : s_(s) {}
  chunkenc::ValueType Next() override {
    ++i_;
    return i_ < s_->size() ? chunkenc::ValueType::kFloat : chunkenc::ValueType::kNone;
  }
  chunkenc::ValueType Seek(int64_t t) override {
    if (i_ == SIZE_MAX) i_ = 0;
    while (i_ < s_->size() && (*s_)[i_].first < t) ++i_;
    return i_ < s_->size() ? chunkenc::ValueType::kFloat : chunkenc::ValueType::kNone;
  }
  std::pair<int64_t, double> At() const override { return (*s_)[i_]; }
  int64_t AtT() const override { return (*s_)[i_].first; }
  const absl::Status& Err() const override { return ok_; }

 private:
  const std::vector<std::pair<int64_t, double>>* s_;
  size_t i_ = SIZE_MAX;
  absl::Status ok_;
};

class MemCursor final : public SeriesCursor {
 public:
  explicit MemCursor(std::vector<const MemSeries*> s) : s_(std::move(s)) {}
  bool Next() override { return ++i_ < s_.size(); }
  const Labels& labels() const override { return s_[i_]->labels; }
  std::unique_ptr<chunkenc::Iterator> TakeIterator() override {
    return std::make_unique<VecIterator>(&s_[i_]->samples);
  }
  absl::Status Err() const override { return absl::OkStatus(); }

 private:
  std::vector<const MemSeries*> s_;
  size_t i_ = SIZE_MAX;
};

class MemQueryable final : public Queryable, public Querier {
 public:
  void Add(Labels l, std::vector<std::pair<int64_t, double>> samples) {
    series_.push_back({std::move(l), std::move(samples)});
    std::sort(series_.begin(), series_.end(),
              [](const MemSeries& a, const MemSeries& b) { return a.labels < b.labels; });
  }
  absl::StatusOr<std::unique_ptr<Querier>> Open(int64_t mint, int64_t maxt) override {
    opened_mint = mint;
    opened_maxt = maxt;
    if (block != nullptr) block->WaitForNotification();
    struct Ref final : Querier {
      MemQueryable* q;
      std::unique_ptr<SeriesCursor> Select(std::span<const tsdb::Matcher> ms,
                                           const tsdb::SelectHints& h,
                                           tsdb::QueryLimiter* l) override {
        return q->Select(ms, h, l);
      }
    };
    auto r = std::make_unique<Ref>();
    r->q = this;
    return r;
  }
  std::unique_ptr<SeriesCursor> Select(std::span<const tsdb::Matcher> ms,
                                       const tsdb::SelectHints&, tsdb::QueryLimiter*) override {
    std::vector<const MemSeries*> out;
    for (const MemSeries& s : series_) {
      bool ok = true;
      for (const tsdb::Matcher& m : ms) ok &= m.Matches(s.labels.Get(m.name()));
      if (ok) out.push_back(&s);
    }
    ++selects;
    return std::make_unique<MemCursor>(std::move(out));
  }
  int64_t opened_mint = 0, opened_maxt = 0;
  int selects = 0;
  absl::Notification* block = nullptr;

 private:
  std::vector<MemSeries> series_;
};

}  // namespace sprout::metrics::promql::testutil
