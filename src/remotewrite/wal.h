// The remote-write write-ahead log, shared by the prometheusremotewrite exporter (`wal`) and the
// traces metrics-generator (`metrics_generator.storage.path`): encoded remote-write requests made
// durable before a batch is acknowledged, so that what was accepted survives a restart and a
// machine crash. It is a segment log (src/storage/segment_log.h) plus a
// commit cursor; docs/format/prw-wal.md documents the directory byte by byte.
//
//  - Append() writes the requests of one batch as records (each tagged with the shard of its
//    series, see WalSender) and returns once they are durable: one fdatasync per group of
//    concurrent appends. With `max_size` set, an Append that would take the segments past it is
//    refused with kUnavailable (the caller's clients retry) after trying to free delivered
//    segments; nothing already accepted is ever dropped to make room.
//  - Readers start at the commit cursor. SetDelivered() records (in memory) that everything
//    before a position was delivered; Commit() makes that durable (one write + fdatasync of the
//    two-slot `cursor` file) and deletes the segments wholly before it. The cursor may lag:
//    after a crash, what was delivered since the last Commit is sent again (at least once).
//  - Open() recovers the log (an interrupted append's tail is cut), reads the cursor, and
//    migrates a directory written by the previous format (abf41e2: `*.seg` + `committed`): its
//    undelivered records are appended as kMigratedRecord records, then its files are deleted. An
//    interrupted migration is resumed without duplicating records.
//  - Everything cut or skipped (a torn tail, a damaged chunk, a damaged cursor, an unreadable
//    old segment) goes to `on_damage`: nothing is dropped silently.
//
// Errors: a full disk is kResourceExhausted; the size bound kUnavailable; a request too large
// for a record kInvalidArgument; other I/O failures keep their Env codes and name the file. A
// second Open of a directory in use fails with kFailedPrecondition (a lock file).
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/env.h"
#include "storage/segment_log.h"

namespace sprout::remotewrite {

// Segment-log record types of the WAL (docs/format/prw-wal.md).
constexpr uint8_t kRequestRecord = 1;   // one shard's remote-write request
constexpr uint8_t kMigratedRecord = 2;  // a request carried over from the previous format

struct WalOptions {
  storage::Env* env = storage::Env::Default();
  std::string directory;
  // Bytes of segment files (headers included) beyond which Append refuses; 0: no bound.
  uint64_t max_size = 0;
  // 0: 64 MiB, or an eighth of max_size when that is smaller (but at least 64 KiB), so that the
  // segment being written, which cannot be deleted, holds a small part of the bound.
  uint64_t segment_size = 0;
  std::function<void(const storage::LogDamage&)> on_damage;
};

// A request to append: its body (a snappy-compressed WriteRequest) and the shard of its series.
struct WalRequest {
  uint16_t shard = 0;
  uint16_t shards = 1;
  std::string_view body;
};

// A request read back.
struct WalEntry {
  uint16_t shard = 0;
  uint16_t shards = 1;
  std::optional<absl::Time> appended;  // unknown for migrated records
  std::string record;                  // the whole record; body() is its tail
  size_t body_offset = 0;
  storage::LogPosition position;
  storage::LogPosition end;
  bool migrated = false;

  std::string_view body() const { return std::string_view(record).substr(body_offset); }
};

class Wal {
 public:
  class Reader;

  static absl::StatusOr<std::unique_ptr<Wal>> Open(const WalOptions& options);
  ~Wal();

  // Appends one batch's requests durably; see the file comment for the errors.
  absl::Status Append(std::span<const WalRequest> requests, absl::Time now);

  // A reader from the commit cursor (the first record not known to be delivered).
  std::unique_ptr<Reader> NewReader();

  // Everything before `position` (a record's end) was delivered. Positions only move forward.
  void SetDelivered(storage::LogPosition position);
  // Makes the delivered position durable if it moved, then deletes the segments before it (when
  // `truncate`). One write and one fdatasync of the cursor file, none when nothing moved.
  absl::Status Commit(bool truncate = true);

  storage::LogPosition delivered() const;
  storage::LogPosition committed() const;
  // Just after the last durable record.
  storage::LogPosition end() const { return log_->end(); }
  // Waits until a record past `after` is durable, Wake(), Close() or `deadline`.
  bool WaitForAppend(storage::LogPosition after, absl::Time deadline) {
    return log_->WaitForEnd(after, deadline);
  }
  void Wake() { log_->Wake(); }
  int waiters() const { return log_->waiters(); }

  uint64_t size_bytes() const { return log_->size_bytes(); }
  uint64_t max_size() const { return options_.max_size; }
  const std::string& directory() const { return options_.directory; }

  // Later Appends fail with kFailedPrecondition; waiters wake. Idempotent.
  void Close() { log_->Close(); }

 private:
  explicit Wal(const WalOptions& options) : options_(options) {}
  absl::Status Recover();
  absl::Status ReadCursor();
  absl::Status Migrate();
  absl::Status WriteCursorLocked(storage::LogPosition position);  // requires commit_mu_
  void Report(const storage::LogDamage& damage) const {
    if (options_.on_damage) options_.on_damage(damage);
  }

  WalOptions options_;
  std::unique_ptr<storage::FileLock> lock_;
  std::unique_ptr<storage::SegmentLog> log_;

  std::mutex commit_mu_;  // serialises Commit; guards cursor_file_ and cursor_sequence_
  std::unique_ptr<storage::File> cursor_file_;
  uint64_t cursor_sequence_ = 0;

  mutable std::mutex mu_;  // guards what follows
  storage::LogPosition delivered_;
  storage::LogPosition committed_;
  uint64_t reserved_ = 0;  // bytes of appends between their bound check and their write
};

// Reads WAL entries in log order; damage is skipped and reported through `on_damage`; records
// of unknown types are skipped and reported too. Thread-safety: one thread at a time.
class Wal::Reader {
 public:
  // The next entry, or nullopt when there is none yet.
  absl::StatusOr<std::optional<WalEntry>> Next();
  storage::LogPosition position() const { return reader_->position(); }

 private:
  friend class Wal;
  Reader(const Wal* wal, std::unique_ptr<storage::SegmentLog::Reader> reader)
      : wal_(wal), reader_(std::move(reader)) {}
  const Wal* wal_;
  std::unique_ptr<storage::SegmentLog::Reader> reader_;
};

}  // namespace sprout::remotewrite
