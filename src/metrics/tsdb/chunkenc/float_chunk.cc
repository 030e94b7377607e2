#include "metrics/tsdb/chunkenc/float_chunk.h"

#include <bit>

#include "absl/strings/str_cat.h"
#include "base/coding.h"

namespace sprout::metrics::chunkenc {

namespace {
constexpr size_t kHeaderBytes = 2;  // u16 little-endian sample count
}  // namespace

FloatChunk::FloatChunk() : w_(kHeaderBytes) {}

int64_t FloatChunk::min_time() const {
  if (num_samples() == 0) return 0;
  // Sample 0's timestamp: a zigzag LEB128 varint right after the header (byte-aligned).
  const std::string_view b = w_.bytes();
  uint64_t u = 0;
  for (size_t i = kHeaderBytes, shift = 0; i < b.size() && shift < 64; ++i, shift += 7) {
    const auto byte = static_cast<uint8_t>(b[i]);
    u |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if (byte < 0x80) break;
  }
  return static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
}

bool FloatChunk::Append(int64_t t, double v) {
  int count = num_samples();
  if (count >= kMaxSamples) return false;
  uint64_t ut = static_cast<uint64_t>(t);
  uint64_t bits = std::bit_cast<uint64_t>(v);
  if (count == 0) {
    w_.WriteVarint(t);
    w_.Write(bits, 64);
    v_.prev = bits;
  } else if (count == 1) {
    t_.delta = ut - t_.prev;
    w_.WriteUvarint(t_.delta);
    WriteXor(w_, v_, bits);
  } else {
    uint64_t delta = ut - t_.prev;
    WriteVarbit(w_, static_cast<int64_t>(delta - t_.delta));
    t_.delta = delta;
    WriteXor(w_, v_, bits);
  }
  t_.prev = ut;
  ++count;
  w_.PatchByte(0, static_cast<uint8_t>(count));
  w_.PatchByte(1, static_cast<uint8_t>(count >> 8));
  return true;
}

FloatChunkIterator::FloatChunkIterator(std::string_view payload) {
  if (payload.size() < kHeaderBytes) {
    Fail(absl::StrCat("payload of ", payload.size(), " bytes is shorter than its header"));
    return;
  }
  total_ = GetU16(payload.data());
  r_ = BitReader(payload, kHeaderBytes * 8);
}

ValueType FloatChunkIterator::Fail(std::string_view what) {
  if (err_.ok()) err_ = absl::DataLossError(absl::StrCat("xor chunk: ", std::string(what)));
  done_ = true;
  return ValueType::kNone;
}

ValueType FloatChunkIterator::Next() {
  if (done_) return ValueType::kNone;
  if (read_ >= total_) {
    done_ = true;
    // The writer leaves fewer than 8 padding bits after the last sample.
    if (r_.remaining() >= 8) {
      return Fail(
          absl::StrCat(r_.remaining() / 8, " bytes follow the last of ", total_, " samples"));
    }
    return ValueType::kNone;
  }
  if (read_ == 0) {
    int64_t t;
    if (!r_.ReadVarint(&t)) return Fail("sample 0: bad timestamp varint");
    ts_.prev = static_cast<uint64_t>(t);
    v_.prev = r_.Read(64);
  } else if (read_ == 1) {
    if (!r_.ReadUvarint(&ts_.delta)) return Fail("sample 1: bad timestamp delta varint");
    ts_.prev += ts_.delta;
    if (!ReadXor(r_, v_)) return Fail("sample 1: bad value bits");
  } else {
    ts_.delta += static_cast<uint64_t>(ReadVarbit(r_));
    ts_.prev += ts_.delta;
    if (!ReadXor(r_, v_)) return Fail(absl::StrCat("sample ", read_, ": bad value bits"));
  }
  if (r_.overrun()) {
    return Fail(absl::StrCat("truncated in sample ", read_, " of ", total_));
  }
  t_ = static_cast<int64_t>(ts_.prev);
  ++read_;
  return ValueType::kFloat;
}

ValueType FloatChunkIterator::Seek(int64_t t) {
  if (done_) return ValueType::kNone;
  if (read_ > 0 && t_ >= t) return ValueType::kFloat;
  while (Next() == ValueType::kFloat) {
    if (t_ >= t) return ValueType::kFloat;
  }
  return ValueType::kNone;
}

std::pair<int64_t, double> FloatChunkIterator::At() const {
  return {t_, std::bit_cast<double>(v_.prev)};
}

}  // namespace sprout::metrics::chunkenc

namespace sprout::metrics::chunkenc {
// The head holds one open FloatChunk per float series: keep it in jemalloc's 48-byte class.
static_assert(sizeof(FloatChunk) <= 48);
}  // namespace sprout::metrics::chunkenc
