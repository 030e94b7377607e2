// Time and duration converters (collector.md §7.8): Duration, Time (strptime-like formats,
// locations), Now, Unix*, and durations as numbers.
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/go_duration.h"
#include "ottl/funcs_internal.h"
#include "ottl/lexer.h"

namespace sprout::ottl::funcs {
namespace {

absl::StatusOr<Value> Duration(const FunctionCall& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, StringArg(c, 0, ctx));
  ASSIGN_OR_RETURN(absl::Duration d, ParseGoDuration(v.s));
  return Value::Duration(absl::ToInt64Nanoseconds(d));
}

absl::StatusOr<Value> Now(const FunctionCall&, const EvalContext&) {
  return Value::Time(absl::GetCurrentTimeNanos());
}

template <int64_t kDivisor>
absl::StatusOr<Value> UnixAs(const FunctionCall& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(int64_t t, TimeArg(c, 0, ctx));
  // Go's Unix*/UnixNano truncate toward minus infinity for seconds; keep it simple: floor.
  int64_t q = t / kDivisor;
  if (t % kDivisor < 0) --q;
  return Value::Int(q);
}

absl::StatusOr<Value> Unix(const FunctionCall& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(int64_t seconds, IntArg(c, 0, ctx));
  int64_t nanos = 0;
  if (c.has(1)) {
    ASSIGN_OR_RETURN(nanos, IntArg(c, 1, ctx));
  }
  return Value::Time(absl::ToUnixNanos(absl::FromUnixSeconds(seconds) + absl::Nanoseconds(nanos)));
}

template <int kUnit>  // 0 ns, 1 µs, 2 ms (int64); 3 s, 4 min, 5 h (float64)
absl::StatusOr<Value> DurationAs(const FunctionCall& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(int64_t d, DurationArg(c, 0, ctx));
  switch (kUnit) {
    case 0:
      return Value::Int(d);
    case 1:
      return Value::Int(d / 1000);
    case 2:
      return Value::Int(d / 1000000);
    case 3:
      return Value::Double(static_cast<double>(d) / 1e9);
    case 4:
      return Value::Double(static_cast<double>(d) / 60e9);
    default:
      return Value::Double(static_cast<double>(d) / 3600e9);
  }
}

// Time(time, format[, location[, locale]]): `format` uses the Collector's strptime-like
// directives (see README.md); the text is read in `location` (default UTC) unless it carries an
// offset. Locales other than English month/day names are not supported.
constexpr std::string_view kMonths[] = {"january",   "february", "march",    "april",
                                        "may",       "june",     "july",     "august",
                                        "september", "october",  "november", "december"};
constexpr std::string_view kDays[] = {"sunday",   "monday", "tuesday", "wednesday",
                                      "thursday", "friday", "saturday"};

// Expands the composite directives into simple ones.
std::string ExpandFormat(std::string_view format) {
  std::string out;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%' || i + 1 >= format.size()) {
      out.push_back(format[i]);
      continue;
    }
    const char d = format[++i];
    switch (d) {
      case 'D':
        out.append("%m/%d/%Y");
        break;
      case 'x':
        out.append("%m/%d/%y");
        break;
      case 'F':
        out.append("%Y-%m-%d");
        break;
      case 'T':
      case 'X':
        out.append("%H:%M:%S");
        break;
      case 'R':
        out.append("%H:%M");
        break;
      case 'r':
        out.append("%I:%M:%S %p");
        break;
      case 'c':
        out.append("%a %b %d %H:%M:%S %Y");
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 't':
        out.push_back('\t');
        break;
      default:
        out.push_back('%');
        out.push_back(d);
    }
  }
  return out;
}

absl::Status SetupTime(FunctionCall& c) {
  const std::string_view format = c.lit(1);
  if (format.empty()) return absl::InvalidArgumentError("format cannot be nil");
  c.format = ExpandFormat(format);
  static constexpr std::string_view kSupported = "YymoqbhBdegaAHlIpPMSLfsZzwijk%";
  for (size_t i = 0; i < c.format.size(); ++i) {
    if (c.format[i] != '%') continue;
    if (i + 1 >= c.format.size() || kSupported.find(c.format[i + 1]) == std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("unsupported ctimefmt.ToNative() directive: %",
                       i + 1 < c.format.size() ? std::string(1, c.format[i + 1]) : std::string()));
    }
    ++i;
  }
  const std::string_view location = c.lit(2);
  if (!location.empty() && !absl::LoadTimeZone(AV(location), &c.zone)) {
    return absl::InvalidArgumentError(absl::StrCat("unknown time zone ", AV(location)));
  }
  return absl::OkStatus();
}

struct TimeParser {
  std::string_view in;
  size_t pos = 0;

  bool Number(int min_digits, int max_digits, int* out) {
    int n = 0, v = 0;
    while (n < max_digits && pos < in.size() && in[pos] >= '0' && in[pos] <= '9') {
      v = v * 10 + (in[pos++] - '0');
      ++n;
    }
    *out = v;
    return n >= min_digits;
  }
  // Fractional seconds: any number of digits, the first nine kept as nanoseconds. False when
  // there is no digit.
  bool Fraction(int64_t* nanos) {
    int64_t frac = 0;
    int digits = 0;
    while (pos < in.size() && in[pos] >= '0' && in[pos] <= '9') {
      if (digits < 9) {
        frac = frac * 10 + (in[pos] - '0');
        ++digits;
      }
      ++pos;
    }
    const bool any = digits > 0;
    while (digits++ < 9) frac *= 10;
    *nanos = frac;
    return any;
  }
  bool Name(const std::string_view* names, int count, int* out) {
    // Full names first, then three-letter abbreviations (case-insensitive, like Go).
    for (int abbrev = 0; abbrev < 2; ++abbrev) {
      for (int i = 0; i < count; ++i) {
        const std::string_view name = abbrev ? names[i].substr(0, 3) : names[i];
        if (in.size() - pos >= name.size() &&
            absl::EqualsIgnoreCase(AV(in.substr(pos, name.size())), AV(name))) {
          pos += name.size();
          *out = i;
          return true;
        }
      }
    }
    return false;
  }
  bool Offset(int* seconds) {
    if (pos < in.size() && in[pos] == 'Z') {
      ++pos;
      *seconds = 0;
      return true;
    }
    if (pos >= in.size() || (in[pos] != '+' && in[pos] != '-')) return false;
    const int sign = in[pos++] == '-' ? -1 : 1;
    int h = 0, m = 0, s = 0;
    if (!Number(2, 2, &h)) return false;
    if (pos < in.size() && in[pos] == ':') ++pos;
    Number(0, 2, &m);
    if (pos < in.size() && in[pos] == ':') ++pos;
    Number(0, 2, &s);
    *seconds = sign * (h * 3600 + m * 60 + s);
    return true;
  }
};

absl::StatusOr<Value> TimeFn(const FunctionCall& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, StringArg(c, 0, ctx));
  if (v.s.empty()) return absl::InvalidArgumentError("time cannot be nil");
  TimeParser p{v.s};
  int year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0, pm = -1;
  int64_t nanos = 0;
  std::optional<int> offset;
  auto fail = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("parsing time \"", AV(v.s), "\" as \"", AV(c.lit(1)), "\": ", AV(why)));
  };
  const std::string& f = c.format;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') {
      if (p.pos >= v.s.size() || v.s[p.pos] != f[i]) return fail("cannot parse literal text");
      ++p.pos;
      continue;
    }
    const char d = f[++i];
    bool ok = true;
    int n = 0;
    switch (d) {
      case 'Y':
        ok = p.Number(4, 4, &year);
        break;
      case 'y':
        ok = p.Number(2, 2, &n);
        year = n >= 69 ? 1900 + n : 2000 + n;
        break;
      case 'm':
      case 'o':
      case 'q':
        ok = p.Number(1, 2, &month) && month >= 1 && month <= 12;
        break;
      case 'b':
      case 'h':
      case 'B':
        ok = p.Name(kMonths, 12, &n);
        month = n + 1;
        break;
      case 'd':
      case 'g':
        ok = p.Number(1, 2, &day);
        break;
      case 'e':
        if (p.pos < v.s.size() && v.s[p.pos] == ' ') ++p.pos;
        ok = p.Number(1, 2, &day);
        break;
      case 'a':
      case 'A':
        ok = p.Name(kDays, 7, &n);
        break;
      case 'H':
        ok = p.Number(1, 2, &hour) && hour < 24;
        break;
      case 'I':
      case 'l':
        ok = p.Number(1, 2, &hour) && hour >= 1 && hour <= 12;
        break;
      case 'p':
      case 'P': {
        const std::string_view rest = v.s.substr(p.pos, 2);
        ok = absl::EqualsIgnoreCase(AV(rest), "AM") || absl::EqualsIgnoreCase(AV(rest), "PM");
        if (ok) {
          pm = absl::EqualsIgnoreCase(AV(rest), "PM") ? 1 : 0;
          p.pos += 2;
        }
        break;
      }
      case 'M':
        ok = p.Number(1, 2, &minute) && minute < 60;
        break;
      case 'S':
        ok = p.Number(1, 2, &second) && second < 60;
        break;
      case 'L':
      case 'f':
      case 's':
        ok = p.Fraction(&nanos);
        break;
      case 'Z': {
        const size_t start = p.pos;
        while (p.pos < v.s.size() && v.s[p.pos] >= 'A' && v.s[p.pos] <= 'Z') ++p.pos;
        ok = p.pos - start >= 3;
        if (ok) offset = 0;
        break;
      }
      case 'z':
      case 'w':
      case 'i':
      case 'j':
      case 'k': {
        int seconds = 0;
        ok = p.Offset(&seconds);
        offset = seconds;
        break;
      }
      case '%':
        ok = p.pos < v.s.size() && v.s[p.pos] == '%';
        ++p.pos;
        break;
      default:
        ok = false;
    }
    if (!ok) return fail(absl::StrCat("cannot parse %", std::string(1, d)));
    // Go accepts fractional seconds right after the seconds even when the layout has none.
    if (d == 'S' && p.pos + 1 < v.s.size() && (v.s[p.pos] == '.' || v.s[p.pos] == ',') &&
        v.s[p.pos + 1] >= '0' && v.s[p.pos + 1] <= '9' &&
        !(i + 2 < f.size() && f[i + 1] == v.s[p.pos] && f[i + 2] == '%')) {
      ++p.pos;
      p.Fraction(&nanos);
    }
  }
  if (p.pos != v.s.size()) return fail(absl::StrCat("extra text: \"", AV(v.s.substr(p.pos)), "\""));
  if (pm == 1 && hour < 12) hour += 12;
  if (pm == 0 && hour == 12) hour = 0;
  const absl::CivilSecond civil(year, month, day, hour, minute, second);
  if (civil.day() != day || civil.month() != month) return fail("day out of range");
  absl::Time t;
  if (offset) {
    t = absl::FromCivil(civil, absl::FixedTimeZone(*offset));
  } else {
    t = absl::FromCivil(civil, c.zone);
  }
  return Value::Time(absl::ToUnixNanos(t + absl::Nanoseconds(nanos)));
}

}  // namespace

void AddTimeFunctions(std::vector<FunctionSpec>* specs) {
  specs->insert(
      specs->end(),
      {
          {"Duration", {{"duration"}}, Duration},
          {"Time",
           {{"time"}, {"format", false, true}, {"location", true, true}, {"locale", true, true}},
           TimeFn,
           SetupTime},
          {"Now", {}, Now},
          {"UnixNano", {{"time"}}, UnixAs<1>},
          {"UnixMicro", {{"time"}}, UnixAs<1000>},
          {"UnixMilli", {{"time"}}, UnixAs<1000000>},
          {"UnixSeconds", {{"time"}}, UnixAs<1000000000>},
          {"Unix", {{"seconds"}, {"nanoseconds", true}}, Unix},
          {"Nanoseconds", {{"duration"}}, DurationAs<0>},
          {"Microseconds", {{"duration"}}, DurationAs<1>},
          {"Milliseconds", {{"duration"}}, DurationAs<2>},
          {"Seconds", {{"duration"}}, DurationAs<3>},
          {"Minutes", {{"duration"}}, DurationAs<4>},
          {"Hours", {{"duration"}}, DurationAs<5>},
      });
}

}  // namespace sprout::ottl::funcs
