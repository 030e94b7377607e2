#include "metrics/tsdb/compact/merge.h"

#include <algorithm>
#include <bit>
#include <memory>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "metrics/tsdb/chunkenc/float_chunk.h"
#include "metrics/tsdb/chunkenc/histogram_chunk.h"

namespace sprout::metrics::tsdb {
namespace {

using chunkenc::AppendResult;
using chunkenc::CounterResetHint;
using chunkenc::Encoding;
using chunkenc::ValueType;

struct Sample {
  int64_t t = 0;
  int rank = 0;
  ValueType type = ValueType::kNone;
  double v = 0;
  chunkenc::Histogram h;
  chunkenc::FloatHistogram fh;
};

template <typename H>
bool SameHistogram(H a, H b) {
  if (std::bit_cast<uint64_t>(a.sum) != std::bit_cast<uint64_t>(b.sum)) return false;
  // The hint an iterator reports depends on the sample's place in its chunk, not on its value.
  a.reset_hint = b.reset_hint;
  a.sum = b.sum = 0;
  return a == b;
}

bool SameSample(const Sample& a, const Sample& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case ValueType::kFloat:
      return std::bit_cast<uint64_t>(a.v) == std::bit_cast<uint64_t>(b.v);
    case ValueType::kHistogram:
      return SameHistogram(a.h, b.h);
    case ValueType::kFloatHistogram:
      return SameHistogram(a.fh, b.fh);
    default:
      return false;
  }
}

// The hint a new chunk starting with a sample of hint `h` gets: resets and gauges are kept,
// "not a reset" is not (its predecessor in the merged order may be another sample).
CounterResetHint StartHint(CounterResetHint h) {
  return h == CounterResetHint::kCounterReset || h == CounterResetHint::kGauge
             ? h
             : CounterResetHint::kUnknown;
}

// Re-encodes samples in time order into chunks of at most kMergedChunkSamples.
class ChunkEncoder {
 public:
  ChunkEncoder(std::vector<ChunkMeta>* out, std::deque<std::string>* storage, MergeStats* stats)
      : out_(out), storage_(storage), stats_(stats) {}

  absl::Status Add(const Sample& s) {
    if (s.type != type_ || n_ >= kMergedChunkSamples) Flush();
    switch (s.type) {
      case ValueType::kFloat:
        if (n_ == 0) f_ = std::make_unique<chunkenc::FloatChunk>();
        if (!f_->Append(s.t, s.v)) return absl::InternalError("merge: float chunk full");
        break;
      case ValueType::kHistogram:
        RETURN_IF_ERROR(AddHistogram(s.t, s.h, h_));
        break;
      case ValueType::kFloatHistogram:
        RETURN_IF_ERROR(AddHistogram(s.t, s.fh, fh_));
        break;
      default:
        return absl::InternalError("merge: sample without a type");
    }
    type_ = s.type;
    ++n_;
    return absl::OkStatus();
  }

  void Flush() {
    if (n_ == 0) return;
    int64_t min_t = 0, max_t = 0;
    Encoding enc = Encoding::kNone;
    std::string_view bytes;
    switch (type_) {
      case ValueType::kFloat:
        min_t = f_->min_time(), max_t = f_->max_time(), enc = Encoding::kXor, bytes = f_->bytes();
        break;
      case ValueType::kHistogram:
        min_t = h_->min_time(), max_t = h_->max_time(), enc = Encoding::kHistogram;
        bytes = h_->bytes();
        break;
      default:
        min_t = fh_->min_time(), max_t = fh_->max_time(), enc = Encoding::kFloatHistogram;
        bytes = fh_->bytes();
        break;
    }
    storage_->emplace_back(bytes);
    ChunkMeta meta;
    meta.min_time = min_t;
    meta.max_time = max_t;
    meta.encoding = enc;
    meta.bytes = storage_->back();
    out_->push_back(meta);
    ++stats_->chunks_written;
    n_ = 0;
    type_ = ValueType::kNone;
  }

 private:
  template <typename H>
  absl::Status AddHistogram(int64_t t, const H& h,
                            std::unique_ptr<chunkenc::BasicHistogramChunk<H>>& chunk) {
    using Chunk = chunkenc::BasicHistogramChunk<H>;
    if (n_ == 0) chunk = std::make_unique<Chunk>(StartHint(h.reset_hint));
    AppendResult r = chunk->Append(t, h);
    if (r == AppendResult::kAppended) return absl::OkStatus();
    if (r == AppendResult::kInvalid) {
      return absl::DataLossError(absl::StrCat("merge: histogram at ", t, " has an invalid layout"));
    }
    // Layout change, counter reset, gauge change, full: the sample starts a new chunk.
    const CounterResetHint hint = r == AppendResult::kCounterReset ? CounterResetHint::kCounterReset
                                                                   : StartHint(h.reset_hint);
    Flush();  // type_ is this histogram type (Add flushed on a type change)
    chunk = std::make_unique<Chunk>(hint);
    if (chunk->Append(t, h) != AppendResult::kAppended) {
      return absl::DataLossError(absl::StrCat("merge: histogram at ", t, " cannot start a chunk"));
    }
    return absl::OkStatus();
  }

  std::vector<ChunkMeta>* const out_;
  std::deque<std::string>* const storage_;
  MergeStats* const stats_;
  ValueType type_ = ValueType::kNone;
  int n_ = 0;
  std::unique_ptr<chunkenc::FloatChunk> f_;
  std::unique_ptr<chunkenc::HistogramChunk> h_;
  std::unique_ptr<chunkenc::FloatHistogramChunk> fh_;
};

absl::Status Reencode(std::span<const SourceChunk> run, std::vector<ChunkMeta>* out,
                      std::deque<std::string>* storage, MergeStats* stats) {
  std::vector<Sample> samples;
  for (const SourceChunk& c : run) {
    ++stats->chunks_reencoded;
    auto it = chunkenc::NewIterator(c.meta.encoding, c.meta.bytes);
    for (ValueType vt = it->Next(); vt != ValueType::kNone; vt = it->Next()) {
      Sample& s = samples.emplace_back();
      s.rank = c.rank;
      s.type = vt;
      switch (vt) {
        case ValueType::kFloat:
          std::tie(s.t, s.v) = it->At();
          break;
        case ValueType::kHistogram:
          s.t = it->AtHistogram(&s.h);
          break;
        default:
          s.t = it->AtFloatHistogram(&s.fh);
          break;
      }
    }
    if (!it->Err().ok()) {
      return absl::DataLossError(absl::StrCat("merge: chunk [", c.meta.min_time, ", ",
                                              c.meta.max_time, "]: ", it->Err().message()));
    }
  }
  // Time order; at one timestamp the newest block's sample first.
  std::stable_sort(samples.begin(), samples.end(), [](const Sample& a, const Sample& b) {
    if (a.t != b.t) return a.t < b.t;
    return a.rank > b.rank;
  });
  ChunkEncoder encoder(out, storage, stats);
  for (size_t i = 0; i < samples.size();) {
    const Sample& kept = samples[i];
    size_t j = i + 1;
    for (; j < samples.size() && samples[j].t == kept.t; ++j) {
      ++(SameSample(kept, samples[j]) ? stats->duplicate_samples : stats->conflicting_samples);
    }
    RETURN_IF_ERROR(encoder.Add(kept));
    i = j;
  }
  encoder.Flush();
  return absl::OkStatus();
}

}  // namespace

MergeStats& MergeStats::operator+=(const MergeStats& o) {
  series += o.series;
  chunks_copied += o.chunks_copied;
  chunks_reencoded += o.chunks_reencoded;
  chunks_written += o.chunks_written;
  duplicate_samples += o.duplicate_samples;
  conflicting_samples += o.conflicting_samples;
  return *this;
}

absl::Status MergeSeriesChunks(std::vector<SourceChunk> chunks, std::vector<ChunkMeta>* out,
                               std::deque<std::string>* storage, MergeStats* stats) {
  out->clear();
  std::sort(chunks.begin(), chunks.end(), [](const SourceChunk& a, const SourceChunk& b) {
    if (a.meta.min_time != b.meta.min_time) return a.meta.min_time < b.meta.min_time;
    if (a.meta.max_time != b.meta.max_time) return a.meta.max_time < b.meta.max_time;
    return a.rank > b.rank;
  });
  for (size_t i = 0; i < chunks.size();) {
    int64_t run_max = chunks[i].meta.max_time;
    size_t j = i + 1;
    for (; j < chunks.size() && chunks[j].meta.min_time <= run_max; ++j) {
      run_max = std::max(run_max, chunks[j].meta.max_time);
    }
    if (j == i + 1) {
      ChunkMeta meta = chunks[i].meta;
      meta.ref = 0;
      out->push_back(meta);
      ++stats->chunks_copied;
      ++stats->chunks_written;
    } else {
      RETURN_IF_ERROR(
          Reencode(std::span<const SourceChunk>(chunks.data() + i, j - i), out, storage, stats));
    }
    i = j;
  }
  return absl::OkStatus();
}

absl::Status MergeBlocks(std::span<const BlockReader* const> blocks, BlockWriter* writer,
                         MergeStats* stats) {
  struct Cursor {
    const BlockReader* reader = nullptr;
    int rank = 0;
    uint64_t next = 0;
    bool valid = false;
    Labels labels;
    std::vector<ChunkMeta> chunks;

    absl::Status Advance() {
      valid = next < reader->index().num_series();
      if (!valid) return absl::OkStatus();
      return reader->Series(next++, &labels, &chunks);
    }
  };
  std::vector<const BlockReader*> sorted(blocks.begin(), blocks.end());
  std::sort(sorted.begin(), sorted.end(), [](const BlockReader* a, const BlockReader* b) {
    return a->meta().ulid < b->meta().ulid;
  });
  std::vector<Cursor> cursors(sorted.size());
  for (size_t i = 0; i < sorted.size(); ++i) {
    cursors[i].reader = sorted[i];
    cursors[i].rank = static_cast<int>(i);
    RETURN_IF_ERROR(cursors[i].Advance());
  }
  std::deque<std::string> payloads;  // the input chunks of the current series
  std::deque<std::string> storage;   // its re-encoded chunks
  std::vector<SourceChunk> sources;
  std::vector<ChunkMeta> merged;
  while (true) {
    const Cursor* first = nullptr;
    for (const Cursor& c : cursors) {
      if (c.valid && (first == nullptr || Labels::Compare(c.labels, first->labels) < 0)) first = &c;
    }
    if (first == nullptr) break;
    const Labels labels = first->labels;
    payloads.clear();
    storage.clear();
    sources.clear();
    for (Cursor& c : cursors) {
      if (!c.valid || c.labels != labels) continue;
      for (const ChunkMeta& meta : c.chunks) {
        absl::StatusOr<BlockChunk> chunk = c.reader->ReadChunk(meta.ref);
        if (!chunk.ok()) return chunk.status();
        if (chunk->encoding != meta.encoding) {
          return absl::DataLossError(
              absl::StrCat("block ", c.reader->prefix(), ": series ", labels.ToString(),
                           ": chunk encoding differs between index and segment"));
        }
        payloads.push_back(std::move(chunk->payload));
        SourceChunk& s = sources.emplace_back();
        s.meta = meta;
        s.meta.bytes = payloads.back();
        s.rank = c.rank;
      }
      RETURN_IF_ERROR(c.Advance());
    }
    absl::Status st = MergeSeriesChunks(sources, &merged, &storage, stats);
    if (!st.ok()) {
      return absl::DataLossError(absl::StrCat("series ", labels.ToString(), ": ", st.message()));
    }
    RETURN_IF_ERROR(writer->AddSeries(labels, merged));
    ++stats->series;
  }
  return absl::OkStatus();
}

}  // namespace sprout::metrics::tsdb
