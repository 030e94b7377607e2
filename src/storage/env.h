// The file-system seam of every on-disk structure (the stores' WALs and blocks, the
// remote-write exporter's WAL): files, directories, durability and locks behind one interface,
// so that tests can swap in FaultInjectionEnv (fault_injection_env.h), which fails operations on
// demand and simulates a machine crash that loses everything not yet synced.
//
// Durability contract (what callers may rely on, and what FaultInjectionEnv enforces):
//  - File::Sync() makes the file's contents and size durable; nothing else does.
//  - A directory entry (a file created, renamed or removed; a subdirectory made) is durable only
//    after SyncDir() of the directory that holds it. Syncing a file does not make its name
//    durable, and syncing a directory does not make its files' contents durable.
//  - Rename() atomically replaces the target: after a crash the target is the old or the new
//    file, never a mix (which one depends on whether the directory was synced).
//
// Errors: absl::Status naming the operation and the path ("write /wal/0001.log: No space left
// on device"). The code tells the caller what it can do: kResourceExhausted for a full disk or
// quota (ENOSPC, EDQUOT: retry once space is freed), kNotFound (ENOENT), kAlreadyExists (EEXIST),
// kPermissionDenied (EACCES, EPERM, EROFS), kFailedPrecondition for a lock held elsewhere, and
// kInternal for the rest (EIO...). After a failed write, a prefix of the data may have been
// written; after a failed Sync, what the file holds on disk is unknown.
//
// Thread-safety: Env methods are safe from any thread. One File may be read (ReadAt, Size) from
// several threads while one other thread writes it; writes and Sync of one File must be
// serialised by the caller.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sprout::storage {

enum class OpenMode {
  kRead,            // existing file, read only
  kReadWrite,       // existing file
  kCreate,          // created when missing (the new entry is not durable before SyncDir)
  kCreateExclusive  // created; kAlreadyExists when the file exists
};

class File {
 public:
  virtual ~File() = default;

  // Writes the concatenation of `parts` at the end of the file (gathered: no copy is made). On
  // error a prefix of the data may be in the file; Size() tells.
  virtual absl::Status Append(std::span<const std::string_view> parts) = 0;
  absl::Status Append(std::string_view data) { return Append(std::span(&data, 1)); }

  // Writes `data` at `offset`, extending the file when it reaches past the end.
  virtual absl::Status WriteAt(uint64_t offset, std::string_view data) = 0;

  // Reads up to `n` bytes at `offset` into `out`; fewer only at the end of the file.
  virtual absl::StatusOr<size_t> ReadAt(uint64_t offset, size_t n, char* out) const = 0;

  virtual absl::Status Truncate(uint64_t size) = 0;

  // Makes the contents and the size durable (fdatasync).
  virtual absl::Status Sync() = 0;

  virtual absl::StatusOr<uint64_t> Size() const = 0;

  const std::string& path() const { return path_; }

 protected:
  explicit File(std::string path) : path_(std::move(path)) {}

 private:
  std::string path_;
};

// Held while the object lives; releasing it (destruction) unlocks. A process that dies releases
// its locks too (flock).
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class Env {
 public:
  virtual ~Env() = default;

  // The POSIX file system. Never deleted.
  static Env* Default();

  virtual absl::StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path,
                                                         OpenMode mode) = 0;

  // Names in `dir` (not "." and ".."), in no particular order.
  virtual absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir) = 0;

  // Makes one directory; OK when it exists already as a directory.
  virtual absl::Status CreateDir(const std::string& dir) = 0;
  virtual absl::Status RemoveFile(const std::string& path) = 0;
  virtual absl::Status RemoveDir(const std::string& dir) = 0;
  // Atomically replaces `to` (a file) with `from`.
  virtual absl::Status Rename(const std::string& from, const std::string& to) = 0;
  // Makes the entries of `dir` (creates, renames, removes) durable.
  virtual absl::Status SyncDir(const std::string& dir) = 0;

  virtual absl::StatusOr<uint64_t> FileSize(const std::string& path) = 0;
  // kNotFound when `path` does not exist; other errors as they come.
  virtual absl::StatusOr<bool> IsDirectory(const std::string& path) = 0;
  virtual absl::Status TruncateFile(const std::string& path, uint64_t size) = 0;
  // When the file's contents last changed (POSIX st_mtim), for the object store's
  // last-modified attribute and the age of leftover temporary files. kNotFound when missing.
  // Not pure virtual, so that test Envs need not provide it: the default is kUnimplemented.
  virtual absl::StatusOr<absl::Time> ModificationTime(const std::string& path);

  // An exclusive lock on `path` (created if missing), held by at most one holder at a time, in
  // this process or any other. kFailedPrecondition when someone else holds it.
  virtual absl::StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) = 0;

  // Helpers over the primitives above.

  // Makes `dir` and its missing parents; each new directory's entry is made durable (SyncDir of
  // its parent), so a crash cannot lose a directory that later holds durable files.
  absl::Status CreateDirs(const std::string& dir);
  // OK(true/false) for a file or directory that exists or not.
  absl::StatusOr<bool> Exists(const std::string& path);
  // The whole file.
  absl::StatusOr<std::string> ReadFile(const std::string& path);
};

// "a/b" joined with "c" → "a/b/c"; the parent of "a/b/c" is "a/b" ("." for "c", "/" for "/c").
std::string JoinPath(std::string_view dir, std::string_view name);
std::string ParentDir(std::string_view path);

// The Status for a failed system call: "<op> <path>: <strerror>", with the code listed above.
absl::Status IoError(std::string_view op, std::string_view path, int err);

}  // namespace sprout::storage
