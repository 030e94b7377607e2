#include "otlp/json.h"

#include <algorithm>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "base/hex.h"
#include "base/status.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace sprout::otlp {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// AnyValue nests through kvlistValue/arrayValue without bound; the walk below is recursive, so
// untrusted input must not choose the stack depth.
constexpr int kMaxDepth = 100;

// The iterative parser keeps RapidJSON itself off the call stack for deeply nested input (e.g.
// unknown fields holding a million '['), which the depth limit above cannot see. Encoding
// validation keeps invalid UTF-8 out of proto3 string fields, which would otherwise fail later at
// binary serialisation. Numbers arrive as text and are converted by DocumentBuilder.
constexpr unsigned kParseFlags = rapidjson::kParseInsituFlag | rapidjson::kParseIterativeFlag |
                                 rapidjson::kParseValidateEncodingFlag |
                                 rapidjson::kParseNumbersAsStringsFlag |
                                 rapidjson::kParseNanAndInfFlag;

// Types whose proto3 JSON form is not a plain object of their fields.
enum class WellKnown { kNone, kAny, kDuration };

struct MessageInfo;

struct FieldInfo {
  const FieldDescriptor* field = nullptr;
  // OTLP deviates from proto3 JSON for trace and span IDs: hex instead of base64.
  bool hex_bytes = false;
  const MessageInfo* message = nullptr;  // for message fields
};

// Per-descriptor lookups, built once and immutable afterwards.
struct MessageInfo {
  const Descriptor* descriptor = nullptr;
  WellKnown well_known = WellKnown::kNone;
  std::vector<FieldInfo> fields;  // in field number order, which is the output order
  // Keys view the descriptor's own name strings, which live as long as the descriptor.
  std::unordered_map<std::string_view, const FieldInfo*> by_name;  // json_name and name
  // Any: type_url and value; Duration: seconds and nanos.
  const FieldDescriptor* first = nullptr;
  const FieldDescriptor* second = nullptr;

  const FieldInfo* Find(std::string_view name) const {
    auto it = by_name.find(name);
    return it == by_name.end() ? nullptr : it->second;
  }
};

// Descriptors of the generated pool live for the whole process, so entries are never evicted.
class InfoCache {
 public:
  const MessageInfo* Get(const Descriptor* descriptor) {
    {
      std::shared_lock lock(mu_);
      auto it = infos_.find(descriptor);
      if (it != infos_.end()) return it->second.get();
    }
    std::unique_lock lock(mu_);
    return BuildLocked(descriptor);
  }

 private:
  // Builds the info of `descriptor` and of every message type reachable from it, so that the
  // walk follows FieldInfo::message pointers without taking the lock again. The entry is
  // inserted before its fields are filled, which ends recursion through cyclic types (AnyValue).
  MessageInfo* BuildLocked(const Descriptor* descriptor) {
    auto [it, inserted] = infos_.try_emplace(descriptor);
    if (!inserted) return it->second.get();
    it->second = std::make_unique<MessageInfo>();
    MessageInfo* info = it->second.get();
    info->descriptor = descriptor;
    const std::string& full_name = descriptor->full_name();
    if (full_name == "google.protobuf.Any") {
      info->well_known = WellKnown::kAny;
      info->first = descriptor->FindFieldByNumber(1);   // type_url
      info->second = descriptor->FindFieldByNumber(2);  // value
    } else if (full_name == "google.protobuf.Duration") {
      info->well_known = WellKnown::kDuration;
      info->first = descriptor->FindFieldByNumber(1);   // seconds
      info->second = descriptor->FindFieldByNumber(2);  // nanos
    }
    info->fields.reserve(descriptor->field_count());
    for (int i = 0; i < descriptor->field_count(); ++i) {
      const FieldDescriptor* field = descriptor->field(i);
      FieldInfo field_info;
      field_info.field = field;
      const std::string& name = field->name();
      field_info.hex_bytes = field->type() == FieldDescriptor::TYPE_BYTES &&
                             (name == "trace_id" || name == "span_id" || name == "parent_span_id");
      info->fields.push_back(field_info);
    }
    std::sort(info->fields.begin(), info->fields.end(), [](const FieldInfo& a, const FieldInfo& b) {
      return a.field->number() < b.field->number();
    });
    for (FieldInfo& field_info : info->fields) {
      info->by_name.emplace(field_info.field->json_name(), &field_info);
      info->by_name.emplace(field_info.field->name(), &field_info);
      if (field_info.field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        field_info.message = BuildLocked(field_info.field->message_type());
      }
    }
    return info;
  }

  std::shared_mutex mu_;
  std::unordered_map<const Descriptor*, std::unique_ptr<MessageInfo>> infos_;
};

InfoCache& Cache() {
  static auto* cache = new InfoCache();
  return *cache;
}

// The proto3 JSON codec is the only one implemented: proto2 semantics (closed enums, required
// fields) and the well-known types other than Any and Duration would come out wrong, so an Any
// naming them is rejected rather than mis-encoded.
const Descriptor* ResolveTypeUrl(std::string_view type_url) {
  const size_t slash = type_url.rfind('/');
  if (slash == std::string_view::npos) return nullptr;
  const std::string name(type_url.substr(slash + 1));
  const Descriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(name);
  if (descriptor == nullptr) return nullptr;
  if (descriptor->file()->syntax() != google::protobuf::FileDescriptor::SYNTAX_PROTO3) {
    return nullptr;
  }
  if (name.starts_with("google.protobuf.") && name != "google.protobuf.Any" &&
      name != "google.protobuf.Duration") {
    return nullptr;
  }
  return descriptor;
}

// ---------------------------------------------------------------------------------------------
// Scalar encodings.

// Quotes a user-supplied string for an error message, bounded so that a huge bad value does
// not make a huge error.
std::string Quote(std::string_view s) {
  constexpr size_t kMaxQuoted = 64;
  std::string out = "\"";
  out += absl::CHexEscape(AV(s.substr(0, kMaxQuoted)));
  if (s.size() > kMaxQuoted) out += "...";
  out += "\"";
  return out;
}

const char* JsonTypeName(const rapidjson::Value& value) {
  switch (value.GetType()) {
    case rapidjson::kNullType:
      return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      return "boolean";
    case rapidjson::kObjectType:
      return "object";
    case rapidjson::kArrayType:
      return "array";
    case rapidjson::kStringType:
      return "string";
    case rapidjson::kNumberType:
      return "number";
  }
  return "value";
}

std::string_view StringOf(const rapidjson::Value& value) {
  return std::string_view(value.GetString(), value.GetStringLength());
}

// RapidJSON decodes an unpaired low surrogate escape (`"\udc00"`) into the three-byte encoding
// of the surrogate itself, which is not UTF-8 (encoding validation only covers raw input bytes).
// Go's JSON decoders, the Collector's included, read it as U+FFFD; so do we, which also keeps
// such strings valid for the binary encoding and for our own JSON output.
std::string StringValue(std::string_view text) {
  std::string out(text);
  for (size_t i = 0; i + 2 < out.size(); ++i) {
    const auto b0 = static_cast<unsigned char>(out[i]);
    const auto b1 = static_cast<unsigned char>(out[i + 1]);
    if (b0 == 0xED && b1 >= 0xA0 && b1 <= 0xBF) {
      out.replace(i, 3, "\xEF\xBF\xBD");
      i += 2;
    }
  }
  return out;
}

std::string NumberText(const rapidjson::Value& value) {
  if (value.IsInt64()) return absl::StrCat(value.GetInt64());
  if (value.IsUint64()) return absl::StrCat(value.GetUint64());
  return absl::StrCat(value.GetDouble());
}

int Base64Digit(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

// Accepts the standard and the URL-safe alphabets, with or without padding, because clients
// differ (Go's encoding/json writes standard with padding; JavaScript tools often do not pad).
std::optional<std::string> Base64Decode(std::string_view in) {
  size_t n = in.size();
  size_t padding = 0;
  while (padding < 2 && n > 0 && in[n - 1] == '=') {
    --n;
    ++padding;
  }
  if (padding > 0 && in.size() % 4 != 0) return std::nullopt;
  if (n % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(n / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; ++i) {
    const int digit = Base64Digit(in[i]);
    if (digit < 0) return std::nullopt;
    acc = acc << 6 | static_cast<uint32_t>(digit);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>(acc >> bits & 0xff));
      acc &= (1u << bits) - 1;
    }
  }
  return out;
}

std::string Base64Encode(std::string_view in) {
  static constexpr char kDigits[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const uint32_t v = static_cast<uint8_t>(in[i]) << 16 | static_cast<uint8_t>(in[i + 1]) << 8 |
                       static_cast<uint8_t>(in[i + 2]);
    out.push_back(kDigits[v >> 18]);
    out.push_back(kDigits[v >> 12 & 63]);
    out.push_back(kDigits[v >> 6 & 63]);
    out.push_back(kDigits[v & 63]);
  }
  const size_t rest = in.size() - i;
  if (rest > 0) {
    uint32_t v = static_cast<uint8_t>(in[i]) << 16;
    if (rest == 2) v |= static_cast<uint8_t>(in[i + 1]) << 8;
    out.push_back(kDigits[v >> 18]);
    out.push_back(kDigits[v >> 12 & 63]);
    out.push_back(rest == 2 ? kDigits[v >> 6 & 63] : '=');
    out.push_back('=');
  }
  return out;
}

// proto3 JSON limits durations to +-10000 years.
constexpr int64_t kMaxDurationSeconds = 315'576'000'000;

// "1.5s", "-0.000000001s", "3s".
bool ParseDurationText(std::string_view text, int64_t* seconds, int32_t* nanos) {
  if (text.size() < 2 || text.back() != 's') return false;
  text.remove_suffix(1);
  const bool negative = text.front() == '-';
  if (negative) text.remove_prefix(1);
  const size_t dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  if (whole.empty()) return false;
  uint64_t secs = 0;
  auto [end, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), secs);
  if (ec != std::errc() || end != whole.data() + whole.size()) return false;
  if (secs > static_cast<uint64_t>(kMaxDurationSeconds)) return false;
  int32_t frac = 0;
  if (dot != std::string_view::npos) {
    const std::string_view digits = text.substr(dot + 1);
    if (digits.empty() || digits.size() > 9) return false;
    for (char c : digits) {
      if (c < '0' || c > '9') return false;
      frac = frac * 10 + (c - '0');
    }
    for (size_t i = digits.size(); i < 9; ++i) frac *= 10;
  }
  *seconds = negative ? -static_cast<int64_t>(secs) : static_cast<int64_t>(secs);
  *nanos = negative ? -frac : frac;
  return true;
}

// ToJson cannot fail, so out-of-range or mixed-sign values are normalised rather than rejected;
// valid durations print exactly.
std::string FormatDuration(int64_t seconds, int32_t nanos) {
  __int128 total = static_cast<__int128>(seconds) * 1'000'000'000 + nanos;
  const bool negative = total < 0;
  if (negative) total = -total;
  const auto secs = static_cast<uint64_t>(total / 1'000'000'000);
  auto frac = static_cast<uint32_t>(total % 1'000'000'000);
  std::string out = negative ? "-" : "";
  absl::StrAppend(&out, secs);
  if (frac != 0) {
    int digits = 9;
    while (digits > 3 && frac % 1000 == 0) {
      frac /= 1000;
      digits -= 3;
    }
    std::string f = absl::StrCat(frac);
    out += '.';
    out.append(digits - f.size(), '0');
    out += f;
  }
  out += 's';
  return out;
}

// ---------------------------------------------------------------------------------------------
// Parsing.

// Whether number text that does not fit a double is too small rather than too large: the
// decimal exponent of its leading significant digit is <= 0.
bool IsUnderflow(std::string_view text) {
  if (!text.empty() && text.front() == '-') text.remove_prefix(1);
  const size_t e = text.find_first_of("eE");
  int64_t exponent = 0;
  if (e != std::string_view::npos) {
    std::string_view digits = text.substr(e + 1);
    const bool negative = !digits.empty() && digits.front() == '-';
    if (!digits.empty() && (digits.front() == '-' || digits.front() == '+'))
      digits.remove_prefix(1);
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), exponent);
    if (ec == std::errc::result_out_of_range) exponent = int64_t{1} << 40;  // saturate
    if (negative) exponent = -exponent;
    text = text.substr(0, e);
  }
  const size_t dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view fraction = dot == std::string_view::npos ? "" : text.substr(dot + 1);
  int64_t lead;
  if (size_t nz = whole.find_first_not_of('0'); nz != std::string_view::npos) {
    lead = static_cast<int64_t>(whole.size() - nz);
  } else if (size_t fnz = fraction.find_first_not_of('0'); fnz != std::string_view::npos) {
    lead = -static_cast<int64_t>(fnz);
  } else {
    return true;  // zero
  }
  return lead + exponent <= 0;
}

// A SAX handler that builds the Document, converting numbers itself. RapidJSON's own exact
// ("full precision") conversion has undefined behaviour on some inputs (found by the fuzzer under
// UBSan: clz(0), negative shifts, signed overflow) and its fast one is off by a few ULP, which
// breaks round trips; std::from_chars is exact. Integers stay integers when they fit 64 bits.
class DocumentBuilder {
 public:
  explicit DocumentBuilder(rapidjson::Document* document) : document_(document) {}

  bool number_too_big() const { return number_too_big_; }

  bool RawNumber(const char* str, rapidjson::SizeType length, bool /*copy*/) {
    const std::string_view text(str, length);
    const char* const end = str + length;
    const bool negative = text.front() == '-';
    const std::string_view unsigned_text = negative ? text.substr(1) : text;
    if (unsigned_text == "NaN") return document_->Double(std::numeric_limits<double>::quiet_NaN());
    if (unsigned_text == "Inf" || unsigned_text == "Infinity") {
      const double inf = std::numeric_limits<double>::infinity();
      return document_->Double(negative ? -inf : inf);
    }
    if (text.find_first_of(".eE") == std::string_view::npos) {
      if (negative) {
        int64_t v;
        if (auto [ptr, ec] = std::from_chars(str, end, v); ec == std::errc()) {
          return document_->Int64(v);
        }
      } else {
        uint64_t v;
        if (auto [ptr, ec] = std::from_chars(str, end, v); ec == std::errc()) {
          return document_->Uint64(v);
        }
      }
      // Beyond 64 bits: a double, like any other number.
    }
    double d;
    auto [ptr, ec] = std::from_chars(str, end, d);
    if (ec == std::errc::result_out_of_range && IsUnderflow(text)) {
      d = negative ? -0.0 : 0.0;
    } else if (ec != std::errc()) {
      number_too_big_ = true;
      return false;
    }
    return document_->Double(d);
  }

  // Everything else goes straight to the document.
  bool Null() { return document_->Null(); }
  bool Bool(bool b) { return document_->Bool(b); }
  bool Int(int i) { return document_->Int(i); }
  bool Uint(unsigned u) { return document_->Uint(u); }
  bool Int64(int64_t i) { return document_->Int64(i); }
  bool Uint64(uint64_t u) { return document_->Uint64(u); }
  bool Double(double d) { return document_->Double(d); }
  bool String(const char* str, rapidjson::SizeType length, bool copy) {
    return document_->String(str, length, copy);
  }
  bool StartObject() { return document_->StartObject(); }
  bool Key(const char* str, rapidjson::SizeType length, bool copy) {
    return document_->Key(str, length, copy);
  }
  bool EndObject(rapidjson::SizeType members) { return document_->EndObject(members); }
  bool StartArray() { return document_->StartArray(); }
  bool EndArray(rapidjson::SizeType elements) { return document_->EndArray(elements); }

 private:
  rapidjson::Document* document_;
  bool number_too_big_ = false;
};

// Converts a JSON number or decimal string to an integer of type T. Returns the problem (no
// path) on failure.
template <typename T>
absl::Status ToInteger(const rapidjson::Value& value, const char* type_name, T* out) {
  using Limits = std::numeric_limits<T>;
  if (value.IsString()) {
    const std::string_view text = StringOf(value);
    const char* const end = text.data() + text.size();
    T parsed;
    auto [ptr, ec] = std::from_chars(text.data(), end, parsed);
    if (!text.empty() && ptr == end) {
      if (ec == std::errc()) {
        *out = parsed;
        return absl::OkStatus();
      }
      if (ec == std::errc::result_out_of_range) {
        return absl::InvalidArgumentError(
            absl::StrCat("value out of range for ", type_name, ": ", Quote(text)));
      }
    }
    // from_chars does not take '-' for unsigned types; "-1" is out of range, not malformed.
    if constexpr (!Limits::is_signed) {
      int64_t negative = -1;
      auto [nptr, nec] = std::from_chars(text.data(), end, negative);
      if (text.size() > 1 && text[0] == '-' && nptr == end && nec != std::errc::invalid_argument) {
        if (nec == std::errc() && negative == 0) {  // "-0"
          *out = 0;
          return absl::OkStatus();
        }
        return absl::InvalidArgumentError(
            absl::StrCat("value out of range for ", type_name, ": ", Quote(text)));
      }
    }
    return absl::InvalidArgumentError(absl::StrCat("invalid integer ", Quote(text)));
  }
  if (value.IsNumber()) {
    if (value.IsInt64() || value.IsUint64()) {
      const bool in_range = value.IsInt64() ? std::in_range<T>(value.GetInt64())
                                            : std::in_range<T>(value.GetUint64());
      if (!in_range) {
        return absl::InvalidArgumentError(
            absl::StrCat("value out of range for ", type_name, ": ", NumberText(value)));
      }
      *out = value.IsInt64() ? static_cast<T>(value.GetInt64()) : static_cast<T>(value.GetUint64());
      return absl::OkStatus();
    }
    // Written with a fraction or an exponent ("1.0", "1e3"): fine if it is a whole number.
    const double d = value.GetDouble();
    if (!std::isfinite(d) || std::trunc(d) != d) {
      return absl::InvalidArgumentError(absl::StrCat("not an integer: ", NumberText(value)));
    }
    // min() of a signed type is -2^digits and 2^digits is max()+1; both are exact doubles.
    if (d < static_cast<double>(Limits::min()) || d >= std::ldexp(1.0, Limits::digits)) {
      return absl::InvalidArgumentError(
          absl::StrCat("value out of range for ", type_name, ": ", NumberText(value)));
    }
    *out = static_cast<T>(d);
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat("expected an integer, got ", JsonTypeName(value)));
}

absl::Status ToDouble(const rapidjson::Value& value, double* out) {
  if (value.IsNumber()) {
    *out = value.GetDouble();
    return absl::OkStatus();
  }
  if (value.IsString()) {
    const std::string_view text = StringOf(value);
    if (text == "NaN") {
      *out = std::numeric_limits<double>::quiet_NaN();
      return absl::OkStatus();
    }
    if (text == "Infinity") {
      *out = std::numeric_limits<double>::infinity();
      return absl::OkStatus();
    }
    if (text == "-Infinity") {
      *out = -std::numeric_limits<double>::infinity();
      return absl::OkStatus();
    }
    // proto3 JSON also allows numbers quoted as strings.
    const char* const end = text.data() + text.size();
    double parsed;
    auto [ptr, ec] = std::from_chars(text.data(), end, parsed);
    if (!text.empty() && ptr == end && ec == std::errc() && std::isfinite(parsed)) {
      *out = parsed;
      return absl::OkStatus();
    }
    return absl::InvalidArgumentError(absl::StrCat("invalid number ", Quote(text)));
  }
  return absl::InvalidArgumentError(absl::StrCat("expected a number, got ", JsonTypeName(value)));
}

class Parser {
 public:
  absl::Status ParseMessage(const rapidjson::Value& value, const MessageInfo& info,
                            Message* message) {
    if (depth_ >= kMaxDepth) {
      return Error(absl::StrCat("nesting deeper than ", kMaxDepth, " levels"));
    }
    ++depth_;
    absl::Status status;
    switch (info.well_known) {
      case WellKnown::kNone:
        if (!value.IsObject()) {
          status = Error(absl::StrCat("expected an object, got ", JsonTypeName(value)));
        } else {
          status = ParseFields(value, info, message);
        }
        break;
      case WellKnown::kAny:
        status = ParseAny(value, info, message);
        break;
      case WellKnown::kDuration:
        status = ParseDuration(value, info, message);
        break;
    }
    --depth_;
    return status;
  }

 private:
  struct Segment {
    std::string_view key;  // field key as written in the input
    int64_t index;         // array index, or -1 for a key
  };

  // `path.to.field[3]: problem`.
  absl::Status Error(std::string_view problem) const {
    std::string path;
    for (const Segment& segment : path_) {
      if (segment.index >= 0) {
        absl::StrAppend(&path, "[", segment.index, "]");
      } else {
        if (!path.empty()) path += '.';
        path += segment.key;
      }
    }
    if (path.empty()) return absl::InvalidArgumentError(std::string(problem));
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", AV(problem)));
  }

  // Prefixes a scalar conversion problem with the current path.
  absl::Status AtPath(const absl::Status& status) const {
    if (status.ok()) return status;
    return Error(std::string_view(status.message().data(), status.message().size()));
  }

  absl::Status ParseFields(const rapidjson::Value& object, const MessageInfo& info,
                           Message* message) {
    const Reflection* reflection = message->GetReflection();
    for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
      const std::string_view key = StringOf(it->name);
      const FieldInfo* field = info.Find(key);
      // Unknown fields are skipped for forward compatibility; null means "absent".
      if (field == nullptr || it->value.IsNull()) continue;
      path_.push_back({key, -1});
      absl::Status status = field->field->is_repeated()
                                ? ParseRepeated(it->value, *field, reflection, message)
                                : ParseSingular(it->value, *field, reflection, message);
      if (!status.ok()) return status;
      path_.pop_back();
    }
    return absl::OkStatus();
  }

  absl::Status ParseSingular(const rapidjson::Value& value, const FieldInfo& field,
                             const Reflection* reflection, Message* message) {
    if (const auto* oneof = field.field->real_containing_oneof(); oneof != nullptr) {
      const FieldDescriptor* set = reflection->GetOneofFieldDescriptor(*message, oneof);
      if (set != nullptr && set != field.field) {
        return Error(absl::StrCat("oneof \"", oneof->name(), "\" already has a value (\"",
                                  set->json_name(), "\")"));
      }
    }
    return ParseValue(value, field, reflection, message, /*add=*/false);
  }

  absl::Status ParseRepeated(const rapidjson::Value& value, const FieldInfo& field,
                             const Reflection* reflection, Message* message) {
    if (!value.IsArray()) {
      return Error(absl::StrCat("expected an array, got ", JsonTypeName(value)));
    }
    const auto size = static_cast<int64_t>(value.Size());
    for (int64_t i = 0; i < size; ++i) {
      const rapidjson::Value& element = value[static_cast<rapidjson::SizeType>(i)];
      path_.push_back({{}, i});
      if (element.IsNull()) return Error("null is not allowed in an array");
      RETURN_IF_ERROR(ParseValue(element, field, reflection, message, /*add=*/true));
      path_.pop_back();
    }
    return absl::OkStatus();
  }

  // Sets (add=false) or appends (add=true) one value of `field`.
  absl::Status ParseValue(const rapidjson::Value& value, const FieldInfo& field,
                          const Reflection* reflection, Message* message, bool add) {
    const FieldDescriptor* fd = field.field;
    switch (fd->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32: {
        int32_t v;
        RETURN_IF_ERROR(AtPath(ToInteger(value, fd->type_name(), &v)));
        add ? reflection->AddInt32(message, fd, v) : reflection->SetInt32(message, fd, v);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_INT64: {
        int64_t v;
        RETURN_IF_ERROR(AtPath(ToInteger(value, fd->type_name(), &v)));
        add ? reflection->AddInt64(message, fd, v) : reflection->SetInt64(message, fd, v);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_UINT32: {
        uint32_t v;
        RETURN_IF_ERROR(AtPath(ToInteger(value, fd->type_name(), &v)));
        add ? reflection->AddUInt32(message, fd, v) : reflection->SetUInt32(message, fd, v);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_UINT64: {
        uint64_t v;
        RETURN_IF_ERROR(AtPath(ToInteger(value, fd->type_name(), &v)));
        add ? reflection->AddUInt64(message, fd, v) : reflection->SetUInt64(message, fd, v);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_DOUBLE: {
        double v;
        RETURN_IF_ERROR(AtPath(ToDouble(value, &v)));
        add ? reflection->AddDouble(message, fd, v) : reflection->SetDouble(message, fd, v);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_FLOAT: {
        double v;
        RETURN_IF_ERROR(AtPath(ToDouble(value, &v)));
        if (std::isfinite(v) && std::abs(v) > FLT_MAX) {
          return Error(absl::StrCat("value out of range for float: ", NumberText(value)));
        }
        const auto f = static_cast<float>(v);
        add ? reflection->AddFloat(message, fd, f) : reflection->SetFloat(message, fd, f);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_BOOL: {
        if (!value.IsBool()) {
          return Error(absl::StrCat("expected a boolean, got ", JsonTypeName(value)));
        }
        const bool v = value.GetBool();
        add ? reflection->AddBool(message, fd, v) : reflection->SetBool(message, fd, v);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_ENUM: {
        int v;
        RETURN_IF_ERROR(ParseEnum(value, fd, &v));
        add ? reflection->AddEnumValue(message, fd, v) : reflection->SetEnumValue(message, fd, v);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_STRING: {
        if (!value.IsString()) {
          return Error(absl::StrCat("expected a string, got ", JsonTypeName(value)));
        }
        std::string v;
        const std::string_view text = StringOf(value);
        if (fd->type() != FieldDescriptor::TYPE_BYTES) {
          v = StringValue(text);
        } else if (field.hex_bytes) {
          std::optional<std::string> decoded = HexDecode(text);
          if (!decoded) return Error(absl::StrCat("invalid hex string ", Quote(text)));
          v = std::move(*decoded);
        } else {
          std::optional<std::string> decoded = Base64Decode(text);
          if (!decoded) return Error(absl::StrCat("invalid base64 string ", Quote(text)));
          v = std::move(*decoded);
        }
        add ? reflection->AddString(message, fd, std::move(v))
            : reflection->SetString(message, fd, std::move(v));
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_MESSAGE: {
        Message* sub =
            add ? reflection->AddMessage(message, fd) : reflection->MutableMessage(message, fd);
        return ParseMessage(value, *field.message, sub);
      }
    }
    return Error("unsupported field type");
  }

  absl::Status ParseEnum(const rapidjson::Value& value, const FieldDescriptor* fd, int* out) {
    if (value.IsString()) {
      const std::string_view text = StringOf(value);
      const auto* enum_value = fd->enum_type()->FindValueByName(std::string(text));
      if (enum_value != nullptr) {
        *out = enum_value->number();
        return absl::OkStatus();
      }
      int32_t number;
      if (ToInteger(value, "int32", &number).ok()) {
        *out = number;
        return absl::OkStatus();
      }
      return Error(
          absl::StrCat("unknown value ", Quote(text), " for enum ", fd->enum_type()->full_name()));
    }
    if (value.IsNumber()) {
      int32_t number;
      RETURN_IF_ERROR(AtPath(ToInteger(value, "enum", &number)));
      *out = number;
      return absl::OkStatus();
    }
    return Error(absl::StrCat("expected an enum name or number, got ", JsonTypeName(value)));
  }

  // {"@type": "type.googleapis.com/pkg.Msg", ...fields of pkg.Msg...}; for well-known embedded
  // types, whose JSON is not an object of fields, the embedded JSON is under "value".
  absl::Status ParseAny(const rapidjson::Value& value, const MessageInfo& info, Message* message) {
    if (!value.IsObject()) {
      return Error(absl::StrCat("expected an object, got ", JsonTypeName(value)));
    }
    const auto type_it = value.FindMember("@type");
    if (type_it == value.MemberEnd()) {
      if (value.MemberCount() == 0) return absl::OkStatus();  // the empty Any
      return Error("missing \"@type\"");
    }
    path_.push_back({"@type", -1});
    if (!type_it->value.IsString()) {
      return Error(absl::StrCat("expected a string, got ", JsonTypeName(type_it->value)));
    }
    const std::string_view type_url = StringOf(type_it->value);
    const Descriptor* descriptor = ResolveTypeUrl(type_url);
    if (descriptor == nullptr) return Error(absl::StrCat("unsupported type ", Quote(type_url)));
    path_.pop_back();

    const MessageInfo* embedded_info = Cache().Get(descriptor);
    std::unique_ptr<Message> embedded(
        google::protobuf::MessageFactory::generated_factory()->GetPrototype(descriptor)->New());
    if (embedded_info->well_known == WellKnown::kNone) {
      RETURN_IF_ERROR(ParseFields(value, *embedded_info, embedded.get()));
    } else {
      const auto value_it = value.FindMember("value");
      if (value_it != value.MemberEnd() && !value_it->value.IsNull()) {
        path_.push_back({"value", -1});
        RETURN_IF_ERROR(ParseMessage(value_it->value, *embedded_info, embedded.get()));
        path_.pop_back();
      }
    }
    std::string bytes;
    embedded->SerializePartialToString(&bytes);
    const Reflection* reflection = message->GetReflection();
    reflection->SetString(message, info.first, StringValue(type_url));
    reflection->SetString(message, info.second, std::move(bytes));
    return absl::OkStatus();
  }

  absl::Status ParseDuration(const rapidjson::Value& value, const MessageInfo& info,
                             Message* message) {
    if (!value.IsString()) {
      return Error(absl::StrCat("expected a duration string, got ", JsonTypeName(value)));
    }
    int64_t seconds;
    int32_t nanos;
    if (!ParseDurationText(StringOf(value), &seconds, &nanos)) {
      return Error(absl::StrCat("invalid duration ", Quote(StringOf(value))));
    }
    const Reflection* reflection = message->GetReflection();
    reflection->SetInt64(message, info.first, seconds);
    reflection->SetInt32(message, info.second, nanos);
    return absl::OkStatus();
  }

  std::vector<Segment> path_;
  int depth_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Writing.

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void WriteString(std::string_view s, JsonWriter& writer) {
  writer.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void WriteKey(const std::string& key, JsonWriter& writer) {
  writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}

template <typename T>
void WriteQuotedInteger(T v, JsonWriter& writer) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  writer.String(buf, static_cast<rapidjson::SizeType>(end - buf));
}

// Returns false for finite values, which the caller writes as numbers.
bool WriteNonFinite(double v, JsonWriter& writer) {
  if (std::isnan(v)) {
    writer.String("NaN");
  } else if (std::isinf(v)) {
    writer.String(v > 0 ? "Infinity" : "-Infinity");
  } else {
    return false;
  }
  return true;
}

void WriteMessage(const Message& message, const MessageInfo& info, const JsonOptions& options,
                  JsonWriter& writer);

void WriteFields(const Message& message, const MessageInfo& info, const JsonOptions& options,
                 JsonWriter& writer);

// One value of `field`: the singular value (index < 0) or element `index`.
void WriteValue(const Message& message, const Reflection* r, const FieldInfo& field, int index,
                const JsonOptions& options, JsonWriter& writer) {
  const FieldDescriptor* fd = field.field;
  const bool rep = index >= 0;
  switch (fd->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      writer.Int(rep ? r->GetRepeatedInt32(message, fd, index) : r->GetInt32(message, fd));
      return;
    case FieldDescriptor::CPPTYPE_UINT32:
      writer.Uint(rep ? r->GetRepeatedUInt32(message, fd, index) : r->GetUInt32(message, fd));
      return;
    case FieldDescriptor::CPPTYPE_INT64:
      WriteQuotedInteger(rep ? r->GetRepeatedInt64(message, fd, index) : r->GetInt64(message, fd),
                         writer);
      return;
    case FieldDescriptor::CPPTYPE_UINT64:
      WriteQuotedInteger(rep ? r->GetRepeatedUInt64(message, fd, index) : r->GetUInt64(message, fd),
                         writer);
      return;
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      const double v = rep ? r->GetRepeatedDouble(message, fd, index) : r->GetDouble(message, fd);
      if (!WriteNonFinite(v, writer)) writer.Double(v);
      return;
    }
    case FieldDescriptor::CPPTYPE_FLOAT: {
      const float v = rep ? r->GetRepeatedFloat(message, fd, index) : r->GetFloat(message, fd);
      if (!WriteNonFinite(v, writer)) {
        // The shortest text that reads back as this float, not the float's exact double value
        // with its trail of binary noise digits.
        char buf[32];
        auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
        writer.RawValue(buf, static_cast<size_t>(end - buf), rapidjson::kNumberType);
      }
      return;
    }
    case FieldDescriptor::CPPTYPE_BOOL:
      writer.Bool(rep ? r->GetRepeatedBool(message, fd, index) : r->GetBool(message, fd));
      return;
    case FieldDescriptor::CPPTYPE_ENUM: {
      const int v =
          rep ? r->GetRepeatedEnumValue(message, fd, index) : r->GetEnumValue(message, fd);
      const auto* named = options.enum_names ? fd->enum_type()->FindValueByNumber(v) : nullptr;
      if (named != nullptr) {
        WriteString(named->name(), writer);
      } else {
        writer.Int(v);
      }
      return;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& v = rep ? r->GetRepeatedStringReference(message, fd, index, &scratch)
                                 : r->GetStringReference(message, fd, &scratch);
      if (fd->type() != FieldDescriptor::TYPE_BYTES) {
        WriteString(v, writer);
      } else if (field.hex_bytes && options.hex_ids) {
        WriteString(HexEncode(v), writer);
      } else {
        WriteString(Base64Encode(v), writer);
      }
      return;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      WriteMessage(rep ? r->GetRepeatedMessage(message, fd, index) : r->GetMessage(message, fd),
                   *field.message, options, writer);
      return;
  }
}

void WriteFields(const Message& message, const MessageInfo& info, const JsonOptions& options,
                 JsonWriter& writer) {
  const Reflection* r = message.GetReflection();
  for (const FieldInfo& field : info.fields) {
    const FieldDescriptor* fd = field.field;
    if (fd->is_repeated()) {
      const int size = r->FieldSize(message, fd);
      if (size == 0) continue;
      WriteKey(fd->json_name(), writer);
      writer.StartArray();
      for (int i = 0; i < size; ++i) WriteValue(message, r, field, i, options, writer);
      writer.EndArray();
    } else {
      // HasField is proto3 presence: non-default for plain fields, set for optional, oneof and
      // message fields.
      if (!r->HasField(message, fd)) continue;
      WriteKey(fd->json_name(), writer);
      WriteValue(message, r, field, -1, options, writer);
    }
  }
}

void WriteAny(const Message& message, const MessageInfo& info, const JsonOptions& options,
              JsonWriter& writer) {
  const Reflection* r = message.GetReflection();
  std::string type_url_scratch;
  std::string value_scratch;
  const std::string& type_url = r->GetStringReference(message, info.first, &type_url_scratch);
  const std::string& value = r->GetStringReference(message, info.second, &value_scratch);
  writer.StartObject();
  if (!type_url.empty() || !value.empty()) {
    writer.Key("@type");
    WriteString(type_url, writer);
    // An Any that cannot be unpacked keeps only its type: ToJson has no way to fail, and the
    // payload has no proto3 JSON form without its type.
    const Descriptor* descriptor = ResolveTypeUrl(type_url);
    if (descriptor != nullptr) {
      std::unique_ptr<Message> embedded(
          google::protobuf::MessageFactory::generated_factory()->GetPrototype(descriptor)->New());
      if (embedded->ParsePartialFromString(value)) {
        const MessageInfo* embedded_info = Cache().Get(descriptor);
        if (embedded_info->well_known == WellKnown::kNone) {
          WriteFields(*embedded, *embedded_info, options, writer);
        } else {
          writer.Key("value");
          WriteMessage(*embedded, *embedded_info, options, writer);
        }
      }
    }
  }
  writer.EndObject();
}

void WriteMessage(const Message& message, const MessageInfo& info, const JsonOptions& options,
                  JsonWriter& writer) {
  switch (info.well_known) {
    case WellKnown::kNone:
      writer.StartObject();
      WriteFields(message, info, options, writer);
      writer.EndObject();
      return;
    case WellKnown::kAny:
      WriteAny(message, info, options, writer);
      return;
    case WellKnown::kDuration: {
      const Reflection* r = message.GetReflection();
      WriteString(
          FormatDuration(r->GetInt64(message, info.first), r->GetInt32(message, info.second)),
          writer);
      return;
    }
  }
}

}  // namespace

absl::Status ParseJson(std::string_view json, Message* message) {
  message->Clear();
  const MessageInfo* info = Cache().Get(message->GetDescriptor());
  // A raw NUL is never valid JSON, but RapidJSON reads it as the end of input and would accept
  // "{}\0garbage".
  if (const void* nul = std::memchr(json.data(), '\0', json.size()); nul != nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid JSON at offset ", static_cast<const char*>(nul) - json.data(), ": NUL character"));
  }
  // In-situ parsing decodes strings in place: one copy of the input instead of one allocation
  // per string. RapidJSON's UTF-8 validation takes all continuation bytes of a multi-byte
  // sequence before checking them, so a sequence cut off by the end of input reads up to three
  // bytes past the terminator (found by the fuzzer); the padding keeps those reads in bounds
  // (NUL is never a continuation byte, so the input is still rejected).
  constexpr size_t kPadding = 4;
  std::string buffer;
  buffer.reserve(json.size() + kPadding);
  buffer.append(json);
  buffer.append(kPadding, '\0');
  rapidjson::Document document;
  rapidjson::ParseResult result;
  bool number_too_big = false;
  auto generator = [&](rapidjson::Document& target) {
    rapidjson::GenericInsituStringStream<rapidjson::UTF8<>> stream(buffer.data());
    DocumentBuilder builder(&target);
    rapidjson::Reader reader;
    result = reader.Parse<kParseFlags>(stream, builder);
    number_too_big = builder.number_too_big();
    return !result.IsError();
  };
  document.Populate(generator);
  if (result.IsError()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid JSON at offset ", result.Offset(), ": ",
                     number_too_big ? "Number too big to be stored in double."
                                    : rapidjson::GetParseError_En(result.Code())));
  }
  if (!document.IsObject() && info->well_known != WellKnown::kDuration) {
    return absl::InvalidArgumentError(
        absl::StrCat("the JSON document must be an object, got ", JsonTypeName(document)));
  }
  Parser parser;
  absl::Status status = parser.ParseMessage(document, *info, message);
  if (!status.ok()) message->Clear();
  return status;
}

std::string ToJson(const Message& message) { return ToJson(message, JsonOptions{}); }

std::string ToJson(const Message& message, const JsonOptions& options) {
  const MessageInfo* info = Cache().Get(message.GetDescriptor());
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  WriteMessage(message, *info, options, writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace sprout::otlp
