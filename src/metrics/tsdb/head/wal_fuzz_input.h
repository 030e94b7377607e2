// Test-only (the wal_replay_fuzzer and the test that writes its seeds): the fuzzer's input
// format, a head directory's WAL files packed into one byte string and unpacked into an Env.
// Header-only; not part of the library.
//
//   byte 0      flags (WalFuzzFlags)
//   then files, each: kWalFuzzFileMarker, one selector byte, the file's bytes up to the next
//   marker or the end of the input.
//
// Selector: bits 0-2 the segment number − 1 (segments 1-8); bit 7 set: the segment belongs to
// a checkpoint, `checkpoint.0000000N` with N − 1 in bits 3-5, and `.tmp` appended when bit 6
// is set (an unfinished one); bits 3-6 are ignored without bit 7. A later file of the same name
// replaces an earlier one. Bytes before the first marker are ignored.
//
// With kFixCrcs, UnpackWalFiles recomputes each segment's header CRC and the CRC of every chunk
// whose header is in range before writing it, so that mutated record bytes reach the record
// decoders and replay instead of stopping at the segment log's checksums.
//
// Thread-safety: pure functions over their arguments.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/coding.h"
#include "base/crc32c.h"
#include "base/status.h"
#include "storage/env.h"
#include "storage/log_format.h"

namespace sprout::metrics::tsdb::wal_fuzz {

inline constexpr std::string_view kWalFuzzFileMarker = "\nWAL-FILE:";

enum WalFuzzFlags : uint8_t {
  kFixCrcs = 1,         // fix the segment log's CRCs before replay
  kExemplars = 2,       // max_exemplars 16 (0 otherwise: exemplars off)
  kSmallChunks = 4,     // samples_per_chunk 4 and chunk_range 1 h (120 and 2 h otherwise)
  kReopen = 8,          // after the checks: close, reopen, compare everything
  kTruncate = 16,       // before reopening: Truncate in the middle of the head's time range
  kSmallSegments = 32,  // wal_segment_size 256 (appends after replay rotate segments)
};

// The name of a selector's file under the head directory ("wal/…").
inline std::string SelectorPath(uint8_t selector) {
  const uint64_t segment = (selector & 7u) + 1;
  std::string name = absl::StrFormat("%020d.log", segment);
  if ((selector & 0x80u) == 0) return absl::StrCat("wal/", name);
  const uint64_t checkpoint = ((selector >> 3) & 7u) + 1;
  return absl::StrCat("wal/", absl::StrFormat("checkpoint.%08d", checkpoint),
                      (selector & 0x40u) != 0 ? ".tmp" : "", "/", name);
}

// Whether `selector` is the one PathSelector gives for its path (bits 3-6 clear without bit 7).
inline bool CanonicalSelector(uint8_t selector) {
  return (selector & 0x80u) != 0 || (selector & 0x78u) == 0;
}

// The canonical selector of a path SelectorPath can name; nullopt for any other.
inline std::optional<uint8_t> PathSelector(std::string_view path) {
  for (int s = 0; s < 256; ++s) {
    if (SelectorPath(static_cast<uint8_t>(s)) == path) return static_cast<uint8_t>(s);
  }
  return std::nullopt;
}

// Recomputes the header CRC and every in-range chunk CRC of a segment file.
inline void FixSegmentCrcs(std::string* segment) {
  namespace lf = storage::log;
  if (segment->size() < lf::kSegmentHeaderSize) return;
  PutU32(segment->data() + 24, MaskSnappyCrc(Crc32c(std::string_view(*segment).substr(0, 24))));
  uint64_t offset = lf::kSegmentHeaderSize;
  while (offset + lf::kChunkHeaderSize <= segment->size()) {
    const uint64_t block_end = (offset / lf::kBlockSize + 1) * lf::kBlockSize;
    if (block_end - offset < lf::kChunkHeaderSize) {  // a trailer
      offset = block_end;
      continue;
    }
    const uint64_t length = static_cast<uint8_t>((*segment)[offset + 4]) |
                            (uint64_t{static_cast<uint8_t>((*segment)[offset + 5])} << 8);
    const uint64_t end = offset + lf::kChunkHeaderSize + length;
    if (end > block_end || end > segment->size()) {  // not a chunk: go on at the next block
      offset = block_end;
      continue;
    }
    PutU32(segment->data() + offset,
           MaskSnappyCrc(Crc32c(std::string_view(*segment).substr(offset + 4, 4 + length))));
    offset = end;
  }
}

struct WalFuzzInput {
  uint8_t flags = 0;
  std::map<std::string, std::string_view> files;  // by path under the head directory
};

inline WalFuzzInput ParseWalFuzzInput(std::string_view data) {
  WalFuzzInput in;
  if (data.empty()) return in;
  in.flags = static_cast<uint8_t>(data[0]);
  data.remove_prefix(1);
  size_t at = data.find(kWalFuzzFileMarker);
  while (at != std::string_view::npos) {
    const size_t start = at + kWalFuzzFileMarker.size();
    const size_t next = data.find(kWalFuzzFileMarker, start);
    const std::string_view file =
        data.substr(start, next == std::string_view::npos ? std::string_view::npos : next - start);
    if (!file.empty()) in.files[SelectorPath(static_cast<uint8_t>(file[0]))] = file.substr(1);
    at = next;
  }
  return in;
}

// Writes the input's files under `dir` (created with its parents).
inline absl::Status UnpackWalFiles(const WalFuzzInput& in, storage::Env* env,
                                   const std::string& dir) {
  for (const auto& [name, bytes] : in.files) {
    const std::string path = storage::JoinPath(dir, name);
    RETURN_IF_ERROR(env->CreateDirs(storage::ParentDir(path)));
    std::string content(bytes);
    if ((in.flags & kFixCrcs) != 0) FixSegmentCrcs(&content);
    ASSIGN_OR_RETURN(std::unique_ptr<storage::File> file,
                     env->OpenFile(path, storage::OpenMode::kCreate));
    const std::string_view parts[] = {content};
    RETURN_IF_ERROR(file->Append(parts));
  }
  return absl::OkStatus();
}

// The files under `dir` that a selector names, packed with `flags` (the seeds' writer).
inline absl::StatusOr<std::string> PackWalFiles(storage::Env* env, const std::string& dir,
                                                uint8_t flags) {
  std::string out(1, static_cast<char>(flags));
  for (int s = 0; s < 256; ++s) {
    if (!CanonicalSelector(static_cast<uint8_t>(s))) continue;
    const std::string path = storage::JoinPath(dir, SelectorPath(static_cast<uint8_t>(s)));
    ASSIGN_OR_RETURN(bool exists, env->Exists(path));
    if (!exists) continue;
    ASSIGN_OR_RETURN(std::string bytes, env->ReadFile(path));
    absl::StrAppend(&out, AV(kWalFuzzFileMarker), std::string(1, static_cast<char>(s)), bytes);
  }
  return out;
}

}  // namespace sprout::metrics::tsdb::wal_fuzz
