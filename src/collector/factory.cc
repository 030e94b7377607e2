#include "collector/factory.h"

namespace sprout::collector {

absl::Status UnsupportedSignal() {
  return absl::UnimplementedError("telemetry type is not supported");
}

absl::StatusOr<ConsumerComponentPtr<Signal::kTraces>> ProcessorFactory::CreateTraces(
    const CreateSettings&, const ComponentConfig&, std::shared_ptr<TracesConsumer>) const {
  return UnsupportedSignal();
}
absl::StatusOr<ConsumerComponentPtr<Signal::kMetrics>> ProcessorFactory::CreateMetrics(
    const CreateSettings&, const ComponentConfig&, std::shared_ptr<MetricsConsumer>) const {
  return UnsupportedSignal();
}
absl::StatusOr<ConsumerComponentPtr<Signal::kLogs>> ProcessorFactory::CreateLogs(
    const CreateSettings&, const ComponentConfig&, std::shared_ptr<LogsConsumer>) const {
  return UnsupportedSignal();
}

absl::StatusOr<ConsumerComponentPtr<Signal::kTraces>> ExporterFactory::CreateTraces(
    const CreateSettings&, const ComponentConfig&) const {
  return UnsupportedSignal();
}
absl::StatusOr<ConsumerComponentPtr<Signal::kMetrics>> ExporterFactory::CreateMetrics(
    const CreateSettings&, const ComponentConfig&) const {
  return UnsupportedSignal();
}
absl::StatusOr<ConsumerComponentPtr<Signal::kLogs>> ExporterFactory::CreateLogs(
    const CreateSettings&, const ComponentConfig&) const {
  return UnsupportedSignal();
}

void Factories::Register(std::unique_ptr<Factory> factory) {
  auto key = std::make_pair(factory->kind(), factory->type());
  factories_[key] = std::move(factory);
}

const Factory* Factories::Find(Kind kind, std::string_view type) const {
  auto it = factories_.find(std::make_pair(kind, std::string(type)));
  return it == factories_.end() ? nullptr : it->second.get();
}

std::vector<std::string> Factories::Types(Kind kind) const {
  std::vector<std::string> types;
  for (const auto& [key, factory] : factories_) {
    if (key.first == kind) types.push_back(key.second);
  }
  return types;  // std::map keeps them sorted
}

}  // namespace sprout::collector
