// Tests of the PromQL kernels. Expected values are derived by hand from each input's
// construction (the derivation is in the comment), or, where marked "2.42:", are what the real
// Prometheus 2.42.0 (Debian's /usr/bin/prometheus) answered for the same input, pushed by remote
// write and queried through /api/v1/query.
#include "metrics/promql/kernels.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
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
  for (double x : {kNaN, kInf, -kInf, 1e300, -9223372036854775808.0}) {
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


// ----- native histograms ---------------------------------------------------------------------

using BucketMap = std::map<int32_t, double>;

// A histogram from bucket maps (index → count); count = zero count + all buckets.
FloatHistogram HB(int32_t schema, double zt, double zc, double sum, BucketMap pos,
                  BucketMap neg = {}) {
  FloatHistogram h;
  h.schema = schema;
  h.zero_threshold = zt;
  h.zero_count = zc;
  h.sum = sum;
  h.count = zc;
  auto fill = [&](const BucketMap& m, std::vector<BucketSpan>* spans, std::vector<double>* b) {
    int64_t next = 0;
    for (auto [i, c] : m) {
      if (!spans->empty() && i == next) {
        spans->back().length++;
      } else {
        spans->push_back({static_cast<int32_t>(i - next), 1});
      }
      next = i + 1;
      b->push_back(c);
      h.count += c;
    }
  };
  fill(pos, &h.positive_spans, &h.positive_buckets);
  fill(neg, &h.negative_spans, &h.negative_buckets);
  return h;
}

BucketMap Buckets(const std::vector<BucketSpan>& spans, const std::vector<double>& b) {
  BucketMap m;
  int64_t idx = 0;
  size_t k = 0;
  for (const BucketSpan& s : spans) {
    idx += s.offset;
    for (uint32_t j = 0; j < s.length; ++j) m[static_cast<int32_t>(idx++)] = b.at(k++);
  }
  EXPECT_EQ(k, b.size());
  return m;
}

::testing::AssertionResult SameBuckets(const BucketMap& want, const BucketMap& got) {
  if (want.size() != got.size()) {
    return ::testing::AssertionFailure() << "bucket count " << got.size() << " want "
                                         << want.size();
  }
  for (auto [i, c] : want) {
    auto it = got.find(i);
    if (it == got.end()) return ::testing::AssertionFailure() << "missing bucket " << i;
    auto r = Same(c, it->second);
    if (!r) return r << " (bucket " << i << ")";
  }
  return ::testing::AssertionSuccess();
}

void ExpectHistogram(const FloatHistogram& got, int32_t schema, double zt, double zc,
                     double count, double sum, BucketMap pos, BucketMap neg = {}) {
  EXPECT_EQ(got.schema, schema);
  EXPECT_TRUE(Same(zt, got.zero_threshold));
  EXPECT_TRUE(Same(zc, got.zero_count));
  EXPECT_TRUE(Same(count, got.count));
  EXPECT_TRUE(Same(sum, got.sum));
  EXPECT_TRUE(SameBuckets(pos, Buckets(got.positive_spans, got.positive_buckets)));
  EXPECT_TRUE(SameBuckets(neg, Buckets(got.negative_spans, got.negative_buckets)));
  EXPECT_TRUE(chunkenc::ValidateLayout(got).ok());
}

// The counter histogram h1: samples at 1005, 1020, 1035 (a reset), 1050; window [1000, 1060].
FW H1Window() {
  FW fw({}, 1000, 1060);
  fw.AddHistogram(1005, HB(0, 0.001, 1, 10, {{1, 1}, {2, 2}}));
  fw.AddHistogram(1020, HB(0, 0.001, 1, 20, {{1, 2}, {2, 3}, {3, 1}}));
  fw.AddHistogram(1035, HB(0, 0.001, 0, 1, {{1, 1}}));
  fw.AddHistogram(1050, HB(0, 0.001, 1, 5, {{1, 2}, {2, 1}}));
  return fw;
}

TEST(HistogramRateTest, IncreaseRateDeltaWithReset) {
  // last - first = zc 0, {1: 1, 2: -1}, count 0, sum -5; the reset at 1035 (count 7 → 1) adds
  // the 1020 histogram: zc 1, {1: 3, 2: 2, 3: 1}, count 7, sum 15; × 60/45 (5 s and 10 s to the
  // ends). 2.42 answered: count 9.333333333333332, sum 20, zero bucket 1.3333333333333333,
  // (1,2] 4, (2,4] 2.6666666666666665, (4,8] 1.3333333333333333; rate the same / 60.
  FW fw = H1Window();
  Out inc = RunKernel("increase", fw);
  ASSERT_EQ(inc.kind, Out::kHistogram);
  ExpectHistogram(inc.h, 0, 0.001, 4.0 / 3, 28.0 / 3, 20, {{1, 4}, {2, 8.0 / 3}, {3, 4.0 / 3}});
  Out rate = RunKernel("rate", fw);
  ASSERT_EQ(rate.kind, Out::kHistogram);
  ExpectHistogram(rate.h, 0, 0.001, 0.02222222222222222, 0.15555555555555553,
                  0.3333333333333333,
                  {{1, 0.06666666666666665}, {2, 0.04444444444444444}, {3, 0.02222222222222222}});
  // delta: no reset handling; the empty zero bucket and empty buckets are dropped.
  // 2.42: count 0, sum -6.666666666666666, (1,2] 1.3333333333333333, (2,4] -1.3333333333333333.
  Out delta = RunKernel("delta", fw);
  ASSERT_EQ(delta.kind, Out::kHistogram);
  ExpectHistogram(delta.h, 0, 0.001, 0, 0, -20.0 / 3, {{1, 4.0 / 3}, {2, -4.0 / 3}});
}

TEST(HistogramRateTest, SchemaChangeInsideTheWindow) {
  // Schema 1 for two samples, then schema 0: the result is at schema 0; schema-1 buckets 1 and 2
  // both fall in schema-0 bucket 1 (1, 2], bucket 3 in bucket 2. last - first = {1: 6-2, 2: 5},
  // count 9, sum 27; no reset; × 60/45. 2.42: count 12, sum 36, (1,2] 5.333333333333333,
  // (2,4] 6.666666666666666.
  FW fw({}, 1000, 1060);
  fw.AddHistogram(1005, HB(1, 0.001, 0, 3, {{1, 1}, {2, 1}}));
  fw.AddHistogram(1020, HB(1, 0.001, 0, 9, {{1, 2}, {2, 2}, {3, 1}}));
  fw.AddHistogram(1035, HB(0, 0.001, 0, 20, {{1, 5}, {2, 3}}));
  fw.AddHistogram(1050, HB(0, 0.001, 0, 30, {{1, 6}, {2, 5}}));
  Out inc = RunKernel("increase", fw);
  ASSERT_EQ(inc.kind, Out::kHistogram);
  ExpectHistogram(inc.h, 0, 0.001, 0, 12, 36, {{1, 16.0 / 3}, {2, 20.0 / 3}});
}

// Custom buckets (schema -53) with custom values `cv` and buckets by index.
FloatHistogram NHCB(std::vector<double> cv, double sum, BucketMap pos) {
  FloatHistogram h = HB(chunkenc::kCustomBucketsSchema, 0, 0, sum, std::move(pos));
  h.custom_values = std::move(cv);
  return h;
}

TEST(HistogramRateTest, CustomBoundsThatChangeInsideTheWindowAreReconciled) {
  // Bounds {1, 2, 4} then {2, 4}: shared {2, 4}. Rolled up, the first two samples are
  // {0 (<=2): 3, 1 (<=4): 1} and {0: 6, 1: 2}; the last two {0: 7, 1: 2, 2 (+Inf): 1} and
  // {0: 9, 1: 3, 2: 1}. No count went down on the shared bounds: no reset (Prometheus 3.8).
  // last - first = {0: 6, 1: 2, 2: 1}, count 9, sum 27; × 60/45.
  FW fw({}, 1000, 1060);
  fw.AddHistogram(1005, NHCB({1, 2, 4}, 3, {{0, 1}, {1, 2}, {2, 1}}));
  fw.AddHistogram(1020, NHCB({1, 2, 4}, 9, {{0, 2}, {1, 4}, {2, 2}}));
  fw.AddHistogram(1035, NHCB({2, 4}, 20, {{0, 7}, {1, 2}, {2, 1}}));
  fw.AddHistogram(1050, NHCB({2, 4}, 30, {{0, 9}, {1, 3}, {2, 1}}));
  Out inc = RunKernel("increase", fw);
  ASSERT_EQ(inc.kind, Out::kHistogram);
  ExpectHistogram(inc.h, chunkenc::kCustomBucketsSchema, 0, 0, 12, 36,
                  {{0, 8}, {1, 8.0 / 3}, {2, 4.0 / 3}});
  EXPECT_EQ(inc.h.custom_values, (std::vector<double>{2, 4}));

  // A count that goes down on the shared bounds is a reset: the sample before it is added.
  FW reset({}, 1000, 1060);
  reset.AddHistogram(1005, NHCB({1, 2}, 3, {{0, 2}, {1, 2}}));
  reset.AddHistogram(1050, NHCB({2}, 4, {{0, 1}, {1, 4}}));  // (-Inf,2]: 4 → 1
  Out r = RunKernel("increase", reset);
  ASSERT_EQ(r.kind, Out::kHistogram);
  // last - first + first = last: {0: 1, 1: 4}, count 5, sum 4; × 60/45 (5 s and 10 s out, the
  // first sample of a reset-free window is not a zero, so both ends extrapolate).
  ExpectHistogram(r.h, chunkenc::kCustomBucketsSchema, 0, 0, 20.0 / 3, 16.0 / 3,
                  {{0, 4.0 / 3}, {1, 16.0 / 3}});

  // Custom and exponential buckets in one window: no value.
  FW mixed({}, 1000, 1060);
  mixed.AddHistogram(1005, NHCB({1}, 1, {{0, 1}}));
  mixed.AddHistogram(1050, HB(0, 0, 0, 2, {{1, 2}}));
  EXPECT_EQ(RunKernel("increase", mixed).kind, Out::kNone);
}

TEST(NativeHistogramTest, CustomBucketsQuantileFractionAndStdVar) {
  // (-Inf,0]: 1, (0,1]: 2, (1,5]: 4, (5,+Inf]: 1.
  FloatHistogram h = NHCB({0, 1, 5}, 20, {{0, 1}, {1, 2}, {2, 4}, {3, 1}});
  EXPECT_EQ(HistogramQuantile(0.1, h), 0);              // the first bucket ends at 0: its bound
  EXPECT_EQ(HistogramQuantile(0.25, h), 0.5);           // rank 2: halfway through (0,1]
  EXPECT_EQ(HistogramQuantile(0.75, h), 1 + 4 * 0.75);  // rank 6: 3 of 4 into (1,5]
  EXPECT_EQ(HistogramQuantile(0.99, h), 5);             // the +Inf bucket: its lower bound
  FloatHistogram positive = NHCB({1, 5}, 5, {{0, 4}});  // (-Inf,1]: 4, read from 0
  EXPECT_EQ(HistogramQuantile(0.5, positive), 0.5);
  EXPECT_EQ(HistogramFraction(0, 0.5, positive), 0.5);
  EXPECT_EQ(HistogramFraction(-10, 0.5, h), 2.0 / 8);   // all of (-Inf,0] (at 0), half of (0,1]
  EXPECT_EQ(HistogramFraction(1, 100, h), 4.0 / 8);     // inside the +Inf bucket: nothing
  EXPECT_EQ(HistogramStdVar(h), kInf);                  // populated outer buckets
  FloatHistogram inner = NHCB({0, 1, 5}, 14, {{1, 2}, {2, 4}});
  const double mean = 14.0 / 6;
  EXPECT_DOUBLE_EQ(HistogramStdVar(inner),
                   (2 * (0.5 - mean) * (0.5 - mean) + 4 * (3 - mean) * (3 - mean)) / 6);
}

TEST(HistogramRateTest, ResetHintsAndSingleSamples) {
  // A histogram that only grows but is marked as following a reset: the previous one is added.
  FW fw({}, 1000, 1030);
  fw.AddHistogram(1000, HB(0, 0, 0, 1, {{1, 1}}));
  FloatHistogram second = HB(0, 0, 0, 3, {{1, 3}});
  second.reset_hint = CounterResetHint::kCounterReset;
  fw.AddHistogram(1030, second);
  Out inc = RunKernel("increase", fw);
  ASSERT_EQ(inc.kind, Out::kHistogram);
  // (3 - 1) + 1 = 3 over exactly the sampled 30 s (both samples on the window's ends).
  ExpectHistogram(inc.h, 0, 0, 0, 3, 3, {{1, 3}});
  // A bucket that went down without the count going down is a reset too.
  FW b({}, 1000, 1030);
  b.AddHistogram(1000, HB(0, 0, 0, 4, {{1, 2}, {2, 1}}));
  b.AddHistogram(1030, HB(0, 0, 0, 5, {{1, 1}, {2, 3}}));
  // (last - first) + first = last.
  ExpectHistogram(RunKernel("increase", b).h, 0, 0, 0, 4, 5, {{1, 1}, {2, 3}});
  FW one({}, 1000, 1030);
  one.AddHistogram(1010, HB(0, 0, 0, 1, {{1, 1}}));
  EXPECT_TRUE(NoValue("rate", one));
  EXPECT_TRUE(NoValue("increase", one));
}

TEST(HistogramRateTest, FloatFunctionsIgnoreHistograms) {
  FW fw = H1Window();
  for (const char* fn : {"irate", "idelta", "deriv", "min_over_time",
                         "max_over_time", "stddev_over_time", "stdvar_over_time",
                         "mad_over_time"}) {
    EXPECT_TRUE(NoValue(fn, fw)) << fn;
  }
  EXPECT_TRUE(NoValue("quantile_over_time", fw, {0.5}));
  EXPECT_TRUE(NoValue("predict_linear", fw, {1}));
  EXPECT_TRUE(Same(4, F("count_over_time", fw)));
  // changes / resets count histograms as later Prometheus: h1 changes at every step and resets
  // once (count 7 → 1).
  EXPECT_TRUE(Same(3, F("changes", fw)));
  EXPECT_TRUE(Same(1, F("resets", fw)));
  Out last = RunKernel("last_over_time", fw);
  ASSERT_EQ(last.kind, Out::kHistogram);
  EXPECT_EQ(last.h, fw.hv.back());
}

TEST(HistogramRateTest, ChangesAndResetsAcrossKinds) {
  // float 1 (t 1010), histogram A (1020), A again (1030), float 1 (1040), float 0 (1050),
  // histogram B smaller than A (1055), float 0 (1058): in time order the pairs are
  // f→h (change, reset), h→h identical (none), h→f (change, reset), 1→0 (change, reset),
  // f→h (change, reset), h→f (change, reset): 5 changes, 5 resets.
  FW fw({{1010, 1}, {1040, 1}, {1050, 0}, {1058, 0}}, 1000, 1060);
  FloatHistogram a = HB(0, 0, 0, 3, {{1, 2}, {2, 1}});
  fw.AddHistogram(1020, a);
  fw.AddHistogram(1030, a);
  fw.AddHistogram(1055, HB(0, 0, 0, 1, {{1, 1}}));
  EXPECT_TRUE(Same(5, F("changes", fw)));
  EXPECT_TRUE(Same(5, F("resets", fw)));
  // Histograms only: identical → no change; a different sum (NaN sums compare by their bits,
  // so NaN = NaN) or layout → change; growing buckets are no reset.
  FW h({}, 1000, 1060);
  FloatHistogram n1 = HB(0, 0, 0, kNaN, {{1, 1}});
  h.AddHistogram(1010, n1);
  h.AddHistogram(1020, n1);
  h.AddHistogram(1030, HB(0, 0, 0, kNaN, {{1, 1}, {2, 0}}));  // an empty bucket more: changed
  h.AddHistogram(1040, HB(0, 0, 0, kNaN, {{1, 1}, {2, 2}}));
  EXPECT_TRUE(Same(2, F("changes", h)));
  EXPECT_TRUE(Same(0, F("resets", h)));
}

TEST(HistogramRateTest, SumAndAvgOverTime) {
  FW fw({}, 1000, 1060);
  fw.AddHistogram(1010, HB(0, 0.5, 1, 4, {{1, 2}}));
  fw.AddHistogram(1020, HB(0, 0.5, 3, 8, {{1, 1}, {2, 2}}, {{1, 1}}));
  // Sum: zc 4, {1: 3, 2: 2}, neg {1: 1}, count 10, sum 12; mean: half of everything.
  Out sum = RunKernel("sum_over_time", fw);
  ASSERT_EQ(sum.kind, Out::kHistogram);
  ExpectHistogram(sum.h, 0, 0.5, 4, 10, 12, {{1, 3}, {2, 2}}, {{1, 1}});
  Out avg = RunKernel("avg_over_time", fw);
  ASSERT_EQ(avg.kind, Out::kHistogram);
  ExpectHistogram(avg.h, 0, 0.5, 2, 5, 6, {{1, 1.5}, {2, 1}}, {{1, 0.5}});
  // A window with floats and histograms: no value.
  fw.t.push_back(1030000);
  fw.v.push_back(1);
  fw.Bind();
  EXPECT_TRUE(NoValue("sum_over_time", fw));
  EXPECT_TRUE(NoValue("avg_over_time", fw));
}

// hq: negative bucket [-2, -1) 2, zero bucket [-0.5, 0.5] 1, (0.5, 1] 1, (1, 2] 3, (2, 4] 0,
// (4, 8] 2; count 9.
FloatHistogram HQ() { return HB(0, 0.5, 1, 12, {{0, 1}, {1, 3}, {2, 0}, {3, 2}}, {{1, 2}}); }

TEST(NativeHistogramTest, Quantile) {
  // 2.42's answers for this histogram (derivations: q 0.1 → rank 0.9 in [-2,-1) of 2: -2 + 0.45;
  // q 0.25 → rank 2.25, zero bucket from -0.5 (both sides populated): -0.5 + 0.25; q 0.9 → rank
  // 8.1 in (4, 8]: 4 + 4 × 1.1/2 = 6.2).
  FloatHistogram h = HQ();
  struct {
    double q, want;
  } cases[] = {{0, -2},
               {0.1, -1.55},
               {0.2, -1.1},
               {0.25, -0.25},
               {0.3, 0.19999999999999973},
               {0.5, 1.1666666666666667},
               {0.7, 1.7666666666666666},
               {0.9, 6.199999999999999},
               {1, 8},
               {-1, -kInf},
               {2, kInf},
               {kNaN, kNaN}};
  for (auto c : cases) EXPECT_TRUE(Same(c.want, HistogramQuantile(c.q, h))) << c.q;
  // Only positive buckets: the zero bucket starts at 0; only negative ones: it ends at 0. An
  // empty first bucket at q 0: 0/0. 2.42: hp 0 → 0, 0.2 → 0.3, 0.5 → 1.3333333333333333,
  // 0.9 → 2.8; hn 0 → -4, 0.2 → -1.9333333333333333, 0.5 → -1.3333333333333335, 0.9 → -0.15;
  // he 0 → NaN, 0.2 → 2.4, 0.5 → 3, 0.9 → 3.8.
  FloatHistogram hp = HB(0, 0.5, 2, 12, {{1, 3}, {2, 1}});
  FloatHistogram hn = HB(0, 0.5, 2, -12, {}, {{1, 3}, {2, 1}});
  FloatHistogram he = HB(0, 0, 0, 12, {{1, 0}, {2, 4}});
  EXPECT_TRUE(Same(0, HistogramQuantile(0, hp)));
  EXPECT_TRUE(Same(0.3, HistogramQuantile(0.2, hp)));
  EXPECT_TRUE(Same(1.3333333333333333, HistogramQuantile(0.5, hp)));
  EXPECT_TRUE(Same(2.8, HistogramQuantile(0.9, hp)));
  EXPECT_TRUE(Same(-4, HistogramQuantile(0, hn)));
  EXPECT_TRUE(Same(-1.9333333333333333, HistogramQuantile(0.2, hn)));
  EXPECT_TRUE(Same(-1.3333333333333335, HistogramQuantile(0.5, hn)));
  EXPECT_TRUE(Same(-0.15, HistogramQuantile(0.9, hn)));
  EXPECT_TRUE(std::isnan(HistogramQuantile(0, he)));
  EXPECT_TRUE(Same(2.4, HistogramQuantile(0.2, he)));
  EXPECT_TRUE(Same(3, HistogramQuantile(0.5, he)));
  EXPECT_TRUE(Same(3.8, HistogramQuantile(0.9, he)));
  // No observations: NaN. NaN observations (count above the buckets' total): the rank beyond
  // every bucket answers the highest bucket's upper bound.
  // An empty zero bucket is not visited: q 0 answers the first positive bucket's lower bound.
  // 2.42 (zero threshold 0.5, zero count 0, (1,2] 3): q 0 → 1, q 0.5 → 1.5,
  // histogram_fraction(-1, 1.5) → 0.5.
  FloatHistogram hz0 = HB(0, 0.5, 0, 4, {{1, 3}});
  EXPECT_EQ(HistogramQuantile(0, hz0), 1);
  EXPECT_EQ(HistogramQuantile(0.5, hz0), 1.5);
  EXPECT_EQ(HistogramFraction(-1, 1.5, hz0), 0.5);
  EXPECT_TRUE(std::isnan(HistogramQuantile(0.5, FloatHistogram{})));
  FloatHistogram nan_obs = HB(0, 0, 0, 1, {{1, 2}});
  nan_obs.count = 4;
  EXPECT_EQ(HistogramQuantile(0.9, nan_obs), 2);
}

TEST(NativeHistogramTest, Fraction) {
  // 2.42's answers for hq (e.g. (0, 1.5]: half the zero bucket 0.5 + (0.5,1] 1 + half of (1,2]
  // 1.5 = 3 of 9).
  FloatHistogram h = HQ();
  struct {
    double lo, hi, want;
  } cases[] = {{-kInf, kInf, 1},
               {-1.5, 0, 0.16666666666666666},
               {0, 1.5, 0.3333333333333333},
               {0.25, 3, 0.4722222222222222},
               {-3, -2, 0},
               {1, 1, 0},
               {2, 1, 0},
               {kNaN, 1, kNaN},
               {5, kInf, 0.16666666666666666},
               {-kInf, -1, 0.2222222222222222},
               {0.7, 100, 0.6222222222222222}};
  for (auto c : cases) EXPECT_TRUE(Same(c.want, HistogramFraction(c.lo, c.hi, h))) << c.lo;
  // One-sided histograms: the zero bucket is [0, 0.5] or [-0.5, 0]. 2.42: hp (0,1) 1/3,
  // (-1,0) 0, (0.25,0.75) 1/6; hn (0,1) 0, (-1,0) 1/3, (0.25,0.75) 0.
  FloatHistogram hp = HB(0, 0.5, 2, 12, {{1, 3}, {2, 1}});
  FloatHistogram hn = HB(0, 0.5, 2, -12, {}, {{1, 3}, {2, 1}});
  EXPECT_TRUE(Same(1.0 / 3, HistogramFraction(0, 1, hp)));
  EXPECT_TRUE(Same(0, HistogramFraction(-1, 0, hp)));
  EXPECT_TRUE(Same(1.0 / 6, HistogramFraction(0.25, 0.75, hp)));
  EXPECT_TRUE(Same(0, HistogramFraction(0, 1, hn)));
  EXPECT_TRUE(Same(1.0 / 3, HistogramFraction(-1, 0, hn)));
  EXPECT_TRUE(Same(0, HistogramFraction(0.25, 0.75, hn)));
  EXPECT_TRUE(std::isnan(HistogramFraction(0, 1, FloatHistogram{})));
}

TEST(NativeHistogramTest, StdDevAndStdVar) {
  // Observations at the buckets' geometric means: zero bucket 0 (×1), (1,2] √2 (×2); mean
  // sum/count = 3/3 = 1: variance (1 + 2(√2 - 1)²)/3 = (7 - 4√2)/3.
  FloatHistogram h = HB(0, 0.5, 1, 3, {{1, 2}});
  EXPECT_TRUE(Same((7 - 4 * std::sqrt(2.0)) / 3, HistogramStdVar(h)));
  EXPECT_TRUE(Same(std::sqrt((7 - 4 * std::sqrt(2.0)) / 3), HistogramStdDev(h)));
  // Negative bucket [-4, -2) at -√8, positive (2, 4] at √8, sum 0: variance 8.
  FloatHistogram s = HB(0, 0, 0, 0, {{2, 1}}, {{2, 1}});
  EXPECT_TRUE(Same(8, HistogramStdVar(s)));
  EXPECT_TRUE(std::isnan(HistogramStdVar(FloatHistogram{})));
}

TEST(NativeHistogramTest, AddAcrossSchemasAndZeroThresholds) {
  // hp (schema 0, zero threshold 0.5) + hs2 (schema 2, threshold 0.001): schema 0, threshold
  // 0.5; hs2's buckets 3 and 4 (1.41..2] fall in (1,2], 5 in (2,4], 9 in (4,8].
  // 2.42 sum(): count 14, sum 19, zero bucket 3, (1,2] 6, (2,4] 2, (4,8] 3.
  FloatHistogram hp = HB(0, 0.5, 2, 12, {{1, 3}, {2, 1}});
  FloatHistogram hs2 = HB(2, 0.001, 1, 7, {{3, 1}, {4, 2}, {5, 1}, {9, 3}});
  FloatHistogram a = hp;
  HistogramAdd(&a, hs2);
  HistogramCompact(&a);
  ExpectHistogram(a, 0, 0.5, 3, 14, 19, {{1, 6}, {2, 2}, {3, 3}});
  FloatHistogram b = hs2;  // the other order gives the same
  HistogramAdd(&b, hp);
  HistogramCompact(&b);
  ExpectHistogram(b, 0, 0.5, 3, 14, 19, {{1, 6}, {2, 2}, {3, 3}});
  // hz (threshold 1.5, inside hp's populated (1,2]) + hp: the threshold grows to 2 and (1,2]
  // joins the zero bucket. 2.42: count 11, sum 19, zero bucket [-2, 2] 6, (2,4] 2, (4,8] 2,
  // [-8,-4) 1.
  FloatHistogram hz = HB(0, 1.5, 1, 7, {{2, 1}, {3, 2}}, {{3, 1}});
  FloatHistogram c = hz;
  HistogramAdd(&c, hp);
  HistogramCompact(&c);
  ExpectHistogram(c, 0, 2, 6, 11, 19, {{2, 2}, {3, 2}}, {{3, 1}});
  // hz + hs2: hs2's bucket 3 (1.41, 1.68] straddles 1.5, so the threshold becomes 2^0.75 and
  // that bucket's 1 joins the zero bucket (3 = 1 + 1 + 1); 2.42 still adds it to the merged (1,2]
  // bucket (3 = 1 + 2): the count (13) is less than the buckets' total (14). 2.42: count 13,
  // sum 14, zero bucket ±1.6817928305074288 3, (1.68,2] 3, (2,4] 2, (4,8] 5, [-8,-4) 1.
  FloatHistogram d = hz;
  HistogramAdd(&d, hs2);
  HistogramCompact(&d);
  ExpectHistogram(d, 0, 1.6817928305074288, 3, 13, 14, {{1, 3}, {2, 2}, {3, 5}}, {{3, 1}});
}

TEST(NativeHistogramTest, InvalidZeroThresholdsTerminate) {
  // A NaN or infinite zero threshold is invalid input; the arithmetic must still finish.
  FloatHistogram a = HB(0, kNaN, 1, 3, {{1, 2}});
  FloatHistogram b = HB(1, 0.5, 1, 3, {{1, 2}});
  HistogramAdd(&a, b);
  FloatHistogram c = HB(0, 0.5, 1, 3, {{1, 2}});
  HistogramAdd(&c, a);
  FloatHistogram d = HB(0, kInf, 1, 3, {{1, 2}});
  HistogramAdd(&d, b);  // every bucket of b joins the infinite zero bucket; d's own stay
  EXPECT_EQ(d.zero_count, 4);
  EXPECT_EQ(d.positive_buckets, (std::vector<double>{2}));
  EXPECT_EQ(d.count, 6);
}

TEST(NativeHistogramTest, SubScaleCompact) {
  FloatHistogram a = HB(0, 0, 1, 10, {{1, 3}, {2, 1}, {5, 2}});
  FloatHistogram b = HB(0, 0, 1, 4, {{1, 1}, {2, 1}, {3, 1}}, {{1, 2}});
  HistogramSub(&a, b);
  // Not compacted: bucket 2's 0 and the zero bucket's 0 stay until Compact.
  ExpectHistogram(a, 0, 0, 0, 1, 6, {{1, 2}, {2, 0}, {3, -1}, {5, 2}}, {{1, -2}});
  HistogramCompact(&a);
  ExpectHistogram(a, 0, 0, 0, 1, 6, {{1, 2}, {3, -1}, {5, 2}}, {{1, -2}});
  EXPECT_EQ(a.positive_spans, (std::vector<BucketSpan>{{1, 1}, {1, 1}, {1, 1}}));
  HistogramScale(&a, 0.5);
  ExpectHistogram(a, 0, 0, 0, 0.5, 3, {{1, 1}, {3, -0.5}, {5, 1}}, {{1, -1}});
  // Compact joins spans that become adjacent and drops empty ones.
  FloatHistogram c;
  c.positive_spans = {{-2, 2}, {0, 1}, {3, 0}, {1, 2}};
  c.positive_buckets = {1, 0, 2, 0, 3};
  HistogramCompact(&c);
  EXPECT_EQ(c.positive_spans, (std::vector<BucketSpan>{{-2, 1}, {1, 1}, {5, 1}}));
  EXPECT_EQ(c.positive_buckets, (std::vector<double>{1, 2, 3}));
}

// ----- recorded from Prometheus 2.42 ---------------------------------------------------------

double ParseValue(const std::string& s) {
  if (s == "NaN") return kNaN;
  if (s == "+Inf") return kInf;
  if (s == "-Inf") return -kInf;
  return std::stod(s);
}

// testdata/kernels_2.42.txt, written by testdata/record_kernels.py: random counters, gauges and
// gauges with NaN/±Inf pushed to Prometheus 2.42.0 by remote write, every range function
// queried at several times and ranges. "W range_start range_end eval_time ms:value…" gives a
// window (selected with both ends inclusive); each following line is a query on it: function,
// argument ("-" for none, "a,b" for two), 2.42's answer ("none" for an empty result).
TEST(Recorded242Test, RangeFunctions) {
  std::ifstream in("src/metrics/promql/testdata/kernels_2.42.txt");
  ASSERT_TRUE(in.good()) << "run from the repository root (ctest does)";
  std::string line;
  int n = 0, failures = 0;
  FW fw({}, 0, 0);
  std::string window;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string fn, arg, want;
    ls >> fn;
    if (fn == "W") {
      window = line;
      fw.t.clear();
      fw.v.clear();
      ls >> fw.w.range_start >> fw.w.range_end >> fw.w.eval_ts;
      fw.w.range_ms = fw.w.range_end - fw.w.range_start;
      std::string sample;
      while (ls >> sample) {
        size_t colon = sample.find(':');
        fw.t.push_back(std::stoll(sample.substr(0, colon)));
        fw.v.push_back(ParseValue(sample.substr(colon + 1)));
      }
      fw.Bind();
      continue;
    }
    ls >> arg >> want;
    std::vector<double> args;
    if (arg != "-") {
      std::istringstream as(arg);
      std::string a;
      while (std::getline(as, a, ',')) args.push_back(ParseValue(a));
    }
    Out out = RunKernel(fn.c_str(), fw, args);
    ++n;
    bool ok = want == "none" ? out.kind == Out::kNone
                             : out.kind == Out::kFloat && Same(ParseValue(want), out.f);
    if (!ok && ++failures <= 20) {
      ADD_FAILURE() << line << "\n  got " << (out.kind == Out::kNone ? "none" : "")
                    << (out.kind == Out::kFloat ? std::to_string(out.f) : "") << "\n  "
                    << window;
    }
  }
  EXPECT_GT(n, 6000);
  EXPECT_EQ(failures, 0);
}

// testdata/histograms_2.42.txt, written by testdata/record_kernels.py: random native-histogram
// counters (observations added step by step, occasional resets and resolution drops, zero
// thresholds 0.001, 0.5 or 1e-128) pushed to Prometheus 2.42.0 (--enable-feature=
// native-histograms). Windows as above, samples as ms:schema:zero threshold:zero count:count:
// sum:positive buckets (index=count;…, "." for none):negative buckets. For rate, increase and
// delta, 2.42 answered histogram_count, histogram_sum, histogram_quantile(0.05/0.5/0.9) and
// histogram_fraction(0, 2) / (-1, 0.7) (those results are compacted, so their bucket layout is
// canonical). The raw samples are not compared: 2.42's chunks give every histogram of a chunk
// the chunk's bucket layout, with empty buckets, and the zero-bucket rule of
// histogram_quantile/fraction looks at whether a side has buckets at all, so the answer depends
// on a storage layout this file does not record.
TEST(Recorded242Test, NativeHistograms) {
  std::ifstream in("src/metrics/promql/testdata/histograms_2.42.txt");
  ASSERT_TRUE(in.good()) << "run from the repository root (ctest does)";
  auto split = [](const std::string& s, char sep) {
    std::vector<std::string> parts;
    std::istringstream is(s);
    std::string p;
    while (std::getline(is, p, sep)) parts.push_back(p);
    return parts;
  };
  auto buckets = [&](const std::string& s) {
    BucketMap m;
    if (s == ".") return m;
    for (const std::string& b : split(s, ';')) {
      size_t eq = b.find('=');
      m[std::stoi(b.substr(0, eq))] = std::stod(b.substr(eq + 1));
    }
    return m;
  };
  std::string line, window;
  int n = 0, failures = 0;
  FW fw({}, 0, 0);
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string fn, post, want;
    ls >> fn;
    if (fn == "W") {
      window = line;
      fw.ht.clear();
      fw.hv.clear();
      ls >> fw.w.range_start >> fw.w.range_end >> fw.w.eval_ts;
      fw.w.range_ms = fw.w.range_end - fw.w.range_start;
      std::string sample;
      while (ls >> sample) {
        std::vector<std::string> f = split(sample, ':');
        ASSERT_EQ(f.size(), 8u) << sample;
        FloatHistogram h = HB(std::stoi(f[1]), std::stod(f[2]), std::stod(f[3]),
                              std::stod(f[5]), buckets(f[6]), buckets(f[7]));
        EXPECT_EQ(h.count, std::stod(f[4]));
        fw.ht.push_back(std::stoll(f[0]));
        fw.hv.push_back(std::move(h));
      }
      fw.Bind();
      continue;
    }
    ls >> post >> want;
    ++n;
    Out out = RunKernel(fn.c_str(), fw);
    bool ok;
    double got = kNaN;
    if (want == "none") {
      ok = out.kind == Out::kNone;
    } else if (out.kind != Out::kHistogram) {
      ok = false;
    } else {
      const FloatHistogram& h = out.h;
      if (post == "count") {
        got = h.count;
      } else if (post == "sum") {
        got = h.sum;
      } else if (post[0] == 'q') {
        got = HistogramQuantile(std::stod(post.substr(1)), h);
      } else {
        size_t colon = post.find(':');
        got = HistogramFraction(std::stod(post.substr(1, colon - 1)),
                                std::stod(post.substr(colon + 1)), h);
      }
      ok = Same(ParseValue(want), got);
    }
    if (!ok && ++failures <= 20) {
      ADD_FAILURE() << line << "\n  got " << got << "\n  " << window.substr(0, 400);
    }
  }
  EXPECT_GT(n, 1500);
  EXPECT_EQ(failures, 0);
}

// testdata/instant_2.42.txt, written by testdata/record_kernels.py from Prometheus 2.42.0 on
// literal vectors: "F fn x answer" (math and date functions of vector(x)), "R x to answer"
// (round), "A agg param answer values…" (avg/stddev/stdvar/quantile over label_replace'd
// vector() literals, in that order), "B q answer le=count…" (histogram_quantile over classic
// buckets, in any order, sometimes non-monotonic, NaN or without +Inf).
TEST(Recorded242Test, InstantFunctionsAndAggregations) {
  std::ifstream in("src/metrics/promql/testdata/instant_2.42.txt");
  ASSERT_TRUE(in.good()) << "run from the repository root (ctest does)";
  std::string line;
  int n = 0, failures = 0;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string kind, a, b, want;
    ls >> kind;
    double got = kNaN;
    if (kind == "F") {
      ls >> a >> b >> want;
      double x = ParseValue(b);
      if (MathFn fn = FindMathFunction(a); fn != nullptr) {
        got = fn(x);
      } else {
        ASSERT_TRUE(DateFunction(a, x, &got)) << line;
      }
    } else if (kind == "R") {
      ls >> a >> b >> want;
      got = Round(ParseValue(a), ParseValue(b));
    } else if (kind == "A") {
      ls >> a >> b >> want;
      std::vector<double> vals;
      std::string v;
      while (ls >> v) vals.push_back(ParseValue(v));
      if (a == "sum") {
        PlainSum sum;
        for (double x : vals) sum.Add(x);
        got = sum.Value();
      } else if (a == "avg") {
        Mean m;
        for (double x : vals) m.Add(x);
        got = m.Value();
      } else if (a == "stddev" || a == "stdvar") {
        Variance var;
        for (double x : vals) var.Add(x);
        got = a == "stddev" ? var.Stddev() : var.Stdvar();
      } else {
        got = Quantile(ParseValue(b), vals);
      }
    } else if (kind == "B") {
      ls >> a >> want;
      std::vector<Bucket> buckets;
      std::string bk;
      while (ls >> bk) {
        size_t eq = bk.find('=');
        buckets.push_back({ParseValue(bk.substr(0, eq)), ParseValue(bk.substr(eq + 1))});
      }
      got = BucketQuantile(ParseValue(a), buckets);
    } else {
      FAIL() << line;
    }
    ++n;
    // Exact for ±0 too (sgn(-0) = -0, round keeps the sign), else within 1e-6.
    double w = ParseValue(want);
    bool ok = Same(w, got) && (w != 0 || std::signbit(w) == std::signbit(got));
    if (!ok && ++failures <= 20) ADD_FAILURE() << line << "\n  got " << got;
  }
  EXPECT_GT(n, 2000);
  EXPECT_EQ(failures, 0);
}

}  // namespace
}  // namespace sprout::metrics::promql::kernels

namespace sprout::metrics::promql::kernels {
namespace {

// The O(1) path (a caller-kept prefix of reset corrections) answers what the walk answers.
TEST(KernelsResetPrefix, RateWithPrefixEqualsTheWalk) {
  const std::vector<int64_t> t = {1000, 16000, 31000, 46000, 61000, 76000};
  const std::vector<double> v = {5, 9, 2, 8, 8, 1};  // resets at 2 (after 9) and 1 (after 8)
  std::vector<double> corr;
  double sum = 100;  // an arbitrary running total from before the window
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0 && v[i] < v[i - 1]) sum += v[i - 1];
    corr.push_back(sum);
  }
  for (const char* name : {"rate", "increase"}) {
    RangeKernel k = FindRangeKernel(name);
    ASSERT_NE(k, nullptr);
    for (size_t from = 0; from + 2 <= v.size(); ++from) {
      Window w;
      w.ft = std::span<const int64_t>(t).subspan(from);
      w.fv = std::span<const double>(v).subspan(from);
      w.range_start = t[from] - 7000;
      w.range_end = 80000;
      w.range_ms = w.range_end - w.range_start;
      Out walked, prefixed;
      k(w, {}, &walked);
      w.fcorr = std::span<const double>(corr).subspan(from);
      k(w, {}, &prefixed);
      ASSERT_EQ(walked.kind, Out::kFloat);
      ASSERT_EQ(prefixed.kind, Out::kFloat);
      EXPECT_DOUBLE_EQ(prefixed.f, walked.f) << name << " from " << from;
    }
  }
}

}  // namespace
}  // namespace sprout::metrics::promql::kernels
