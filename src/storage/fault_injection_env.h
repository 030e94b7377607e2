// An in-memory Env for tests that knows what a crash keeps, and fails on demand.
//
// It models a file system the way env.h's durability contract describes it: every file has its
// current contents and its durable contents (as of its last File::Sync()); every directory has
// its current entries and its durable entries (as of its last SyncDir()). Files are inodes: a
// renamed or removed file keeps its durable contents under the names a crash brings back.
//
//  - SimulateCrash(kDropUnsynced) is a machine crash (power loss): every file reverts to its last
//    synced contents and size, every directory to its last synced entries — files created,
//    renamed or removed since then reappear or vanish accordingly. Only this mode tests an fsync
//    policy: `kill -9` keeps the page cache (kKeepUnsynced).
//  - kTearUnsynced is a machine crash after which each file also keeps a random prefix of what
//    was appended since its last sync, sometimes followed by zeros (a size extended before its
//    data reached the disk).
//  - CrashAfterBytes(n): the write that crosses n more bytes stores only its part below n, and
//    every operation after it fails with kAborted ("simulated crash") until SimulateCrash().
//  - SetCapacity(bytes): a disk of that size; a write that does not fit stores what fits and
//    fails with ENOSPC (kResourceExhausted), as a full file system does.
//  - InjectFault(): a chosen operation fails (optionally after writing part of the data).
//
// Modification times come from the clock set by SetClock (the real one by default); a crash does
// not turn them back (a real file system may keep either).
//
// After SimulateCrash, files opened before it fail with kAborted and locks are released (the
// process that held them is gone). Paths are '/'-separated; relative and absolute paths name the
// same tree ("a/b" is "/a/b"). Thread-safety: everything is safe from any thread (one mutex).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/clock.h"
#include "storage/env.h"

namespace sprout::storage {

class FaultInjectionEnv : public Env {
 public:
  // Operations a fault can target (a bit mask).
  enum Op : uint32_t {
    kOpen = 1 << 0,
    kRead = 1 << 1,
    kWrite = 1 << 2,  // Append, WriteAt
    kSync = 1 << 3,
    kSyncDir = 1 << 4,
    kRename = 1 << 5,
    kRemove = 1 << 6,  // RemoveFile, RemoveDir
    kCreateDir = 1 << 7,
    kTruncate = 1 << 8,
    kList = 1 << 9,
    kLock = 1 << 10,
    kAllOps = (1 << 11) - 1,
  };

  struct Fault {
    uint32_t ops = kAllOps;
    std::string path_contains;  // only operations on paths containing this; "" for any
    int skip = 0;               // matching operations that pass before the fault strikes
    int count = 1;              // matching operations that then fail; -1 for all of them
    absl::Status error = absl::InternalError("injected fault");
    // For writes: how many bytes are stored before the error (a short write); 0 stores none.
    uint64_t short_write = 0;
  };

  enum class CrashMode { kKeepUnsynced, kDropUnsynced, kTearUnsynced };

  struct Stats {
    int64_t file_syncs = 0;
    int64_t dir_syncs = 0;
    int64_t writes = 0;  // Append and WriteAt calls
    int64_t bytes_written = 0;
    int64_t renames = 0;
    int64_t removes = 0;
  };

  FaultInjectionEnv();
  ~FaultInjectionEnv() override;

  void InjectFault(Fault fault);
  void ClearFaults();
  void SetCapacity(std::optional<uint64_t> bytes);
  void CrashAfterBytes(uint64_t bytes);
  // True once CrashAfterBytes struck (and until SimulateCrash).
  bool crashed() const;
  void SimulateCrash(CrashMode mode, uint64_t seed = 1);

  // Runs (on the syncing thread, without the Env's lock) at the start of every File::Sync, so
  // that a test can hold a sync while other threads queue behind it.
  void SetBeforeSync(std::function<void(const std::string& path)> hook);

  // The clock of modification times (not owned; must outlive the Env). Clock::Real() by default.
  void SetClock(const Clock* clock);

  Stats stats() const;
  // Bytes of file data in the current tree.
  uint64_t UsedBytes() const;

  // Env
  absl::StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path, OpenMode mode) override;
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir) override;
  absl::Status CreateDir(const std::string& dir) override;
  absl::Status RemoveFile(const std::string& path) override;
  absl::Status RemoveDir(const std::string& dir) override;
  absl::Status Rename(const std::string& from, const std::string& to) override;
  absl::Status SyncDir(const std::string& dir) override;
  absl::StatusOr<uint64_t> FileSize(const std::string& path) override;
  absl::StatusOr<bool> IsDirectory(const std::string& path) override;
  absl::Status TruncateFile(const std::string& path, uint64_t size) override;
  absl::StatusOr<absl::Time> ModificationTime(const std::string& path) override;
  absl::StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) override;

  struct Node;  // a file or directory (inode)

 private:
  friend class FaultFile;
  friend class FaultLock;

  struct Resolved {
    std::shared_ptr<Node> parent;
    std::string name;
  };
  absl::StatusOr<Resolved> ResolveLocked(std::string_view op, const std::string& path) const;
  std::shared_ptr<Node> LookupLocked(const std::string& path) const;
  // kAborted after CrashAfterBytes struck; the injected error of a matching fault; else OK.
  // `short_write` receives the fault's bytes to store for writes.
  absl::Status CheckLocked(Op op, const std::string& path, uint64_t* short_write = nullptr);
  // Writes `data` at `offset` of `node` within the capacity and crash budgets; the Status says
  // why not all of it was written.
  absl::Status WriteLocked(Node& node, const std::string& path, uint64_t offset,
                           std::string_view data, uint64_t limit);
  void TruncateLocked(Node& node, uint64_t size);
  uint64_t UsedBytesLocked() const;

  mutable std::mutex mu_;
  std::shared_ptr<Node> root_;
  std::vector<Fault> faults_;
  std::optional<uint64_t> capacity_;
  std::optional<uint64_t> crash_budget_;
  bool crashed_ = false;
  uint64_t generation_ = 0;  // bumped by SimulateCrash: older handles are dead
  std::set<std::string> locks_;
  Stats stats_;
  std::function<void(const std::string&)> before_sync_;
  const Clock* clock_ = Clock::Real();
};

}  // namespace sprout::storage
