// Tests of the PromQL kernels. Expected values are derived by hand from each input's
// construction (the derivation is in the comment), or, where marked "2.42:", are what the real
// Prometheus 2.42.0 (Debian's /usr/bin/prometheus) answered for the same input, pushed by remote
// write and queried through /api/v1/query.
#include "metrics/promql/kernels.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace sprout::metrics::promql::kernels {
namespace {

using chunkenc::BucketSpan;
using chunkenc::CounterResetHint;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A float window [start_s, end_s] (seconds) over the given (seconds, value) samples.
struct FW {
  std::vector<int64_t> t;
  std::vector<double> v;
  std::vector<int64_t> ht;
  std::vector<FloatHistogram> hv;
  Window w;
  FW(std::vector<std::pair<double, double>> samples, double start_s, double end_s,
     double eval_s = -1) {
    for (auto& [ts, val] : samples) {
      t.push_back(static_cast<int64_t>(ts * 1000));
      v.push_back(val);
    }
    w.range_start = static_cast<int64_t>(start_s * 1000);
    w.range_end = static_cast<int64_t>(end_s * 1000);
    w.range_ms = w.range_end - w.range_start;
    w.eval_ts = eval_s < 0 ? w.range_end : static_cast<int64_t>(eval_s * 1000);
    Bind();
  }
  void AddHistogram(double ts, FloatHistogram h) {
    ht.push_back(static_cast<int64_t>(ts * 1000));
    hv.push_back(std::move(h));
    Bind();
  }
  void Bind() {
    w.ft = t;
    w.fv = v;
    w.ht = ht;
    w.hv = hv;
  }
};

Out RunKernel(const char* fn, const FW& fw, std::vector<double> args = {}) {
  RangeKernel k = FindRangeKernel(fn);
  EXPECT_NE(k, nullptr) << fn;
  Out out;
  if (k != nullptr) k(fw.w, args, &out);
  return out;
}

// The float a kernel answers; NaN marks "no value" in failures (checked with HasNoValue).
double F(const char* fn, const FW& fw, std::vector<double> args = {}) {
  Out o = RunKernel(fn, fw, std::move(args));
  EXPECT_EQ(o.kind, Out::kFloat) << fn;
  return o.f;
}

bool NoValue(const char* fn, const FW& fw, std::vector<double> args = {}) {
  return RunKernel(fn, fw, std::move(args)).kind == Out::kNone;
}

// Same value, treating NaN == NaN and comparing with Prometheus's 1e-6 relative tolerance.
::testing::AssertionResult Same(double want, double got) {
  if (std::isnan(want) && std::isnan(got)) return ::testing::AssertionSuccess();
  if (want == got) return ::testing::AssertionSuccess();
  if (std::isfinite(want) && std::isfinite(got) &&
      std::fabs(want - got) <= 1e-6 * std::max(std::fabs(want), std::fabs(got))) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "want " << want << ", got " << got;
}

// ----- rate / increase / delta ---------------------------------------------------------------

TEST(RateTest, CounterRisingOnePerSecondFillsTheWindow) {
  // Counter = t - 900 sampled at 1003, 1018, 1033, 1048 s; window [1000, 1060]. The first sample
  // is 3 s from the start and the last 12 s from the end, both under 1.1 x 15 s, so the 45 s
  // between them extrapolate to the full 60 s: increase 45 * 60/45 = 60, rate 60/60 = 1.
  // 2.42: rate 0.9999999999999999, increase 60, delta 60.
  FW fw({{1003, 103}, {1018, 118}, {1033, 133}, {1048, 148}}, 1000, 1060);
  EXPECT_TRUE(Same(1, F("rate", fw)));
  EXPECT_TRUE(Same(60, F("increase", fw)));
  EXPECT_TRUE(Same(60, F("delta", fw)));
}

TEST(RateTest, CounterResetAddsThePreviousValue) {
  // 10, 20, 5, 15 at 1005..1050 step 15: raw difference 5, plus 20 for the reset = 25 over 45 s;
  // 5 s and 10 s to the ends (< 16.5) → × 60/45: 33.333; rate /60. The counter's zero point is
  // 45 × 10/25 = 18 s before the first sample, beyond the 5 s, so no clamp. delta ignores the
  // reset: 5 × 60/45. 2.42: increase 33.33333333333333, rate 0.5555555555555555.
  FW fw({{1005, 10}, {1020, 20}, {1035, 5}, {1050, 15}}, 1000, 1060);
  EXPECT_TRUE(Same(100.0 / 3, F("increase", fw)));
  EXPECT_TRUE(Same(100.0 / 3 / 60, F("rate", fw)));
  EXPECT_TRUE(Same(5.0 * 60 / 45, F("delta", fw)));
  // irate: the last two samples 5 → 15 in 15 s; idelta 10. 2.42: 0.6666666666666666, 10.
  EXPECT_TRUE(Same(10.0 / 15, F("irate", fw)));
  EXPECT_TRUE(Same(10, F("idelta", fw)));
  EXPECT_TRUE(Same(1, F("resets", fw)));
  EXPECT_TRUE(Same(3, F("changes", fw)));
}

TEST(RateTest, ZeroPointClampsExtrapolationBeforeTheThreshold) {
  // 1, 16, 31 at 1030, 1045, 1060; window [1000, 1060]. 30 s to the start is beyond 1.1 × 15,
  // but the counter's zero point is 30 × 1/30 = 1 s before the first sample; 2.42 clamps first
  // (durationToStart = 1, under the threshold): increase 30 × 31/30 = 31, rate 31/60. delta has
  // no clamp: 30 + 7.5 (half an interval) → 37.5. 2.42: 31.000000000000004, 0.5166666666666667,
  // 37.5.
  FW a({{1030, 1}, {1045, 16}, {1060, 31}}, 1000, 1060);
  EXPECT_TRUE(Same(31, F("increase", a)));
  EXPECT_TRUE(Same(31.0 / 60, F("rate", a)));
  EXPECT_TRUE(Same(37.5, F("delta", a)));
  // 10, 25, 40: zero point 30 × 10/30 = 10 s before. 2.42 (clamp, then threshold): 10 < 16.5 →
  // 30 × 40/30 = 40. (Later releases take half an interval first and would answer 37.5.)
  // 2.42: 40.
  FW b({{1030, 10}, {1045, 25}, {1060, 40}}, 1000, 1060);
  EXPECT_TRUE(Same(40, F("increase", b)));
}

TEST(RateTest, FewerThanTwoSamplesOrMixedWindowHaveNoValue) {
  FW one({{1010, 5}}, 1000, 1060);
  EXPECT_TRUE(NoValue("rate", one));
  EXPECT_TRUE(NoValue("increase", one));
  EXPECT_TRUE(NoValue("delta", one));
  EXPECT_TRUE(NoValue("irate", one));
  EXPECT_TRUE(NoValue("idelta", one));
  EXPECT_TRUE(NoValue("deriv", one));
  EXPECT_TRUE(NoValue("predict_linear", one, {10}));
  EXPECT_TRUE(NoValue("holt_winters", one, {0.5, 0.5}));
  FW none({}, 1000, 1060);
  for (const char* fn : {"rate", "changes", "resets", "avg_over_time", "sum_over_time",
                         "count_over_time", "last_over_time", "present_over_time",
                         "min_over_time", "max_over_time", "stddev_over_time",
                         "stdvar_over_time", "mad_over_time"}) {
    EXPECT_TRUE(NoValue(fn, none)) << fn;
  }
  EXPECT_TRUE(NoValue("quantile_over_time", none, {0.5}));
  FW mixed({{1010, 1}, {1020, 2}, {1030, 3}}, 1000, 1060);
  FloatHistogram h;
  h.count = 1;
  mixed.AddHistogram(1040, h);
  EXPECT_TRUE(NoValue("rate", mixed));
  EXPECT_TRUE(NoValue("increase", mixed));
  EXPECT_TRUE(NoValue("delta", mixed));
  // Functions that count samples see both kinds; last_over_time answers the latest sample.
  EXPECT_TRUE(Same(4, F("count_over_time", mixed)));
  EXPECT_TRUE(Same(1, F("present_over_time", mixed)));
  EXPECT_EQ(RunKernel("last_over_time", mixed).kind, Out::kHistogram);
}

TEST(RateTest, IrateSameTimestampAndResetUsesLastValue) {
  // irate with a reset: the last value over the interval (3 / 10 s); idelta is the difference.
  FW fw({{1010, 8}, {1020, 3}}, 1000, 1060);
  EXPECT_TRUE(Same(0.3, F("irate", fw)));
  EXPECT_TRUE(Same(-5, F("idelta", fw)));
}

// ----- deriv / predict_linear / holt_winters -------------------------------------------------

TEST(RegressionTest, DerivAndPredictLinear) {
  // y = 2t + 1 exactly (t in seconds): slope 2; predict_linear(…, 100) at eval 1060 → value at
  // 1160 = 2321.
  FW line({{1000, 2001}, {1010, 2021}, {1020, 2041}, {1030, 2061}}, 1000, 1060);
  EXPECT_TRUE(Same(2, F("deriv", line)));
  EXPECT_TRUE(Same(2321, F("predict_linear", line, {100})));
  // The intercept is taken at eval_ts (not range_end): eval 1070 with offset 10 s.
  FW off({{1000, 2001}, {1010, 2021}, {1020, 2041}, {1030, 2061}}, 1000, 1060, 1070);
  EXPECT_TRUE(Same(2 * 1170 + 1, F("predict_linear", off, {100})));
  // 10, 20, 5, 15 at x = 0, 15, 30, 45: covariance 0 → slope 0, intercept the mean 12.5.
  // 2.42: deriv 0, predict_linear(…, 100) 12.5.
  FW flat({{1005, 10}, {1020, 20}, {1035, 5}, {1050, 15}}, 1000, 1060);
  EXPECT_TRUE(Same(0, F("deriv", flat)));
  EXPECT_TRUE(Same(12.5, F("predict_linear", flat, {100})));
  // Constant values: slope 0 and the value; a constant ±Inf gives NaN. 2.42: deriv of
  // (-Inf, -Inf) NaN, of (1, Inf, 2) NaN.
  FW cst({{1000, 7}, {1010, 7}}, 1000, 1060);
  EXPECT_TRUE(Same(0, F("deriv", cst)));
  EXPECT_TRUE(Same(7, F("predict_linear", cst, {50})));
  FW ninf({{1010, -kInf}, {1020, -kInf}}, 1000, 1060);
  EXPECT_TRUE(Same(kNaN, F("deriv", ninf)));
  FW inf1({{1010, 1}, {1020, kInf}, {1030, 2}}, 1000, 1060);
  EXPECT_TRUE(Same(kNaN, F("deriv", inf1)));
}

TEST(RegressionTest, HoltWinters) {
  // 5, 1, 7, 2, 9 with sf 0.5, tf 0.3. By hand: s=5, b=-4;
  // i=1: s = .5·1 + .5·(5-4) = 1;  i=2: b = .3·(1-5) + .7·(-4) = -4,  s = 3.5 + .5·(1-4) = 2;
  // i=3: b = .3·1 + .7·(-4) = -2.5, s = 1 + .5·(2-2.5) = .75;
  // i=4: b = .3·(-1.25) + .7·(-2.5) = -2.125, s = 4.5 + .5·(.75-2.125) = 3.8125. 2.42: 3.8125.
  FW fw({{1010, 5}, {1020, 1}, {1030, 7}, {1040, 2}, {1050, 9}}, 1000, 1060);
  EXPECT_TRUE(Same(3.8125, F("holt_winters", fw, {0.5, 0.3})));
  EXPECT_TRUE(Same(3.8125, F("double_exponential_smoothing", fw, {0.5, 0.3})));
  // Out-of-range factors: no value here, an error in the engine; NaN passes (2.42: NaN).
  EXPECT_TRUE(NoValue("holt_winters", fw, {1, 0.3}));
  EXPECT_TRUE(NoValue("holt_winters", fw, {0.5, 0}));
  EXPECT_TRUE(Same(kNaN, F("holt_winters", fw, {kNaN, 0.5})));
  // 2.42's texts.
  EXPECT_EQ(HoltWintersArgsError(1, 0.3).message(),
            "invalid smoothing factor. Expected: 0 < sf < 1, got: 1.000000");
  EXPECT_EQ(HoltWintersArgsError(0.5, -0.3).message(),
            "invalid trend factor. Expected: 0 < tf < 1, got: -0.300000");
  EXPECT_EQ(HoltWintersArgsError(0.5, kInf).message(),
            "invalid trend factor. Expected: 0 < tf < 1, got: +Inf");
  EXPECT_TRUE(HoltWintersArgsError(0.5, 0.5).ok());
  EXPECT_TRUE(HoltWintersArgsError(kNaN, 0.5).ok());
}

// ----- *_over_time ---------------------------------------------------------------------------

TEST(OverTimeTest, PlainValues) {
  // 5, 1, 7, 2, 9: sum 24, mean 4.8, population variance (0.04+14.44+4.84+7.84+17.64)/5 = 8.96.
  // 2.42: 24, 4.8, 8.96, 2.9933259094191533, quantile 0.3 → 2.5999999999999996.
  FW fw({{1010, 5}, {1020, 1}, {1030, 7}, {1040, 2}, {1050, 9}}, 1000, 1060);
  EXPECT_TRUE(Same(24, F("sum_over_time", fw)));
  EXPECT_TRUE(Same(4.8, F("avg_over_time", fw)));
  EXPECT_TRUE(Same(1, F("min_over_time", fw)));
  EXPECT_TRUE(Same(9, F("max_over_time", fw)));
  EXPECT_TRUE(Same(5, F("count_over_time", fw)));
  EXPECT_TRUE(Same(8.96, F("stdvar_over_time", fw)));
  EXPECT_TRUE(Same(std::sqrt(8.96), F("stddev_over_time", fw)));
  EXPECT_TRUE(Same(9, F("last_over_time", fw)));
  EXPECT_TRUE(Same(1, F("present_over_time", fw)));
  // Sorted 1 2 5 7 9: rank 0.3 × 4 = 1.2 → 2 + 0.2 × 3 = 2.6.
  EXPECT_TRUE(Same(2.6, F("quantile_over_time", fw, {0.3})));
  EXPECT_TRUE(Same(-kInf, F("quantile_over_time", fw, {-1})));
  EXPECT_TRUE(Same(kInf, F("quantile_over_time", fw, {1.5})));
  EXPECT_TRUE(Same(kNaN, F("quantile_over_time", fw, {kNaN})));
  // mad: median 5; |dev| = 0 4 2 3 4 → median 3.
  EXPECT_TRUE(Same(3, F("mad_over_time", fw)));
  EXPECT_TRUE(Same(4, F("changes", fw)));
  EXPECT_TRUE(Same(2, F("resets", fw)));
}

TEST(OverTimeTest, InfinitiesAndNaN) {
  // 2.42 for each window (sum, avg, min, max, stddev, quantile 0.3):
  struct Case {
    std::vector<std::pair<double, double>> s;
    double sum, avg, min, max, stddev, q03;
  };
  std::vector<Case> cases = {
      {{{1010, 1}, {1020, kInf}, {1030, 2}}, kInf, kInf, 1, kInf, kNaN, 1.6},
      {{{1010, kInf}, {1020, -kInf}, {1030, 2}}, kNaN, kNaN, -kInf, kInf, kNaN, -kInf},
      {{{1010, kInf}}, kInf, kInf, kInf, kInf, kNaN, kNaN},  // Inf·0.7 + Inf·0 = NaN
      {{{1010, 1}, {1020, kNaN}, {1030, 3}}, kNaN, kNaN, 1, 3, kNaN, kNaN},
      {{{1010, -kInf}, {1020, -kInf}}, -kInf, -kInf, -kInf, -kInf, kNaN, -kInf},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(i);
    FW fw(cases[i].s, 1000, 1060);
    EXPECT_TRUE(Same(cases[i].sum, F("sum_over_time", fw)));
    EXPECT_TRUE(Same(cases[i].avg, F("avg_over_time", fw)));
    EXPECT_TRUE(Same(cases[i].min, F("min_over_time", fw)));
    EXPECT_TRUE(Same(cases[i].max, F("max_over_time", fw)));
    EXPECT_TRUE(Same(cases[i].stddev, F("stddev_over_time", fw)));
    EXPECT_TRUE(Same(cases[i].stddev, F("stdvar_over_time", fw)));
    EXPECT_TRUE(Same(cases[i].q03, F("quantile_over_time", fw, {0.3})));
  }
  // changes: NaN → NaN is no change, but 1 → NaN → 3 is two. 2.42: 2; a single sample: 0.
  FW nan1({{1010, 1}, {1020, kNaN}, {1030, 3}}, 1000, 1060);
  EXPECT_TRUE(Same(2, F("changes", nan1)));
  FW nans({{1010, kNaN}, {1020, kNaN}}, 1000, 1060);
  EXPECT_TRUE(Same(0, F("changes", nans)));
  FW single({{1010, kInf}}, 1000, 1060);
  EXPECT_TRUE(Same(0, F("changes", single)));
  EXPECT_TRUE(Same(0, F("resets", single)));
}

TEST(OverTimeTest, CompensatedSums) {
  // 1e16 + 1 + 1 - 1e16: plain left-to-right summation gives 0 (1e16 + 1 rounds back to 1e16);
  // the compensated sum recovers 2. The incremental mean loses the small terms all the same.
  // 2.42: sum 2, avg 0, stdvar 4.999999999999999e+31.
  FW fw({{1010, 1e16}, {1020, 1}, {1030, 1}, {1040, -1e16}}, 1000, 1060);
  EXPECT_EQ(2, F("sum_over_time", fw));
  EXPECT_EQ(0, F("avg_over_time", fw));
  EXPECT_TRUE(Same(4.999999999999999e+31, F("stdvar_over_time", fw)));
  // quantile_over_time of -Inf, -Inf: q 0.3 → -Inf; q 0 → -Inf·1 + -Inf·0 = NaN (2.42 alike).
  FW ninf({{1010, -kInf}, {1020, -kInf}}, 1000, 1060);
  EXPECT_EQ(-kInf, F("quantile_over_time", ninf, {0.3}));
  EXPECT_TRUE(std::isnan(F("quantile_over_time", ninf, {0})));
}

// ----- math and dates ------------------------------------------------------------------------

TEST(MathTest, Functions) {
  EXPECT_EQ(FindMathFunction("nope"), nullptr);
  EXPECT_EQ(FindRangeKernel("absent_over_time"), nullptr);
  EXPECT_EQ(FindMathFunction("sgn")(-3), -1);
  EXPECT_EQ(FindMathFunction("sgn")(0.1), 1);
  EXPECT_TRUE(std::signbit(FindMathFunction("sgn")(-0.0)));  // 2.42: sgn(-0) = -0
  EXPECT_TRUE(std::isnan(FindMathFunction("sgn")(kNaN)));
  EXPECT_DOUBLE_EQ(FindMathFunction("deg")(M_PI), 180);
  EXPECT_DOUBLE_EQ(FindMathFunction("rad")(180), M_PI);
  EXPECT_EQ(FindMathFunction("ln")(1), 0);
  EXPECT_EQ(FindMathFunction("log2")(8), 3);
  EXPECT_EQ(FindMathFunction("log10")(1000), 3);
  EXPECT_EQ(FindMathFunction("abs")(-2), 2);
  EXPECT_EQ(FindMathFunction("ceil")(1.2), 2);
  EXPECT_EQ(FindMathFunction("floor")(-1.2), -2);
  EXPECT_EQ(FindMathFunction("sqrt")(9), 3);
  EXPECT_EQ(FindMathFunction("exp")(0), 1);
  EXPECT_TRUE(std::isnan(FindMathFunction("sqrt")(-1)));
  EXPECT_EQ(FindMathFunction("ln")(0), -kInf);
  for (const char* f : {"acos", "acosh", "asin", "asinh", "atan", "atanh", "cos", "cosh", "sin",
                        "sinh", "tan", "tanh"}) {
    EXPECT_NE(FindMathFunction(f), nullptr) << f;
  }
  EXPECT_EQ(FindMathFunction("cosh")(0), 1);
  EXPECT_EQ(FindMathFunction("atanh")(1), kInf);
}

TEST(MathTest, Round) {
  // Ties go up. 2.42: round(2.5) 3 … round(-2.5) = -2, round(0.15, 0.1) = 0.2, round(2.5, 0)
  // = NaN.
  EXPECT_EQ(Round(2.5, 1), 3);
  EXPECT_EQ(Round(-2.5, 1), -2);
  EXPECT_DOUBLE_EQ(Round(0.15, 0.1), 0.2);
  EXPECT_TRUE(std::isnan(Round(2.5, 0)));
  EXPECT_EQ(Round(17, 5), 15);
  EXPECT_EQ(Round(18, 5), 20);
}

TEST(DateTest, Functions) {
  double v;
  EXPECT_FALSE(DateFunction("week", 0, &v));
  // 2024-02-29T13:45:30Z = 1709214330 (2024 is a leap year; a Thursday; day 60).
  const double t = 1709214330;
  auto at = [&](const char* f, double x) {
    double out = -1;
    EXPECT_TRUE(DateFunction(f, x, &out)) << f;
    return out;
  };
  EXPECT_EQ(at("year", t), 2024);
  EXPECT_EQ(at("month", t), 2);
  EXPECT_EQ(at("day_of_month", t), 29);
  EXPECT_EQ(at("day_of_week", t), 4);
  EXPECT_EQ(at("day_of_year", t), 60);
  EXPECT_EQ(at("days_in_month", t), 29);
  EXPECT_EQ(at("hour", t), 13);
  EXPECT_EQ(at("minute", t), 45);
  // Epoch: Thursday 1970-01-01; the second before it is 1969-12-31 23:59 (a Wednesday).
  EXPECT_EQ(at("day_of_week", 0), 4);
  EXPECT_EQ(at("year", -1), 1969);
  EXPECT_EQ(at("day_of_week", -1), 3);
  EXPECT_EQ(at("hour", -1), 23);
  EXPECT_EQ(at("days_in_month", 1677628800), 31);  // 2023-03-01
  EXPECT_EQ(at("days_in_month", 1675209600), 28);  // 2023-02-01
  EXPECT_EQ(at("days_in_month", 951782400), 29);   // 2000-02-29 (400-year leap)
  // Truncation toward zero: -1.5 s is -1 s → 1969. 2.42: year(vector(-1.5)) = 1969.
  EXPECT_EQ(at("year", -1.5), 1969);
  // 2.42: year(vector(9.2e18)) = 291536396232, year(vector(-9.2e18)) = -291536392293.
  EXPECT_EQ(at("year", 9.2e18), 291536396232.0);
  EXPECT_EQ(at("year", -9.2e18), -291536392293.0);
  // 2.42 for NaN, +Inf, -Inf alike: year 292277026596, month 12, day_of_month 4, day_of_week 0,
  // day_of_year 339, days_in_month 31, hour 15, minute 30.
  for (double x : {kNaN, kInf, -kInf, 1e300}) {
    EXPECT_EQ(at("year", x), 292277026596.0);
    EXPECT_EQ(at("month", x), 12);
    EXPECT_EQ(at("day_of_month", x), 4);
    EXPECT_EQ(at("day_of_week", x), 0);
    EXPECT_EQ(at("day_of_year", x), 339);
    EXPECT_EQ(at("days_in_month", x), 31);
    EXPECT_EQ(at("hour", x), 15);
    EXPECT_EQ(at("minute", x), 30);
  }
}

// ----- aggregation helpers -------------------------------------------------------------------

TEST(AggregationTest, Quantile) {
  std::vector<double> v = {5, 1, 7, 2, 9};
  EXPECT_TRUE(Same(5, Quantile(0.5, v)));
  EXPECT_TRUE(Same(1, Quantile(0, v)));
  EXPECT_TRUE(Same(9, Quantile(1, v)));
  EXPECT_TRUE(Same(7.8, Quantile(0.85, v)));  // rank 3.4 → 7 + 0.4 × 2
  EXPECT_EQ(Quantile(-0.1, v), -kInf);
  EXPECT_EQ(Quantile(1.1, v), kInf);
  EXPECT_TRUE(std::isnan(Quantile(kNaN, v)));
  std::vector<double> empty;
  EXPECT_TRUE(std::isnan(Quantile(0.5, empty)));
  EXPECT_TRUE(std::isnan(Quantile(-1, empty)));
  // NaN sorts first: {NaN, 1, 3}: q 1 → 3, q 0 → NaN.
  std::vector<double> n = {3, kNaN, 1};
  EXPECT_EQ(Quantile(1, n), 3);
  EXPECT_TRUE(std::isnan(Quantile(0, n)));
}

TEST(AggregationTest, KahanSum) {
  KahanSum s;
  for (double x : {1e16, 1.0, 1.0, -1e16}) s.Add(x);
  EXPECT_EQ(s.Value(), 2);
  KahanSum inf;
  inf.Add(1);
  inf.Add(kInf);
  inf.Add(2);
  EXPECT_EQ(inf.Value(), kInf);  // the bare infinite sum, not Inf + NaN
  KahanSum both;
  both.Add(kInf);
  both.Add(-kInf);
  EXPECT_TRUE(std::isnan(both.Value()));
}

TEST(AggregationTest, MeanAsTheAvgAggregation) {
  // 2.42 avg over instant vectors: {Inf} Inf, {Inf, 1} Inf, {Inf, -Inf} NaN, {1, -Inf} -Inf,
  // {NaN} NaN, {Inf, Inf, 1} Inf, {NaN, Inf} NaN.
  auto mean = [](std::vector<double> v) {
    Mean m;
    for (double x : v) m.Add(x);
    return m.Value();
  };
  EXPECT_EQ(mean({kInf}), kInf);
  EXPECT_EQ(mean({kInf, 1}), kInf);
  EXPECT_TRUE(std::isnan(mean({kInf, -kInf})));
  EXPECT_EQ(mean({1, -kInf}), -kInf);
  EXPECT_TRUE(std::isnan(mean({kNaN})));
  EXPECT_EQ(mean({kInf, kInf, 1}), kInf);
  EXPECT_TRUE(std::isnan(mean({kNaN, kInf})));
  EXPECT_TRUE(Same(4.8, mean({5, 1, 7, 2, 9})));
  // Large values do not overflow: each step divides before subtracting.
  EXPECT_TRUE(Same(1.4333333333333333e308, mean({1e308, 1.7e308, 1.6e308})));
  EXPECT_TRUE(std::isnan(Mean().Value()));
}

TEST(AggregationTest, VarianceAsTheStddevAggregation) {
  // 2.42 stddev/stdvar over instant vectors: {Inf} 0, {NaN} 0, {Inf, 1} NaN, {Inf, -Inf} NaN.
  auto var = [](std::vector<double> v) {
    Variance x;
    for (double d : v) x.Add(d);
    return x;
  };
  EXPECT_EQ(var({kInf}).Stdvar(), 0);
  EXPECT_EQ(var({kNaN}).Stddev(), 0);
  EXPECT_TRUE(std::isnan(var({kInf, 1}).Stdvar()));
  EXPECT_TRUE(std::isnan(var({kInf, -kInf}).Stddev()));
  EXPECT_TRUE(Same(8.96, var({5, 1, 7, 2, 9}).Stdvar()));
  EXPECT_TRUE(Same(std::sqrt(8.96), var({5, 1, 7, 2, 9}).Stddev()));
  EXPECT_EQ(var({3}).Stdvar(), 0);
}

double BQ(double q, std::vector<Bucket> b) { return BucketQuantile(q, b); }

TEST(AggregationTest, BucketQuantile) {
  // Each case's answer is 2.42's for the same buckets built with label_replace(vector(count),
  // "le", …) and histogram_quantile, and the derivation is given.
  // rank 2.5 of 5 in (0, 1] holding 3: 2.5/3.
  EXPECT_TRUE(Same(0.8333333333333334, BQ(0.5, {{kInf, 5}, {1, 3}})));
  // Non-monotonic counts are raised: le=2 count 2 → 3; same answer.
  EXPECT_TRUE(Same(0.8333333333333334, BQ(0.5, {{1, 3}, {2, 2}, {kInf, 5}})));
  // The rank (9 of 10) lies in the +Inf bucket: the second highest bound.
  EXPECT_EQ(BQ(0.9, {{1, 3}, {2, 4}, {kInf, 10}}), 2);
  // The first bucket's upper bound is ≤ 0: it is the answer.
  EXPECT_EQ(BQ(0.5, {{-1, 2}, {1, 4}, {kInf, 4}}), -1);
  EXPECT_EQ(BQ(0.1, {{-1, 2}, {1, 4}, {kInf, 4}}), -1);
  EXPECT_EQ(BQ(0.5, {{0.5, 2}, {1, 4}, {kInf, 4}}), 0.5);
  // No observations, no +Inf bucket, only the +Inf bucket: NaN.
  EXPECT_TRUE(std::isnan(BQ(0.5, {{1, 0}, {kInf, 0}})));
  EXPECT_TRUE(std::isnan(BQ(0.5, {{1, 3}, {2, 5}})));
  EXPECT_TRUE(std::isnan(BQ(0.5, {{kInf, 5}})));
  EXPECT_TRUE(std::isnan(BQ(0.5, {})));
  // NaN counts (2.42): NaN in the first bucket → NaN; in the middle → 2; NaN total → 2.
  EXPECT_TRUE(std::isnan(BQ(0.5, {{1, kNaN}, {2, 3}, {kInf, 4}})));
  EXPECT_EQ(BQ(0.5, {{1, 1}, {2, kNaN}, {kInf, 4}}), 2);
  EXPECT_EQ(BQ(0.5, {{1, 1}, {2, 2}, {kInf, kNaN}}), 2);
  // q 0 with an empty first bucket: 0/0 → NaN (2.42: NaN); q 1 → the highest finite bound 2.
  EXPECT_TRUE(std::isnan(BQ(0, {{1, 0}, {2, 3}, {kInf, 3}})));
  EXPECT_EQ(BQ(1, {{1, 1}, {2, 3}, {kInf, 3}}), 2);
  // q out of range.
  EXPECT_EQ(BQ(-0.5, {{1, 1}, {kInf, 2}}), -kInf);
  EXPECT_EQ(BQ(1.5, {{1, 1}, {kInf, 2}}), kInf);
  EXPECT_TRUE(std::isnan(BQ(kNaN, {{1, 1}, {kInf, 2}})));
  // Duplicate upper bounds are one bucket: (1: 1+1, +Inf: 4) → rank 2 reaches 2 at le=1 → 1.
  EXPECT_EQ(BQ(0.5, {{1, 1}, {1, 1}, {kInf, 4}}), 1);
}

}  // namespace
}  // namespace sprout::metrics::promql::kernels
