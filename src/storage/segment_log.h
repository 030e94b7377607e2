// A write-ahead log in a directory of segment files (format: log_format.h and
// docs/format/segment-log.md): typed records of any size, CRC-32C per chunk, segment rotation,
// group commit, and readers that report what they skip. The remote-write exporter's WAL and the
// stores' WALs are built on it.
//
// Durability (SyncPolicy):
//  - kEveryAppend: Append returns once its records are durable (fdatasync). Appenders that
//    arrive while one is writing are written and synced together by it (group commit): one
//    write and one sync for the group, and each Append still returns only once its own records
//    are durable. Readers see records once they are durable.
//  - kInterval: Append returns once written (page cache); a background thread syncs every
//    `sync_interval`. A machine crash loses at most that long of acknowledged appends; a
//    process crash (kill -9) loses nothing.
//  - kManual: the caller calls Sync() (e.g. once per batch of its own).
//  With kInterval and kManual, readers see records once written.
// A new segment's directory entry is synced before records in it are acknowledged; the
// previous segment is synced before the new one is started, so only the last segment can end
// in an interrupted write.
//
// Recovery (Open): the last segment is scanned; what follows its last complete record (a write
// that a crash interrupted: a torn chunk, zeros, garbage) is cut off and reported through
// `on_damage` (never silently), and the rest is synced (a killed process, or one whose last sync
// failed, may have left it in the page cache only). Damage elsewhere is left in place: readers skip
// it and report it. A segment of a newer format version makes Open fail (a downgrade is not
// supported).
//
// Errors: a failed Append leaves the log usable — the next Append first cuts what the failed
// one may have left (back to the end of the last successful write); records of a failed Append
// may or may not be read later (a group that spanned a rotation). kResourceExhausted means the
// disk is full. After a failed sync the page cache no longer tells what is on disk, so the next
// write cuts back to the last synced size: with kInterval and kManual that removes appends that
// were acknowledged but not yet durable; the cut is reported through `on_damage` (called with
// the writer's lock held: it must not call back into the log), readers stop seeing those
// records, and a reader that had already read past the cut reports damage where the next
// records overwrote them.
//
// Cuts and marks: a Sync() that follows a failed one first makes that cut, then syncs; its
// success says that what is left is durable, not that a given Append's records are (they may
// be what was cut). An appender that must know (its own group commit over kManual, or whether
// acknowledged appends survived) appends with AppendMarked and asks Durable(mark): the mark
// holds where its records end and how many cuts (repairs after a failed sync that removed
// written records) the log had made when they were written. Records are never reported durable
// once a cut removed them: Durable says DataLoss, however many successful syncs follow, and a
// later record written where they were does not make them durable.
//
// Thread-safety: every method may be called from any thread; Appends are serialised (group
// commit); readers run concurrently with appends. One SegmentLog per directory at a time (the
// caller's lock file enforces it across processes).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/env.h"
#include "storage/log_format.h"
#include "storage/log_reader.h"

namespace sprout::storage {

enum class SyncPolicy { kEveryAppend, kInterval, kManual };

struct SegmentLogOptions {
  Env* env = Env::Default();
  std::string directory;
  // A new segment starts when a record would take the current one past this size (a record
  // larger than that gets a segment of its own).
  uint64_t segment_size = 64 << 20;
  SyncPolicy sync = SyncPolicy::kEveryAppend;
  absl::Duration sync_interval = absl::Seconds(1);  // kInterval
  // Append refuses longer records; readers skip (and report) longer ones.
  uint64_t max_record_size = 1 << 30;
  // Called for every repair at Open and for damage a reader skips (from the reader's thread).
  std::function<void(const LogDamage&)> on_damage;
};

class SegmentLog {
 public:
  // A record to append: its type (1-255; 0 is refused) and its data, the concatenation of
  // `parts` (written where they lie, not copied).
  struct RecordRef {
    uint8_t type;
    std::span<const std::string_view> parts;
  };

  class Reader;

  // Names the records of one Append for Durable(): where they end, and cuts() when they were
  // written (after the repair that Append made first, if any).
  struct AppendMark {
    LogPosition end;
    uint64_t cuts = 0;
  };

  static absl::StatusOr<std::unique_ptr<SegmentLog>> Open(SegmentLogOptions options);
  ~SegmentLog();

  // Appends `records` one after another (no other Append's records come between them) and
  // returns the position after the last one.
  absl::StatusOr<LogPosition> Append(std::span<const RecordRef> records);
  absl::StatusOr<LogPosition> Append(uint8_t type, std::string_view data);
  // As Append, returning the mark Durable() takes.
  absl::StatusOr<AppendMark> AppendMarked(std::span<const RecordRef> records);

  // Whether the records `mark` names are durable: OK when a sync made them so (and no cut
  // removed them before); kDataLoss when a cut after a failed sync removed them (they never will
  // be: write them again); kUnavailable when no sync has covered them yet. Never waits for I/O.
  // Cuts are remembered in a bounded history (the last 64): for a mark older than that, a cut
  // is assumed to have removed its records unless a sync had covered them before all of them.
  absl::Status Durable(const AppendMark& mark) const;
  // Cuts so far: repairs after a failed sync that removed written records.
  uint64_t cuts() const;

  // Makes everything appended durable (kManual, kInterval; a no-op with kEveryAppend).
  absl::Status Sync();

  // Starts a new segment numbered at least `at_least` (and above the current one), so that
  // every later record has a position above LogPosition{at_least - 1, anything}.
  absl::Status StartSegment(uint64_t at_least);

  // Deletes the segments numbered below `segment`, oldest first; never the one being written.
  // Not synced: after a machine crash they may come back, and a later call deletes them again.
  absl::Status RemoveSegmentsBefore(uint64_t segment);

  // A reader from `from` (a record position or a record's end), or from the first record when
  // nullopt. It reads up to end() and may be called again when more is appended.
  std::unique_ptr<Reader> NewReader(std::optional<LogPosition> from);

  // The position of the first record (the first segment's first byte after its header).
  LogPosition begin() const;
  // Just after the last record readers may read (durable ones with kEveryAppend).
  LogPosition end() const;
  // Waits until end() is past `after`, Close(), Wake() or `deadline`; true in the first case.
  bool WaitForEnd(LogPosition after, absl::Time deadline);
  // Makes the threads in WaitForEnd return now (a reader being stopped).
  void Wake();
  // The number of threads blocked in WaitForEnd, and of Appends queued or being written (tests
  // wait for these instead of sleeping).
  int waiters() const;
  int appenders() const;

  // Bytes in segment files (headers, chunk headers and trailers included).
  uint64_t size_bytes() const;
  // Segment numbers, ascending.
  std::vector<uint64_t> segments() const;
  std::string SegmentPath(uint64_t segment) const;
  const SegmentLogOptions& options() const { return options_; }

  // Wakes WaitForEnd; later Appends fail with kFailedPrecondition. Idempotent; the destructor
  // calls it.
  void Close();

 private:
  struct PendingAppend;
  struct Writer {
    std::unique_ptr<File> file;
    uint64_t segment = 0;
    uint64_t size = 0;    // bytes written
    uint64_t synced = 0;  // bytes known durable
  };

  explicit SegmentLog(SegmentLogOptions options);
  absl::Status Recover();
  absl::Status StartSegmentLocked(uint64_t number);                         // requires io_mu_
  absl::Status RepairLocked();                                              // requires io_mu_
  absl::Status WriteGroupLocked(const std::vector<PendingAppend*>& group);  // requires io_mu_
  absl::Status SyncLocked();                                                // requires io_mu_
  void Publish();  // end_ and sizes from writer_; requires io_mu_, takes mu_
  void NoteSynced();  // synced_end_ from writer_; requires io_mu_, takes mu_
  absl::StatusOr<AppendMark> AppendGroup(std::span<const RecordRef> records);
  void Report(const LogDamage& damage) const;
  void SyncLoop();

  const SegmentLogOptions options_;

  std::mutex io_mu_;  // held for file I/O of the writer; guards writer_, needs_repair_, sync_failed_
  Writer writer_;
  // A write or sync failed: the next write first cuts the file back to what is trusted — the
  // end of the last successful write after a failed write, the last synced size after a failed
  // sync (sync_failed_).
  bool needs_repair_ = false;
  bool sync_failed_ = false;

  mutable std::mutex mu_;  // guards what follows; never held during file I/O
  std::condition_variable end_cv_;
  std::deque<PendingAppend*> queue_;       // appenders; the front one writes for the group
  std::map<uint64_t, uint64_t> segments_;  // number → size
  LogPosition end_;
  // Durable(): the writer's synced end, and the recent cuts (number, where it cut back to).
  struct Cut {
    uint64_t number;
    LogPosition keep;
  };
  static constexpr size_t kCutHistory = 64;
  LogPosition synced_end_;
  uint64_t cuts_ = 0;
  std::deque<Cut> recent_cuts_;
  int waiters_ = 0;
  uint64_t wakes_ = 0;
  bool closed_ = false;
  std::thread syncer_;  // kInterval
};

// Reads a SegmentLog forward. Damage on the way is reported through on_damage and skipped.
// Thread-safety: one thread at a time.
class SegmentLog::Reader {
 public:
  // The next record before the log's end(), or nullopt when there is none (yet).
  absl::StatusOr<std::optional<LogRecord>> Next();
  // Where the next record is looked for.
  LogPosition position() const { return {segment_, parser_ ? parser_->offset() : offset_}; }

 private:
  friend class SegmentLog;
  Reader(SegmentLog* log, uint64_t segment, uint64_t offset, std::optional<LogDamage> missing);
  absl::Status OpenSegment();

  SegmentLog* log_;
  uint64_t segment_;
  uint64_t offset_;
  std::unique_ptr<File> file_;
  std::unique_ptr<log::SegmentFileReader> parser_;
  std::optional<LogDamage> missing_;   // reported on the first Next()
  std::optional<uint64_t> came_from_;  // the segment finished before this one
};

}  // namespace sprout::storage
