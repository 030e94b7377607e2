#include "metrics/tsdb/head/exemplars.h"

#include <algorithm>
#include <cstring>

namespace sprout::metrics::tsdb {
namespace {

uint64_t Bits(double d) {
  uint64_t b;
  std::memcpy(&b, &d, 8);
  return b;
}

}  // namespace

ExemplarStore::ExemplarStore(size_t capacity) : capacity_(capacity) {}

ExemplarStore::AddResult ExemplarStore::CheckLocked(uint32_t id, const Exemplar& e) const {
  if (capacity_ == 0) return AddResult::kDisabled;
  auto it = index_.find(id);
  if (it == index_.end()) return AddResult::kAdded;
  const Exemplar& newest = ring_[it->second.newest].e;
  if (e.t == newest.t && Bits(e.value) == Bits(newest.value) && e.labels == newest.labels) {
    return AddResult::kDuplicate;
  }
  // Prometheus orders exemplars of a series by timestamp, then value, then labels hash.
  if (e.t < newest.t || (e.t == newest.t && e.value < newest.value) ||
      (e.t == newest.t && e.value == newest.value && e.labels.Hash() < newest.labels.Hash())) {
    return AddResult::kOutOfOrder;
  }
  return AddResult::kAdded;
}

ExemplarStore::AddResult ExemplarStore::Check(uint32_t id, const Exemplar& e) const {
  absl::ReaderMutexLock lock(&mu_);
  return CheckLocked(id, e);
}

ExemplarStore::AddResult ExemplarStore::Add(uint32_t id, const Exemplar& e) {
  absl::MutexLock lock(&mu_);
  const AddResult result = CheckLocked(id, e);
  if (result != AddResult::kAdded) return result;
  const uint32_t slot = next_;
  if (slot == ring_.size()) {  // not full yet: the ring grows as exemplars arrive
    if (ring_.size() == ring_.capacity()) {
      ring_.reserve(std::min(capacity_, std::max<size_t>(64, ring_.size() * 2)));
    }
    ring_.emplace_back();
  }
  Slot& s = ring_[slot];
  if (s.series != kNone) {
    // The oldest exemplar overall is the oldest of its series: unlink it.
    auto old = index_.find(s.series);
    if (s.next == kNone) {
      index_.erase(old);
    } else {
      old->second.oldest = s.next;
    }
  } else {
    ++size_;
  }
  s.e = e;
  s.series = id;
  s.next = kNone;
  auto [it, inserted] = index_.try_emplace(id, SeriesList{slot, slot});
  if (!inserted) {
    ring_[it->second.newest].next = slot;
    it->second.newest = slot;
  }
  next_ = static_cast<uint32_t>((next_ + 1) % capacity_);
  return AddResult::kAdded;
}

std::vector<Exemplar> ExemplarStore::Get(uint32_t id, int64_t start, int64_t end) const {
  std::vector<Exemplar> out;
  absl::ReaderMutexLock lock(&mu_);
  auto it = index_.find(id);
  if (it == index_.end()) return out;
  for (uint32_t i = it->second.oldest; i != kNone; i = ring_[i].next) {
    const Exemplar& e = ring_[i].e;
    if (e.t > end) break;
    if (e.t >= start) out.push_back(e);
  }
  return out;
}

std::vector<ExemplarStore::Slot> ExemplarStore::TakeOldestFirstLocked() {
  std::vector<Slot> out;
  if (size_ == 0) return out;
  // Oldest first: from next_ when the ring is full, from 0 otherwise (every slot below
  // ring_.size() is in use).
  const size_t n = ring_.size();
  const size_t first = size_ == capacity_ ? next_ : 0;
  out.reserve(size_);
  for (size_t k = 0; k < n; ++k) {
    Slot& s = ring_[(first + k) % n];
    if (s.series != kNone) out.push_back(std::move(s));
  }
  return out;
}

void ExemplarStore::RebuildLocked(std::vector<Slot> kept) {
  ring_.clear();
  ring_.resize(kept.size());
  index_.clear();
  size_ = kept.size();
  next_ = capacity_ == 0 ? 0 : static_cast<uint32_t>(kept.size() % capacity_);
  for (size_t i = 0; i < kept.size(); ++i) {
    Slot& s = ring_[i];
    s.e = std::move(kept[i].e);
    s.series = kept[i].series;
    s.next = kNone;
    auto [it, inserted] = index_.try_emplace(
        s.series, SeriesList{static_cast<uint32_t>(i), static_cast<uint32_t>(i)});
    if (!inserted) {
      ring_[it->second.newest].next = static_cast<uint32_t>(i);
      it->second.newest = static_cast<uint32_t>(i);
    }
  }
}

void ExemplarStore::Retain(const std::function<bool(uint32_t, const Exemplar&)>& keep) {
  absl::MutexLock lock(&mu_);
  if (capacity_ == 0 || size_ == 0) return;
  std::vector<Slot> all = TakeOldestFirstLocked();
  std::vector<Slot> kept;
  for (Slot& s : all) {
    if (keep(s.series, s.e)) kept.push_back(std::move(s));
  }
  RebuildLocked(std::move(kept));
}

void ExemplarStore::SetCapacity(size_t capacity) {
  absl::MutexLock lock(&mu_);
  if (capacity == capacity_) return;
  std::vector<Slot> all = TakeOldestFirstLocked();
  if (all.size() > capacity) all.erase(all.begin(), all.end() - static_cast<ptrdiff_t>(capacity));
  capacity_ = capacity;
  RebuildLocked(std::move(all));
}

size_t ExemplarStore::capacity() const {
  absl::ReaderMutexLock lock(&mu_);
  return capacity_;
}

bool ExemplarStore::Has(uint32_t id) const {
  absl::ReaderMutexLock lock(&mu_);
  return index_.contains(id);
}

size_t ExemplarStore::size() const {
  absl::ReaderMutexLock lock(&mu_);
  return size_;
}

}  // namespace sprout::metrics::tsdb
