// libFuzzer target for the body decoders: corrupt input must fail cleanly, never crash, hang or
// allocate past the limit; and whatever Compress produces must decode back to its input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "net/compression.h"

namespace {

constexpr sprout::net::Codec kCodecs[] = {
    sprout::net::Codec::kIdentity, sprout::net::Codec::kGzip,   sprout::net::Codec::kZlib,
    sprout::net::Codec::kZstd,     sprout::net::Codec::kSnappy, sprout::net::Codec::kSnappyFramed,
    sprout::net::Codec::kLz4,
};
constexpr size_t kLimit = 1 << 20;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // First byte: codec, and whether to test decoding arbitrary bytes or a round trip.
  const sprout::net::Codec codec = kCodecs[data[0] % std::size(kCodecs)];
  const bool round_trip = (data[0] & 0x80) != 0;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  if (round_trip) {
    absl::StatusOr<std::string> compressed = sprout::net::Compress(codec, input);
    if (!compressed.ok()) std::abort();
    absl::StatusOr<std::string> decompressed =
        sprout::net::Decompress(codec, *compressed, input.size());
    if (!decompressed.ok() || *decompressed != input) std::abort();
    return 0;
  }
  absl::StatusOr<std::string> out = sprout::net::Decompress(codec, input, kLimit);
  if (out.ok() && out->size() > kLimit) std::abort();
  if (!out.ok() && out.status().code() != absl::StatusCode::kInvalidArgument &&
      out.status().code() != absl::StatusCode::kResourceExhausted) {
    std::abort();
  }
  return 0;
}
