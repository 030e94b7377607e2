#include "base/ulid.h"

#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace sprout {
namespace {

constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

// The 5-bit value of a Crockford base32 character (either case), -1 for any other.
int DigitValue(char c) {
  if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  for (int i = 0; i < 32; ++i) {
    if (kAlphabet[i] == c) return i;
  }
  return -1;
}

UlidGenerator& ProcessGenerator() {
  static UlidGenerator* generator = new UlidGenerator();
  return *generator;
}

uint64_t SeedFromDevice() {
  std::random_device device;
  return (uint64_t{device()} << 32) ^ device();
}

}  // namespace

Ulid Ulid::Generate() {
  const int64_t now = absl::ToUnixMillis(absl::Now());
  return ProcessGenerator().Next(now < 0 ? 0 : static_cast<uint64_t>(now));
}

absl::StatusOr<Ulid> Ulid::Parse(std::string_view text) {
  if (text.size() != kTextSize) {
    return absl::InvalidArgumentError(absl::StrCat("ulid \"", AV(text), "\": want ", kTextSize,
                                                   " characters, got ", text.size()));
  }
  // 26 characters × 5 bits = 130 bits: the first character carries only 3.
  uint64_t hi = 0;
  uint64_t lo = 0;
  for (size_t i = 0; i < kTextSize; ++i) {
    const int v = DigitValue(text[i]);
    if (v < 0) {
      return absl::InvalidArgumentError(absl::StrCat("ulid \"", AV(text), "\": invalid character '",
                                                     AV(text.substr(i, 1)), "' at ", i));
    }
    if (i == 0 && v > 7) {
      return absl::InvalidArgumentError(
          absl::StrCat("ulid \"", AV(text), "\": first character above '7' (overflows 128 bits)"));
    }
    hi = (hi << 5) | (lo >> 59);
    lo = (lo << 5) | static_cast<uint64_t>(v);
  }
  Ulid u;
  u.hi_ = hi;
  u.lo_ = lo;
  return u;
}

Ulid Ulid::FromBytes(const char bytes[16]) {
  Ulid u;
  for (int i = 0; i < 8; ++i) {
    u.hi_ = (u.hi_ << 8) | static_cast<uint8_t>(bytes[i]);
    u.lo_ = (u.lo_ << 8) | static_cast<uint8_t>(bytes[8 + i]);
  }
  return u;
}

std::string Ulid::ToString() const {
  std::string out(kTextSize, '0');
  uint64_t hi = hi_;
  uint64_t lo = lo_;
  for (size_t i = kTextSize; i-- > 0;) {
    out[i] = kAlphabet[lo & 31];
    lo = (lo >> 5) | (hi << 59);
    hi >>= 5;
  }
  return out;
}

std::string Ulid::Bytes() const {
  std::string out(16, '\0');
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<char>(hi_ >> (56 - 8 * i));
    out[8 + i] = static_cast<char>(lo_ >> (56 - 8 * i));
  }
  return out;
}

UlidGenerator::UlidGenerator() : rng_(SeedFromDevice()) {}

UlidGenerator::UlidGenerator(uint64_t seed) : rng_(seed) {}

Ulid UlidGenerator::Next(uint64_t now_ms) {
  now_ms &= Ulid::kMaxTimeMs;
  std::lock_guard<std::mutex> lock(mu_);
  Ulid next;
  if (!last_.is_zero() && now_ms <= last_.time_ms()) {
    // Same (or an earlier) millisecond: increment the 80-bit random part; its overflow carries
    // into the time, which keeps the sequence increasing.
    next = last_.Successor();
  } else {
    next = Ulid(now_ms, static_cast<uint16_t>(rng_()), rng_());
  }
  last_ = next;
  return next;
}

}  // namespace sprout
