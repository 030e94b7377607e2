// Go's float formatting (see go_format.h). The digits come from std::to_chars; the layout rules
// are strconv's (ftoa.go's fmtE/fmtF/%g choice), written from its documentation.
#include "base/go_format.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string_view>

namespace sprout {
namespace {

// The shortest decimal digits of a finite |v|: v = 0.d[0]d[1]...d[nd-1] × 10^dp.
struct Digits {
  char d[20];
  int nd = 0;
  int dp = 0;
};

void ShortestDigits(double magnitude, Digits* digits) {
  char buf[32];  // "d.dddddddddddddddde-ddd"
  const auto result =
      std::to_chars(buf, buf + sizeof(buf), magnitude, std::chars_format::scientific);
  const std::string_view text(buf, static_cast<size_t>(result.ptr - buf));
  const size_t e = text.find('e');
  int exponent = 0;
  std::from_chars(text.data() + e + (text[e + 1] == '+' ? 2 : 1), text.data() + text.size(),
                  exponent);
  digits->nd = 0;
  for (char c : text.substr(0, e)) {
    if (c != '.') digits->d[digits->nd++] = c;
  }
  // Zero has no significant digits (Go's decimal of 0 is empty, with the point at 0).
  if (digits->nd == 1 && digits->d[0] == '0') {
    digits->nd = 0;
    digits->dp = 0;
    return;
  }
  digits->dp = exponent + 1;
}

// %f with `prec` decimals from the digits.
void LayoutF(const Digits& digits, int prec, std::string* out) {
  if (digits.dp > 0) {
    const int from_digits = std::min(digits.nd, digits.dp);
    out->append(digits.d, static_cast<size_t>(from_digits));
    out->append(static_cast<size_t>(digits.dp - from_digits), '0');
  } else {
    out->push_back('0');
  }
  if (prec > 0) {
    out->push_back('.');
    for (int i = 1; i <= prec; ++i) {
      const int j = digits.dp + i - 1;
      out->push_back(j >= 0 && j < digits.nd ? digits.d[j] : '0');
    }
  }
}

void AppendExponent(int exponent, std::string* out) {
  out->push_back('e');
  out->push_back(exponent < 0 ? '-' : '+');
  const int magnitude = std::abs(exponent);
  if (magnitude < 10) out->push_back('0');
  char buf[8];
  const auto result = std::to_chars(buf, buf + sizeof(buf), magnitude);
  out->append(buf, result.ptr);
}

// %e with `prec` digits after the first.
void LayoutE(const Digits& digits, int prec, std::string* out) {
  out->push_back(digits.nd > 0 ? digits.d[0] : '0');
  if (prec > 0) {
    out->push_back('.');
    for (int i = 1; i <= prec; ++i) out->push_back(i < digits.nd ? digits.d[i] : '0');
  }
  AppendExponent(digits.nd == 0 ? 0 : digits.dp - 1, out);
}

bool AppendSpecial(double v, std::string* out) {
  if (std::isnan(v)) {
    out->append("NaN");
    return true;
  }
  if (std::isinf(v)) {
    out->append(v > 0 ? "+Inf" : "-Inf");
    return true;
  }
  return false;
}

void AppendWithPrecision(double v, char fmt, int prec, std::string* out) {
  // Both Go and std::to_chars round the exact binary value correctly (ties to even).
  char stack[64];
  char* buf = stack;
  size_t size = sizeof(stack);
  std::string heap;
  // %f of 1e308 has 309 integer digits; precision adds to that.
  const size_t needed = static_cast<size_t>(prec) + 330;
  if (needed > size) {
    heap.resize(needed);
    buf = heap.data();
    size = needed;
  }
  const auto format = fmt == 'f' ? std::chars_format::fixed : std::chars_format::scientific;
  const auto result = std::to_chars(buf, buf + size, v, format, prec);
  out->append(buf, result.ptr);
}

}  // namespace

void AppendGoFloat(double v, char fmt, int prec, std::string* out) {
  if (AppendSpecial(v, out)) return;
  if (std::signbit(v)) out->push_back('-');
  const double magnitude = std::fabs(v);
  if (prec >= 0 && (fmt == 'f' || fmt == 'e')) {
    AppendWithPrecision(magnitude, fmt, prec, out);
    return;
  }
  if (fmt == 'f' && magnitude < 1e15) {
    // Shortest round-trip digits laid out without an exponent: below 2^53 std::to_chars's fixed
    // form picks the same digits as Go (the shortest that round-trip, the closest of those) and
    // the same layout, in one call (query answers format millions of these). Above, libstdc++
    // prints a large integral value's exact digits where Go prints the shortest ones and zeros.
    char buf[400];
    const auto result = std::to_chars(buf, buf + sizeof(buf), magnitude, std::chars_format::fixed);
    if (result.ec == std::errc()) {
      out->append(buf, result.ptr);
      return;
    }
  }
  Digits digits;
  ShortestDigits(magnitude, &digits);
  switch (fmt) {
    case 'e':
      LayoutE(digits, digits.nd - 1, out);
      return;
    case 'f':
      LayoutF(digits, std::max(digits.nd - digits.dp, 0), out);
      return;
    default: {  // 'g' (shortest only: see the header)
      const int exponent = digits.dp - 1;
      if (exponent < -4 || exponent >= 6) {
        LayoutE(digits, digits.nd - 1, out);
      } else {
        LayoutF(digits, std::max(digits.nd - digits.dp, 0), out);
      }
      return;
    }
  }
}

std::string GoFormatFloat(double v, char fmt, int prec) {
  std::string out;
  AppendGoFloat(v, fmt, prec, &out);
  return out;
}

std::string GoSprintV(double v) { return GoFormatFloat(v, 'g', -1); }

std::string GoSprintF(double v) { return GoFormatFloat(v, 'f', 6); }

bool AppendGoJsonFloat(double v, std::string* out) {
  if (!std::isfinite(v)) return false;
  const double magnitude = std::fabs(v);
  if (magnitude != 0 && (magnitude < 1e-6 || magnitude >= 1e21)) {
    const size_t start = out->size();
    AppendGoFloat(v, 'e', -1, out);
    // "e-07" → "e-7"; positive exponents keep their two digits ("1e+21").
    const size_t n = out->size() - start;
    if (n >= 4 && (*out)[out->size() - 4] == 'e' && (*out)[out->size() - 3] == '-' &&
        (*out)[out->size() - 2] == '0') {
      out->erase(out->size() - 2, 1);
    }
  } else {
    AppendGoFloat(v, 'f', -1, out);
  }
  return true;
}

void AppendPdataDouble(double v, std::string* out) {
  if (AppendGoJsonFloat(v, out)) return;
  out->append("json: unsupported value: ");
  AppendGoFloat(v, 'g', -1, out);
}

std::string PdataDoubleString(double v) {
  std::string out;
  AppendPdataDouble(v, &out);
  return out;
}

}  // namespace sprout
