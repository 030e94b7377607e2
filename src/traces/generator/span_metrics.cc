#include "traces/generator/span_metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "re2/re2.h"
#include "traces/generator/stringify.h"

namespace sprout::traces::generator {

using opentelemetry::proto::common::v1::AnyValue;
using opentelemetry::proto::common::v1::KeyValue;
using opentelemetry::proto::resource::v1::Resource;
using opentelemetry::proto::trace::v1::ResourceSpans;
using opentelemetry::proto::trace::v1::Span;
using opentelemetry::proto::trace::v1::Span_SpanKind_Name;
using opentelemetry::proto::trace::v1::Status_StatusCode_Name;
using KeyValues = google::protobuf::RepeatedPtrField<KeyValue>;

namespace {

constexpr char kCalls[] = "traces_spanmetrics_calls_total";
constexpr char kLatency[] = "traces_spanmetrics_latency";
constexpr char kSize[] = "traces_spanmetrics_size_total";
constexpr char kTargetInfo[] = "traces_target_info";

constexpr char kService[] = "service";
constexpr char kSpanName[] = "span_name";
constexpr char kSpanKind[] = "span_kind";
constexpr char kStatusCode[] = "status_code";
constexpr char kStatusMessage[] = "status_message";
constexpr char kJob[] = "job";
constexpr char kInstance[] = "instance";

bool IsIntrinsicLabel(const std::string& name) {
  return name == kService || name == kSpanName || name == kSpanKind || name == kStatusCode ||
         name == kStatusMessage;
}

// A dimension's label: sanitized, `__` prefixed when it equals an intrinsic label.
std::string DimensionLabel(std::string_view attribute) {
  std::string s = SanitizeLabelName(attribute);
  if (IsIntrinsicLabel(s)) return "__" + s;
  return s;
}

// traces_target_info's collision set (Tempo: job, instance and the intrinsic labels but service).
std::string TargetInfoLabel(std::string_view attribute) {
  std::string s = SanitizeLabelName(attribute);
  if (s == kJob || s == kInstance || s == kSpanName || s == kSpanKind || s == kStatusCode ||
      s == kStatusMessage) {
    return "__" + s;
  }
  return s;
}

const AnyValue* Find(const KeyValues& attrs, std::string_view key) {
  for (const KeyValue& kv : attrs) {
    if (kv.key() == key) return &kv.value();
  }
  return nullptr;
}

// Resource attributes first, then the span's (Tempo's FindAttributeValue order for span metrics).
std::string FindValue(std::string_view key, const Resource& res, const Span& span) {
  if (const AnyValue* v = Find(res.attributes(), key)) return StringifyAnyValue(*v);
  if (const AnyValue* v = Find(span.attributes(), key)) return StringifyAnyValue(*v);
  return "";
}

std::string HexId(const std::string& bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

double Multiplier(const std::string& key, const Span& span, const Resource& res) {
  if (key.empty()) return 1.0;
  for (const KeyValues* attrs : {&span.attributes(), &res.attributes()}) {
    for (const KeyValue& kv : *attrs) {
      if (kv.key() == key && kv.value().value_case() == AnyValue::kDoubleValue &&
          kv.value().double_value() > 0) {
        return 1.0 / kv.value().double_value();
      }
    }
  }
  return 1.0;
}

}  // namespace

std::string SanitizeLabelName(std::string_view name) {
  // Prometheus' strutil.SanitizeLabelName, which Tempo uses: every character (a UTF-8 sequence
  // counts as one) outside [a-zA-Z0-9_] becomes `_`. A leading digit is kept.
  std::string out;
  out.reserve(name.size());
  for (size_t i = 0; i < name.size();) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_') {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    out.push_back('_');
    size_t len = 1;
    if (c >= 0xc0 && c < 0xe0) {
      len = 2;
    } else if (c >= 0xe0 && c < 0xf0) {
      len = 3;
    } else if (c >= 0xf0 && c < 0xf8) {
      len = 4;
    }
    // Only a well-formed sequence is one character; a stray byte is one (Go's RuneError).
    size_t j = 1;
    while (j < len && i + j < name.size() &&
           (static_cast<unsigned char>(name[i + j]) & 0xc0) == 0x80) {
      ++j;
    }
    i += (j == len) ? len : 1;
  }
  return out;
}

bool ValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xc2 && c < 0xe0) {
      len = 2;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c < 0xf0) {
      len = 3;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c < 0xf5) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t j = 1; j < len; ++j) {
      unsigned char d = static_cast<unsigned char>(s[i + j]);
      if ((d & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += len;
  }
  return true;
}

// ---- filter policies ----

struct SpanMetricsProcessor::CompiledPolicy {
  enum class Scope { kResource, kSpan, kName, kStatus, kKind };
  struct Attr {
    Scope scope;
    std::string key;  // attribute name without the scope
    std::variant<std::string, int64_t, double, bool> value;
    std::unique_ptr<RE2> re;  // regex match type
  };
  struct Match {
    std::vector<Attr> attrs;
  };
  std::optional<Match> include, include_any, exclude;

  static bool AttrMatches(const Attr& a, const Resource& res, const Span& span) {
    auto string_match = [&](const std::string& s) {
      if (a.re) return RE2::PartialMatch(s, *a.re);
      const std::string* want = std::get_if<std::string>(&a.value);
      return want != nullptr && *want == s;
    };
    switch (a.scope) {
      case Scope::kName:
        return string_match(span.name());
      case Scope::kStatus:
        return string_match(Status_StatusCode_Name(span.status().code()));
      case Scope::kKind:
        return string_match(Span_SpanKind_Name(span.kind()));
      case Scope::kResource:
      case Scope::kSpan: {
        const AnyValue* v =
            Find(a.scope == Scope::kResource ? res.attributes() : span.attributes(), a.key);
        if (v == nullptr) return false;
        switch (v->value_case()) {
          case AnyValue::kStringValue:
            return string_match(v->string_value());
          case AnyValue::kIntValue: {
            const int64_t* w = std::get_if<int64_t>(&a.value);
            return !a.re && w != nullptr && *w == v->int_value();
          }
          case AnyValue::kDoubleValue: {
            const double* w = std::get_if<double>(&a.value);
            return !a.re && w != nullptr && *w == v->double_value();
          }
          case AnyValue::kBoolValue: {
            const bool* w = std::get_if<bool>(&a.value);
            return !a.re && w != nullptr && *w == v->bool_value();
          }
          default:
            return false;
        }
      }
    }
    return false;
  }
  static bool All(const Match& m, const Resource& res, const Span& span) {
    for (const Attr& a : m.attrs) {
      if (!AttrMatches(a, res, span)) return false;
    }
    return true;
  }
  static bool Any(const Match& m, const Resource& res, const Span& span) {
    if (m.attrs.empty()) return true;
    for (const Attr& a : m.attrs) {
      if (AttrMatches(a, res, span)) return true;
    }
    return false;
  }
  bool Keep(const Resource& res, const Span& span) const {
    if (include && !All(*include, res, span)) return false;
    if (include_any && !Any(*include_any, res, span)) return false;
    if (exclude && All(*exclude, res, span)) return false;
    return true;
  }
};

namespace {

absl::StatusOr<SpanMetricsProcessor::CompiledPolicy::Match> CompileMatch(const PolicyMatch& m) {
  using CP = SpanMetricsProcessor::CompiledPolicy;
  CP::Match out;
  for (const PolicyAttribute& pa : m.attributes) {
    CP::Attr a;
    a.value = pa.value;
    if (absl::StartsWith(pa.key, "resource.")) {
      a.scope = CP::Scope::kResource;
      a.key = pa.key.substr(9);
    } else if (absl::StartsWith(pa.key, "span.")) {
      a.scope = CP::Scope::kSpan;
      a.key = pa.key.substr(5);
    } else if (pa.key == "name") {
      a.scope = CP::Scope::kName;
    } else if (pa.key == "status") {
      a.scope = CP::Scope::kStatus;
    } else if (pa.key == "kind") {
      a.scope = CP::Scope::kKind;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("filter policy: invalid attribute key \"", pa.key,
                       "\": want resource.<name>, span.<name>, name, status or kind"));
    }
    if (m.match_type == MatchType::kRegex) {
      const std::string* pattern = std::get_if<std::string>(&pa.value);
      if (pattern == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("filter policy: regex value of \"", pa.key, "\" is not a string"));
      }
      auto re = std::make_unique<RE2>(*pattern, RE2::Quiet);
      if (!re->ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("filter policy: invalid regex \"", *pattern, "\": ", re->error()));
      }
      a.re = std::move(re);
    }
    out.attrs.push_back(std::move(a));
  }
  return out;
}

absl::StatusOr<std::vector<std::shared_ptr<SpanMetricsProcessor::CompiledPolicy>>> CompilePolicies(
    const std::vector<FilterPolicy>& filter_policies) {
  using CP = SpanMetricsProcessor::CompiledPolicy;
  std::vector<std::shared_ptr<CP>> policies;
  for (const FilterPolicy& fp : filter_policies) {
    if (!fp.include && !fp.include_any && !fp.exclude) {
      return absl::InvalidArgumentError(
          "invalid filter policy; policies must have at least an `include`, `include_any` or "
          "`exclude`");
    }
    auto cp = std::make_shared<CP>();
    if (fp.include) {
      auto m = CompileMatch(*fp.include);
      if (!m.ok()) return m.status();
      cp->include = std::move(*m);
    }
    if (fp.include_any) {
      auto m = CompileMatch(*fp.include_any);
      if (!m.ok()) return m.status();
      cp->include_any = std::move(*m);
    }
    if (fp.exclude) {
      auto m = CompileMatch(*fp.exclude);
      if (!m.ok()) return m.status();
      cp->exclude = std::move(*m);
    }
    policies.push_back(std::move(cp));
  }
  return policies;
}

}  // namespace

absl::StatusOr<SpanFilter> SpanFilter::Create(const std::vector<FilterPolicy>& policies) {
  auto compiled = CompilePolicies(policies);
  if (!compiled.ok()) return compiled.status();
  SpanFilter f;
  f.policies_ = std::move(*compiled);
  return f;
}

bool SpanFilter::Keep(const Resource& resource, const Span& span) const {
  for (const auto& p : policies_) {
    if (!p->Keep(resource, span)) return false;
  }
  return true;
}

SpanMetricsProcessor::SpanMetricsProcessor(SpanMetricsConfig config, Registry* registry)
    : config_(std::move(config)), registry_(registry) {}

absl::StatusOr<std::unique_ptr<SpanMetricsProcessor>> SpanMetricsProcessor::Create(
    SpanMetricsConfig config, Registry* registry) {
  auto policies = CompilePolicies(config.filter_policies);
  if (!policies.ok()) return policies.status();
  for (const DimensionMapping& dm : config.dimension_mappings) {
    if (dm.name.empty()) return absl::InvalidArgumentError("dimension_mappings: empty name");
  }
  for (size_t i = 1; i < config.histogram_buckets.size(); ++i) {
    if (!(config.histogram_buckets[i] > config.histogram_buckets[i - 1])) {
      return absl::InvalidArgumentError(
          absl::StrCat("span_metrics.histogram_buckets must be strictly increasing: bucket[", i,
                       "]=", config.histogram_buckets[i], " is <= bucket[", i - 1,
                       "]=", config.histogram_buckets[i - 1]));
    }
  }
  if (config.ingestion_time_range_slack < absl::ZeroDuration() ||
      config.ingestion_time_range_slack > absl::Hours(12)) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics_generator.ingestion_time_range_slack \"",
                     absl::FormatDuration(config.ingestion_time_range_slack),
                     "\" is outside acceptable range of 0s to 12h"));
  }
  std::unique_ptr<SpanMetricsProcessor> p(new SpanMetricsProcessor(std::move(config), registry));
  p->policies_ = std::move(*policies);
  const SpanMetricsConfig& c = p->config_;
  const IntrinsicDimensions& in = c.intrinsic_dimensions;
  if (in.service) p->label_names_.push_back(kService);
  if (in.span_name) p->label_names_.push_back(kSpanName);
  if (in.span_kind) p->label_names_.push_back(kSpanKind);
  if (in.status_code) p->label_names_.push_back(kStatusCode);
  if (in.status_message) p->label_names_.push_back(kStatusMessage);
  for (const std::string& d : c.dimensions) {
    p->dimension_labels_.push_back(DimensionLabel(d));
    p->label_names_.push_back(p->dimension_labels_.back());
  }
  for (const DimensionMapping& dm : c.dimension_mappings) {
    p->mapping_labels_.push_back(DimensionLabel(dm.name));
    p->label_names_.push_back(p->mapping_labels_.back());
  }
  if (c.count) p->calls_ = registry->NewCounter(kCalls);
  if (c.latency) {
    p->latency_ = registry->NewHistogram(kLatency, c.histogram_buckets, c.histogram_mode);
  }
  if (c.size) p->size_ = registry->NewCounter(kSize);
  if (c.enable_target_info) p->target_info_ = registry->NewGauge(kTargetInfo);
  return p;
}

void SpanMetricsProcessor::PushSpans(const ResourceSpans& rs, absl::Time now) {
  const Resource& res = rs.resource();
  const std::string service = Find(res.attributes(), "service.name")
                                  ? StringifyAnyValue(*Find(res.attributes(), "service.name"))
                                  : "";
  const int64_t now_ns = absl::ToUnixNanos(now);
  const int64_t slack_ns = absl::ToInt64Nanoseconds(config_.ingestion_time_range_slack);
  std::string job;
  if (!service.empty()) {
    const AnyValue* ns = Find(res.attributes(), "service.namespace");
    std::string nss = ns ? StringifyAnyValue(*ns) : "";
    job = nss.empty() ? service : nss + "/" + service;
  }
  const AnyValue* inst = Find(res.attributes(), "service.instance.id");
  const std::string instance = inst ? StringifyAnyValue(*inst) : "";
  const bool job_label = config_.enable_target_info && !job.empty();
  const bool instance_label =
      config_.enable_target_info && config_.enable_instance_label && !instance.empty();
  SpanMetricsStats delta;
  bool any_counted = false;
  Labels labels;
  for (const auto& ss : rs.scope_spans()) {
    for (const Span& span : ss.spans()) {
      ++delta.spans_received;
      if (slack_ns > 0) {
        // Tempo's preprocessing: end time within [now - slack, now + slack].
        const int64_t end = static_cast<int64_t>(span.end_time_unix_nano());
        if (span.end_time_unix_nano() > static_cast<uint64_t>(INT64_MAX) ||
            end < now_ns - slack_ns || end > now_ns + slack_ns) {
          ++delta.spans_outside_slack;
          continue;
        }
      }
      bool keep = true;
      for (const auto& p : policies_) {
        if (!p->Keep(res, span)) {
          keep = false;
          break;
        }
      }
      if (!keep) {
        ++delta.spans_filtered;
        continue;
      }
      double latency = 0;
      if (span.start_time_unix_nano() < span.end_time_unix_nano()) {
        latency =
            static_cast<double>(span.end_time_unix_nano() - span.start_time_unix_nano()) / 1e9;
      }
      labels.clear();
      const IntrinsicDimensions& in = config_.intrinsic_dimensions;
      // In name order (service < span_kind < span_name < status_code < status_message), so that
      // the registry's sort has nothing to move unless dimensions come after.
      if (in.service) labels.push_back({kService, service});
      if (in.span_kind) labels.push_back({kSpanKind, Span_SpanKind_Name(span.kind())});
      if (in.span_name) labels.push_back({kSpanName, span.name()});
      if (in.status_code) {
        labels.push_back({kStatusCode, Status_StatusCode_Name(span.status().code())});
      }
      if (in.status_message) labels.push_back({kStatusMessage, span.status().message()});
      for (size_t i = 0; i < config_.dimensions.size(); ++i) {
        labels.push_back({dimension_labels_[i], FindValue(config_.dimensions[i], res, span)});
      }
      for (size_t i = 0; i < config_.dimension_mappings.size(); ++i) {
        const DimensionMapping& dm = config_.dimension_mappings[i];
        std::string joined;
        for (const std::string& src : dm.source_labels) {
          std::string v = FindValue(src, res, span);
          if (v.empty()) continue;
          if (!joined.empty()) joined += dm.join;
          joined += v;
        }
        labels.push_back({mapping_labels_[i], std::move(joined)});
      }
      if (job_label) labels.push_back({kJob, job});
      if (instance_label) labels.push_back({kInstance, instance});
      bool valid = true;
      for (const Label& lb : labels) valid = valid && ValidUtf8(lb.value);
      if (!valid) {
        ++delta.spans_invalid_utf8;
        continue;
      }
      const double mult = Multiplier(config_.span_multiplier_key, span, res);
      const PreparedLabels prepared = registry_->Prepare(labels);
      bool ok = true;
      if (calls_ != nullptr) ok &= calls_->Inc(prepared, mult, now);
      if (latency_ != nullptr)
        ok &= latency_->Observe(prepared, latency, mult, now, HexId(span.trace_id()));
      if (size_ != nullptr) {
        // Tempo adds the span's size without the multiplier.
        ok &= size_->Inc(prepared, static_cast<double>(span.ByteSizeLong()), now);
      }
      if (!ok) ++delta.spans_refused;
      any_counted = true;
    }
  }
  if (target_info_ != nullptr && any_counted) {
    // traces_target_info: every resource attribute but service.name / service.namespace /
    // service.instance.id and the excluded ones, plus job and instance; set only when job or
    // instance is present and at least one other attribute is.
    Labels ti;
    for (const KeyValue& kv : res.attributes()) {
      const std::string& k = kv.key();
      if (k.empty() || (k[0] >= '0' && k[0] <= '9') || k == "service.name" ||
          k == "service.namespace" || k == "service.instance.id") {
        continue;
      }
      if (std::find(config_.target_info_excluded_dimensions.begin(),
                    config_.target_info_excluded_dimensions.end(),
                    k) != config_.target_info_excluded_dimensions.end()) {
        continue;
      }
      ti.push_back({TargetInfoLabel(k), StringifyAnyValue(kv.value())});
    }
    const size_t resource_count = ti.size();
    if (!job.empty()) ti.push_back({kJob, job});
    if (instance_label) ti.push_back({kInstance, instance});
    if (resource_count > 0 && ti.size() > resource_count) target_info_->Set(ti, 1, now);
  }
  absl::MutexLock l(&mu_);
  stats_.spans_received += delta.spans_received;
  stats_.spans_outside_slack += delta.spans_outside_slack;
  stats_.spans_filtered += delta.spans_filtered;
  stats_.spans_refused += delta.spans_refused;
  stats_.spans_invalid_utf8 += delta.spans_invalid_utf8;
}

SpanMetricsStats SpanMetricsProcessor::stats() const {
  absl::MutexLock l(&mu_);
  return stats_;
}

}  // namespace sprout::traces::generator
