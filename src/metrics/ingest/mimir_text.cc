#include "metrics/ingest/mimir_text.h"

#include <cstdint>
#include <cstring>

#include "base/go_text.h"

namespace sprout::metrics::ingest::text {
namespace {

// Decodes one character at s[i]. Returns its width (1..4) and sets *rune; an invalid sequence is
// width 1 with *rune = -1, as Go's utf8.DecodeRuneInString reports it.
size_t DecodeRune(std::string_view s, size_t i, int32_t* rune) {
  const auto b0 = static_cast<uint8_t>(s[i]);
  if (b0 < 0x80) {
    *rune = b0;
    return 1;
  }
  const size_t left = s.size() - i;
  auto cont = [&](size_t k) { return k < left && (static_cast<uint8_t>(s[i + k]) & 0xc0) == 0x80; };
  *rune = -1;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    if (!cont(1)) return 1;
    *rune = ((b0 & 0x1f) << 6) | (s[i + 1] & 0x3f);
    return 2;
  }
  if (b0 >= 0xe0 && b0 <= 0xef) {
    if (!cont(1) || !cont(2)) return 1;
    const auto b1 = static_cast<uint8_t>(s[i + 1]);
    if (b0 == 0xe0 && b1 < 0xa0) return 1;   // overlong
    if (b0 == 0xed && b1 >= 0xa0) return 1;  // surrogate
    *rune = ((b0 & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (s[i + 2] & 0x3f);
    return 3;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 1;
    const auto b1 = static_cast<uint8_t>(s[i + 1]);
    if (b0 == 0xf0 && b1 < 0x90) return 1;   // overlong
    if (b0 == 0xf4 && b1 >= 0x90) return 1;  // past U+10FFFF
    *rune =
        ((b0 & 0x07) << 18) | ((b1 & 0x3f) << 12) | ((s[i + 2] & 0x3f) << 6) | (s[i + 3] & 0x3f);
    return 4;
  }
  return 1;
}

}  // namespace

bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  // Mostly ASCII: eight bytes at a time.
  while (i + 8 <= s.size()) {
    uint64_t word;
    std::memcpy(&word, s.data() + i, 8);
    if (word & 0x8080808080808080ULL) break;
    i += 8;
  }
  while (i < s.size()) {
    int32_t rune;
    i += DecodeRune(s, i, &rune);
    if (rune < 0) return false;
  }
  return true;
}

std::string ToValidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool in_invalid = false;
  for (size_t i = 0; i < s.size();) {
    int32_t rune;
    const size_t width = DecodeRune(s, i, &rune);
    if (rune < 0) {
      if (!in_invalid) out.append("\xef\xbf\xbd");
      in_invalid = true;
    } else {
      out.append(s.substr(i, width));
      in_invalid = false;
    }
    i += width;
  }
  return out;
}

std::string_view TruncateRunes(std::string_view s, size_t runes) {
  size_t i = 0;
  for (size_t n = 0; n < runes && i < s.size(); ++n) {
    int32_t rune;
    i += DecodeRune(s, i, &rune);
  }
  return s.substr(0, i);
}

size_t CountRunes(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++n) {
    int32_t rune;
    i += DecodeRune(s, i, &rune);
  }
  return n;
}

void AppendGoQuote(std::string_view s, std::string* out) { out->append(GoQuote(s)); }

std::string SeriesString(std::span<const Label> labels) {
  std::string out;
  size_t name_index = labels.size();
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i].name == "__name__") {
      out.append(labels[i].value);
      name_index = i;
      break;
    }
  }
  int count = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i == name_index) continue;
    out.append(count == 0 ? "{" : ", ");
    out.append(labels[i].name);
    out.push_back('=');
    AppendGoQuote(labels[i].value, &out);
    ++count;
  }
  if (count > 0) out.push_back('}');
  if (out.empty()) return "{}";
  return out;
}

std::string RemoveNonAscii(std::string_view s) {
  std::string out;
  bool removed = false;
  for (char c : s) {
    if (static_cast<uint8_t>(c) < 0x80) {
      out.push_back(c);
    } else {
      removed = true;
    }
  }
  if (removed) out.append(" (non-ascii characters removed)");
  return out;
}

}  // namespace sprout::metrics::ingest::text
