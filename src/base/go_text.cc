#include "base/go_text.h"

#include <cstdio>

namespace sprout {

int32_t DecodeRune(std::string_view s, size_t i, int* width) {
  if (i >= s.size()) {
    *width = 0;
    return -1;
  }
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    *width = 1;
    return b0;
  }
  auto cont = [&](size_t k) -> int {
    if (i + k >= s.size()) return -1;
    const auto b = static_cast<unsigned char>(s[i + k]);
    return (b & 0xC0) == 0x80 ? (b & 0x3F) : -1;
  };
  *width = 1;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    int c1 = cont(1);
    if (c1 < 0) return 0xFFFD;
    *width = 2;
    return ((b0 & 0x1F) << 6) | c1;
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    int c1 = cont(1), c2 = cont(2);
    if (c1 < 0 || c2 < 0) return 0xFFFD;
    int32_t r = ((b0 & 0x0F) << 12) | (c1 << 6) | c2;
    if (r < 0x800 || (r >= 0xD800 && r <= 0xDFFF)) return 0xFFFD;
    *width = 3;
    return r;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    int c1 = cont(1), c2 = cont(2), c3 = cont(3);
    if (c1 < 0 || c2 < 0 || c3 < 0) return 0xFFFD;
    int32_t r = ((b0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3;
    if (r < 0x10000 || r > 0x10FFFF) return 0xFFFD;
    *width = 4;
    return r;
  }
  return 0xFFFD;
}

void AppendUtf8(int32_t r, std::string* out) {
  if (r < 0 || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) r = 0xFFFD;
  if (r < 0x80) {
    out->push_back(static_cast<char>(r));
  } else if (r < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (r >> 6)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else if (r < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (r >> 12)));
    out->push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (r >> 18)));
    out->push_back(static_cast<char>(0x80 | ((r >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
  }
}

bool GoIsPrint(int32_t r) {
  if (r < 0x20) return false;
  if (r < 0x7F) return true;
  if (r < 0xA1) return false;  // DEL, C1 controls, NBSP
  if (r == 0xAD) return false;
  if (r >= 0x2000 && r <= 0x200F) return false;  // spaces, zero width, bidi marks
  if (r >= 0x2028 && r <= 0x202F) return false;  // separators, bidi embeddings, NNBSP
  if (r >= 0x205F && r <= 0x206F) return false;
  if (r == 0x1680 || r == 0x180E || r == 0x3000 || r == 0xFEFF) return false;
  if (r >= 0xD800 && r <= 0xF8FF) return false;  // surrogates, private use
  if (r >= 0xFFF0 && r <= 0xFFFB) return false;
  if ((r & 0xFFFE) == 0xFFFE) return false;  // noncharacters
  if (r >= 0xFDD0 && r <= 0xFDEF) return false;
  if (r >= 0xE0000) return false;  // tags, variation selectors sup., private use
  // Unassigned in Unicode 13 (the Go release that built Debian's Prometheus 2.42): the end of
  // plane 2 and planes 3 to 13 after CJK extension G.
  if ((r >= 0x2FA1E && r <= 0x2FFFF) || (r >= 0x3134B && r <= 0xDFFFF)) return false;
  return r <= 0x10FFFF;
}

namespace {

void AppendEscaped(int32_t r, int width, std::string_view raw, char quote, std::string* out) {
  char buf[16];
  if (r == 0xFFFD && width == 1 && raw.size() == 1) {  // an invalid byte
    std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(raw[0]));
    out->append(buf);
    return;
  }
  if (r == quote || r == '\\') {
    out->push_back('\\');
    out->push_back(static_cast<char>(r));
    return;
  }
  if (GoIsPrint(r)) {
    out->append(raw);
    return;
  }
  switch (r) {
    case '\a':
      out->append("\\a");
      return;
    case '\b':
      out->append("\\b");
      return;
    case '\f':
      out->append("\\f");
      return;
    case '\n':
      out->append("\\n");
      return;
    case '\r':
      out->append("\\r");
      return;
    case '\t':
      out->append("\\t");
      return;
    case '\v':
      out->append("\\v");
      return;
  }
  if (r < ' ' || r == 0x7F) {
    std::snprintf(buf, sizeof buf, "\\x%02x", r);
  } else if (r < 0x10000) {
    std::snprintf(buf, sizeof buf, "\\u%04x", r);
  } else {
    std::snprintf(buf, sizeof buf, "\\U%08x", r);
  }
  out->append(buf);
}

}  // namespace

std::string GoQuote(std::string_view s) { return GoQuotePrefix(s, -1); }

std::string GoQuotePrefix(std::string_view s, int n) {
  std::string out = "\"";
  size_t i = 0;
  for (int count = 0; i < s.size() && (n < 0 || count < n); ++count) {
    int w;
    int32_t r = DecodeRune(s, i, &w);
    AppendEscaped(r, w, s.substr(i, w), '"', &out);
    i += w;
  }
  out.push_back('"');
  return out;
}

std::string GoQuoteRune(int32_t r) {
  if (r < 0 || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) r = 0xFFFD;
  std::string raw;
  AppendUtf8(r, &raw);
  std::string out = "'";
  AppendEscaped(r, static_cast<int>(raw.size()), raw, '\'', &out);
  out.push_back('\'');
  return out;
}

std::string GoRuneU(int32_t r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(r));
  std::string out = buf;
  if (GoIsPrint(r)) {
    out += " '";
    AppendUtf8(r, &out);
    out += "'";
  }
  return out;
}

namespace {

bool UnquoteIsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
int UnquoteHexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

}  // namespace

bool GoUnquote(std::string_view q, std::string* out) {
  if (q.size() < 2 || q.front() != '"' || q.back() != '"') return false;
  std::string_view s = q.substr(1, q.size() - 2);
  out->clear();
  for (size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (c == '"' || c == '\n') return false;
    if (c != '\\') {
      out->push_back(c);
      ++i;
      continue;
    }
    if (i + 1 >= s.size()) return false;
    const char e = s[i + 1];
    i += 2;
    switch (e) {
      case 'a':
        out->push_back('\a');
        break;
      case 'b':
        out->push_back('\b');
        break;
      case 'f':
        out->push_back('\f');
        break;
      case 'n':
        out->push_back('\n');
        break;
      case 'r':
        out->push_back('\r');
        break;
      case 't':
        out->push_back('\t');
        break;
      case 'v':
        out->push_back('\v');
        break;
      case '\\':
        out->push_back('\\');
        break;
      case '"':
        out->push_back('"');
        break;
      case 'x': {
        if (i + 2 > s.size() || !UnquoteIsHex(s[i]) || !UnquoteIsHex(s[i + 1])) return false;
        out->push_back(static_cast<char>(UnquoteHexVal(s[i]) * 16 + UnquoteHexVal(s[i + 1])));
        i += 2;
        break;
      }
      case 'u':
      case 'U': {
        const size_t n = e == 'u' ? 4 : 8;
        if (i + n > s.size()) return false;
        uint32_t r = 0;
        for (size_t k = 0; k < n; ++k) {
          if (!UnquoteIsHex(s[i + k])) return false;
          r = r * 16 + UnquoteHexVal(s[i + k]);
        }
        i += n;
        if (r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) return false;
        AppendUtf8(static_cast<int32_t>(r), out);
        break;
      }
      case '0':
      case '1':
      case '2':
      case '3':
      case '4':
      case '5':
      case '6':
      case '7': {
        // Three octal digits, at most \377.
        if (i + 2 > s.size()) return false;
        uint32_t r = e - '0';
        for (size_t k = 0; k < 2; ++k) {
          if (s[i + k] < '0' || s[i + k] > '7') return false;
          r = r * 8 + (s[i + k] - '0');
        }
        if (r > 255) return false;
        out->push_back(static_cast<char>(r));
        i += 2;
        break;
      }
      default:
        return false;  // includes \' (only valid in rune literals) and \.
    }
  }
  return true;
}

}  // namespace sprout
