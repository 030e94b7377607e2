// MetricsStore::PromQueryable: the engine's read interface over the store (head and blocks),
// the limiter reaching the store's series sets, the empty tenant, and an engine query over it.
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "metrics/promql/engine.h"
#include "metrics/store/store.h"
#include "metrics/store/store_test_util.h"
#include "storage/fault_injection_env.h"

namespace sprout::metrics {
namespace {

using testutil::WriteBuilder;

class StorePromqlTest : public ::testing::Test {
 protected:
  MetricsStoreOptions Options() {
    MetricsStoreOptions o;
    o.config = LocalDefaults();
    o.config.tsdb_dir = "/data/tsdb";
    o.env = &env_;
    o.registry = &registry_;
    o.now_ms = [] { return int64_t{1700000000000}; };
    o.monotonic_ns = [] { return int64_t{5000000000}; };
    return o;
  }
  storage::FaultInjectionEnv env_;
  MetricsRegistry registry_;
};

std::vector<tsdb::Matcher> NameIs(std::string_view name) {
  return {tsdb::Matcher::MustCreate(tsdb::Matcher::Type::kEqual, "__name__", name)};
}

TEST_F(StorePromqlTest, SelectReadsTheTenantsSeriesInOrderUnderTheLimiter) {
  MetricsStore store(Options());
  // Before Start: Unavailable (the API's 503).
  EXPECT_EQ(store.PromQueryable("anonymous")->Open(0, 10000).status().code(),
            absl::StatusCode::kUnavailable);
  ASSERT_TRUE(store.Start().ok());
  WriteBuilder w;
  w.Series({"__name__", "up", "instance", "b"}).Sample(1000, 1).Sample(2000, 0);
  w.Series({"__name__", "up", "instance", "a"}).Sample(1000, 5);
  w.Series({"__name__", "other"}).Sample(1000, 7);
  ASSERT_TRUE(store.Push("team", w.Body()).ok());

  std::unique_ptr<promql::Queryable> qa = store.PromQueryable("team");
  auto querier = qa->Open(0, 10000);
  ASSERT_TRUE(querier.ok()) << querier.status();
  std::vector<tsdb::Matcher> m = NameIs("up");
  std::unique_ptr<promql::SeriesCursor> c = (*querier)->Select(m, {}, nullptr);
  std::vector<std::string> seen;
  std::vector<std::unique_ptr<chunkenc::Iterator>> its;
  while (c->Next()) {
    seen.push_back(c->labels().ToString());
    its.push_back(c->TakeIterator());
  }
  EXPECT_TRUE(c->Err().ok());
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], "{__name__=\"up\", instance=\"a\"}");
  EXPECT_EQ(seen[1], "{__name__=\"up\", instance=\"b\"}");
  // Iterators taken stay valid after the cursor moved on.
  ASSERT_EQ(its[1]->Next(), chunkenc::ValueType::kFloat);
  EXPECT_EQ(its[1]->At(), (std::pair<int64_t, double>{1000, 1}));
  ASSERT_EQ(its[1]->Next(), chunkenc::ValueType::kFloat);
  EXPECT_EQ(its[1]->At(), (std::pair<int64_t, double>{2000, 0}));
  EXPECT_EQ(its[1]->Next(), chunkenc::ValueType::kNone);
  its.clear();

  // The limiter reaches the store: one series allowed, the second is Mimir's error.
  tsdb::QueryLimiter limiter(1, 0);
  c = (*querier)->Select(m, {}, &limiter);
  EXPECT_TRUE(c->Next());
  EXPECT_FALSE(c->Next());
  EXPECT_EQ(c->Err().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(c->Err().message(), tsdb::QueryLimiter::MaxSeriesMessage(1));
  // A cancelled limiter stops the next Select.
  tsdb::QueryLimiter cancelled;
  cancelled.Cancel();
  c = (*querier)->Select(m, {}, &cancelled);
  EXPECT_FALSE(c->Next());
  EXPECT_EQ(c->Err().code(), absl::StatusCode::kCancelled);
  c.reset();
  querier->reset();

  // Another tenant sees nothing, and is not an error.
  auto none = store.PromQueryable("nobody")->Open(0, 10000);
  ASSERT_TRUE(none.ok());
  c = (*none)->Select(m, {}, nullptr);
  EXPECT_FALSE(c->Next());
  EXPECT_TRUE(c->Err().ok());
  EXPECT_TRUE((*none)->Warnings().empty());
}

TEST_F(StorePromqlTest, EngineInstantQueryOverTheStore) {
  MetricsStore store(Options());
  ASSERT_TRUE(store.Start().ok());
  WriteBuilder w;
  w.Series({"__name__", "up", "instance", "a"}).Sample(1000, 1).Sample(61000, 0.5);
  ASSERT_TRUE(store.Push("anonymous", w.Body()).ok());
  promql::Engine engine;
  std::unique_ptr<promql::Queryable> q = store.PromQueryable("anonymous");
  auto r = engine.InstantQuery(*q, "up", 90000);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->type, promql::ValueType::kVector);
  ASSERT_EQ(r->series.size(), 1u);
  ASSERT_EQ(r->series[0].floats.size(), 1u);
  EXPECT_EQ(r->series[0].floats[0].t, 90000);
  EXPECT_EQ(r->series[0].floats[0].f, 0.5);
  // Exactly 5 m after the last sample it is still seen (Prometheus 2.42's lookback includes
  // both ends: checked against 2.42), 1 ms later not.
  r = engine.InstantQuery(*q, "up", 61000 + 300000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->series.size(), 1u);
  r = engine.InstantQuery(*q, "up", 61000 + 300001);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->series.empty());
}

}  // namespace
}  // namespace sprout::metrics
