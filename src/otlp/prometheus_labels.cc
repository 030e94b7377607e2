// Label names and values (collector.md §10.3): names sanitized rune by rune, attribute values
// as pdata's AsString writes them (maps and slices as Go's encoding/json).
#include <algorithm>
#include <charconv>
#include <vector>

#include "base/go_format.h"
#include "otlp/prometheus_internal.h"

namespace sprout::otlp {
namespace prom_internal {
namespace {

// Maps and slices as label values are JSON, as Go's encoding/json writes the attribute's raw
// form: map keys sorted (the last of duplicate keys wins), `<`, `>`, `&`, U+2028 and U+2029
// escaped, invalid UTF-8 replaced by U+FFFD, bytes as base64 strings, an empty value as null.

void AppendJsonString(std::string_view s, std::string* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  out->push_back('"');
  for (size_t i = 0, len = 0; i < s.size(); i += len) {
    const char32_t rune = DecodeRune(s, i, &len);
    if (rune >= 0x80) {
      if (rune == kRuneError && len == 1) {
        out->append("\\ufffd");
      } else if (rune == 0x2028 || rune == 0x2029) {
        out->append(rune == 0x2028 ? "\\u2028" : "\\u2029");
      } else {
        out->append(s.substr(i, len));
      }
      continue;
    }
    const char c = static_cast<char>(rune);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == '<' || c == '>' || c == '&') {
          out->append("\\u00");
          out->push_back(kDigits[(c >> 4) & 15]);
          out->push_back(kDigits[c & 15]);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

bool AppendJson(const AnyValue& value, std::string* out) {
  switch (value.value_case()) {
    case AnyValue::kStringValue:
      AppendJsonString(value.string_value(), out);
      return true;
    case AnyValue::kBoolValue:
      out->append(value.bool_value() ? "true" : "false");
      return true;
    case AnyValue::kIntValue:
      AppendInt(value.int_value(), out);
      return true;
    case AnyValue::kDoubleValue:
      return AppendGoJsonFloat(value.double_value(), out);
    case AnyValue::kBytesValue: {
      std::string encoded;
      AppendBase64(value.bytes_value(), &encoded);
      AppendJsonString(encoded, out);
      return true;
    }
    case AnyValue::kArrayValue: {
      out->push_back('[');
      bool first = true;
      for (const AnyValue& element : value.array_value().values()) {
        if (!first) out->push_back(',');
        first = false;
        if (!AppendJson(element, out)) return false;
      }
      out->push_back(']');
      return true;
    }
    case AnyValue::kKvlistValue: {
      std::vector<const KeyValue*> entries;
      for (const KeyValue& kv : value.kvlist_value().values()) entries.push_back(&kv);
      std::stable_sort(entries.begin(), entries.end(),
                       [](const KeyValue* a, const KeyValue* b) { return a->key() < b->key(); });
      out->push_back('{');
      bool first = true;
      for (size_t i = 0; i < entries.size(); ++i) {
        if (i + 1 < entries.size() && entries[i + 1]->key() == entries[i]->key()) continue;
        if (!first) out->push_back(',');
        first = false;
        AppendJsonString(entries[i]->key(), out);
        out->push_back(':');
        if (!AppendJson(entries[i]->value(), out)) return false;
      }
      out->push_back('}');
      return true;
    }
    case AnyValue::VALUE_NOT_SET:
      out->append("null");
      return true;
  }
  out->append("null");
  return true;
}

}  // namespace

void AppendInt(int64_t v, std::string* out) {
  char buf[24];
  const auto result = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, result.ptr);
}

void AppendBase64(std::string_view bytes, std::string* out) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (static_cast<uint8_t>(bytes[i]) << 16) |
                       (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                       static_cast<uint8_t>(bytes[i + 2]);
    out->push_back(kAlphabet[(v >> 18) & 63]);
    out->push_back(kAlphabet[(v >> 12) & 63]);
    out->push_back(kAlphabet[(v >> 6) & 63]);
    out->push_back(kAlphabet[v & 63]);
  }
  if (i < bytes.size()) {
    const bool two = i + 1 < bytes.size();
    const uint32_t v = (static_cast<uint8_t>(bytes[i]) << 16) |
                       (two ? static_cast<uint8_t>(bytes[i + 1]) << 8 : 0);
    out->push_back(kAlphabet[(v >> 18) & 63]);
    out->push_back(kAlphabet[(v >> 12) & 63]);
    out->push_back(two ? kAlphabet[(v >> 6) & 63] : '=');
    out->push_back('=');
  }
}

void AppendHex(std::string_view bytes, std::string* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (char c : bytes) {
    out->push_back(kDigits[static_cast<uint8_t>(c) >> 4]);
    out->push_back(kDigits[static_cast<uint8_t>(c) & 15]);
  }
}

void AppendLabelValue(const AnyValue& value, std::string* out) {
  switch (value.value_case()) {
    case AnyValue::kStringValue:
      out->append(value.string_value());
      return;
    case AnyValue::kBoolValue:
      out->append(value.bool_value() ? "true" : "false");
      return;
    case AnyValue::kIntValue:
      AppendInt(value.int_value(), out);
      return;
    case AnyValue::kDoubleValue:
      AppendPdataDouble(value.double_value(), out);  // 1e+21, 1e-7, "json: unsupported value: NaN"
      return;
    case AnyValue::kBytesValue:
      AppendBase64(value.bytes_value(), out);
      return;
    case AnyValue::kArrayValue:
    case AnyValue::kKvlistValue: {
      // A NaN or infinity somewhere inside makes the JSON encoding fail; the Collector then
      // has an empty text, and so an absent label.
      const size_t size = out->size();
      if (!AppendJson(value, out)) out->resize(size);
      return;
    }
    case AnyValue::VALUE_NOT_SET:
      return;
  }
}

bool IsCleanLabelName(std::string_view name, bool permissive) {
  if (name.empty() || IsAsciiDigit(name[0])) return false;
  if (name[0] == '_' && !permissive && (name.size() == 1 || name[1] != '_')) return false;
  for (char c : name) {
    if (!IsAsciiAlnum(c) && c != '_') return false;
  }
  return true;
}

void AppendLabelName(std::string_view name, bool permissive, std::string* out) {
  const size_t start = out->size();
  for (size_t i = 0, len = 0; i < name.size(); i += len) {
    if (static_cast<unsigned char>(name[i]) < 0x80) {
      out->push_back(IsAsciiAlnum(name[i]) ? name[i] : '_');
      len = 1;
    } else if (IsLetterOrDigit(DecodeRune(name, i, &len))) {
      out->append(name.substr(i, len));
    } else {
      out->push_back('_');
    }
  }
  if (out->size() == start) return;
  const char first = (*out)[start];
  if (IsAsciiDigit(first)) {
    out->insert(start, "key_");
  } else if (first == '_' && !permissive &&
             (out->size() == start + 1 || (*out)[start + 1] != '_')) {
    out->insert(start, "key");
  }
}

}  // namespace prom_internal

using namespace prom_internal;  // NOLINT

std::string PromLabelName(std::string_view name, bool permissive) {
  std::string out;
  out.reserve(name.size() + 4);
  AppendLabelName(name, permissive, &out);
  return out;
}

std::string PromLabelValue(const pb::common::AnyValue& value) {
  std::string out;
  AppendLabelValue(value, &out);
  return out;
}

}  // namespace sprout::otlp
