// Env over POSIX system calls.
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "storage/env.h"

namespace sprout::storage {
namespace {

class PosixFile : public File {
 public:
  PosixFile(std::string path, int fd, uint64_t size) : File(std::move(path)), fd_(fd), end_(size) {}
  ~PosixFile() override { close(fd_); }

  absl::Status Append(std::span<const std::string_view> parts) override {
    // pwritev at our own idea of the end (not O_APPEND): the caller serialises writes, and
    // the offset is then known without asking the kernel.
    std::vector<iovec> iov;
    iov.reserve(std::min<size_t>(parts.size(), IOV_MAX));
    size_t part = 0;
    size_t skip = 0;  // bytes of parts[part] already written
    while (part < parts.size()) {
      iov.clear();
      for (size_t i = part; i < parts.size() && iov.size() < IOV_MAX; ++i) {
        const size_t from = i == part ? skip : 0;
        if (parts[i].size() == from) continue;
        iov.push_back({const_cast<char*>(parts[i].data()) + from, parts[i].size() - from});
      }
      if (iov.empty()) break;
      ssize_t n = pwritev(fd_, iov.data(), static_cast<int>(iov.size()), static_cast<off_t>(end_));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return IoError("write", path(), errno);
      end_ += static_cast<uint64_t>(n);
      // Advance past what was written.
      size_t left = static_cast<size_t>(n);
      while (part < parts.size() && left >= parts[part].size() - skip) {
        left -= parts[part].size() - skip;
        ++part;
        skip = 0;
      }
      skip += left;
    }
    return absl::OkStatus();
  }

  absl::Status WriteAt(uint64_t offset, std::string_view data) override {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n =
          pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        end_ = std::max(end_, offset + done);
        return IoError("write", path(), errno);
      }
      done += static_cast<size_t>(n);
    }
    end_ = std::max(end_, offset + done);
    return absl::OkStatus();
  }

  absl::StatusOr<size_t> ReadAt(uint64_t offset, size_t n, char* out) const override {
    size_t done = 0;
    while (done < n) {
      ssize_t got = pread(fd_, out + done, n - done, static_cast<off_t>(offset + done));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return IoError("read", path(), errno);
      if (got == 0) break;
      done += static_cast<size_t>(got);
    }
    return done;
  }

  absl::Status Truncate(uint64_t size) override {
    if (ftruncate(fd_, static_cast<off_t>(size)) != 0) return IoError("truncate", path(), errno);
    end_ = size;
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    // fdatasync also makes a new file size durable, which is what an append needs.
    if (fdatasync(fd_) != 0) return IoError("sync", path(), errno);
    return absl::OkStatus();
  }

  absl::StatusOr<uint64_t> Size() const override {
    struct stat st;
    if (fstat(fd_, &st) != 0) return IoError("stat", path(), errno);
    return static_cast<uint64_t>(st.st_size);
  }

 private:
  const int fd_;
  uint64_t end_;  // where Append writes
};

class PosixLock : public FileLock {
 public:
  explicit PosixLock(int fd) : fd_(fd) {}
  ~PosixLock() override { close(fd_); }  // closing the description releases the flock

 private:
  int fd_;
};

class PosixEnv : public Env {
 public:
  absl::StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path, OpenMode mode) override {
    int flags = O_CLOEXEC;
    switch (mode) {
      case OpenMode::kRead:
        flags |= O_RDONLY;
        break;
      case OpenMode::kReadWrite:
        flags |= O_RDWR;
        break;
      case OpenMode::kCreate:
        flags |= O_RDWR | O_CREAT;
        break;
      case OpenMode::kCreateExclusive:
        flags |= O_RDWR | O_CREAT | O_EXCL;
        break;
    }
    int fd = open(path.c_str(), flags, 0644);
    if (fd < 0) return IoError(mode == OpenMode::kRead ? "open" : "create", path, errno);
    struct stat st;
    if (fstat(fd, &st) != 0) {
      int err = errno;
      close(fd);
      return IoError("stat", path, err);
    }
    if (S_ISDIR(st.st_mode)) {
      close(fd);
      return IoError("open", path, EISDIR);
    }
    return std::unique_ptr<File>(
        std::make_unique<PosixFile>(path, fd, static_cast<uint64_t>(st.st_size)));
  }

  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir) override {
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) return IoError("list", dir, errno);
    std::vector<std::string> names;
    errno = 0;
    while (dirent* e = readdir(d)) {
      std::string_view name = e->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
    }
    int err = errno;
    closedir(d);
    if (err != 0) return IoError("list", dir, err);
    return names;
  }

  absl::Status CreateDir(const std::string& dir) override {
    if (mkdir(dir.c_str(), 0755) == 0) return absl::OkStatus();
    int err = errno;
    struct stat st;
    if (err == EEXIST && stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      return absl::OkStatus();
    }
    return IoError("create directory", dir, err);
  }

  absl::Status RemoveFile(const std::string& path) override {
    if (unlink(path.c_str()) != 0) return IoError("remove", path, errno);
    return absl::OkStatus();
  }

  absl::Status RemoveDir(const std::string& dir) override {
    if (rmdir(dir.c_str()) != 0) return IoError("remove directory", dir, errno);
    return absl::OkStatus();
  }

  absl::Status Rename(const std::string& from, const std::string& to) override {
    if (rename(from.c_str(), to.c_str()) != 0) {
      return IoError(absl::StrCat("rename to ", to, ":"), from, errno);
    }
    return absl::OkStatus();
  }

  absl::Status SyncDir(const std::string& dir) override {
    int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return IoError("open", dir, errno);
    int rc = fsync(fd);
    int err = errno;
    close(fd);
    if (rc != 0) return IoError("sync", dir, err);
    return absl::OkStatus();
  }

  absl::StatusOr<uint64_t> FileSize(const std::string& path) override {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return IoError("stat", path, errno);
    return static_cast<uint64_t>(st.st_size);
  }

  absl::StatusOr<bool> IsDirectory(const std::string& path) override {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return IoError("stat", path, errno);
    return S_ISDIR(st.st_mode);
  }

  absl::StatusOr<absl::Time> ModificationTime(const std::string& path) override {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return IoError("stat", path, errno);
    return absl::TimeFromTimespec(st.st_mtim);
  }

  absl::Status TruncateFile(const std::string& path, uint64_t size) override {
    if (truncate(path.c_str(), static_cast<off_t>(size)) != 0) {
      return IoError("truncate", path, errno);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return IoError("create", path, errno);
    // flock, not fcntl: its locks belong to the open file description, so a second open in
    // this same process conflicts too (two components configured with one directory).
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      close(fd);
      if (err == EWOULDBLOCK) {
        return absl::FailedPreconditionError(
            absl::StrCat("lock ", path, ": held by another user of this directory"));
      }
      return IoError("lock", path, err);
    }
    return std::unique_ptr<FileLock>(std::make_unique<PosixLock>(fd));
  }
};

}  // namespace

Env* Env::Default() {
  static Env* env = new PosixEnv();
  return env;
}

}  // namespace sprout::storage
