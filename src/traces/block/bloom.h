// Internal to sprout_traces_block: the bloom filter over a block's trace IDs (the `bloom`
// object; bytes in docs/format/traces-block.md).
//
// m bits and k probes from the expected count n and the false-positive rate p:
// m = ceil(-n ln p / ln(2)^2) (at least 64, a multiple of 64), k = round(m/n ln 2) in [1, 16].
// Probe i of an ID sets bit (h1 + i*h2) mod m, h1 = HashString(kSeed1, id),
// h2 = HashString(kSeed2, id) | 1 (base/hash.h; it mixes every byte, so zero-padded 64-bit IDs
// spread as well as random ones).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace sprout::traces::block {

class Bloom {
 public:
  Bloom() = default;
  Bloom(uint64_t expected, double fpr);

  void Add(std::string_view id);
  bool MayContain(std::string_view id) const;

  // header (magic, version), u32 k, u64 m, the m/8 bytes of bits, u32 crc32c of all before.
  std::string Encode() const;
  // DataLoss (without the block's name: the caller adds it) for damaged bytes.
  static absl::StatusOr<Bloom> Decode(std::string_view bytes);

  uint64_t bits() const { return m_; }
  uint32_t probes() const { return k_; }

 private:
  uint64_t m_ = 0;
  uint32_t k_ = 0;
  std::string bits_;
};

}  // namespace sprout::traces::block
