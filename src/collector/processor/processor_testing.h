// Test helpers for processors: build one from YAML, and a consumer that records what reaches it.
#pragma once

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "collector/factory.h"
#include "config/decoder.h"
#include "otlp/consumer_error.h"
#include "yaml-cpp/yaml.h"

namespace sprout::collector::testing {

class NoHost : public Host {
 public:
  Component* GetExtension(const ComponentID&) const override { return nullptr; }
};

// Records every batch (and its context); answers with `status`.
template <Signal S>
class Capture : public Consumer<S> {
 public:
  absl::Status Consume(const Context& context, otlp::Batch<S> batch) override {
    std::lock_guard<std::mutex> lock(mu_);
    contexts_.push_back(context);
    batches_.push_back(std::move(batch));
    arrived_.notify_all();
    return status_;
  }
  // Waits until the batches that arrived hold at least `n` items (false after `timeout`, which
  // only bounds a failing test).
  bool WaitForItems(int64_t n, absl::Duration timeout = absl::Seconds(30)) {
    std::unique_lock<std::mutex> lock(mu_);
    return arrived_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] {
      int64_t items = 0;
      for (const auto& b : batches_) items += otlp::CountItems(b.request());
      return items >= n;
    });
  }
  std::vector<otlp::Batch<S>> batches() {
    std::lock_guard<std::mutex> lock(mu_);
    return batches_;
  }
  std::vector<Context> contexts() {
    std::lock_guard<std::mutex> lock(mu_);
    return contexts_;
  }
  // Items actually present in what arrived (decoded and counted, not the batches' own claims).
  int64_t items() {
    int64_t n = 0;
    for (const auto& b : batches()) n += otlp::CountItems(b.request());
    return n;
  }
  void set_status(absl::Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = std::move(status);
  }

 private:
  std::mutex mu_;
  std::condition_variable arrived_;
  std::vector<otlp::Batch<S>> batches_;
  std::vector<Context> contexts_;
  absl::Status status_;
};

// The config of `factory` decoded from `yaml`, or the decode/validation error.
inline absl::StatusOr<std::unique_ptr<ComponentConfig>> DecodeConfig(const Factory& factory,
                                                                     const std::string& yaml) {
  auto config = factory.CreateDefaultConfig();
  config::Decoder decoder(YAML::Load(yaml), std::string("processors::") + factory.type());
  config->Decode(decoder);
  if (absl::Status s = decoder.Finish(); !s.ok()) return s;
  if (absl::Status s = config->Validate(); !s.ok()) return s;
  return config;
}

template <Signal S>
absl::StatusOr<ConsumerComponentPtr<S>> CreateProcessor(const ProcessorFactory& factory,
                                                        const ComponentConfig& config,
                                                        std::shared_ptr<Consumer<S>> next,
                                                        MetricsRegistry* metrics = nullptr) {
  CreateSettings settings{*ComponentID::Parse(factory.type()), {}};
  settings.telemetry.metrics = metrics;
  if constexpr (S == Signal::kTraces) {
    return factory.CreateTraces(settings, config, std::move(next));
  } else if constexpr (S == Signal::kMetrics) {
    return factory.CreateMetrics(settings, config, std::move(next));
  } else {
    return factory.CreateLogs(settings, config, std::move(next));
  }
}

// `n` spans in one resource/scope, named "<prefix>0".."<prefix>{n-1}".
inline otlp::TracesBatch Spans(int n, const std::string& prefix = "s") {
  otlp::TracesBatch batch;
  auto* ss = batch.mutable_request()->add_resource_spans()->add_scope_spans();
  for (int i = 0; i < n; ++i) ss->add_spans()->set_name(prefix + std::to_string(i));
  return batch;
}

// The same, received from the wire (undecoded).
inline otlp::TracesBatch WireSpans(int n, const std::string& prefix = "s") {
  return *otlp::TracesBatch::Parse(Spans(n, prefix).request().SerializeAsString());
}

inline std::vector<std::string> SpanNames(const otlp::TracesBatch& batch) {
  std::vector<std::string> names;
  for (const auto& rs : batch.request().resource_spans()) {
    for (const auto& ss : rs.scope_spans()) {
      for (const auto& span : ss.spans()) names.push_back(span.name());
    }
  }
  return names;
}

}  // namespace sprout::collector::testing
