// Loading a Collector-style configuration: sources merged in order, overrides, expansion.
//
// Semantics follow the OpenTelemetry Collector's confmap:
//  - each `--config` value is a URI: `file:<path>`, `env:<VAR>` (the variable holds YAML),
//    `yaml:<key::path: value>`, or a bare path (= file);
//  - sources are merged in order: maps merge key by key (recursively), anything else (scalars,
//    lists) is replaced by the later source;
//  - `--set key::path=value` overrides are applied after all sources, in order; the value is
//    parsed as YAML; `::` separates map keys;
//  - after merging, `${env:VAR}`, `${VAR}` and `${env:VAR:-default}` are expanded in every scalar
//    (map keys are left alone); `$$` is a literal `$`. A scalar that is exactly one `${...}` is
//    replaced by the YAML value of the variable (so "8" becomes an int, "[a,b]" a list); inside a
//    longer string the text is substituted. An unset variable without default expands to empty
//    and adds the warning "Configuration references unset environment variable" (name in
//    `warnings`). Variable names must match ^[a-zA-Z_][a-zA-Z0-9_]*$. Expansion inside a default
//    (`${env:A:-${env:B}}`) is allowed; recursion is capped at 1000 levels.
//
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "yaml-cpp/node/node.h"

namespace sprout::config {

// Looks up an environment variable; nullopt when unset. A seam so tests need not touch environ.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;
EnvLookup ProcessEnv();

struct LoadOptions {
  std::vector<std::string> uris;           // --config values, in order
  std::vector<std::string> set_overrides;  // --set values ("a::b=c"), in order
  EnvLookup env = ProcessEnv();
};

struct Warning {
  std::string message;  // e.g. "Configuration references unset environment variable"
  std::string name;     // the variable name
};

struct Loaded {
  YAML::Node root;  // a map (empty map when every source was empty)
  std::vector<Warning> warnings;
};

// Errors name the source: `cannot read config file "x.yaml": No such file or directory`,
// `cannot parse config "x.yaml": yaml: line 3, column 5: ...`, `invalid --set "a": missing "="`,
// `environment variable "1X" has invalid name: must match regex ^[a-zA-Z_][a-zA-Z0-9_]*$`.
absl::StatusOr<Loaded> Load(const LoadOptions& options);

// The building blocks of Load, exposed for tests and for other config consumers.
absl::StatusOr<YAML::Node> ParseYaml(std::string_view text, std::string_view source_name);
void MergeInto(YAML::Node& base, const YAML::Node& overlay);  // overlay wins
absl::Status ApplySet(YAML::Node& root, std::string_view set_value);
absl::Status Expand(YAML::Node& root, const EnvLookup& env, std::vector<Warning>* warnings);

}  // namespace sprout::config
