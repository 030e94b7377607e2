#include "traces/api/metrics_api.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/go_duration.h"
#include "base/go_format.h"
#include "base/go_text.h"
#include "base/status.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace sprout::traces {
namespace {

using traceql::MetricsLabel;
using traceql::MetricsResult;
using traceql::MetricsSeries;
using traceql::Static;
using traceql::Type;
using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr uint64_t kSecond = 1'000'000'000;

void WriteStr(std::string_view s, JsonWriter& w) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}
void WriteKey(std::string_view k, JsonWriter& w) {
  w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
}

// A double as gogo jsonpb writes it: encoding/json's number, or the strings "NaN", "Infinity",
// "-Infinity".
void WriteDouble(double v, JsonWriter& w) {
  if (std::isnan(v)) return WriteStr("NaN", w);
  if (std::isinf(v)) return WriteStr(v > 0 ? "Infinity" : "-Infinity", w);
  std::string text;
  AppendGoJsonFloat(v, &text);
  w.RawValue(text.data(), text.size(), rapidjson::kNumberType);
}

std::string_view StatusKeyword(int64_t i) {
  switch (static_cast<traceql::Status>(i)) {
    case traceql::Status::kError:
      return "error";
    case traceql::Status::kOk:
      return "ok";
    default:
      return "unset";
  }
}

std::string_view KindKeyword(int64_t i) {
  static constexpr std::string_view kKinds[] = {"unspecified", "internal", "server",
                                                "client",      "producer", "consumer"};
  return i >= 0 && i < 6 ? kKinds[i] : kKinds[0];
}

// A label value as Tempo's Static.AsAnyValue gives it: strings, ints, floats and bools typed;
// durations as int nanoseconds; status and kind as their keywords; nil as the string "nil".
void WriteAnyValue(const Static& v, JsonWriter& w) {
  w.StartObject();
  switch (v.type) {
    case Type::kInt:
    case Type::kDuration:
      WriteKey("intValue", w);
      WriteStr(absl::StrCat(v.i), w);
      break;
    case Type::kFloat:
      WriteKey("doubleValue", w);
      WriteDouble(v.f, w);
      break;
    case Type::kBool:
      WriteKey("boolValue", w);
      w.Bool(v.b);
      break;
    case Type::kStatus:
      WriteKey("stringValue", w);
      WriteStr(StatusKeyword(v.i), w);
      break;
    case Type::kKind:
      WriteKey("stringValue", w);
      WriteStr(KindKeyword(v.i), w);
      break;
    case Type::kString:
      WriteKey("stringValue", w);
      WriteStr(v.s, w);
      break;
    default:
      WriteKey("stringValue", w);
      WriteStr("nil", w);
      break;
  }
  w.EndObject();
}

// jsonpb leaves empty repeated fields out.
void WriteLabels(const std::vector<MetricsLabel>& labels, JsonWriter& w) {
  if (labels.empty()) return;
  WriteKey("labels", w);
  w.StartArray();
  for (const MetricsLabel& l : labels) {
    w.StartObject();
    WriteKey("key", w);
    WriteStr(l.key, w);
    WriteKey("value", w);
    WriteAnyValue(l.value, w);
    w.EndObject();
  }
  w.EndArray();
}

void WriteMetrics(const traceql::MetricsStats& m, JsonWriter& w) {
  WriteKey("metrics", w);
  w.StartObject();
  // SearchMetrics: uint32 as numbers, uint64 as strings; zero fields left out.
  const auto u32 = [&](std::string_view k, uint64_t v) {
    if (v == 0) return;
    WriteKey(k, w);
    w.Uint64(std::min<uint64_t>(v, UINT32_MAX));
  };
  const auto u64 = [&](std::string_view k, uint64_t v) {
    if (v == 0) return;
    WriteKey(k, w);
    WriteStr(absl::StrCat(v), w);
  };
  u32("inspectedTraces", m.inspected_traces);
  u64("inspectedBytes", m.inspected_bytes);
  u32("totalBlocks", m.total_blocks);
  u32("completedJobs", m.completed_jobs);
  u32("totalJobs", m.total_jobs);
  u64("totalBlockBytes", m.total_block_bytes);
  u64("inspectedSpans", m.inspected_spans);
  w.EndObject();
}

std::string Finish(const rapidjson::StringBuffer& b) {
  return std::string(b.GetString(), b.GetSize());
}

// --- protobuf (hand-written: tempopb's messages are not in the tree) ---

void AppendVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
void AppendTag(int field, int wire, std::string* out) {
  AppendVarint(static_cast<uint64_t>(field) << 3 | static_cast<uint64_t>(wire), out);
}
void AppendBytes(int field, std::string_view b, std::string* out) {
  AppendTag(field, 2, out);
  AppendVarint(b.size(), out);
  out->append(b);
}
void AppendVarintField(int field, uint64_t v, std::string* out) {
  if (v == 0) return;
  AppendTag(field, 0, out);
  AppendVarint(v, out);
}
void AppendDoubleField(int field, double v, std::string* out) {
  if (v == 0 && !std::signbit(v)) return;  // proto3 default
  AppendTag(field, 1, out);
  uint64_t bits;
  static_assert(sizeof bits == sizeof v);
  std::memcpy(&bits, &v, sizeof bits);
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(bits >> (8 * i)));
}

// common.v1.AnyValue { string_value = 1; bool_value = 2; int_value = 3; double_value = 4 }.
std::string AnyValueProto(const Static& v) {
  std::string out;
  switch (v.type) {
    case Type::kInt:
    case Type::kDuration:
      AppendTag(3, 0, &out);
      AppendVarint(static_cast<uint64_t>(v.i), &out);
      break;
    case Type::kFloat: {
      AppendTag(4, 1, &out);
      uint64_t bits;
      std::memcpy(&bits, &v.f, sizeof bits);
      for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(bits >> (8 * i)));
      break;
    }
    case Type::kBool:
      AppendTag(2, 0, &out);
      AppendVarint(v.b ? 1 : 0, &out);
      break;
    case Type::kStatus:
      AppendBytes(1, StatusKeyword(v.i), &out);
      break;
    case Type::kKind:
      AppendBytes(1, KindKeyword(v.i), &out);
      break;
    case Type::kString:
      AppendBytes(1, v.s, &out);
      break;
    default:
      AppendBytes(1, "nil", &out);
      break;
  }
  return out;
}

// KeyValue { key = 1; value = 2 }.
void AppendLabels(int field, const std::vector<MetricsLabel>& labels, std::string* out) {
  for (const MetricsLabel& l : labels) {
    std::string kv;
    AppendBytes(1, l.key, &kv);
    AppendBytes(2, AnyValueProto(l.value), &kv);
    AppendBytes(field, kv, out);
  }
}

// SearchMetrics { inspectedTraces = 1; inspectedBytes = 2; totalBlocks = 3; completedJobs = 4;
// totalJobs = 5; totalBlockBytes = 6; inspectedSpans = 7 }.
std::string MetricsProto(const traceql::MetricsStats& m) {
  std::string out;
  AppendVarintField(1, std::min<uint64_t>(m.inspected_traces, UINT32_MAX), &out);
  AppendVarintField(2, m.inspected_bytes, &out);
  AppendVarintField(3, std::min<uint64_t>(m.total_blocks, UINT32_MAX), &out);
  AppendVarintField(4, std::min<uint64_t>(m.completed_jobs, UINT32_MAX), &out);
  AppendVarintField(5, std::min<uint64_t>(m.total_jobs, UINT32_MAX), &out);
  AppendVarintField(6, m.total_block_bytes, &out);
  AppendVarintField(7, m.inspected_spans, &out);
  return out;
}

// Go's strconv error text.
std::string StrconvError(std::string_view fn, std::string_view s, bool range) {
  return absl::StrCat(AV(fn), ": parsing ", GoQuote(s), ": ",
                      range ? "value out of range" : "invalid syntax");
}

// Go's strconv.ParseInt(s, 10, 64).
absl::StatusOr<int64_t> GoParseInt64(std::string_view s) {
  std::string_view d = s;
  bool neg = false;
  if (!d.empty() && (d[0] == '+' || d[0] == '-')) {
    neg = d[0] == '-';
    d.remove_prefix(1);
  }
  if (d.empty()) return absl::InvalidArgumentError(StrconvError("strconv.ParseInt", s, false));
  uint64_t v = 0;
  bool overflow = false;
  for (char c : d) {
    if (c < '0' || c > '9') {
      return absl::InvalidArgumentError(StrconvError("strconv.ParseInt", s, false));
    }
    if (v > (UINT64_MAX - 9) / 10) overflow = true;
    if (!overflow) v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  const uint64_t limit = neg ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  if (overflow || v > limit) {
    return absl::InvalidArgumentError(StrconvError("strconv.ParseInt", s, true));
  }
  return neg ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
}

// Go's strconv.ParseFloat(s, 64) for decimal text (no hex floats, no `_`), enough for the time
// and step parameters.
bool GoParseFloat(std::string_view s, double* out) {
  if (s.empty()) return false;
  std::string lower = absl::AsciiStrToLower(AV(s));
  std::string_view body = lower;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) body.remove_prefix(1);
  if (body == "inf" || body == "infinity" || body == "nan") {
    return absl::SimpleAtod(lower, out);
  }
  for (char c : body) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c)) && c != '.' && c != 'e' && c != '+' &&
        c != '-') {
      return false;
    }
  }
  return absl::SimpleAtod(AV(s), out);
}

// Tempo's parseTimestamp: "" → `def`; with a `.`, float seconds (rounded to ms); an integer of
// ≤ 10 characters is seconds, longer nanoseconds; else RFC3339Nano. Nanoseconds since the epoch
// (negative times clamp to 0).
absl::StatusOr<int64_t> ParseTimestamp(std::string_view value, int64_t def) {
  if (value.empty()) return def;
  if (value.find('.') != std::string_view::npos) {
    double t = 0;
    if (GoParseFloat(value, &t) && std::isfinite(t)) {
      double whole = 0;
      double frac = std::modf(t, &whole);
      frac = std::round(frac * 1000) / 1000;
      const double ns = whole * 1e9 + frac * 1e9;
      if (ns <= 0) return 0;
      if (ns >= 9.2e18) return std::numeric_limits<int64_t>::max();
      return static_cast<int64_t>(whole) * static_cast<int64_t>(kSecond) +
             static_cast<int64_t>(std::llround(frac * 1e9));
    }
  }
  absl::StatusOr<int64_t> n = GoParseInt64(value);
  if (!n.ok()) {
    absl::Time t;
    std::string err;
    if (absl::ParseTime(absl::RFC3339_full, AV(value), &t, &err)) {
      return std::max<int64_t>(0, absl::ToUnixNanos(t));
    }
    return n.status();
  }
  if (*n < 0) return 0;
  if (value.size() <= 10) {
    if (*n > std::numeric_limits<int64_t>::max() / static_cast<int64_t>(kSecond)) {
      return std::numeric_limits<int64_t>::max();
    }
    return *n * static_cast<int64_t>(kSecond);
  }
  return *n;
}

// Tempo's parseSecondsOrDuration: float seconds, else a Go duration.
absl::StatusOr<int64_t> ParseStep(std::string_view value) {
  double d = 0;
  if (GoParseFloat(value, &d) && !std::isnan(d)) {
    const double ns = d * 1e9;
    if (ns > 9.223372036854775807e18 || ns < -9.223372036854775808e18) {
      return absl::InvalidArgumentError(absl::StrCat("cannot parse ", GoQuote(value),
                                                     " to a valid duration. It overflows int64"));
    }
    return static_cast<int64_t>(ns);
  }
  if (absl::StatusOr<absl::Duration> g = ParseGoDuration(value); g.ok()) {
    return absl::ToInt64Nanoseconds(*g);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("cannot parse ", GoQuote(value), " to a valid duration"));
}

std::string GoDurationText(int64_t ns) { return FormatGoDuration(absl::Nanoseconds(ns)); }

}  // namespace

uint64_t DefaultQueryRangeStep(uint64_t start_ns, uint64_t end_ns) {
  const uint64_t window = end_ns > start_ns ? end_ns - start_ns : 0;
  const uint64_t baseline = window / 240;  // about 240 points
  const auto floor_to = [&](uint64_t unit) { return baseline / unit * unit; };
  if (window < 60 * kSecond) {
    constexpr uint64_t kFine = 50 * 1000000ull;  // 50 ms: sub-minute windows
    return baseline > kFine ? floor_to(kFine) : kFine;
  }
  // The first rung strictly below the baseline; the baseline floored to a multiple of it.
  for (const uint64_t rung :
       {3600 * kSecond, 300 * kSecond, 60 * kSecond, 15 * kSecond, 5 * kSecond, kSecond}) {
    if (baseline > rung) return floor_to(rung);
  }
  return kSecond;
}

void AlignMetricsRange(traceql::MetricsRange* range) {
  if (range->instant || range->step_ns == 0) return;
  const uint64_t step = range->step_ns;
  range->start_ns -= range->start_ns % step;
  if (const uint64_t mod = range->end_ns % step; mod != 0) range->end_ns += step - mod;
  if (range->start_ns > step) range->start_ns -= step;
}

absl::StatusOr<absl::Duration> ParsePrometheusDuration(std::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("empty duration string");
  const auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrCat("not a valid duration string: ", GoQuote(text)));
  };
  if (text == "0") return absl::ZeroDuration();
  struct Unit {
    std::string_view name;
    absl::Duration d;
  };
  static const Unit kUnits[] = {{"y", absl::Hours(24 * 365)}, {"w", absl::Hours(24 * 7)},
                                {"d", absl::Hours(24)},       {"h", absl::Hours(1)},
                                {"m", absl::Minutes(1)},      {"s", absl::Seconds(1)},
                                {"ms", absl::Milliseconds(1)}};
  absl::Duration total;
  size_t next_unit = 0;  // units must come in kUnits order, each at most once
  std::string_view rest = text;
  while (!rest.empty()) {
    size_t n = 0;
    while (n < rest.size() && absl::ascii_isdigit(static_cast<unsigned char>(rest[n]))) ++n;
    if (n == 0) return bad();
    uint64_t v = 0;
    if (!absl::SimpleAtoi(AV(rest.substr(0, n)), &v)) return bad();
    rest.remove_prefix(n);
    size_t u = next_unit;
    // "ms" before "m": the longest unit name that matches.
    size_t found = std::size(kUnits);
    for (; u < std::size(kUnits); ++u) {
      const std::string_view name = kUnits[u].name;
      if (rest.substr(0, name.size()) == name &&
          (found == std::size(kUnits) || name.size() > kUnits[found].name.size())) {
        found = u;
      }
    }
    if (found == std::size(kUnits)) return bad();
    rest.remove_prefix(kUnits[found].name.size());
    // Prometheus refuses a total past int64 nanoseconds.
    const int64_t unit_ns = absl::ToInt64Nanoseconds(kUnits[found].d);
    const int64_t total_ns = absl::ToInt64Nanoseconds(total);
    if (v > static_cast<uint64_t>((std::numeric_limits<int64_t>::max() - total_ns) / unit_ns)) {
      return absl::InvalidArgumentError("duration out of range");
    }
    total += kUnits[found].d * static_cast<int64_t>(v);
    next_unit = found + 1;
  }
  return total;
}

absl::StatusOr<MetricsQueryRequest> ParseMetricsParams(const net::QueryParams& form, bool instant,
                                                       absl::Time now,
                                                       const MetricsQueryLimits& limits) {
  MetricsQueryRequest req;
  if (std::string_view s = form.Get("query"); !s.empty()) req.query = std::string(s);
  if (std::string_view s = form.Get("q"); !s.empty()) req.query = std::string(s);

  absl::Duration since = absl::Hours(1);
  if (std::string_view s = form.Get("since"); !s.empty()) {
    absl::StatusOr<absl::Duration> d = ParsePrometheusDuration(s);
    if (!d.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("could not parse 'since' parameter: ", d.status().message()));
    }
    since = *d;
  }
  const int64_t now_ns = absl::ToUnixNanos(now);
  absl::StatusOr<int64_t> end = ParseTimestamp(form.Get("end"), now_ns);
  if (!end.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("could not parse 'end' parameter: ", end.status().message()));
  }
  const int64_t end_or_now = std::min(*end, now_ns);
  absl::StatusOr<int64_t> start = ParseTimestamp(
      form.Get("start"), std::max<int64_t>(0, end_or_now - ToInt64Nanoseconds(since)));
  if (!start.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("could not parse 'start' parameter: ", start.status().message()));
  }
  traceql::MetricsRange& r = req.range;
  r.start_ns = static_cast<uint64_t>(*start);
  r.end_ns = static_cast<uint64_t>(*end);
  r.instant = instant;

  int64_t step = 0;
  if (instant) {
    step = static_cast<int64_t>(r.end_ns - r.start_ns);
  } else if (std::string_view s = form.Get("step"); !s.empty()) {
    ASSIGN_OR_RETURN(step, ParseStep(s));
  } else {
    step = static_cast<int64_t>(DefaultQueryRangeStep(r.start_ns, r.end_ns));
  }

  // The query frontend's checks, before alignment.
  if (r.start_ns > r.end_ns) return absl::InvalidArgumentError("end must be greater than start");
  if (limits.max_duration > absl::ZeroDuration() &&
      r.end_ns - r.start_ns > static_cast<uint64_t>(ToInt64Nanoseconds(limits.max_duration))) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics query time range exceeds the maximum allowed duration of ",
                     FormatGoDuration(limits.max_duration)));
  }
  const uint64_t range_ns = r.end_ns - r.start_ns;
  if (step <= 0 || (limits.max_intervals != 0 &&
                    range_ns / static_cast<uint64_t>(step) > limits.max_intervals)) {
    const uint64_t max_intervals = limits.max_intervals != 0 ? limits.max_intervals : 1;
    return absl::InvalidArgumentError(absl::StrCat(
        "step of ", GoDurationText(step), " is too small, minimum step for given range is ",
        GoDurationText(static_cast<int64_t>(range_ns / max_intervals))));
  }
  r.step_ns = static_cast<uint64_t>(step);
  r.max_series = limits.max_series;

  if (!instant) {
    r.max_exemplars = limits.max_exemplars;
    if (std::string_view s = form.Get("exemplars"); !s.empty()) {
      uint64_t n = 0;
      if (absl::SimpleAtoi(AV(s), &n))
        r.max_exemplars = static_cast<uint32_t>(std::min<uint64_t>(n, limits.max_exemplars));
    }
    AlignMetricsRange(&r);
  }
  return req;
}

std::string PromLabelsText(const std::vector<MetricsLabel>& labels) {
  std::vector<std::pair<std::string, std::string>> pairs;
  pairs.reserve(labels.size());
  for (const MetricsLabel& l : labels) {
    std::string v;
    const Static& s = l.value;
    switch (s.type) {
      case Type::kNil:
        v = "<nil>";
        break;
      case Type::kString:
        v = s.s.empty() ? "<empty>" : s.s == "nil" ? "<nil>" : s.s;
        break;
      case Type::kInt:
        v = absl::StrCat("int(", s.i, ")");
        break;
      case Type::kFloat:
        v = GoFormatFloat(s.f, 'g', -1);
        break;
      case Type::kBool:
        v = s.b ? "true" : "false";
        break;
      case Type::kDuration:
        v = GoDurationText(s.i);
        break;
      case Type::kStatus:
        v = std::string(StatusKeyword(s.i));
        break;
      case Type::kKind:
        v = std::string(KindKeyword(s.i));
        break;
      default:
        v = "<nil>";
        break;
    }
    // labels.Builder.Set: a later label of the same name replaces the earlier one.
    auto it =
        std::find_if(pairs.begin(), pairs.end(), [&](const auto& p) { return p.first == l.key; });
    if (it != pairs.end()) {
      it->second = std::move(v);
    } else {
      pairs.emplace_back(l.key, std::move(v));
    }
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out = "{";
  for (size_t i = 0; i < pairs.size(); ++i) {
    if (i > 0) out += ", ";
    absl::StrAppend(&out, pairs[i].first, "=", GoQuote(pairs[i].second));
  }
  out += "}";
  return out;
}

void FinalizeMetricsResult(const traceql::MetricsRange& range, MetricsResult* result) {
  std::vector<std::pair<std::string, size_t>> order;
  order.reserve(result->series.size());
  for (size_t i = 0; i < result->series.size(); ++i) {
    order.emplace_back(PromLabelsText(result->series[i].labels), i);
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<MetricsSeries> sorted;
  sorted.reserve(order.size());
  for (const auto& [text, i] : order) sorted.push_back(std::move(result->series[i]));
  result->series = std::move(sorted);
  const int64_t step_ms = static_cast<int64_t>(std::max<uint64_t>(1, range.step_ns / 1000000));
  for (MetricsSeries& s : result->series) {
    std::stable_sort(s.samples.begin(), s.samples.end(),
                     [](const auto& a, const auto& b) { return a.timestamp_ms < b.timestamp_ms; });
    std::stable_sort(s.exemplars.begin(), s.exemplars.end(),
                     [](const auto& a, const auto& b) { return a.timestamp_ms < b.timestamp_ms; });
    for (traceql::MetricsExemplar& e : s.exemplars) {
      if (!std::isnan(e.value)) continue;
      // The last sample at or before the exemplar, if the exemplar falls in its step.
      auto it = std::upper_bound(
          s.samples.begin(), s.samples.end(), e.timestamp_ms,
          [](int64_t t, const traceql::MetricsSample& sample) { return t < sample.timestamp_ms; });
      if (it == s.samples.begin()) continue;
      --it;
      if (e.timestamp_ms < it->timestamp_ms + step_ms) e.value = it->value;
    }
  }
}

std::string MetricsRangeJson(const MetricsResult& result, uint32_t max_series) {
  rapidjson::StringBuffer b;
  JsonWriter w(b);
  w.StartObject();
  if (!result.series.empty()) {
    WriteKey("series", w);
    w.StartArray();
    for (const MetricsSeries& s : result.series) {
      w.StartObject();
      WriteLabels(s.labels, w);
      if (!s.samples.empty()) {
        WriteKey("samples", w);
        w.StartArray();
        for (const traceql::MetricsSample& sample : s.samples) {
          w.StartObject();
          WriteKey("timestampMs", w);
          WriteStr(absl::StrCat(sample.timestamp_ms), w);
          WriteKey("value", w);
          WriteDouble(sample.value, w);
          w.EndObject();
        }
        w.EndArray();
      }
      WriteKey("promLabels", w);
      WriteStr(PromLabelsText(s.labels), w);
      if (!s.exemplars.empty()) {
        WriteKey("exemplars", w);
        w.StartArray();
        for (const traceql::MetricsExemplar& e : s.exemplars) {
          w.StartObject();
          WriteLabels(e.labels, w);
          WriteKey("value", w);
          WriteDouble(e.value, w);
          WriteKey("timestampMs", w);
          WriteStr(absl::StrCat(e.timestamp_ms), w);
          w.EndObject();
        }
        w.EndArray();
      }
      w.EndObject();
    }
    w.EndArray();
  }
  WriteMetrics(result.stats, w);
  if (result.max_series_reached) {  // PartialStatus PARTIAL (COMPLETE, 0, is left out)
    WriteKey("status", w);
    WriteStr("PARTIAL", w);
    WriteKey("message", w);
    WriteStr(traceql::MaxSeriesMessage(max_series), w);
  }
  w.EndObject();
  return Finish(b);
}

std::string MetricsInstantJson(const MetricsResult& result) {
  rapidjson::StringBuffer b;
  JsonWriter w(b);
  w.StartObject();
  const bool any = std::any_of(result.series.begin(), result.series.end(),
                               [](const MetricsSeries& s) { return !s.samples.empty(); });
  if (any) {
    WriteKey("series", w);
    w.StartArray();
    for (const MetricsSeries& s : result.series) {
      if (s.samples.empty()) continue;
      w.StartObject();
      WriteLabels(s.labels, w);
      WriteKey("value", w);
      WriteDouble(s.samples.back().value, w);
      WriteKey("promLabels", w);
      WriteStr(PromLabelsText(s.labels), w);
      w.EndObject();
    }
    w.EndArray();
  }
  WriteMetrics(result.stats, w);
  w.EndObject();
  return Finish(b);
}

// QueryRangeResponse { series = 1; metrics = 2; status = 3; message = 4 };
// TimeSeries { labels = 1; samples = 2; promLabels = 3; exemplars = 4 };
// Sample { value = 1 (double); timestampMs = 2 (int64) };
// Exemplar { labels = 1; value = 2; timestampMs = 3 }.
std::string MetricsRangeProto(const MetricsResult& result, uint32_t max_series) {
  std::string out;
  for (const MetricsSeries& s : result.series) {
    std::string ts;
    AppendLabels(1, s.labels, &ts);
    for (const traceql::MetricsSample& sample : s.samples) {
      std::string sm;
      AppendDoubleField(1, sample.value, &sm);
      AppendVarintField(2, static_cast<uint64_t>(sample.timestamp_ms), &sm);
      AppendBytes(2, sm, &ts);
    }
    AppendBytes(3, PromLabelsText(s.labels), &ts);
    for (const traceql::MetricsExemplar& e : s.exemplars) {
      std::string ex;
      AppendLabels(1, e.labels, &ex);
      AppendDoubleField(2, e.value, &ex);
      AppendVarintField(3, static_cast<uint64_t>(e.timestamp_ms), &ex);
      AppendBytes(4, ex, &ts);
    }
    AppendBytes(1, ts, &out);
  }
  AppendBytes(2, MetricsProto(result.stats), &out);
  if (result.max_series_reached) {
    AppendVarintField(3, 1, &out);  // status PARTIAL
    AppendBytes(4, traceql::MaxSeriesMessage(max_series), &out);
  }
  return out;
}

// QueryInstantResponse { series = 1; metrics = 2; ... }; InstantSeries { labels = 1; value = 2;
// promLabels = 3 }.
std::string MetricsInstantProto(const MetricsResult& result) {
  std::string out;
  for (const MetricsSeries& s : result.series) {
    if (s.samples.empty()) continue;
    std::string is;
    AppendLabels(1, s.labels, &is);
    AppendDoubleField(2, s.samples.back().value, &is);
    AppendBytes(3, PromLabelsText(s.labels), &is);
    AppendBytes(1, is, &out);
  }
  AppendBytes(2, MetricsProto(result.stats), &out);
  return out;
}

}  // namespace sprout::traces
