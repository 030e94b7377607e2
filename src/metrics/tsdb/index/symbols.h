// SymbolTable: the head's string interner. Each distinct label name and value is stored once;
// Intern returns a view of the stored copy, and two interned views of equal strings have the
// same data() pointer, so interned strings can be compared and hashed by address where needed.
//
// Storage is an arena of 64 KiB blocks (strings longer than a quarter block get a block of
// their own) plus a hash set of views into it. Views stay valid until the table is destroyed:
// nothing is ever freed individually. The head rebuilds its table (with the live series' labels)
// when it truncates, which is how strings of deleted series are reclaimed.
//
// Thread-safety: any number of concurrent Find/Intern calls. Lookups take a shared (reader)
// lock; an Intern that misses takes the exclusive lock to insert (writers are serialised by
// the mutex, readers never see a partly inserted string).
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"

namespace sprout::metrics::tsdb {

class SymbolTable {
 public:
  SymbolTable() = default;
  SymbolTable(const SymbolTable&) = delete;
  SymbolTable& operator=(const SymbolTable&) = delete;

  // The stored copy of `s` (inserted on first use). "" is interned as a static empty view.
  std::string_view Intern(std::string_view s) ABSL_LOCKS_EXCLUDED(mu_);
  // The stored copy, or a default (null) view when `s` was never interned.
  std::string_view Find(std::string_view s) const ABSL_LOCKS_EXCLUDED(mu_);

  size_t size() const ABSL_LOCKS_EXCLUDED(mu_);
  // Bytes held: arena blocks plus the hash set's slots.
  size_t MemoryBytes() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  static constexpr size_t kBlockSize = 64 * 1024;
  std::string_view Store(std::string_view s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  absl::flat_hash_set<std::string_view> set_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<char[]>> blocks_ ABSL_GUARDED_BY(mu_);
  size_t arena_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  char* cursor_ ABSL_GUARDED_BY(mu_) = nullptr;
  size_t left_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace sprout::metrics::tsdb
