#include "storage/fault_injection_env.h"

#include <algorithm>
#include <cerrno>
#include <functional>
#include <map>
#include <random>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/status.h"

namespace sprout::storage {

struct FaultInjectionEnv::Node {
  bool dir = false;
  // A file: its current contents; the size at its last sync; and the durable bytes that writes
  // and truncations since then replaced, oldest first (undone newest first at a crash).
  std::string data;
  uint64_t durable_size = 0;
  std::vector<std::pair<uint64_t, std::string>> undo;
  absl::Time modified;  // of the contents (creation, writes, truncation)
  // A directory: its current and its durable entries.
  std::map<std::string, std::shared_ptr<Node>> entries;
  std::map<std::string, std::shared_ptr<Node>> durable_entries;

  // Keeps the durable bytes in [from, to) before they are changed.
  void SaveDurable(uint64_t from, uint64_t to) {
    to = std::min<uint64_t>({to, durable_size, data.size()});
    if (from >= to) return;
    undo.emplace_back(from, data.substr(from, to - from));
  }
};

namespace {

using Node = FaultInjectionEnv::Node;

// The components of a path: "/a//b/./c" → a, b, c.
std::vector<std::string> Components(const std::string& path) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    if (part == ".") continue;
    if (part == "..") {
      if (!out.empty()) out.pop_back();
      continue;
    }
    out.emplace_back(part);
  }
  return out;
}

std::string Normalize(const std::string& path) {
  std::string out;
  for (const std::string& c : Components(path)) absl::StrAppend(&out, "/", c);
  return out.empty() ? "/" : out;
}

absl::Status Crashed(std::string_view op, const std::string& path) {
  return absl::AbortedError(absl::StrCat(AV(op), " ", path, ": simulated crash"));
}

}  // namespace

class FaultFile : public File {
 public:
  FaultFile(FaultInjectionEnv* env, std::string path, std::shared_ptr<Node> node,
            uint64_t generation, bool writable)
      : File(std::move(path)),
        env_(env),
        node_(std::move(node)),
        generation_(generation),
        writable_(writable) {}

  absl::Status Append(std::span<const std::string_view> parts) override {
    std::string data;
    for (std::string_view p : parts) data.append(p);
    std::lock_guard<std::mutex> lock(env_->mu_);
    RETURN_IF_ERROR(Usable("write"));
    uint64_t short_write = 0;
    absl::Status fault = env_->CheckLocked(FaultInjectionEnv::kWrite, path(), &short_write);
    const uint64_t offset = node_->data.size();
    if (!fault.ok()) {
      (void)env_->WriteLocked(*node_, path(), offset, data,
                              std::min<uint64_t>(short_write, data.size()));
      return fault;
    }
    return env_->WriteLocked(*node_, path(), offset, data, data.size());
  }

  absl::Status WriteAt(uint64_t offset, std::string_view data) override {
    std::lock_guard<std::mutex> lock(env_->mu_);
    RETURN_IF_ERROR(Usable("write"));
    uint64_t short_write = 0;
    absl::Status fault = env_->CheckLocked(FaultInjectionEnv::kWrite, path(), &short_write);
    if (!fault.ok()) {
      (void)env_->WriteLocked(*node_, path(), offset, data,
                              std::min<uint64_t>(short_write, data.size()));
      return fault;
    }
    return env_->WriteLocked(*node_, path(), offset, data, data.size());
  }

  absl::StatusOr<size_t> ReadAt(uint64_t offset, size_t n, char* out) const override {
    std::lock_guard<std::mutex> lock(env_->mu_);
    RETURN_IF_ERROR(Usable("read"));
    RETURN_IF_ERROR(env_->CheckLocked(FaultInjectionEnv::kRead, path()));
    if (offset >= node_->data.size()) return 0;
    const size_t got = std::min<size_t>(n, node_->data.size() - offset);
    std::copy_n(node_->data.data() + offset, got, out);
    return got;
  }

  absl::Status Truncate(uint64_t size) override {
    std::lock_guard<std::mutex> lock(env_->mu_);
    RETURN_IF_ERROR(Usable("truncate"));
    RETURN_IF_ERROR(env_->CheckLocked(FaultInjectionEnv::kTruncate, path()));
    env_->TruncateLocked(*node_, size);
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    std::function<void(const std::string&)> hook;
    {
      std::lock_guard<std::mutex> lock(env_->mu_);
      hook = env_->before_sync_;
    }
    if (hook) hook(path());
    std::lock_guard<std::mutex> lock(env_->mu_);
    RETURN_IF_ERROR(Usable("sync"));
    RETURN_IF_ERROR(env_->CheckLocked(FaultInjectionEnv::kSync, path()));
    node_->durable_size = node_->data.size();
    node_->undo.clear();
    ++env_->stats_.file_syncs;
    return absl::OkStatus();
  }

  absl::StatusOr<uint64_t> Size() const override {
    std::lock_guard<std::mutex> lock(env_->mu_);
    RETURN_IF_ERROR(Usable("stat"));
    return node_->data.size();
  }

 private:
  absl::Status Usable(std::string_view op) const {
    if (generation_ != env_->generation_) {
      return absl::AbortedError(
          absl::StrCat(AV(op), " ", path(), ": file opened before a simulated crash"));
    }
    if (!writable_ && op != "read" && op != "stat") {
      return IoError(op, path(), EBADF);
    }
    return absl::OkStatus();
  }

  FaultInjectionEnv* env_;
  std::shared_ptr<Node> node_;
  const uint64_t generation_;
  const bool writable_;
};

class FaultLock : public FileLock {
 public:
  FaultLock(FaultInjectionEnv* env, std::string path, uint64_t generation)
      : env_(env), path_(std::move(path)), generation_(generation) {}
  ~FaultLock() override {
    std::lock_guard<std::mutex> lock(env_->mu_);
    if (generation_ == env_->generation_) env_->locks_.erase(path_);
  }

 private:
  FaultInjectionEnv* env_;
  std::string path_;
  uint64_t generation_;
};

FaultInjectionEnv::FaultInjectionEnv() : root_(std::make_shared<Node>()) { root_->dir = true; }
FaultInjectionEnv::~FaultInjectionEnv() = default;

void FaultInjectionEnv::InjectFault(Fault fault) {
  std::lock_guard<std::mutex> lock(mu_);
  faults_.push_back(std::move(fault));
}

void FaultInjectionEnv::SetBeforeSync(std::function<void(const std::string& path)> hook) {
  std::lock_guard<std::mutex> lock(mu_);
  before_sync_ = std::move(hook);
}

void FaultInjectionEnv::SetClock(const Clock* clock) {
  std::lock_guard<std::mutex> lock(mu_);
  clock_ = clock;
}

void FaultInjectionEnv::ClearFaults() {
  std::lock_guard<std::mutex> lock(mu_);
  faults_.clear();
}

void FaultInjectionEnv::SetCapacity(std::optional<uint64_t> bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  capacity_ = bytes;
}

void FaultInjectionEnv::CrashAfterBytes(uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  crash_budget_ = bytes;
}

bool FaultInjectionEnv::crashed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return crashed_;
}

FaultInjectionEnv::Stats FaultInjectionEnv::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

uint64_t FaultInjectionEnv::UsedBytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return UsedBytesLocked();
}

uint64_t FaultInjectionEnv::UsedBytesLocked() const {
  uint64_t used = 0;
  std::unordered_set<const Node*> seen;
  std::function<void(const Node&)> walk = [&](const Node& dir) {
    for (const auto& [name, child] : dir.entries) {
      if (!seen.insert(child.get()).second) continue;
      if (child->dir) {
        walk(*child);
      } else {
        used += child->data.size();
      }
    }
  };
  walk(*root_);
  return used;
}

void FaultInjectionEnv::SimulateCrash(CrashMode mode, uint64_t seed) {
  std::lock_guard<std::mutex> lock(mu_);
  ++generation_;
  locks_.clear();
  faults_.clear();
  crash_budget_.reset();
  crashed_ = false;
  if (mode == CrashMode::kKeepUnsynced) return;
  std::mt19937_64 random(seed);
  std::unordered_set<Node*> seen;
  // Only what the durable entries reach survives; everything else is gone with its inode.
  std::function<void(Node&)> revert = [&](Node& dir) {
    dir.entries = dir.durable_entries;
    for (auto& [name, child] : dir.entries) {
      if (!seen.insert(child.get()).second) continue;
      if (child->dir) {
        revert(*child);
        continue;
      }
      Node& file = *child;
      std::string tail;
      if (mode == CrashMode::kTearUnsynced && file.data.size() > file.durable_size) {
        tail = file.data.substr(file.durable_size);
      }
      for (auto it = file.undo.rbegin(); it != file.undo.rend(); ++it) {
        if (file.data.size() < it->first + it->second.size()) {
          file.data.resize(it->first + it->second.size());
        }
        file.data.replace(it->first, it->second.size(), it->second);
      }
      file.undo.clear();
      file.data.resize(file.durable_size);
      if (!tail.empty()) {
        const uint64_t keep = random() % (tail.size() + 1);
        file.data.append(tail, 0, keep);
        if (random() % 2 == 0) {
          // The size reached the disk, the data did not.
          file.data.append(random() % (tail.size() - keep + 1), '\0');
        }
        file.durable_size = file.data.size();
      }
    }
  };
  revert(*root_);
}

absl::Status FaultInjectionEnv::CheckLocked(Op op, const std::string& path, uint64_t* short_write) {
  if (crashed_) return Crashed("operation on", path);
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    Fault& f = *it;
    if ((f.ops & op) == 0) continue;
    if (!f.path_contains.empty() && path.find(f.path_contains) == std::string::npos) continue;
    if (f.skip > 0) {
      --f.skip;
      continue;
    }
    absl::Status error = f.error;
    if (short_write != nullptr) *short_write = f.short_write;
    if (f.count > 0 && --f.count == 0) faults_.erase(it);
    return error;
  }
  return absl::OkStatus();
}

absl::Status FaultInjectionEnv::WriteLocked(Node& node, const std::string& path, uint64_t offset,
                                            std::string_view data, uint64_t limit) {
  ++stats_.writes;
  uint64_t n = std::min<uint64_t>(limit, data.size());
  absl::Status why;
  if (capacity_.has_value()) {
    const uint64_t used = UsedBytesLocked();
    const uint64_t end = offset + n;
    const uint64_t growth = end > node.data.size() ? end - node.data.size() : 0;
    if (used + growth > *capacity_) {
      const uint64_t room = *capacity_ > used ? *capacity_ - used : 0;
      // Overwrites need no room; the growth gets what is left.
      const uint64_t fits = offset >= node.data.size() ? room : (node.data.size() - offset) + room;
      n = std::min(n, fits);
      why = IoError("write", path, ENOSPC);
    }
  }
  if (crash_budget_.has_value()) {
    // The machine dies at the first byte past the budget.
    if (n > *crash_budget_) {
      n = *crash_budget_;
      crashed_ = true;
      why = Crashed("write", path);
    }
    *crash_budget_ -= n;
  }
  if (n > 0) {
    if (offset > node.data.size()) {
      node.SaveDurable(node.data.size(), offset);
      node.data.resize(offset, '\0');
    }
    node.SaveDurable(offset, offset + n);
    if (node.data.size() < offset + n) node.data.resize(offset + n);
    node.data.replace(offset, n, data.substr(0, n));
    stats_.bytes_written += static_cast<int64_t>(n);
    node.modified = clock_->Now();
  }
  if (why.ok() && n < data.size()) return absl::InternalError("short write");
  return why;
}

void FaultInjectionEnv::TruncateLocked(Node& node, uint64_t size) {
  if (size < node.data.size()) node.SaveDurable(size, node.data.size());
  node.data.resize(size, '\0');
  node.modified = clock_->Now();
}

std::shared_ptr<Node> FaultInjectionEnv::LookupLocked(const std::string& path) const {
  std::shared_ptr<Node> node = root_;
  for (const std::string& c : Components(path)) {
    if (!node->dir) return nullptr;
    auto it = node->entries.find(c);
    if (it == node->entries.end()) return nullptr;
    node = it->second;
  }
  return node;
}

absl::StatusOr<FaultInjectionEnv::Resolved> FaultInjectionEnv::ResolveLocked(
    std::string_view op, const std::string& path) const {
  std::vector<std::string> parts = Components(path);
  if (parts.empty()) return IoError(op, path, EISDIR);
  std::shared_ptr<Node> dir = root_;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    auto it = dir->entries.find(parts[i]);
    if (it == dir->entries.end()) return IoError(op, path, ENOENT);
    if (!it->second->dir) return IoError(op, path, ENOTDIR);
    dir = it->second;
  }
  return Resolved{dir, parts.back()};
}

absl::StatusOr<std::unique_ptr<File>> FaultInjectionEnv::OpenFile(const std::string& path,
                                                                  OpenMode mode) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string_view op = mode == OpenMode::kRead ? "open" : "create";
  RETURN_IF_ERROR(CheckLocked(kOpen, path));
  ASSIGN_OR_RETURN(Resolved r, ResolveLocked(op, path));
  auto it = r.parent->entries.find(r.name);
  std::shared_ptr<Node> node;
  if (it != r.parent->entries.end()) {
    if (mode == OpenMode::kCreateExclusive) return IoError(op, path, EEXIST);
    node = it->second;
    if (node->dir) return IoError(op, path, EISDIR);
  } else {
    if (mode == OpenMode::kRead || mode == OpenMode::kReadWrite) return IoError(op, path, ENOENT);
    node = std::make_shared<Node>();
    node->modified = clock_->Now();
    r.parent->entries[r.name] = node;
  }
  return std::unique_ptr<File>(std::make_unique<FaultFile>(this, path, std::move(node), generation_,
                                                           mode != OpenMode::kRead));
}

absl::StatusOr<std::vector<std::string>> FaultInjectionEnv::ListDir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(CheckLocked(kList, dir));
  std::shared_ptr<Node> node = LookupLocked(dir);
  if (node == nullptr) return IoError("list", dir, ENOENT);
  if (!node->dir) return IoError("list", dir, ENOTDIR);
  std::vector<std::string> names;
  for (const auto& [name, child] : node->entries) names.push_back(name);
  return names;
}

absl::Status FaultInjectionEnv::CreateDir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(CheckLocked(kCreateDir, dir));
  if (Components(dir).empty()) return absl::OkStatus();  // the root
  ASSIGN_OR_RETURN(Resolved r, ResolveLocked("create directory", dir));
  auto it = r.parent->entries.find(r.name);
  if (it != r.parent->entries.end()) {
    if (it->second->dir) return absl::OkStatus();
    return IoError("create directory", dir, EEXIST);
  }
  auto node = std::make_shared<Node>();
  node->dir = true;
  node->modified = clock_->Now();
  r.parent->entries[r.name] = node;
  return absl::OkStatus();
}

absl::Status FaultInjectionEnv::RemoveFile(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(CheckLocked(kRemove, path));
  ASSIGN_OR_RETURN(Resolved r, ResolveLocked("remove", path));
  auto it = r.parent->entries.find(r.name);
  if (it == r.parent->entries.end()) return IoError("remove", path, ENOENT);
  if (it->second->dir) return IoError("remove", path, EISDIR);
  r.parent->entries.erase(it);
  ++stats_.removes;
  return absl::OkStatus();
}

absl::Status FaultInjectionEnv::RemoveDir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(CheckLocked(kRemove, dir));
  ASSIGN_OR_RETURN(Resolved r, ResolveLocked("remove directory", dir));
  auto it = r.parent->entries.find(r.name);
  if (it == r.parent->entries.end()) return IoError("remove directory", dir, ENOENT);
  if (!it->second->dir) return IoError("remove directory", dir, ENOTDIR);
  if (!it->second->entries.empty()) return IoError("remove directory", dir, ENOTEMPTY);
  r.parent->entries.erase(it);
  ++stats_.removes;
  return absl::OkStatus();
}

absl::Status FaultInjectionEnv::Rename(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(CheckLocked(kRename, from));
  const std::string op = absl::StrCat("rename to ", to, ":");
  ASSIGN_OR_RETURN(Resolved src, ResolveLocked(op, from));
  ASSIGN_OR_RETURN(Resolved dst, ResolveLocked(op, to));
  auto it = src.parent->entries.find(src.name);
  if (it == src.parent->entries.end()) return IoError(op, from, ENOENT);
  auto target = dst.parent->entries.find(dst.name);
  if (target != dst.parent->entries.end() && target->second->dir) return IoError(op, from, EISDIR);
  std::shared_ptr<Node> node = it->second;
  src.parent->entries.erase(it);
  dst.parent->entries[dst.name] = std::move(node);
  ++stats_.renames;
  return absl::OkStatus();
}

absl::Status FaultInjectionEnv::SyncDir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(CheckLocked(kSyncDir, dir));
  std::shared_ptr<Node> node = LookupLocked(dir);
  if (node == nullptr) return IoError("open", dir, ENOENT);
  if (!node->dir) return IoError("sync", dir, ENOTDIR);
  node->durable_entries = node->entries;
  ++stats_.dir_syncs;
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> FaultInjectionEnv::FileSize(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(CheckLocked(kOpen, path));
  std::shared_ptr<Node> node = LookupLocked(path);
  if (node == nullptr) return IoError("stat", path, ENOENT);
  return node->dir ? 0 : node->data.size();
}

absl::StatusOr<bool> FaultInjectionEnv::IsDirectory(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(CheckLocked(kOpen, path));
  std::shared_ptr<Node> node = LookupLocked(path);
  if (node == nullptr) return IoError("stat", path, ENOENT);
  return node->dir;
}

absl::Status FaultInjectionEnv::TruncateFile(const std::string& path, uint64_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(CheckLocked(kTruncate, path));
  std::shared_ptr<Node> node = LookupLocked(path);
  if (node == nullptr) return IoError("truncate", path, ENOENT);
  if (node->dir) return IoError("truncate", path, EISDIR);
  TruncateLocked(*node, size);
  return absl::OkStatus();
}

absl::StatusOr<absl::Time> FaultInjectionEnv::ModificationTime(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(CheckLocked(kOpen, path));
  std::shared_ptr<Node> node = LookupLocked(path);
  if (node == nullptr) return IoError("stat", path, ENOENT);
  return node->modified;
}

absl::StatusOr<std::unique_ptr<FileLock>> FaultInjectionEnv::LockFile(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(CheckLocked(kLock, path));
  ASSIGN_OR_RETURN(Resolved r, ResolveLocked("create", path));
  if (!r.parent->entries.contains(r.name)) r.parent->entries[r.name] = std::make_shared<Node>();
  const std::string key = Normalize(path);
  if (!locks_.insert(key).second) {
    return absl::FailedPreconditionError(
        absl::StrCat("lock ", path, ": held by another user of this directory"));
  }
  return std::unique_ptr<FileLock>(std::make_unique<FaultLock>(this, key, generation_));
}

}  // namespace sprout::storage
