#include "storage/env.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace sprout::storage {

std::string JoinPath(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  if (dir.back() == '/') return absl::StrCat(AV(dir), AV(name));
  return absl::StrCat(AV(dir), "/", AV(name));
}

std::string ParentDir(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

absl::Status IoError(std::string_view op, std::string_view path, int err) {
  const std::string message = absl::StrCat(AV(op), " ", AV(path), ": ", std::strerror(err));
  switch (err) {
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(message);
    case ENOENT:
      return absl::NotFoundError(message);
    case EEXIST:
      return absl::AlreadyExistsError(message);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(message);
    case EWOULDBLOCK:
      return absl::FailedPreconditionError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::Status Env::CreateDirs(const std::string& dir) {
  absl::StatusOr<bool> is_dir = IsDirectory(dir);
  if (is_dir.ok()) {
    if (*is_dir) return absl::OkStatus();
    return absl::AlreadyExistsError(absl::StrCat("create directory ", dir, ": not a directory"));
  }
  if (!absl::IsNotFound(is_dir.status())) return is_dir.status();
  const std::string parent = ParentDir(dir);
  if (parent != dir) RETURN_IF_ERROR(CreateDirs(parent));
  RETURN_IF_ERROR(CreateDir(dir));
  return SyncDir(parent);
}

absl::StatusOr<absl::Time> Env::ModificationTime(const std::string& path) {
  return absl::UnimplementedError(absl::StrCat("modification time of ", path, ": not supported"));
}

absl::StatusOr<bool> Env::Exists(const std::string& path) {
  absl::StatusOr<bool> is_dir = IsDirectory(path);
  if (is_dir.ok()) return true;
  if (absl::IsNotFound(is_dir.status())) return false;
  return is_dir.status();
}

absl::StatusOr<std::string> Env::ReadFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<File> file, OpenFile(path, OpenMode::kRead));
  ASSIGN_OR_RETURN(uint64_t size, file->Size());
  std::string data(size, '\0');
  size_t done = 0;
  while (done < data.size()) {
    ASSIGN_OR_RETURN(size_t n, file->ReadAt(done, data.size() - done, data.data() + done));
    if (n == 0) break;
    done += n;
  }
  data.resize(done);
  return data;
}

}  // namespace sprout::storage
