// Internal to ingest/: the character rules and the string formatting that Mimir's validation
// messages use, so a refusal reads exactly as Mimir's does.
//
// Thread-safety: pure functions.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "metrics/ingest/remote_write.h"

namespace sprout::metrics::ingest::text {

// UTF-8 as Go's utf8.ValidString accepts it: no overlong forms, no surrogates, at most U+10FFFF.
bool ValidUtf8(std::string_view s);

// Go's strings.ToValidUTF8(s, "\uFFFD"): each run of invalid bytes becomes one U+FFFD.
std::string ToValidUtf8(std::string_view s);

// Go's fmt precision on a string (%.Ns): the first `runes` characters, an invalid byte counting
// as one.
std::string_view TruncateRunes(std::string_view s, size_t runes);
size_t CountRunes(std::string_view s);

// Appends Go's strconv.Quote(s) (base/go_text.h's GoQuote).
void AppendGoQuote(std::string_view s, std::string* out);

// Mimir's FromLabelAdaptersToString: `name{a="x", b="y"}` in the given order, values quoted as
// Go quotes them, "{}" for no labels.
std::string SeriesString(std::span<const Label> labels);

// Mimir's removeNonASCIIChars: drops every non-ASCII character and, when it dropped any, appends
// " (non-ascii characters removed)".
std::string RemoveNonAscii(std::string_view s);

}  // namespace sprout::metrics::ingest::text
