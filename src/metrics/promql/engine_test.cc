// Engine tests over an in-memory Querier: selection (lookback, staleness, offset, @), the
// operators, aggregations, label functions, subqueries, limits and concurrency. Expected values
// come from the series' construction. Range-function arithmetic is tested in kernels_test.cc and
// against Prometheus by the conformance harness.
#include "metrics/promql/engine.h"

#include <bit>
#include <cmath>
#include <set>
#include <thread>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace sprout::metrics::promql {
namespace {

using tsdb::Labels;

constexpr double kStale = std::bit_cast<double>(0x7ff0000000000002ULL);

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

// A counter-like series: value = slope * t_seconds, every `every` ms over [from, to].
std::vector<std::pair<int64_t, double>> Linear(int64_t from, int64_t to, int64_t every,
                                               double slope) {
  std::vector<std::pair<int64_t, double>> s;
  for (int64_t t = from; t <= to; t += every) s.push_back({t, slope * (t / 1000.0)});
  return s;
}

std::string Show(const QueryResult& r) {
  std::string out;
  for (const ResultSeries& s : r.series) {
    out += s.labels.ToString() + ":";
    for (const FPoint& p : s.floats) out += " " + std::to_string(p.t / 1000) + "=" + ([&] {
      std::ostringstream o;
      o << p.f;
      return o.str();
    })();
    out += "\n";
  }
  return out;
}

class EngineTest : public ::testing::Test {
 protected:
  absl::StatusOr<QueryResult> Instant(std::string_view q, int64_t t_s) {
    return engine_.InstantQuery(data_, q, t_s * 1000);
  }
  absl::StatusOr<QueryResult> Range(std::string_view q, int64_t s, int64_t e, int64_t step) {
    return engine_.RangeQuery(data_, q, s * 1000, e * 1000, step * 1000);
  }
  MemQueryable data_;
  Engine engine_;
};

TEST_F(EngineTest, InstantSelectorLookbackIsInclusiveAndStaleMarkersHide) {
  data_.Add(Labels::FromStrings({"__name__", "up", "job", "a"}), {{0, 1}, {100000, 2}});
  data_.Add(Labels::FromStrings({"__name__", "up", "job", "b"}), {{0, 5}, {60000, kStale}});
  auto r = Instant("up", 50);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->type, ValueType::kVector);
  EXPECT_EQ(Show(*r), "{__name__=\"up\", job=\"a\"}: 50=1\n{__name__=\"up\", job=\"b\"}: 50=5\n");
  // At 70 s the stale marker at 60 s hides job b.
  r = Instant("up", 70);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Show(*r), "{__name__=\"up\", job=\"a\"}: 70=1\n");
  // The last sample (100 s) is still visible exactly 5 m later, not after.
  r = Instant("up", 400);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Show(*r), "{__name__=\"up\", job=\"a\"}: 400=2\n");
  r = Instant("up", 401);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->series.size(), 0u);
}

TEST_F(EngineTest, RangeQueryStepsOffsetAndAt) {
  data_.Add(Labels::FromStrings({"__name__", "x"}), Linear(0, 600000, 10000, 1));  // x = t
  auto r = Range("x", 100, 130, 10);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->type, ValueType::kMatrix);
  EXPECT_EQ(Show(*r), "{__name__=\"x\"}: 100=100 110=110 120=120 130=130\n");
  r = Range("x offset 1m", 100, 120, 10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Show(*r), "{__name__=\"x\"}: 100=40 110=50 120=60\n");
  r = Range("x offset -1m", 100, 120, 10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Show(*r), "{__name__=\"x\"}: 100=160 110=170 120=180\n");
  r = Range("x @ 200", 100, 120, 10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Show(*r), "{__name__=\"x\"}: 100=200 110=200 120=200\n");
  r = Range("x @ end()", 100, 120, 10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Show(*r), "{__name__=\"x\"}: 100=120 110=120 120=120\n");
  r = Range("x @ start() offset 10s", 100, 120, 10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Show(*r), "{__name__=\"x\"}: 100=90 110=90 120=90\n");
  // Samples every 10 s, lookback 5 m: between samples the last one answers.
  r = Range("x", 105, 105, 10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Show(*r), "{__name__=\"x\"}: 105=100\n");
  // The querier was opened over the range the query reads: lookback before the first step.
  r = Range("x offset 1m", 1000, 2000, 10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(data_.opened_mint, (1000 - 60 - 300) * 1000);
  EXPECT_EQ(data_.opened_maxt, (2000 - 60) * 1000);
}

TEST_F(EngineTest, ScalarsAndStrings) {
  auto r = Instant("1 + 2 * 3", 10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->type, ValueType::kScalar);
  EXPECT_EQ(r->scalar.f, 7);
  EXPECT_EQ(r->scalar.t, 10000);
  r = Instant("2 ^ 3 ^ 2", 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->scalar.f, 512);
  r = Instant("1 > bool 2", 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->scalar.f, 0);
  r = Instant("time()", 42);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->scalar.f, 42);
  r = Instant("\"hello\"", 3);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->type, ValueType::kString);
  EXPECT_EQ(r->str, "hello");
  r = Range("time()", 0, 20, 10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Show(*r), "{}: 0=0 10=10 20=20\n");
}

class OpsTest : public EngineTest {
 protected:
  void SetUp() override {
    // requests: per (job, instance), constant values; limits: per job.
    data_.Add(Labels::FromStrings({"__name__", "req", "job", "a", "instance", "1"}), Const(1));
    data_.Add(Labels::FromStrings({"__name__", "req", "job", "a", "instance", "2"}), Const(2));
    data_.Add(Labels::FromStrings({"__name__", "req", "job", "b", "instance", "1"}), Const(4));
    data_.Add(Labels::FromStrings({"__name__", "lim", "job", "a"}), Const(10));
    data_.Add(Labels::FromStrings({"__name__", "lim", "job", "b"}), Const(20));
  }
  static std::vector<std::pair<int64_t, double>> Const(double v) {
    return {{0, v}, {60000, v}, {120000, v}};
  }
  std::string Q(std::string_view q) {
    auto r = Instant(q, 100);
    if (!r.ok()) return std::string(r.status().message());
    return Show(*r);
  }
};

TEST_F(OpsTest, Aggregations) {
  EXPECT_EQ(Q("sum(req)"), "{}: 100=7\n");
  EXPECT_EQ(Q("sum by (job) (req)"), "{job=\"a\"}: 100=3\n{job=\"b\"}: 100=4\n");
  EXPECT_EQ(Q("sum without (instance) (req)"), "{job=\"a\"}: 100=3\n{job=\"b\"}: 100=4\n");
  EXPECT_EQ(Q("count by (instance) (req)"), "{instance=\"1\"}: 100=2\n{instance=\"2\"}: 100=1\n");
  EXPECT_EQ(Q("max(req)"), "{}: 100=4\n");
  EXPECT_EQ(Q("min(req)"), "{}: 100=1\n");
  EXPECT_EQ(Q("avg(req)"), "{}: 100=2.33333\n");
  EXPECT_EQ(Q("group by (job) (req)"), "{job=\"a\"}: 100=1\n{job=\"b\"}: 100=1\n");
  // stdvar of {1, 2, 4}: mean 7/3, variance (16/9 + 1/9 + 25/9) / 3 = 14/9.
  EXPECT_EQ(Q("stdvar(req)"), "{}: 100=1.55556\n");
  EXPECT_EQ(Q("topk(2, req)"),
            "{__name__=\"req\", instance=\"1\", job=\"b\"}: 100=4\n"
            "{__name__=\"req\", instance=\"2\", job=\"a\"}: 100=2\n");
  EXPECT_EQ(Q("bottomk(1, req)"), "{__name__=\"req\", instance=\"1\", job=\"a\"}: 100=1\n");
  EXPECT_EQ(Q("count_values(\"v\", lim)"), "{v=\"10\"}: 100=1\n{v=\"20\"}: 100=1\n");
  EXPECT_EQ(Q("count_values(\"v\", req > bool 1)"), "{v=\"0\"}: 100=1\n{v=\"1\"}: 100=2\n");
}

TEST_F(OpsTest, VectorMatching) {
  // One-to-one drops the name; comparisons filter and keep it.
  EXPECT_EQ(Q("lim / on (job) lim"), "{job=\"a\"}: 100=1\n{job=\"b\"}: 100=1\n");
  EXPECT_EQ(Q("lim - ignoring () lim"), "{job=\"a\"}: 100=0\n{job=\"b\"}: 100=0\n");
  EXPECT_EQ(Q("req / on (job) group_left lim"),
            "{instance=\"1\", job=\"a\"}: 100=0.1\n{instance=\"1\", job=\"b\"}: 100=0.2\n"
            "{instance=\"2\", job=\"a\"}: 100=0.2\n");
  EXPECT_EQ(Q("lim / on (job) group_right req"),
            "{instance=\"1\", job=\"a\"}: 100=10\n{instance=\"1\", job=\"b\"}: 100=5\n"
            "{instance=\"2\", job=\"a\"}: 100=5\n");
  EXPECT_EQ(Q("req > 1"), "{__name__=\"req\", instance=\"1\", job=\"b\"}: 100=4\n"
                          "{__name__=\"req\", instance=\"2\", job=\"a\"}: 100=2\n");
  EXPECT_EQ(Q("req > bool 1"), "{instance=\"1\", job=\"a\"}: 100=0\n"
                               "{instance=\"1\", job=\"b\"}: 100=1\n"
                               "{instance=\"2\", job=\"a\"}: 100=1\n");
  EXPECT_EQ(Q("2 * lim"), "{job=\"a\"}: 100=20\n{job=\"b\"}: 100=40\n");
  EXPECT_EQ(Q("req and on (job) (lim > 15)"),
            "{__name__=\"req\", instance=\"1\", job=\"b\"}: 100=4\n");
  EXPECT_EQ(Q("req unless on (job) (lim > 15)"),
            "{__name__=\"req\", instance=\"1\", job=\"a\"}: 100=1\n"
            "{__name__=\"req\", instance=\"2\", job=\"a\"}: 100=2\n");
  EXPECT_EQ(Q("lim or req"), "{__name__=\"lim\", job=\"a\"}: 100=10\n"
                             "{__name__=\"lim\", job=\"b\"}: 100=20\n"
                             "{__name__=\"req\", instance=\"1\", job=\"a\"}: 100=1\n"
                             "{__name__=\"req\", instance=\"1\", job=\"b\"}: 100=4\n"
                             "{__name__=\"req\", instance=\"2\", job=\"a\"}: 100=2\n");
  // Many-to-one without group_left, and duplicates on the "one" side, are errors.
  EXPECT_EQ(Q("req / on (job) lim"),
            "multiple matches for labels: many-to-one matching must be explicit "
            "(group_left/group_right)");
  EXPECT_NE(Q("lim / on (job) group_left req").find("found duplicate series for the match group "
                                                   "{job=\"a\"} on the right hand-side"),
            std::string::npos);
  // Dropping the name makes two series equal.
  EXPECT_EQ(Q("-{__name__=~\"req|lim\", job=\"b\", instance!=\"1\"}"), "{job=\"b\"}: 100=-20\n");
  EXPECT_EQ(Q("abs({job=\"a\", instance=\"\"} or {job=\"b\", instance=\"\"})"),
            "{job=\"a\"}: 100=10\n{job=\"b\"}: 100=20\n");
  // Instant vectors keep the storage order (labels sorted: lim before req).
  EXPECT_EQ(Q("abs({__name__=~\"req|lim\", job=\"b\"}) + 0"), "{job=\"b\"}: 100=20\n"
                                                             "{instance=\"1\", job=\"b\"}: 100=4\n");
}

TEST_F(OpsTest, LabelFunctionsAndAbsent) {
  EXPECT_EQ(Q("label_replace(lim, \"dst\", \"x-$1\", \"job\", \"(.*)\")"),
            "{__name__=\"lim\", dst=\"x-a\", job=\"a\"}: 100=10\n"
            "{__name__=\"lim\", dst=\"x-b\", job=\"b\"}: 100=20\n");
  EXPECT_EQ(Q("label_replace(lim, \"job\", \"\", \"job\", \"a\")"),
            "{__name__=\"lim\"}: 100=10\n{__name__=\"lim\", job=\"b\"}: 100=20\n");
  EXPECT_EQ(Q("label_join(req{job=\"b\"}, \"j\", \"-\", \"job\", \"instance\")"),
            "{__name__=\"req\", instance=\"1\", j=\"b-1\", job=\"b\"}: 100=4\n");
  EXPECT_EQ(Q("absent(nope{job=\"x\", a=~\"y\"})"), "{job=\"x\"}: 100=1\n");
  EXPECT_EQ(Q("absent(lim)"), "");
  EXPECT_EQ(Q("vector(3)"), "{}: 100=3\n");
  auto r = Instant("scalar(lim{job=\"a\"}) * 2", 100);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->scalar.f, 20);
  r = Instant("scalar(lim)", 100);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(std::isnan(r->scalar.f));
  r = Instant("timestamp(lim)", 100);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Show(*r), "{job=\"a\"}: 100=60\n{job=\"b\"}: 100=60\n");
  EXPECT_EQ(Q("sort_desc(req)"), "{__name__=\"req\", instance=\"1\", job=\"b\"}: 100=4\n"
                                 "{__name__=\"req\", instance=\"2\", job=\"a\"}: 100=2\n"
                                 "{__name__=\"req\", instance=\"1\", job=\"a\"}: 100=1\n");
}

TEST_F(EngineTest, RangeFunctionsAndSubqueries) {
  data_.Add(Labels::FromStrings({"__name__", "x", "i", "1"}), Linear(0, 600000, 10000, 1));
  // count_over_time over [1m]: samples at 10 s steps, both ends inclusive: 7.
  auto r = Instant("count_over_time(x[1m])", 120);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Show(*r), "{i=\"1\"}: 120=7\n");
  r = Range("count_over_time(x[1m])", 0, 60, 30);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Show(*r), "{i=\"1\"}: 0=1 30=4 60=7\n");
  r = Instant("sum_over_time(x[30s] offset 1m)", 120);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Show(*r), "{i=\"1\"}: 120=180\n");  // 30+40+50+60
  // A subquery at a 20 s step over 1 m: steps 60, 80, 100, 120 for t=120.
  r = Instant("count_over_time(x[1m:20s])", 120);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Show(*r), "{i=\"1\"}: 120=4\n");
  r = Instant("sum_over_time(x[1m:20s])", 125);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Show(*r), "{i=\"1\"}: 125=300\n");  // window [65, 125]: steps 80, 100, 120
  // An instant query of a range vector answers the raw samples.
  r = Instant("x[30s]", 100);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->type, ValueType::kMatrix);
  ASSERT_EQ(r->series.size(), 1u);
  EXPECT_EQ(r->series[0].floats.size(), 4u);
  // A range query of one is refused.
  r = Range("x[30s]", 0, 10, 1);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "invalid expression type \"range vector\" for range query, must be Scalar or "
            "instant Vector");
  // absent_over_time: 1 where the window holds nothing.
  r = Range("absent_over_time(x{i=\"1\"}[1m])", 600, 700, 50);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Show(*r), "{i=\"1\"}: 700=1\n");
}

TEST_F(EngineTest, HistogramQuantileOverClassicBuckets) {
  // Cumulative buckets 1 (≤ 0.1), 3 (≤ 1), 4 (+Inf): the median's rank 2 lies in (0.1, 1],
  // halfway through that bucket's 2 observations → 0.1 + 0.9 × (2 − 1) / 2 = 0.55.
  data_.Add(Labels::FromStrings({"__name__", "h_bucket", "le", "0.1"}), {{0, 1}});
  data_.Add(Labels::FromStrings({"__name__", "h_bucket", "le", "1"}), {{0, 3}});
  data_.Add(Labels::FromStrings({"__name__", "h_bucket", "le", "+Inf"}), {{0, 4}});
  auto r = Instant("histogram_quantile(0.5, h_bucket)", 10);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Show(*r), "{}: 10=0.55\n");
  // Without the +Inf bucket there is no answer but NaN.
  r = Instant("histogram_quantile(0.5, h_bucket{le!=\"+Inf\"})", 10);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->series.size(), 1u);
  EXPECT_TRUE(std::isnan(r->series[0].floats[0].f));
}

// Later additions to the language (after 2.42): checked here since the reference cannot.
TEST_F(EngineTest, LaterAdditions) {
  data_.Add(Labels::FromStrings({"__name__", "http.server.duration", "service.name", "x"}),
            Linear(0, 60000, 10000, 1));
  data_.Add(Labels::FromStrings({"__name__", "http.server.duration", "service.name", "y"}),
            Linear(0, 60000, 10000, 2));
  auto r = Instant("{\"http.server.duration\", \"service.name\"=\"x\"}", 60);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Show(*r), "{__name__=\"http.server.duration\", \"service.name\"=\"x\"}: 60=60\n");
  r = Instant("sum by (\"service.name\") ({\"http.server.duration\"})", 60);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Show(*r), "{\"service.name\"=\"x\"}: 60=60\n{\"service.name\"=\"y\"}: 60=120\n");
  // A perfectly linear series is forecast as its last value.
  r = Instant("double_exponential_smoothing({\"http.server.duration\"}[1m], 0.5, 0.5)", 60);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Show(*r), "{\"service.name\"=\"x\"}: 60=60\n{\"service.name\"=\"y\"}: 60=120\n");
  // limitk: k series of each group, whatever their values.
  for (int i = 0; i < 6; ++i) {
    data_.Add(Labels::FromStrings({"__name__", "s", "g", i % 2 ? "odd" : "even", "i",
                                   std::to_string(i)}),
              {{0, static_cast<double>(i)}});
  }
  r = Instant("count by (g) (limitk(2, s) by (g))", 10);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Show(*r), "{g=\"even\"}: 10=2\n{g=\"odd\"}: 10=2\n");
  // limit_ratio(r) and limit_ratio(r - 1) split the series into two disjoint halves, the same
  // ones at every step.
  auto a = Instant("limit_ratio(0.5, s)", 10);
  auto b = Instant("limit_ratio(-0.5, s)", 10);
  ASSERT_TRUE(a.ok() && b.ok());
  std::set<std::string> seen;
  for (const auto* res : {&*a, &*b})
    for (const ResultSeries& x : res->series) EXPECT_TRUE(seen.insert(x.labels.ToString()).second);
  EXPECT_EQ(seen.size(), 6u);
  auto c = Range("limit_ratio(0.5, s)", 0, 60, 10);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->series.size(), a->series.size());
  for (const ResultSeries& x : c->series) EXPECT_EQ(x.floats.size(), 7u);
}

TEST_F(EngineTest, ErrorsAndLimits) {
  auto r = Instant("sum(", 0);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(r.status().message()), "1:5: parse error: unclosed left parenthesis");
  // The one later function the engine does not evaluate says so (422 `execution`).
  r = Instant("info(up)", 0);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::string(r.status().message()), "function \"info\" is not supported yet");
  // A tenant without data answers empty.
  r = Instant("up", 0);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->series.empty());
  // max_samples.
  for (int i = 0; i < 10; ++i) {
    data_.Add(Labels::FromStrings({"__name__", "m", "i", std::to_string(i)}),
              Linear(0, 600000, 10000, 1));
  }
  Engine small(EngineOptions{.max_samples = 50});
  r = small.RangeQuery(data_, "m", 0, 100000, 10000);  // 10 series × 11 steps
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().message(), kTooManySamples);
  r = small.RangeQuery(data_, "m{i=\"1\"}", 0, 100000, 10000);
  EXPECT_TRUE(r.ok());
  // Cancellation.
  tsdb::QueryLimiter lim;
  lim.Cancel();
  r = engine_.InstantQuery(data_, "m", 1000, QueryOptions{.limiter = &lim});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled);
  // A deadline in the past.
  tsdb::QueryLimiter late(0, 0, absl::Now() - absl::Seconds(1));
  r = engine_.InstantQuery(data_, "m", 1000, QueryOptions{.limiter = &late});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(EngineTest, MaxConcurrentQueriesWaitAndTimeOut) {
  data_.Add(Labels::FromStrings({"__name__", "x"}), {{0, 1}});
  Engine one(EngineOptions{.max_concurrent = 1});
  absl::Notification release;
  data_.block = &release;
  absl::StatusOr<QueryResult> first;
  std::thread t([&] { first = one.InstantQuery(data_, "x", 1000); });
  while (one.running() == 0) absl::SleepFor(absl::Milliseconds(1));
  // A second query waits for the slot and gives up at its deadline.
  tsdb::QueryLimiter lim(0, 0, absl::Now() + absl::Milliseconds(100));
  auto second = one.InstantQuery(data_, "x", 1000, QueryOptions{.limiter = &lim});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kDeadlineExceeded);
  release.Notify();
  t.join();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->series.size(), 1u);
  data_.block = nullptr;
  EXPECT_TRUE(one.InstantQuery(data_, "x", 1000).ok());
}

}  // namespace
}  // namespace sprout::metrics::promql
