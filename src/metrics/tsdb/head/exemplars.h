// ExemplarStore: a tenant's bounded exemplar storage, with Prometheus's `max_exemplars`
// semantics: one circular buffer of `capacity` exemplars shared by all series; when it is full
// the oldest exemplar (of any series) is overwritten. Per series the exemplars are kept in
// insertion order, which is timestamp order: an exemplar that would sort before the series'
// newest one (older timestamp; or the same timestamp with a smaller value) is refused as out of
// order, and one equal to the newest (timestamp, value and labels) is a duplicate, ignored
// silently — what a sender retrying a request produces.
//
// Capacity 0 disables the store (every Add returns kDisabled).
//
// Thread-safety: all methods may be called from any thread (one mutex; queries hold it while they
// copy their answer).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "metrics/tsdb/index/labels.h"

namespace sprout::metrics::tsdb {

struct Exemplar {
  Labels labels;  // e.g. {trace_id="..."}; may be empty
  double value = 0;
  int64_t t = 0;  // milliseconds
};

class ExemplarStore {
 public:
  enum class AddResult { kAdded, kDuplicate, kOutOfOrder, kDisabled };

  explicit ExemplarStore(size_t capacity);

  // Whether Add would accept `e` for series `id` now (nothing is stored).
  AddResult Check(uint32_t id, const Exemplar& e) const ABSL_LOCKS_EXCLUDED(mu_);
  AddResult Add(uint32_t id, const Exemplar& e) ABSL_LOCKS_EXCLUDED(mu_);

  // The exemplars of series `id` with start <= t <= end, oldest first.
  std::vector<Exemplar> Get(uint32_t id, int64_t start, int64_t end) const ABSL_LOCKS_EXCLUDED(mu_);
  // Whether series `id` has any exemplar (a cheap filter before Get).
  bool Has(uint32_t id) const ABSL_LOCKS_EXCLUDED(mu_);

  // Keeps only the exemplars for which keep(series id, exemplar) is true, in their order (the
  // head's truncation: exemplars older than the cut block and those of deleted series go).
  // O(capacity) under the lock.
  void Retain(const std::function<bool(uint32_t, const Exemplar&)>& keep) ABSL_LOCKS_EXCLUDED(mu_);

  // Prometheus's resize (a tenant's new max_exemplars): the newest min(size, capacity)
  // exemplars stay, in their order; 0 drops them all and disables the store.
  void SetCapacity(size_t capacity) ABSL_LOCKS_EXCLUDED(mu_);

  size_t capacity() const ABSL_LOCKS_EXCLUDED(mu_);
  size_t size() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  struct Slot {
    Exemplar e;
    uint32_t series = kNone;  // kNone: empty slot
    uint32_t next = kNone;    // the series' next newer exemplar
  };
  struct SeriesList {
    uint32_t oldest = kNone;
    uint32_t newest = kNone;
  };

  AddResult CheckLocked(uint32_t id, const Exemplar& e) const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  // Rebuilds the ring from `kept` (oldest first, at most capacity_ of them).
  void RebuildLocked(std::vector<Slot> kept) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Every slot in use, oldest first (moved out of the ring).
  std::vector<Slot> TakeOldestFirstLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  size_t capacity_ ABSL_GUARDED_BY(mu_);
  // Grows up to capacity_ as exemplars arrive (a tenant without exemplars holds none), then
  // wraps: slots below ring_.size() are all in use.
  std::vector<Slot> ring_ ABSL_GUARDED_BY(mu_);
  uint32_t next_ ABSL_GUARDED_BY(mu_) = 0;  // the slot written next (the oldest when full)
  size_t size_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<uint32_t, SeriesList> index_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sprout::metrics::tsdb
