// The traces WAL: one tenant's write-ahead log of ingested spans (docs/format/traces-wal.md),
// built on the shared segment log (src/storage/segment_log.h). The trace store appends each
// ingest request's spans for the tenant before acknowledging it, replays the WAL at start, and
// truncates it after a block flush.
//
// A record (a "batch") is one ingest request's spans for the tenant: serialized OTLP
// `ResourceSpans` messages. Its payload is a record-format version byte followed by those
// messages framed as the repeated field 1 of OTLP's `TracesData` (and of
// `ExportTraceServiceRequest`): the bytes after the version byte parse as either message.
//
// Durability (TracesWalOptions::sync, the segment log's policies):
//  - kEveryAppend ("before ack", the default): Append returns once its batch is durable
//    (fdatasync; concurrent appenders share one write and one sync: group commit).
//  - kInterval: Append returns once written; a thread syncs every `sync_interval`. A machine
//    crash loses at most that long of acknowledged batches; kill -9 loses nothing.
//  - kManual: the caller's Sync().
//
// Recovery: Open cuts a torn tail of the last segment (reported through `on_damage`, never a
// refusal to start). Replay skips damage elsewhere (the rest of the damaged block, reported
// through `on_damage`) and counts records whose framing does not decode (ReplayStats). A
// segment or a record of a newer format version makes Open or Replay fail with
// FailedPrecondition ("... newer format version ...").
//
// Thread-safety: every method may be called from any thread (the segment log serialises
// appends). One TracesWal per directory: a LOCK file (flock) refuses a second open.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/env.h"
#include "storage/log_format.h"
#include "storage/segment_log.h"

namespace sprout::traces::wal {

// The segment-log record type of a batch, and the record-format version this code writes and
// reads.
inline constexpr uint8_t kBatchRecordType = 1;
inline constexpr uint8_t kRecordFormatVersion = 1;

struct TracesWalOptions {
  storage::SyncPolicy sync = storage::SyncPolicy::kEveryAppend;
  absl::Duration sync_interval = absl::Seconds(1);  // kInterval
  uint64_t segment_size = 64 << 20;
  uint64_t max_record_size = 64 << 20;  // Append refuses larger batches (InvalidArgument)
  // Every repair at Open and every damage Replay skips (see storage::LogDamage).
  std::function<void(const storage::LogDamage&)> on_damage;
};

// One replayed batch. The views are valid during the callback only.
struct ReplayedBatch {
  std::vector<std::string_view> resource_spans;  // each a serialized ResourceSpans
  std::string_view traces_data;  // the same, framed as a serialized TracesData
  storage::LogPosition position;  // of the record; position.segment is its segment
};

struct ReplayStats {
  uint64_t batches = 0;          // handed to the callback
  uint64_t resource_spans = 0;   // in those batches
  uint64_t bytes = 0;            // of those batches' TracesData
  uint64_t corrupt_records = 0;  // records whose payload did not decode: skipped
  uint64_t damage_reports = 0;   // on_damage calls since Open (torn tails cut, damage skipped)
};

class TracesWal {
 public:
  // Opens (creating it and its parents when missing) the WAL in `dir`: `dir/LOCK` and the
  // segment files `dir/<20 digits>.log`.
  static absl::StatusOr<std::unique_ptr<TracesWal>> Open(storage::Env* env, std::string dir,
                                                         TracesWalOptions options);
  ~TracesWal();

  // Appends one batch: the serialized ResourceSpans messages of one request (none: refused,
  // InvalidArgument). Returns the position just after its record (its segment is the batch's
  // segment). Durable on return with kEveryAppend.
  absl::StatusOr<storage::LogPosition> Append(std::span<const std::string_view> resource_spans);
  // Makes every appended batch durable (kInterval, kManual; a no-op with kEveryAppend).
  absl::Status Sync();

  // Reads every record from the first segment to the current end, in order, and calls
  // `callback` with each batch that decodes. A callback error stops the walk and is returned.
  // Fails with FailedPrecondition on a record of a newer format version or an unknown type.
  absl::StatusOr<ReplayStats> Replay(
      const std::function<absl::Status(const ReplayedBatch&)>& callback);

  // Starts a new segment and returns its number: every batch appended before the call is in a
  // lower segment. The store calls it when it starts a block, and Truncate(that number) once the
  // block is flushed.
  absl::StatusOr<uint64_t> Rotate();
  // Removes the whole segments numbered below `segment` (never the one being written). Not
  // synced: after a machine crash they may come back and are replayed again (the store must
  // tolerate batches it already flushed) until the next Truncate.
  absl::Status Truncate(uint64_t segment);

  std::vector<uint64_t> segments() const { return log_->segments(); }
  uint64_t size_bytes() const { return log_->size_bytes(); }
  const std::string& dir() const { return dir_; }

 private:
  TracesWal(std::string dir, TracesWalOptions options);

  const std::string dir_;
  const TracesWalOptions options_;
  std::unique_ptr<storage::FileLock> lock_;
  std::unique_ptr<storage::SegmentLog> log_;
  std::shared_ptr<std::atomic<uint64_t>> damage_reports_;
};

// The payload codec (tests and the fuzzer use it directly).
// A record payload for `resource_spans` in one string (Append writes the same bytes as a
// gathered write without copying the messages).
std::string EncodeBatch(std::span<const std::string_view> resource_spans);
// Decodes a payload. InvalidArgument when its framing is broken (corrupt), FailedPrecondition
// for a newer version.
absl::Status DecodeBatch(std::string_view payload, ReplayedBatch* out);

}  // namespace sprout::traces::wal
