#include "metrics/tsdb/querier/querier.h"

#include <algorithm>
#include <climits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "metrics/tsdb/block/writer.h"

namespace sprout::metrics::tsdb {
namespace {

using chunkenc::ValueType;

std::string BlockWarning(const BlockReader& block, const absl::Status& status) {
  return absl::StrCat("skipped block ", block.prefix(), ": ", status.ToString());
}

bool ChunkOverlaps(const ChunkMeta& c, int64_t mint, int64_t maxt) {
  return c.min_time <= maxt && c.max_time >= mint;
}

// Over a vector of merged samples.
class ListIterator final : public chunkenc::Iterator {
 public:
  void Reset(const std::vector<QuerySample>* samples) {
    samples_ = samples;
    pos_ = -1;
  }
  ValueType Next() override {
    if (pos_ < static_cast<int64_t>(samples_->size())) ++pos_;
    return Current();
  }
  ValueType Seek(int64_t t) override {
    if (pos_ < 0) pos_ = 0;
    while (pos_ < static_cast<int64_t>(samples_->size()) && (*samples_)[pos_].t < t) ++pos_;
    return Current();
  }
  std::pair<int64_t, double> At() const override {
    const QuerySample& s = (*samples_)[pos_];
    return {s.t, s.type == ValueType::kFloat ? s.v : 0};
  }
  int64_t AtHistogram(chunkenc::Histogram* h) const override {
    const QuerySample& s = (*samples_)[pos_];
    if (s.type == ValueType::kHistogram) *h = s.h;
    return s.t;
  }
  int64_t AtFloatHistogram(chunkenc::FloatHistogram* h) const override {
    const QuerySample& s = (*samples_)[pos_];
    if (s.type == ValueType::kHistogram) *h = s.h.ToFloat();
    if (s.type == ValueType::kFloatHistogram) *h = s.fh;
    return s.t;
  }
  int64_t AtT() const override { return (*samples_)[pos_].t; }
  const absl::Status& Err() const override { return ok_; }

 private:
  ValueType Current() const {
    if (pos_ < 0 || pos_ >= static_cast<int64_t>(samples_->size())) return ValueType::kNone;
    return (*samples_)[pos_].type;
  }
  const std::vector<QuerySample>* samples_ = nullptr;
  int64_t pos_ = -1;
  absl::Status ok_;
};

constexpr int kHeadRank = INT_MAX;
constexpr int kHeadSource = -1;

}  // namespace

// ---- QueryLimiter ----

QueryLimiter::QueryLimiter(uint64_t max_series, uint64_t max_chunks, absl::Time deadline)
    : max_series_(max_series), max_chunks_(max_chunks), deadline_(deadline) {}

std::string QueryLimiter::MaxSeriesMessage(uint64_t limit) {
  return absl::StrCat(
      "the query exceeded the maximum number of series (limit: ", limit,
      " series) (err-mimir-max-series-per-query). Consider reducing the time range and/or number "
      "of series selected by the query. One way to reduce the number of selected series is to add "
      "more label matchers to the query. Otherwise, to adjust the related per-tenant limit, "
      "configure -querier.max-fetched-series-per-query, or contact your service administrator.");
}

std::string QueryLimiter::MaxChunksMessage(uint64_t limit) {
  return absl::StrCat(
      "the query exceeded the maximum number of chunks (limit: ", limit,
      " chunks) (err-mimir-max-chunks-per-query). Consider reducing the time range and/or number "
      "of series selected by the query. One way to reduce the number of selected series is to add "
      "more label matchers to the query. Otherwise, to adjust the related per-tenant limit, "
      "configure -querier.max-fetched-chunks-per-query, or contact your service administrator.");
}

absl::Status QueryLimiter::AddSeries(const Labels& series) {
  absl::MutexLock lock(&mu_);
  series_.insert(series.Hash());
  if (max_series_ > 0 && series_.size() > max_series_) {
    return absl::ResourceExhaustedError(MaxSeriesMessage(max_series_));
  }
  return absl::OkStatus();
}

absl::Status QueryLimiter::AddChunks(uint64_t n) {
  const uint64_t total = chunks_.fetch_add(n, std::memory_order_relaxed) + n;
  if (max_chunks_ > 0 && total > max_chunks_) {
    return absl::ResourceExhaustedError(MaxChunksMessage(max_chunks_));
  }
  return absl::OkStatus();
}

absl::Status QueryLimiter::Check() const {
  if (cancelled()) return absl::CancelledError(kCanceledMessage);
  if (deadline_ != absl::InfiniteFuture() && absl::Now() >= deadline_) {
    return absl::DeadlineExceededError(kTimeoutMessage);
  }
  return absl::OkStatus();
}

uint64_t QueryLimiter::series() const {
  absl::MutexLock lock(&mu_);
  return series_.size();
}

// ---- SeriesIterator ----

// What a SeriesSet and the iterators it made share: the blocks (by source index), which of them
// failed, and the warnings.
struct SeriesIterator::Shared {
  std::vector<std::shared_ptr<const BlockReader>> blocks;
  std::vector<bool> failed;
  std::vector<std::string> warnings;
  QueryLimiter* limiter = nullptr;

  void Fail(int source, const absl::Status& s) {
    if (failed[source]) return;
    failed[source] = true;
    warnings.push_back(BlockWarning(*blocks[source], s));
  }
};

struct SeriesIterator::ChunkDesc {
  int64_t min_t = 0;
  int64_t max_t = 0;
  int rank = 0;    // kHeadRank, else the block's position in ULID order
  int source = 0;  // kHeadSource or a block
  ChunkRef ref = 0;
  chunkenc::Encoding encoding = chunkenc::Encoding::kNone;
  std::string bytes;  // the head's copy; a block's payload once read
};

struct SeriesIterator::Cursor {
  ChunkDesc* desc = nullptr;
  std::unique_ptr<chunkenc::Iterator> it;
  ValueType type = ValueType::kNone;
  int64_t t = 0;
};

SeriesIterator::SeriesIterator() = default;
SeriesIterator::~SeriesIterator() = default;

size_t SeriesIterator::num_chunks() const { return chunks_.size(); }

ValueType SeriesIterator::Stop(absl::Status s) {
  err_ = std::move(s);
  done_ = true;
  cur_ = nullptr;
  active_.clear();
  return ValueType::kNone;
}

void SeriesIterator::Drop(size_t i) {
  if (i + 1 != active_.size()) active_[i] = std::move(active_.back());
  active_.pop_back();
}

namespace {
// After a Next/Seek of the chunk iterator: false when the cursor is finished (end, corrupt
// chunk, past maxt); a corrupt block chunk fails its block.
inline bool CursorValid(SeriesIterator::Cursor& c, int64_t maxt, SeriesIterator::Shared& shared) {
  if (c.type == ValueType::kNone) {
    if (!c.it->Err().ok()) {
      if (c.desc->source != kHeadSource) {
        shared.Fail(c.desc->source, c.it->Err());
      } else {
        shared.warnings.push_back(
            absl::StrCat("skipped the rest of a corrupt head chunk: ", c.it->Err().ToString()));
      }
    }
    return false;
  }
  c.t = c.it->AtT();
  return c.t <= maxt;
}
}  // namespace

bool SeriesIterator::Open(ChunkDesc& d) {
  if (shared_->limiter != nullptr) {
    if (absl::Status s = shared_->limiter->Check(); !s.ok()) {
      Stop(std::move(s));
      return false;
    }
  }
  if (d.source != kHeadSource) {
    if (shared_->failed[d.source]) return true;  // nothing more is read from a failed block
    absl::StatusOr<BlockChunk> chunk = shared_->blocks[d.source]->ReadChunk(d.ref);
    if (!chunk.ok()) {
      shared_->Fail(d.source, chunk.status());
      return true;
    }
    d.encoding = chunk->encoding;
    d.bytes = std::move(chunk->payload);
  }
  auto c = std::make_unique<Cursor>();
  c->desc = &d;
  c->it = chunkenc::NewIterator(d.encoding, d.bytes);
  ++decoded_;
  c->type = c->it->Seek(floor_);
  if (CursorValid(*c, maxt_, *shared_)) active_.push_back(std::move(c));
  return true;
}

ValueType SeriesIterator::Settle() {
  for (;;) {
    int64_t min_t = INT64_MAX;
    for (const auto& c : active_) min_t = std::min(min_t, c->t);
    if (next_ < chunks_.size()) {
      ChunkDesc& d = chunks_[next_];
      if (d.max_t < floor_) {  // wholly before the position: never read nor decoded
        ++next_;
        continue;
      }
      // A chunk that may hold a sample at or before the earliest open one is opened now (ties
      // included: a higher-ranked source may hold the same timestamp).
      if (active_.empty() || d.min_t <= min_t) {
        ++next_;
        if (!Open(d)) return ValueType::kNone;
        continue;
      }
    }
    if (active_.empty()) {
      done_ = true;
      cur_ = nullptr;
      return ValueType::kNone;
    }
    Cursor* best = nullptr;
    for (const auto& c : active_) {
      if (c->t == min_t && (best == nullptr || c->desc->rank > best->desc->rank)) best = c.get();
    }
    cur_ = best;
    cur_t_ = min_t;
    return best->type;
  }
}

ValueType SeriesIterator::Next() {
  if (done_) return ValueType::kNone;
  if (!started_) {
    started_ = true;
    return Settle();
  }
  if (cur_t_ == INT64_MAX) return Stop(absl::OkStatus());
  floor_ = cur_t_ + 1;
  if (active_.size() == 1) {
    // The common case: one chunk open and the next one starts later (sources that do not
    // overlap): no choice to make.
    Cursor& c = *active_[0];
    c.type = c.it->Next();
    if (!CursorValid(c, maxt_, *shared_)) {
      Drop(0);
      return Settle();
    }
    if (c.t >= floor_ && (next_ >= chunks_.size() || chunks_[next_].min_t > c.t)) {
      cur_ = &c;
      cur_t_ = c.t;
      return c.type;
    }
  }
  // Every source at the returned timestamp moves on (the losers of a tie are skipped).
  for (size_t i = 0; i < active_.size();) {
    Cursor& c = *active_[i];
    bool valid = true;
    while (valid && c.t < floor_) {
      c.type = c.it->Next();
      valid = CursorValid(c, maxt_, *shared_);
    }
    if (!valid) {
      Drop(i);
      continue;
    }
    ++i;
  }
  return Settle();
}

ValueType SeriesIterator::Seek(int64_t t) {
  if (done_) return ValueType::kNone;
  if (started_ && cur_ != nullptr && cur_t_ >= t) return cur_->type;
  started_ = true;
  floor_ = std::max(floor_, t);
  for (size_t i = 0; i < active_.size();) {
    Cursor& c = *active_[i];
    bool valid = c.desc->max_t >= floor_;  // a chunk ending before t is dropped undecoded
    if (valid && c.t < floor_) {
      c.type = c.it->Seek(floor_);
      valid = CursorValid(c, maxt_, *shared_);
    }
    if (!valid) {
      Drop(i);
      continue;
    }
    ++i;
  }
  return Settle();
}

std::pair<int64_t, double> SeriesIterator::At() const { return cur_->it->At(); }
int64_t SeriesIterator::AtHistogram(chunkenc::Histogram* h) const {
  return cur_->it->AtHistogram(h);
}
int64_t SeriesIterator::AtFloatHistogram(chunkenc::FloatHistogram* h) const {
  return cur_->it->AtFloatHistogram(h);
}

// ---- SeriesSet ----

struct SeriesSet::Impl {
  int64_t mint = 0;
  int64_t maxt = 0;
  std::shared_ptr<SeriesIterator::Shared> shared = std::make_shared<SeriesIterator::Shared>();
  std::unique_ptr<HeadSeriesSet> head;
  bool head_valid = false;
  struct BlockCursor {
    int source = 0;
    std::vector<SeriesRef> refs;
    size_t pos = 0;
    bool valid = false;
    Labels labels;
    std::vector<ChunkMeta> chunks;
  };
  std::vector<BlockCursor> blocks;

  bool Valid(const BlockCursor& b) const { return b.valid && !shared->failed[b.source]; }

  // Moves `b` to its next series with a chunk in the range.
  void Advance(BlockCursor& b) {
    b.valid = false;
    const BlockReader& reader = *shared->blocks[b.source];
    while (!shared->failed[b.source] && b.pos < b.refs.size()) {
      absl::Status s = reader.Series(b.refs[b.pos++], &b.labels, &b.chunks);
      if (!s.ok()) {
        shared->Fail(b.source, s);
        return;
      }
      for (const ChunkMeta& c : b.chunks) {
        if (ChunkOverlaps(c, mint, maxt)) {
          b.valid = true;
          return;
        }
      }
    }
  }
};

SeriesSet::SeriesSet() : impl_(std::make_unique<Impl>()) {}
SeriesSet::~SeriesSet() = default;

bool SeriesSet::Next() {
  it_.reset();
  if (!err_.ok()) return false;
  Impl& impl = *impl_;
  QueryLimiter* limiter = impl.shared->limiter;
  if (limiter != nullptr) {
    if (absl::Status s = limiter->Check(); !s.ok()) {
      err_ = std::move(s);
      return false;
    }
  }
  const Labels* min = nullptr;
  if (impl.head_valid) min = &impl.head->labels();
  for (Impl::BlockCursor& b : impl.blocks) {
    if (impl.Valid(b) && (min == nullptr || b.labels < *min)) min = &b.labels;
  }
  if (min == nullptr) return false;
  labels_ = *min;
  std::unique_ptr<SeriesIterator> it(new SeriesIterator());
  it->shared_ = impl.shared;
  it->mint_ = impl.mint;
  it->maxt_ = impl.maxt;
  it->floor_ = impl.mint;
  std::vector<SeriesIterator::ChunkDesc>& chunks = it->chunks_;
  if (impl.head_valid && impl.head->labels() == labels_) {
    for (HeadChunkCopy& c : impl.head->chunks()) {
      chunks.push_back(
          {c.min_time, c.max_time, kHeadRank, kHeadSource, 0, c.encoding, std::move(c.bytes)});
    }
    impl.head_valid = impl.head->Next();
  }
  for (Impl::BlockCursor& b : impl.blocks) {
    if (!impl.Valid(b) || !(b.labels == labels_)) continue;
    for (const ChunkMeta& c : b.chunks) {
      if (!ChunkOverlaps(c, impl.mint, impl.maxt)) continue;
      chunks.push_back({c.min_time, c.max_time, b.source, b.source, c.ref,
                        chunkenc::Encoding::kNone, std::string()});
    }
    impl.Advance(b);
  }
  // Sources usually do not overlap: in time order they are opened one after the other.
  std::sort(chunks.begin(), chunks.end(), [](const auto& a, const auto& b) {
    return a.min_t != b.min_t ? a.min_t < b.min_t : a.rank > b.rank;
  });
  if (limiter != nullptr) {
    absl::Status s = limiter->AddSeries(labels_);
    if (s.ok()) s = limiter->AddChunks(chunks.size());
    if (!s.ok()) {
      err_ = std::move(s);
      return false;
    }
  }
  it_ = std::move(it);
  return true;
}

std::unique_ptr<SeriesIterator> SeriesSet::TakeIterator() { return std::move(it_); }

const std::vector<std::string>& SeriesSet::warnings() const { return impl_->shared->warnings; }

// ---- SampleSet ----

struct SampleSet::Impl {
  std::unique_ptr<SeriesSet> set;
  std::vector<QuerySample> merged;
  ListIterator iter;
};

SampleSet::SampleSet() : impl_(std::make_unique<Impl>()) {}
SampleSet::~SampleSet() = default;

bool SampleSet::Next() {
  Impl& impl = *impl_;
  while (impl.set->Next()) {
    impl.merged.clear();
    SeriesIterator& it = impl.set->iterator();
    for (ValueType type = it.Next(); type != ValueType::kNone; type = it.Next()) {
      QuerySample& s = impl.merged.emplace_back();
      s.t = it.AtT();
      s.type = type;
      if (type == ValueType::kFloat) {
        s.v = it.At().second;
      } else if (type == ValueType::kHistogram) {
        it.AtHistogram(&s.h);
      } else {
        it.AtFloatHistogram(&s.fh);
      }
    }
    if (!impl.merged.empty()) {
      impl.iter.Reset(&impl.merged);
      return true;
    }
  }
  impl.merged.clear();
  impl.iter.Reset(&impl.merged);
  return false;
}
const Labels& SampleSet::labels() const { return impl_->set->labels(); }
const std::vector<QuerySample>& SampleSet::sample_list() const { return impl_->merged; }
chunkenc::Iterator& SampleSet::samples() { return impl_->iter; }
const std::vector<std::string>& SampleSet::warnings() const { return impl_->set->warnings(); }

// ---- TenantQuerier ----

TenantQuerier::TenantQuerier(const TenantHead* head,
                             std::vector<std::shared_ptr<const BlockReader>> blocks, int64_t mint,
                             int64_t maxt)
    : head_(head), mint_(mint), maxt_(maxt) {
  for (auto& b : blocks) {
    if (b == nullptr) continue;
    // [minTime, maxTime) against [mint, maxt].
    if (b->meta().min_time <= maxt && b->meta().max_time > mint) blocks_.push_back(std::move(b));
  }
  std::sort(blocks_.begin(), blocks_.end(),
            [](const auto& a, const auto& b) { return a->meta().ulid < b->meta().ulid; });
}

bool TenantQuerier::Inside(const BlockReader& block) const {
  return block.meta().min_time >= mint_ && block.meta().max_time - 1 <= maxt_;
}

bool TenantQuerier::ForEachBlockSeries(const BlockReader& block, std::span<const Matcher> matchers,
                                       bool all, const std::function<void(const Labels&)>& fn) {
  std::vector<SeriesRef> refs;
  if (all) {
    std::unique_ptr<PostingsIterator> p = block.index().AllPostings();
    while (p->Next()) refs.push_back(p->At());
    if (absl::Status s = p->Err(); !s.ok()) {
      warnings_.push_back(BlockWarning(block, s));
      return false;
    }
  } else {
    absl::StatusOr<std::vector<SeriesRef>> selected = block.Select(matchers);
    if (!selected.ok()) {
      warnings_.push_back(BlockWarning(block, selected.status()));
      return false;
    }
    refs = std::move(*selected);
  }
  // Collected first so that a failure midway adds nothing of this block.
  std::vector<Labels> out;
  Labels labels;
  std::vector<ChunkMeta> chunks;
  for (SeriesRef ref : refs) {
    absl::Status s = block.Series(ref, &labels, &chunks);
    if (!s.ok()) {
      warnings_.push_back(BlockWarning(block, s));
      return false;
    }
    for (const ChunkMeta& c : chunks) {
      if (ChunkOverlaps(c, mint_, maxt_)) {
        out.push_back(labels);
        break;
      }
    }
  }
  for (const Labels& l : out) fn(l);
  return true;
}

std::vector<std::string> TenantQuerier::LabelNames(std::span<const Matcher> matchers) {
  std::vector<std::string> names;
  if (head_ != nullptr) names = head_->LabelNames(matchers, mint_, maxt_);
  for (const auto& b : blocks_) {
    if (matchers.empty() && Inside(*b)) {
      for (std::string_view n : b->index().LabelNames()) names.emplace_back(n);
      continue;
    }
    std::vector<std::string> found;
    if (ForEachBlockSeries(*b, matchers, matchers.empty(), [&](const Labels& l) {
          for (const Label& label : l) found.emplace_back(label.name);
        })) {
      names.insert(names.end(), found.begin(), found.end());
    }
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::vector<std::string> TenantQuerier::LabelValues(std::string_view name,
                                                    std::span<const Matcher> matchers) {
  std::vector<std::string> values;
  if (head_ != nullptr) values = head_->LabelValues(name, matchers, mint_, maxt_);
  for (const auto& b : blocks_) {
    if (matchers.empty() && Inside(*b)) {
      for (std::string_view v : b->index().LabelValues(name)) values.emplace_back(v);
      continue;
    }
    std::vector<std::string> found;
    if (ForEachBlockSeries(*b, matchers, matchers.empty(), [&](const Labels& l) {
          std::string_view v = l.Get(name);
          if (!v.empty()) found.emplace_back(v);
        })) {
      values.insert(values.end(), found.begin(), found.end());
    }
  }
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  return values;
}

std::vector<Labels> TenantQuerier::Series(std::span<const Matcher> matchers) {
  std::vector<Labels> series;
  if (matchers.empty()) return series;
  if (head_ != nullptr) series = head_->Series(matchers, mint_, maxt_);
  for (const auto& b : blocks_) {
    ForEachBlockSeries(*b, matchers, false, [&](const Labels& l) { series.push_back(l); });
  }
  std::sort(series.begin(), series.end());
  series.erase(std::unique(series.begin(), series.end()), series.end());
  return series;
}

std::unique_ptr<SeriesSet> TenantQuerier::Select(std::span<const Matcher> matchers,
                                                 const SelectHints& hints, QueryLimiter* limiter) {
  std::unique_ptr<SeriesSet> set(new SeriesSet());
  SeriesSet::Impl& impl = *set->impl_;
  impl.mint = std::max(mint_, hints.start);
  impl.maxt = std::min(maxt_, hints.end);
  impl.shared->limiter = limiter;
  if (matchers.empty() || impl.mint > impl.maxt) return set;
  if (head_ != nullptr) {
    impl.head = head_->SelectSamples(matchers, impl.mint, impl.maxt);
    impl.head_valid = impl.head->Next();
  }
  SeriesIterator::Shared& shared = *impl.shared;
  for (const auto& b : blocks_) {
    // [minTime, maxTime) against the narrowed range.
    if (b->meta().min_time > impl.maxt || b->meta().max_time <= impl.mint) continue;
    absl::StatusOr<std::vector<SeriesRef>> refs = b->Select(matchers);
    if (!refs.ok()) {
      shared.warnings.push_back(BlockWarning(*b, refs.status()));
      continue;
    }
    // blocks_ is in ULID order: a newer block gets a higher source index, which is its rank.
    SeriesSet::Impl::BlockCursor cursor;
    cursor.source = static_cast<int>(shared.blocks.size());
    shared.blocks.push_back(b);
    shared.failed.push_back(false);
    cursor.refs = std::move(*refs);
    // Series refs are positions in label order: ascending refs walk the labels in order.
    std::sort(cursor.refs.begin(), cursor.refs.end());
    impl.blocks.push_back(std::move(cursor));
  }
  for (auto& b : impl.blocks) impl.Advance(b);
  return set;
}

std::unique_ptr<SampleSet> TenantQuerier::SelectSamples(std::span<const Matcher> matchers) {
  std::unique_ptr<SampleSet> set(new SampleSet());
  set->impl_->set = Select(matchers);
  set->impl_->iter.Reset(&set->impl_->merged);
  return set;
}

// ---- BlockSet ----

namespace {
std::string TrimSlash(std::string prefix) {
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  return prefix;
}
}  // namespace

BlockSet::BlockSet(objstore::ObjectStore* store, std::string prefix,
                   TenantBucketIndex* bucket_index)
    : store_(store), prefix_(TrimSlash(std::move(prefix))), bucket_index_(bucket_index) {}

bool BlockSet::last_refresh_from_index() const {
  absl::MutexLock lock(&mu_);
  return from_index_;
}

absl::Status BlockSet::RefreshFromIndex(const BucketIndex& index) {
  absl::MutexLock lock(&mu_);
  std::map<Ulid, Entry> next;
  for (const BucketIndexBlock& b : index.blocks) {
    if (auto it = blocks_.find(b.ulid); it != blocks_.end()) {
      Entry e = std::move(it->second);
      e.from_index = true;
      next.emplace(b.ulid, std::move(e));
    } else {
      next.emplace(b.ulid, Entry{MetaFromIndexBlock(b), nullptr, true});
    }
  }
  blocks_ = std::move(next);
  refreshed_ = true;
  from_index_ = true;
  last_refresh_ = absl::Now();
  refresh_warnings_.clear();
  return absl::OkStatus();
}

absl::Status BlockSet::Refresh() {
  if (bucket_index_ != nullptr) {
    // The failure or fallback is counted and logged by the index's owner.
    absl::StatusOr<BucketIndex> index = bucket_index_->ReadForListing();
    if (index.ok()) return RefreshFromIndex(*index);
  }
  absl::StatusOr<std::vector<Ulid>> listed = ListBlocks(store_, prefix_);
  if (!listed.ok()) return listed.status();
  std::map<Ulid, BlockMeta> fresh;
  std::vector<Ulid> unknown;
  {
    absl::MutexLock lock(&mu_);
    for (const Ulid& u : *listed) {
      if (!blocks_.contains(u)) unknown.push_back(u);
    }
  }
  std::vector<std::string> warnings;
  for (const Ulid& u : unknown) {
    const std::string key = absl::StrCat(BlockPrefix(prefix_, u), "/meta.json");
    absl::StatusOr<std::string> json = store_->Get(key);
    if (!json.ok()) {
      if (!absl::IsNotFound(json.status())) {
        warnings.push_back(absl::StrCat("skipped block ", key, ": ", json.status().ToString()));
      }
      continue;  // deleted since the listing
    }
    absl::StatusOr<BlockMeta> meta = ParseMeta(*json);
    if (!meta.ok()) {
      warnings.push_back(absl::StrCat("skipped block ", key, ": ", meta.status().ToString()));
      continue;
    }
    fresh.emplace(u, std::move(*meta));
  }
  absl::MutexLock lock(&mu_);
  std::map<Ulid, Entry> next;
  for (const Ulid& u : *listed) {
    if (auto it = blocks_.find(u); it != blocks_.end()) {
      next.emplace(u, std::move(it->second));
    } else if (auto f = fresh.find(u); f != fresh.end()) {
      next.emplace(u, Entry{std::move(f->second), nullptr, false});
    }
  }
  blocks_ = std::move(next);
  refreshed_ = true;
  from_index_ = false;
  last_refresh_ = absl::Now();
  refresh_warnings_ = std::move(warnings);
  return absl::OkStatus();
}

absl::Status BlockSet::RefreshIfOlder(absl::Duration max_age) {
  {
    absl::MutexLock lock(&mu_);
    if (refreshed_ && absl::Now() - last_refresh_ < max_age) return absl::OkStatus();
  }
  return Refresh();
}

std::vector<std::shared_ptr<const BlockReader>> BlockSet::Readers(
    int64_t mint, int64_t maxt, std::vector<std::string>* warnings) {
  std::vector<std::shared_ptr<const BlockReader>> out;
  std::vector<std::pair<Ulid, bool>> to_open;  // with from_index
  {
    absl::MutexLock lock(&mu_);
    if (warnings != nullptr) {
      warnings->insert(warnings->end(), refresh_warnings_.begin(), refresh_warnings_.end());
    }
    for (const auto& [ulid, e] : blocks_) {
      if (e.meta.min_time > maxt || e.meta.max_time <= mint) continue;
      if (e.reader != nullptr) {
        out.push_back(e.reader);
      } else {
        to_open.emplace_back(ulid, e.from_index);
      }
    }
  }
  for (const auto& [u, from_index] : to_open) {
    // Opened outside the lock: it reads the whole index.
    absl::StatusOr<std::unique_ptr<BlockReader>> r =
        BlockReader::Open(store_, BlockPrefix(prefix_, u));
    if (!r.ok()) {
      // The bucket index is a hint: a block it lists may be gone (deleted after the index was
      // read, or before the deletion reached the index). Whatever replaced it is listed too.
      if (from_index && absl::IsNotFound(r.status())) continue;
      if (warnings != nullptr) {
        warnings->push_back(
            absl::StrCat("skipped block ", BlockPrefix(prefix_, u), ": ", r.status().ToString()));
      }
      continue;
    }
    std::shared_ptr<const BlockReader> reader(std::move(*r));
    absl::MutexLock lock(&mu_);
    if (auto it = blocks_.find(u); it != blocks_.end()) {
      if (it->second.reader == nullptr) it->second.reader = reader;
      out.push_back(it->second.reader);
    } else {
      out.push_back(reader);  // forgotten meanwhile: still good for this query
    }
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a->meta().ulid < b->meta().ulid; });
  return out;
}

std::vector<BlockMeta> BlockSet::Metas() const {
  absl::MutexLock lock(&mu_);
  std::vector<BlockMeta> out;
  for (const auto& [ulid, e] : blocks_) out.push_back(e.meta);
  return out;
}

size_t BlockSet::num_open() const {
  absl::MutexLock lock(&mu_);
  size_t n = 0;
  for (const auto& [ulid, e] : blocks_) n += e.reader != nullptr;
  return n;
}

}  // namespace sprout::metrics::tsdb
