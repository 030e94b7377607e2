#include "collector/service_config.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status.h"
#include "config/decoder.h"
#include "yaml-cpp/yaml.h"

namespace sprout::collector {
namespace {

absl::Status Invalid(std::string message) { return absl::InvalidArgumentError(std::move(message)); }

absl::Status DecodeSection(config::Decoder& root, Kind kind, const Factories& factories,
                           std::vector<ComponentEntry>* out) {
  const std::string section(KindSection(kind));
  config::Decoder decoder = root.Child(section);
  for (const std::string& key : decoder.Keys()) {
    auto id = ComponentID::Parse(key);
    if (!id.ok()) return Invalid(absl::StrCat(section, ": ", id.status().message()));
    const Factory* factory = factories.Find(kind, id->type);
    if (factory == nullptr) {
      return Invalid(absl::StrCat(section, ": unknown type: \"", id->type, "\" for id: \"", key,
                                  "\" (valid values: [", absl::StrJoin(factories.Types(kind), " "),
                                  "])"));
    }
    ComponentEntry entry{*id, factory, factory->CreateDefaultConfig()};
    config::Decoder component = decoder.Child(key);
    entry.config->Decode(component);
    RETURN_IF_ERROR(component.Finish());
    RETURN_IF_ERROR(Annotate(entry.config->Validate(), absl::StrCat(section, "::", key)));
    out->push_back(std::move(entry));
  }
  return absl::OkStatus();
}

absl::StatusOr<PipelineID> ParsePipelineID(const std::string& text) {
  const size_t slash = text.find('/');
  const std::string type = text.substr(0, slash);
  PipelineID id;
  if (type == "traces")
    id.signal = Signal::kTraces;
  else if (type == "metrics")
    id.signal = Signal::kMetrics;
  else if (type == "logs")
    id.signal = Signal::kLogs;
  else
    return Invalid(
        absl::StrCat("service::pipelines: pipeline \"", text, "\": unknown signal \"", type, "\""));
  if (slash != std::string::npos) {
    id.name = text.substr(slash + 1);
    if (id.name.empty()) {
      return Invalid(absl::StrCat("service::pipelines: in \"", text,
                                  "\" id: the part after / should not be empty"));
    }
  }
  return id;
}

absl::Status ReadIDs(config::Decoder& decoder, std::string_view key,
                     std::vector<ComponentID>* out) {
  std::vector<std::string> names;
  decoder.Read(key, &names);
  for (const std::string& name : names) {
    auto id = ComponentID::Parse(name);
    if (!id.ok()) {
      return Invalid(absl::StrCat(decoder.path(), "::", AV(key), ": ", id.status().message()));
    }
    out->push_back(*id);
  }
  return absl::OkStatus();
}

void DecodeTelemetry(config::Decoder telemetry, TelemetryConfig* out) {
  config::Decoder logs = telemetry.Child("logs");
  std::string level;
  logs.Read("level", &level);
  if (!level.empty() && !log::ParseLevel(level, &out->log_level)) {
    logs.AddError("level", absl::StrCat("unrecognized level: \"", level, "\""));
  }
  std::string encoding = "console";
  logs.Read("encoding", &encoding);
  if (encoding != "console") {
    logs.AddError("encoding", absl::StrCat("unsupported encoding \"", encoding,
                                           "\" (sprout writes the console encoding)"));
  }
  // Accepted for compatibility; sprout always logs to stderr without sampling.
  logs.Raw("output_paths");
  logs.Raw("error_output_paths");
  logs.Raw("development");
  logs.Raw("disable_caller");
  logs.Raw("disable_stacktrace");
  logs.Raw("sampling");
  logs.Raw("initial_fields");

  config::Decoder metrics = telemetry.Child("metrics");
  metrics.Read("level", &out->metrics_level);
  if (out->metrics_level != "none" && out->metrics_level != "basic" &&
      out->metrics_level != "normal" && out->metrics_level != "detailed") {
    metrics.AddError("level", absl::StrCat("unknown metrics level \"", out->metrics_level, "\""));
  }
  metrics.Read("address", &out->metrics_address);
  YAML::Node readers = metrics.Raw("readers");
  if (readers.IsDefined() && !readers.IsNull()) {
    if (!readers.IsSequence()) {
      metrics.AddError("readers", "expected a list");
    } else {
      for (size_t i = 0; i < readers.size(); ++i) {
        config::Decoder reader(readers[i], absl::StrCat(metrics.path(), "::readers::", i));
        config::Decoder prometheus = reader.Child("pull").Child("exporter").Child("prometheus");
        std::string host = "localhost";
        int64_t port = 8888;
        prometheus.Read("host", &host);
        prometheus.Read("port", &port);
        prometheus.Raw("without_scope_info");
        prometheus.Raw("without_type_suffix");
        prometheus.Raw("without_units");
        if (!reader.Has("pull")) {
          reader.AddError("", "only pull readers with a prometheus exporter are supported");
        }
        absl::Status status = reader.Finish();
        if (!status.ok()) {
          metrics.AddError("readers", std::string(status.message()));
        } else {
          out->metrics_address = absl::StrCat(host, ":", port);
        }
      }
    }
  }
  telemetry.Read("resource", &out->resource);
  telemetry.Raw("traces");
}

}  // namespace

std::string PipelineID::String() const {
  std::string s(otlp::SignalName(signal));
  return name.empty() ? s : s + "/" + name;
}

const ComponentEntry* ServiceConfig::Find(Kind kind, const ComponentID& id) const {
  const std::vector<ComponentEntry>* list = nullptr;
  switch (kind) {
    case Kind::kReceiver:
      list = &receivers;
      break;
    case Kind::kProcessor:
      list = &processors;
      break;
    case Kind::kExporter:
      list = &exporters;
      break;
    case Kind::kExtension:
      list = &extensions;
      break;
    case Kind::kConnector:
      return nullptr;
  }
  for (const ComponentEntry& e : *list) {
    if (e.id == id) return &e;
  }
  return nullptr;
}

absl::StatusOr<ServiceConfig> DecodeServiceConfig(const YAML::Node& root,
                                                  const Factories& factories) {
  ServiceConfig cfg;
  config::Decoder decoder(root, "");
  for (Kind kind :
       {Kind::kReceiver, Kind::kProcessor, Kind::kExporter, Kind::kExtension, Kind::kConnector}) {
    std::vector<ComponentEntry>* out = nullptr;
    std::vector<ComponentEntry> connectors;
    switch (kind) {
      case Kind::kReceiver:
        out = &cfg.receivers;
        break;
      case Kind::kProcessor:
        out = &cfg.processors;
        break;
      case Kind::kExporter:
        out = &cfg.exporters;
        break;
      case Kind::kExtension:
        out = &cfg.extensions;
        break;
      case Kind::kConnector:
        out = &connectors;
        break;
    }
    RETURN_IF_ERROR(DecodeSection(decoder, kind, factories, out));
  }

  config::Decoder service = decoder.Child("service");
  RETURN_IF_ERROR(ReadIDs(service, "extensions", &cfg.service_extensions));
  DecodeTelemetry(service.Child("telemetry"), &cfg.telemetry);
  config::Decoder pipelines = service.Child("pipelines");
  for (const std::string& key : pipelines.Keys()) {
    ASSIGN_OR_RETURN(PipelineID id, ParsePipelineID(key));
    PipelineConfig pipeline{id, {}, {}, {}};
    config::Decoder p = pipelines.Child(key);
    RETURN_IF_ERROR(ReadIDs(p, "receivers", &pipeline.receivers));
    RETURN_IF_ERROR(ReadIDs(p, "processors", &pipeline.processors));
    RETURN_IF_ERROR(ReadIDs(p, "exporters", &pipeline.exporters));
    cfg.pipelines.push_back(std::move(pipeline));
  }
  // Unknown keys anywhere (top level, service, telemetry, pipelines) and type errors.
  RETURN_IF_ERROR(decoder.Finish());

  // The Collector's validation, in its order.
  if (cfg.receivers.empty()) return Invalid("no receiver configuration specified in config");
  if (cfg.exporters.empty()) return Invalid("no exporter configuration specified in config");
  for (const ComponentID& id : cfg.service_extensions) {
    if (cfg.Find(Kind::kExtension, id) == nullptr) {
      return Invalid(absl::StrCat("service::extensions: references extension \"", id.String(),
                                  "\" which is not configured"));
    }
  }
  if (cfg.pipelines.empty()) {
    return Invalid("service::pipelines: service must have at least one pipeline");
  }
  for (const PipelineConfig& p : cfg.pipelines) {
    const std::string path = absl::StrCat("service::pipelines::", p.id.String());
    if (p.receivers.empty())
      return Invalid(absl::StrCat(path, ": must have at least one receiver"));
    if (p.exporters.empty())
      return Invalid(absl::StrCat(path, ": must have at least one exporter"));
    auto check = [&](Kind kind, const std::vector<ComponentID>& ids) -> absl::Status {
      std::set<ComponentID> seen;
      for (const ComponentID& id : ids) {
        const ComponentEntry* entry = cfg.Find(kind, id);
        if (entry == nullptr) {
          return Invalid(absl::StrCat(path, ": references ", KindName(kind), " \"", id.String(),
                                      "\" which is not configured"));
        }
        if (!seen.insert(id).second) {
          return Invalid(absl::StrCat(path, ": references ", KindName(kind), " \"", id.String(),
                                      "\" multiple times"));
        }
        if (!entry->factory->SupportsSignal(p.id.signal)) {
          return Invalid(absl::StrCat(path, ": failed to create \"", id.String(), "\" ",
                                      KindName(kind), " for data type \"",
                                      otlp::SignalName(p.id.signal),
                                      "\": telemetry type is not supported"));
        }
        if (absl::Status use = entry->factory->CheckPipelineUse(id, p.id.signal); !use.ok()) {
          return Invalid(absl::StrCat(path, ": failed to create \"", id.String(), "\" ",
                                      KindName(kind), " for data type \"",
                                      otlp::SignalName(p.id.signal), "\": ", use.message()));
        }
      }
      return absl::OkStatus();
    };
    RETURN_IF_ERROR(check(Kind::kReceiver, p.receivers));
    RETURN_IF_ERROR(check(Kind::kProcessor, p.processors));
    RETURN_IF_ERROR(check(Kind::kExporter, p.exporters));
  }
  return cfg;
}

}  // namespace sprout::collector
