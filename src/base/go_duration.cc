#include "base/go_duration.h"

#include <cstdint>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace sprout {
namespace {

struct Unit {
  const char* name;
  int64_t nanos;
};
// Longest names first so that "ms" is not read as "m".
constexpr Unit kUnits[] = {{"ns", 1},           {"us", 1000},        {"\xC2\xB5s", 1000},
                           {"\xCE\xBCs", 1000}, {"ms", 1000000},     {"s", 1000000000},
                           {"m", 60000000000},  {"h", 3600000000000}};

absl::Status Invalid(std::string_view text) {
  return absl::InvalidArgumentError(absl::StrCat("time: invalid duration \"", AV(text), "\""));
}

}  // namespace

absl::StatusOr<absl::Duration> ParseGoDuration(std::string_view text) {
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return absl::ZeroDuration();
  if (s.empty()) return Invalid(text);
  long double total = 0;
  while (!s.empty()) {
    size_t i = 0;
    long double whole = 0;
    bool digits = false;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      whole = whole * 10 + (s[i] - '0');
      ++i;
      digits = true;
    }
    long double frac = 0, scale = 1;
    if (i < s.size() && s[i] == '.') {
      ++i;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        frac = frac * 10 + (s[i] - '0');
        scale *= 10;
        ++i;
        digits = true;
      }
    }
    if (!digits) return Invalid(text);
    size_t unit_end = i;
    while (unit_end < s.size() && s[unit_end] != '.' &&
           !(s[unit_end] >= '0' && s[unit_end] <= '9')) {
      ++unit_end;
    }
    std::string_view unit = s.substr(i, unit_end - i);
    if (unit.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("time: missing unit in duration \"", AV(text), "\""));
    }
    int64_t unit_nanos = 0;
    for (const Unit& u : kUnits) {
      if (unit == u.name) unit_nanos = u.nanos;
    }
    if (unit_nanos == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("time: unknown unit \"", AV(unit), "\" in duration \"", AV(text), "\""));
    }
    total += (whole + frac / scale) * unit_nanos;
    if (total > static_cast<long double>(INT64_MAX)) return Invalid(text);
    s.remove_prefix(unit_end);
  }
  const auto nanos = static_cast<int64_t>(total);
  return absl::Nanoseconds(negative ? -nanos : nanos);
}

namespace {
// Appends v / 10^prec with trailing zeros of the fraction removed ("1.5", "3").
void AppendFixed(std::string* out, uint64_t v, int prec) {
  uint64_t pow = 1;
  for (int i = 0; i < prec; ++i) pow *= 10;
  absl::StrAppend(out, v / pow);
  uint64_t frac = v % pow;
  if (frac == 0) return;
  std::string digits(prec, '0');
  for (int i = prec - 1; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + frac % 10);
    frac /= 10;
  }
  while (!digits.empty() && digits.back() == '0') digits.pop_back();
  absl::StrAppend(out, ".", digits);
}
}  // namespace

std::string FormatGoDuration(absl::Duration d) {
  int64_t nanos = absl::ToInt64Nanoseconds(d);
  if (nanos == 0) return "0s";
  std::string out;
  uint64_t u = nanos < 0 ? static_cast<uint64_t>(-(nanos + 1)) + 1 : static_cast<uint64_t>(nanos);
  if (nanos < 0) out = "-";
  if (u < 1000000000ULL) {
    if (u < 1000) {
      absl::StrAppend(&out, u, "ns");
    } else if (u < 1000000) {
      AppendFixed(&out, u, 3);
      out += "\xC2\xB5s";
    } else {
      AppendFixed(&out, u, 6);
      out += "ms";
    }
    return out;
  }
  const uint64_t hours = u / 3600000000000ULL;
  u %= 3600000000000ULL;
  const uint64_t minutes = u / 60000000000ULL;
  u %= 60000000000ULL;
  if (hours > 0) absl::StrAppend(&out, hours, "h");
  if (hours > 0 || minutes > 0) absl::StrAppend(&out, minutes, "m");
  AppendFixed(&out, u, 9);
  out += "s";
  return out;
}

}  // namespace sprout
