#include "objstore/memory.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace sprout::objstore {

MemoryObjectStore::MemoryObjectStore(storage::Env* local_env, const Clock* clock)
    : local_env_(local_env), clock_(clock) {}

absl::Status MemoryObjectStore::Put(std::string_view key, std::string_view data) {
  RETURN_IF_ERROR(ValidateKey(key));
  auto copy = std::make_shared<const std::string>(data);
  std::lock_guard<std::mutex> lock(mu_);
  objects_.insert_or_assign(std::string(key), Object{std::move(copy), clock_->Now()});
  return absl::OkStatus();
}

absl::Status MemoryObjectStore::PutFile(std::string_view key, const std::string& local_path) {
  RETURN_IF_ERROR(ValidateKey(key));
  absl::StatusOr<std::string> data = local_env_->ReadFile(local_path);
  if (!data.ok()) return Annotate(data.status(), absl::StrCat("put ", AV(key)));
  return Put(key, *data);
}

absl::StatusOr<MemoryObjectStore::Object> MemoryObjectStore::Find(std::string_view op,
                                                                  std::string_view key) const {
  RETURN_IF_ERROR(ValidateKey(key));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) {
    return absl::NotFoundError(absl::StrCat(AV(op), " ", AV(key), ": no such object"));
  }
  return it->second;
}

absl::StatusOr<std::string> MemoryObjectStore::Get(std::string_view key) {
  ASSIGN_OR_RETURN(Object object, Find("get", key));
  return *object.data;
}

absl::StatusOr<std::string> MemoryObjectStore::GetRange(std::string_view key, uint64_t offset,
                                                        uint64_t length) {
  ASSIGN_OR_RETURN(Object object, Find("get", key));
  const std::string& data = *object.data;
  if (offset > data.size()) {
    return absl::OutOfRangeError(absl::StrCat("get ", AV(key), ": offset ", offset,
                                              " is past the end (size ", data.size(), ")"));
  }
  return data.substr(offset, std::min<uint64_t>(length, data.size() - offset));
}

absl::StatusOr<ObjectAttributes> MemoryObjectStore::Attributes(std::string_view key) {
  ASSIGN_OR_RETURN(Object object, Find("attributes of", key));
  return ObjectAttributes{object.data->size(), object.last_modified};
}

absl::StatusOr<ListResult> MemoryObjectStore::List(std::string_view prefix,
                                                   const ListOptions& options) {
  RETURN_IF_ERROR(ValidatePrefix(prefix));
  ListResult result;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = objects_.lower_bound(prefix);
       it != objects_.end() && std::string_view(it->first).starts_with(prefix); ++it) {
    const std::string& key = it->first;
    const size_t slash = options.delimited ? key.find('/', prefix.size()) : std::string::npos;
    if (slash == std::string::npos) {
      result.keys.push_back(key);
      continue;
    }
    // The keys of one common prefix are adjacent in the sorted map (whatever sorts between two
    // keys that start with it starts with it too), so the prefixes come out sorted and unique.
    std::string common = key.substr(0, slash + 1);
    if (result.prefixes.empty() || result.prefixes.back() != common) {
      result.prefixes.push_back(std::move(common));
    }
  }
  return result;
}

absl::Status MemoryObjectStore::Delete(std::string_view key) {
  RETURN_IF_ERROR(ValidateKey(key));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(key);
  if (it != objects_.end()) objects_.erase(it);
  return absl::OkStatus();
}

absl::Status MemoryObjectStore::DeletePrefix(std::string_view prefix) {
  RETURN_IF_ERROR(ValidatePrefix(prefix));
  if (prefix.empty()) {
    return absl::InvalidArgumentError("delete prefix: an empty prefix would delete every object");
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.lower_bound(prefix);
  while (it != objects_.end() && std::string_view(it->first).starts_with(prefix)) {
    it = objects_.erase(it);
  }
  return absl::OkStatus();
}

uint64_t MemoryObjectStore::TotalBytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t total = 0;
  for (const auto& [key, object] : objects_) total += object.data->size();
  return total;
}

}  // namespace sprout::objstore
