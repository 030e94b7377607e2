// Decoding of one received gRPC message, as the gRPC server hands it to handlers: decompressed
// by our own bounded decoders (net/compression.h), never by gRPC's, whose inflate has no output
// limit (gRPC 1.51 checks max_recv_msg_size against the compressed length only, so a 3 MiB
// message of gzip-compressed zeros inflates to 3 GiB). Apart from the server so that the receive
// path can be tested and fuzzed without a socket; no gRPC headers here.
//
// What the server knows about a message (gRPC C++ 1.51 with per-message decompression off):
// - grpc-encoding gzip or deflate with the compressed flag set: gRPC marks the buffer
//   compressed with that algorithm (GrpcCompression::kGzip / kDeflate).
// - any other grpc-encoding (zstd, snappy, ...): gRPC's header parser drops the header as an
//   invalid value ("Error parsing metadata: error=invalid value key=grpc-encoding"), and the
//   message arrives as if it were uncompressed (kNone); the compressed flag is not visible.
//   Such messages are recognised by their format's signature instead: a zstd frame (magic
//   28 b5 2f fd) and the snappy framing format's stream identifier (ff 06 00 00 "sNaPpY"),
//   which is what the Collector's gRPC "snappy" compressor writes. Neither can start a valid
//   protobuf message in practice: ff 06 is a tag of wire type 7, which does not exist, and a
//   zstd magic is taken for zstd only if the whole message then decodes as zstd frames.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"

namespace sprout::net {

// The compression gRPC reported for a received message.
enum class GrpcCompression { kNone, kDeflate, kGzip };

// Returns the message's protobuf bytes (`message` itself, moved, when it is not compressed).
// Errors carry the gRPC status the server answers with, worded as grpc-go's server words them:
// - kResourceExhausted "grpc: received message after decompression larger than max <max>"
//   when the decompressed message would exceed `max_size` bytes (decoding stops there: a
//   decompression bomb never allocates more than max_size + 1 bytes), and
//   "grpc: received message larger than max (<n> vs. <max>)" for an uncompressed one;
// - kInternal "grpc: failed to decompress the received message: <detail>" for corrupt input.
absl::StatusOr<std::string> DecodeGrpcMessage(GrpcCompression compression, std::string message,
                                              size_t max_size);

// The grpc-encoding names the server decodes, for documentation and logs: "gzip", "deflate",
// "zstd", "snappy" (framed).
inline constexpr const char* kGrpcDecodedEncodings = "gzip, deflate, zstd, snappy";

}  // namespace sprout::net
