// Internal helpers over yaml-cpp shared by the loader and the decoder. Not part of the public API.
//
// yaml-cpp resolves no types: every scalar is text plus a tag ("?" when written plain, "!" when
// quoted). The Collector reads YAML with Go's yaml.v3 into untyped Go values, so a plain `8` is an
// int and a quoted "8" a string. ResolveScalar applies the YAML 1.2 core schema to recover that
// typing, and the Go* functions render values the way the Collector's error messages do.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "yaml-cpp/node/node.h"

namespace sprout::config::internal {

enum class ValueKind { kNull, kBool, kInt, kFloat, kString, kList, kMap };

// The kind a Go YAML decoder would give `node`. Undefined nodes count as null.
ValueKind KindOf(const YAML::Node& node);

// Parses a scalar of kind kInt / kBool; nullopt when the text is not of that kind.
std::optional<int64_t> ParseInt(std::string_view text);
std::optional<bool> ParseBool(std::string_view text);
std::optional<double> ParseFloat(std::string_view text);  // also accepts ints

// Go's reflect names, as mapstructure prints them: "string", "int", "float64", "bool",
// "[]interface {}", "map[string]interface {}" (TypeName) and "slice"/"map" (KindName).
std::string GoTypeName(ValueKind kind);
std::string GoKindName(ValueKind kind);
// The value as Go's "%v" prints it: `true`, `16` for 0x10, `[a b]`, `map[k:v]` (keys sorted).
std::string GoValueString(const YAML::Node& node);

// A map key as written ("0x10" stays "0x10"); non-scalar keys in their GoValueString form.
std::string KeyText(const YAML::Node& key);

// The value stored under scalar key `key` of a map; nullopt when absent or `map` is not a map.
// Unlike Node::operator[], never inserts and never throws.
std::optional<YAML::Node> FindValue(const YAML::Node& map, std::string_view key);

// Sets `key` of map `map` to `value` (replacing an existing entry, appending otherwise).
void SetValue(YAML::Node& map, const std::string& key, const YAML::Node& value);

// A copy sharing no storage with `node`. yaml-cpp nodes are handles and YAML aliases share their
// target, so without this an edit through one path would show through another. When
// `split_keys` is set, map keys containing "::" become nested maps, as in the Collector where
// "::" is the key delimiter everywhere. Fails on self-referencing aliases and alias bombs.
absl::StatusOr<YAML::Node> DeepCopy(const YAML::Node& node, bool split_keys);
// DeepCopy for a freshly parsed document: splits "::" keys and rejects duplicate keys, as Go's
// yaml.v3 does ("mapping key "a" already defined at line 2").
absl::StatusOr<YAML::Node> CopyParsed(const YAML::Node& node);

// Merges `overlay` into `base` (maps key by key, anything else replaced) and adopts overlay's
// nodes: only for overlays that share storage with nothing else (fresh DeepCopy results).
void MergeOwned(YAML::Node& base, const YAML::Node& overlay);

// The path of `key` below `path` ("" is the root): "a::b".
std::string JoinPath(std::string_view path, std::string_view key);

}  // namespace sprout::config::internal
