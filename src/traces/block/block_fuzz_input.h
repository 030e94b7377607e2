// The traces_block_read_fuzzer's input format (shared with the seed writer in block_test.cc).
//
// Byte 0 picks the mode (mod 6); the rest is the payload:
//   0  four objects (meta.json, index, bloom, data), each u32 little-endian length + bytes
//      (a short last object takes what is left);
//   1  the same with the index's and the bloom's trailing crc32c recomputed, so mutations reach
//      the structural checks;
//   2  the payload is the `data` object of a fixed small valid block (FixedBlock());
//   3  the payload is that block's `index`, its crc32c recomputed;
//   4  as 1, and every chunk's crc32c in the index recomputed from `data` (FixChunkCrcs), so
//      mutations of the data reach zstd and the column decoders;
//   5  the payload as an OTLP TracesData (unknown fields dropped, every span given one trace
//      ID) written into a block and read back: it must read back equal.
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

struct ChunkRef {
  uint64_t page;
  uint8_t scope;
  uint64_t key;
  uint8_t sub;
  uint64_t offset, stored, raw;
  size_t crc_pos;  // of the entry's crc32c in the index
};

// Walks a version-1 index (docs/format/traces-block.md), calling fn(ChunkRef) for every chunk
// entry. Stops quietly at the first thing it cannot parse.
template <typename Fn>
void ForEachChunkEntry(std::string_view index, Fn fn) {
  size_t p = 8;
  auto uv = [&](uint64_t* v) {
    uint64_t r = 0;
    for (int shift = 0; shift < 64 && p < index.size(); shift += 7) {
      const uint8_t b = static_cast<uint8_t>(index[p++]);
      r |= uint64_t{b & 0x7fu} << shift;
      if (b < 0x80) {
        *v = r;
        return true;
      }
    }
    return false;
  };
  uint64_t pages;
  if (index.size() < 12 || !uv(&pages)) return;
  for (uint64_t pg = 0; pg < pages && pg < 4096; ++pg) {
    p += 32;
    uint64_t v;
    for (int i = 0; i < 10; ++i) {  // start, end, counts, bytes, row counts
      if (!uv(&v)) return;
    }
    for (int s = 0; s < 5; ++s) {
      uint64_t nk;
      if (!uv(&nk) || nk > index.size()) return;
      for (uint64_t k = 0; k < nk; ++k) {
        if (!uv(&v) || v > index.size()) return;
        p += v;
      }
    }
    uint64_t nc;
    if (!uv(&nc) || nc > index.size()) return;
    for (uint64_t c = 0; c < nc; ++c) {
      if (p >= index.size()) return;
      ChunkRef r{};
      r.page = pg;
      r.scope = static_cast<uint8_t>(index[p++]);
      if (r.scope != 0xFF && !uv(&r.key)) return;
      if (p >= index.size()) return;
      r.sub = static_cast<uint8_t>(index[p++]);
      if (!uv(&r.offset) || !uv(&r.stored) || !uv(&r.raw) || p + 4 > index.size()) return;
      r.crc_pos = p;
      fn(r);
      p += 4;
    }
  }
}

// Rewrites every chunk entry's crc32c to match the bytes of `data` it points at, then the
// index's own crc.
inline void FixChunkCrcs(std::string& index, std::string_view data) {
  std::string& idx = index;
  ForEachChunkEntry(std::string_view(index), [&](const ChunkRef& r) {
    if (r.offset <= data.size() && r.stored <= data.size() - r.offset) {
      PutU32(idx.data() + r.crc_pos, Crc32c(data.substr(r.offset, r.stored)));
    }
  });
  FixCrc(index);
}

}  // namespace sprout::traces::block::fuzz
