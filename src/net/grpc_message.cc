#include "net/grpc_message.h"

#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "net/compression.h"

namespace sprout::net {
namespace {

constexpr std::string_view kZstdMagic("\x28\xb5\x2f\xfd", 4);
constexpr std::string_view kSnappyStreamIdentifier("\xff\x06\x00\x00sNaPpY", 10);

absl::Status TooLarge(size_t max_size) {
  return absl::ResourceExhaustedError(
      absl::StrCat("grpc: received message after decompression larger than max ", max_size));
}

absl::StatusOr<std::string> Decode(Codec codec, std::string_view message, size_t max_size) {
  auto decoded = Decompress(codec, message, max_size);
  if (decoded.ok()) return decoded;
  if (decoded.status().code() == absl::StatusCode::kResourceExhausted) return TooLarge(max_size);
  return absl::InternalError(absl::StrCat("grpc: failed to decompress the received message: ",
                                          decoded.status().message()));
}

}  // namespace

absl::StatusOr<std::string> DecodeGrpcMessage(GrpcCompression compression, std::string message,
                                              size_t max_size) {
  switch (compression) {
    case GrpcCompression::kGzip:
      return Decode(Codec::kGzip, message, max_size);
    case GrpcCompression::kDeflate:
      // gRPC's "deflate" is a zlib stream (RFC 1950), as gRPC core and grpc-go write it.
      return Decode(Codec::kZlib, message, max_size);
    case GrpcCompression::kNone:
      break;
  }
  const std::string_view bytes(message);
  if (bytes.substr(0, kSnappyStreamIdentifier.size()) == kSnappyStreamIdentifier) {
    return Decode(Codec::kSnappyFramed, bytes, max_size);
  }
  if (bytes.substr(0, kZstdMagic.size()) == kZstdMagic) {
    auto decoded = Decompress(Codec::kZstd, bytes, max_size);
    if (decoded.ok()) return decoded;
    if (decoded.status().code() == absl::StatusCode::kResourceExhausted) {
      return TooLarge(max_size);
    }
    // Not zstd after all: the handler decides what these bytes are.
  }
  if (message.size() > max_size) {
    return absl::ResourceExhaustedError(absl::StrCat("grpc: received message larger than max (",
                                                     message.size(), " vs. ", max_size, ")"));
  }
  return message;
}

}  // namespace sprout::net
