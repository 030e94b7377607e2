#include "metrics/tsdb/index/symbols.h"

#include <cstring>

namespace sprout::metrics::tsdb {

std::string_view SymbolTable::Intern(std::string_view s) {
  if (s.empty()) return std::string_view("", 0);
  {
    absl::ReaderMutexLock lock(&mu_);
    if (auto it = set_.find(s); it != set_.end()) return *it;
  }
  absl::MutexLock lock(&mu_);
  if (auto it = set_.find(s); it != set_.end()) return *it;  // another writer won the race
  const std::string_view stored = Store(s);
  set_.insert(stored);
  return stored;
}

std::string_view SymbolTable::Find(std::string_view s) const {
  if (s.empty()) return std::string_view("", 0);
  absl::ReaderMutexLock lock(&mu_);
  if (auto it = set_.find(s); it != set_.end()) return *it;
  return {};
}

std::string_view SymbolTable::Store(std::string_view s) {
  if (s.size() > kBlockSize / 4) {  // a block of its own; the current block keeps filling
    blocks_.push_back(std::make_unique<char[]>(s.size()));
    arena_bytes_ += s.size();
    std::memcpy(blocks_.back().get(), s.data(), s.size());
    return std::string_view(blocks_.back().get(), s.size());
  }
  if (left_ < s.size()) {
    blocks_.push_back(std::make_unique<char[]>(kBlockSize));
    arena_bytes_ += kBlockSize;
    cursor_ = blocks_.back().get();
    left_ = kBlockSize;
  }
  std::memcpy(cursor_, s.data(), s.size());
  const std::string_view stored(cursor_, s.size());
  cursor_ += s.size();
  left_ -= s.size();
  return stored;
}

size_t SymbolTable::size() const {
  absl::ReaderMutexLock lock(&mu_);
  return set_.size();
}

size_t SymbolTable::MemoryBytes() const {
  absl::ReaderMutexLock lock(&mu_);
  return arena_bytes_ + set_.capacity() * (sizeof(std::string_view) + 1);
}

}  // namespace sprout::metrics::tsdb
