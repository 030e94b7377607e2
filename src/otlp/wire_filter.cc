#include "otlp/wire_filter.h"

#include <cstdint>
#include <optional>

#include "otlp/wire_format.h"

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

// The shared readers (wire_format.h) over a view that advances.
bool ReadVarint(std::string_view& in, uint64_t* out) {
  const char* p = in.data();
  if (!wire::ReadVarint(&p, in.data() + in.size(), out)) return false;
  in.remove_prefix(static_cast<size_t>(p - in.data()));
  return true;
}

bool ReadTag(std::string_view& in, uint32_t* out) {
  const char* p = in.data();
  if (!wire::ReadTag(&p, in.data() + in.size(), out)) return false;
  in.remove_prefix(static_cast<size_t>(p - in.data()));
  return true;
}

bool NextField(std::string_view& in, Field* field, int depth = 0);

// Skips a group's fields up to and including its end tag (unknown groups are legal protobuf,
// and the scan and the parser accept them).
bool SkipGroup(std::string_view& in, uint32_t number, int depth) {
  Field inner;
  while (!in.empty()) {
    std::string_view peek = in;
    uint32_t tag = 0;
    if (!ReadTag(peek, &tag)) return false;
    if ((tag & 7) == 4) {
      in = peek;
      return (tag >> 3) == number;
    }
    if (!NextField(in, &inner, depth + 1)) return false;
  }
  return false;
}

// Reads the next field of `in` (a whole group, for a start-group tag); false at the end or on
// malformed input.
bool NextField(std::string_view& in, Field* field, int depth) {
  if (in.empty()) return false;
  const char* start = in.data();
  uint32_t tag = 0;
  if (!ReadTag(in, &tag)) return false;
  field->number = tag >> 3;
  field->wire_type = tag & 7;
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
    case 3:
      if (depth >= 100 || !SkipGroup(in, field->number, depth)) return false;
      break;
    default:
      return false;  // a stray end-group tag
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

// Copies a scope keeping the flagged-off items; returns how many it kept, or -1 when the bytes
// or the flags do not match.
int KeepItems(std::string_view scope, const std::vector<bool>& drop, size_t* next,
              std::string* out) {
  int kept = 0;
  Field f;
  while (!scope.empty()) {
    if (!NextField(scope, &f)) return -1;
    if (f.number == kItems && f.wire_type == 2) {
      if (*next >= drop.size()) return -1;
      if (drop[(*next)++]) continue;
      ++kept;
    }
    out->append(f.whole);
  }
  return kept;
}

}  // namespace

std::optional<std::string> RemoveItems(Signal signal, std::string_view wire,
                                       const std::vector<bool>& drop, int64_t* kept_items) {
  (void)signal;  // traces and logs share the shape
  std::string out;
  int64_t kept_total = 0;
  out.reserve(wire.size());
  std::string resource;
  std::string scope;
  size_t next = 0;
  Field rf;
  while (!wire.empty()) {
    if (!NextField(wire, &rf)) return std::nullopt;
    if (rf.number != kResources || rf.wire_type != 2) {
      out.append(rf.whole);
      continue;
    }
    resource.clear();
    int scopes_kept = 0;
    std::string_view rbody = rf.payload;
    Field sf;
    while (!rbody.empty()) {
      if (!NextField(rbody, &sf)) return std::nullopt;
      if (sf.number != kScopes || sf.wire_type != 2) {
        resource.append(sf.whole);
        continue;
      }
      scope.clear();
      const int kept = KeepItems(sf.payload, drop, &next, &scope);
      if (kept < 0) return std::nullopt;
      kept_total += kept;
      if (kept == 0) continue;
      AppendMessage(&resource, kScopes, scope);
      ++scopes_kept;
    }
    if (scopes_kept > 0) AppendMessage(&out, kResources, resource);
  }
  // Every flag used: the walk saw exactly the items a decode sees.
  if (next != drop.size()) return std::nullopt;
  if (kept_items != nullptr) *kept_items = kept_total;
  return out;
}

}  // namespace sprout::otlp
