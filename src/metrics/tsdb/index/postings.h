// Postings: sorted lists of series references and the head's in-memory inverted index.
//
// PostingsIterator walks a strictly increasing sequence of SeriesRefs. Intersect, Merge (union)
// and Without (difference) combine iterators lazily, so the block index's on-disk lists can
// reuse them by implementing PostingsIterator over their bytes.
//
// MemPostings maps label name → value → sorted refs of the series carrying that label, plus the
// list of all series. Select(matchers) answers a series selector the way Prometheus's
// PostingsForMatchers does:
//   - a matcher that does not match "" (name="x", name=~"a|b", name!="" ...) contributes the
//     union of the lists of the values it matches; these are intersected;
//   - a matcher that matches "" also selects series without the label, so it subtracts the
//     union of the lists of the values it does NOT match; a matcher matching every value
//     (name=~".*") contributes nothing;
//   - with no matcher of the first kind the intersection starts from all series (a selector
//     with only negative or empty-matching matchers is allowed here; PromQL refuses it earlier).
//   An empty matcher list selects nothing.
//
// Thread-safety: MemPostings is safe for any number of concurrent readers (Postings, Select,
// LabelNames, LabelValues, ...) with writers (Add, Delete). It uses one reader/writer mutex
// (absl::Mutex): readers share it for the whole of a call — Select intersects the lists in
// place under it — and a writer takes it exclusively, so a writer waits for running queries
// and the lists are never copied. Results are copies (refs) or views into the SymbolTable
// (strings), valid for the table's lifetime. Iterators from NewListPostings read the span they
// were given and own nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "metrics/tsdb/index/labels.h"
#include "metrics/tsdb/index/matcher.h"
#include "metrics/tsdb/index/symbols.h"

namespace sprout::metrics::tsdb {

// The head assigns series references in increasing order.
using SeriesRef = uint64_t;

class PostingsIterator {
 public:
  virtual ~PostingsIterator() = default;
  // Moves to the next ref; false when there is none (then stays exhausted).
  virtual bool Next() = 0;
  // Moves to the first ref >= target and returns true, or false when there is none. Never moves
  // back: when the current ref is already >= target it stays. Before the first Next it
  // searches from the start.
  virtual bool Seek(SeriesRef target) = 0;
  // The current ref; valid after Next or Seek returned true.
  virtual SeriesRef At() const = 0;
  // An error of the underlying source (a corrupt on-disk list); Next/Seek then return false.
  virtual absl::Status Err() const { return absl::OkStatus(); }
};

std::unique_ptr<PostingsIterator> NewEmptyPostings();
// Over a sorted, duplicate-free span that must outlive the iterator.
std::unique_ptr<PostingsIterator> NewListPostings(std::span<const SeriesRef> refs);
// Over a sorted, duplicate-free vector the iterator owns.
std::unique_ptr<PostingsIterator> NewOwnedListPostings(std::vector<SeriesRef> refs);
// Refs present in every iterator; no iterators → empty.
std::unique_ptr<PostingsIterator> Intersect(std::vector<std::unique_ptr<PostingsIterator>> its);
// Refs present in any iterator (each once).
std::unique_ptr<PostingsIterator> Merge(std::vector<std::unique_ptr<PostingsIterator>> its);
// Refs of `full` that are not in `drop`.
std::unique_ptr<PostingsIterator> Without(std::unique_ptr<PostingsIterator> full,
                                          std::unique_ptr<PostingsIterator> drop);
// Drains `it` into a vector; the iterator's error, if any.
absl::Status ExpandPostings(PostingsIterator& it, std::vector<SeriesRef>* out);

class MemPostings {
 public:
  // `symbols` interns names and values and must outlive this index; null: an own table.
  explicit MemPostings(SymbolTable* symbols = nullptr);
  MemPostings(const MemPostings&) = delete;
  MemPostings& operator=(const MemPostings&) = delete;

  // Indexes series `ref` (at most UINT32_MAX) under each of its labels. Refs normally arrive increasing (appended in
  // O(1)); an older ref is inserted in order (WAL replay), and adding a ref twice is a no-op
  // per list.
  void Add(SeriesRef ref, const Labels& labels) ABSL_LOCKS_EXCLUDED(mu_);
  // Removes the refs from every list (head GC after compaction); empty values and names
  // disappear. Costs one pass over all lists.
  void Delete(std::span<const SeriesRef> refs) ABSL_LOCKS_EXCLUDED(mu_);

  // A copy of the list for name=value (empty when absent).
  std::vector<SeriesRef> Postings(std::string_view name, std::string_view value) const
      ABSL_LOCKS_EXCLUDED(mu_);
  std::vector<SeriesRef> AllPostings() const ABSL_LOCKS_EXCLUDED(mu_);
  // Sorted; views into the SymbolTable.
  std::vector<std::string_view> LabelNames() const ABSL_LOCKS_EXCLUDED(mu_);
  std::vector<std::string_view> LabelValues(std::string_view name) const ABSL_LOCKS_EXCLUDED(mu_);

  // Sorted refs of the series the matchers select (see the file comment).
  std::vector<SeriesRef> Select(std::span<const Matcher> matchers) const ABSL_LOCKS_EXCLUDED(mu_);

  size_t NumSeries() const ABSL_LOCKS_EXCLUDED(mu_);

  // Series counts per label value, from the lists' lengths (no series is read): for every
  // label name (only `names` when not empty; names absent from the index are left out), every
  // value with the number of series carrying it. With `among` (sorted refs, e.g. a Select
  // result) only those series count and values none of them carries are left out; the cost is
  // then one pass over the considered names' lists plus a bitmap of `among` (max ref / 8 bytes)
  // instead of the lists' lengths. Names and values are views into the SymbolTable, names
  // sorted, values in no particular order.
  struct ValueCount {
    std::string_view value;
    uint64_t series = 0;
  };
  struct NameCardinality {
    std::string_view name;
    std::vector<ValueCount> values;
  };
  std::vector<NameCardinality> Cardinality(std::span<const std::string> names,
                                           const std::vector<SeriesRef>* among) const
      ABSL_LOCKS_EXCLUDED(mu_);

  // Bytes held by the lists and maps (capacities, not sizes), without the SymbolTable.
  size_t MemoryBytes() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // The head's series ids are 32-bit (TenantHead's slots): the lists store them as such, half
  // the memory of 64-bit refs; the API still speaks SeriesRef.
  using HeadRef = uint32_t;
  using List = std::vector<HeadRef>;
  using ValueMap = absl::flat_hash_map<std::string_view, List>;

  // Lists of the values of `name` for which m.Matches(value) == want.
  void CollectLists(const Matcher& m, bool want, std::vector<const List*>* out) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  std::unique_ptr<SymbolTable> own_symbols_;
  SymbolTable* symbols_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string_view, ValueMap> index_ ABSL_GUARDED_BY(mu_);
  List all_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sprout::metrics::tsdb
