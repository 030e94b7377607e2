#include "traces/generator/generator.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace sprout::traces::generator {
namespace {

using opentelemetry::proto::trace::v1::ResourceSpans;

bool Has(const std::vector<std::string>& list, std::string_view name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

// yaml.v2's plain integer (Go's ParseInt base 0): an optional sign, then decimal digits, 0x hex,
// 0o or a leading 0 octal, or 0b binary.
bool ParseYamlInt(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  std::string_view body = s;
  bool negative = false;
  if (body[0] == '+' || body[0] == '-') {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  if (body.empty()) return false;
  int base = 10;
  if (body.size() > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X')) {
    base = 16;
    body.remove_prefix(2);
  } else if (body.size() > 2 && body[0] == '0' && (body[1] == 'o' || body[1] == 'O')) {
    base = 8;
    body.remove_prefix(2);
  } else if (body.size() > 2 && body[0] == '0' && (body[1] == 'b' || body[1] == 'B')) {
    base = 2;
    body.remove_prefix(2);
  } else if (body.size() > 1 && body[0] == '0') {
    base = 8;
    body.remove_prefix(1);
  }
  uint64_t v = 0;
  for (char c : body) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (base == 16 && absl::ascii_isxdigit(static_cast<unsigned char>(c))) {
      d = absl::ascii_tolower(static_cast<unsigned char>(c)) - 'a' + 10;
    } else {
      return false;
    }
    if (d >= base) return false;
    if (v > (std::numeric_limits<uint64_t>::max() - d) / base) return false;
    v = v * base + d;
  }
  const uint64_t limit =
      negative ? uint64_t{1} << 63 : static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (v > limit) return false;
  *out = negative ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
  return true;
}

// YAML's plain float: [-+]? ( . digits | digits [. digits*] ) [eE [-+]? digits], or .inf / .nan.
bool ParseYamlFloat(std::string_view s, double* out) {
  std::string_view body = s;
  double sign = 1;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    sign = body[0] == '-' ? -1 : 1;
    body.remove_prefix(1);
  }
  if (body == ".inf" || body == ".Inf" || body == ".INF") {
    *out = sign * std::numeric_limits<double>::infinity();
    return true;
  }
  if (s == ".nan" || s == ".NaN" || s == ".NAN") {
    *out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  size_t i = 0;
  size_t int_digits = 0, frac_digits = 0;
  while (i < body.size() && absl::ascii_isdigit(static_cast<unsigned char>(body[i]))) {
    ++i;
    ++int_digits;
  }
  if (i < body.size() && body[i] == '.') {
    ++i;
    while (i < body.size() && absl::ascii_isdigit(static_cast<unsigned char>(body[i]))) {
      ++i;
      ++frac_digits;
    }
  }
  if (int_digits + frac_digits == 0) return false;
  if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
    ++i;
    if (i < body.size() && (body[i] == '+' || body[i] == '-')) ++i;
    size_t exp_digits = 0;
    while (i < body.size() && absl::ascii_isdigit(static_cast<unsigned char>(body[i]))) {
      ++i;
      ++exp_digits;
    }
    if (exp_digits == 0) return false;
  }
  if (i != body.size()) return false;
  return absl::SimpleAtod(absl::string_view(s.data(), s.size()), out);
}

std::optional<PolicyMatch> MapMatch(const traces::PolicyMatch& in) {
  if (!in.present) return std::nullopt;
  PolicyMatch out;
  out.match_type = in.match_type == "regex" ? MatchType::kRegex : MatchType::kStrict;
  for (const traces::PolicyAttribute& a : in.attributes) {
    out.attributes.push_back(PolicyAttribute{a.key, TypePolicyValue(a.value)});
  }
  return out;
}

std::vector<FilterPolicy> MapPolicies(const std::vector<traces::FilterPolicy>& in) {
  std::vector<FilterPolicy> out;
  out.reserve(in.size());
  for (const traces::FilterPolicy& p : in) {
    out.push_back(FilterPolicy{MapMatch(p.include), MapMatch(p.include_any), MapMatch(p.exclude)});
  }
  return out;
}

}  // namespace

std::variant<std::string, int64_t, double, bool> TypePolicyValue(const std::string& text) {
  // yaml.v2's resolve table (YAML 1.1 booleans), as Tempo's config loader reads an untyped value.
  static constexpr const char* kTrue[] = {"y",    "Y",    "yes", "Yes", "YES", "true",
                                          "True", "TRUE", "on",  "On",  "ON"};
  static constexpr const char* kFalse[] = {"n",     "N",     "no",  "No",  "NO", "false",
                                           "False", "FALSE", "off", "Off", "OFF"};
  for (const char* t : kTrue) {
    if (text == t) return true;
  }
  for (const char* f : kFalse) {
    if (text == f) return false;
  }
  if (text == "+.inf" || text == "+.Inf" || text == "+.INF" || text == "-.inf" || text == "-.Inf" ||
      text == "-.INF" || text == ".inf" || text == ".Inf" || text == ".INF" || text == ".nan" ||
      text == ".NaN" || text == ".NAN") {
    double d;
    if (ParseYamlFloat(text, &d)) return d;
  }
  // Numbers: only a scalar starting with a sign, a digit or '.' (yaml.v2's hint), with its
  // underscores removed.
  const char c = text.empty() ? '\0' : text[0];
  if (c == '+' || c == '-' || c == '.' || (c >= '0' && c <= '9')) {
    std::string plain = text;
    plain.erase(std::remove(plain.begin(), plain.end(), '_'), plain.end());
    int64_t i;
    if (ParseYamlInt(plain, &i)) return i;
    double d;
    if (ParseYamlFloat(plain, &d)) return d;
  }
  return text;
}

EnabledProcessors ParseProcessors(const std::vector<std::string>& processors) {
  EnabledProcessors e;
  const bool sm = Has(processors, "span-metrics");
  const bool sm_count = Has(processors, "span-metrics-count");
  const bool sm_latency = Has(processors, "span-metrics-latency");
  const bool sm_size = Has(processors, "span-metrics-size");
  if (sm) {
    e.span_metrics = e.span_metrics_count = e.span_metrics_latency = e.span_metrics_size = true;
  } else if (sm_count || sm_latency || sm_size) {
    e.span_metrics = true;
    e.span_metrics_count = sm_count;
    e.span_metrics_latency = sm_latency;
    e.span_metrics_size = sm_size;
    e.span_metrics_default_buckets = true;
  }
  const bool sg = Has(processors, "service-graphs");
  const bool sg_request = Has(processors, "service-graphs-request");
  const bool sg_latency = Has(processors, "service-graphs-latency");
  const bool sg_info = Has(processors, "service-graphs-connection-info");
  if (sg || sg_request || sg_latency || sg_info) {
    e.service_graphs = true;
    e.service_graphs_request = sg || sg_request;
    e.service_graphs_latency = sg || sg_latency;
    e.service_graphs_connection_info = sg_info;
  }
  return e;
}

absl::StatusOr<SpanMetricsConfig> MapSpanMetricsConfig(const traces::SpanMetricsConfig& in,
                                                       const EnabledProcessors& enabled,
                                                       HistogramMode mode) {
  SpanMetricsConfig out;
  out.intrinsic_dimensions.service = in.intrinsic_dimensions.service;
  out.intrinsic_dimensions.span_name = in.intrinsic_dimensions.span_name;
  out.intrinsic_dimensions.span_kind = in.intrinsic_dimensions.span_kind;
  out.intrinsic_dimensions.status_code = in.intrinsic_dimensions.status_code;
  out.intrinsic_dimensions.status_message = in.intrinsic_dimensions.status_message;
  out.dimensions = in.dimensions;
  for (const traces::DimensionMapping& m : in.dimension_mappings) {
    out.dimension_mappings.push_back(DimensionMapping{m.name, m.source_labels, m.join});
  }
  out.filter_policies = MapPolicies(in.filter_policies);
  out.span_multiplier_key = in.span_multiplier_key;
  out.enable_target_info = in.enable_target_info;
  out.enable_instance_label = in.enable_instance_label;
  out.target_info_excluded_dimensions = in.target_info_excluded_dimensions;
  out.histogram_buckets =
      enabled.span_metrics_default_buckets ? DefaultSpanMetricsBuckets() : in.histogram_buckets;
  out.histogram_mode = mode;
  out.count = enabled.span_metrics_count;
  out.latency = enabled.span_metrics_latency;
  out.size = enabled.span_metrics_size;
  // The generator checks the slack once for every processor (as Tempo's instance does).
  out.ingestion_time_range_slack = absl::ZeroDuration();
  return out;
}

absl::StatusOr<ServiceGraphConfig> MapServiceGraphConfig(const traces::ServiceGraphsConfig& in,
                                                         const EnabledProcessors& enabled,
                                                         HistogramMode mode) {
  ServiceGraphConfig out;
  out.wait = in.wait;
  if (in.max_items <= 0 || in.max_items > std::numeric_limits<int>::max()) {
    return absl::InvalidArgumentError(
        absl::StrCat("service_graphs: max_items ", in.max_items, " out of range"));
  }
  out.max_items = static_cast<int>(in.max_items);
  out.peer_attributes = in.peer_attributes;
  out.database_name_attributes = in.database_name_attributes;
  out.dimensions = in.dimensions;
  out.enable_client_server_prefix = in.enable_client_server_prefix;
  out.enable_virtual_node_label = in.enable_virtual_node_label;
  out.enable_messaging_system_latency_histogram = in.enable_messaging_system_latency_histogram;
  out.span_multiplier_key = in.span_multiplier_key;
  out.histogram_buckets = in.histogram_buckets;
  out.histogram_mode = mode;
  out.request = enabled.service_graphs_request;
  out.latency = enabled.service_graphs_latency;
  out.connection_info = enabled.service_graphs_connection_info;
  out.filter_policies = MapPolicies(in.filter_policies);
  return out;
}

absl::StatusOr<std::unique_ptr<TenantGenerator>> TenantGenerator::Create(
    std::string tenant, const traces::GeneratorConfig& config,
    const traces::GeneratorOverrides& overrides) {
  std::unique_ptr<TenantGenerator> g(new TenantGenerator());
  g->tenant_ = std::move(tenant);
  g->enabled_ = ParseProcessors(overrides.processors);
  g->collection_interval_ = overrides.collection_interval > absl::ZeroDuration()
                                ? overrides.collection_interval
                                : config.collection_interval;
  g->slack_ = overrides.ingestion_time_range_slack > absl::ZeroDuration()
                  ? overrides.ingestion_time_range_slack
                  : config.metrics_ingestion_time_range_slack;
  if (g->slack_ < absl::ZeroDuration() || g->slack_ > absl::Hours(12)) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics_generator: ingestion time range slack \"",
                     absl::FormatDuration(g->slack_), "\" must be between 0s and 12h"));
  }
  g->disable_collection_ = overrides.disable_collection;

  RegistryConfig rc;
  rc.stale_duration = config.stale_duration;
  for (const auto& [name, value] : config.external_labels) {
    if (name == config.inject_tenant_id_as) continue;  // the tenant label replaces it
    rc.external_labels.push_back(Label{name, value});
  }
  if (!config.inject_tenant_id_as.empty()) {
    rc.external_labels.push_back(Label{config.inject_tenant_id_as, g->tenant_});
  }
  rc.max_active_series = static_cast<uint32_t>(std::min<int64_t>(
      std::max<int64_t>(overrides.max_active_series, 0), std::numeric_limits<uint32_t>::max()));
  rc.max_label_name_length =
      static_cast<size_t>(std::max<int64_t>(config.max_label_name_length, 0));
  rc.max_label_value_length =
      static_cast<size_t>(std::max<int64_t>(config.max_label_value_length, 0));
  // generate_native_histograms: the latency histograms of both processors (Tempo passes the
  // override to each processor's NewHistogram) and the native settings of the registry.
  const std::optional<HistogramMode> mode =
      ParseHistogramMode(overrides.generate_native_histograms);
  if (!mode.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics_generator: generate_native_histograms \"",
                     overrides.generate_native_histograms, "\": expected classic, native or both"));
  }
  g->histogram_mode_ = *mode;
  if (!(overrides.native_histogram_bucket_factor > 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics_generator: native_histogram_bucket_factor ",
                     overrides.native_histogram_bucket_factor, " must be greater than 1"));
  }
  rc.native_histogram_bucket_factor = overrides.native_histogram_bucket_factor;
  rc.native_histogram_max_bucket_number = static_cast<uint32_t>(
      std::min<int64_t>(std::max<int64_t>(overrides.native_histogram_max_bucket_number, 0),
                        std::numeric_limits<uint32_t>::max()));
  rc.native_histogram_min_reset_duration =
      std::max(overrides.native_histogram_min_reset_duration, absl::ZeroDuration());
  g->registry_ = std::make_unique<Registry>(std::move(rc));

  if (g->enabled_.span_metrics) {
    auto sm_config = MapSpanMetricsConfig(overrides.span_metrics, g->enabled_, *mode);
    if (!sm_config.ok()) return sm_config.status();
    auto sm = SpanMetricsProcessor::Create(*std::move(sm_config), g->registry_.get());
    if (!sm.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("span-metrics: ", sm.status().message()));
    }
    g->span_metrics_ = *std::move(sm);
  }
  if (g->enabled_.service_graphs) {
    auto sg_config = MapServiceGraphConfig(overrides.service_graphs, g->enabled_, *mode);
    if (!sg_config.ok()) return sg_config.status();
    auto sg = ServiceGraphsProcessor::Create(*std::move(sg_config), g->registry_.get());
    if (!sg.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("service-graphs: ", sg.status().message()));
    }
    g->service_graphs_ = *std::move(sg);
  }
  return g;
}

TenantGenerator::~TenantGenerator() = default;

void TenantGenerator::PushSpans(const ResourceSpans& resource_spans, absl::Time now) {
  if (!enabled()) return;
  uint64_t received = 0, outside = 0;
  const int64_t slack_ns = absl::ToInt64Nanoseconds(slack_);
  const int64_t now_ns = absl::ToUnixNanos(now);
  auto in_slack = [&](uint64_t end_unix_nano) {
    if (slack_ns <= 0) return true;
    const int64_t end = end_unix_nano > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
                            ? std::numeric_limits<int64_t>::max()
                            : static_cast<int64_t>(end_unix_nano);
    return end >= now_ns - slack_ns && end <= now_ns + slack_ns;
  };
  for (const auto& ss : resource_spans.scope_spans()) {
    for (const auto& span : ss.spans()) {
      ++received;
      if (!in_slack(span.end_time_unix_nano())) ++outside;
    }
  }
  {
    absl::MutexLock lock(&mu_);
    spans_received_ += received;
    spans_outside_slack_ += outside;
  }
  const ResourceSpans* batch = &resource_spans;
  ResourceSpans kept;
  if (outside == received) return;  // nothing left (or nothing pushed)
  if (outside > 0) {
    // Tempo's preprocessing: the spans outside the slack are removed before any processor.
    *kept.mutable_resource() = resource_spans.resource();
    kept.set_schema_url(resource_spans.schema_url());
    for (const auto& ss : resource_spans.scope_spans()) {
      auto* out = kept.add_scope_spans();
      *out->mutable_scope() = ss.scope();
      out->set_schema_url(ss.schema_url());
      for (const auto& span : ss.spans()) {
        if (in_slack(span.end_time_unix_nano())) *out->add_spans() = span;
      }
    }
    batch = &kept;
  }
  if (span_metrics_) span_metrics_->PushSpans(*batch, now);
  if (service_graphs_) service_graphs_->PushSpans(*batch, now);
}

void TenantGenerator::ExpireEdges(absl::Time now) {
  if (service_graphs_) service_graphs_->Expire(now);
}

void TenantGenerator::Collect(absl::Time now, SeriesSink& sink) {
  if (service_graphs_) service_graphs_->Expire(now);
  if (disable_collection_) {
    registry_->RemoveStaleSeries(now);
    return;
  }
  registry_->Collect(now, sink);
  absl::MutexLock lock(&mu_);
  ++collections_;
}

TenantGeneratorStats TenantGenerator::stats() const {
  TenantGeneratorStats s;
  {
    absl::MutexLock lock(&mu_);
    s.spans_received = spans_received_;
    s.spans_outside_slack = spans_outside_slack_;
    s.collections = collections_;
  }
  s.series_limited = registry_->series_limited_total();
  s.active_series = registry_->active_series();
  s.series_removed = registry_->series_removed_total();
  return s;
}

}  // namespace sprout::traces::generator
