#include "metrics/tsdb/block/reader.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "base/coding.h"
#include "base/crc32c.h"
#include "base/status.h"
#include "metrics/tsdb/block/encoding.h"

namespace sprout::metrics::tsdb {
namespace {

using block_internal::Decoder;
using block_internal::PutUvarint;
namespace fmt = block_format;

absl::Status Corrupt(std::string_view what) {
  return absl::DataLossError(absl::StrCat("index: ", AV(what)));
}

constexpr std::string_view kSectionNames[fmt::kNumSections] = {
    "symbols", "series", "series offsets", "postings", "label index"};

// A postings list in the postings section: a count, then the first ref and deltas as uvarints.
// Refs must increase and stay below the series count; otherwise the iteration stops with a
// DataLoss error.
class BlockPostings final : public PostingsIterator {
 public:
  BlockPostings(std::string_view list, uint64_t num_series) : num_series_(num_series) {
    Decoder d(list);
    uint64_t count = 0;
    if (!d.Uvarint(&count) || count == 0 || count > d.remaining()) {
      Fail("postings list header");
      return;
    }
    left_ = count;
    d_ = d;
  }

  bool Next() override {
    if (left_ == 0) {
      done_ = true;
      return false;
    }
    uint64_t delta;
    if (!d_.Uvarint(&delta)) return Fail("postings list truncated");
    uint64_t ref;
    if (!started_) {
      ref = delta;
    } else {
      if (delta == 0 || delta > num_series_) return Fail("postings list not increasing");
      ref = cur_ + delta;
    }
    if (ref >= num_series_) return Fail("postings list ref past the last series");
    cur_ = ref;
    started_ = true;
    --left_;
    return true;
  }

  bool Seek(SeriesRef target) override {
    if (done_) return false;
    if (started_ && cur_ >= target) return true;
    while (Next()) {
      if (cur_ >= target) return true;
    }
    return false;
  }

  SeriesRef At() const override { return cur_; }
  absl::Status Err() const override { return err_; }

 private:
  bool Fail(std::string_view what) {
    err_ = Corrupt(what);
    left_ = 0;
    done_ = true;
    return false;
  }

  Decoder d_;
  uint64_t num_series_;
  uint64_t left_ = 0;
  uint64_t cur_ = 0;
  bool started_ = false;
  bool done_ = false;
  absl::Status err_;
};

// Every ref in [0, n).
class RangePostings final : public PostingsIterator {
 public:
  explicit RangePostings(uint64_t n) : n_(n) {}
  bool Next() override {
    if (started_) {
      if (cur_ < n_) ++cur_;
    } else {
      started_ = true;
    }
    return cur_ < n_;
  }
  bool Seek(SeriesRef target) override {
    started_ = true;
    if (cur_ < target) cur_ = std::min<uint64_t>(target, n_);
    return cur_ < n_;
  }
  SeriesRef At() const override { return cur_; }

 private:
  uint64_t n_;
  uint64_t cur_ = 0;
  bool started_ = false;
};

class ErrorPostings final : public PostingsIterator {
 public:
  explicit ErrorPostings(absl::Status s) : s_(std::move(s)) {}
  bool Next() override { return false; }
  bool Seek(SeriesRef) override { return false; }
  SeriesRef At() const override { return 0; }
  absl::Status Err() const override { return s_; }

 private:
  absl::Status s_;
};

}  // namespace

// ---- IndexReader --------------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<IndexReader>> IndexReader::Open(std::string bytes) {
  std::unique_ptr<IndexReader> r(new IndexReader());
  r->data_ = std::move(bytes);
  RETURN_IF_ERROR(r->Parse());
  return r;
}

absl::Status IndexReader::Parse() {
  const std::string_view data = data_;
  if (data.size() < fmt::kHeaderSize + fmt::kTocSize) {
    return Corrupt(absl::StrCat(data.size(),
                                " bytes: too short for a header and a table of "
                                "contents"));
  }
  if (GetU32(data.data()) != fmt::kIndexMagic) return Corrupt("bad magic number");
  const uint8_t version = static_cast<uint8_t>(data[4]);
  if (version > fmt::kIndexVersion) {
    return absl::FailedPreconditionError(absl::StrCat("index: format version ", version,
                                                      " is newer than this sprout reads (up to ",
                                                      fmt::kIndexVersion, ")"));
  }
  if (version != fmt::kIndexVersion || data[5] != 0 || data[6] != 0 || data[7] != 0) {
    return Corrupt(absl::StrCat("bad header (version ", version, ")"));
  }
  const uint64_t toc_start = data.size() - fmt::kTocSize;
  const std::string_view toc = data.substr(toc_start);
  if (Crc32c(toc.substr(0, fmt::kTocSize - 4)) != GetU32(toc.data() + fmt::kTocSize - 4)) {
    return Corrupt("table of contents: CRC mismatch");
  }
  uint64_t min_start = fmt::kHeaderSize;
  for (int s = 0; s < fmt::kNumSections; ++s) {
    const uint64_t offset = GetU64(toc.data() + 16 * s);
    const uint64_t length = GetU64(toc.data() + 16 * s + 8);
    // offset + length + 4 <= toc_start, without overflow.
    if (offset < min_start || offset > toc_start || length > toc_start - offset ||
        toc_start - offset - length < 4) {
      return Corrupt(absl::StrCat(AV(kSectionNames[s]), " section: offset ", offset, " length ",
                                  length, " outside the file"));
    }
    const std::string_view body = data.substr(offset, length);
    if (Crc32c(body) != GetU32(data.data() + offset + length)) {
      return Corrupt(absl::StrCat(AV(kSectionNames[s]), " section: CRC mismatch"));
    }
    sections_[s] = body;
    min_start = offset + length + 4;
  }
  RETURN_IF_ERROR(ParseSymbols());
  RETURN_IF_ERROR(ParseSeriesOffsets());
  return ParseLabelIndex();
}

absl::Status IndexReader::ParseSymbols() {
  Decoder d(sections_[fmt::kSymbols]);
  uint64_t count;
  if (!d.Uvarint(&count) || count > d.remaining()) return Corrupt("symbols: bad count");
  symbols_.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t len;
    std::string_view s;
    if (!d.Uvarint(&len) || !d.Bytes(len, &s)) return Corrupt("symbols: truncated");
    if (i > 0 && !(symbols_.back() < s)) return Corrupt("symbols: not sorted");
    symbols_.push_back(s);
  }
  if (!d.empty()) return Corrupt("symbols: trailing bytes");
  if (symbols_.size() > UINT32_MAX) return Corrupt("symbols: too many");
  return absl::OkStatus();
}

absl::Status IndexReader::ParseSeriesOffsets() {
  Decoder d(sections_[fmt::kSeriesOffsets]);
  if (!d.Uvarint(&num_series_) || !d.Uvarint(&stride_)) {
    return Corrupt("series offsets: truncated header");
  }
  if (stride_ == 0 || stride_ > 65536) return Corrupt("series offsets: bad stride");
  // Every series entry takes at least 4 bytes (length, label count, chunk count, a chunk).
  const std::string_view series = sections_[fmt::kSeries];
  if (num_series_ > series.size() / 4 || num_series_ > UINT32_MAX) {
    return Corrupt(absl::StrCat("series offsets: ", num_series_, " series cannot fit"));
  }
  const uint64_t entries = (num_series_ + stride_ - 1) / stride_;
  if (entries > d.remaining()) return Corrupt("series offsets: truncated");
  series_offsets_.reserve(entries);
  uint64_t offset = 0;
  for (uint64_t i = 0; i < entries; ++i) {
    uint64_t delta;
    if (!d.Uvarint(&delta)) return Corrupt("series offsets: truncated");
    if (i > 0 && delta == 0) return Corrupt("series offsets: not increasing");
    if (delta >= series.size() - offset) return Corrupt("series offsets: past the series section");
    offset += delta;
    series_offsets_.push_back(offset);
  }
  if (!d.empty()) return Corrupt("series offsets: trailing bytes");
  return absl::OkStatus();
}

absl::Status IndexReader::ParseLabelIndex() {
  Decoder d(sections_[fmt::kLabelIndex]);
  const uint64_t postings_size = sections_[fmt::kPostings].size();
  uint64_t names;
  if (!d.Uvarint(&names) || names > d.remaining()) return Corrupt("label index: bad name count");
  names_.reserve(names);
  uint64_t offset = 0;
  for (uint64_t n = 0; n < names; ++n) {
    uint64_t name, count;
    if (!d.Uvarint(&name) || !d.Uvarint(&count)) return Corrupt("label index: truncated");
    if (name >= symbols_.size()) return Corrupt("label index: name symbol out of range");
    if (n > 0 && name <= names_.back().name) return Corrupt("label index: names not sorted");
    if (count == 0 || count > d.remaining() / 2) return Corrupt("label index: bad value count");
    names_.push_back({static_cast<uint32_t>(name), static_cast<uint32_t>(value_symbols_.size()),
                      static_cast<uint32_t>(count)});
    uint64_t value = 0;
    for (uint64_t v = 0; v < count; ++v) {
      uint64_t value_delta, offset_delta;
      if (!d.Uvarint(&value_delta) || !d.Uvarint(&offset_delta)) {
        return Corrupt("label index: truncated");
      }
      if (v > 0 && value_delta == 0) return Corrupt("label index: values not sorted");
      if (value_delta >= symbols_.size() - (v == 0 ? 0 : value)) {
        return Corrupt("label index: value symbol out of range");
      }
      value = v == 0 ? value_delta : value + value_delta;
      const bool first_list = value_symbols_.empty();
      if (!first_list && offset_delta == 0) return Corrupt("label index: offsets not increasing");
      if (offset_delta >= postings_size - (first_list ? 0 : offset)) {
        return Corrupt("label index: postings offset past the postings section");
      }
      offset = first_list ? offset_delta : offset + offset_delta;
      value_symbols_.push_back(static_cast<uint32_t>(value));
      list_offsets_.push_back(offset);
    }
  }
  if (!d.empty()) return Corrupt("label index: trailing bytes");
  return absl::OkStatus();
}

const IndexReader::NameEntry* IndexReader::FindName(std::string_view name) const {
  auto it = std::lower_bound(
      names_.begin(), names_.end(), name,
      [this](const NameEntry& e, std::string_view n) { return symbols_[e.name] < n; });
  if (it == names_.end() || symbols_[it->name] != name) return nullptr;
  return &*it;
}

std::unique_ptr<PostingsIterator> IndexReader::ListAt(uint32_t pair) const {
  return std::make_unique<BlockPostings>(sections_[fmt::kPostings].substr(list_offsets_[pair]),
                                         num_series_);
}

std::vector<std::string_view> IndexReader::LabelNames() const {
  std::vector<std::string_view> out;
  out.reserve(names_.size());
  for (const NameEntry& e : names_) out.push_back(symbols_[e.name]);
  return out;
}

std::vector<std::string_view> IndexReader::LabelValues(std::string_view name) const {
  std::vector<std::string_view> out;
  const NameEntry* e = FindName(name);
  if (e == nullptr) return out;
  out.reserve(e->count);
  for (uint32_t i = 0; i < e->count; ++i) out.push_back(symbols_[value_symbols_[e->first + i]]);
  return out;
}

std::unique_ptr<PostingsIterator> IndexReader::Postings(std::string_view name,
                                                        std::string_view value) const {
  const NameEntry* e = FindName(name);
  if (e == nullptr) return NewEmptyPostings();
  const uint32_t* begin = value_symbols_.data() + e->first;
  const uint32_t* end = begin + e->count;
  const uint32_t* it = std::lower_bound(
      begin, end, value, [this](uint32_t sym, std::string_view v) { return symbols_[sym] < v; });
  if (it == end || symbols_[*it] != value) return NewEmptyPostings();
  return ListAt(static_cast<uint32_t>(it - value_symbols_.data()));
}

std::unique_ptr<PostingsIterator> IndexReader::AllPostings() const {
  return std::make_unique<RangePostings>(num_series_);
}

void IndexReader::CollectLists(const Matcher& m, bool want,
                               std::vector<std::unique_ptr<PostingsIterator>>* out) const {
  const NameEntry* e = FindName(m.name());
  if (e == nullptr) return;
  const bool literal =
      m.strategy() == Matcher::Strategy::kEqual || m.strategy() == Matcher::Strategy::kSet;
  if (literal && want != m.negative()) {  // exactly the literal set: look the values up
    for (const std::string& v : m.set_values()) {
      std::unique_ptr<PostingsIterator> it = Postings(m.name(), v);
      out->push_back(std::move(it));
    }
    return;
  }
  for (uint32_t i = 0; i < e->count; ++i) {
    if (m.Matches(symbols_[value_symbols_[e->first + i]]) == want)
      out->push_back(ListAt(e->first + i));
  }
}

absl::StatusOr<std::vector<SeriesRef>> IndexReader::Select(
    std::span<const Matcher> matchers) const {
  std::vector<SeriesRef> result;
  if (matchers.empty()) return result;
  std::vector<std::unique_ptr<PostingsIterator>> positives;
  std::vector<std::unique_ptr<PostingsIterator>> subtract;
  for (const Matcher& m : matchers) {
    if (m.matches_empty()) {
      if (!m.negative() && m.strategy() == Matcher::Strategy::kAny) continue;
      CollectLists(m, /*want=*/false, &subtract);
      continue;
    }
    std::vector<std::unique_ptr<PostingsIterator>> lists;
    CollectLists(m, /*want=*/true, &lists);
    if (lists.empty()) return result;
    positives.push_back(Merge(std::move(lists)));
  }
  std::unique_ptr<PostingsIterator> it =
      positives.empty() ? AllPostings() : Intersect(std::move(positives));
  if (!subtract.empty()) it = Without(std::move(it), Merge(std::move(subtract)));
  RETURN_IF_ERROR(ExpandPostings(*it, &result));
  return result;
}

absl::Status IndexReader::SeriesEntry(SeriesRef ref, std::string_view* entry) const {
  if (ref >= num_series_) {
    return absl::NotFoundError(
        absl::StrCat("index: no series ", ref, " (", num_series_, " series)"));
  }
  Decoder d(sections_[fmt::kSeries].substr(series_offsets_[ref / stride_]));
  for (uint64_t skip = ref % stride_;; --skip) {
    uint64_t len;
    if (!d.Uvarint(&len) || len > d.remaining()) {
      return Corrupt(absl::StrCat("series ", ref, ": truncated entry"));
    }
    if (skip == 0) {
      d.Bytes(len, entry);
      return absl::OkStatus();
    }
    d.Skip(len);
  }
}

absl::Status IndexReader::LabelRefs(SeriesRef ref, std::string_view entry,
                                    std::vector<std::pair<uint32_t, uint32_t>>* refs,
                                    std::string_view* rest) const {
  Decoder d(entry);
  uint64_t count;
  if (!d.Uvarint(&count) || count == 0 || count > d.remaining() / 2) {
    return Corrupt(absl::StrCat("series ", ref, ": bad label count"));
  }
  refs->clear();
  refs->reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t name, value;
    if (!d.Uvarint(&name) || !d.Uvarint(&value)) {
      return Corrupt(absl::StrCat("series ", ref, ": truncated labels"));
    }
    if (name >= symbols_.size() || value >= symbols_.size()) {
      return Corrupt(absl::StrCat("series ", ref, ": label symbol out of range"));
    }
    if (i > 0 && name <= refs->back().first) {
      return Corrupt(absl::StrCat("series ", ref, ": label names not sorted"));
    }
    refs->emplace_back(static_cast<uint32_t>(name), static_cast<uint32_t>(value));
  }
  *rest = std::string_view(d.position(), d.remaining());
  return absl::OkStatus();
}

absl::Status IndexReader::Series(SeriesRef ref, Labels* labels,
                                 std::vector<ChunkMeta>* chunks) const {
  std::string_view entry;
  RETURN_IF_ERROR(SeriesEntry(ref, &entry));
  std::vector<std::pair<uint32_t, uint32_t>> refs;
  std::string_view rest;
  RETURN_IF_ERROR(LabelRefs(ref, entry, &refs, &rest));
  if (labels != nullptr) {
    std::string encoded;
    for (const auto& [name, value] : refs) {
      PutUvarint(&encoded, symbols_[name].size());
      encoded.append(symbols_[name]);
      PutUvarint(&encoded, symbols_[value].size());
      encoded.append(symbols_[value]);
    }
    absl::StatusOr<Labels> decoded = Labels::FromBytes(encoded);
    if (!decoded.ok()) {
      return Corrupt(absl::StrCat("series ", ref, ": labels: ", decoded.status().message()));
    }
    *labels = *std::move(decoded);
  }
  if (chunks == nullptr) return absl::OkStatus();
  chunks->clear();
  Decoder d(rest);
  const auto fail = [ref](std::string_view what) {
    return Corrupt(absl::StrCat("series ", ref, ": chunk metas: ", AV(what)));
  };
  uint64_t count;
  // Each chunk meta takes at least 4 bytes.
  if (!d.Uvarint(&count) || count == 0 || count > d.remaining() / 4) return fail("bad count");
  chunks->reserve(count);
  int64_t prev_max = 0;
  ChunkRef prev_ref = 0;
  for (uint64_t i = 0; i < count; ++i) {
    ChunkMeta c;
    if (i == 0) {
      if (!d.Varint(&c.min_time)) return fail("truncated");
    } else {
      uint64_t gap;
      if (!d.Uvarint(&gap)) return fail("truncated");
      if (gap == 0) return fail("overlapping chunks");
      c.min_time = static_cast<int64_t>(static_cast<uint64_t>(prev_max) + gap);
      if (c.min_time <= prev_max) return fail("time overflow");
    }
    uint64_t span;
    uint8_t encoding;
    uint64_t ref_delta;
    if (!d.Uvarint(&span) || !d.Byte(&encoding) || !d.Uvarint(&ref_delta)) {
      return fail("truncated");
    }
    c.max_time = static_cast<int64_t>(static_cast<uint64_t>(c.min_time) + span);
    if (c.max_time < c.min_time) return fail("time overflow");
    if (encoding < 1 || encoding > 3) return fail(absl::StrCat("unknown encoding ", encoding));
    c.encoding = static_cast<chunkenc::Encoding>(encoding);
    if (i > 0 && (ref_delta == 0 || ref_delta > UINT64_MAX - prev_ref)) {
      return fail("chunk refs not increasing");
    }
    c.ref = prev_ref + ref_delta;
    prev_ref = c.ref;
    prev_max = c.max_time;
    chunks->push_back(c);
  }
  if (!d.empty()) return fail("trailing bytes");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string_view>> IndexReader::LabelNames(
    std::span<const Matcher> matchers) const {
  if (matchers.empty()) return LabelNames();
  ASSIGN_OR_RETURN(std::vector<SeriesRef> refs, Select(matchers));
  absl::flat_hash_set<uint32_t> names;
  std::vector<std::pair<uint32_t, uint32_t>> labels;
  for (SeriesRef ref : refs) {
    std::string_view entry, rest;
    RETURN_IF_ERROR(SeriesEntry(ref, &entry));
    RETURN_IF_ERROR(LabelRefs(ref, entry, &labels, &rest));
    for (const auto& l : labels) names.insert(l.first);
  }
  std::vector<uint32_t> sorted(names.begin(), names.end());
  std::sort(sorted.begin(), sorted.end());  // symbol order is string order
  std::vector<std::string_view> out;
  out.reserve(sorted.size());
  for (uint32_t s : sorted) out.push_back(symbols_[s]);
  return out;
}

absl::StatusOr<std::vector<std::string_view>> IndexReader::LabelValues(
    std::string_view name, std::span<const Matcher> matchers) const {
  if (matchers.empty()) return LabelValues(name);
  const NameEntry* e = FindName(name);
  if (e == nullptr) return std::vector<std::string_view>();
  ASSIGN_OR_RETURN(std::vector<SeriesRef> refs, Select(matchers));
  absl::flat_hash_set<uint32_t> values;
  std::vector<std::pair<uint32_t, uint32_t>> labels;
  for (SeriesRef ref : refs) {
    std::string_view entry, rest;
    RETURN_IF_ERROR(SeriesEntry(ref, &entry));
    RETURN_IF_ERROR(LabelRefs(ref, entry, &labels, &rest));
    for (const auto& l : labels) {
      if (l.first == e->name) values.insert(l.second);
    }
  }
  std::vector<uint32_t> sorted(values.begin(), values.end());
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::string_view> out;
  out.reserve(sorted.size());
  for (uint32_t s : sorted) out.push_back(symbols_[s]);
  return out;
}

// ---- BlockReader --------------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<BlockReader>> BlockReader::Open(objstore::ObjectStore* store,
                                                               std::string block_prefix) {
  while (!block_prefix.empty() && block_prefix.back() == '/') block_prefix.pop_back();
  std::unique_ptr<BlockReader> r(new BlockReader(store, std::move(block_prefix)));
  const std::string meta_key = absl::StrCat(r->prefix_, "/", AV(fmt::kMetaFile));
  absl::StatusOr<std::string> meta_json = store->Get(meta_key);
  if (!meta_json.ok()) {
    if (absl::IsNotFound(meta_json.status())) {
      return absl::NotFoundError(absl::StrCat("block ", r->prefix_,
                                              ": no meta.json (not a block, or its upload has "
                                              "not finished)"));
    }
    return r->Annotated(meta_json.status());
  }
  absl::StatusOr<BlockMeta> meta = ParseMeta(*meta_json);
  if (!meta.ok()) return r->Annotated(meta.status());
  r->meta_ = *std::move(meta);

  const std::string index_key = absl::StrCat(r->prefix_, "/", AV(fmt::kIndexFile));
  absl::StatusOr<std::string> index = store->GetRange(index_key, 0, objstore::ObjectStore::kToEnd);
  if (!index.ok()) {
    if (absl::IsNotFound(index.status())) {
      return r->Annotated(absl::DataLossError("index: missing"));
    }
    return r->Annotated(index.status());
  }
  absl::StatusOr<std::unique_ptr<IndexReader>> reader = IndexReader::Open(*std::move(index));
  if (!reader.ok()) return r->Annotated(reader.status());
  r->index_ = *std::move(reader);
  if (r->index_->num_series() != r->meta_.stats.num_series) {
    return r->Annotated(
        absl::DataLossError(absl::StrCat("index holds ", r->index_->num_series(),
                                         " series, meta.json says ", r->meta_.stats.num_series)));
  }
  return r;
}

absl::Status BlockReader::Annotated(const absl::Status& s) const {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat("block ", prefix_, ": ", s.message()));
}

absl::StatusOr<std::vector<std::string_view>> BlockReader::LabelNames(
    std::span<const Matcher> matchers) const {
  absl::StatusOr<std::vector<std::string_view>> out = index_->LabelNames(matchers);
  if (!out.ok()) return Annotated(out.status());
  return out;
}

absl::StatusOr<std::vector<std::string_view>> BlockReader::LabelValues(
    std::string_view name, std::span<const Matcher> matchers) const {
  absl::StatusOr<std::vector<std::string_view>> out = index_->LabelValues(name, matchers);
  if (!out.ok()) return Annotated(out.status());
  return out;
}

absl::StatusOr<std::vector<SeriesRef>> BlockReader::Select(
    std::span<const Matcher> matchers) const {
  absl::StatusOr<std::vector<SeriesRef>> out = index_->Select(matchers);
  if (!out.ok()) return Annotated(out.status());
  return out;
}

absl::Status BlockReader::Series(SeriesRef ref, Labels* labels,
                                 std::vector<ChunkMeta>* chunks) const {
  return Annotated(index_->Series(ref, labels, chunks));
}

absl::StatusOr<BlockReader::Segment> BlockReader::OpenSegment(uint32_t segment) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = segments_.find(segment); it != segments_.end()) return it->second;
  }
  const std::string key =
      absl::StrCat(prefix_, "/", AV(fmt::kChunksDir), "/", fmt::SegmentName(segment));
  const std::string name = absl::StrCat("chunks/", fmt::SegmentName(segment));
  absl::StatusOr<objstore::ObjectAttributes> attrs = store_->Attributes(key);
  if (!attrs.ok()) {
    if (absl::IsNotFound(attrs.status())) {
      return absl::DataLossError(absl::StrCat(name, ": missing"));
    }
    return attrs.status();
  }
  if (attrs->size < fmt::kHeaderSize) return absl::DataLossError(absl::StrCat(name, ": too short"));
  // Chunk reads go through one reader per segment (the filesystem store keeps the file open:
  // no open/fstat/close per chunk).
  absl::StatusOr<std::unique_ptr<objstore::RangeReader>> opened = store_->OpenRangeReader(key);
  if (!opened.ok()) {
    if (absl::IsNotFound(opened.status())) {
      return absl::DataLossError(absl::StrCat(name, ": missing"));
    }
    return opened.status();
  }
  std::shared_ptr<objstore::RangeReader> reader = *std::move(opened);
  ASSIGN_OR_RETURN(std::string header, reader->Read(0, fmt::kHeaderSize));
  if (header.size() != fmt::kHeaderSize || GetU32(header.data()) != fmt::kChunksMagic) {
    return absl::DataLossError(absl::StrCat(name, ": bad magic number"));
  }
  const uint8_t version = static_cast<uint8_t>(header[4]);
  if (version > fmt::kChunksVersion) {
    return absl::FailedPreconditionError(absl::StrCat(name, ": format version ", version,
                                                      " is newer than this sprout reads (up to ",
                                                      fmt::kChunksVersion, ")"));
  }
  if (version != fmt::kChunksVersion || header[5] != 0 || header[6] != 0 || header[7] != 0) {
    return absl::DataLossError(absl::StrCat(name, ": bad header"));
  }
  std::lock_guard<std::mutex> lock(mu_);
  Segment& seg = segments_[segment];
  if (seg.reader == nullptr) seg = Segment{attrs->size, std::move(reader)};
  return seg;
}

absl::StatusOr<BlockChunk> BlockReader::ReadChunk(ChunkRef ref) const {
  const uint32_t segment = ChunkRefSegment(ref);
  const uint64_t offset = ChunkRefOffset(ref);
  const std::string where =
      absl::StrCat("chunk ", ref, " (chunks/", fmt::SegmentName(segment), " offset ", offset, ")");
  const auto corrupt = [&](std::string_view what) {
    return Annotated(absl::DataLossError(absl::StrCat(where, ": ", AV(what))));
  };
  if (segment == 0) return corrupt("no segment 0");
  absl::StatusOr<Segment> seg = OpenSegment(segment);
  if (!seg.ok()) return Annotated(seg.status());
  if (offset < fmt::kHeaderSize || offset >= seg->size) return corrupt("offset outside the segment");
  // One read covers a typical chunk (a few hundred bytes); a longer one takes a second.
  constexpr uint64_t kFirstRead = 512;
  const uint64_t available = seg->size - offset;
  absl::StatusOr<std::string> record = seg->reader->Read(offset, std::min(kFirstRead, available));
  if (!record.ok()) return Annotated(record.status());
  Decoder d(*record);
  uint64_t length;
  if (!d.Uvarint(&length)) return corrupt("bad record length");
  const uint64_t head = record->size() - d.remaining();
  // head + 1 (encoding) + length + 4 (CRC) must fit in what is left of the segment.
  if (length > available || available - length < head + 5) {
    return corrupt(absl::StrCat("record of ", length, " bytes runs past the segment's end"));
  }
  const uint64_t total = head + 1 + length + 4;
  if (record->size() < total) {
    absl::StatusOr<std::string> more =
        seg->reader->Read(offset + record->size(), total - record->size());
    if (!more.ok()) return Annotated(more.status());
    record->append(*more);
    if (record->size() != total) return corrupt("segment shorter than its size");
  }
  const std::string_view checked = std::string_view(*record).substr(head, 1 + length);
  if (Crc32c(checked) != GetU32(record->data() + head + 1 + length)) {
    return corrupt("CRC mismatch");
  }
  const uint8_t encoding = static_cast<uint8_t>(checked[0]);
  if (encoding < 1 || encoding > 3) {
    return corrupt(absl::StrCat("unknown encoding ", encoding));
  }
  BlockChunk chunk;
  chunk.encoding = static_cast<chunkenc::Encoding>(encoding);
  chunk.payload.assign(checked.substr(1));
  return chunk;
}

}  // namespace sprout::metrics::tsdb
