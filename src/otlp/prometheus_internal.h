// Internals of the OTLP → Prometheus translation (prometheus.h), shared by its files; not an API.
//
//   prometheus_runes.cc        letters and digits in Go's sense, UTF-8 runes (names and labels)
//   prometheus_names.cc        metric names (§10.2), Go's %q for error texts
//   prometheus_labels.cc       label names and values (§10.3): sanitizing, AsString, JSON
//   prometheus_values.cc       values and timestamps (§10.4): le/quantile numbers, stale marker
//   prometheus_translator.cc   the walk over resources, scopes, metrics and number points, label
//                              sets and series (prometheus_translator.h)
//   prometheus_histograms.cc   classic histograms, summaries, native histograms (§10.5)
//   prometheus_exemplars.cc    exemplars and target_info (§10.6)
//   prometheus_remote_write.cc the remote-write sinks (PromTranslation, WriteRequest)
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "otlp/prometheus.h"

namespace sprout::otlp::prom_internal {

using pb::common::AnyValue;
using pb::common::KeyValue;
using KeyValues = google::protobuf::RepeatedPtrField<KeyValue>;

inline constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002ULL;
inline constexpr uint32_t kNoRecordedValue = pb::metrics::DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK;
inline constexpr double kDefaultZeroThreshold = 1e-128;
inline constexpr size_t kMaxExemplarRunes = 128;
inline constexpr std::string_view kNameLabel = "__name__";

inline constexpr std::string_view kServiceName = "service.name";
inline constexpr std::string_view kServiceNamespace = "service.namespace";
inline constexpr std::string_view kServiceInstanceId = "service.instance.id";

inline bool IsServiceAttribute(std::string_view key) {
  return key == kServiceName || key == kServiceNamespace || key == kServiceInstanceId;
}

inline int64_t NanosToMillis(uint64_t nanos) { return static_cast<int64_t>(nanos / 1000000); }

// --- prometheus_runes.cc ---

inline constexpr bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }
inline constexpr bool IsAsciiAlnum(char c) {
  return IsAsciiDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Letters (Unicode L*) and decimal digits (Nd), as Go's unicode.IsLetter/IsDigit.
bool IsLetterOrDigit(char32_t rune);

inline constexpr char32_t kRuneError = 0xFFFD;

// Decodes the UTF-8 sequence at s[i] (i < s.size()). As in Go, an invalid or truncated sequence
// is U+FFFD and consumes one byte, so every byte belongs to exactly one rune.
char32_t DecodeRune(std::string_view s, size_t i, size_t* len);

size_t CountRunes(std::string_view s);

// Calls f(token) for each maximal run of letters and digits in `s` (Go's strings.FieldsFunc
// with "not a letter or digit" as the separator).
template <typename F>
void ForEachToken(std::string_view s, F f) {
  size_t start = std::string_view::npos;
  for (size_t i = 0, len = 0; i < s.size(); i += len) {
    const bool keep = IsLetterOrDigit(DecodeRune(s, i, &len));
    if (keep && start == std::string_view::npos) start = i;
    if (!keep && start != std::string_view::npos) {
      f(s.substr(start, i - start));
      start = std::string_view::npos;
    }
  }
  if (start != std::string_view::npos) f(s.substr(start));
}

// --- prometheus_values.cc ---

// Go's strconv.FormatFloat(v, 'f', -1, 64): `le` and `quantile` label values.
void AppendFloat(double v, std::string* out);

// --- prometheus_labels.cc ---

void AppendInt(int64_t v, std::string* out);
void AppendBase64(std::string_view bytes, std::string* out);
void AppendHex(std::string_view bytes, std::string* out);
// The attribute value as text (pdata's AsString).
void AppendLabelValue(const AnyValue& value, std::string* out);
// True when the name needs no change (the usual case), so no copy is made.
bool IsCleanLabelName(std::string_view name, bool permissive);
void AppendLabelName(std::string_view name, bool permissive, std::string* out);

// --- prometheus_names.cc ---

// Go's %q for the error texts: quotes, with `"`, `\`, control characters and invalid bytes
// escaped.
std::string Quote(std::string_view s);

}  // namespace sprout::otlp::prom_internal
