#include "net/grpc_message.h"

#include <string>

#include "gtest/gtest.h"
#include "net/compression.h"

namespace sprout::net {
namespace {

const std::string kMessage = "\x0a\x05hello and some more bytes of a message";

std::string Compressed(Codec codec, const std::string& input) { return *Compress(codec, input); }

TEST(GrpcMessageTest, UncompressedMessagesPassAsTheyAre) {
  auto decoded = DecodeGrpcMessage(GrpcCompression::kNone, kMessage, 1 << 20);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, kMessage);
  EXPECT_EQ(*DecodeGrpcMessage(GrpcCompression::kNone, "", 0), "");
}

TEST(GrpcMessageTest, GzipAndDeflateAsGrpcReportsThem) {
  // gRPC's "deflate" is a zlib stream (RFC 1950).
  EXPECT_EQ(*DecodeGrpcMessage(GrpcCompression::kGzip, Compressed(Codec::kGzip, kMessage), 1000),
            kMessage);
  EXPECT_EQ(*DecodeGrpcMessage(GrpcCompression::kDeflate, Compressed(Codec::kZlib, kMessage), 1000),
            kMessage);
}

TEST(GrpcMessageTest, ZstdAndFramedSnappyAreRecognisedByTheirSignature) {
  // gRPC drops a grpc-encoding it does not know, so these arrive as "uncompressed".
  EXPECT_EQ(*DecodeGrpcMessage(GrpcCompression::kNone, Compressed(Codec::kZstd, kMessage), 1000),
            kMessage);
  EXPECT_EQ(
      *DecodeGrpcMessage(GrpcCompression::kNone, Compressed(Codec::kSnappyFramed, kMessage), 1000),
      kMessage);
}

TEST(GrpcMessageTest, BytesThatOnlyLookLikeZstdAreLeftToTheHandler) {
  const std::string not_zstd = std::string("\x28\xb5\x2f\xfd", 4) + "not a frame";
  EXPECT_EQ(*DecodeGrpcMessage(GrpcCompression::kNone, not_zstd, 1000), not_zstd);
}

TEST(GrpcMessageTest, TheLimitAppliesAfterDecompressionWithGrpcGosMessage) {
  const std::string zeros(1 << 20, '\0');
  for (auto [compression, codec] : {std::pair{GrpcCompression::kGzip, Codec::kGzip},
                                    std::pair{GrpcCompression::kDeflate, Codec::kZlib},
                                    std::pair{GrpcCompression::kNone, Codec::kZstd},
                                    std::pair{GrpcCompression::kNone, Codec::kSnappyFramed}}) {
    const std::string compressed = Compressed(codec, zeros);
    ASSERT_LT(compressed.size(), 64u << 10) << CodecName(codec);
    auto decoded = DecodeGrpcMessage(compression, compressed, 64 << 10);
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kResourceExhausted) << CodecName(codec);
    EXPECT_EQ(decoded.status().message(),
              "grpc: received message after decompression larger than max 65536")
        << CodecName(codec);
    // Exactly at the limit is fine.
    EXPECT_TRUE(DecodeGrpcMessage(compression, compressed, 1 << 20).ok()) << CodecName(codec);
  }
  auto plain = DecodeGrpcMessage(GrpcCompression::kNone, std::string(100, 'x'), 99);
  EXPECT_EQ(plain.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(plain.status().message(), "grpc: received message larger than max (100 vs. 99)");
}

TEST(GrpcMessageTest, CorruptCompressedMessagesAreInternalErrors) {
  std::string gzip = Compressed(Codec::kGzip, kMessage);
  gzip.resize(gzip.size() - 6);
  auto decoded = DecodeGrpcMessage(GrpcCompression::kGzip, gzip, 1000);
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(decoded.status().message(),
            "grpc: failed to decompress the received message: gzip: unexpected end of input");
  std::string snappy = Compressed(Codec::kSnappyFramed, kMessage);
  snappy.back() ^= 0x55;
  decoded = DecodeGrpcMessage(GrpcCompression::kNone, snappy, 1000);
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(decoded.status().message().rfind(
                "grpc: failed to decompress the received message: x-snappy-framed: ", 0),
            0u)
      << decoded.status();
}

}  // namespace
}  // namespace sprout::net
