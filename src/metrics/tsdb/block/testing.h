// Test-only helpers of the block tests and the block_index_fuzzer. Header-only; not part of the
// library.
//
// ExerciseIndex drives every read path of an IndexReader over whatever it parsed (bounded loops,
// every Status checked for nothing but existence): a corrupt index must give errors, never a
// crash, hang or huge allocation. FixIndexCrcs recomputes the section and table-of-contents CRCs
// of an index whose table of contents is in range, so mutated bytes reach the structural checks
// behind the CRCs. PackBlock/UnpackBlock turn a block's files into the fuzzer's one-input form
// and back.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/coding.h"
#include "base/crc32c.h"
#include "base/status.h"
#include "metrics/tsdb/block/reader.h"
#include "metrics/tsdb/block/writer.h"
#include "metrics/tsdb/chunkenc/float_chunk.h"
#include "metrics/tsdb/chunkenc/histogram_chunk.h"
#include "objstore/object_store.h"
#include "storage/env.h"

namespace sprout::metrics::tsdb::block_testing {

inline void FixIndexCrcs(std::string* index) {
  namespace fmt = block_format;
  if (index->size() < fmt::kHeaderSize + fmt::kTocSize) return;
  const size_t toc = index->size() - fmt::kTocSize;
  for (int s = 0; s < fmt::kNumSections; ++s) {
    const uint64_t offset = GetU64(index->data() + toc + 16 * s);
    const uint64_t length = GetU64(index->data() + toc + 16 * s + 8);
    if (offset > toc || length > toc - offset || toc - offset - length < 4) continue;
    PutU32(index->data() + offset + length,
           Crc32c(std::string_view(*index).substr(offset, length)));
  }
  PutU32(index->data() + toc + fmt::kTocSize - 4,
         Crc32c(std::string_view(*index).substr(toc, fmt::kTocSize - 4)));
}

// Returns how many calls succeeded (so the work is not optimised away).
inline size_t ExerciseIndex(const IndexReader& index) {
  size_t ok = 0;
  std::vector<std::string_view> names = index.LabelNames();
  if (names.size() > 64) names.resize(64);
  std::vector<Matcher> matchers;
  for (std::string_view name : names) {
    std::vector<std::string_view> values = index.LabelValues(name);
    if (values.size() > 64) values.resize(64);
    for (std::string_view value : values) {
      auto it = index.Postings(name, value);
      for (int i = 0; i < 1000 && it->Next(); ++i) {
      }
      ok += it->Err().ok();
    }
    if (!values.empty()) {
      matchers.push_back(Matcher::MustCreate(Matcher::Type::kEqual, name, values[0]));
      matchers.push_back(Matcher::MustCreate(Matcher::Type::kNotEqual, name, values.back()));
      matchers.push_back(Matcher::MustCreate(Matcher::Type::kRegexMatch, name, ".+"));
    }
  }
  for (size_t i = 0; i < matchers.size() && i < 12; ++i) {
    std::span<const Matcher> one(&matchers[i], 1);
    ok += index.Select(one).ok();
    ok += index.LabelNames(one).ok();
    if (!names.empty()) ok += index.LabelValues(names[0], one).ok();
    if (i + 1 < matchers.size()) ok += index.Select(std::span(&matchers[i], 2)).ok();
  }
  const uint64_t series = std::min<uint64_t>(index.num_series(), 2000);
  Labels labels;
  std::vector<ChunkMeta> chunks;
  for (uint64_t ref = 0; ref <= series; ++ref) ok += index.Series(ref, &labels, &chunks).ok();
  auto all = index.AllPostings();
  for (int i = 0; i < 1000 && all->Next(); ++i) {
  }
  return ok;
}

// The fuzzer's fixed block: three series, one chunk of each encoding, in one segment, with a
// fixed ULID, uploaded under "fuzz/". Returns the block prefix.
inline absl::StatusOr<std::string> WriteFuzzBlock(storage::Env* env, const std::string& dir,
                                                  objstore::ObjectStore* store) {
  chunkenc::FloatChunk xor_chunk;
  chunkenc::HistogramChunk int_chunk;
  chunkenc::FloatHistogramChunk float_chunk;
  for (int i = 0; i < 5; ++i) {
    const int64_t t = 1700000000000 + 15000 * i;
    (void)xor_chunk.Append(t, 0.5 * i);
    chunkenc::Histogram h;
    h.count = 3 + static_cast<uint64_t>(i);
    h.sum = 1.5 * i;
    h.positive_spans = {{0, 2}};
    h.positive_buckets = {1, 2 + static_cast<uint64_t>(i)};
    (void)int_chunk.Append(t, h);
    (void)float_chunk.Append(t, h.ToFloat());
  }
  BlockWriterOptions options;
  options.ulid = Ulid(1700000000000, 0, 2);
  ASSIGN_OR_RETURN(std::unique_ptr<BlockWriter> w, BlockWriter::Create(env, dir, options));
  const auto add = [&](std::string_view name, chunkenc::Encoding e, std::string_view bytes,
                       int64_t max_time) {
    const ChunkMeta chunk[] = {{1700000000000, max_time, e, bytes}};
    return w->AddSeries(Labels::FromStrings({"__name__", name, "job", "fuzz"}), chunk);
  };
  RETURN_IF_ERROR(
      add("a_float", chunkenc::Encoding::kXor, xor_chunk.bytes(), xor_chunk.max_time()));
  RETURN_IF_ERROR(
      add("b_histogram", chunkenc::Encoding::kHistogram, int_chunk.bytes(), int_chunk.max_time()));
  RETURN_IF_ERROR(add("c_float_histogram", chunkenc::Encoding::kFloatHistogram, float_chunk.bytes(),
                      float_chunk.max_time()));
  RETURN_IF_ERROR(w->Finish());
  return w->Upload(store, "fuzz");
}

// A whole block as one byte string: files behind kBlockFileMarker, each introduced by a selector
// byte — 0 meta.json, 1 index, n ≥ 2 chunks/<segment n − 1> — up to the next marker or the end.
// Bytes before the first marker are ignored; a later file of the same name replaces an earlier.
inline constexpr std::string_view kBlockFileMarker = "\nBLOCK-FILE:";

inline std::string BlockFileName(uint8_t selector) {
  if (selector == 0) return std::string(block_format::kMetaFile);
  if (selector == 1) return std::string(block_format::kIndexFile);
  return absl::StrCat(AV(block_format::kChunksDir), "/", block_format::SegmentName(selector - 1u));
}

// The block at `prefix` (meta.json, index, chunk segments 1-254 as far as they exist).
inline absl::StatusOr<std::string> PackBlock(objstore::ObjectStore* store,
                                             const std::string& prefix) {
  std::string out;
  for (int s = 0; s < 256; ++s) {
    absl::StatusOr<std::string> bytes =
        store->Get(absl::StrCat(prefix, "/", BlockFileName(static_cast<uint8_t>(s))));
    if (absl::IsNotFound(bytes.status())) {
      if (s >= 2) break;
      continue;
    }
    if (!bytes.ok()) return bytes.status();
    absl::StrAppend(&out, AV(kBlockFileMarker), std::string(1, static_cast<char>(s)), *bytes);
  }
  return out;
}

// Puts the packed files under `prefix`; with fix_index_crcs the index's CRCs are fixed first.
inline absl::Status UnpackBlock(std::string_view packed, bool fix_index_crcs,
                                objstore::ObjectStore* store, const std::string& prefix) {
  size_t at = packed.find(kBlockFileMarker);
  while (at != std::string_view::npos) {
    const size_t start = at + kBlockFileMarker.size();
    const size_t next = packed.find(kBlockFileMarker, start);
    std::string_view file = packed.substr(
        start, next == std::string_view::npos ? std::string_view::npos : next - start);
    at = next;
    if (file.empty()) continue;
    const uint8_t selector = static_cast<uint8_t>(file[0]);
    std::string bytes(file.substr(1));
    if (selector == 1 && fix_index_crcs) FixIndexCrcs(&bytes);
    RETURN_IF_ERROR(store->Put(absl::StrCat(prefix, "/", BlockFileName(selector)), bytes));
  }
  return absl::OkStatus();
}

}  // namespace sprout::metrics::tsdb::block_testing
