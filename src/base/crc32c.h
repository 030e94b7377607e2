// CRC-32C (Castagnoli), as the snappy framing format checksums each chunk's uncompressed data.
//
// Used by the snappy framing codec (net/compression) and by on-disk logs. Thread-safety: pure
// functions.
#pragma once

#include <cstdint>
#include <string_view>

namespace sprout {

// CRC-32C of `data` (reflected polynomial 0x82F63B78, init and final XOR 0xFFFFFFFF);
// Crc32c("123456789") == 0xE3069283. `crc` continues a previous result. Uses the CPU's crc32
// instruction (x86-64 SSE4.2, checked at run time) when there is one, else slicing-by-8.
uint32_t Crc32c(std::string_view data, uint32_t crc = 0);

namespace crc32c_internal {  // both implementations, for tests and benchmarks
bool HardwareAvailable();
uint32_t Hardware(std::string_view data, uint32_t crc);  // only when HardwareAvailable()
uint32_t Portable(std::string_view data, uint32_t crc);  // slicing-by-8
}  // namespace crc32c_internal

// The snappy framing format stores checksums masked, because a CRC computed over data that
// embeds CRCs is weak; the mask is a rotation plus a constant.
inline uint32_t MaskSnappyCrc(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

}  // namespace sprout
