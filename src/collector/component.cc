#include "collector/component.h"

#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace sprout::collector {

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kReceiver:
      return "receiver";
    case Kind::kProcessor:
      return "processor";
    case Kind::kExporter:
      return "exporter";
    case Kind::kExtension:
      return "extension";
    case Kind::kConnector:
      return "connector";
  }
  return "component";
}

const char* KindSection(Kind kind) {
  switch (kind) {
    case Kind::kReceiver:
      return "receivers";
    case Kind::kProcessor:
      return "processors";
    case Kind::kExporter:
      return "exporters";
    case Kind::kExtension:
      return "extensions";
    case Kind::kConnector:
      return "connectors";
  }
  return "components";
}

absl::StatusOr<ComponentID> ComponentID::Parse(std::string_view text) {
  ComponentID id;
  const size_t slash = text.find('/');
  std::string_view type = text.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string_view name = text.substr(slash + 1);
    if (name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("in \"", AV(text), "\" id: the part after / should not be empty"));
    }
    if (name.size() > 1024) {
      return absl::InvalidArgumentError(
          absl::StrCat("in \"", AV(text), "\" id: name is longer than 1024 characters"));
    }
    for (unsigned char c : name) {
      if (c <= 0x20 || c == 0x7f || c == '/') {
        return absl::InvalidArgumentError(absl::StrCat(
            "in \"", AV(text), "\" id: invalid character(s) in name \"", AV(name), "\""));
      }
    }
    id.name = std::string(name);
  }
  bool valid = !type.empty() && type.size() <= 63 &&
               ((type[0] >= 'a' && type[0] <= 'z') || (type[0] >= 'A' && type[0] <= 'Z'));
  for (char c : type) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
      valid = false;
    }
  }
  if (!valid) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid character(s) in type \"", AV(type),
                     "\": type must match ^[a-zA-Z][0-9a-zA-Z_]{0,62}$"));
  }
  id.type = std::string(type);
  return id;
}

}  // namespace sprout::collector
