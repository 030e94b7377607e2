#include "traces/block/bloom.h"

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/coding.h"
#include "base/crc32c.h"
#include "base/hash.h"
#include "traces/block/block.h"
#include "traces/block/format.h"

namespace sprout::traces::block {
namespace {
constexpr uint64_t kSeed1 = 0x9e3779b97f4a7c15ULL;
constexpr uint64_t kSeed2 = 0xc2b2ae3d27d4eb4fULL;
constexpr uint64_t kMaxBits = uint64_t{1} << 36;  // 8 GiB of bits: far above any block
}  // namespace

Bloom::Bloom(uint64_t expected, double fpr) {
  const double n = static_cast<double>(std::max<uint64_t>(expected, 1));
  const double p = std::clamp(fpr, 1e-9, 0.5);
  const double ln2 = std::log(2.0);
  double m = std::ceil(-n * std::log(p) / (ln2 * ln2));
  m = std::max(m, 64.0);
  m_ = std::min<uint64_t>((static_cast<uint64_t>(m) + 63) / 64 * 64, kMaxBits);
  k_ = static_cast<uint32_t>(
      std::clamp(std::lround(static_cast<double>(m_) / n * ln2), 1L, 16L));
  bits_.assign(m_ / 8, '\0');
}

void Bloom::Add(std::string_view id) {
  const uint64_t h1 = HashString(kSeed1, id);
  const uint64_t h2 = HashString(kSeed2, id) | 1;
  for (uint32_t i = 0; i < k_; ++i) {
    const uint64_t bit = (h1 + i * h2) % m_;
    bits_[bit >> 3] = static_cast<char>(bits_[bit >> 3] | (1 << (bit & 7)));
  }
}

bool Bloom::MayContain(std::string_view id) const {
  if (m_ == 0) return false;
  const uint64_t h1 = HashString(kSeed1, id);
  const uint64_t h2 = HashString(kSeed2, id) | 1;
  for (uint32_t i = 0; i < k_; ++i) {
    const uint64_t bit = (h1 + i * h2) % m_;
    if ((bits_[bit >> 3] & (1 << (bit & 7))) == 0) return false;
  }
  return true;
}

std::string Bloom::Encode() const {
  std::string out(format::kBloomMagic, 4);
  format::PutFixed32(out, kFormatVersion);
  format::PutFixed32(out, k_);
  char b[8];
  PutU64(b, m_);
  out.append(b, 8);
  out += bits_;
  format::PutFixed32(out, Crc32c(out));
  return out;
}

absl::StatusOr<Bloom> Bloom::Decode(std::string_view bytes) {
  if (bytes.size() < 24 || bytes.substr(0, 4) != std::string_view(format::kBloomMagic, 4)) {
    return absl::DataLossError("not a bloom object (bad magic or too short)");
  }
  const uint32_t version = GetU32(bytes.data() + 4);
  if (version > kFormatVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("newer format version ", version, " (this sprout reads up to ",
                     kFormatVersion, ")"));
  }
  const uint32_t crc = GetU32(bytes.data() + bytes.size() - 4);
  if (Crc32c(bytes.substr(0, bytes.size() - 4)) != crc) {
    return absl::DataLossError("bloom checksum mismatch");
  }
  Bloom b;
  b.k_ = GetU32(bytes.data() + 8);
  b.m_ = GetU64(bytes.data() + 12);
  if (b.k_ < 1 || b.k_ > 16 || b.m_ == 0 || b.m_ % 64 != 0 || b.m_ / 8 != bytes.size() - 24) {
    return absl::DataLossError("bloom parameters do not match its size");
  }
  b.bits_.assign(bytes.substr(20, b.m_ / 8));
  return b;
}

}  // namespace sprout::traces::block
