// Body codecs for HTTP Content-Encoding, as the Collector's confighttp accepts them.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace sprout::net {

enum class Codec {
  kIdentity,      // "" or "identity"
  kGzip,          // "gzip"
  kZlib,          // "zlib" and "deflate" (RFC 1950 zlib stream, as Go's zlib reader reads)
  kZstd,          // "zstd"
  kSnappy,        // "snappy": snappy block format
  kSnappyFramed,  // "x-snappy-framed": the snappy framing format (stream identifier, CRC-32C)
  kLz4,           // "lz4": LZ4 frame format
};

// Maps a Content-Encoding value (case-insensitive, surrounding spaces ignored) to a codec.
std::optional<Codec> ParseContentEncoding(std::string_view name);
std::string_view CodecName(Codec codec);

// Decodes `input`. Fails with InvalidArgument on corrupt input, and with ResourceExhausted when
// the output would exceed `max_output` bytes (a guard against decompression bombs).
absl::StatusOr<std::string> Decompress(Codec codec, std::string_view input, size_t max_output);

// The decoded size a snappy block-format body announces in its header, or nullopt when the header
// is corrupt. Lets a receiver refuse an oversized body, naming its size, before decoding it.
std::optional<size_t> SnappyUncompressedLength(std::string_view input);

// Encodes `input` (used by clients and by tests).
absl::StatusOr<std::string> Compress(Codec codec, std::string_view input);

// gzip with zlib's fastest level (1): what the HTTP server compresses dynamic responses with
// (a query answer of 100 MB of JSON compresses several times faster than at the default level 6,
// for output about a fifth larger).
absl::StatusOr<std::string> GzipFast(std::string_view input);

}  // namespace sprout::net
