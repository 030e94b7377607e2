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

// Appends the samples of `it` in [mint, maxt] to `out` with priority `rank`.
struct Ranked {
  QuerySample s;
  int rank;
};

absl::Status Drain(chunkenc::Iterator& it, int64_t mint, int64_t maxt, int rank,
                   std::vector<Ranked>* out) {
  ValueType type = it.Seek(mint);
  for (; type != ValueType::kNone; type = it.Next()) {
    int64_t t = it.AtT();
    if (t > maxt) break;
    if (t < mint) continue;
    Ranked r{QuerySample{}, rank};
    r.s.t = t;
    r.s.type = type;
    if (type == ValueType::kFloat) {
      r.s.v = it.At().second;
    } else if (type == ValueType::kHistogram) {
      it.AtHistogram(&r.s.h);
    } else {
      it.AtFloatHistogram(&r.s.fh);
    }
    out->push_back(std::move(r));
  }
  return it.Err();
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

}  // namespace

// ---- SampleSet ----

struct SampleSet::Impl {
  int64_t mint = 0;
  int64_t maxt = 0;
  std::unique_ptr<HeadSeriesSet> head;
  bool head_valid = false;
  struct BlockCursor {
    std::shared_ptr<const BlockReader> reader;
    int rank = 0;
    std::vector<SeriesRef> refs;
    size_t pos = 0;
    bool valid = false;
    bool failed = false;
    Labels labels;
    std::vector<ChunkMeta> chunks;
  };
  std::vector<BlockCursor> blocks;
  Labels labels;
  std::vector<QuerySample> merged;
  std::vector<Ranked> scratch;
  ListIterator iter;
  std::vector<std::string> warnings;

  void Fail(BlockCursor& b, const absl::Status& s) {
    warnings.push_back(BlockWarning(*b.reader, s));
    b.failed = true;
    b.valid = false;
  }

  // Moves `b` to its next series with a chunk in the range.
  void Advance(BlockCursor& b) {
    b.valid = false;
    while (!b.failed && b.pos < b.refs.size()) {
      absl::Status s = b.reader->Series(b.refs[b.pos++], &b.labels, &b.chunks);
      if (!s.ok()) {
        Fail(b, s);
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

  bool Step() {
    const Labels* min = nullptr;
    if (head_valid) min = &head->labels();
    for (BlockCursor& b : blocks) {
      if (b.valid && (min == nullptr || b.labels < *min)) min = &b.labels;
    }
    if (min == nullptr) return false;
    labels = *min;
    scratch.clear();
    if (head_valid && head->labels() == labels) {
      // The head is read without errors of its own (its chunks are in memory).
      (void)Drain(head->samples(), mint, maxt, INT_MAX, &scratch);
      head_valid = head->Next();
    }
    for (BlockCursor& b : blocks) {
      if (!b.valid || !(b.labels == labels)) continue;
      size_t before = scratch.size();
      absl::Status failure;
      for (const ChunkMeta& c : b.chunks) {
        if (!ChunkOverlaps(c, mint, maxt)) continue;
        absl::StatusOr<BlockChunk> chunk = b.reader->ReadChunk(c.ref);
        if (!chunk.ok()) {
          failure = chunk.status();
          break;
        }
        std::unique_ptr<chunkenc::Iterator> it = chunk->NewIterator();
        absl::Status s = Drain(*it, mint, maxt, b.rank, &scratch);
        if (!s.ok()) {
          failure = s;
          break;
        }
      }
      if (!failure.ok()) {
        scratch.resize(before);  // all of this block's series or nothing
        Fail(b, failure);
        continue;
      }
      Advance(b);
    }
    std::stable_sort(scratch.begin(), scratch.end(), [](const Ranked& a, const Ranked& b) {
      return a.s.t != b.s.t ? a.s.t < b.s.t : a.rank > b.rank;
    });
    merged.clear();
    for (Ranked& r : scratch) {
      if (!merged.empty() && merged.back().t == r.s.t) continue;
      merged.push_back(std::move(r.s));
    }
    iter.Reset(&merged);
    return true;
  }
};

SampleSet::SampleSet() : impl_(std::make_unique<Impl>()) {}
SampleSet::~SampleSet() = default;

bool SampleSet::Next() {
  while (impl_->Step()) {
    if (!impl_->merged.empty()) return true;
  }
  impl_->merged.clear();
  impl_->iter.Reset(&impl_->merged);
  return false;
}
const Labels& SampleSet::labels() const { return impl_->labels; }
const std::vector<QuerySample>& SampleSet::sample_list() const { return impl_->merged; }
chunkenc::Iterator& SampleSet::samples() { return impl_->iter; }
const std::vector<std::string>& SampleSet::warnings() const { return impl_->warnings; }

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

std::unique_ptr<SampleSet> TenantQuerier::SelectSamples(std::span<const Matcher> matchers) {
  std::unique_ptr<SampleSet> set(new SampleSet());
  SampleSet::Impl& impl = *set->impl_;
  impl.mint = mint_;
  impl.maxt = maxt_;
  impl.iter.Reset(&impl.merged);
  if (matchers.empty()) return set;
  if (head_ != nullptr) {
    impl.head = head_->SelectSamples(matchers, mint_, maxt_);
    impl.head_valid = impl.head->Next();
  }
  int rank = 0;
  for (const auto& b : blocks_) {
    SampleSet::Impl::BlockCursor cursor;
    cursor.reader = b;
    cursor.rank = rank++;  // sorted by ULID: a newer block ranks higher
    absl::StatusOr<std::vector<SeriesRef>> refs = b->Select(matchers);
    if (!refs.ok()) {
      impl.warnings.push_back(BlockWarning(*b, refs.status()));
      continue;
    }
    cursor.refs = std::move(*refs);
    // Series refs are positions in label order: ascending refs walk the labels in order.
    std::sort(cursor.refs.begin(), cursor.refs.end());
    impl.blocks.push_back(std::move(cursor));
  }
  for (auto& b : impl.blocks) impl.Advance(b);
  return set;
}

// ---- BlockSet ----

namespace {
std::string TrimSlash(std::string prefix) {
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  return prefix;
}
}  // namespace

BlockSet::BlockSet(objstore::ObjectStore* store, std::string prefix)
    : store_(store), prefix_(TrimSlash(std::move(prefix))) {}

absl::Status BlockSet::Refresh() {
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
      next.emplace(u, Entry{std::move(f->second), nullptr});
    }
  }
  blocks_ = std::move(next);
  refreshed_ = true;
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
  std::vector<Ulid> to_open;
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
        to_open.push_back(ulid);
      }
    }
  }
  for (const Ulid& u : to_open) {
    // Opened outside the lock: it reads the whole index.
    absl::StatusOr<std::unique_ptr<BlockReader>> r =
        BlockReader::Open(store_, BlockPrefix(prefix_, u));
    if (!r.ok()) {
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
