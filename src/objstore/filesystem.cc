#include "objstore/filesystem.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <set>

#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace sprout::objstore {
namespace {

using storage::Env;
using storage::File;
using storage::OpenMode;

constexpr std::string_view kTemporaryPrefix = ".sprout-tmp-";
constexpr size_t kCopyBufferBytes = 1 << 20;
// Another process may remove an empty directory between our making it and our file appearing
// in it; each retry makes the directory again.
constexpr int kDirectoryAttempts = 3;

std::string TemporaryName() {
  static std::atomic<uint64_t> counter{0};
  return absl::StrCat(AV(kTemporaryPrefix), getpid(), "-", counter++);
}

bool IsReserved(std::string_view name) { return name.starts_with(kReservedSegmentPrefix); }

std::string Op(std::string_view op, std::string_view key) {
  return absl::StrCat(AV(op), " ", AV(key));
}

// Reads [offset, offset + n) of `file`, fewer bytes only at its end.
absl::StatusOr<std::string> ReadSpan(const File& file, uint64_t offset, uint64_t n) {
  std::string data(n, '\0');
  size_t done = 0;
  while (done < data.size()) {
    ASSIGN_OR_RETURN(size_t got,
                     file.ReadAt(offset + done, data.size() - done, data.data() + done));
    if (got == 0) break;
    done += got;
  }
  data.resize(done);
  return data;
}

}  // namespace

absl::StatusOr<std::unique_ptr<FilesystemObjectStore>> FilesystemObjectStore::Open(
    storage::Env* env, std::string root_dir) {
  if (env == nullptr) return absl::InvalidArgumentError("filesystem object store: no Env");
  while (root_dir.size() > 1 && root_dir.back() == '/') root_dir.pop_back();
  if (root_dir.empty()) {
    return absl::InvalidArgumentError("filesystem object store: empty root directory");
  }
  RETURN_IF_ERROR(Annotate(env->CreateDirs(root_dir), "filesystem object store"));
  return std::unique_ptr<FilesystemObjectStore>(
      new FilesystemObjectStore(env, std::move(root_dir)));
}

FilesystemObjectStore::FilesystemObjectStore(storage::Env* env, std::string root)
    : env_(env), root_(std::move(root)) {}

std::string FilesystemObjectStore::Describe() const { return absl::StrCat("filesystem:", root_); }

std::string FilesystemObjectStore::PathOf(std::string_view key) const {
  return storage::JoinPath(root_, key);
}

bool FilesystemObjectStore::AncestorIsFile(std::string_view key) {
  std::string path = root_;
  size_t start = 0;
  for (size_t slash = key.find('/'); slash != std::string_view::npos;
       start = slash + 1, slash = key.find('/', start)) {
    path = storage::JoinPath(path, key.substr(start, slash - start));
    absl::StatusOr<bool> is_dir = env_->IsDirectory(path);
    if (!is_dir.ok()) return false;  // missing (or unknown): not a file
    if (!*is_dir) return true;
  }
  return false;
}

absl::Status FilesystemObjectStore::Classify(std::string_view op, std::string_view key,
                                             const absl::Status& error) {
  const absl::Status not_found = absl::NotFoundError(absl::StrCat(Op(op, key), ": no such object"));
  if (absl::IsNotFound(error)) return not_found;
  // A directory at the key, or a file where one of its directories should be (POSIX says
  // EISDIR and ENOTDIR, which are no codes of their own): there is no such object.
  absl::StatusOr<bool> is_dir = env_->IsDirectory(PathOf(key));
  if ((is_dir.ok() && *is_dir) || absl::IsNotFound(is_dir.status()) || AncestorIsFile(key)) {
    return not_found;
  }
  return Annotate(error, Op(op, key));
}

absl::StatusOr<std::unique_ptr<File>> FilesystemObjectStore::OpenObject(std::string_view op,
                                                                        std::string_view key) {
  RETURN_IF_ERROR(ValidateKey(key));
  absl::StatusOr<std::unique_ptr<File>> file = env_->OpenFile(PathOf(key), OpenMode::kRead);
  if (!file.ok()) return Classify(op, key, file.status());
  return file;
}

absl::StatusOr<std::unique_ptr<File>> FilesystemObjectStore::CreateTemporary(
    std::string_view key, const std::string& dir, std::string* temporary) {
  std::lock_guard<std::mutex> lock(dirs_mu_);
  absl::Status last;
  for (int attempt = 0; attempt < kDirectoryAttempts; ++attempt) {
    absl::Status made = env_->CreateDirs(dir);
    if (!made.ok()) {
      // A file where one of the key's directories should be ("a/b" stored, "a/b/c" put).
      if (absl::IsAlreadyExists(made) || AncestorIsFile(key)) {
        return absl::FailedPreconditionError(absl::StrCat(
            "put ", AV(key), ": an object is stored where the key needs a directory (",
            made.message(), "); the filesystem object store cannot hold a key and keys under it"));
      }
      return Annotate(made, Op("put", key));
    }
    *temporary = storage::JoinPath(dir, TemporaryName());
    absl::StatusOr<std::unique_ptr<File>> file =
        env_->OpenFile(*temporary, OpenMode::kCreateExclusive);
    if (file.ok() || !absl::IsNotFound(file.status())) {
      if (!file.ok()) return Annotate(file.status(), Op("put", key));
      return file;
    }
    last = file.status();
  }
  return Annotate(last, Op("put", key));
}

absl::Status FilesystemObjectStore::PutWith(
    std::string_view key, const std::function<absl::Status(storage::File&)>& write) {
  RETURN_IF_ERROR(ValidateKey(key));
  const std::string path = PathOf(key);
  const std::string dir = storage::ParentDir(path);
  absl::StatusOr<bool> is_dir = env_->IsDirectory(path);
  if (is_dir.ok() && *is_dir) {
    return absl::FailedPreconditionError(
        absl::StrCat("put ", AV(key),
                     ": keys under it exist; the filesystem object store cannot "
                     "hold a key and keys under it"));
  }
  std::string temporary;
  ASSIGN_OR_RETURN(std::unique_ptr<File> file, CreateTemporary(key, dir, &temporary));
  absl::Status status = write(*file);
  if (status.ok()) status = file->Sync();
  file.reset();
  if (status.ok()) status = env_->Rename(temporary, path);
  if (!status.ok()) {
    // Best effort: a crash or a failing disk may keep it, and CleanUp removes it later.
    (void)env_->RemoveFile(temporary);
    return Annotate(status, Op("put", key));
  }
  return Annotate(env_->SyncDir(dir), Op("put", key));
}

absl::Status FilesystemObjectStore::Put(std::string_view key, std::string_view data) {
  return PutWith(key, [&](File& file) { return file.Append(data); });
}

absl::Status FilesystemObjectStore::PutFile(std::string_view key, const std::string& local_path) {
  RETURN_IF_ERROR(ValidateKey(key));
  // Opened first, so that a missing source fails before anything is written.
  absl::StatusOr<std::unique_ptr<File>> source = env_->OpenFile(local_path, OpenMode::kRead);
  if (!source.ok()) return Annotate(source.status(), Op("put", key));
  return PutWith(key, [&](File& file) -> absl::Status {
    std::string buffer(kCopyBufferBytes, '\0');
    uint64_t offset = 0;
    while (true) {
      ASSIGN_OR_RETURN(size_t n, (*source)->ReadAt(offset, buffer.size(), buffer.data()));
      if (n == 0) return absl::OkStatus();
      RETURN_IF_ERROR(file.Append(std::string_view(buffer.data(), n)));
      offset += n;
    }
  });
}

absl::StatusOr<std::string> FilesystemObjectStore::Get(std::string_view key) {
  ASSIGN_OR_RETURN(std::unique_ptr<File> file, OpenObject("get", key));
  absl::StatusOr<uint64_t> size = file->Size();
  if (!size.ok()) return Annotate(size.status(), Op("get", key));
  absl::StatusOr<std::string> data = ReadSpan(*file, 0, *size);
  if (!data.ok()) return Annotate(data.status(), Op("get", key));
  return data;
}

absl::StatusOr<std::string> FilesystemObjectStore::GetRange(std::string_view key, uint64_t offset,
                                                            uint64_t length) {
  ASSIGN_OR_RETURN(std::unique_ptr<File> file, OpenObject("get", key));
  absl::StatusOr<uint64_t> size = file->Size();
  if (!size.ok()) return Annotate(size.status(), Op("get", key));
  if (offset > *size) {
    return absl::OutOfRangeError(
        absl::StrCat("get ", AV(key), ": offset ", offset, " is past the end (size ", *size, ")"));
  }
  absl::StatusOr<std::string> data = ReadSpan(*file, offset, std::min(length, *size - offset));
  if (!data.ok()) return Annotate(data.status(), Op("get", key));
  return data;
}

namespace {

class FileRangeReader final : public RangeReader {
 public:
  FileRangeReader(std::unique_ptr<File> file, uint64_t size, std::string key)
      : file_(std::move(file)), size_(size), key_(std::move(key)) {}
  absl::StatusOr<std::string> Read(uint64_t offset, uint64_t length) override {
    if (offset > size_) {
      return absl::OutOfRangeError(absl::StrCat("get ", AV(key_), ": offset ", offset,
                                                " is past the end (size ", size_, ")"));
    }
    absl::StatusOr<std::string> data = ReadSpan(*file_, offset, std::min(length, size_ - offset));
    if (!data.ok()) return Annotate(data.status(), Op("get", key_));
    return data;
  }

 private:
  const std::unique_ptr<File> file_;  // ReadAt is a pread: safe from many threads
  const uint64_t size_;
  const std::string key_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<RangeReader>> FilesystemObjectStore::OpenRangeReader(
    std::string_view key) {
  ASSIGN_OR_RETURN(std::unique_ptr<File> file, OpenObject("get", key));
  absl::StatusOr<uint64_t> size = file->Size();
  if (!size.ok()) return Annotate(size.status(), Op("get", key));
  return std::make_unique<FileRangeReader>(std::move(file), *size, std::string(key));
}

absl::StatusOr<ObjectAttributes> FilesystemObjectStore::Attributes(std::string_view key) {
  ASSIGN_OR_RETURN(std::unique_ptr<File> file, OpenObject("attributes of", key));
  absl::StatusOr<uint64_t> size = file->Size();
  if (!size.ok()) return Annotate(size.status(), Op("attributes of", key));
  absl::StatusOr<absl::Time> modified = env_->ModificationTime(PathOf(key));
  if (!modified.ok()) return Classify("attributes of", key, modified.status());
  return ObjectAttributes{*size, *modified};
}

absl::StatusOr<bool> FilesystemObjectStore::HoldsObject(const std::string& dir) {
  absl::StatusOr<std::vector<std::string>> names = env_->ListDir(dir);
  if (!names.ok()) {
    if (absl::IsNotFound(names.status())) return false;  // removed meanwhile
    return names.status();
  }
  for (const std::string& name : *names) {
    if (IsReserved(name)) continue;
    const std::string path = storage::JoinPath(dir, name);
    absl::StatusOr<bool> is_dir = env_->IsDirectory(path);
    if (!is_dir.ok()) {
      if (absl::IsNotFound(is_dir.status())) continue;
      return is_dir.status();
    }
    if (!*is_dir) return true;
    ASSIGN_OR_RETURN(bool holds, HoldsObject(path));
    if (holds) return true;
  }
  return false;
}

absl::Status FilesystemObjectStore::ListInto(const std::string& dir, const std::string& key_prefix,
                                             std::string_view name_filter, bool delimited,
                                             ListResult* result) {
  absl::StatusOr<std::vector<std::string>> names = env_->ListDir(dir);
  if (!names.ok()) {
    if (absl::IsNotFound(names.status())) return absl::OkStatus();  // removed meanwhile
    return names.status();
  }
  for (const std::string& name : *names) {
    if (IsReserved(name) || !std::string_view(name).starts_with(name_filter)) continue;
    const std::string path = storage::JoinPath(dir, name);
    absl::StatusOr<bool> is_dir = env_->IsDirectory(path);
    if (!is_dir.ok()) {
      if (absl::IsNotFound(is_dir.status())) continue;
      return is_dir.status();
    }
    const std::string key = absl::StrCat(key_prefix, name);
    if (!*is_dir) {
      result->keys.push_back(key);
    } else if (!delimited) {
      RETURN_IF_ERROR(ListInto(path, absl::StrCat(key, "/"), "", false, result));
    } else {
      // S3 has no directories, only keys: a directory without objects is no common prefix.
      ASSIGN_OR_RETURN(bool holds, HoldsObject(path));
      if (holds) result->prefixes.push_back(absl::StrCat(key, "/"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ListResult> FilesystemObjectStore::List(std::string_view prefix,
                                                       const ListOptions& options) {
  RETURN_IF_ERROR(ValidatePrefix(prefix));
  // "tenant/01H" lists the directory "tenant/" for names starting with "01H".
  const size_t slash = prefix.rfind('/');
  const std::string key_prefix(slash == std::string_view::npos ? "" : prefix.substr(0, slash + 1));
  const std::string_view name_filter =
      slash == std::string_view::npos ? prefix : prefix.substr(slash + 1);
  const std::string dir = key_prefix.empty() ? root_ : PathOf(key_prefix.substr(0, slash));
  ListResult result;
  absl::StatusOr<bool> is_dir = env_->IsDirectory(dir);
  if (!is_dir.ok()) {
    // Nothing is under a directory that does not exist, or that a file stands in the way of.
    if (!key_prefix.empty() &&
        absl::IsNotFound(Classify("list", key_prefix.substr(0, slash), is_dir.status()))) {
      return result;
    }
    return Annotate(is_dir.status(), absl::StrCat("list ", AV(prefix)));
  }
  if (!*is_dir) return result;
  absl::Status listed = ListInto(dir, key_prefix, name_filter, options.delimited, &result);
  if (!listed.ok()) return Annotate(listed, absl::StrCat("list ", AV(prefix)));
  // Directory order is no order, and a depth-first walk is not bytewise order either
  // ("a.b" sorts before "a/b").
  std::sort(result.keys.begin(), result.keys.end());
  std::sort(result.prefixes.begin(), result.prefixes.end());
  return result;
}

std::string FilesystemObjectStore::RemoveEmptyDirs(std::string dir) {
  std::lock_guard<std::mutex> lock(dirs_mu_);
  while (dir != root_ && dir.size() > root_.size()) {
    if (!env_->RemoveDir(dir).ok()) break;  // not empty (or gone): it stays as it is
    dir = storage::ParentDir(dir);
  }
  return dir;
}

absl::Status FilesystemObjectStore::Delete(std::string_view key) {
  RETURN_IF_ERROR(ValidateKey(key));
  const std::string path = PathOf(key);
  absl::Status removed = env_->RemoveFile(path);
  if (!removed.ok()) {
    absl::Status why = Classify("delete", key, removed);
    if (absl::IsNotFound(why)) return absl::OkStatus();  // as S3: nothing to delete is fine
    return why;
  }
  const std::string changed = RemoveEmptyDirs(storage::ParentDir(path));
  return Annotate(env_->SyncDir(changed), Op("delete", key));
}

absl::Status FilesystemObjectStore::DeletePrefix(std::string_view prefix) {
  RETURN_IF_ERROR(ValidatePrefix(prefix));
  if (prefix.empty()) {
    return absl::InvalidArgumentError("delete prefix: an empty prefix would delete every object");
  }
  ASSIGN_OR_RETURN(ListResult listed, List(prefix, ListOptions{}));
  const std::string op = absl::StrCat("delete prefix ", AV(prefix));
  std::set<std::string, std::greater<>> dirs;  // deepest (longest) first
  for (const std::string& key : listed.keys) {
    const std::string path = PathOf(key);
    absl::Status removed = env_->RemoveFile(path);
    if (!removed.ok()) {
      absl::Status why = Classify("delete", key, removed);
      if (!absl::IsNotFound(why)) return Annotate(why, op);
    }
    dirs.insert(storage::ParentDir(path));
  }
  std::set<std::string> changed;
  for (const std::string& dir : dirs) changed.insert(RemoveEmptyDirs(dir));
  for (const std::string& dir : changed) {
    // A directory removed after another listed it as changed is fine: its parent is synced too.
    absl::Status synced = env_->SyncDir(dir);
    if (!synced.ok() && !absl::IsNotFound(synced)) return Annotate(synced, op);
  }
  return absl::OkStatus();
}

absl::Status FilesystemObjectStore::CleanUpDir(const std::string& dir, absl::Time modified_before,
                                               CleanUpResult* result, bool* empty) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, env_->ListDir(dir));
  size_t removed = 0;
  bool changed = false;
  for (const std::string& name : names) {
    const std::string path = storage::JoinPath(dir, name);
    absl::StatusOr<bool> is_dir = env_->IsDirectory(path);
    if (!is_dir.ok()) {
      if (!absl::IsNotFound(is_dir.status())) return is_dir.status();
      ++removed;  // gone meanwhile
      continue;
    }
    if (*is_dir) {
      bool child_empty = false;
      RETURN_IF_ERROR(CleanUpDir(path, modified_before, result, &child_empty));
      if (!child_empty) continue;
      std::lock_guard<std::mutex> lock(dirs_mu_);
      // Fails when a Put (of another process) has just put a file there: then it stays.
      if (env_->RemoveDir(path).ok()) {
        ++removed;
        changed = true;
        ++result->directories;
      }
      continue;
    }
    if (!std::string_view(name).starts_with(kTemporaryPrefix)) continue;
    absl::StatusOr<absl::Time> modified = env_->ModificationTime(path);
    if (!modified.ok()) {
      if (!absl::IsNotFound(modified.status())) return modified.status();
      ++removed;  // its Put finished (renamed it) or failed (removed it) meanwhile
      continue;
    }
    if (*modified >= modified_before) continue;
    absl::Status gone = env_->RemoveFile(path);
    if (!gone.ok() && !absl::IsNotFound(gone)) return gone;
    ++removed;
    changed = true;
    ++result->temporary_files;
  }
  *empty = removed == names.size();
  if (changed) RETURN_IF_ERROR(env_->SyncDir(dir));
  return absl::OkStatus();
}

absl::StatusOr<FilesystemObjectStore::CleanUpResult> FilesystemObjectStore::CleanUp(
    absl::Time modified_before) {
  CleanUpResult result;
  bool empty = false;
  RETURN_IF_ERROR(Annotate(CleanUpDir(root_, modified_before, &result, &empty),
                           absl::StrCat("clean up ", root_)));
  return result;
}

}  // namespace sprout::objstore
