// The traces_block_read_fuzzer's input format (shared with the seed writer in block_test.cc).
//
// Byte 0 picks the mode (mod 4); the rest is the payload:
//   0  four objects (meta.json, index, bloom, data), each u32 little-endian length + bytes
//      (a short last object takes what is left);
//   1  the same with the index's and the bloom's trailing crc32c recomputed, so mutations reach
//      the structural checks;
//   2  the payload is the `data` object of a fixed small valid block (FixedBlock());
//   3  the payload is that block's `index`, its crc32c recomputed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/coding.h"
#include "base/crc32c.h"

namespace sprout::traces::block::fuzz {

inline std::string Pack(uint8_t mode, const std::vector<std::string>& objects) {
  std::string out(1, static_cast<char>(mode));
  for (const std::string& o : objects) {
    char b[4];
    PutU32(b, static_cast<uint32_t>(o.size()));
    out.append(b, 4);
    out += o;
  }
  return out;
}

inline std::vector<std::string> Unpack(std::string_view in, size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) {
    if (in.size() < 4) {
      out.emplace_back(in);
      in = {};
      continue;
    }
    const uint32_t len = GetU32(in.data());
    in.remove_prefix(4);
    const size_t take = std::min<size_t>(len, in.size());
    out.emplace_back(in.substr(0, take));
    in.remove_prefix(take);
  }
  return out;
}

// Replaces the last 4 bytes by the crc32c of the rest.
inline void FixCrc(std::string& s) {
  if (s.size() < 4) return;
  char b[4];
  PutU32(b, Crc32c(std::string_view(s).substr(0, s.size() - 4)));
  s.replace(s.size() - 4, 4, b, 4);
}

}  // namespace sprout::traces::block::fuzz
