#include "otlp/prometheus.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/status.h"
#include "google/protobuf/arena.h"
#include "otlp/json.h"
#include "otlp/signal.h"

namespace sprout::otlp {
namespace {

using ::testing::ElementsAre;

uint64_t Bits(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  return bits;
}

constexpr uint64_t kStaleBits = 0x7ff0000000000002ULL;

// ---------------------------------------------------------------------------------------------
// Building blocks.

TEST(PromStaleNaN, HasPrometheusStaleMarkerBits) {
  EXPECT_TRUE(std::isnan(PromStaleNaN()));
  EXPECT_EQ(Bits(PromStaleNaN()), kStaleBits);
  EXPECT_NE(Bits(std::numeric_limits<double>::quiet_NaN()), kStaleBits);
}

TEST(PromLabelName, SanitizesEachRuneWithoutCollapsing) {
  EXPECT_EQ(PromLabelName("name (of the host)"), "name__of_the_host_");
  EXPECT_EQ(PromLabelName("http.method"), "http_method");
  EXPECT_EQ(PromLabelName("already_fine"), "already_fine");
  EXPECT_EQ(PromLabelName("a-b.c/d"), "a_b_c_d");
  EXPECT_EQ(PromLabelName("CamelCase9"), "CamelCase9");
  EXPECT_EQ(PromLabelName(""), "");
}

TEST(PromLabelName, LeadingDigitAndUnderscore) {
  EXPECT_EQ(PromLabelName("1st"), "key_1st");
  EXPECT_EQ(PromLabelName("9.x"), "key_9_x");
  EXPECT_EQ(PromLabelName("_name"), "key_name");
  EXPECT_EQ(PromLabelName("_"), "key_");
  EXPECT_EQ(PromLabelName(".name"), "key_name");  // sanitized first, then prefixed
  EXPECT_EQ(PromLabelName("__name"), "__name");
  EXPECT_EQ(PromLabelName("__name__"), "__name__");
  EXPECT_EQ(PromLabelName("_name", /*permissive=*/true), "_name");
  EXPECT_EQ(PromLabelName("1st", /*permissive=*/true), "key_1st");
}

TEST(PromLabelName, KeepsLettersAndDigitsOfOtherScripts) {
  EXPECT_EQ(PromLabelName("größe"), "größe");
  EXPECT_EQ(PromLabelName("имя.хоста"), "имя_хоста");
  EXPECT_EQ(PromLabelName("数量٣"), "数量٣");    // Arabic-Indic digit three (Nd)
  EXPECT_EQ(PromLabelName("temp°C"), "temp_C");  // ° is a symbol: one rune, one '_'
  EXPECT_EQ(PromLabelName("a\xff"
                          "b"),
            "a_b");  // an invalid byte is one rune
  EXPECT_EQ(PromLabelName("emoji😀"), "emoji_");
}

pb::common::AnyValue StringValue(std::string s) {
  pb::common::AnyValue v;
  v.set_string_value(std::move(s));
  return v;
}
pb::common::AnyValue IntValue(int64_t i) {
  pb::common::AnyValue v;
  v.set_int_value(i);
  return v;
}
pb::common::AnyValue DoubleValue(double d) {
  pb::common::AnyValue v;
  v.set_double_value(d);
  return v;
}
pb::common::AnyValue BoolValue(bool b) {
  pb::common::AnyValue v;
  v.set_bool_value(b);
  return v;
}
pb::common::AnyValue BytesValue(std::string b) {
  pb::common::AnyValue v;
  v.set_bytes_value(std::move(b));
  return v;
}

TEST(PromLabelValue, Scalars) {
  EXPECT_EQ(PromLabelValue(StringValue("a b\"c")), "a b\"c");
  EXPECT_EQ(PromLabelValue(IntValue(-42)), "-42");
  EXPECT_EQ(PromLabelValue(IntValue(std::numeric_limits<int64_t>::min())), "-9223372036854775808");
  EXPECT_EQ(PromLabelValue(BoolValue(true)), "true");
  EXPECT_EQ(PromLabelValue(BoolValue(false)), "false");
  EXPECT_EQ(PromLabelValue(pb::common::AnyValue()), "");
}

// pdata's Value.AsString() of a double, which the Collector's translation uses for label values:
// encoding/json's number form (the 'f' shortest digits from 1e-6 up to 1e21, the 'e' form outside
// with "e-7" rather than "e-07"), and for NaN and infinities the text of the encoding error.
TEST(PromLabelValue, DoublesLikePdataAsString) {
  EXPECT_EQ(PromLabelValue(DoubleValue(1.5)), "1.5");
  EXPECT_EQ(PromLabelValue(DoubleValue(3)), "3");
  EXPECT_EQ(PromLabelValue(DoubleValue(0.1)), "0.1");
  EXPECT_EQ(PromLabelValue(DoubleValue(-0.0)), "-0");
  EXPECT_EQ(PromLabelValue(DoubleValue(1e20)), "100000000000000000000");
  EXPECT_EQ(PromLabelValue(DoubleValue(1e21)), "1e+21");
  EXPECT_EQ(PromLabelValue(DoubleValue(0.000001)), "0.000001");
  EXPECT_EQ(PromLabelValue(DoubleValue(1e-7)), "1e-7");
  EXPECT_EQ(PromLabelValue(DoubleValue(123456789.125)), "123456789.125");
  EXPECT_EQ(PromLabelValue(DoubleValue(0.1 + 0.2)), "0.30000000000000004");
  EXPECT_EQ(PromLabelValue(DoubleValue(-2.5e-3)), "-0.0025");
  EXPECT_EQ(PromLabelValue(DoubleValue(1e300)), "1e+300");
  EXPECT_EQ(PromLabelValue(DoubleValue(1.2345678901234567e20)), "123456789012345670000");
  EXPECT_EQ(PromLabelValue(DoubleValue(std::numeric_limits<double>::max())),
            "1.7976931348623157e+308");
  EXPECT_EQ(PromLabelValue(DoubleValue(5e-324)), "5e-324");
  EXPECT_EQ(PromLabelValue(DoubleValue(std::numeric_limits<double>::infinity())),
            "json: unsupported value: +Inf");
  EXPECT_EQ(PromLabelValue(DoubleValue(-std::numeric_limits<double>::infinity())),
            "json: unsupported value: -Inf");
  EXPECT_EQ(PromLabelValue(DoubleValue(std::nan(""))), "json: unsupported value: NaN");
}

// `le` and `quantile` are strconv.FormatFloat(v, 'f', -1, 64): never an exponent, and the
// shortest digits rather than the binary value's expansion.
TEST(PromTranslate, BucketBoundsAndQuantilesUseShortestFixed) {
  pb::metrics_service::ExportMetricsServiceRequest request;
  auto* metrics = request.add_resource_metrics()->add_scope_metrics();
  auto* histogram = metrics->add_metrics();
  histogram->set_name("h");
  histogram->mutable_histogram()->set_aggregation_temporality(
      pb::metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
  auto* point = histogram->mutable_histogram()->add_data_points();
  point->set_time_unix_nano(1000000);
  point->add_explicit_bounds(1e-7);
  point->add_explicit_bounds(1e23);
  point->add_bucket_counts(1);
  point->add_bucket_counts(1);
  point->add_bucket_counts(1);
  point->set_count(3);
  auto* summary = metrics->add_metrics();
  summary->set_name("s");
  auto* quantile = summary->mutable_summary()->add_data_points()->add_quantile_values();
  quantile->set_quantile(1e-7);
  std::vector<std::string> les;
  std::vector<std::string> quantiles;
  for (const auto& series : TranslateMetrics(request, PromTranslationSettings()).series) {
    for (const auto& label : series.labels()) {
      if (label.name() == "le") les.push_back(label.value());
      if (label.name() == "quantile") quantiles.push_back(label.value());
    }
  }
  EXPECT_EQ(les, (std::vector<std::string>{"0.0000001", "1" + std::string(23, '0'), "+Inf"}));
  EXPECT_EQ(quantiles, (std::vector<std::string>{"0.0000001"}));
}

TEST(PromLabelValue, BytesAsBase64) {
  EXPECT_EQ(PromLabelValue(BytesValue("")), "");
  EXPECT_EQ(PromLabelValue(BytesValue("f")), "Zg==");
  EXPECT_EQ(PromLabelValue(BytesValue("fo")), "Zm8=");
  EXPECT_EQ(PromLabelValue(BytesValue("foo")), "Zm9v");
  EXPECT_EQ(PromLabelValue(BytesValue(std::string("\xff\xfe\x00", 3))), "//4A");
}

TEST(PromLabelValue, MapsAndSlicesAsJson) {
  pb::common::AnyValue map;
  auto* kvs = map.mutable_kvlist_value();
  auto add = [&](std::string key, pb::common::AnyValue value) {
    auto* kv = kvs->add_values();
    kv->set_key(std::move(key));
    *kv->mutable_value() = std::move(value);
  };
  add("z", IntValue(1));
  add("a", StringValue("x<y>&\"\n"));
  add("m", DoubleValue(2.5));
  add("b", BoolValue(false));
  add("e", pb::common::AnyValue());
  add("raw", BytesValue("foo"));
  add("small", DoubleValue(1e-7));
  add("big", DoubleValue(1e21));
  add("dup", IntValue(1));
  add("dup", IntValue(2));  // the last of duplicate keys wins
  pb::common::AnyValue array;
  array.mutable_array_value()->add_values()->set_int_value(1);
  array.mutable_array_value()->add_values()->set_string_value("two");
  *array.mutable_array_value()->add_values() = map;
  EXPECT_EQ(PromLabelValue(map),
            R"({"a":"x\u003cy\u003e\u0026\"\n","b":false,"big":1e+21,"dup":2,"e":null,)"
            R"("m":2.5,"raw":"Zm9v","small":1e-7,"z":1})");
  EXPECT_EQ(PromLabelValue(array), absl::StrCat(R"([1,"two",)", PromLabelValue(map), "]"));

  pb::common::AnyValue empty_array;
  empty_array.mutable_array_value();
  EXPECT_EQ(PromLabelValue(empty_array), "[]");

  // JSON cannot hold NaN: the text is empty, as the Collector's failed encoding.
  pb::common::AnyValue with_nan;
  with_nan.mutable_array_value()->add_values()->set_double_value(std::nan(""));
  EXPECT_EQ(PromLabelValue(with_nan), "");
}

pb::metrics::Metric MakeMetric(std::string name, std::string unit, char type) {
  pb::metrics::Metric metric;
  metric.set_name(std::move(name));
  metric.set_unit(std::move(unit));
  switch (type) {
    case 'g':
      metric.mutable_gauge();
      break;
    case 'c':  // monotonic sum
      metric.mutable_sum()->set_is_monotonic(true);
      break;
    case 'u':  // non-monotonic sum
      metric.mutable_sum()->set_is_monotonic(false);
      break;
    case 'h':
      metric.mutable_histogram();
      break;
    case 'e':
      metric.mutable_exponential_histogram();
      break;
    case 's':
      metric.mutable_summary();
      break;
  }
  return metric;
}

struct NameCase {
  const char* name;
  const char* unit;
  char type;
  const char* expected;
};

TEST(PromMetricName, ReferenceExamplesAndUnits) {
  const NameCase cases[] = {
      // §10.2 examples.
      {"system.filesystem.usage", "By", 'u', "system_filesystem_usage_bytes"},
      {"http.server.duration", "s", 'h', "http_server_duration_seconds"},
      {"system.processes.created", "", 'c', "system_processes_created_total"},
      {"system.network.packets", "{packets}", 'c', "system_network_packets_total"},
      {"network.io", "packets", 'g', "network_io_packets"},
      {"speed", "m/s", 'g', "speed_meters_per_second"},
      {"cpu.utilization", "%", 'g', "cpu_utilization_percent"},
      {"cpu.utilization", "1", 'g', "cpu_utilization_ratio"},
      // Every unit of the map.
      {"x", "d", 'g', "x_days"},
      {"x", "h", 'g', "x_hours"},
      {"x", "min", 'g', "x_minutes"},
      {"x", "ms", 'g', "x_milliseconds"},
      {"x", "us", 'g', "x_microseconds"},
      {"x", "ns", 'g', "x_nanoseconds"},
      {"x", "KiBy", 'g', "x_kibibytes"},
      {"x", "MiBy", 'g', "x_mebibytes"},
      {"x", "GiBy", 'g', "x_gibibytes"},
      {"x", "TiBy", 'g', "x_tibibytes"},
      {"x", "KBy", 'g', "x_kilobytes"},
      {"x", "MBy", 'g', "x_megabytes"},
      {"x", "GBy", 'g', "x_gigabytes"},
      {"x", "TBy", 'g', "x_terabytes"},
      {"x", "B", 'g', "x_bytes"},
      {"x", "KB", 'g', "x_kilobytes"},
      {"x", "MB", 'g', "x_megabytes"},
      {"x", "GB", 'g', "x_gigabytes"},
      {"x", "TB", 'g', "x_terabytes"},
      {"x", "m", 'g', "x_meters"},
      {"x", "V", 'g', "x_volts"},
      {"x", "A", 'g', "x_amperes"},
      {"x", "J", 'g', "x_joules"},
      {"x", "W", 'g', "x_watts"},
      {"x", "g", 'g', "x_grams"},
      {"x", "Cel", 'g', "x_celsius"},
      {"x", "Hz", 'g', "x_hertz"},
      {"x", "$", 'g', "x_dollars"},
      // Per units.
      {"x", "By/s", 'g', "x_bytes_per_second"},
      {"x", "1/m", 'g', "x_per_minute"},
      {"x", "/h", 'g', "x_per_hour"},
      {"x", "{req}/d", 'g', "x_per_day"},
      {"x", "By/w", 'g', "x_bytes_per_week"},
      {"x", "By/mo", 'g', "x_bytes_per_month"},
      {"x", "By/y", 'g', "x_bytes_per_year"},
      {"x", "By/{thing}", 'g', "x_bytes"},
      {"x", "By/", 'g', "x_bytes"},
      {"x", "By/fortnight", 'g', "x_bytes_per_fortnight"},
      // Unknown units: cleaned text.
      {"x", "packets.sent", 'g', "x_packets_sent"},
      {"x", " s ", 'g', "x_seconds"},  // surrounding spaces trimmed before the lookup
      {"x", "{a}b", 'g', "x"},         // any brace drops the unit
      // A unit already a token is not repeated.
      {"http.server.duration.seconds", "s", 'h', "http_server_duration_seconds"},
      {"requests.per.second", "1/s", 'g', "requests_per_second"},
      // total: removed, then appended; only for monotonic sums.
      {"requests.total.count", "", 'c', "requests_count_total"},
      {"total.requests.total", "", 'c', "requests_total"},
      {"requests.total", "", 'u', "requests_total"},
      {"requests", "", 'u', "requests"},
      {"requests", "", 'g', "requests"},
      {"bytes.sent", "By", 'c', "bytes_sent_total"},
      // ratio: unit exactly "1" and gauge only.
      {"cache.hit.ratio", "1", 'g', "cache_hit_ratio"},
      {"ratio.of.hits", "1", 'g', "of_hits_ratio"},
      {"hits", "1", 'u', "hits"},
      {"hits", "1", 'c', "hits_total"},
      // Tokens and leading digits.
      {"http..server--requests__", "", 'g', "http_server_requests"},
      {"5xx.errors", "", 'g', "_5xx_errors"},
      {"größe", "By", 'g', "größe_bytes"},
      {"", "", 'g', ""},
      {"latency", "ms", 's', "latency_milliseconds"},
      {"latency", "ms", 'e', "latency_milliseconds"},
  };
  for (const NameCase& c : cases) {
    EXPECT_EQ(PromMetricName(MakeMetric(c.name, c.unit, c.type), "", true), c.expected)
        << c.name << " [" << c.unit << "] " << c.type;
  }
}

TEST(PromMetricName, Namespace) {
  EXPECT_EQ(PromMetricName(MakeMetric("system.processes.created", "", 'c'), "otel", true),
            "otel_system_processes_created_total");
  EXPECT_EQ(PromMetricName(MakeMetric("5xx", "", 'g'), "app", true), "app_5xx");
  EXPECT_EQ(PromMetricName(MakeMetric("up", "", 'g'), "9ns", true), "_9ns_up");
}

TEST(PromMetricName, WithoutSuffixesOnlySanitizes) {
  auto name = [](std::string metric_name, std::string ns = "") {
    return PromMetricName(MakeMetric(std::move(metric_name), "s", 'c'), ns, false);
  };
  EXPECT_EQ(name("http.server.duration"), "http_server_duration");
  EXPECT_EQ(name("a..b--c"), "a_b_c");  // a run becomes one '_'
  EXPECT_EQ(name("keep:colons_and__unders"), "keep:colons_and__unders");
  EXPECT_EQ(name(".lead.trail."), "_lead_trail_");
  EXPECT_EQ(name("5xx.errors"), "_5xx_errors");
  EXPECT_EQ(name("5xx.errors", "app"), "app_5xx_errors");
  EXPECT_EQ(name("requests.total", "app"), "app_requests_total");
  EXPECT_EQ(name("größe"), "größe");
  // No ratio either.
  EXPECT_EQ(PromMetricName(MakeMetric("cpu", "1", 'g'), "", false), "cpu");
}

// ---------------------------------------------------------------------------------------------
// Golden files: testdata/prometheus/*.txt. Each file is
//
//   # what the case shows (any number of comment lines)
//   settings: namespace=app add_metric_suffixes=false external_label=env=prod ...   (optional)
//   input:
//   <an ExportMetricsServiceRequest as OTLP/JSON>
//   output:
//   <the rendering of the translation (see Render)>
//
// To add a case, write the comments, settings and input with an empty output, run
// `SPROUT_UPDATE_GOLDEN=1 otlp_test --gtest_filter='PromGolden*'`, and check what it wrote.

std::string Num(double v) {
  if (std::isnan(v)) return Bits(v) == kStaleBits ? "NaN(stale)" : "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof(buf), v);  // shortest round trip
  return std::string(buf, result.ptr);
}

std::string Quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

// {a="1",b="2"} in stored order, __name__ left out (it is written in front).
std::string RenderLabels(const google::protobuf::RepeatedPtrField<prometheus::Label>& labels) {
  std::vector<std::string> parts;
  for (const auto& label : labels) {
    if (label.name() != "__name__") parts.push_back(label.name() + "=" + Quoted(label.value()));
  }
  std::string out = "{";
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? "," : "") + parts[i];
  return out + "}";
}

std::string RenderSpans(const google::protobuf::RepeatedPtrField<prometheus::BucketSpan>& spans) {
  std::string out = "[";
  for (int i = 0; i < spans.size(); ++i) {
    absl::StrAppend(&out, i ? "," : "", spans[i].offset(), ":", spans[i].length());
  }
  return out + "]";
}

template <typename T>
std::string RenderList(const google::protobuf::RepeatedField<T>& values) {
  std::string out = "[";
  for (int i = 0; i < values.size(); ++i) {
    if constexpr (std::is_floating_point_v<T>) {
      absl::StrAppend(&out, i ? "," : "", Num(values[i]));
    } else {
      absl::StrAppend(&out, i ? "," : "", values[i]);
    }
  }
  return out + "]";
}

std::string RenderHistogram(const prometheus::Histogram& h) {
  std::string out = absl::StrCat("  histogram @", h.timestamp());
  if (h.has_count_int()) {
    if (h.count_int() == kStaleBits) {
      absl::StrAppend(&out, " count=0x7ff0000000000002(stale)");
    } else {
      absl::StrAppend(&out, " count=", h.count_int());
    }
  }
  if (h.has_count_float()) absl::StrAppend(&out, " count_float=", Num(h.count_float()));
  absl::StrAppend(&out, " sum=", Num(h.sum()), " schema=", h.schema(),
                  " zero_threshold=", Num(h.zero_threshold()));
  if (h.has_zero_count_int()) absl::StrAppend(&out, " zero_count=", h.zero_count_int());
  if (h.has_zero_count_float()) {
    absl::StrAppend(&out, " zero_count_float=", Num(h.zero_count_float()));
  }
  absl::StrAppend(&out, " reset=", prometheus::Histogram::ResetHint_Name(h.reset_hint()));
  if (h.positive_spans_size() > 0) {
    absl::StrAppend(&out, " positive_spans=", RenderSpans(h.positive_spans()));
  }
  if (h.positive_deltas_size() > 0) {
    absl::StrAppend(&out, " positive_deltas=", RenderList(h.positive_deltas()));
  }
  if (h.positive_counts_size() > 0) {
    absl::StrAppend(&out, " positive_counts=", RenderList(h.positive_counts()));
  }
  if (h.negative_spans_size() > 0) {
    absl::StrAppend(&out, " negative_spans=", RenderSpans(h.negative_spans()));
  }
  if (h.negative_deltas_size() > 0) {
    absl::StrAppend(&out, " negative_deltas=", RenderList(h.negative_deltas()));
  }
  if (h.negative_counts_size() > 0) {
    absl::StrAppend(&out, " negative_counts=", RenderList(h.negative_counts()));
  }
  return out;
}

// One line per series: `name{labels} value @ms value @ms ...`, then its native histograms and
// exemplars indented; then metadata, errors and the dropped point count.
std::string Render(const PromTranslation& t) {
  std::string out;
  for (const auto& series : t.series) {
    std::string name;
    for (const auto& label : series.labels()) {
      if (label.name() == "__name__") name = label.value();
    }
    absl::StrAppend(&out, name, RenderLabels(series.labels()));
    for (const auto& sample : series.samples()) {
      absl::StrAppend(&out, " ", Num(sample.value()), " @", sample.timestamp());
    }
    out += "\n";
    for (const auto& histogram : series.histograms()) out += RenderHistogram(histogram) + "\n";
    for (const auto& exemplar : series.exemplars()) {
      absl::StrAppend(&out, "  exemplar", RenderLabels(exemplar.labels()), " ",
                      Num(exemplar.value()), " @", exemplar.timestamp(), "\n");
    }
  }
  for (const auto& metadata : t.metadata) {
    std::string type = prometheus::MetricMetadata::MetricType_Name(metadata.type());
    std::transform(type.begin(), type.end(), type.begin(), ::tolower);
    absl::StrAppend(&out, "metadata ", type, " ", metadata.metric_family_name(),
                    " help=", Quoted(metadata.help()), " unit=", Quoted(metadata.unit()), "\n");
  }
  for (const auto& error : t.errors) absl::StrAppend(&out, "error: ", error, "\n");
  if (t.dropped_points != 0) absl::StrAppend(&out, "dropped_points: ", t.dropped_points, "\n");
  return out;
}

// What every translation must satisfy, whatever the input.
void CheckInvariants(const PromTranslation& t, const std::string& context) {
  std::set<std::vector<std::pair<std::string, std::string>>> seen;
  for (const auto& series : t.series) {
    std::vector<std::pair<std::string, std::string>> labels;
    for (int i = 0; i < series.labels_size(); ++i) {
      const auto& label = series.labels(i);
      EXPECT_FALSE(label.name().empty()) << context;
      EXPECT_FALSE(label.value().empty()) << context << " " << label.name();
      if (i > 0) {
        EXPECT_LT(series.labels(i - 1).name(), label.name())
            << context << ": labels must be sorted by name, without duplicates";
      }
      labels.emplace_back(label.name(), label.value());
    }
    EXPECT_TRUE(seen.insert(labels).second) << context << ": label set in two series";
    auto sorted_by_time = [](const auto& items) {
      return std::is_sorted(items.begin(), items.end(), [](const auto& a, const auto& b) {
        return a.timestamp() < b.timestamp();
      });
    };
    EXPECT_TRUE(sorted_by_time(series.samples())) << context;
    EXPECT_TRUE(sorted_by_time(series.exemplars())) << context;
    EXPECT_TRUE(sorted_by_time(series.histograms())) << context;
    for (const auto& exemplar : series.exemplars()) {
      for (int i = 1; i < exemplar.labels_size(); ++i) {
        EXPECT_LT(exemplar.labels(i - 1).name(), exemplar.labels(i).name()) << context;
      }
    }
  }
}

// The WriteRequest overload (on an arena) must produce exactly what the vector one does.
void ExpectSameAsArenaOverload(const pb::metrics_service::ExportMetricsServiceRequest& request,
                               const PromTranslationSettings& settings,
                               const PromTranslation& expected) {
  google::protobuf::Arena arena;
  auto* out = google::protobuf::Arena::CreateMessage<prometheus::WriteRequest>(&arena);
  std::vector<std::string> errors;
  int64_t dropped_points = 0;
  TranslateMetrics(request, settings, out, &errors, &dropped_points);
  ASSERT_EQ(static_cast<size_t>(out->timeseries_size()), expected.series.size());
  for (int i = 0; i < out->timeseries_size(); ++i) {
    // Serialized bytes compare NaN payloads too.
    EXPECT_EQ(out->timeseries(i).SerializeAsString(),
              expected.series[static_cast<size_t>(i)].SerializeAsString());
  }
  ASSERT_EQ(static_cast<size_t>(out->metadata_size()), expected.metadata.size());
  for (int i = 0; i < out->metadata_size(); ++i) {
    EXPECT_EQ(out->metadata(i).SerializeAsString(),
              expected.metadata[static_cast<size_t>(i)].SerializeAsString());
  }
  EXPECT_EQ(errors, expected.errors);
  EXPECT_EQ(dropped_points, expected.dropped_points);
}

struct GoldenCase {
  std::string header;  // comment and settings lines, kept as written
  PromTranslationSettings settings;
  std::string input;
  std::string expected;
};

bool ParseBool(std::string_view text) {
  EXPECT_TRUE(text == "true" || text == "false") << text;
  return text == "true";
}

void ParseSettings(std::string_view line, PromTranslationSettings* settings) {
  for (absl::string_view token : absl::StrSplit(AV(line), ' ', absl::SkipEmpty())) {
    const auto eq = token.find('=');
    ASSERT_NE(eq, absl::string_view::npos) << token;
    const std::string key(token.substr(0, eq));
    const std::string value(token.substr(eq + 1));
    if (key == "namespace") {
      settings->metric_namespace = value;
    } else if (key == "add_metric_suffixes") {
      settings->add_metric_suffixes = ParseBool(value);
    } else if (key == "external_label") {
      const auto eq2 = value.find('=');
      ASSERT_NE(eq2, std::string::npos) << value;
      settings->external_labels.emplace_back(value.substr(0, eq2), value.substr(eq2 + 1));
    } else if (key == "resource_to_telemetry_conversion") {
      settings->resource_to_telemetry_conversion = ParseBool(value);
    } else if (key == "promote_resource_attribute") {
      settings->promote_resource_attributes.push_back(value);
    } else if (key == "exclude_service_attributes") {
      settings->exclude_service_attributes = ParseBool(value);
    } else if (key == "target_info") {
      settings->target_info = ParseBool(value);
    } else if (key == "scope_labels") {
      settings->scope_labels = ParseBool(value);
    } else if (key == "send_metadata") {
      settings->send_metadata = ParseBool(value);
    } else if (key == "permissive_label_sanitization") {
      settings->permissive_label_sanitization = ParseBool(value);
    } else {
      FAIL() << "unknown setting " << key;
    }
  }
}

GoldenCase ReadGolden(const std::filesystem::path& path) {
  std::ifstream file(path);
  std::stringstream content;
  content << file.rdbuf();
  GoldenCase c;
  enum { kHeader, kInput, kOutput } section = kHeader;
  std::string line;
  while (std::getline(content, line)) {
    if (section == kHeader) {
      if (line == "input:") {
        section = kInput;
        continue;
      }
      c.header += line + "\n";
      if (line.rfind("settings:", 0) == 0) ParseSettings(line.substr(9), &c.settings);
    } else if (section == kInput) {
      if (line == "output:") {
        section = kOutput;
        continue;
      }
      c.input += line + "\n";
    } else {
      c.expected += line + "\n";
    }
  }
  EXPECT_EQ(section, kOutput) << path << ": needs `input:` and `output:` lines";
  return c;
}

std::vector<std::filesystem::path> GoldenFiles() {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(SPROUT_PROMETHEUS_TESTDATA)) {
    if (entry.path().extension() == ".txt") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(PromGolden, AllCases) {
  const bool update = std::getenv("SPROUT_UPDATE_GOLDEN") != nullptr;
  const auto files = GoldenFiles();
  EXPECT_GE(files.size(), 20u);
  for (const auto& path : files) {
    SCOPED_TRACE(path.filename().string());
    const GoldenCase c = ReadGolden(path);
    pb::metrics_service::ExportMetricsServiceRequest request;
    const absl::Status parsed = ParseJson(c.input, &request);
    ASSERT_TRUE(parsed.ok()) << parsed.message();
    const PromTranslation translation = TranslateMetrics(request, c.settings);
    CheckInvariants(translation, path.filename().string());
    ExpectSameAsArenaOverload(request, c.settings, translation);
    const std::string actual = Render(translation);
    if (update) {
      std::ofstream(path) << c.header << "input:\n" << c.input << "output:\n" << actual;
      continue;
    }
    EXPECT_EQ(actual, c.expected) << "run with SPROUT_UPDATE_GOLDEN=1 to rewrite " << path;
  }
}

// A sink written only from prometheus_sink.h's contract: it keys series by their label text,
// copies what it keeps, sorts at Finish, and checks what the contract promises on every call.
class ContractSink : public PromSink {
 public:
  explicit ContractSink(PromTranslation* out) : out_(out) {}

  PromSeriesRef Series(PromLabels labels, uint64_t hash) override {
    std::string key;
    for (size_t i = 0; i < labels.size(); ++i) {
      EXPECT_FALSE(labels[i].value.empty()) << labels[i].name;
      if (i > 0) {
        EXPECT_LT(labels[i - 1].name, labels[i].name) << "sorted, unique names";
      }
      key.append(labels[i].name).push_back('\0');
      key.append(labels[i].value).push_back('\0');
    }
    auto [it, inserted] = refs_.try_emplace(key, out_->series.size());
    if (inserted) {
      auto& series = out_->series.emplace_back();
      for (const PromLabel& label : labels) {
        auto* added = series.add_labels();
        added->set_name(std::string(label.name));
        added->set_value(std::string(label.value));
      }
      hashes_.push_back(hash);
    } else {
      EXPECT_EQ(hashes_[it->second], hash) << "equal label sets hash equally";
    }
    return it->second;
  }
  void Sample(PromSeriesRef series, int64_t timestamp_ms, double value) override {
    auto* sample = out_->series[series].add_samples();
    sample->set_timestamp(timestamp_ms);
    sample->set_value(value);
  }
  void Histogram(PromSeriesRef series, const PromHistogram& h) override {
    auto* out = out_->series[series].add_histograms();
    out->set_timestamp(h.timestamp_ms);
    out->set_schema(h.schema);
    out->set_zero_threshold(h.zero_threshold);
    out->set_zero_count_int(h.zero_count);
    out->set_count_int(h.count);
    out->set_sum(h.sum);
    out->set_reset_hint(prometheus::Histogram::UNKNOWN);
    for (const auto& span : h.positive_spans) {
      auto* added = out->add_positive_spans();
      added->set_offset(span.offset);
      added->set_length(span.length);
    }
    for (int64_t delta : h.positive_deltas) out->add_positive_deltas(delta);
    for (const auto& span : h.negative_spans) {
      auto* added = out->add_negative_spans();
      added->set_offset(span.offset);
      added->set_length(span.length);
    }
    for (int64_t delta : h.negative_deltas) out->add_negative_deltas(delta);
  }
  void Exemplar(PromSeriesRef series, const PromExemplar& exemplar) override {
    auto* out = out_->series[series].add_exemplars();
    out->set_timestamp(exemplar.timestamp_ms);
    out->set_value(exemplar.value);
    for (const PromLabel& label : exemplar.labels) {
      auto* added = out->add_labels();
      added->set_name(std::string(label.name));
      added->set_value(std::string(label.value));
    }
  }
  void Metadata(const PromMetadata& m) override {
    auto& metadata = out_->metadata.emplace_back();
    metadata.set_type(static_cast<prometheus::MetricMetadata::MetricType>(m.type));
    metadata.set_metric_family_name(std::string(m.family));
    metadata.set_help(std::string(m.help));
    metadata.set_unit(std::string(m.unit));
  }
  void Finish() override {
    ++finished_;
    auto by_time = [](const auto& a, const auto& b) { return a.timestamp() < b.timestamp(); };
    for (auto& series : out_->series) {
      std::stable_sort(series.mutable_samples()->begin(), series.mutable_samples()->end(), by_time);
      std::stable_sort(series.mutable_exemplars()->begin(), series.mutable_exemplars()->end(),
                       by_time);
      std::stable_sort(series.mutable_histograms()->begin(), series.mutable_histograms()->end(),
                       by_time);
    }
  }
  int finished() const { return finished_; }

 private:
  PromTranslation* out_;
  std::map<std::string, size_t> refs_;
  std::vector<uint64_t> hashes_;
  int finished_ = 0;
};

// The generic sink receives everything the remote-write output holds: every golden case,
// translated into ContractSink, renders exactly as the remote-write translation does.
TEST(PromSink, CarriesEverythingTheRemoteWriteOutputHolds) {
  for (const auto& path : GoldenFiles()) {
    SCOPED_TRACE(path.filename().string());
    const GoldenCase c = ReadGolden(path);
    pb::metrics_service::ExportMetricsServiceRequest request;
    ASSERT_TRUE(ParseJson(c.input, &request).ok());
    PromTranslation via_sink;
    ContractSink sink(&via_sink);
    TranslateMetrics(request, c.settings, &sink, &via_sink.errors, &via_sink.dropped_points);
    EXPECT_EQ(sink.finished(), 1);
    const PromTranslation direct = TranslateMetrics(request, c.settings);
    EXPECT_EQ(Render(via_sink), Render(direct));
    EXPECT_EQ(via_sink.errors, direct.errors);
    EXPECT_EQ(via_sink.dropped_points, direct.dropped_points);
    ASSERT_EQ(via_sink.series.size(), direct.series.size());
    for (size_t i = 0; i < direct.series.size(); ++i) {
      EXPECT_EQ(via_sink.series[i].SerializeAsString(), direct.series[i].SerializeAsString());
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Properties checked in code, where a rendering would hide them.

pb::metrics_service::ExportMetricsServiceRequest FromJson(std::string_view json) {
  pb::metrics_service::ExportMetricsServiceRequest request;
  const absl::Status status = ParseJson(json, &request);
  EXPECT_TRUE(status.ok()) << status.message();
  return request;
}

TEST(PromTranslate, NoRecordedValueIsTheStaleMarkerEverywhere) {
  const auto request = FromJson(R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[
    {"name":"g","gauge":{"dataPoints":[{"timeUnixNano":"1000000000","asDouble":5,"flags":1}]}},
    {"name":"c","sum":{"aggregationTemporality":2,"isMonotonic":true,
      "dataPoints":[{"timeUnixNano":"1000000000","asInt":"5","flags":1}]}},
    {"name":"h","histogram":{"aggregationTemporality":2,"dataPoints":[{"timeUnixNano":"1000000000",
      "count":"3","sum":2,"bucketCounts":["1","2"],"explicitBounds":[1],"flags":1}]}},
    {"name":"s","summary":{"dataPoints":[{"timeUnixNano":"1000000000","count":"3","sum":2,
      "quantileValues":[{"quantile":0.5,"value":1}],"flags":1}]}},
    {"name":"e","exponentialHistogram":{"aggregationTemporality":2,"dataPoints":[
      {"timeUnixNano":"1000000000","count":"3","sum":2,"scale":1,"zeroCount":"1",
       "positive":{"offset":0,"bucketCounts":["2"]},"flags":1}]}}]}]}]})");
  const PromTranslation t = TranslateMetrics(request, {});
  EXPECT_TRUE(t.errors.empty());
  int samples = 0;
  int histograms = 0;
  for (const auto& series : t.series) {
    for (const auto& sample : series.samples()) {
      EXPECT_EQ(Bits(sample.value()), kStaleBits) << series.DebugString();
      ++samples;
    }
    for (const auto& h : series.histograms()) {
      // The Collector's shape: an integer histogram whose count_int is the stale NaN's bit
      // pattern, sum the stale NaN, zero count and buckets as usual.
      EXPECT_EQ(Bits(h.sum()), kStaleBits);
      ASSERT_TRUE(h.has_count_int());
      EXPECT_EQ(h.count_int(), kStaleBits);
      ASSERT_TRUE(h.has_zero_count_int());
      EXPECT_EQ(h.zero_count_int(), 1u);
      EXPECT_THAT(h.positive_deltas(), ElementsAre(2));
      EXPECT_TRUE(h.positive_counts().empty());
      ++histograms;
    }
  }
  // g, c, h_sum, h_count, h_bucket{le=1}, h_bucket{le=+Inf}, s_sum, s_count, s{quantile}.
  EXPECT_EQ(samples, 9);
  EXPECT_EQ(histograms, 1);
}

TEST(PromTranslate, DistinctLabelSetsStayDistinct) {
  // Values that would run together without separators: {a="bc"} and {ab="c"}, and many values.
  std::string json = R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"g","gauge":{
    "dataPoints":[
      {"attributes":[{"key":"a","value":{"stringValue":"bc"}}],
       "timeUnixNano":"1000000","asInt":"1"},
      {"attributes":[{"key":"ab","value":{"stringValue":"c"}}],
       "timeUnixNano":"1000000","asInt":"2"})";
  for (int i = 0; i < 500; ++i) {
    absl::StrAppend(&json, R"(,{"attributes":[{"key":"i","value":{"intValue":")", i,
                    R"("}}],"timeUnixNano":"1000000","asInt":"3"})");
  }
  json += "]}}]}]}]}";
  const PromTranslation t = TranslateMetrics(FromJson(json), {});
  EXPECT_EQ(t.series.size(), 502u);
  CheckInvariants(t, "distinct");
}

TEST(PromTranslate, IdenticalLabelSetsMergeInTimeOrder) {
  // The same series from two resources and two scopes, newest first.
  const auto request = FromJson(R"({"resourceMetrics":[
    {"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},
     "scopeMetrics":[{"metrics":[{"name":"g","gauge":{"dataPoints":[
       {"timeUnixNano":"3000000","asInt":"3"}]}}]},
      {"metrics":[{"name":"g","gauge":{"dataPoints":[{"timeUnixNano":"1000000","asInt":"1"}]}}]}]},
    {"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},
     "scopeMetrics":[{"metrics":[{"name":"g","gauge":{"dataPoints":[
       {"timeUnixNano":"2000000","asInt":"2"}]}}]}]}]})");
  const PromTranslation t = TranslateMetrics(request, {});
  ASSERT_EQ(t.series.size(), 1u);
  std::vector<std::pair<double, int64_t>> samples;
  for (const auto& s : t.series[0].samples()) samples.emplace_back(s.value(), s.timestamp());
  EXPECT_THAT(samples,
              ElementsAre(std::pair<double, int64_t>{1, 1}, std::pair<double, int64_t>{2, 2},
                          std::pair<double, int64_t>{3, 3}));
}

TEST(PromTranslate, WriteRequestOverloadAppends) {
  const auto request = FromJson(R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[
    {"name":"g","gauge":{"dataPoints":[{"timeUnixNano":"1000000","asInt":"1"},
                                       {"timeUnixNano":"2000000","asInt":"2"}]}},
    {"name":"d","sum":{"aggregationTemporality":1,"dataPoints":[{"asInt":"1"}]}}]}]}]})");
  prometheus::WriteRequest out;
  auto* existing = out.add_timeseries();
  auto* label = existing->add_labels();
  label->set_name("__name__");
  label->set_value("g");
  std::vector<std::string> errors = {"earlier"};
  int64_t dropped_points = 5;
  TranslateMetrics(request, {}, &out, &errors, &dropped_points);
  // The earlier series is left alone; the new points make their own.
  ASSERT_EQ(out.timeseries_size(), 2);
  EXPECT_EQ(out.timeseries(0).samples_size(), 0);
  EXPECT_EQ(out.timeseries(1).samples_size(), 2);
  EXPECT_THAT(errors,
              ElementsAre("earlier", R"(invalid temporality and type combination for metric "d")"));
  EXPECT_EQ(dropped_points, 6);
}

// Random requests, extreme values included: no crash (the sanitizer build checks memory), the
// invariants hold, and both overloads agree.
TEST(PromTranslate, RandomRequestsKeepInvariants) {
  std::mt19937_64 rng(42);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  const std::vector<std::string> keys = {"a",   "a.b",      "a_b",      "1x",  "_y",
                                         "__z", "größe",    "\xff",     "job", "instance",
                                         "le",  "quantile", "__name__", ""};
  const std::vector<double> doubles = {
      0, -0.0, 1.5, 1e300, -1e-300, std::nan(""), std::numeric_limits<double>::infinity()};
  auto attributes = [&](google::protobuf::RepeatedPtrField<pb::common::KeyValue>* out) {
    for (int n = pick(5); n > 0; --n) {
      auto* kv = out->Add();
      kv->set_key(keys[static_cast<size_t>(pick(static_cast<int>(keys.size())))]);
      switch (pick(4)) {
        case 0:
          kv->mutable_value()->set_string_value(pick(3) ? "v" : "");
          break;
        case 1:
          kv->mutable_value()->set_int_value(static_cast<int64_t>(rng()));
          break;
        case 2:
          kv->mutable_value()->set_double_value(doubles[static_cast<size_t>(pick(7))]);
          break;
        default:
          kv->mutable_value()->mutable_array_value()->add_values()->set_double_value(
              doubles[static_cast<size_t>(pick(7))]);
      }
    }
  };
  const std::vector<int32_t> scales = {-100, -5, -4, 0, 3, 8, 9, 20, 100, INT32_MAX, INT32_MIN};
  const std::vector<int32_t> offsets = {0, -3, 7, INT32_MAX, INT32_MIN, INT32_MAX - 2};
  for (int round = 0; round < 200; ++round) {
    pb::metrics_service::ExportMetricsServiceRequest request;
    for (int r = pick(3) + 1; r > 0; --r) {
      auto* rm = request.add_resource_metrics();
      attributes(rm->mutable_resource()->mutable_attributes());
      if (pick(2)) {
        auto* kv = rm->mutable_resource()->add_attributes();
        kv->set_key("service.name");
        kv->mutable_value()->set_string_value("svc");
      }
      auto* sm = rm->add_scope_metrics();
      sm->mutable_scope()->set_name(pick(2) ? "scope" : "");
      attributes(sm->mutable_scope()->mutable_attributes());
      for (int m = pick(6); m > 0; --m) {
        auto* metric = sm->add_metrics();
        metric->set_name(keys[static_cast<size_t>(pick(static_cast<int>(keys.size())))]);
        metric->set_unit(pick(2) ? "s" : "1");
        const auto temporality = pick(4) ? pb::metrics::AGGREGATION_TEMPORALITY_CUMULATIVE
                                         : pb::metrics::AGGREGATION_TEMPORALITY_DELTA;
        const int points = pick(4);
        const uint64_t time = rng() % 3 * 1000000;
        const uint32_t flags = pick(4) == 0 ? 1 : 0;
        switch (pick(6)) {
          case 0:
          case 1: {
            auto* sum = metric->mutable_sum();
            sum->set_aggregation_temporality(temporality);
            sum->set_is_monotonic(pick(2));
            for (int p = 0; p < points; ++p) {
              auto* point = sum->add_data_points();
              point->set_time_unix_nano(time);
              point->set_as_double(doubles[static_cast<size_t>(pick(7))]);
              point->set_flags(flags);
              attributes(point->mutable_attributes());
              auto* exemplar = point->add_exemplars();
              exemplar->set_trace_id(std::string(static_cast<size_t>(pick(17)), '\x7f'));
              attributes(exemplar->mutable_filtered_attributes());
            }
            break;
          }
          case 2: {
            auto* histogram = metric->mutable_histogram();
            histogram->set_aggregation_temporality(temporality);
            for (int p = 0; p < points; ++p) {
              auto* point = histogram->add_data_points();
              point->set_time_unix_nano(time);
              point->set_flags(flags);
              for (int b = pick(4); b > 0; --b) point->add_explicit_bounds(b * 0.5);
              for (int b = pick(5); b > 0; --b) point->add_bucket_counts(rng() % 5);
              point->set_count(rng() % 20);
              if (pick(2)) point->set_sum(1.5);
              attributes(point->mutable_attributes());
              point->add_exemplars()->set_as_double(doubles[static_cast<size_t>(pick(7))]);
            }
            break;
          }
          case 3: {
            auto* histogram = metric->mutable_exponential_histogram();
            histogram->set_aggregation_temporality(temporality);
            for (int p = 0; p < points; ++p) {
              auto* point = histogram->add_data_points();
              point->set_time_unix_nano(time);
              point->set_flags(flags);
              point->set_scale(scales[static_cast<size_t>(pick(static_cast<int>(scales.size())))]);
              for (auto* buckets : {point->mutable_positive(), point->mutable_negative()}) {
                buckets->set_offset(
                    offsets[static_cast<size_t>(pick(static_cast<int>(offsets.size())))]);
                for (int b = pick(12); b > 0; --b) buckets->add_bucket_counts(rng() % 3);
              }
              attributes(point->mutable_attributes());
            }
            break;
          }
          case 4: {
            auto* summary = metric->mutable_summary();
            for (int p = 0; p < points; ++p) {
              auto* point = summary->add_data_points();
              point->set_time_unix_nano(time);
              point->set_flags(flags);
              point->add_quantile_values()->set_quantile(doubles[static_cast<size_t>(pick(7))]);
              attributes(point->mutable_attributes());
            }
            break;
          }
          default: {
            auto* gauge = metric->mutable_gauge();
            for (int p = 0; p < points; ++p) {
              auto* point = gauge->add_data_points();
              point->set_time_unix_nano(time);
              point->set_as_int(static_cast<int64_t>(rng()));
              attributes(point->mutable_attributes());
            }
          }
        }
      }
    }
    PromTranslationSettings settings;
    settings.resource_to_telemetry_conversion = pick(2);
    settings.send_metadata = pick(2);
    settings.add_metric_suffixes = pick(2);
    settings.permissive_label_sanitization = pick(2);
    if (pick(2)) settings.external_labels = {{"job", "x"}, {"a.b", "y"}, {"", "z"}};
    const PromTranslation t = TranslateMetrics(request, settings);
    CheckInvariants(t, absl::StrCat("round ", round));
    ExpectSameAsArenaOverload(request, settings, t);
    if (HasFailure()) {
      ADD_FAILURE() << request.DebugString();
      return;
    }
  }
}

TEST(PromTranslate, EmptyRequest) {
  const PromTranslation t = TranslateMetrics({}, {});
  EXPECT_TRUE(t.series.empty());
  EXPECT_TRUE(t.metadata.empty());
  EXPECT_TRUE(t.errors.empty());
  EXPECT_EQ(t.dropped_points, 0);
}

TEST(PromTranslate, ManyAttributesAndLongValuesSurviveThePool) {
  // More label text than one pool chunk, to cover views across chunks.
  std::string json = R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"g","gauge":{
    "dataPoints":[{"timeUnixNano":"1000000","asInt":"1","attributes":[)";
  // Each "long" value is a list of 30 ints, formatted into the pool as 300 bytes of JSON.
  std::string list_json;
  std::string list_text = "[";
  for (int j = 0; j < 30; ++j) {
    absl::StrAppend(&list_json, j ? "," : "", R"({"intValue":"123456789"})");
    absl::StrAppend(&list_text, j ? "," : "", "123456789");
  }
  list_text += "]";
  for (int i = 0; i < 40; ++i) {
    absl::StrAppend(&json, i ? "," : "", R"({"key":"k.)", i, R"(","value":{"intValue":")",
                    std::string(18, '9'), R"("}},{"key":"long)", i,
                    R"(","value":{"arrayValue":{"values":[)", list_json, "]}}}");
  }
  json += "]}]}}]}]}]}";
  const PromTranslation t = TranslateMetrics(FromJson(json), {});
  ASSERT_EQ(t.series.size(), 1u);
  EXPECT_EQ(t.series[0].labels_size(), 81);
  for (const auto& label : t.series[0].labels()) {
    if (label.name().rfind("k_", 0) == 0) {
      EXPECT_EQ(label.value(), std::string(18, '9'));
    } else if (label.name().rfind("long", 0) == 0) {
      EXPECT_EQ(label.value(), list_text);
    }
  }
  CheckInvariants(t, "pool");
}

}  // namespace
}  // namespace sprout::otlp
