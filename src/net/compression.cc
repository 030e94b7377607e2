#include "net/compression.h"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/coding.h"
#include "base/crc32c.h"
#include "base/status.h"

namespace sprout::net {
namespace {

// zlib counts in uInt (32 bits); larger buffers are fed in slices of this size.
constexpr size_t kZlibSlice = size_t{1} << 30;

absl::Status Corrupt(Codec codec, std::string_view detail) {
  return absl::InvalidArgumentError(absl::StrCat(AV(CodecName(codec)), ": ", AV(detail)));
}

absl::Status TooLarge(size_t max_output) {
  return absl::ResourceExhaustedError(
      absl::StrCat("decompressed size exceeds limit of ", max_output, " bytes"));
}

// The output of a decoder, never more than max_output + 1 bytes: one byte past the limit is
// enough to know the limit was crossed, so a decompression bomb never gets to allocate more.
// It grows by adding chunks (each as large as everything before it), never by copying, so a
// bomb costs about max_output bytes, not the 2-3x a doubling string would; Finish() joins the
// chunks (one copy) only when there is more than one. A size hint (a format's declared size)
// makes one exact chunk, and then nothing is copied at all.
class BoundedOutput {
 public:
  BoundedOutput(size_t max_output, size_t input_size, size_t size_hint = 0)
      : max_output_(max_output),
        capacity_limit_(max_output == std::numeric_limits<size_t>::max() ? max_output
                                                                         : max_output + 1) {
    // Typical ratios of telemetry payloads are 3-10x; without a hint start at 4x.
    first_chunk_ = size_hint > 0                  ? size_hint
                   : input_size > kMaxInitial / 4 ? kMaxInitial
                                                  : std::max<size_t>(input_size * 4, kMinInitial);
    first_chunk_ = std::min(first_chunk_, capacity_limit_);
  }

  // Free space to decode into; empty only when max_output + 1 bytes are held.
  std::pair<char*, size_t> Space() {
    if (chunks_.empty() || last_used_ == chunks_.back().size()) {
      if (capacity_ >= capacity_limit_) return {nullptr, 0};
      const size_t size =
          std::min(chunks_.empty() ? first_chunk_ : capacity_, capacity_limit_ - capacity_);
      chunks_.emplace_back(size, '\0');
      capacity_ += size;
      last_used_ = 0;
    }
    std::string& last = chunks_.back();
    return {last.data() + last_used_, last.size() - last_used_};
  }
  void Commit(size_t n) {
    last_used_ += n;
    written_ += n;
  }
  bool Exceeded() const { return written_ > max_output_; }
  size_t written() const { return written_; }

  std::string Finish() && {
    if (chunks_.empty()) return std::string();
    if (chunks_.size() == 1) {
      std::string out = std::move(chunks_[0]);
      out.resize(written_);
      // A guess far too large gives its memory back (a copy); a close one is kept as it is.
      if (out.capacity() - written_ > written_ / 4 + kMinInitial) out.shrink_to_fit();
      return out;
    }
    std::string out;
    out.reserve(written_);
    for (size_t i = 0; i + 1 < chunks_.size(); ++i) out.append(chunks_[i]);
    out.append(chunks_.back().data(), last_used_);
    return out;
  }

 private:
  static constexpr size_t kMinInitial = 4 << 10;
  static constexpr size_t kMaxInitial = 64 << 20;

  size_t max_output_;
  size_t capacity_limit_;
  size_t first_chunk_;
  std::vector<std::string> chunks_;
  size_t capacity_ = 0;   // bytes in all chunks
  size_t last_used_ = 0;  // bytes written into the last chunk
  size_t written_ = 0;
};

// --- zlib / gzip ---

absl::StatusOr<std::string> Inflate(Codec codec, std::string_view input, size_t max_output) {
  const bool gzip = codec == Codec::kGzip;
  z_stream zs{};
  if (inflateInit2(&zs, gzip ? 16 + MAX_WBITS : MAX_WBITS) != Z_OK) {
    return absl::InternalError(absl::StrCat(AV(CodecName(codec)), ": cannot initialise inflate"));
  }
  std::unique_ptr<z_stream, int (*)(z_stream*)> end_guard(&zs, inflateEnd);

  // A gzip member ends with its size mod 2^32 (ISIZE): a hint for the output buffer, believed
  // no further than deflate's best ratio (~1032:1) allows, so a lying trailer costs no more
  // than a real bomb of the same length.
  size_t hint = 0;
  if (gzip && input.size() >= 18) {
    const auto* t = reinterpret_cast<const unsigned char*>(input.data() + input.size() - 4);
    const size_t isize = size_t{t[0]} | size_t{t[1]} << 8 | size_t{t[2]} << 16 | size_t{t[3]} << 24;
    hint = std::min(isize, input.size() * 1032);
  }
  BoundedOutput out(max_output, input.size(), hint);
  const auto* next = reinterpret_cast<const Bytef*>(input.data());
  size_t remaining = input.size();
  for (;;) {
    if (zs.avail_in == 0 && remaining > 0) {
      size_t slice = std::min(remaining, kZlibSlice);
      zs.next_in = const_cast<Bytef*>(next);
      zs.avail_in = static_cast<uInt>(slice);
      next += slice;
      remaining -= slice;
    }
    auto [space, space_size] = out.Space();
    if (space_size == 0) return TooLarge(max_output);
    size_t offered = std::min(space_size, kZlibSlice);
    zs.next_out = reinterpret_cast<Bytef*>(space);
    zs.avail_out = static_cast<uInt>(offered);
    int ret = inflate(&zs, Z_NO_FLUSH);
    out.Commit(offered - zs.avail_out);
    if (out.Exceeded()) return TooLarge(max_output);
    switch (ret) {
      case Z_STREAM_END:
        if (zs.avail_in == 0 && remaining == 0) return std::move(out).Finish();
        // Go's gzip reader reads concatenated members (multistream); its zlib reader stops at
        // the end of the first stream and ignores what follows.
        if (!gzip) return std::move(out).Finish();
        if (inflateReset(&zs) != Z_OK) return Corrupt(codec, "cannot reset inflate");
        continue;
      case Z_OK:
        break;
      case Z_BUF_ERROR:
        // No progress possible: either the output buffer is full (grow it) or input ran out.
        if (zs.avail_out == 0) break;
        if (zs.avail_in == 0 && remaining == 0) return Corrupt(codec, "unexpected end of input");
        break;
      case Z_NEED_DICT:
        return Corrupt(codec, "stream needs a preset dictionary");
      case Z_MEM_ERROR:
        return absl::ResourceExhaustedError(absl::StrCat(AV(CodecName(codec)), ": out of memory"));
      default:
        return Corrupt(codec, zs.msg != nullptr ? zs.msg : "corrupt input");
    }
    if (zs.avail_in == 0 && remaining == 0 && zs.avail_out != 0) {
      // All input consumed, output not full, yet the stream has not ended: truncated.
      return Corrupt(codec, "unexpected end of input");
    }
  }
}

absl::StatusOr<std::string> Deflate(Codec codec, std::string_view input,
                                    int level = Z_DEFAULT_COMPRESSION) {
  const bool gzip = codec == Codec::kGzip;
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, gzip ? 16 + MAX_WBITS : MAX_WBITS, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    return absl::InternalError(absl::StrCat(AV(CodecName(codec)), ": cannot initialise deflate"));
  }
  std::unique_ptr<z_stream, int (*)(z_stream*)> end_guard(&zs, deflateEnd);

  std::string out;
  const auto* next = reinterpret_cast<const Bytef*>(input.data());
  size_t remaining = input.size();
  for (;;) {
    if (zs.avail_in == 0 && remaining > 0) {
      size_t slice = std::min(remaining, kZlibSlice);
      zs.next_in = const_cast<Bytef*>(next);
      zs.avail_in = static_cast<uInt>(slice);
      next += slice;
      remaining -= slice;
    }
    size_t before = out.size();
    size_t chunk = std::min<size_t>(deflateBound(&zs, zs.avail_in) + 64, kZlibSlice);
    out.resize(before + chunk);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + before);
    zs.avail_out = static_cast<uInt>(chunk);
    int ret = deflate(&zs, remaining == 0 ? Z_FINISH : Z_NO_FLUSH);
    out.resize(before + chunk - zs.avail_out);
    if (ret == Z_STREAM_END) return out;
    if (ret != Z_OK && ret != Z_BUF_ERROR) {
      return absl::InternalError(absl::StrCat(AV(CodecName(codec)), ": deflate failed"));
    }
  }
}

// --- zstd ---

constexpr int kZstdMinWindowLog = 23;  // 8 MiB
constexpr int kZstdMaxWindowLog = 27;  // 128 MiB, libzstd's default limit

absl::StatusOr<std::string> ZstdDecompress(std::string_view input, size_t max_output) {
  // An empty body has no frames; Go's zstd reader returns EOF for it, i.e. an empty body.
  if (input.empty()) return std::string();
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (dctx == nullptr) return absl::ResourceExhaustedError("zstd: cannot allocate decoder");
  // The decoder allocates the window a frame declares (up to 128 MiB by default) before it
  // produces a byte: 85 bytes of header made it allocate 96 MiB under a 1 MiB limit (found by
  // otlp_grpc_fuzzer). The window is capped at the limit, but never below 8 MiB, the window of
  // every standard compression level (Go's encoder uses at most that), nor above zstd's 128 MiB.
  int window_log = kZstdMinWindowLog;
  while (window_log < kZstdMaxWindowLog && (size_t{1} << window_log) < max_output) ++window_log;
  ZSTD_DCtx_setParameter(dctx.get(), ZSTD_d_windowLogMax, window_log);

  // Streaming, so frames that do not declare their content size decode too, and so output is
  // produced (and bounded) incrementally. A declared content size is a hint for the buffer.
  const unsigned long long declared =  // NOLINT(runtime/int): zstd's type
      ZSTD_getFrameContentSize(input.data(), input.size());
  const size_t hint = declared == ZSTD_CONTENTSIZE_UNKNOWN || declared == ZSTD_CONTENTSIZE_ERROR
                          ? 0
                          : static_cast<size_t>(std::min<unsigned long long>(  // NOLINT
                                declared, std::numeric_limits<size_t>::max()));
  BoundedOutput out(max_output, input.size(), hint);
  ZSTD_inBuffer in{input.data(), input.size(), 0};
  size_t last = 0;
  for (;;) {
    auto [space, space_size] = out.Space();
    if (space_size == 0) return TooLarge(max_output);
    ZSTD_outBuffer ob{space, space_size, 0};
    last = ZSTD_decompressStream(dctx.get(), &ob, &in);
    if (ZSTD_isError(last)) {
      // A window over the cap is a demand for more memory than the limit grants.
      if (ZSTD_getErrorCode(last) == ZSTD_error_frameParameter_windowTooLarge) {
        return TooLarge(max_output);
      }
      return Corrupt(Codec::kZstd, ZSTD_getErrorName(last));
    }
    out.Commit(ob.pos);
    if (out.Exceeded()) return TooLarge(max_output);
    // Done once every input byte is consumed and the decoder either finished its frame (0) or
    // left output space unused, i.e. has nothing buffered to flush. Calling it again after a
    // finished frame would only return the header size hint of a next frame.
    if (in.pos == in.size && (last == 0 || ob.pos < ob.size)) break;
  }
  if (last != 0) return Corrupt(Codec::kZstd, "unexpected end of input");
  return std::move(out).Finish();
}

absl::StatusOr<std::string> ZstdCompress(std::string_view input) {
  std::string out(ZSTD_compressBound(input.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), input.data(), input.size(), ZSTD_CLEVEL_DEFAULT);
  if (ZSTD_isError(n)) return absl::InternalError(absl::StrCat("zstd: ", ZSTD_getErrorName(n)));
  out.resize(n);
  return out;
}

// --- snappy block format ---

absl::StatusOr<std::string> SnappyDecompress(std::string_view input, size_t max_output) {
  size_t length = 0;
  if (!snappy::GetUncompressedLength(input.data(), input.size(), &length)) {
    return Corrupt(Codec::kSnappy, "corrupt input");
  }
  if (length > max_output) return TooLarge(max_output);
  std::string out;
  if (!snappy::Uncompress(input.data(), input.size(), &out)) {
    return Corrupt(Codec::kSnappy, "corrupt input");
  }
  return out;
}

// --- snappy framing format (https://github.com/google/snappy/blob/main/framing_format.txt) ---

constexpr std::string_view kSnappyStreamIdentifier("\xff\x06\x00\x00sNaPpY", 10);
constexpr size_t kSnappyMaxBlock = 65536;  // uncompressed bytes per data chunk
constexpr uint8_t kChunkCompressed = 0x00;
constexpr uint8_t kChunkUncompressed = 0x01;
constexpr uint8_t kChunkPadding = 0xfe;
constexpr uint8_t kChunkStreamIdentifier = 0xff;

void AppendLe(std::string* out, uint32_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// The decoded size of a framed stream, from its chunk headers (a chunk that cannot be sized
// counts as 0: the decoding pass reports it). Lets a bomb be refused before any allocation.
size_t SnappyFramedDecodedSize(std::string_view input) {
  size_t total = 0;
  size_t pos = 0;
  while (input.size() - pos >= 4) {
    const auto type = static_cast<uint8_t>(input[pos]);
    const size_t length = GetU32(input.data() + pos) >> 8;
    pos += 4;
    if (input.size() - pos < length) break;
    std::string_view chunk = input.substr(pos, length);
    pos += length;
    if (chunk.size() < 4) continue;
    size_t n = 0;
    if (type == kChunkUncompressed) {
      n = chunk.size() - 4;
    } else if (type == kChunkCompressed &&
               !snappy::GetUncompressedLength(chunk.data() + 4, chunk.size() - 4, &n)) {
      n = 0;
    }
    total += std::min(n, kSnappyMaxBlock + 1);
  }
  return total;
}

absl::StatusOr<std::string> SnappyFramedDecompress(std::string_view input, size_t max_output) {
  constexpr Codec kCodec = Codec::kSnappyFramed;
  const size_t decoded_size = SnappyFramedDecodedSize(input);
  if (decoded_size > max_output) return TooLarge(max_output);
  std::string out;
  out.reserve(decoded_size);
  bool seen_identifier = false;
  size_t pos = 0;
  while (pos < input.size()) {
    if (input.size() - pos < 4) return Corrupt(kCodec, "truncated chunk header");
    const auto type = static_cast<uint8_t>(input[pos]);
    const size_t length = GetU32(input.data() + pos) >> 8;
    pos += 4;
    if (input.size() - pos < length) return Corrupt(kCodec, "truncated chunk");
    std::string_view chunk = input.substr(pos, length);
    pos += length;

    if (type == kChunkStreamIdentifier) {
      // Also legal mid-stream: concatenated streams repeat it.
      if (chunk != kSnappyStreamIdentifier.substr(4)) {
        return Corrupt(kCodec, "invalid stream identifier");
      }
      seen_identifier = true;
      continue;
    }
    if (!seen_identifier) return Corrupt(kCodec, "stream does not start with the identifier");

    if (type == kChunkCompressed || type == kChunkUncompressed) {
      if (chunk.size() < 4) return Corrupt(kCodec, "chunk too short for its checksum");
      const uint32_t want_crc = GetU32(chunk.data());
      std::string_view payload = chunk.substr(4);
      const size_t start = out.size();
      size_t n = payload.size();
      if (type == kChunkCompressed &&
          !snappy::GetUncompressedLength(payload.data(), payload.size(), &n)) {
        return Corrupt(kCodec, "corrupt compressed chunk");
      }
      if (n > kSnappyMaxBlock) return Corrupt(kCodec, "chunk exceeds 65536 uncompressed bytes");
      if (n > max_output - start) return TooLarge(max_output);
      out.resize(start + n);
      if (type == kChunkCompressed) {
        if (!snappy::RawUncompress(payload.data(), payload.size(), out.data() + start)) {
          return Corrupt(kCodec, "corrupt compressed chunk");
        }
      } else {
        std::copy(payload.begin(), payload.end(), out.begin() + static_cast<ptrdiff_t>(start));
      }
      const uint32_t got_crc = MaskSnappyCrc(Crc32c(std::string_view(out).substr(start)));
      if (got_crc != want_crc) return Corrupt(kCodec, "checksum mismatch");
      continue;
    }
    if (type == kChunkPadding || type >= 0x80) continue;  // padding and reserved skippable
    return Corrupt(kCodec, absl::StrFormat("reserved unskippable chunk type 0x%02x", type));
  }
  return out;
}

absl::StatusOr<std::string> SnappyFramedCompress(std::string_view input) {
  std::string out(kSnappyStreamIdentifier);
  std::string compressed;
  for (size_t pos = 0; pos < input.size(); pos += kSnappyMaxBlock) {
    std::string_view block = input.substr(pos, kSnappyMaxBlock);
    const uint32_t crc = MaskSnappyCrc(Crc32c(block));
    compressed.clear();
    snappy::Compress(block.data(), block.size(), &compressed);
    // Store verbatim when compression saves less than 1/8: decoding it would cost more than the
    // bytes it saves.
    const bool use_compressed = compressed.size() < block.size() - block.size() / 8;
    std::string_view payload = use_compressed ? std::string_view(compressed) : block;
    out.push_back(static_cast<char>(use_compressed ? kChunkCompressed : kChunkUncompressed));
    AppendLe(&out, static_cast<uint32_t>(payload.size() + 4), 3);
    AppendLe(&out, crc, 4);
    out.append(payload);
  }
  return out;
}

// --- LZ4 frame format ---

absl::StatusOr<std::string> Lz4Decompress(std::string_view input, size_t max_output) {
  if (input.empty()) return std::string();
  LZ4F_dctx* raw = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&raw, LZ4F_VERSION))) {
    return absl::ResourceExhaustedError("lz4: cannot allocate decoder");
  }
  std::unique_ptr<LZ4F_dctx, LZ4F_errorCode_t (*)(LZ4F_dctx*)> dctx(raw,
                                                                    LZ4F_freeDecompressionContext);
  BoundedOutput out(max_output, input.size());
  size_t pos = 0;
  size_t hint = 0;
  int stalls = 0;
  for (;;) {
    auto [space, space_size] = out.Space();
    if (space_size == 0) return TooLarge(max_output);
    size_t dst_size = space_size;
    size_t src_size = input.size() - pos;
    hint = LZ4F_decompress(dctx.get(), space, &dst_size, input.data() + pos, &src_size, nullptr);
    if (LZ4F_isError(hint)) return Corrupt(Codec::kLz4, LZ4F_getErrorName(hint));
    pos += src_size;
    out.Commit(dst_size);
    if (out.Exceeded()) return TooLarge(max_output);
    // A frame ended (hint 0) and the next one, if any, starts at `pos`: the context restarts
    // by itself. Concatenated frames decode as one body.
    if (pos == input.size() && (hint == 0 || dst_size < space_size)) break;
    // The decoder always progresses while it has input and output room; guard regardless so
    // corrupt input can never spin.
    stalls = (src_size == 0 && dst_size == 0) ? stalls + 1 : 0;
    if (stalls > 2) return Corrupt(Codec::kLz4, "decoder made no progress");
  }
  if (hint != 0) return Corrupt(Codec::kLz4, "unexpected end of input");
  return std::move(out).Finish();
}

absl::StatusOr<std::string> Lz4Compress(std::string_view input) {
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.contentSize = input.size();
  prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
  std::string out(LZ4F_compressFrameBound(input.size(), &prefs), '\0');
  size_t n = LZ4F_compressFrame(out.data(), out.size(), input.data(), input.size(), &prefs);
  if (LZ4F_isError(n)) return absl::InternalError(absl::StrCat("lz4: ", LZ4F_getErrorName(n)));
  out.resize(n);
  return out;
}

}  // namespace

std::optional<Codec> ParseContentEncoding(std::string_view name) {
  absl::string_view trimmed = absl::StripAsciiWhitespace(AV(name));
  struct Entry {
    const char* name;
    Codec codec;
  };
  static constexpr Entry kEntries[] = {
      {"", Codec::kIdentity},     {"identity", Codec::kIdentity},
      {"gzip", Codec::kGzip},     {"zlib", Codec::kZlib},
      {"deflate", Codec::kZlib},  {"zstd", Codec::kZstd},
      {"snappy", Codec::kSnappy}, {"x-snappy-framed", Codec::kSnappyFramed},
      {"lz4", Codec::kLz4},
  };
  for (const Entry& e : kEntries) {
    if (absl::EqualsIgnoreCase(trimmed, e.name)) return e.codec;
  }
  return std::nullopt;
}

std::string_view CodecName(Codec codec) {
  switch (codec) {
    case Codec::kIdentity:
      return "identity";
    case Codec::kGzip:
      return "gzip";
    case Codec::kZlib:
      return "zlib";
    case Codec::kZstd:
      return "zstd";
    case Codec::kSnappy:
      return "snappy";
    case Codec::kSnappyFramed:
      return "x-snappy-framed";
    case Codec::kLz4:
      return "lz4";
  }
  return "unknown";
}

std::optional<size_t> SnappyUncompressedLength(std::string_view input) {
  size_t length = 0;
  if (!snappy::GetUncompressedLength(input.data(), input.size(), &length)) return std::nullopt;
  return length;
}

absl::StatusOr<std::string> Decompress(Codec codec, std::string_view input, size_t max_output) {
  switch (codec) {
    case Codec::kIdentity:
      if (input.size() > max_output) return TooLarge(max_output);
      return std::string(input);
    case Codec::kGzip:
    case Codec::kZlib:
      return Inflate(codec, input, max_output);
    case Codec::kZstd:
      return ZstdDecompress(input, max_output);
    case Codec::kSnappy:
      return SnappyDecompress(input, max_output);
    case Codec::kSnappyFramed:
      return SnappyFramedDecompress(input, max_output);
    case Codec::kLz4:
      return Lz4Decompress(input, max_output);
  }
  return absl::InvalidArgumentError("unknown codec");
}

absl::StatusOr<std::string> GzipFast(std::string_view input) {
  return Deflate(Codec::kGzip, input, Z_BEST_SPEED);
}

absl::StatusOr<std::string> Compress(Codec codec, std::string_view input) {
  switch (codec) {
    case Codec::kIdentity:
      return std::string(input);
    case Codec::kGzip:
    case Codec::kZlib:
      return Deflate(codec, input);
    case Codec::kZstd:
      return ZstdCompress(input);
    case Codec::kSnappy: {
      std::string out;
      snappy::Compress(input.data(), input.size(), &out);
      return out;
    }
    case Codec::kSnappyFramed:
      return SnappyFramedCompress(input);
    case Codec::kLz4:
      return Lz4Compress(input);
  }
  return absl::InvalidArgumentError("unknown codec");
}

}  // namespace sprout::net
