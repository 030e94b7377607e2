// libFuzzer target for the chunk decoders (tests/fuzz/README.md).
//
// Byte 0 picks the mode:
//   even: the rest is a stored chunk (encoding byte + payload); the iterator, driven by a mix of
//         Next() and Seek(), must terminate (at most the header's sample count) without crashing.
//   odd:  the rest is read as samples (16-byte records: int64 t, 8 value bytes), encoded into a
//         chunk of the encoding byte 1 picks (0 XOR, 1 integer histogram, 2 float histogram, built
//         from the value bits), decoded again and compared bit for bit.
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "metrics/tsdb/chunkenc/chunk.h"
#include "metrics/tsdb/chunkenc/float_chunk.h"
#include "metrics/tsdb/chunkenc/histogram_chunk.h"

namespace chunkenc = sprout::metrics::chunkenc;

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

void Decode(std::string_view record) {
  auto it = chunkenc::NewIteratorFromRecord(record);
  chunkenc::Histogram h;
  chunkenc::FloatHistogram fh;
  int steps = 0;
  int64_t last = 0;
  while (true) {
    chunkenc::ValueType vt = steps % 4 == 3 ? it->Seek(last + 1) : it->Next();
    if (vt == chunkenc::ValueType::kNone) break;
    last = it->AtT();
    it->At();
    it->AtHistogram(&h);
    it->AtFloatHistogram(&fh);
    Check(++steps <= 65535);
  }
}

struct Input {
  int64_t t;
  uint64_t bits;
};

std::vector<Input> Samples(const uint8_t* data, size_t size) {
  std::vector<Input> out;
  for (size_t i = 0; i + 16 <= size && out.size() < 2000; i += 16) {
    Input in;
    std::memcpy(&in.t, data + i, 8);
    std::memcpy(&in.bits, data + i + 8, 8);
    out.push_back(in);
  }
  return out;
}

void RoundTripFloats(const std::vector<Input>& in) {
  chunkenc::FloatChunk c;
  for (const Input& s : in) Check(c.Append(s.t, std::bit_cast<double>(s.bits)));
  chunkenc::FloatChunkIterator it(c.bytes());
  for (const Input& s : in) {
    Check(it.Next() == chunkenc::ValueType::kFloat);
    auto [t, v] = it.At();
    Check(t == s.t && std::bit_cast<uint64_t>(v) == s.bits);
  }
  Check(it.Next() == chunkenc::ValueType::kNone && it.Err().ok());
}

// A histogram from 8 bytes: 3 buckets in a fixed layout; a gauge chunk, so any values go.
template <typename H>
H Build(uint64_t bits) {
  H h;
  h.schema = static_cast<int8_t>(bits >> 56) % 9;
  h.positive_spans = {{static_cast<int8_t>(bits >> 48), 2}, {1, 1}};
  h.negative_spans = {{0, 0}};
  h.reset_hint = chunkenc::CounterResetHint::kGauge;
  if constexpr (std::is_same_v<H, chunkenc::Histogram>) {
    h.positive_buckets = {bits & 0xffff, (bits >> 16) & 0xff, bits};
    h.count = bits * 3;
    h.zero_count = bits >> 40;
  } else {
    h.positive_buckets = {std::bit_cast<double>(bits), static_cast<double>(bits & 0xff),
                          std::bit_cast<double>(~bits)};
    h.count = std::bit_cast<double>(bits ^ 0x7ff0000000000002);
    h.zero_count = -0.0;
  }
  h.sum = std::bit_cast<double>(bits);
  return h;
}

template <typename H>
void RoundTripHistograms(const std::vector<Input>& in) {
  chunkenc::BasicHistogramChunk<H> c(chunkenc::CounterResetHint::kGauge);
  std::vector<Input> appended;
  for (const Input& s : in) {
    chunkenc::AppendResult r = c.Append(s.t, Build<H>(s.bits));
    // A schema change starts a new chunk; only the chunk's first layout is kept here.
    if (r == chunkenc::AppendResult::kAppended) appended.push_back(s);
    Check(r == chunkenc::AppendResult::kAppended || r == chunkenc::AppendResult::kLayoutChanged);
  }
  chunkenc::HistogramChunkIterator it(c.kEncoding, c.bytes());
  H got;
  for (const Input& s : appended) {
    Check(it.Next() != chunkenc::ValueType::kNone);
    int64_t t;
    if constexpr (std::is_same_v<H, chunkenc::Histogram>) {
      t = it.AtHistogram(&got);
    } else {
      t = it.AtFloatHistogram(&got);
    }
    H want = Build<H>(s.bits);
    Check(t == s.t && got.positive_spans == want.positive_spans &&
          std::bit_cast<uint64_t>(got.sum) == std::bit_cast<uint64_t>(want.sum) &&
          got.positive_buckets.size() == want.positive_buckets.size());
    for (size_t i = 0; i < want.positive_buckets.size(); ++i) {
      Check(std::memcmp(&got.positive_buckets[i], &want.positive_buckets[i],
                        sizeof(want.positive_buckets[i])) == 0);
    }
    Check(std::memcmp(&got.count, &want.count, sizeof(want.count)) == 0);
  }
  Check(it.Next() == chunkenc::ValueType::kNone && it.Err().ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  if (data[0] % 2 == 0) {
    Decode(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
    return 0;
  }
  if (size < 2) return 0;
  std::vector<Input> in = Samples(data + 2, size - 2);
  switch (data[1] % 3) {
    case 0:
      RoundTripFloats(in);
      break;
    case 1:
      RoundTripHistograms<chunkenc::Histogram>(in);
      break;
    default:
      RoundTripHistograms<chunkenc::FloatHistogram>(in);
  }
  return 0;
}
