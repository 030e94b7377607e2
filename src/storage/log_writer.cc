#include "storage/log_writer.h"

#include <algorithm>

#include "base/coding.h"
#include "base/crc32c.h"

namespace sprout::storage::log {
namespace {

constexpr char kZeros[kChunkHeaderSize] = {};

}  // namespace

uint64_t ChunkEncoder::EncodedSize(uint64_t offset, uint64_t size) {
  uint64_t pos = offset;
  uint64_t left = size;
  while (true) {
    const uint64_t in_block = kBlockSize - pos % kBlockSize;
    if (in_block < kChunkHeaderSize) {
      pos += in_block;  // trailer
      continue;
    }
    const uint64_t take = std::min(left, in_block - kChunkHeaderSize);
    pos += kChunkHeaderSize + take;
    left -= take;
    if (left == 0) return pos - offset;
  }
}

void ChunkEncoder::Add(uint8_t type, std::span<const std::string_view> parts) {
  uint64_t left = 0;
  for (std::string_view p : parts) left += p.size();
  size_t part = 0;
  size_t skip = 0;  // bytes of parts[part] already placed in chunks
  bool first = true;
  while (true) {
    const uint64_t in_block = kBlockSize - offset_ % kBlockSize;
    if (in_block < kChunkHeaderSize) {
      // Too little room for a header: zeros up to the block boundary.
      pieces_.emplace_back(kZeros, in_block);
      offset_ += in_block;
      continue;
    }
    const uint64_t take = std::min(left, in_block - kChunkHeaderSize);
    const bool last = take == left;
    auto& header = headers_.emplace_back();
    PutU16(header.data() + 4, static_cast<uint16_t>(take));
    header[6] = static_cast<char>(first ? (last ? kFullChunk : kFirstChunk)
                                        : (last ? kLastChunk : kMiddleChunk));
    header[7] = static_cast<char>(type);
    // The CRC covers length, chunk type, record type and payload.
    uint32_t crc = Crc32c(std::string_view(header.data() + 4, 4));
    pieces_.emplace_back(header.data(), kChunkHeaderSize);
    uint64_t need = take;
    while (need > 0) {
      const std::string_view p = parts[part];
      const size_t n = std::min<uint64_t>(need, p.size() - skip);
      if (n > 0) {
        const std::string_view slice = p.substr(skip, n);
        crc = Crc32c(slice, crc);
        pieces_.push_back(slice);
      }
      need -= n;
      skip += n;
      if (skip == p.size()) {
        ++part;
        skip = 0;
      }
    }
    PutU32(header.data(), MaskSnappyCrc(crc));
    offset_ += kChunkHeaderSize + take;
    left -= take;
    first = false;
    if (last) return;
  }
}

}  // namespace sprout::storage::log
