// Lower-case hexadecimal encoding of byte strings (trace and span IDs).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sprout {

// "\x01\xab" -> "01ab".
std::string HexEncode(std::string_view bytes);

// "01AB" or "01ab" -> "\x01\xab"; nullopt for odd length or a non-hex character.
std::optional<std::string> HexDecode(std::string_view hex);

// The value of one hex digit of either case ('a' and 'A' -> 10); -1 for any other character.
int HexDigitValue(char c);

}  // namespace sprout
