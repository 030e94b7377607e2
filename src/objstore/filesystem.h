// FilesystemObjectStore: the ObjectStore contract on a local directory, through storage::Env (so
// that tests run it on FaultInjectionEnv and crash it).
//
// Layout: the object "a/b/c" is the file <root>/a/b/c; its "directories" are real directories,
// made when a Put needs them and removed when a Delete leaves them empty.
//
// How a Put is made atomic and durable: the data goes to a temporary file in the object's own
// directory (".sprout-tmp-<pid>-<n>", a reserved name no key can take), the file is synced, renamed
// over the key, and the directory is synced; directories the Put creates are synced into their
// parents first (Env::CreateDirs). A crash at any point leaves the old object or the new one, never
// a part of either; it may leave the temporary file behind. List, Get and Attributes never show
// temporary files; CleanUp() removes those older than a cut-off, and empty directories.
//
// Deletes are durable too: Delete syncs the directory it removed the file from (or, when that
// directory became empty and was removed, the first directory that remains).
//
// Limits of a file system, which S3 and MemoryObjectStore do not have: "a/b" and "a/b/c" cannot
// both exist (the second Put is kFailedPrecondition). Directories that exist when the store opens
// are taken as durable. Symbolic links under the root are followed as any file; the store never
// makes one, and keys (ValidateKey: no "..", no leading '/') never name a path outside the root.
//
// Thread-safety: every method from any thread. Directory creation and removal in this process
// are serialised by one mutex (so a Delete never removes the directory a Put is about to fill);
// another process on the same root racing a Put's directory is met by retrying.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "objstore/object_store.h"
#include "storage/env.h"

namespace sprout::objstore {

class FilesystemObjectStore : public ObjectStore {
 public:
  // A store whose objects live under `root_dir`, created with its parents (durably) when
  // missing. `env` (not owned) must outlive the store.
  static absl::StatusOr<std::unique_ptr<FilesystemObjectStore>> Open(storage::Env* env,
                                                                     std::string root_dir);

  absl::Status Put(std::string_view key, std::string_view data) override;
  absl::Status PutFile(std::string_view key, const std::string& local_path) override;
  absl::StatusOr<std::string> Get(std::string_view key) override;
  absl::StatusOr<std::string> GetRange(std::string_view key, uint64_t offset,
                                       uint64_t length) override;
  absl::StatusOr<ObjectAttributes> Attributes(std::string_view key) override;
  absl::StatusOr<ListResult> List(std::string_view prefix,
                                  const ListOptions& options = {}) override;
  absl::Status Delete(std::string_view key) override;
  absl::Status DeletePrefix(std::string_view prefix) override;
  std::string Describe() const override;
  // The file opened once; reads are preads of it (see ObjectStore).
  absl::StatusOr<std::unique_ptr<RangeReader>> OpenRangeReader(std::string_view key) override;

  struct CleanUpResult {
    int temporary_files = 0;  // removed
    int directories = 0;      // empty ones removed
  };
  // Removes the temporary files of Puts that never finished (a crash, a failed write) last
  // modified before `modified_before`, then every empty directory under the root. Pass a cut-off
  // older than any Put in flight (on this root, from any process) can be, e.g. an hour ago; after
  // a restart with no other writer, absl::InfiniteFuture() removes them all.
  absl::StatusOr<CleanUpResult> CleanUp(absl::Time modified_before);

  const std::string& root() const { return root_; }

 private:
  FilesystemObjectStore(storage::Env* env, std::string root);

  std::string PathOf(std::string_view key) const;
  // Writes a new temporary file with `write`, then makes it the object `key` (the Put protocol
  // described above).
  absl::Status PutWith(std::string_view key,
                       const std::function<absl::Status(storage::File&)>& write);
  // Makes the directory of a new object and its temporary file there, with the directory lock.
  absl::StatusOr<std::unique_ptr<storage::File>> CreateTemporary(std::string_view key,
                                                                 const std::string& dir,
                                                                 std::string* temporary);
  // Why an operation on `key` failed with `error`: kNotFound when the key names no object (a
  // missing file, a directory, or a file where a directory of the key should be), else `error`.
  absl::Status Classify(std::string_view op, std::string_view key, const absl::Status& error);
  // True when a directory of `key` ("a/b" of "a/b/c") is a file.
  bool AncestorIsFile(std::string_view key);
  // Opens the object for reading, or kNotFound.
  absl::StatusOr<std::unique_ptr<storage::File>> OpenObject(std::string_view op,
                                                            std::string_view key);
  // Removes `dir` and its ancestors below the root while they are empty; returns the first
  // directory that remains (the one whose entries changed). Takes the directory lock.
  std::string RemoveEmptyDirs(std::string dir);
  absl::Status ListInto(const std::string& dir, const std::string& key_prefix,
                        std::string_view name_filter, bool delimited, ListResult* result);
  absl::StatusOr<bool> HoldsObject(const std::string& dir);
  absl::Status CleanUpDir(const std::string& dir, absl::Time modified_before, CleanUpResult* result,
                          bool* empty);

  storage::Env* const env_;
  const std::string root_;
  std::mutex dirs_mu_;
};

}  // namespace sprout::objstore
