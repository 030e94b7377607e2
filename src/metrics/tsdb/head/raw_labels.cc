#include "metrics/tsdb/head/raw_labels.h"

#include <random>

#include "absl/hash/hash.h"
#include "base/coding.h"
#include "base/hash.h"

namespace sprout::metrics::tsdb {
namespace {

// A protobuf varint; false when truncated or longer than 10 bytes.
inline bool ReadVarint(const char*& p, const char* end, uint64_t* out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (p == end) return false;
    const uint8_t b = static_cast<uint8_t>(*p++);
    v |= uint64_t{b & 0x7fu} << shift;
    if (b < 0x80) {
      *out = v;
      return true;
    }
  }
  return false;
}

inline bool ReadBytes(const char*& p, const char* end, std::string_view* out) {
  uint64_t len;
  if (!ReadVarint(p, end, &len)) return false;
  if (len > static_cast<uint64_t>(end - p)) return false;
  *out = std::string_view(p, len);
  p += len;
  return true;
}

// Skips a field of `wire_type` whose tag was read; false when it cannot be skipped.
inline bool SkipField(const char*& p, const char* end, uint64_t wire_type) {
  switch (wire_type) {
    case 0: {
      uint64_t ignored;
      return ReadVarint(p, end, &ignored);
    }
    case 1:
      if (end - p < 8) return false;
      p += 8;
      return true;
    case 2: {
      std::string_view ignored;
      return ReadBytes(p, end, &ignored);
    }
    case 5:
      if (end - p < 4) return false;
      p += 4;
      return true;
    default:  // groups (3, 4) and invalid types
      return false;
  }
}

// Parses one Label message.
inline bool ParseLabel(std::string_view msg, std::string_view* name, std::string_view* value) {
  const char* p = msg.data();
  const char* end = p + msg.size();
  *name = std::string_view();
  *value = std::string_view();
  while (p != end) {
    uint64_t tag;
    if (!ReadVarint(p, end, &tag)) return false;
    const uint64_t field = tag >> 3;
    const uint64_t wire_type = tag & 7;
    if (wire_type == 2 && (field == 1 || field == 2)) {
      if (!ReadBytes(p, end, field == 1 ? name : value)) return false;
    } else if (field == 0 || !SkipField(p, end, wire_type)) {
      return false;
    }
  }
  return true;
}

// Counts the labels; false when malformed.
bool CountRawLabels(std::string_view raw, uint64_t* count) {
  uint64_t n = 0;
  const bool ok = ForEachRawLabel(raw, [&](std::string_view, std::string_view) {
    ++n;
    return true;
  });
  *count = n;
  return ok;
}

}  // namespace

bool ForEachRawLabel(std::string_view raw,
                     absl::FunctionRef<bool(std::string_view name, std::string_view value)> fn) {
  const char* p = raw.data();
  const char* end = p + raw.size();
  while (p != end) {
    uint64_t tag;
    if (!ReadVarint(p, end, &tag) || tag != 0x0a) return false;
    std::string_view msg, name, value;
    if (!ReadBytes(p, end, &msg) || !ParseLabel(msg, &name, &value)) return false;
    if (!fn(name, value)) return true;
  }
  return true;
}

std::optional<uint64_t> RawLabelsHash(std::string_view raw) {
  uint64_t h;
  if (!CountRawLabels(raw, &h)) return std::nullopt;
  ForEachRawLabel(raw, [&](std::string_view name, std::string_view value) {
    h = HashString(h, name);
    h = HashString(h, value);
    return true;
  });
  return h;
}

bool RawLabelsEqual(std::string_view raw, const Labels& labels) {
  Labels::Iterator it = labels.begin();
  const Labels::Iterator end = labels.end();
  bool equal = true;
  const bool ok = ForEachRawLabel(raw, [&](std::string_view name, std::string_view value) {
    if (it == end) {
      equal = false;
      return false;
    }
    const Label l = *it;
    if (l.name != name || l.value != value) {
      equal = false;
      return false;
    }
    ++it;
    return true;
  });
  return ok && equal && it == end;
}

bool AddRawLabels(std::string_view raw, LabelsBuilder& builder) {
  return ForEachRawLabel(raw, [&](std::string_view name, std::string_view value) {
    builder.Add(name, value);
    return true;
  });
}

std::optional<std::string_view> RawLabelsSpan(std::string_view timeseries) {
  const char* p = timeseries.data();
  const char* end = p + timeseries.size();
  const char* first = nullptr;
  const char* last_end = nullptr;
  bool closed = false;  // another field came after the labels started
  while (p != end) {
    const char* field_start = p;
    uint64_t tag;
    if (!ReadVarint(p, end, &tag)) return std::nullopt;
    if (tag == 0x0a) {
      if (closed) return std::nullopt;
      std::string_view msg;
      if (!ReadBytes(p, end, &msg)) return std::nullopt;
      if (first == nullptr) first = field_start;
      last_end = p;
    } else {
      if ((tag >> 3) == 0 || !SkipField(p, end, tag & 7)) return std::nullopt;
      if (first != nullptr) closed = true;
    }
  }
  if (first == nullptr) return std::string_view();
  return std::string_view(first, last_end - first);
}

void AppendRawLabels(const Labels& labels, std::string& out) {
  for (Label l : labels) {
    const size_t msg = 1 + UvarintLength(l.name.size()) + l.name.size() + 1 +
                       UvarintLength(l.value.size()) + l.value.size();
    out.push_back(0x0a);
    PutUvarint(out, msg);
    out.push_back(0x0a);
    PutUvarint(out, l.name.size());
    out.append(l.name);
    out.push_back(0x12);
    PutUvarint(out, l.value.size());
    out.append(l.value);
  }
}

std::string EncodeRawLabels(const Labels& labels) {
  std::string out;
  AppendRawLabels(labels, out);
  return out;
}

namespace {
uint64_t ProcessSeed() {
  static const uint64_t seed = [] {
    std::random_device rd;
    return (uint64_t{rd()} << 32) ^ rd();
  }();
  return seed;
}
}  // namespace

uint64_t SeededLabelsHash(uint64_t labels_hash) { return absl::HashOf(ProcessSeed(), labels_hash); }

uint64_t SeededRawBytesHash(std::string_view raw) { return absl::HashOf(ProcessSeed(), raw); }

}  // namespace sprout::metrics::tsdb
