#include "metrics/tsdb/block/writer.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "base/crc32c.h"
#include "base/status.h"
#include "metrics/tsdb/block/encoding.h"

namespace sprout::metrics::tsdb {
namespace {

using block_internal::PutFixed32;
using block_internal::PutFixed64;
using block_internal::PutUvarint;
using block_internal::PutVarint;
using block_internal::UvarintSize;
namespace fmt = block_format;

constexpr size_t kFlushBytes = size_t{1} << 20;

// The minimum payload of each encoding: the sample count (u16), plus the flags byte of the
// histogram encodings.
size_t MinPayload(chunkenc::Encoding e) { return e == chunkenc::Encoding::kXor ? 2 : 3; }

uint64_t RecordSize(size_t payload) { return UvarintSize(payload) + 1 + payload + 4; }

std::string Header(uint32_t magic, uint8_t version) {
  std::string h;
  PutFixed32(&h, magic);
  h.push_back(static_cast<char>(version));
  h.append(3, '\0');
  return h;
}

// Appends to a file through a buffer, counting the offset and a running CRC32C of the current
// section.
class IndexSink {
 public:
  explicit IndexSink(storage::File* file) : file_(file) {}

  absl::Status Append(std::string_view data) {
    crc_ = Crc32c(data, crc_);
    offset_ += data.size();
    buffer_.append(data);
    if (buffer_.size() >= kFlushBytes) return Flush();
    return absl::OkStatus();
  }
  absl::Status Flush() {
    if (buffer_.empty()) return absl::OkStatus();
    absl::Status s = file_->Append(buffer_);
    buffer_.clear();
    return s;
  }
  void BeginSection(fmt::Section s) {
    toc_[s].first = offset_;
    crc_ = 0;
  }
  absl::Status EndSection(fmt::Section s) {
    toc_[s].second = offset_ - toc_[s].first;
    std::string crc;
    PutFixed32(&crc, crc_);
    return Append(crc);
  }
  absl::Status WriteToc() {
    std::string toc;
    for (const auto& [offset, length] : toc_) {
      PutFixed64(&toc, offset);
      PutFixed64(&toc, length);
    }
    PutFixed32(&toc, Crc32c(toc));
    return Append(toc);
  }
  uint64_t offset() const { return offset_; }

 private:
  storage::File* file_;
  std::string buffer_;
  uint64_t offset_ = 0;
  uint32_t crc_ = 0;
  std::pair<uint64_t, uint64_t> toc_[fmt::kNumSections] = {};
};

}  // namespace

std::string BlockPrefix(std::string_view prefix, const Ulid& ulid) {
  if (prefix.empty()) return ulid.ToString();
  std::string out(prefix);
  if (out.back() != '/') out.push_back('/');
  out += ulid.ToString();
  return out;
}

BlockWriter::BlockWriter(storage::Env* env, std::string dir, BlockWriterOptions options)
    : env_(env), dir_(std::move(dir)), options_(std::move(options)) {
  meta_.ulid = options_.ulid.is_zero() ? Ulid::Generate() : options_.ulid;
  meta_.compaction_level = options_.compaction_level;
  meta_.sources = options_.sources.empty() ? std::vector<Ulid>{meta_.ulid} : options_.sources;
  meta_.parents = options_.parents;
  meta_.version = fmt::kMetaVersion;
}

BlockWriter::~BlockWriter() = default;

absl::StatusOr<std::unique_ptr<BlockWriter>> BlockWriter::Create(storage::Env* env, std::string dir,
                                                                 BlockWriterOptions options) {
  if (options.min_time.has_value() != options.max_time.has_value()) {
    return absl::InvalidArgumentError("block writer: min_time and max_time go together");
  }
  if (options.min_time && *options.max_time <= *options.min_time) {
    return absl::InvalidArgumentError(absl::StrCat("block writer: empty range [", *options.min_time,
                                                   ", ", *options.max_time, ")"));
  }
  if (options.segment_size <= fmt::kHeaderSize || options.segment_size > (uint64_t{1} << 32)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "block writer: segment size ", options.segment_size, " not in (8 bytes, 4 GiB]"));
  }
  if (options.compaction_level < 1) {
    return absl::InvalidArgumentError("block writer: compaction level must be at least 1");
  }
  ASSIGN_OR_RETURN(bool exists, env->Exists(dir));
  if (exists) {
    return absl::AlreadyExistsError(absl::StrCat("block writer: ", AV(dir), " exists already"));
  }
  RETURN_IF_ERROR(env->CreateDirs(storage::JoinPath(dir, fmt::kChunksDir)));
  return std::unique_ptr<BlockWriter>(new BlockWriter(env, std::move(dir), std::move(options)));
}

absl::Status BlockWriter::Fail(absl::Status s) {
  if (error_.ok()) error_ = s;
  return s;
}

absl::Status BlockWriter::Validate(const Labels& labels, std::span<const ChunkMeta> chunks) const {
  if (labels.empty()) return absl::InvalidArgumentError("block writer: series without labels");
  if (!series_.empty()) {
    const int c = Labels::Compare(series_.back(), labels);
    if (c >= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("block writer: series ", labels.ToString(),
                       c == 0 ? " added twice" : " out of order: not after ",
                       c == 0 ? "" : series_.back().ToString()));
    }
  }
  if (chunks.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("block writer: series ", labels.ToString(), " has no chunks"));
  }
  for (size_t i = 0; i < chunks.size(); ++i) {
    const ChunkMeta& c = chunks[i];
    const auto fail = [&](std::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat("block writer: series ", labels.ToString(),
                                                     " chunk ", i, " [", c.min_time, ", ",
                                                     c.max_time, "]: ", AV(why)));
    };
    if (c.min_time > c.max_time) return fail("min_time after max_time");
    if (i > 0 && c.min_time <= chunks[i - 1].max_time) {
      return fail(absl::StrCat("overlaps or precedes the previous chunk (ends at ",
                               chunks[i - 1].max_time, ")"));
    }
    if (c.encoding != chunkenc::Encoding::kXor && c.encoding != chunkenc::Encoding::kHistogram &&
        c.encoding != chunkenc::Encoding::kFloatHistogram) {
      return fail(absl::StrCat("unknown encoding ", chunkenc::EncodingName(c.encoding)));
    }
    if (c.bytes.size() < MinPayload(c.encoding)) return fail("payload shorter than its header");
    if (RecordSize(c.bytes.size()) > options_.segment_size - fmt::kHeaderSize) {
      return fail(absl::StrCat(c.bytes.size(), " bytes do not fit a segment"));
    }
    if (options_.min_time &&
        (c.min_time < *options_.min_time || c.max_time >= *options_.max_time)) {
      return fail(absl::StrCat("outside the block's range [", *options_.min_time, ", ",
                               *options_.max_time, ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status BlockWriter::OpenSegment() {
  ++segment_;
  const std::string path =
      storage::JoinPath(storage::JoinPath(dir_, fmt::kChunksDir), fmt::SegmentName(segment_));
  ASSIGN_OR_RETURN(segment_file_, env_->OpenFile(path, storage::OpenMode::kCreateExclusive));
  segment_buffer_ = Header(fmt::kChunksMagic, fmt::kChunksVersion);
  segment_size_ = segment_buffer_.size();
  return absl::OkStatus();
}

absl::Status BlockWriter::FlushSegment() {
  if (segment_buffer_.empty()) return absl::OkStatus();
  absl::Status s = segment_file_->Append(segment_buffer_);
  segment_buffer_.clear();
  return s;
}

absl::Status BlockWriter::CloseSegment() {
  if (segment_file_ == nullptr) return absl::OkStatus();
  RETURN_IF_ERROR(FlushSegment());
  RETURN_IF_ERROR(segment_file_->Sync());
  segment_file_.reset();
  return absl::OkStatus();
}

absl::Status BlockWriter::WriteChunk(const ChunkMeta& chunk, ChunkRef* ref) {
  const uint64_t size = RecordSize(chunk.bytes.size());
  if (segment_file_ == nullptr ||
      (segment_size_ + size > options_.segment_size && segment_size_ > fmt::kHeaderSize)) {
    RETURN_IF_ERROR(CloseSegment());
    RETURN_IF_ERROR(OpenSegment());
  }
  *ref = MakeChunkRef(segment_, static_cast<uint32_t>(segment_size_));
  const size_t start = segment_buffer_.size();
  PutUvarint(&segment_buffer_, chunk.bytes.size());
  const size_t checked = segment_buffer_.size();
  segment_buffer_.push_back(static_cast<char>(chunk.encoding));
  segment_buffer_.append(chunk.bytes);
  PutFixed32(&segment_buffer_, Crc32c(std::string_view(segment_buffer_).substr(checked)));
  segment_size_ += segment_buffer_.size() - start;
  if (segment_buffer_.size() >= kFlushBytes) return FlushSegment();
  return absl::OkStatus();
}

absl::Status BlockWriter::AddSeries(const Labels& labels, std::span<const ChunkMeta> chunks) {
  RETURN_IF_ERROR(error_);
  if (finished_) return absl::FailedPreconditionError("block writer: AddSeries after Finish");
  RETURN_IF_ERROR(Validate(labels, chunks));

  PutUvarint(&chunk_metas_, chunks.size());
  ChunkRef prev_ref = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    const ChunkMeta& c = chunks[i];
    ChunkRef ref;
    if (absl::Status s = WriteChunk(c, &ref); !s.ok()) return Fail(s);
    if (i == 0) {
      PutVarint(&chunk_metas_, c.min_time);
    } else {
      PutUvarint(&chunk_metas_,
                 static_cast<uint64_t>(c.min_time) - static_cast<uint64_t>(chunks[i - 1].max_time));
    }
    PutUvarint(&chunk_metas_,
               static_cast<uint64_t>(c.max_time) - static_cast<uint64_t>(c.min_time));
    chunk_metas_.push_back(static_cast<char>(c.encoding));
    PutUvarint(&chunk_metas_, ref - prev_ref);
    prev_ref = ref;

    const uint64_t samples =
        static_cast<uint8_t>(c.bytes[0]) | (uint64_t{static_cast<uint8_t>(c.bytes[1])} << 8);
    meta_.stats.num_samples += samples;
    if (c.encoding == chunkenc::Encoding::kXor) {
      meta_.stats.num_float_samples += samples;
    } else {
      meta_.stats.num_histogram_samples += samples;
    }
  }
  chunk_meta_ends_.push_back(chunk_metas_.size());
  meta_.stats.num_chunks += chunks.size();
  ++meta_.stats.num_series;

  if (series_.empty()) {
    first_time_ = chunks.front().min_time;
    last_time_ = chunks.back().max_time;
  } else {
    first_time_ = std::min(first_time_, chunks.front().min_time);
    last_time_ = std::max(last_time_, chunks.back().max_time);
  }
  series_.push_back(labels);
  for (Label l : series_.back()) {
    symbols_.insert(l.name);
    symbols_.insert(l.value);
  }
  return absl::OkStatus();
}

absl::Status BlockWriter::WriteIndex() {
  // Symbols, sorted; a symbol's reference is its position.
  std::vector<std::string_view> symbols(symbols_.begin(), symbols_.end());
  std::sort(symbols.begin(), symbols.end());
  absl::flat_hash_map<std::string_view, uint32_t> symbol_ref;
  symbol_ref.reserve(symbols.size());
  for (size_t i = 0; i < symbols.size(); ++i) symbol_ref[symbols[i]] = static_cast<uint32_t>(i);

  const std::string path = storage::JoinPath(dir_, fmt::kIndexFile);
  ASSIGN_OR_RETURN(std::unique_ptr<storage::File> file,
                   env_->OpenFile(path, storage::OpenMode::kCreateExclusive));
  IndexSink out(file.get());
  RETURN_IF_ERROR(out.Append(Header(fmt::kIndexMagic, fmt::kIndexVersion)));

  std::string buf;
  out.BeginSection(fmt::kSymbols);
  PutUvarint(&buf, symbols.size());
  for (std::string_view s : symbols) {
    PutUvarint(&buf, s.size());
    buf.append(s);
    if (buf.size() >= kFlushBytes) {
      RETURN_IF_ERROR(out.Append(buf));
      buf.clear();
    }
  }
  RETURN_IF_ERROR(out.Append(buf));
  buf.clear();
  RETURN_IF_ERROR(out.EndSection(fmt::kSymbols));

  // Series, collecting the postings of every (name, value) pair on the way.
  absl::flat_hash_map<uint64_t, std::vector<uint32_t>> postings;
  std::vector<uint64_t> sampled_offsets;
  out.BeginSection(fmt::kSeries);
  uint64_t written = 0;  // series-section bytes handed to `out`
  std::string entry;
  for (size_t i = 0; i < series_.size(); ++i) {
    if (i % fmt::kSeriesStride == 0) sampled_offsets.push_back(written + buf.size());
    entry.clear();
    PutUvarint(&entry, series_[i].size());
    for (Label l : series_[i]) {
      const uint32_t name = symbol_ref[l.name];
      const uint32_t value = symbol_ref[l.value];
      PutUvarint(&entry, name);
      PutUvarint(&entry, value);
      postings[(uint64_t{name} << 32) | value].push_back(static_cast<uint32_t>(i));
    }
    const uint64_t begin = i == 0 ? 0 : chunk_meta_ends_[i - 1];
    entry.append(chunk_metas_, begin, chunk_meta_ends_[i] - begin);
    PutUvarint(&buf, entry.size());
    buf.append(entry);
    if (buf.size() >= kFlushBytes) {
      written += buf.size();
      RETURN_IF_ERROR(out.Append(buf));
      buf.clear();
    }
  }
  RETURN_IF_ERROR(out.Append(buf));
  buf.clear();
  RETURN_IF_ERROR(out.EndSection(fmt::kSeries));

  out.BeginSection(fmt::kSeriesOffsets);
  PutUvarint(&buf, series_.size());
  PutUvarint(&buf, fmt::kSeriesStride);
  for (size_t i = 0; i < sampled_offsets.size(); ++i) {
    PutUvarint(&buf, sampled_offsets[i] - (i == 0 ? 0 : sampled_offsets[i - 1]));
  }
  RETURN_IF_ERROR(out.Append(buf));
  buf.clear();
  RETURN_IF_ERROR(out.EndSection(fmt::kSeriesOffsets));

  // Postings in (name, value) order: symbol references sort as the strings do.
  std::vector<uint64_t> pairs;
  pairs.reserve(postings.size());
  for (const auto& [pair, list] : postings) pairs.push_back(pair);
  std::sort(pairs.begin(), pairs.end());
  std::vector<uint64_t> list_offsets;
  list_offsets.reserve(pairs.size());
  out.BeginSection(fmt::kPostings);
  uint64_t postings_written = 0;
  for (uint64_t pair : pairs) {
    const std::vector<uint32_t>& list = postings[pair];
    list_offsets.push_back(postings_written + buf.size());
    PutUvarint(&buf, list.size());
    uint32_t prev = 0;
    for (size_t k = 0; k < list.size(); ++k) {
      PutUvarint(&buf, k == 0 ? list[k] : list[k] - prev);
      prev = list[k];
    }
    if (buf.size() >= kFlushBytes) {
      postings_written += buf.size();
      RETURN_IF_ERROR(out.Append(buf));
      buf.clear();
    }
  }
  RETURN_IF_ERROR(out.Append(buf));
  buf.clear();
  RETURN_IF_ERROR(out.EndSection(fmt::kPostings));

  // Label index: per name its values and where their lists start.
  out.BeginSection(fmt::kLabelIndex);
  size_t names = 0;
  for (size_t k = 0; k < pairs.size(); ++k) {
    if (k == 0 || (pairs[k] >> 32) != (pairs[k - 1] >> 32)) ++names;
  }
  PutUvarint(&buf, names);
  uint64_t prev_offset = 0;
  for (size_t k = 0; k < pairs.size();) {
    const uint32_t name = static_cast<uint32_t>(pairs[k] >> 32);
    size_t end = k;
    while (end < pairs.size() && (pairs[end] >> 32) == name) ++end;
    PutUvarint(&buf, name);
    PutUvarint(&buf, end - k);
    uint32_t prev_value = 0;
    for (size_t j = k; j < end; ++j) {
      const uint32_t value = static_cast<uint32_t>(pairs[j]);
      PutUvarint(&buf, j == k ? value : value - prev_value);
      PutUvarint(&buf, list_offsets[j] - prev_offset);
      prev_value = value;
      prev_offset = list_offsets[j];
    }
    k = end;
    if (buf.size() >= kFlushBytes) {
      RETURN_IF_ERROR(out.Append(buf));
      buf.clear();
    }
  }
  RETURN_IF_ERROR(out.Append(buf));
  buf.clear();
  RETURN_IF_ERROR(out.EndSection(fmt::kLabelIndex));

  RETURN_IF_ERROR(out.WriteToc());
  RETURN_IF_ERROR(out.Flush());
  return file->Sync();
}

absl::Status BlockWriter::Finish() {
  RETURN_IF_ERROR(error_);
  if (finished_) return absl::FailedPreconditionError("block writer: Finish called twice");
  if (options_.min_time) {
    meta_.min_time = *options_.min_time;
    meta_.max_time = *options_.max_time;
  } else if (!series_.empty()) {
    meta_.min_time = first_time_;
    meta_.max_time = last_time_ + 1;
  } else {
    return absl::FailedPreconditionError(
        "block writer: a block without series needs its range in the options");
  }
  if (absl::Status s = CloseSegment(); !s.ok()) return Fail(s);
  if (absl::Status s = WriteIndex(); !s.ok()) return Fail(s);

  const std::string meta_path = storage::JoinPath(dir_, fmt::kMetaFile);
  absl::Status s = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::unique_ptr<storage::File> file,
                     env_->OpenFile(meta_path, storage::OpenMode::kCreateExclusive));
    RETURN_IF_ERROR(file->Append(MetaToJson(meta_)));
    RETURN_IF_ERROR(file->Sync());
    RETURN_IF_ERROR(env_->SyncDir(storage::JoinPath(dir_, fmt::kChunksDir)));
    return env_->SyncDir(dir_);
  }();
  if (!s.ok()) return Fail(s);
  finished_ = true;
  // What the index needed is written: drop it.
  series_ = {};
  symbols_ = {};
  chunk_metas_ = {};
  chunk_meta_ends_ = {};
  return absl::OkStatus();
}

absl::StatusOr<std::string> BlockWriter::Upload(objstore::ObjectStore* store,
                                                std::string_view prefix) const {
  if (!finished_) return absl::FailedPreconditionError("block writer: Upload before Finish");
  const std::string block = BlockPrefix(prefix, meta_.ulid);
  const std::string chunks_dir = storage::JoinPath(dir_, fmt::kChunksDir);
  for (uint32_t seg = 1; seg <= segment_; ++seg) {
    const std::string name = fmt::SegmentName(seg);
    RETURN_IF_ERROR(store->PutFile(absl::StrCat(block, "/", AV(fmt::kChunksDir), "/", name),
                                   storage::JoinPath(chunks_dir, name)));
  }
  RETURN_IF_ERROR(store->PutFile(absl::StrCat(block, "/", AV(fmt::kIndexFile)),
                                 storage::JoinPath(dir_, fmt::kIndexFile)));
  // Last: the object that makes the others a block.
  RETURN_IF_ERROR(store->PutFile(absl::StrCat(block, "/", AV(fmt::kMetaFile)),
                                 storage::JoinPath(dir_, fmt::kMetaFile)));
  return block;
}

absl::Status BlockWriter::RemoveLocal() {
  segment_file_.reset();
  const std::string chunks_dir = storage::JoinPath(dir_, fmt::kChunksDir);
  for (const std::string& dir : {chunks_dir, dir_}) {
    absl::StatusOr<std::vector<std::string>> names = env_->ListDir(dir);
    if (!names.ok()) {
      if (absl::IsNotFound(names.status())) continue;
      return names.status();
    }
    for (const std::string& name : *names) {
      if (dir == dir_ && name == fmt::kChunksDir) continue;
      RETURN_IF_ERROR(env_->RemoveFile(storage::JoinPath(dir, name)));
    }
    RETURN_IF_ERROR(env_->RemoveDir(dir));
  }
  return env_->SyncDir(storage::ParentDir(dir_));
}

absl::StatusOr<std::vector<Ulid>> ListBlocks(objstore::ObjectStore* store,
                                             std::string_view prefix) {
  std::string list_prefix(prefix);
  if (!list_prefix.empty() && list_prefix.back() != '/') list_prefix.push_back('/');
  objstore::ListOptions options;
  options.delimited = true;
  ASSIGN_OR_RETURN(objstore::ListResult listed, store->List(list_prefix, options));
  std::vector<Ulid> blocks;
  for (const std::string& p : listed.prefixes) {
    std::string_view name = std::string_view(p).substr(list_prefix.size());
    if (!name.empty() && name.back() == '/') name.remove_suffix(1);
    absl::StatusOr<Ulid> ulid = Ulid::Parse(name);
    if (!ulid.ok()) continue;
    ASSIGN_OR_RETURN(bool complete, store->Exists(absl::StrCat(p, AV(fmt::kMetaFile))));
    if (complete) blocks.push_back(*ulid);
  }
  std::sort(blocks.begin(), blocks.end());
  return blocks;
}

}  // namespace sprout::metrics::tsdb
