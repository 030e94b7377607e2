// Writing a string as a JSON string literal (quotes and escapes), for the few places that
// produce JSON by hand (log fields, debug output) rather than through RapidJSON.
#pragma once

#include <string>
#include <string_view>

namespace sprout {

// Appends `"s"` with `"`, `\` and control characters escaped. Bytes >= 0x80 pass through (the
// input is expected to be UTF-8).
void AppendJsonString(std::string_view s, std::string* out);

}  // namespace sprout
