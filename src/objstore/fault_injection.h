// FaultInjectionObjectStore: wraps an ObjectStore and fails or delays chosen operations, for the
// tests of the stores built on ObjectStore (a failed block upload, a slow bucket, a read that
// fails once and then works), as FaultInjectionEnv does for files.
//
// A fault names operations (a bit mask), a key substring, how many matching calls pass first
// (`skip`) and how many then fail (`count`, -1 for all). A failing call returns the fault's error
// without reaching the wrapped store, so a failed Put leaves the old object, as a real failed
// Put does. `delay` holds every matching call (failing or not, `count` times after `skip`) before
// it runs, on the caller's thread. List and DeletePrefix match on their prefix. Faults are
// checked in the order they were added; the first that matches decides.
//
// Thread-safety: every method from any thread. The wrapped store (not owned) must outlive this.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "objstore/object_store.h"

namespace sprout::objstore {

class FaultInjectionObjectStore : public ObjectStore {
 public:
  enum Op : uint32_t {
    kPut = 1 << 0,  // Put and PutFile
    kGet = 1 << 1,  // Get and GetRange
    kAttributes = 1 << 2,
    kList = 1 << 3,
    kDelete = 1 << 4,  // Delete and DeletePrefix
    kAllOps = (1 << 5) - 1,
  };

  struct Fault {
    uint32_t ops = kAllOps;
    std::string key_contains;  // "" for any key
    int skip = 0;
    int count = 1;  // -1: every matching call from then on
    absl::Status error = absl::UnavailableError("injected fault");
    // Held before the call; with an OK `error` the call then goes through (a slow store).
    absl::Duration delay = absl::ZeroDuration();
  };

  struct Stats {  // calls that reached this wrapper, failed or not
    int64_t puts = 0;
    int64_t gets = 0;
    int64_t attributes = 0;
    int64_t lists = 0;
    int64_t deletes = 0;
    int64_t failed = 0;  // by an injected fault
  };

  explicit FaultInjectionObjectStore(ObjectStore* target) : target_(target) {}

  void InjectFault(Fault fault);
  void ClearFaults();
  Stats stats() const;

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

 private:
  // Counts the call, sleeps a matching fault's delay, and returns its error (OK for none).
  absl::Status Check(Op op, std::string_view key);

  ObjectStore* const target_;
  mutable std::mutex mu_;
  std::vector<Fault> faults_;
  Stats stats_;
};

}  // namespace sprout::objstore
