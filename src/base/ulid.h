// ULID: a 128-bit identifier that sorts by creation time, as the ULID specification defines it
// and Prometheus, Thanos and Mimir name their blocks with: a 48-bit Unix time in milliseconds
// followed by 80 random bits, written as 26 characters of Crockford's base32
// ("01ARZ3NDEKTSV4RRFFQ69G5FAV"). The text sorts like the value (byte-wise, upper case).
//
// Ulid::Generate() gives identifiers unique across processes and machines (80 random bits from
// the OS's entropy) and monotonic within one process: a second identifier in the same
// millisecond (or when the clock went back) is the previous one plus one in its random part, so
// identifiers made one after another in a process always increase.
//
// Parse accepts the 26 characters in either case and refuses other lengths, characters outside
// the alphabet (I, L, O and U included) and a first character above '7' (more than 128 bits),
// with InvalidArgument naming the text.
//
// Thread-safety: Ulid is a value type. Generate and UlidGenerator::Next may be called from any
// thread (one mutex per generator).
#pragma once

#include <compare>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sprout {

class Ulid {
 public:
  static constexpr size_t kTextSize = 26;
  static constexpr uint64_t kMaxTimeMs = (uint64_t{1} << 48) - 1;

  Ulid() = default;
  // `time_ms` is cut to 48 bits; `random_hi` to 16 bits (the random part is random_hi:random_lo).
  Ulid(uint64_t time_ms, uint16_t random_hi, uint64_t random_lo)
      : hi_(((time_ms & kMaxTimeMs) << 16) | random_hi), lo_(random_lo) {}

  // A new identifier at the current time from the process's generator.
  static Ulid Generate();
  static absl::StatusOr<Ulid> Parse(std::string_view text);
  // From the 16 big-endian bytes of the binary form.
  static Ulid FromBytes(const char bytes[16]);

  // 26 upper-case characters.
  std::string ToString() const;
  // The binary form: 16 bytes, big-endian (time first).
  std::string Bytes() const;

  uint64_t time_ms() const { return hi_ >> 16; }
  absl::Time time() const { return absl::FromUnixMillis(static_cast<int64_t>(time_ms())); }
  uint64_t high() const { return hi_; }
  uint64_t low() const { return lo_; }
  bool is_zero() const { return hi_ == 0 && lo_ == 0; }
  // This value plus one (the random part's overflow carries into the time).
  Ulid Successor() const {
    Ulid next = *this;
    if (++next.lo_ == 0) ++next.hi_;
    return next;
  }

  friend bool operator==(const Ulid&, const Ulid&) = default;
  friend std::strong_ordering operator<=>(const Ulid& a, const Ulid& b) {
    if (auto c = a.hi_ <=> b.hi_; c != 0) return c;
    return a.lo_ <=> b.lo_;
  }

 private:
  uint64_t hi_ = 0;  // 48 bits of time, then the top 16 random bits
  uint64_t lo_ = 0;  // the low 64 random bits
};

// Makes monotonic ULIDs (see the file comment). Seeded from std::random_device.
class UlidGenerator {
 public:
  UlidGenerator();
  // A test seam: a fixed seed gives a repeatable sequence for repeatable times.
  explicit UlidGenerator(uint64_t seed);

  // An identifier for `now_ms` (cut to 48 bits). Within the same or an earlier millisecond than
  // the previous call, the previous identifier plus one; when the 80 random bits would overflow,
  // the time part moves to the next millisecond.
  Ulid Next(uint64_t now_ms);

 private:
  std::mutex mu_;
  std::mt19937_64 rng_;
  Ulid last_;
};

}  // namespace sprout
