// Factories: how the service turns a configuration entry into a running component.
//
// Every component type registers one factory: its type name (the key used in YAML), a default
// config (the Collector's defaults), and constructors per signal. Like the Collector's
// `receiver.Factory` & co, a component folder holds `config.h` (typed config + Decode +
// Validate), its factory, a README listing every key with its default, and testdata configs.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/logging.h"
#include "base/metrics.h"
#include "collector/component.h"

namespace sprout::config {
class Decoder;
}

namespace sprout::collector {

// A component's typed configuration.
class ComponentConfig {
 public:
  virtual ~ComponentConfig() = default;
  // Reads the component's YAML map into the fields (which start at the defaults). Type errors
  // and unknown keys are reported by the caller's decoder.Finish().
  virtual void Decode(config::Decoder& decoder) = 0;
  // Checks that need several fields at once; the message is prefixed with the component path.
  virtual absl::Status Validate() const { return absl::OkStatus(); }
};

struct TelemetrySettings {
  log::Logger logger;  // already carries otelcol.component.id / .kind (/ .signal)
  MetricsRegistry* metrics = nullptr;
  std::string build_version;
};

struct CreateSettings {
  ComponentID id;
  TelemetrySettings telemetry;
};

class Factory {
 public:
  Factory(std::string type, Kind kind) : type_(std::move(type)), kind_(kind) {}
  virtual ~Factory() = default;
  const std::string& type() const { return type_; }
  Kind kind() const { return kind_; }
  virtual std::unique_ptr<ComponentConfig> CreateDefaultConfig() const = 0;
  // Whether the component can be used in pipelines of `signal` (always false for extensions).
  virtual bool SupportsSignal(Signal signal) const { return false; }
  // Whether the entry `id` (of this type) may be used in a pipeline of `signal` (already
  // supported by the type): for types whose names are fixed roles (`sprout/traces`), checked at
  // validation so that `validate` reports a misplaced ID. The message follows the pipeline path.
  virtual absl::Status CheckPipelineUse(const ComponentID& id, Signal signal) const {
    return absl::OkStatus();
  }

 private:
  std::string type_;
  Kind kind_;
};

class ReceiverFactory : public Factory {
 public:
  explicit ReceiverFactory(std::string type) : Factory(std::move(type), Kind::kReceiver) {}
  // One receiver instance per configuration entry, feeding every pipeline that names it;
  // `next` holds a consumer for each signal those pipelines carry.
  virtual absl::StatusOr<std::unique_ptr<Component>> CreateReceiver(
      const CreateSettings& settings, const ComponentConfig& config,
      ReceiverConsumers next) const = 0;
};

template <Signal S>
using ConsumerComponentPtr = std::shared_ptr<ConsumerComponent<S>>;

class ProcessorFactory : public Factory {
 public:
  explicit ProcessorFactory(std::string type) : Factory(std::move(type), Kind::kProcessor) {}
  // One processor instance per pipeline (a factory may share state between them by ID).
  virtual absl::StatusOr<ConsumerComponentPtr<Signal::kTraces>> CreateTraces(
      const CreateSettings& settings, const ComponentConfig& config,
      std::shared_ptr<TracesConsumer> next) const;
  virtual absl::StatusOr<ConsumerComponentPtr<Signal::kMetrics>> CreateMetrics(
      const CreateSettings& settings, const ComponentConfig& config,
      std::shared_ptr<MetricsConsumer> next) const;
  virtual absl::StatusOr<ConsumerComponentPtr<Signal::kLogs>> CreateLogs(
      const CreateSettings& settings, const ComponentConfig& config,
      std::shared_ptr<LogsConsumer> next) const;
};

// A processor factory for all three signals whose constructors differ only in the signal:
// `Derived` provides
//   template <Signal S>
//   absl::StatusOr<ConsumerComponentPtr<S>> Make(const CreateSettings&, const ComponentConfig&,
//                                                std::shared_ptr<Consumer<S>> next) const;
template <typename Derived>
class AllSignalsProcessorFactory : public ProcessorFactory {
 public:
  using ProcessorFactory::ProcessorFactory;
  bool SupportsSignal(Signal) const override { return true; }
  absl::StatusOr<ConsumerComponentPtr<Signal::kTraces>> CreateTraces(
      const CreateSettings& settings, const ComponentConfig& config,
      std::shared_ptr<TracesConsumer> next) const override {
    return self().template Make<Signal::kTraces>(settings, config, std::move(next));
  }
  absl::StatusOr<ConsumerComponentPtr<Signal::kMetrics>> CreateMetrics(
      const CreateSettings& settings, const ComponentConfig& config,
      std::shared_ptr<MetricsConsumer> next) const override {
    return self().template Make<Signal::kMetrics>(settings, config, std::move(next));
  }
  absl::StatusOr<ConsumerComponentPtr<Signal::kLogs>> CreateLogs(
      const CreateSettings& settings, const ComponentConfig& config,
      std::shared_ptr<LogsConsumer> next) const override {
    return self().template Make<Signal::kLogs>(settings, config, std::move(next));
  }

 private:
  const Derived& self() const { return static_cast<const Derived&>(*this); }
};

class ExporterFactory : public Factory {
 public:
  explicit ExporterFactory(std::string type) : Factory(std::move(type), Kind::kExporter) {}
  // One exporter instance per (entry, signal), shared by all pipelines of that signal.
  virtual absl::StatusOr<ConsumerComponentPtr<Signal::kTraces>> CreateTraces(
      const CreateSettings& settings, const ComponentConfig& config) const;
  virtual absl::StatusOr<ConsumerComponentPtr<Signal::kMetrics>> CreateMetrics(
      const CreateSettings& settings, const ComponentConfig& config) const;
  virtual absl::StatusOr<ConsumerComponentPtr<Signal::kLogs>> CreateLogs(
      const CreateSettings& settings, const ComponentConfig& config) const;
};

class ExtensionFactory : public Factory {
 public:
  explicit ExtensionFactory(std::string type) : Factory(std::move(type), Kind::kExtension) {}
  virtual absl::StatusOr<std::unique_ptr<Component>> CreateExtension(
      const CreateSettings& settings, const ComponentConfig& config) const = 0;
};

// Extensions that want to know when the pipelines can take data (health_check) implement this.
class PipelineWatcher {
 public:
  virtual ~PipelineWatcher() = default;
  virtual void Ready() = 0;
  virtual void NotReady() = 0;
};

// The set of component types a binary knows.
class Factories {
 public:
  void Register(std::unique_ptr<Factory> factory);
  const Factory* Find(Kind kind, std::string_view type) const;
  // Registered type names of a kind, sorted (for "valid values: [...]" messages).
  std::vector<std::string> Types(Kind kind) const;

 private:
  std::map<std::pair<Kind, std::string>, std::unique_ptr<Factory>> factories_;
};

// The error a factory returns for a signal it does not support.
absl::Status UnsupportedSignal();

}  // namespace sprout::collector
