// Metric names (collector.md §10.2): tokens, unit words and suffixes, or plain sanitizing
// without suffixes; and Go's %q for the error texts that name a metric.
#include <algorithm>
#include <vector>

#include "otlp/prometheus_internal.h"

namespace sprout::otlp {
namespace prom_internal {
namespace {

struct UnitWord {
  std::string_view unit;
  std::string_view word;
};

constexpr UnitWord kUnitWords[] = {
    // Time
    {"d", "days"},
    {"h", "hours"},
    {"min", "minutes"},
    {"s", "seconds"},
    {"ms", "milliseconds"},
    {"us", "microseconds"},
    {"ns", "nanoseconds"},
    // Bytes. "tibibytes" (sic) is the word the reference gives for TiBy.
    {"By", "bytes"},
    {"KiBy", "kibibytes"},
    {"MiBy", "mebibytes"},
    {"GiBy", "gibibytes"},
    {"TiBy", "tibibytes"},
    {"KBy", "kilobytes"},
    {"MBy", "megabytes"},
    {"GBy", "gigabytes"},
    {"TBy", "terabytes"},
    {"B", "bytes"},
    {"KB", "kilobytes"},
    {"MB", "megabytes"},
    {"GB", "gigabytes"},
    {"TB", "terabytes"},
    // SI
    {"m", "meters"},
    {"V", "volts"},
    {"A", "amperes"},
    {"J", "joules"},
    {"W", "watts"},
    {"g", "grams"},
    // Misc
    {"Cel", "celsius"},
    {"Hz", "hertz"},
    {"%", "percent"},
    {"$", "dollars"},
    {"1", ""},
};

constexpr UnitWord kPerUnitWords[] = {
    {"s", "second"}, {"m", "minute"}, {"h", "hour"}, {"d", "day"},
    {"w", "week"},   {"mo", "month"}, {"y", "year"},
};

template <size_t N>
std::string_view MapUnit(std::string_view unit, const UnitWord (&table)[N]) {
  for (const UnitWord& entry : table) {
    if (entry.unit == unit) return entry.word;
  }
  return unit;
}

std::string_view TrimSpace(std::string_view s) {
  constexpr std::string_view kSpace = " \t\n\r\f\v";
  const size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(kSpace) - begin + 1);
}

// The unit word as name text: its letter/digit runs joined with '_'. Empty for a unit in
// braces (an annotation such as {packets}) and for "1".
std::string UnitToken(std::string_view unit, bool per) {
  unit = TrimSpace(unit);
  std::string out;
  if (unit.empty() || unit.find_first_of("{}") != std::string_view::npos) return out;
  ForEachToken(per ? MapUnit(unit, kPerUnitWords) : MapUnit(unit, kUnitWords),
               [&](std::string_view token) {
                 if (!out.empty()) out.push_back('_');
                 out.append(token);
               });
  return out;
}

// Without suffixes: every run of characters other than letters, digits, '_' and ':' becomes
// one '_'.
std::string SimpleMetricName(std::string_view name, std::string_view metric_namespace) {
  std::string out;
  if (!metric_namespace.empty()) {
    out.append(metric_namespace);
    out.push_back('_');
  }
  bool in_run = false;
  for (size_t i = 0, len = 0; i < name.size(); i += len) {
    const char32_t rune = DecodeRune(name, i, &len);
    if (rune == '_' || rune == ':' || IsLetterOrDigit(rune)) {
      out.append(name.substr(i, len));
      in_run = false;
    } else if (!in_run) {
      out.push_back('_');
      in_run = true;
    }
  }
  if (!out.empty() && IsAsciiDigit(out[0])) out.insert(0, "_");
  return out;
}

}  // namespace

std::string Quote(std::string_view s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  static constexpr std::string_view kControls = "\a\b\f\n\r\t\v";
  static constexpr std::string_view kControlLetters = "abfnrtv";
  std::string out = "\"";
  auto append_hex_byte = [&](uint8_t b) {
    out.append("\\x");
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  };
  for (size_t i = 0, len = 0; i < s.size(); i += len) {
    const char32_t rune = DecodeRune(s, i, &len);
    if (rune == kRuneError && len == 1) {
      append_hex_byte(static_cast<uint8_t>(s[i]));
    } else if (rune == '"' || rune == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(rune));
    } else if (rune < 0x20 || rune == 0x7f) {
      const size_t control = kControls.find(static_cast<char>(rune));
      if (control != std::string_view::npos) {
        out.push_back('\\');
        out.push_back(kControlLetters[control]);
      } else {
        append_hex_byte(static_cast<uint8_t>(rune));
      }
    } else {
      out.append(s.substr(i, len));
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace prom_internal

using namespace prom_internal;  // NOLINT

std::string PromMetricName(const pb::metrics::Metric& metric, std::string_view metric_namespace,
                           bool add_metric_suffixes) {
  if (!add_metric_suffixes) return SimpleMetricName(metric.name(), metric_namespace);

  std::vector<std::string_view> tokens;
  ForEachToken(metric.name(), [&](std::string_view token) { tokens.push_back(token); });
  auto has_token = [&](std::string_view word) {
    return std::find(tokens.begin(), tokens.end(), word) != tokens.end();
  };

  const std::string_view unit = metric.unit();
  const size_t slash = unit.find('/');
  const std::string main_unit = UnitToken(unit.substr(0, slash), /*per=*/false);
  if (!main_unit.empty() && !has_token(main_unit)) tokens.push_back(main_unit);
  const std::string per_unit =
      slash == std::string_view::npos ? std::string() : UnitToken(unit.substr(slash + 1), true);
  if (!per_unit.empty() && !has_token(per_unit)) {
    tokens.push_back("per");
    tokens.push_back(per_unit);
  }

  auto append_suffix = [&](std::string_view suffix) {
    tokens.erase(std::remove(tokens.begin(), tokens.end(), suffix), tokens.end());
    tokens.push_back(suffix);
  };
  if (metric.has_sum() && metric.sum().is_monotonic()) append_suffix("total");
  if (metric.unit() == "1" && metric.has_gauge()) append_suffix("ratio");

  std::string name(metric_namespace);
  for (std::string_view token : tokens) {
    if (!name.empty()) name.push_back('_');
    name.append(token);
  }
  if (!name.empty() && IsAsciiDigit(name[0])) name.insert(0, "_");
  return name;
}

}  // namespace sprout::otlp
