#include "net/compression.h"

#include <zstd.h>

#include <random>
#include <string>
#include <vector>

#include "base/crc32c.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sprout::net {
namespace {

using ::testing::HasSubstr;

constexpr Codec kAllCodecs[] = {Codec::kIdentity, Codec::kGzip,         Codec::kZlib, Codec::kZstd,
                                Codec::kSnappy,   Codec::kSnappyFramed, Codec::kLz4};
constexpr Codec kCompressingCodecs[] = {Codec::kGzip,   Codec::kZlib,         Codec::kZstd,
                                        Codec::kSnappy, Codec::kSnappyFramed, Codec::kLz4};

std::string Compressible(size_t n) {
  std::string out;
  out.reserve(n);
  for (size_t i = 0; out.size() < n; ++i) {
    out += "{\"name\":\"span-" + std::to_string(i % 97) + "\",\"service\":\"checkout\"},";
  }
  out.resize(n);
  return out;
}

std::string Random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

class RoundTripTest : public ::testing::TestWithParam<Codec> {};

TEST_P(RoundTripTest, RoundTripsVariousInputs) {
  const Codec codec = GetParam();
  const std::vector<std::string> inputs = {
      "",
      "a",
      "hello, world",
      Compressible(1000),
      Compressible(65536),    // exactly one snappy frame block
      Compressible(65537),    // one byte into the next block
      Compressible(3 << 20),  // many blocks, several output buffer growths
      Compressible(4096),     // output exactly fills the first buffer
      Compressible(131072),   // ... or a grown one
      Random(200000, 7),      // incompressible: uncompressed snappy chunks
  };
  for (const std::string& input : inputs) {
    SCOPED_TRACE(absl::StrCat(std::string(CodecName(codec)), " size ", input.size()));
    absl::StatusOr<std::string> compressed = Compress(codec, input);
    ASSERT_TRUE(compressed.ok()) << compressed.status();
    absl::StatusOr<std::string> decompressed = Decompress(codec, *compressed, input.size());
    ASSERT_TRUE(decompressed.ok()) << decompressed.status();
    EXPECT_EQ(*decompressed, input);
  }
}

TEST_P(RoundTripTest, EnforcesSizeLimit) {
  const Codec codec = GetParam();
  const std::string input = Compressible(100000);
  absl::StatusOr<std::string> compressed = Compress(codec, input);
  ASSERT_TRUE(compressed.ok());
  for (size_t limit : {size_t{0}, size_t{1}, size_t{99999}}) {
    absl::StatusOr<std::string> out = Decompress(codec, *compressed, limit);
    ASSERT_FALSE(out.ok()) << "limit " << limit;
    EXPECT_EQ(out.status().code(), absl::StatusCode::kResourceExhausted);
    EXPECT_EQ(out.status().message(),
              absl::StrCat("decompressed size exceeds limit of ", limit, " bytes"));
  }
  EXPECT_TRUE(Decompress(codec, *compressed, 100000).ok());
}

TEST_P(RoundTripTest, CorruptInputIsInvalidArgument) {
  const Codec codec = GetParam();
  if (codec == Codec::kIdentity) GTEST_SKIP() << "identity has no structure to corrupt";
  const std::string input = Compressible(50000);
  absl::StatusOr<std::string> compressed = Compress(codec, input);
  ASSERT_TRUE(compressed.ok());

  // Truncated (every codec here carries an end marker or a length).
  {
    std::string truncated = compressed->substr(0, compressed->size() - 3);
    absl::StatusOr<std::string> out = Decompress(codec, truncated, 1 << 20);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument) << out.status();
    EXPECT_THAT(std::string(out.status().message()),
                HasSubstr(std::string(CodecName(codec)) + ": "));
  }
  // Garbage.
  {
    absl::StatusOr<std::string> out = Decompress(codec, Random(1000, 3), 1 << 20);
    ASSERT_FALSE(out.ok());
    if (codec == Codec::kSnappy) {
      // The block format starts with the declared length, which random bytes may put over
      // the limit before anything else is looked at.
      EXPECT_THAT(out.status().code(), ::testing::AnyOf(absl::StatusCode::kInvalidArgument,
                                                        absl::StatusCode::kResourceExhausted));
    } else {
      EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument) << out.status();
    }
  }
  // Flipped bytes in the middle must either fail cleanly or (rarely, for formats without a
  // checksum) decode to something; never crash. Formats with checksums must fail.
  for (size_t pos = 0; pos < compressed->size(); pos += 37) {
    std::string flipped = *compressed;
    flipped[pos] = static_cast<char>(flipped[pos] ^ 0x5a);
    absl::StatusOr<std::string> out = Decompress(codec, flipped, 1 << 20);
    if (!out.ok()) {
      EXPECT_THAT(out.status().code(), ::testing::AnyOf(absl::StatusCode::kInvalidArgument,
                                                        absl::StatusCode::kResourceExhausted));
    } else if (codec == Codec::kGzip || codec == Codec::kZlib || codec == Codec::kSnappyFramed ||
               codec == Codec::kLz4) {
      ADD_FAILURE() << "corruption at " << pos << " went unnoticed";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllCodecs, RoundTripTest, ::testing::ValuesIn(kAllCodecs),
                         [](const ::testing::TestParamInfo<Codec>& info) {
                           std::string name(CodecName(info.param));
                           std::erase(name, '-');
                           return name;
                         });

TEST(CompressionTest, EmptyInput) {
  // Stream formats decode an empty body to nothing, as Go's readers do (EOF at once); gzip and
  // zlib need their header, and a snappy block its length.
  for (Codec codec : {Codec::kIdentity, Codec::kZstd, Codec::kSnappyFramed, Codec::kLz4}) {
    absl::StatusOr<std::string> out = Decompress(codec, "", 100);
    ASSERT_TRUE(out.ok()) << CodecName(codec) << ": " << out.status();
    EXPECT_EQ(*out, "");
  }
  for (Codec codec : {Codec::kGzip, Codec::kZlib, Codec::kSnappy}) {
    absl::StatusOr<std::string> out = Decompress(codec, "", 100);
    ASSERT_FALSE(out.ok()) << CodecName(codec);
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(CompressionTest, IdentityLimit) {
  EXPECT_EQ(Decompress(Codec::kIdentity, "abc", 2).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(*Decompress(Codec::kIdentity, "abc", 3), "abc");
}

TEST(CompressionTest, GzipConcatenatedMembersDecodeAsOne) {
  std::string a = *Compress(Codec::kGzip, "first ");
  std::string b = *Compress(Codec::kGzip, "second");
  absl::StatusOr<std::string> out = Decompress(Codec::kGzip, a + b, 100);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, "first second");
  // Garbage after a member is an invalid next header, as in Go.
  EXPECT_EQ(Decompress(Codec::kGzip, a + "xx", 100).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CompressionTest, GzipIsNotZlib) {
  std::string gz = *Compress(Codec::kGzip, "payload");
  EXPECT_EQ(Decompress(Codec::kZlib, gz, 100).status().code(), absl::StatusCode::kInvalidArgument);
  std::string zl = *Compress(Codec::kZlib, "payload");
  EXPECT_EQ(Decompress(Codec::kGzip, zl, 100).status().code(), absl::StatusCode::kInvalidArgument);
  // An RFC 1950 stream starts with CMF 0x78.
  EXPECT_EQ(static_cast<unsigned char>(zl[0]), 0x78);
}

TEST(CompressionTest, ZstdFrameWithoutContentSize) {
  const std::string input = Compressible(300000);
  std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
  ASSERT_EQ(ZSTD_isError(ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_contentSizeFlag, 0)), 0u);
  std::string frame;
  std::string buffer(ZSTD_CStreamOutSize(), '\0');
  ZSTD_inBuffer in{input.data(), input.size(), 0};
  for (;;) {
    ZSTD_outBuffer out{buffer.data(), buffer.size(), 0};
    size_t left = ZSTD_compressStream2(cctx.get(), &out, &in, ZSTD_e_end);
    ASSERT_FALSE(ZSTD_isError(left));
    frame.append(buffer.data(), out.pos);
    if (left == 0) break;
  }
  ASSERT_EQ(ZSTD_getFrameContentSize(frame.data(), frame.size()), ZSTD_CONTENTSIZE_UNKNOWN);
  absl::StatusOr<std::string> out = Decompress(Codec::kZstd, frame, input.size());
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, input);
  EXPECT_EQ(Decompress(Codec::kZstd, frame, input.size() - 1).status().code(),
            absl::StatusCode::kResourceExhausted);
  // Two frames back to back decode as one body.
  out = Decompress(Codec::kZstd, frame + frame, 2 * input.size());
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, input + input);
}

TEST(CompressionTest, Lz4ConcatenatedFrames) {
  std::string a = *Compress(Codec::kLz4, "alpha ");
  std::string b = *Compress(Codec::kLz4, "beta");
  absl::StatusOr<std::string> out = Decompress(Codec::kLz4, a + b, 100);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, "alpha beta");
}

TEST(CompressionTest, SnappyBlockDeclaredLengthOverLimitFailsBeforeDecoding) {
  // Varint length 0xFFFFFF (16 MiB) followed by nothing: rejected on the declared size.
  const std::string bomb = Bytes({0xff, 0xff, 0xff, 0x07});
  absl::StatusOr<std::string> out = Decompress(Codec::kSnappy, bomb, 1000);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kResourceExhausted);
}

// A stream assembled byte by byte from the framing format description; checksums computed
// independently (masked CRC-32C of "hello" is 0x191c1fbb, of "sprout" 0x67de2a5c).
std::string HandMadeFramedStream() {
  std::string s = Bytes({0xff, 0x06, 0x00, 0x00}) + "sNaPpY";
  // Uncompressed chunk: 4 checksum bytes + "hello".
  s += Bytes({0x01, 0x09, 0x00, 0x00, 0xbb, 0x1f, 0x1c, 0x19}) + "hello";
  // Padding chunk.
  s += Bytes({0xfe, 0x02, 0x00, 0x00, 0x00, 0x00});
  // Reserved skippable chunk.
  s += Bytes({0x80, 0x01, 0x00, 0x00, 0x42});
  // Compressed chunk: snappy block = varint 6, literal tag (6-1)<<2, "sprout".
  s += Bytes({0x00, 0x0c, 0x00, 0x00, 0x5c, 0x2a, 0xde, 0x67, 0x06, 0x14}) + "sprout";
  return s;
}

TEST(SnappyFramedTest, DecodesHandMadeStream) {
  absl::StatusOr<std::string> out = Decompress(Codec::kSnappyFramed, HandMadeFramedStream(), 100);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, "hellosprout");
  EXPECT_EQ(Decompress(Codec::kSnappyFramed, HandMadeFramedStream(), 10).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(SnappyFramedTest, EncoderWritesIdentifierAndMaskedCrc) {
  std::string encoded = *Compress(Codec::kSnappyFramed, "hello");
  // Too short to be worth compressing: one uncompressed chunk.
  EXPECT_EQ(encoded, Bytes({0xff, 0x06, 0x00, 0x00}) + "sNaPpY" +
                         Bytes({0x01, 0x09, 0x00, 0x00, 0xbb, 0x1f, 0x1c, 0x19}) + "hello");
  EXPECT_EQ(*Compress(Codec::kSnappyFramed, ""), Bytes({0xff, 0x06, 0x00, 0x00}) + "sNaPpY");
}

TEST(SnappyFramedTest, RejectsBadStreams) {
  const std::string id = Bytes({0xff, 0x06, 0x00, 0x00}) + "sNaPpY";
  const std::string hello = Bytes({0x01, 0x09, 0x00, 0x00, 0xbb, 0x1f, 0x1c, 0x19}) + "hello";
  struct Case {
    std::string name;
    std::string input;
    std::string message;
  };
  std::string bad_crc = hello;
  bad_crc[4] = static_cast<char>(0xbc);
  // The unmasked CRC must not be accepted.
  const std::string unmasked = Bytes({0x01, 0x09, 0x00, 0x00, 0x4c, 0xbb, 0x71, 0x9a}) + "hello";
  const std::vector<Case> cases = {
      {"no identifier", hello, "stream does not start with the identifier"},
      {"bad identifier", Bytes({0xff, 0x06, 0x00, 0x00}) + "SnappY", "invalid stream identifier"},
      {"checksum", id + bad_crc, "checksum mismatch"},
      {"unmasked checksum", id + unmasked, "checksum mismatch"},
      {"unskippable", id + Bytes({0x02, 0x01, 0x00, 0x00, 0x00}),
       "reserved unskippable chunk type 0x02"},
      {"unskippable 7f", id + Bytes({0x7f, 0x00, 0x00, 0x00}),
       "reserved unskippable chunk type 0x7f"},
      {"truncated header", id + Bytes({0x01, 0x09}), "truncated chunk header"},
      {"truncated chunk", id + hello.substr(0, 10), "truncated chunk"},
      {"short chunk", id + Bytes({0x01, 0x02, 0x00, 0x00, 0x00, 0x00}), "too short"},
      {"corrupt block",
       id + Bytes({0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x14, 0x61, 0x62}),
       "corrupt compressed chunk"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::string> out = Decompress(Codec::kSnappyFramed, c.input, 1000);
    ASSERT_FALSE(out.ok()) << c.name;
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_THAT(std::string(out.status().message()), HasSubstr(c.message)) << c.name;
  }
}

TEST(SnappyFramedTest, RejectsOversizedUncompressedChunk) {
  std::string data(65537, 'x');
  std::string s = Bytes({0xff, 0x06, 0x00, 0x00}) + "sNaPpY";
  const uint32_t crc = MaskSnappyCrc(Crc32c(data));
  const uint32_t len = static_cast<uint32_t>(data.size() + 4);
  s += Bytes({0x01, static_cast<int>(len & 0xff), static_cast<int>((len >> 8) & 0xff),
              static_cast<int>(len >> 16)});
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  s += data;
  absl::StatusOr<std::string> out = Decompress(Codec::kSnappyFramed, s, 1 << 20);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SnappyFramedTest, ConcatenatedStreams) {
  std::string a = *Compress(Codec::kSnappyFramed, "one ");
  std::string b = *Compress(Codec::kSnappyFramed, "two");
  EXPECT_EQ(*Decompress(Codec::kSnappyFramed, a + b, 100), "one two");
}

TEST(ContentEncodingTest, ParsesNamesCaseInsensitively) {
  EXPECT_EQ(ParseContentEncoding(""), Codec::kIdentity);
  EXPECT_EQ(ParseContentEncoding("identity"), Codec::kIdentity);
  EXPECT_EQ(ParseContentEncoding("IDENTITY"), Codec::kIdentity);
  EXPECT_EQ(ParseContentEncoding("gzip"), Codec::kGzip);
  EXPECT_EQ(ParseContentEncoding("GZip"), Codec::kGzip);
  EXPECT_EQ(ParseContentEncoding(" gzip "), Codec::kGzip);
  EXPECT_EQ(ParseContentEncoding("zlib"), Codec::kZlib);
  EXPECT_EQ(ParseContentEncoding("Deflate"), Codec::kZlib);
  EXPECT_EQ(ParseContentEncoding("ZSTD"), Codec::kZstd);
  EXPECT_EQ(ParseContentEncoding("snappy"), Codec::kSnappy);
  EXPECT_EQ(ParseContentEncoding("X-Snappy-Framed"), Codec::kSnappyFramed);
  EXPECT_EQ(ParseContentEncoding("lz4"), Codec::kLz4);
  EXPECT_EQ(ParseContentEncoding("br"), std::nullopt);
  EXPECT_EQ(ParseContentEncoding("gzip, zstd"), std::nullopt);
  EXPECT_EQ(ParseContentEncoding("x-gzip"), std::nullopt);
}

TEST(ContentEncodingTest, CanonicalNamesRoundTrip) {
  for (Codec codec : kAllCodecs) {
    EXPECT_EQ(ParseContentEncoding(CodecName(codec)), codec) << CodecName(codec);
  }
  EXPECT_EQ(CodecName(Codec::kZlib), "zlib");
  EXPECT_EQ(CodecName(Codec::kSnappyFramed), "x-snappy-framed");
  EXPECT_EQ(CodecName(Codec::kIdentity), "identity");
}

TEST(CompressionTest, CompressedFormsAreSmallerForCompressibleData) {
  const std::string input = Compressible(100000);
  for (Codec codec : kCompressingCodecs) {
    EXPECT_LT(Compress(codec, input)->size(), input.size() / 2) << CodecName(codec);
  }
}

// A zstd frame header may declare a window of up to 128 MiB, which libzstd allocates before
// decoding a byte; the window is capped (at the limit, at least 8 MiB), and a frame over the cap
// is refused as over the limit. (Found by otlp_grpc_fuzzer: 85 bytes made it allocate 96 MiB.)
TEST(CompressionTest, ZstdWindowsOverTheCapAreRefusedBeforeAllocation) {
  // Frame header: descriptor 0x84 (4-byte content size, checksum), window descriptor 0x84
  // (2^26 * 1.5 = 96 MiB), then filler.
  std::string frame("\x28\xb5\x2f\xfd\x84\x84", 6);
  frame.append(60, '\x84');
  auto decoded = Decompress(Codec::kZstd, frame, 1 << 20);
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kResourceExhausted) << decoded.status();
  // Frames of the standard levels (windows up to 8 MiB) still decode under a small limit.
  std::string zeros(2 << 20, '\0');
  auto compressed = Compress(Codec::kZstd, zeros);
  EXPECT_EQ(Decompress(Codec::kZstd, *compressed, 4 << 20)->size(), zeros.size());
}

}  // namespace
}  // namespace sprout::net
