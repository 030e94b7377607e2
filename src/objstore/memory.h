// MemoryObjectStore: the ObjectStore contract in memory, for the stores' tests (and as the
// reference the contract tests hold the other implementations to).
//
// Objects live in a sorted map of shared immutable strings, so Get copies out of a snapshot taken
// under the lock and a Put replaces an object in one step: atomic as the contract asks; durable
// only as long as the object lives (nothing survives the process). Unlike the filesystem store,
// and like S3, it holds "a/b" and "a/b/c" side by side. Last-modified times come from the clock
// given at construction (Clock::Real() by default), so tests can age objects by hand.
//
// Thread-safety: every method from any thread (one mutex, held only to look up or replace).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "base/clock.h"
#include "objstore/object_store.h"
#include "storage/env.h"

namespace sprout::objstore {

class MemoryObjectStore : public ObjectStore {
 public:
  // PutFile reads local files through `local_env`; `clock` gives last-modified times. Neither is
  // owned; both must outlive the store.
  explicit MemoryObjectStore(storage::Env* local_env = storage::Env::Default(),
                             const Clock* clock = Clock::Real());

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
  std::string Describe() const override { return "memory"; }

  // Bytes held in all objects (for tests that check what a store keeps).
  uint64_t TotalBytes() const;

 private:
  struct Object {
    std::shared_ptr<const std::string> data;
    absl::Time last_modified;
  };

  absl::StatusOr<Object> Find(std::string_view op, std::string_view key) const;

  storage::Env* const local_env_;
  const Clock* const clock_;
  mutable std::mutex mu_;
  std::map<std::string, Object, std::less<>> objects_;
};

}  // namespace sprout::objstore
