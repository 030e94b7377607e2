// Reads the records of one segment file (log_format.h), checking every chunk's CRC, and says
// what it could not read instead of stopping there: damage (a bad checksum, an impossible
// length or chunk type, a record missing its start or end) is skipped up to the next block
// boundary and reported as LogDamage once a valid record after it shows where it ends. What
// is still unresolved at the limit is the segment's tail: recovery cuts it off (a write the
// crash interrupted) and a reader of a finished segment reports it.
//
// Thread-safety: one reader per thread; the File may be shared with a writer appending past
// the limit given to Next().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/env.h"
#include "storage/log_format.h"

namespace sprout::storage {

struct LogRecord {
  uint8_t type = 0;
  std::string data;
  LogPosition position;  // of its first chunk
  LogPosition end;       // just after its last chunk: where reading resumes after it
};

namespace log {

// Checks a segment header; OK with the previous segment's number (0: none), DataLoss when the
// bytes are not a valid header, FailedPrecondition for a format version this code cannot read.
absl::StatusOr<uint64_t> ParseSegmentHeader(std::string_view header, const std::string& path);
std::string EncodeSegmentHeader(uint64_t previous_segment);

class SegmentFileReader {
 public:
  // Reads `file` (segment number `segment`) from `offset`, a record boundary at or after the
  // header. Records longer than `max_record_size` are skipped and reported.
  SegmentFileReader(const File* file, uint64_t segment, uint64_t offset, uint64_t max_record_size);

  enum class Outcome {
    kRecord,  // *record holds the next record
    kEnd,     // everything up to the limit was read
    kTail,    // the bytes from tail().offset to the limit hold no complete record (yet)
  };
  // Reads on up to byte `limit` of the file. Damage resolved on the way is appended to
  // `*damage`. After kTail, a later call with a larger limit may still find records there (a
  // writer appending), so the reader keeps its place.
  absl::StatusOr<Outcome> Next(uint64_t limit, LogRecord* record, std::vector<LogDamage>* damage);

  // After kTail: where the unreadable tail starts, its reason and the records it cuts (bytes
  // is left 0: the caller knows the end).
  const LogDamage& tail() const { return tail_; }
  // Where the next record is looked for (the end of the last record returned, or of skipped
  // damage).
  uint64_t offset() const { return pos_; }

 private:
  void AddPending(uint64_t offset, std::string reason, uint64_t records);
  void ResolvePending(uint64_t until, std::vector<LogDamage>* damage);
  absl::StatusOr<std::string_view> Fetch(uint64_t offset, uint64_t n, uint64_t limit);
  Outcome Tail(std::string reason, uint64_t records);

  const File* file_;
  const uint64_t segment_;
  const uint64_t max_record_size_;
  uint64_t pos_;
  // The record being assembled from FIRST/MIDDLE chunks.
  bool assembling_ = false;
  uint64_t record_start_ = 0;
  uint8_t record_type_ = 0;
  std::string record_data_;
  // Damage seen but not yet known to end (no valid record after it yet).
  std::optional<LogDamage> pending_;
  LogDamage tail_;
  // A window of the file.
  std::string buffer_;
  uint64_t buffer_start_ = 0;
};

}  // namespace log
}  // namespace sprout::storage
