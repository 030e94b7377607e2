#include "metrics/tsdb/index/postings.h"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <iterator>
#include <utility>

namespace sprout::metrics::tsdb {
namespace {

class EmptyPostings final : public PostingsIterator {
 public:
  bool Next() override { return false; }
  bool Seek(SeriesRef) override { return false; }
  SeriesRef At() const override { return 0; }
};

// Over a sorted span of refs stored as T (SeriesRef, or the head's 32-bit ids).
template <typename T>
class BasicListPostings : public PostingsIterator {
 public:
  explicit BasicListPostings(std::span<const T> refs) : refs_(refs) {}

  bool Next() override {
    if (started_) {
      if (pos_ < refs_.size()) ++pos_;
    } else {
      started_ = true;
    }
    return pos_ < refs_.size();
  }

  bool Seek(SeriesRef target) override {
    started_ = true;
    if (pos_ >= refs_.size()) return false;
    if (refs_[pos_] >= target) return true;
    // Gallop from the current position, then binary-search the bracket: a seek that moves a
    // little costs little; one that skips far costs O(log distance).
    size_t step = 1;
    size_t lo = pos_;
    size_t hi = pos_ + 1;
    while (hi < refs_.size() && refs_[hi] < target) {
      lo = hi;
      step <<= 1;
      hi = pos_ + step;
    }
    hi = std::min(hi, refs_.size());
    pos_ = static_cast<size_t>(
        std::lower_bound(refs_.begin() + lo, refs_.begin() + hi, target,
                         [](T a, SeriesRef b) { return static_cast<SeriesRef>(a) < b; }) -
        refs_.begin());
    return pos_ < refs_.size();
  }

  SeriesRef At() const override { return refs_[pos_]; }

 protected:
  void Reset(std::span<const T> refs) { refs_ = refs; }

 private:
  std::span<const T> refs_;
  size_t pos_ = 0;
  bool started_ = false;
};

using ListPostings = BasicListPostings<SeriesRef>;

class OwnedListPostings final : public ListPostings {
 public:
  explicit OwnedListPostings(std::vector<SeriesRef> refs)
      : ListPostings({}), owned_(std::move(refs)) {
    Reset(owned_);
  }

 private:
  std::vector<SeriesRef> owned_;
};

class IntersectPostings final : public PostingsIterator {
 public:
  explicit IntersectPostings(std::vector<std::unique_ptr<PostingsIterator>> its)
      : its_(std::move(its)) {}

  bool Next() override {
    if (done_) return false;
    if (!its_[0]->Next()) return Finish();
    return Align(its_[0]->At());
  }

  bool Seek(SeriesRef target) override {
    if (done_) return false;
    if (started_ && current_ >= target) return true;
    if (!its_[0]->Seek(target)) return Finish();
    return Align(its_[0]->At());
  }

  SeriesRef At() const override { return current_; }

  absl::Status Err() const override {
    for (const auto& it : its_) {
      if (absl::Status s = it->Err(); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

 private:
  // Leapfrog: seek every iterator to the largest current ref until all agree.
  bool Align(SeriesRef target) {
    started_ = true;
    while (true) {
      bool agreed = true;
      for (auto& it : its_) {
        if (!it->Seek(target)) return Finish();
        if (it->At() != target) {
          target = it->At();
          agreed = false;
          break;
        }
      }
      if (agreed) {
        current_ = target;
        return true;
      }
    }
  }

  bool Finish() {
    done_ = true;
    return false;
  }

  std::vector<std::unique_ptr<PostingsIterator>> its_;
  SeriesRef current_ = 0;
  bool started_ = false;
  bool done_ = false;
};

class MergePostings final : public PostingsIterator {
 public:
  explicit MergePostings(std::vector<std::unique_ptr<PostingsIterator>> its)
      : its_(std::move(its)) {}

  bool Next() override {
    if (!started_) {
      started_ = true;
      for (auto& it : its_) {
        if (it->Next()) heap_.push_back(it.get());
      }
      std::make_heap(heap_.begin(), heap_.end(), Greater);
      return Pop();
    }
    return Pop();
  }

  bool Seek(SeriesRef target) override {
    if (!started_) {
      // First call: seek every iterator and heapify once.
      started_ = true;
      for (auto& it : its_) {
        if (it->Seek(target)) heap_.push_back(it.get());
      }
      std::make_heap(heap_.begin(), heap_.end(), Greater);
      return Pop();
    }
    if (!has_current_) return false;
    if (current_ >= target) return true;
    // Only the iterators behind target move: pop them off the top, seek, push back. A seek that
    // skips little touches few of them.
    while (!heap_.empty() && heap_.front()->At() < target) {
      std::pop_heap(heap_.begin(), heap_.end(), Greater);
      PostingsIterator* it = heap_.back();
      if (it->Seek(target)) {
        std::push_heap(heap_.begin(), heap_.end(), Greater);
      } else {
        heap_.pop_back();
      }
    }
    return Pop();
  }

  SeriesRef At() const override { return current_; }

  absl::Status Err() const override {
    for (const auto& it : its_) {
      if (absl::Status s = it->Err(); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

 private:
  static bool Greater(PostingsIterator* a, PostingsIterator* b) { return a->At() > b->At(); }

  // Takes the smallest ref and advances every iterator positioned on it.
  bool Pop() {
    if (heap_.empty()) {
      has_current_ = false;
      return false;
    }
    const SeriesRef ref = heap_.front()->At();
    while (!heap_.empty() && heap_.front()->At() == ref) {
      std::pop_heap(heap_.begin(), heap_.end(), Greater);
      PostingsIterator* it = heap_.back();
      if (it->Next()) {
        std::push_heap(heap_.begin(), heap_.end(), Greater);
      } else {
        heap_.pop_back();
      }
    }
    current_ = ref;
    has_current_ = true;
    return true;
  }

  std::vector<std::unique_ptr<PostingsIterator>> its_;
  std::vector<PostingsIterator*> heap_;  // min-heap of positioned, unconsumed iterators
  SeriesRef current_ = 0;
  bool started_ = false;
  bool has_current_ = false;
};

class WithoutPostings final : public PostingsIterator {
 public:
  WithoutPostings(std::unique_ptr<PostingsIterator> full, std::unique_ptr<PostingsIterator> drop)
      : full_(std::move(full)), drop_(std::move(drop)) {}

  bool Next() override {
    if (!full_->Next()) return false;
    return Skip();
  }

  bool Seek(SeriesRef target) override {
    if (!full_->Seek(target)) return false;
    return Skip();
  }

  SeriesRef At() const override { return full_->At(); }

  absl::Status Err() const override {
    if (absl::Status s = full_->Err(); !s.ok()) return s;
    return drop_->Err();
  }

 private:
  // From full_'s current ref, moves past every ref also in drop_.
  bool Skip() {
    while (true) {
      const SeriesRef ref = full_->At();
      if (drop_live_) {
        if (!drop_started_ || drop_->At() < ref) {
          drop_started_ = true;
          drop_live_ = drop_->Seek(ref);
        }
      }
      if (!drop_live_ || drop_->At() != ref) return true;
      if (!full_->Next()) return false;
    }
  }

  std::unique_ptr<PostingsIterator> full_;
  std::unique_ptr<PostingsIterator> drop_;
  bool drop_started_ = false;
  bool drop_live_ = true;
};

}  // namespace

std::unique_ptr<PostingsIterator> NewEmptyPostings() { return std::make_unique<EmptyPostings>(); }

std::unique_ptr<PostingsIterator> NewListPostings(std::span<const SeriesRef> refs) {
  return std::make_unique<ListPostings>(refs);
}

std::unique_ptr<PostingsIterator> NewOwnedListPostings(std::vector<SeriesRef> refs) {
  return std::make_unique<OwnedListPostings>(std::move(refs));
}

std::unique_ptr<PostingsIterator> Intersect(std::vector<std::unique_ptr<PostingsIterator>> its) {
  if (its.empty()) return NewEmptyPostings();
  if (its.size() == 1) return std::move(its[0]);
  return std::make_unique<IntersectPostings>(std::move(its));
}

std::unique_ptr<PostingsIterator> Merge(std::vector<std::unique_ptr<PostingsIterator>> its) {
  if (its.empty()) return NewEmptyPostings();
  if (its.size() == 1) return std::move(its[0]);
  return std::make_unique<MergePostings>(std::move(its));
}

std::unique_ptr<PostingsIterator> Without(std::unique_ptr<PostingsIterator> full,
                                          std::unique_ptr<PostingsIterator> drop) {
  return std::make_unique<WithoutPostings>(std::move(full), std::move(drop));
}

absl::Status ExpandPostings(PostingsIterator& it, std::vector<SeriesRef>* out) {
  while (it.Next()) out->push_back(it.At());
  return it.Err();
}

// ---- MemPostings -------------------------------------------------------------------------------

MemPostings::MemPostings(SymbolTable* symbols)
    : own_symbols_(symbols == nullptr ? std::make_unique<SymbolTable>() : nullptr),
      symbols_(symbols == nullptr ? own_symbols_.get() : symbols) {}

namespace {

// The union of several sorted lists as one sorted vector. Head refs are dense, so when the
// lists span a range not much larger than their total a bitmap is cheapest (one pass to set,
// one to read); otherwise lists are merged pairwise, smallest first.
template <typename T>
std::vector<SeriesRef> UnionToVector(const std::vector<const std::vector<T>*>& lists,
                                     size_t total) {
  std::vector<SeriesRef> out;
  SeriesRef lo = UINT64_MAX;
  SeriesRef hi = 0;
  for (const auto* l : lists) {
    lo = std::min(lo, static_cast<SeriesRef>(l->front()));
    hi = std::max(hi, static_cast<SeriesRef>(l->back()));
  }
  if ((hi - lo) / 64 <= 2 * total) {
    std::vector<uint64_t> bits((hi - lo) / 64 + 1, 0);
    for (const auto* l : lists) {
      for (SeriesRef r : *l) bits[(r - lo) >> 6] |= uint64_t{1} << ((r - lo) & 63);
    }
    out.reserve(total);
    for (size_t w = 0; w < bits.size(); ++w) {
      for (uint64_t word = bits[w]; word != 0; word &= word - 1) {
        out.push_back(lo + (w << 6) + static_cast<unsigned>(__builtin_ctzll(word)));
      }
    }
    return out;
  }
  std::vector<std::vector<T>> parts;
  parts.reserve(lists.size());
  for (const auto* l : lists) parts.push_back(*l);
  while (parts.size() > 1) {
    std::vector<std::vector<T>> next;
    for (size_t i = 0; i + 1 < parts.size(); i += 2) {
      std::vector<T> merged;
      merged.reserve(parts[i].size() + parts[i + 1].size());
      std::set_union(parts[i].begin(), parts[i].end(), parts[i + 1].begin(), parts[i + 1].end(),
                     std::back_inserter(merged));
      next.push_back(std::move(merged));
    }
    if (parts.size() % 2 == 1) next.push_back(std::move(parts.back()));
    parts = std::move(next);
  }
  return std::vector<SeriesRef>(parts[0].begin(), parts[0].end());
}

// The first index >= from whose ref is >= target (galloping, then binary search).
size_t GallopTo(const std::vector<SeriesRef>& refs, size_t from, SeriesRef target) {
  size_t lo = from;
  size_t step = 1;
  size_t hi = from + 1;
  while (hi < refs.size() && refs[hi] < target) {
    lo = hi;
    step <<= 1;
    hi = from + step;
  }
  hi = std::min(hi, refs.size());
  return static_cast<size_t>(std::lower_bound(refs.begin() + lo, refs.begin() + hi, target) -
                             refs.begin());
}

template <typename T>
void InsertSorted(std::vector<T>& list, T ref) {
  if (list.empty() || list.back() < ref) {
    list.push_back(ref);
    return;
  }
  auto it = std::lower_bound(list.begin(), list.end(), ref);
  if (it == list.end() || *it != ref) list.insert(it, ref);
}

}  // namespace

void MemPostings::Add(SeriesRef ref, const Labels& labels) {
  // Intern outside the index lock: the symbol table has its own.
  struct Interned {
    std::string_view name;
    std::string_view value;
  };
  Interned interned[32];
  std::vector<Interned> more;
  Interned* pairs = interned;
  if (labels.size() > std::size(interned)) {
    more.resize(labels.size());
    pairs = more.data();
  }
  size_t n = 0;
  for (Label l : labels) pairs[n++] = {symbols_->Intern(l.name), symbols_->Intern(l.value)};

  assert(ref <= UINT32_MAX);
  const auto id = static_cast<HeadRef>(ref);
  absl::MutexLock lock(&mu_);
  for (size_t i = 0; i < n; ++i) InsertSorted(index_[pairs[i].name][pairs[i].value], id);
  InsertSorted(all_, id);
}

void MemPostings::Delete(std::span<const SeriesRef> refs) {
  if (refs.empty()) return;
  std::vector<SeriesRef> sorted(refs.begin(), refs.end());
  std::sort(sorted.begin(), sorted.end());
  const auto deleted = [&](HeadRef r) {
    return std::binary_search(sorted.begin(), sorted.end(), SeriesRef{r});
  };
  absl::MutexLock lock(&mu_);
  for (auto name_it = index_.begin(); name_it != index_.end();) {
    ValueMap& values = name_it->second;
    for (auto value_it = values.begin(); value_it != values.end();) {
      std::erase_if(value_it->second, deleted);
      if (value_it->second.empty()) {
        values.erase(value_it++);
      } else {
        value_it->second.shrink_to_fit();
        ++value_it;
      }
    }
    if (values.empty()) {
      index_.erase(name_it++);
    } else {
      ++name_it;
    }
  }
  std::erase_if(all_, deleted);
}

std::vector<SeriesRef> MemPostings::Postings(std::string_view name, std::string_view value) const {
  absl::ReaderMutexLock lock(&mu_);
  auto name_it = index_.find(name);
  if (name_it == index_.end()) return {};
  auto value_it = name_it->second.find(value);
  if (value_it == name_it->second.end()) return {};
  return std::vector<SeriesRef>(value_it->second.begin(), value_it->second.end());
}

std::vector<SeriesRef> MemPostings::AllPostings() const {
  absl::ReaderMutexLock lock(&mu_);
  return std::vector<SeriesRef>(all_.begin(), all_.end());
}

std::vector<std::string_view> MemPostings::LabelNames() const {
  std::vector<std::string_view> names;
  {
    absl::ReaderMutexLock lock(&mu_);
    names.reserve(index_.size());
    for (const auto& [name, values] : index_) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string_view> MemPostings::LabelValues(std::string_view name) const {
  std::vector<std::string_view> values;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = index_.find(name);
    if (it == index_.end()) return values;
    values.reserve(it->second.size());
    for (const auto& [value, list] : it->second) values.push_back(value);
  }
  std::sort(values.begin(), values.end());
  return values;
}

size_t MemPostings::NumSeries() const {
  absl::ReaderMutexLock lock(&mu_);
  return all_.size();
}

std::vector<MemPostings::NameCardinality> MemPostings::Cardinality(
    std::span<const std::string> names, const std::vector<SeriesRef>* among) const {
  std::vector<bool> member;
  if (among != nullptr && !among->empty()) {
    member.resize(static_cast<size_t>(among->back()) + 1);
    for (SeriesRef ref : *among) member[static_cast<size_t>(ref)] = true;
  }
  auto count = [&](const List& list) -> uint64_t {
    if (among == nullptr) return list.size();
    uint64_t n = 0;
    for (HeadRef ref : list) {
      if (ref < member.size() && member[ref]) ++n;
    }
    return n;
  };
  std::vector<NameCardinality> out;
  absl::ReaderMutexLock lock(&mu_);
  auto add = [&](std::string_view name, const ValueMap& values) {
    NameCardinality nc{name, {}};
    nc.values.reserve(values.size());
    for (const auto& [value, list] : values) {
      const uint64_t n = count(list);
      if (n > 0) nc.values.push_back({value, n});
    }
    if (!nc.values.empty()) out.push_back(std::move(nc));
  };
  if (names.empty()) {
    out.reserve(index_.size());
    for (const auto& [name, values] : index_) add(name, values);
  } else {
    for (const std::string& name : names) {
      auto it = index_.find(name);
      if (it != index_.end()) add(it->first, it->second);
    }
  }
  std::sort(out.begin(), out.end(),
            [](const NameCardinality& a, const NameCardinality& b) { return a.name < b.name; });
  return out;
}

size_t MemPostings::MemoryBytes() const {
  absl::ReaderMutexLock lock(&mu_);
  // flat_hash_map: one control byte plus one slot per capacity.
  size_t bytes = all_.capacity() * sizeof(HeadRef) +
                 index_.capacity() * (sizeof(std::pair<std::string_view, ValueMap>) + 1);
  for (const auto& [name, values] : index_) {
    bytes += values.capacity() * (sizeof(std::pair<std::string_view, List>) + 1);
    for (const auto& [value, list] : values) bytes += list.capacity() * sizeof(HeadRef);
  }
  return bytes;
}

void MemPostings::CollectLists(const Matcher& m, bool want, std::vector<const List*>* out) const {
  auto name_it = index_.find(m.name());
  if (name_it == index_.end()) return;
  const ValueMap& values = name_it->second;
  // A finite literal set S: a positive matcher accepts exactly S, a negative one all but S.
  const bool literal =
      m.strategy() == Matcher::Strategy::kEqual || m.strategy() == Matcher::Strategy::kSet;
  if (literal && want != m.negative()) {  // the wanted values are exactly S: look them up
    for (const std::string& v : m.set_values()) {
      if (auto it = values.find(v); it != values.end()) out->push_back(&it->second);
    }
    return;
  }
  for (const auto& [value, list] : values) {
    if (m.Matches(value) == want) out->push_back(&list);
  }
}

std::vector<SeriesRef> MemPostings::Select(std::span<const Matcher> matchers) const {
  std::vector<SeriesRef> result;
  if (matchers.empty()) return result;

  struct Positive {
    std::vector<const List*> lists;
    size_t total = 0;
  };
  std::vector<Positive> positives;
  std::vector<const List*> subtract;

  absl::ReaderMutexLock lock(&mu_);
  for (const Matcher& m : matchers) {
    if (m.matches_empty()) {
      // Selects series without the label too: drop those whose value it rejects.
      if (!m.negative() && m.strategy() == Matcher::Strategy::kAny) continue;
      CollectLists(m, /*want=*/false, &subtract);
      continue;
    }
    Positive p;
    CollectLists(m, /*want=*/true, &p.lists);
    if (p.lists.empty()) return result;  // nothing has a matching value
    for (const List* l : p.lists) p.total += l->size();
    positives.push_back(std::move(p));
  }

  // The smallest union drives: it is materialised (its union, or a copy of its one list, or
  // all series), then narrowed in place by the other positives (each a lazy union probed with
  // Seek, so a large one is never walked in full) and by the subtracted lists.
  std::sort(positives.begin(), positives.end(),
            [](const Positive& a, const Positive& b) { return a.total < b.total; });
  if (positives.empty()) {
    result.assign(all_.begin(), all_.end());
  } else if (positives[0].lists.size() == 1) {
    result.assign(positives[0].lists[0]->begin(), positives[0].lists[0]->end());
  } else {
    result = UnionToVector(positives[0].lists, positives[0].total);
  }
  const auto keep_if = [&result](auto&& keep) {
    size_t out = 0;
    for (SeriesRef r : result) {
      if (keep(r)) result[out++] = r;
    }
    result.resize(out);
  };
  for (size_t i = 1; i < positives.size() && !result.empty(); ++i) {
    std::vector<std::unique_ptr<PostingsIterator>> lists;
    lists.reserve(positives[i].lists.size());
    for (const List* l : positives[i].lists) {
      lists.push_back(std::make_unique<BasicListPostings<HeadRef>>(*l));
    }
    std::unique_ptr<PostingsIterator> other = Merge(std::move(lists));
    // Leapfrog: seek the other side to our ref, gallop ours to its ref.
    size_t out = 0;
    size_t k = 0;
    while (k < result.size()) {
      if (!other->Seek(result[k])) break;
      const SeriesRef v = other->At();
      if (v == result[k]) {
        result[out++] = result[k++];
      } else {
        k = GallopTo(result, k, v);
      }
    }
    result.resize(out);
  }
  if (!subtract.empty() && !result.empty()) {
    size_t total = 0;
    for (const List* l : subtract) total += l->size();
    if (total <= 4 * result.size()) {  // small: materialise and walk both linearly
      const std::vector<SeriesRef> drop =
          subtract.size() == 1 ? std::vector<SeriesRef>(subtract[0]->begin(), subtract[0]->end())
                               : UnionToVector(subtract, total);
      size_t j = 0;
      keep_if([&](SeriesRef r) {
        while (j < drop.size() && drop[j] < r) ++j;
        return j == drop.size() || drop[j] != r;
      });
    } else {  // large: probe it per remaining ref
      std::vector<std::unique_ptr<PostingsIterator>> lists;
      lists.reserve(subtract.size());
      for (const List* l : subtract) {
        lists.push_back(std::make_unique<BasicListPostings<HeadRef>>(*l));
      }
      std::unique_ptr<PostingsIterator> drop = Merge(std::move(lists));
      bool live = true;
      keep_if([&](SeriesRef r) {
        if (!live) return true;
        live = drop->Seek(r);
        return !live || drop->At() != r;
      });
    }
  }
  return result;
}

}  // namespace sprout::metrics::tsdb
