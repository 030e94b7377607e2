#include "base/go_format.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

namespace sprout {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string Zeros(int n) { return std::string(static_cast<size_t>(n), '0'); }

// Expected texts follow strconv's documentation: 'f' is -ddd.ddd, 'e' is -d.dddde±dd, 'g' is
// 'e' for exponents below -4 or from 6 (the shortest form's precision) and 'f' otherwise;
// precision -1 means the fewest digits that parse back to the same value.

TEST(GoFormatFloat, ShortestFixedNeverUsesAnExponent) {
  EXPECT_EQ(GoFormatFloat(0, 'f', -1), "0");
  EXPECT_EQ(GoFormatFloat(-0.0, 'f', -1), "-0");
  EXPECT_EQ(GoFormatFloat(1.5, 'f', -1), "1.5");
  EXPECT_EQ(GoFormatFloat(0.1 + 0.2, 'f', -1), "0.30000000000000004");
  EXPECT_EQ(GoFormatFloat(-2.5e-3, 'f', -1), "-0.0025");
  EXPECT_EQ(GoFormatFloat(1e-7, 'f', -1), "0.0000001");
  EXPECT_EQ(GoFormatFloat(123456789.125, 'f', -1), "123456789.125");
  // Large values: the shortest digits, then zeros; never the exact binary expansion
  // (1e23 is 99999999999999991611392 in binary).
  EXPECT_EQ(GoFormatFloat(1e21, 'f', -1), "1" + Zeros(21));
  EXPECT_EQ(GoFormatFloat(1e23, 'f', -1), "1" + Zeros(23));
  EXPECT_EQ(GoFormatFloat(-1e23, 'f', -1), "-1" + Zeros(23));
  EXPECT_EQ(GoFormatFloat(1e300, 'f', -1), "1" + Zeros(300));
  EXPECT_EQ(GoFormatFloat(1.2345678901234567e20, 'f', -1), "123456789012345670000");
  EXPECT_EQ(GoFormatFloat(std::numeric_limits<double>::max(), 'f', -1),
            "17976931348623157" + Zeros(292));
  // Small values: zeros, then the shortest digits.
  EXPECT_EQ(GoFormatFloat(5e-324, 'f', -1), "0." + Zeros(323) + "5");
  EXPECT_EQ(GoFormatFloat(kNaN, 'f', -1), "NaN");
  EXPECT_EQ(GoFormatFloat(kInf, 'f', -1), "+Inf");
  EXPECT_EQ(GoFormatFloat(-kInf, 'f', -1), "-Inf");
}

TEST(GoFormatFloat, FixedWithPrecisionRoundsTheExactValue) {
  EXPECT_EQ(GoFormatFloat(1.5, 'f', 6), "1.500000");
  EXPECT_EQ(GoFormatFloat(-0.0, 'f', 6), "-0.000000");
  EXPECT_EQ(GoFormatFloat(1e23, 'f', 6), "99999999999999991611392.000000");
  EXPECT_EQ(GoFormatFloat(0.5, 'f', 0), "0");  // exact ties go to even
  EXPECT_EQ(GoFormatFloat(1.5, 'f', 0), "2");
  EXPECT_EQ(GoFormatFloat(2.5, 'f', 0), "2");
  // The exact binary value of 1e300, digit for digit.
  EXPECT_EQ(
      GoFormatFloat(1e300, 'f', 2),
      std::string("10000000000000000525047602552044202487044685811081591549158541155118024579889081"
                  "95786371375080447864043704443832883878176942523235360430575644792184786706982848"
                  "38720092657580373783023379478809005936895323497079994508111903896764088007465274"
                  "2780142494579258788820056842838115669472196386865459400540160") +
          ".00");
  EXPECT_EQ(GoFormatFloat(kInf, 'f', 6), "+Inf");
}

TEST(GoFormatFloat, ShortestExponentHasAtLeastTwoDigits) {
  EXPECT_EQ(GoFormatFloat(0, 'e', -1), "0e+00");
  EXPECT_EQ(GoFormatFloat(1e6, 'e', -1), "1e+06");
  EXPECT_EQ(GoFormatFloat(123.456, 'e', -1), "1.23456e+02");
  EXPECT_EQ(GoFormatFloat(1.5e-7, 'e', -1), "1.5e-07");
  EXPECT_EQ(GoFormatFloat(-1e100, 'e', -1), "-1e+100");
  EXPECT_EQ(GoFormatFloat(5e-324, 'e', -1), "5e-324");
}

TEST(GoSprintV, ShortestWithExponentOutsideMinus4To5) {
  EXPECT_EQ(GoSprintV(0), "0");
  EXPECT_EQ(GoSprintV(-0.0), "-0");
  EXPECT_EQ(GoSprintV(100), "100");
  EXPECT_EQ(GoSprintV(123456), "123456");
  EXPECT_EQ(GoSprintV(1e6), "1e+06");
  EXPECT_EQ(GoSprintV(1234567), "1.234567e+06");
  EXPECT_EQ(GoSprintV(1234567.5), "1.2345675e+06");
  EXPECT_EQ(GoSprintV(0.0001), "0.0001");
  EXPECT_EQ(GoSprintV(0.00001), "1e-05");
  EXPECT_EQ(GoSprintV(1e21), "1e+21");
  EXPECT_EQ(GoSprintV(1e23), "1e+23");
  EXPECT_EQ(GoSprintV(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(GoSprintV(kInf), "+Inf");
  EXPECT_EQ(GoSprintV(-kInf), "-Inf");
  EXPECT_EQ(GoSprintV(kNaN), "NaN");
}

TEST(GoSprintF, SixDecimalsAndGoSpecials) {
  EXPECT_EQ(GoSprintF(2.5), "2.500000");
  EXPECT_EQ(GoSprintF(1e-7), "0.000000");
  EXPECT_EQ(GoSprintF(-1.0000005), "-1.000001");  // 1.0000005 is above the tie in binary
  EXPECT_EQ(GoSprintF(0.0000005), "0.000000");    // 5e-7 is below it
  EXPECT_EQ(GoSprintF(kInf), "+Inf");             // C's printf would print "inf"
  EXPECT_EQ(GoSprintF(-kInf), "-Inf");
  EXPECT_EQ(GoSprintF(kNaN), "NaN");
}

TEST(GoJsonFloat, Es6NumberForm) {
  auto json = [](double v) {
    std::string out;
    return AppendGoJsonFloat(v, &out) ? out : std::string("<refused>");
  };
  EXPECT_EQ(json(0), "0");
  EXPECT_EQ(json(-0.0), "-0");
  EXPECT_EQ(json(2.5), "2.5");
  EXPECT_EQ(json(1e20), "100000000000000000000");
  EXPECT_EQ(json(1e21), "1e+21");
  EXPECT_EQ(json(1e23), "1e+23");
  EXPECT_EQ(json(0.000001), "0.000001");
  EXPECT_EQ(json(1e-7), "1e-7");
  EXPECT_EQ(json(-1.5e-10), "-1.5e-10");
  EXPECT_EQ(json(1e-100), "1e-100");
  EXPECT_EQ(json(kNaN), "<refused>");
  EXPECT_EQ(json(kInf), "<refused>");
  std::string out = "x";
  EXPECT_FALSE(AppendGoJsonFloat(-kInf, &out));
  EXPECT_EQ(out, "x");  // nothing appended
}

TEST(PdataDoubleString, JsonFormOrTheEncodingError) {
  EXPECT_EQ(PdataDoubleString(1.5), "1.5");
  EXPECT_EQ(PdataDoubleString(3), "3");
  EXPECT_EQ(PdataDoubleString(1e21), "1e+21");
  EXPECT_EQ(PdataDoubleString(1e-7), "1e-7");
  EXPECT_EQ(PdataDoubleString(123456789.125), "123456789.125");
  EXPECT_EQ(PdataDoubleString(kNaN), "json: unsupported value: NaN");
  EXPECT_EQ(PdataDoubleString(kInf), "json: unsupported value: +Inf");
  EXPECT_EQ(PdataDoubleString(-kInf), "json: unsupported value: -Inf");
}

}  // namespace
}  // namespace sprout

namespace sprout {
namespace {

// The fixed fast path answers what the digit-by-digit layout answers, over many magnitudes.
TEST(GoFormatFloatFast, FixedShortestMatchesTheLayout) {
  uint64_t x = 0x9e3779b97f4a7c15ULL;
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  int checked = 0;
  for (int i = 0; i < 200000; ++i) {
    double v;
    switch (i % 4) {
      case 0: v = std::bit_cast<double>(next()); break;           // any bit pattern
      case 1: v = static_cast<double>(next() % 100000000) / 1000; break;  // values with few digits
      case 2: v = std::ldexp(static_cast<double>(next() >> 11), static_cast<int>(next() % 120) - 90); break;
      default: v = static_cast<double>(static_cast<int64_t>(next() % 2000000)) - 1e6; break;
    }
    if (!std::isfinite(v)) continue;
    // 'g' uses the digit layout; for exponents in [-4, 21) Go's 'f' of the same digits is what
    // the shortest 'e' digits give placed without an exponent. Compare with strtod round trip
    // and with the digits of the 'e' form.
    const std::string f = GoFormatFloat(v, 'f', -1);
    ASSERT_EQ(std::strtod(f.c_str(), nullptr), v) << f;
    const std::string e = GoFormatFloat(v, 'e', -1);
    std::string digits_e, digits_f;
    for (char c : e.substr(0, e.find('e'))) if (c >= '0' && c <= '9') digits_e.push_back(c);
    for (char c : f) if (c >= '0' && c <= '9') digits_f.push_back(c);
    auto strip = [](std::string d) {
      size_t a = d.find_first_not_of('0');
      d = a == std::string::npos ? "" : d.substr(a);
      size_t b = d.find_last_not_of('0');
      return b == std::string::npos ? std::string() : d.substr(0, b + 1);
    };
    ASSERT_EQ(strip(digits_f), strip(digits_e)) << v << ": " << f << " vs " << e;
    ++checked;
  }
  EXPECT_GT(checked, 150000);
  EXPECT_EQ(GoFormatFloat(-0.0, 'f', -1), "-0");
  EXPECT_EQ(GoFormatFloat(1e21, 'f', -1), "1000000000000000000000");
  EXPECT_EQ(GoFormatFloat(5e-324, 'f', -1).substr(0, 8), "0.000000");
  EXPECT_EQ(GoFormatFloat(0.1 + 0.2, 'f', -1), "0.30000000000000004");
}

}  // namespace
}  // namespace sprout
