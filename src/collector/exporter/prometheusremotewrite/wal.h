// A write-ahead log of encoded remote-write requests, so that data the exporter accepted
// survives a restart of sprout (the `wal` option of the prometheusremotewrite exporter).
//
// Records are appended to segment files in one directory; a reader takes them in order; the
// exporter commits a record once it has been delivered (or dropped for good); Truncate() deletes
// segments whose records are all committed. After a restart, reading resumes after the last
// committed record, so records that were appended but not committed are sent again (at least
// once). The byte layout and the recovery rules are documented in docs/format/prw-wal.md.
//
// Errors: damage on disk is DataLoss ("wal: corrupt record in <file> at offset N"); failed file
// operations are Internal and name the file; misuse is InvalidArgument or FailedPrecondition.
// A failed Append leaves the log as it was; if it cannot be undone (a failed fsync), every later
// Append fails too, and the next Open() recovers.
//
// Thread-safety: Append() from one writer thread and Next()/Commit() from one reader thread may
// run concurrently; Truncate(), Close() and the accessors may be called from any thread. Only one
// Wal may have a directory open at a time (not checked).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sprout::collector::prwexporter {

struct WalOptions {
  std::string directory;
  int64_t segment_size = 64 << 20;  // a new segment starts when the current one exceeds this
};

struct WalRecord {
  uint64_t index;  // 1, 2, 3, ... in append order, never reused
  std::string data;
};

class Wal {
 public:
  virtual ~Wal() = default;

  // Opens (creating the directory if needed) and recovers: a torn or corrupt tail of the last
  // segment (a crash during append) is cut off; corruption elsewhere is an error naming the file
  // and offset.
  static absl::StatusOr<std::unique_ptr<Wal>> Open(const WalOptions& options);

  // Appends and makes durable (fsync) before returning; returns the record's index. Empty data
  // is refused (InvalidArgument): on disk, a zero length marks damage.
  virtual absl::StatusOr<uint64_t> Append(std::string_view data) = 0;

  // The next record after the last one returned (initially: after the last committed), waiting
  // up to `wait` for one to be appended. nullopt on timeout or after Close().
  virtual absl::StatusOr<std::optional<WalRecord>> Next(absl::Duration wait) = 0;

  // Records up to and including `index` need not be read again after a restart. Durable (the
  // committed file is replaced atomically) before returning. An index at or below the committed
  // one is a no-op; one past last_appended() is InvalidArgument.
  virtual absl::Status Commit(uint64_t index) = 0;

  // Deletes segments all of whose records are committed, except the one being written and those
  // Next() has not finished reading. Still works after Close(), so a shutdown can clean up.
  virtual absl::Status Truncate() = 0;

  // Wakes a waiting Next() (which then returns nullopt, as do later calls); later Append() and
  // Commit() fail with FailedPrecondition. Idempotent; the destructor calls it.
  virtual void Close() = 0;

  virtual uint64_t last_appended() const = 0;
  virtual uint64_t last_committed() const = 0;
};

}  // namespace sprout::collector::prwexporter
