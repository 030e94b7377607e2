#include "otlp/wire_filter.h"

#include <cstdint>

namespace sprout::otlp {
namespace {

// One field of a message: its number, wire type, the whole encoding (tag to end) and, for
// length-delimited fields, the payload.
struct Field {
  uint32_t number = 0;
  uint32_t wire_type = 0;
  std::string_view whole;
  std::string_view payload;
};

bool ReadVarint(std::string_view& in, uint64_t* out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    const uint8_t b = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    v |= uint64_t{b & 0x7f} << shift;
    if ((b & 0x80) == 0) {
      *out = v;
      return true;
    }
  }
  return false;
}

// Reads the next field of `in`; false at the end (or on malformed input, which a scanned
// request never has).
bool NextField(std::string_view& in, Field* field) {
  if (in.empty()) return false;
  const char* start = in.data();
  uint64_t tag = 0;
  if (!ReadVarint(in, &tag)) return false;
  field->number = static_cast<uint32_t>(tag >> 3);
  field->wire_type = static_cast<uint32_t>(tag & 7);
  uint64_t n = 0;
  switch (field->wire_type) {
    case 0:
      if (!ReadVarint(in, &n)) return false;
      break;
    case 1:
      if (in.size() < 8) return false;
      in.remove_prefix(8);
      break;
    case 2:
      if (!ReadVarint(in, &n) || n > in.size()) return false;
      field->payload = in.substr(0, n);
      in.remove_prefix(n);
      break;
    case 5:
      if (in.size() < 4) return false;
      in.remove_prefix(4);
      break;
    default:
      return false;  // groups never occur in OTLP
  }
  field->whole = std::string_view(start, static_cast<size_t>(in.data() - start));
  return true;
}

void AppendVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void AppendMessage(std::string* out, uint32_t number, std::string_view payload) {
  AppendVarint(out, (uint64_t{number} << 3) | 2);
  AppendVarint(out, payload.size());
  out->append(payload);
}

// Field numbers: request.resource_X = 1; ResourceX.scope_X = 2; ScopeX.items = 2 (spans,
// log_records) for both signals.
constexpr uint32_t kResources = 1;
constexpr uint32_t kScopes = 2;
constexpr uint32_t kItems = 2;

// Copies a scope keeping the flagged-off items; returns how many it kept.
int KeepItems(std::string_view scope, const std::vector<bool>& drop, size_t* next,
              std::string* out) {
  int kept = 0;
  Field f;
  while (NextField(scope, &f)) {
    if (f.number == kItems && f.wire_type == 2) {
      if (drop[(*next)++]) continue;
      ++kept;
    }
    out->append(f.whole);
  }
  return kept;
}

}  // namespace

std::string RemoveItems(Signal signal, std::string_view wire, const std::vector<bool>& drop) {
  (void)signal;  // traces and logs share the shape
  std::string out;
  out.reserve(wire.size());
  std::string resource;
  std::string scope;
  size_t next = 0;
  Field rf;
  while (NextField(wire, &rf)) {
    if (rf.number != kResources || rf.wire_type != 2) {
      out.append(rf.whole);
      continue;
    }
    resource.clear();
    int scopes_kept = 0;
    std::string_view rbody = rf.payload;
    Field sf;
    while (NextField(rbody, &sf)) {
      if (sf.number != kScopes || sf.wire_type != 2) {
        resource.append(sf.whole);
        continue;
      }
      scope.clear();
      if (KeepItems(sf.payload, drop, &next, &scope) == 0) continue;
      AppendMessage(&resource, kScopes, scope);
      ++scopes_kept;
    }
    if (scopes_kept > 0) AppendMessage(&out, kResources, resource);
  }
  return out;
}

}  // namespace sprout::otlp
