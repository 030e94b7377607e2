// Go's text forms (Prometheus's messages and PromQL printer, OTTL, the API's parameters):
// strconv.Quote (%q of a string), strconv.QuoteRune (%q of a rune) and %#U, over UTF-8 bytes as Go
// sees them (an invalid byte is U+FFFD of width 1).
//
// unicode.IsPrint is approximated: every rune from U+00A0 up is printable except the C1
// controls, soft hyphen, the non-ASCII spaces, the bidi/zero-width format characters, the
// line/paragraph separators, private use, surrogates, noncharacters, U+FEFF and the planes left
// unassigned in Unicode 13 (U+3134B to U+DFFFF). Rarely used
// unassigned code points print as themselves where Go would escape them.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sprout {

// Decodes one rune at s[i]; returns the rune (0xFFFD for an invalid byte) and sets *width
// (0 at the end of s, where the rune is -1).
int32_t DecodeRune(std::string_view s, size_t i, int* width);
void AppendUtf8(int32_t rune, std::string* out);
bool GoIsPrint(int32_t rune);

std::string GoQuote(std::string_view s);  // "a\n\"b\""
std::string GoQuoteRune(int32_t rune);    // 'a', '\n', '�' for -1
std::string GoRuneU(int32_t rune);        // %#U: U+007A 'z', or U+000A
// Go's strconv.Unquote of a double-quoted literal (quotes included): every escape of Go's
// string literals (\a \b \f \n \r \t \v \\ \" \xHH \uHHHH \UHHHHHHHH \ooo); false on
// invalid syntax (an unknown escape, \', a bare quote or newline inside, a surrogate or a rune
// above U+10FFFF, an octal above \377). Used by the OTTL and TraceQL lexers.
bool GoUnquote(std::string_view quoted, std::string* out);
// %.Nq: the first n runes of s, quoted.
std::string GoQuotePrefix(std::string_view s, int n);

}  // namespace sprout
