// A typed reader for one YAML map of a configuration, with the Collector's strictness:
// no weak typing, case-sensitive keys, and unknown keys reported with their full path.
//
//   config::Decoder d(node, "receivers::otlp");
//   auto grpc = d.Child("protocols").Child("grpc");
//   grpc.Read("endpoint", &cfg.grpc_endpoint);     // absent key: leaves the default alone
//   RETURN_IF_ERROR(d.Finish());                    // unknown keys + type errors, all of them
//
// Paths use `::` between keys, as the Collector's --set syntax does. Error texts:
//   '<path>' has invalid keys: a, b                     (unknown keys, sorted, comma-separated)
//   '<path>' expected a map, got '<yaml kind>'           (Child/Finish on a non-map)
//   '<path>' expected type 'bool', got unconvertible type 'string', value: 'yes'
//   '<path>' expected type 'int', got unconvertible type 'string', value: 'abc'
//   '<path>' time: invalid duration "abc"
// Several errors are joined with "\n", in the order of the keys read.
//
// A key present with an empty value (`grpc:`) counts as present: Has() is true, the child is an
// empty map and typed reads keep the default.
//
// Not thread-safe; a Decoder and its children share state and live on one thread.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "yaml-cpp/node/node.h"

namespace sprout::config {

class Decoder {
 public:
  Decoder(const YAML::Node& node, std::string path);

  const std::string& path() const;
  const YAML::Node& node() const;
  // Keys of this map in document order (for maps of user-named entries, e.g. `receivers`).
  std::vector<std::string> Keys() const;
  bool Has(std::string_view key) const;
  // True when the node is null/absent (e.g. `debug:` with nothing after it).
  bool IsNull() const;

  // Typed reads. An absent or null key leaves *out untouched. A value of the wrong type records
  // an error. Integers accept YAML ints only (no "5" strings, no floats); doubles accept ints and
  // floats; bools accept true/false; durations accept a Go duration string or an integer number
  // of nanoseconds; string lists accept a YAML list of scalars or a comma-separated string.
  // Strings accept any scalar as written (`port: ${env:PORT}` holding 8 still reads as "8", as
  // the Collector keeps an expanded value's original text). Maps are merged into *out, config
  // entries winning, as mapstructure does; on an error *out is left untouched.
  void Read(std::string_view key, std::string* out);
  void Read(std::string_view key, bool* out);
  void Read(std::string_view key, int64_t* out);
  void Read(std::string_view key, int* out);
  void Read(std::string_view key, uint32_t* out);
  void Read(std::string_view key, double* out);
  void Read(std::string_view key, absl::Duration* out);
  void Read(std::string_view key, std::vector<std::string>* out);
  void Read(std::string_view key, std::map<std::string, std::string>* out);
  // The raw node of `key`, marking it as used (for values decoded elsewhere); an undefined node
  // (IsDefined() false) when the key is absent.
  YAML::Node Raw(std::string_view key);
  // Keys the real system accepts but this implementation does not: each one present with a
  // non-null value records the error "'<path>::<key>' <message>".
  void Refuse(std::initializer_list<const char*> keys, std::string_view message);

  // A decoder for the nested map at `key` (an empty map when absent or null). Its unknown keys
  // and errors are reported by this decoder's Finish().
  Decoder Child(std::string_view key);

  // Records an error about `key` of this map (or about the map itself when key is empty):
  // "'<path>::<key>' <message>".
  void AddError(std::string_view key, std::string_view message);

  // All errors of this decoder and its children, plus unknown keys. OK when there are none.
  // A child whose Finish() was called is left out of its ancestors' Finish(), so a component
  // can check its own section without the root reporting it twice.
  absl::Status Finish();

 private:
  // One map's reading state; a parent owns its children's states, so errors recorded through a
  // child Decoder reach the parent's Finish() even after the child Decoder is gone.
  struct State;
  explicit Decoder(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace sprout::config
