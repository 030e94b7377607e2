// Encodes records into segment-log chunks (log_format.h) for one gathered write: chunk headers
// are made here, payloads are referenced where they lie (no copy), and the result is the list
// of pieces File::Append writes in one call.
//
// Thread-safety: one encoder per write; not shared. The pieces refer to the encoder's headers
// and to the caller's record data: both must outlive the write.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <span>
#include <string_view>
#include <vector>

#include "storage/log_format.h"

namespace sprout::storage::log {

class ChunkEncoder {
 public:
  // Encoding starts at byte `offset` of a segment (block boundaries are file offsets).
  explicit ChunkEncoder(uint64_t offset) : start_(offset), offset_(offset) {}

  // Adds a record of type `type` whose data is the concatenation of `parts`.
  void Add(uint8_t type, std::span<const std::string_view> parts);

  // What File::Append should write.
  std::span<const std::string_view> pieces() const { return pieces_; }
  uint64_t start() const { return start_; }
  uint64_t offset() const { return offset_; }  // the end of what was added
  bool empty() const { return pieces_.empty(); }

  // Bytes that a record of `size` bytes takes when written at `offset` (headers and block
  // trailers included).
  static uint64_t EncodedSize(uint64_t offset, uint64_t size);

 private:
  uint64_t start_;
  uint64_t offset_;
  std::deque<std::array<char, kChunkHeaderSize>> headers_;  // stable addresses
  std::vector<std::string_view> pieces_;
};

}  // namespace sprout::storage::log
