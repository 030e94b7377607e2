// Test helpers: a SeriesSink that keeps every appended sample, with series written as
// `name{a="x",b="y"}` for readable expectations; a client → server trace to push.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "traces/generator/registry.h"

namespace sprout::traces::generator {

struct CollectedSample {
  std::string series;  // name{labels}
  double value = 0;
  absl::Time time;
  std::vector<Exemplar> exemplars;
  std::string exemplar_label;
};

// One native histogram sample (AppendNativeHistogram).
struct CollectedHistogram {
  std::string series;  // name{labels}
  NativeHistogramSample histogram;
  absl::Time time;
  std::vector<Exemplar> exemplars;
};

class CollectingSink : public SeriesSink {
 public:
  static std::string SeriesText(std::string_view name, const Labels& labels) {
    std::string s = std::string(name) + "{";
    for (size_t i = 0; i < labels.size(); ++i) {
      absl::StrAppend(&s, i ? "," : "", labels[i].name, "=\"", labels[i].value, "\"");
    }
    s += "}";
    return s;
  }
  void AppendNativeHistogram(std::string_view name, const Labels& labels,
                             const NativeHistogramSample& histogram, absl::Time time,
                             absl::Span<const Exemplar> exemplars,
                             std::string_view exemplar_label) override {
    histograms.push_back(
        CollectedHistogram{SeriesText(name, labels), histogram, time,
                           std::vector<Exemplar>(exemplars.begin(), exemplars.end())});
  }
  // The last native sample of `series`.
  const CollectedHistogram* FindHistogram(const std::string& series) const {
    for (auto it = histograms.rbegin(); it != histograms.rend(); ++it) {
      if (it->series == series) return &*it;
    }
    return nullptr;
  }
  void Append(std::string_view name, const Labels& labels, double value, absl::Time time,
              absl::Span<const Exemplar> exemplars, std::string_view exemplar_label) override {
    const std::string s = SeriesText(name, labels);
    samples.push_back(CollectedSample{s, value, time,
                                      std::vector<Exemplar>(exemplars.begin(), exemplars.end()),
                                      std::string(exemplar_label)});
  }
  // The samples at `t` (leaves out the initial 0 samples of new series).
  std::vector<CollectedSample> At(absl::Time t) const {
    std::vector<CollectedSample> out;
    for (const auto& s : samples) {
      if (s.time == t) out.push_back(s);
    }
    return out;
  }
  // series → value (the last sample of each: the current one)
  std::map<std::string, double> Values() const {
    std::map<std::string, double> m;
    for (const auto& s : samples) m[s.series] = s.value;
    return m;
  }
  // The last sample of `series` (the current one, after any initial 0).
  const CollectedSample* Find(const std::string& series) const {
    for (auto it = samples.rbegin(); it != samples.rend(); ++it) {
      if (it->series == series) return &*it;
    }
    return nullptr;
  }
  std::vector<CollectedSample> samples;
  std::vector<CollectedHistogram> histograms;
};

// One trace (every trace ID byte `trace_byte`) of two spans, each in a resource of its own:
// `client_service`'s CLIENT span "GET /api" (span ID "cccccccc", `start` + 0–300 ms) calls
// `server_service`'s SERVER span "handle" (span ID "ssssssss", `start` + 100–250 ms). With an
// empty `client_service` there is no client span and the server span is a root.
inline opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest ClientServerPair(
    const std::string& client_service, const std::string& server_service, absl::Time start,
    char trace_byte) {
  using opentelemetry::proto::trace::v1::Span;
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest request;
  const uint64_t t0 = static_cast<uint64_t>(absl::ToUnixNanos(start));
  constexpr uint64_t kMs = 1'000'000;
  const auto add = [&](const std::string& service, Span::SpanKind kind, const std::string& name,
                       const std::string& span_id, const std::string& parent, uint64_t start_ms,
                       uint64_t end_ms) {
    auto* rs = request.add_resource_spans();
    auto* kv = rs->mutable_resource()->add_attributes();
    kv->set_key("service.name");
    kv->mutable_value()->set_string_value(service);
    Span* span = rs->add_scope_spans()->add_spans();
    span->set_trace_id(std::string(16, trace_byte));
    span->set_span_id(span_id);
    span->set_parent_span_id(parent);
    span->set_name(name);
    span->set_kind(kind);
    span->set_start_time_unix_nano(t0 + start_ms * kMs);
    span->set_end_time_unix_nano(t0 + end_ms * kMs);
  };
  const std::string client_id(8, 'c');
  if (!client_service.empty()) {
    add(client_service, Span::SPAN_KIND_CLIENT, "GET /api", client_id, "", 0, 300);
  }
  add(server_service, Span::SPAN_KIND_SERVER, "handle", std::string(8, 's'),
      client_service.empty() ? "" : client_id, 100, 250);
  return request;
}

}  // namespace sprout::traces::generator
