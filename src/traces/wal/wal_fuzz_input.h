// Test-only (traces_wal_replay_fuzzer and the test that writes its seeds): a traces WAL
// directory packed into one byte string. Header-only; not part of the library.
//
//   byte 0   flags (TracesWalFuzzFlags)
//   then files, each: kFileMarker, one selector byte (bits 0-2: segment number - 1, so
//   segments 1-8; other bits ignored), the file's bytes up to the next marker or the end.
//   A later file of the same segment replaces an earlier one; bytes before the first marker
//   are ignored.
//
// With kFixCrcs the segment header's CRC and every in-range chunk CRC are recomputed before the
// file is written, so that mutated record bytes reach the record decoder.
//
// Thread-safety: pure functions over their arguments.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/coding.h"
#include "base/crc32c.h"
#include "base/status.h"
#include "storage/env.h"
#include "storage/log_format.h"

namespace sprout::traces::wal::fuzz {

inline constexpr std::string_view kFileMarker = "\nTWAL-FILE:";

enum TracesWalFuzzFlags : uint8_t {
  kFixCrcs = 1,         // fix the segment log's CRCs first
  kSmallSegments = 2,   // segment_size 256 (the appends after replay rotate)
  kReopen = 4,          // after the checks: close, reopen, replay again and compare
  kTruncate = 8,        // before reopening: Rotate and Truncate (only the later batches stay)
};

inline std::string SegmentName(uint64_t segment) { return absl::StrFormat("%020d.log", segment); }

// Recomputes the header CRC and each chunk CRC whose chunk lies within its block and the file.
inline void FixSegmentCrcs(std::string* seg) {
  namespace lf = storage::log;
  if (seg->size() < lf::kSegmentHeaderSize) return;
  PutU32(seg->data() + 24, MaskSnappyCrc(Crc32c(std::string_view(*seg).substr(0, 24))));
  uint64_t at = lf::kSegmentHeaderSize;
  while (at + lf::kChunkHeaderSize <= seg->size()) {
    const uint64_t block_end = (at / lf::kBlockSize + 1) * lf::kBlockSize;
    if (block_end - at < lf::kChunkHeaderSize) {
      at = block_end;
      continue;
    }
    const uint64_t length = GetU16(seg->data() + at + 4);
    const uint64_t end = at + lf::kChunkHeaderSize + length;
    if (end > block_end || end > seg->size()) {
      at = block_end;
      continue;
    }
    PutU32(seg->data() + at,
           MaskSnappyCrc(Crc32c(std::string_view(*seg).substr(at + 4, 4 + length))));
    at = end;
  }
}

struct FuzzInput {
  uint8_t flags = 0;
  std::map<uint64_t, std::string_view> segments;  // by number
};

inline FuzzInput ParseFuzzInput(std::string_view data) {
  FuzzInput in;
  if (data.empty()) return in;
  in.flags = static_cast<uint8_t>(data[0]);
  data.remove_prefix(1);
  size_t at = data.find(kFileMarker);
  while (at != std::string_view::npos) {
    const size_t start = at + kFileMarker.size();
    const size_t next = data.find(kFileMarker, start);
    const std::string_view file =
        data.substr(start, next == std::string_view::npos ? std::string_view::npos : next - start);
    if (!file.empty()) in.segments[(static_cast<uint8_t>(file[0]) & 7u) + 1] = file.substr(1);
    at = next;
  }
  return in;
}

inline absl::Status UnpackFuzzInput(const FuzzInput& in, storage::Env* env,
                                    const std::string& dir) {
  RETURN_IF_ERROR(env->CreateDirs(dir));
  for (const auto& [number, bytes] : in.segments) {
    std::string content(bytes);
    if ((in.flags & kFixCrcs) != 0) FixSegmentCrcs(&content);
    ASSIGN_OR_RETURN(std::unique_ptr<storage::File> file,
                     env->OpenFile(storage::JoinPath(dir, SegmentName(number)),
                                   storage::OpenMode::kCreate));
    const std::string_view parts[] = {content};
    RETURN_IF_ERROR(file->Append(parts));
  }
  return absl::OkStatus();
}

// Packs the segments 1-8 found in `dir` (the seeds' writer).
inline absl::StatusOr<std::string> PackFuzzInput(storage::Env* env, const std::string& dir,
                                                 uint8_t flags) {
  std::string out(1, static_cast<char>(flags));
  for (uint64_t n = 1; n <= 8; ++n) {
    const std::string path = storage::JoinPath(dir, SegmentName(n));
    ASSIGN_OR_RETURN(bool exists, env->Exists(path));
    if (!exists) continue;
    ASSIGN_OR_RETURN(std::string bytes, env->ReadFile(path));
    out += kFileMarker;
    out.push_back(static_cast<char>(n - 1));
    out += bytes;
  }
  return out;
}

}  // namespace sprout::traces::wal::fuzz
