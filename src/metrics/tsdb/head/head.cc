#include "metrics/tsdb/head/head.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <deque>
#include <new>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "metrics/tsdb/chunkenc/float_chunk.h"
#include "metrics/tsdb/chunkenc/histogram_chunk.h"
#include "metrics/tsdb/compact/merge.h"
#include "metrics/tsdb/head/raw_labels.h"

namespace sprout::metrics::tsdb {
namespace {

using chunkenc::CounterResetHint;
using chunkenc::Encoding;
using chunkenc::FloatChunk;
using chunkenc::FloatHistogram;
using chunkenc::FloatHistogramChunk;
using chunkenc::Histogram;
using chunkenc::HistogramChunk;
using chunkenc::ValueType;

enum SampleKind : uint8_t { kNoSample = 0, kFloatKind = 1, kHistogramKind = 2, kFloatHistKind = 3 };

// Replay refuses a series id more than this far above the highest one defined so far: ids are
// handed out in order, and only series created by appends whose WAL write failed (or whose
// records a failed sync cut) leave gaps, never a million in a row, so such an id is damage.
// (Memory does not depend on it: only the pages of slots that hold a series are allocated, and
// a checkpoint's ids may lie far apart.)
constexpr uint32_t kMaxReplayIdGap = 1 << 20;

// Aliases beyond this many are not remembered (a sender that shuffles its labels on every
// request then pays a decode per series, never unbounded memory).
constexpr size_t kMaxAliases = 1 << 20;

inline uint64_t Bits(double d) {
  uint64_t b;
  std::memcpy(&b, &d, 8);
  return b;
}
inline double FromBits(uint64_t b) {
  double d;
  std::memcpy(&d, &b, 8);
  return d;
}

inline int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// A content hash of a histogram: the "value" a duplicate timestamp is compared by.
template <typename H>
uint64_t HistogramHash(const H& h) {
  uint64_t x = HashString(static_cast<uint64_t>(h.schema),
                          std::string_view(reinterpret_cast<const char*>(&h.zero_threshold), 8));
  auto mix = [&](const void* p, size_t n) {
    x = HashString(x, std::string_view(static_cast<const char*>(p), n));
  };
  mix(&h.zero_count, sizeof(h.zero_count));
  mix(&h.count, sizeof(h.count));
  mix(&h.sum, sizeof(h.sum));
  mix(h.positive_spans.data(), h.positive_spans.size() * sizeof(chunkenc::BucketSpan));
  mix(h.negative_spans.data(), h.negative_spans.size() * sizeof(chunkenc::BucketSpan));
  mix(h.positive_buckets.data(), h.positive_buckets.size() * sizeof(h.positive_buckets[0]));
  mix(h.negative_buckets.data(), h.negative_buckets.size() * sizeof(h.negative_buckets[0]));
  mix(h.custom_values.data(), h.custom_values.size() * sizeof(double));
  return x;
}

CounterResetHint FirstHint(CounterResetHint sample_hint) {
  if (sample_hint == CounterResetHint::kGauge || sample_hint == CounterResetHint::kCounterReset) {
    return sample_hint;
  }
  return CounterResetHint::kUnknown;
}

// Prometheus's model.Duration text: "2h", "1h30m", "10s", "1d", "0s".
std::string PromDuration(int64_t ms) {
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  struct Unit {
    const char* name;
    int64_t ms;
  };
  static constexpr Unit kUnits[] = {{"y", 365LL * 24 * 3600 * 1000},
                                    {"w", 7LL * 24 * 3600 * 1000},
                                    {"d", 24LL * 3600 * 1000},
                                    {"h", 3600LL * 1000},
                                    {"m", 60LL * 1000},
                                    {"s", 1000},
                                    {"ms", 1}};
  for (const Unit& u : kUnits) {
    if (ms >= u.ms) {
      absl::StrAppend(&out, ms / u.ms, u.name);
      ms %= u.ms;
    }
  }
  return out;
}

// Go's time.RFC3339Nano in UTC: trailing zeros of the fraction dropped, no fraction when zero.
std::string RfcTime(int64_t ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

std::string SampleSuffix(int64_t t, const Labels& series) {
  return absl::StrCat(". The affected sample has timestamp ", RfcTime(t), " and is from series ",
                      series.ToString());
}

// Mimir's id for a custom-bucket validation failure (its globalerror mapping of Prometheus's
// histogram errors): too few bounds is `native-histogram-custom-buckets-mismatch`, a negative
// span offset `native-histogram-span-negative-offset`, an infinite last bound
// `native-histogram-custom-buckets-infinite`; the rest (bounds not ascending or NaN, a zero bucket,
// a negative side, custom bounds on an exponential schema) `native-histogram-custom-buckets-invalid`.
std::string_view CustomBucketsErrorId(std::string_view detail) {
  auto has = [detail](std::string_view what) { return detail.find(what) != std::string_view::npos; };
  if (has("custom bounds are too few")) return "native-histogram-custom-buckets-mismatch";
  if (has("offset is negative")) return "native-histogram-span-negative-offset";
  if (has("must be finite")) return "native-histogram-custom-buckets-infinite";
  return "native-histogram-custom-buckets-invalid";
}

// WAL checkpoints: `<wal>/checkpoint.NNNNNNNN` directories (a segment log of their own),
// written as `checkpoint.NNNNNNNN.tmp` and renamed.
constexpr std::string_view kCheckpointPrefix = "checkpoint.";
constexpr std::string_view kTmpSuffix = ".tmp";

std::string CheckpointName(uint64_t segment) { return absl::StrFormat("checkpoint.%08d", segment); }

// The checkpoint's number, or nullopt for other names; *tmp when it is an unfinished one.
std::optional<uint64_t> ParseCheckpointName(std::string_view name, bool* tmp) {
  if (!name.starts_with(kCheckpointPrefix)) return std::nullopt;
  name.remove_prefix(kCheckpointPrefix.size());
  *tmp = name.ends_with(kTmpSuffix);
  if (*tmp) name.remove_suffix(kTmpSuffix.size());
  if (name.empty() || name.size() > 19) return std::nullopt;
  uint64_t n = 0;
  for (char c : name) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n == 0) return std::nullopt;
  return n;
}

// Removes a directory and the files in it (checkpoints hold no subdirectories).
absl::Status RemoveTree(storage::Env* env, const std::string& dir) {
  absl::StatusOr<std::vector<std::string>> names = env->ListDir(dir);
  if (!names.ok()) return names.status();
  for (const std::string& name : *names) {
    if (absl::Status s = env->RemoveFile(storage::JoinPath(dir, name)); !s.ok()) return s;
  }
  return env->RemoveDir(dir);
}

// Removes the complete checkpoints numbered below `keep` and every unfinished one. Best
// effort: what is left is removed next time, and replay ignores it.
void RemoveCheckpointsBefore(storage::Env* env, const std::string& wal_dir, uint64_t keep) {
  absl::StatusOr<std::vector<std::string>> names = env->ListDir(wal_dir);
  if (!names.ok()) return;
  for (const std::string& name : *names) {
    bool tmp = false;
    std::optional<uint64_t> n = ParseCheckpointName(name, &tmp);
    if (n.has_value() && (tmp || *n < keep)) {
      (void)RemoveTree(env, storage::JoinPath(wal_dir, name));
    }
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Series

struct TenantHead::SealedChunk {
  int64_t min_t = 0;
  int64_t max_t = 0;
  std::unique_ptr<char[]> data;
  uint32_t size = 0;
  Encoding encoding = Encoding::kNone;
  std::string_view bytes() const { return std::string_view(data.get(), size); }
};

// A series' sealed chunks, oldest first: one pointer in the series (most series of a young head
// have none), pointing at a block that holds the count, the capacity and the chunks. Chunks
// move when the block grows; their byte buffers never do.
class TenantHead::SealedList {
 public:
  SealedList() = default;
  SealedList(const SealedList&) = delete;
  SealedList& operator=(const SealedList&) = delete;
  ~SealedList() { Clear(); }

  bool empty() const { return rep_ == nullptr || rep_->size == 0; }
  size_t size() const { return rep_ == nullptr ? 0 : rep_->size; }
  SealedChunk* begin() { return rep_ == nullptr ? nullptr : rep_->items(); }
  SealedChunk* end() { return rep_ == nullptr ? nullptr : rep_->items() + rep_->size; }
  const SealedChunk* begin() const { return rep_ == nullptr ? nullptr : rep_->items(); }
  const SealedChunk* end() const { return rep_ == nullptr ? nullptr : rep_->items() + rep_->size; }
  const SealedChunk& front() const { return *begin(); }
  const SealedChunk& back() const { return *(end() - 1); }
  // Bytes of the block (for memory accounting).
  size_t allocated_bytes() const {
    return rep_ == nullptr ? 0 : sizeof(Rep) + size_t{rep_->cap} * sizeof(SealedChunk);
  }

  void push_back(SealedChunk&& c) {
    if (rep_ == nullptr || rep_->size == rep_->cap) Grow();
    new (rep_->items() + rep_->size) SealedChunk(std::move(c));
    ++rep_->size;
  }
  // Removes the chunks before `keep` (a position in [begin(), end()]).
  void EraseFront(const SealedChunk* keep) {
    const size_t k = static_cast<size_t>(keep - begin());
    if (k == 0) return;
    if (k == size()) {
      Clear();
      return;
    }
    SealedChunk* items = rep_->items();
    std::move(items + k, items + rep_->size, items);
    for (size_t i = rep_->size - k; i < rep_->size; ++i) items[i].~SealedChunk();
    rep_->size -= static_cast<uint32_t>(k);
  }
  // Destroys every chunk and frees the block.
  void Clear() {
    if (rep_ == nullptr) return;
    for (size_t i = 0; i < rep_->size; ++i) rep_->items()[i].~SealedChunk();
    ::operator delete(rep_);
    rep_ = nullptr;
  }

 private:
  struct Rep {
    uint32_t size;
    uint32_t cap;
    SealedChunk* items() { return reinterpret_cast<SealedChunk*>(this + 1); }
  };
  static_assert(sizeof(Rep) % alignof(SealedChunk) == 0);

  void Grow() {
    const uint32_t cap = rep_ == nullptr ? 2 : rep_->cap * 2;
    auto* bigger =
        static_cast<Rep*>(::operator new (sizeof(Rep) + size_t{cap} * sizeof(SealedChunk)));
    bigger->size = 0;
    bigger->cap = cap;
    if (rep_ != nullptr) {
      for (uint32_t i = 0; i < rep_->size; ++i) {
        new (bigger->items() + i) SealedChunk(std::move(rep_->items()[i]));
      }
      bigger->size = rep_->size;
      Clear();
    }
    rep_ = bigger;
  }

  Rep* rep_ = nullptr;
};

// One sealed out-of-order chunk: XOR-encoded floats of one chunk range, time order.
struct TenantHead::OooChunk {
  int64_t min_t = 0;
  int64_t max_t = 0;
  uint64_t seq = 0;  // sealing order over the head (next_ooo_seq_)
  std::string bytes;
};

// A series' out-of-order data: sealed chunks in sealing order (they may overlap one another and
// the in-order chunks), then the sorted buffer of at most out_of_order_cap_max samples.
struct TenantHead::OooData {
  std::vector<OooChunk> chunks;
  std::vector<FloatSample> buffer;

  bool empty() const { return chunks.empty() && buffer.empty(); }
  // The times held; false when none.
  bool Range(int64_t* mint, int64_t* maxt) const {
    if (empty()) return false;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (const OooChunk& c : chunks) {
      lo = std::min(lo, c.min_t);
      hi = std::max(hi, c.max_t);
    }
    if (!buffer.empty()) {
      lo = std::min(lo, buffer.front().t);
      hi = std::max(hi, buffer.back().t);
    }
    *mint = lo;
    *maxt = hi;
    return true;
  }
  size_t allocated() const {
    size_t n = sizeof(OooData) + chunks.capacity() * sizeof(OooChunk) +
               buffer.capacity() * sizeof(FloatSample);
    for (const OooChunk& c : chunks) n += c.bytes.capacity();
    return n;
  }
};

struct TenantHead::MemSeries {
  Labels labels;
  // Appender state (append_mu_ or replay): what the next sample is checked against.
  int64_t last_t = INT64_MIN;
  uint64_t last_value = 0;  // float bits, or HistogramHash of the last histogram
  uint32_t logged_epoch = 0;
  // 1 + the index in Staged::items of this series' latest sample in the request being staged;
  // 0 when it has none (reset before the next request).
  uint32_t staged_at = 0;
  uint8_t last_kind = kNoSample;
  // Set (append section) when Truncate removed the series; its slot and labels stay.
  bool deleted = false;
  // The series has an OooData in ooo_ (stripe lock, set by the appender or replay).
  bool has_ooo = false;
  // Chunks (stripe lock; the appender reads them without it).
  Encoding open_encoding = Encoding::kNone;
  void* open = nullptr;
  SealedList sealed;

  ~MemSeries() { DeleteOpen(); }

  FloatChunk* float_chunk() const { return static_cast<FloatChunk*>(open); }
  HistogramChunk* hist_chunk() const { return static_cast<HistogramChunk*>(open); }
  FloatHistogramChunk* fhist_chunk() const { return static_cast<FloatHistogramChunk*>(open); }

  void DeleteOpen() {
    switch (open_encoding) {
      case Encoding::kXor:
        delete float_chunk();
        break;
      case Encoding::kHistogram:
        delete hist_chunk();
        break;
      case Encoding::kFloatHistogram:
        delete fhist_chunk();
        break;
      default:
        break;
    }
    open = nullptr;
    open_encoding = Encoding::kNone;
  }

  template <typename F>
  auto WithOpen(F f) const {
    switch (open_encoding) {
      case Encoding::kHistogram:
        return f(*hist_chunk());
      case Encoding::kFloatHistogram:
        return f(*fhist_chunk());
      default:
        return f(*float_chunk());
    }
  }

  int open_samples() const {
    return open == nullptr ? 0 : WithOpen([](const auto& c) { return c.num_samples(); });
  }
  int64_t open_min() const {
    return WithOpen([](const auto& c) { return c.min_time(); });
  }
  int64_t open_max() const {
    return WithOpen([](const auto& c) { return c.max_time(); });
  }
  std::string_view open_bytes() const {
    return WithOpen([](const auto& c) { return c.bytes(); });
  }
  size_t open_allocated() const {
    if (open == nullptr) return 0;
    switch (open_encoding) {
      case Encoding::kHistogram:
        return sizeof(HistogramChunk) + hist_chunk()->allocated_bytes();
      case Encoding::kFloatHistogram:
        return sizeof(FloatHistogramChunk) + fhist_chunk()->allocated_bytes();
      default:
        return sizeof(FloatChunk) + float_chunk()->allocated_bytes();
    }
  }

  // The times of the samples held; false when there is none. Needs the stripe lock.
  bool Range(int64_t* mint, int64_t* maxt) const {
    const bool has_open = open != nullptr && open_samples() > 0;
    if (sealed.empty() && !has_open) return false;
    *mint = sealed.empty() ? open_min() : sealed.front().min_t;
    *maxt = has_open ? open_max() : sealed.back().max_t;
    return true;
  }
};

// The per-request scratch of the append section.
struct TenantHead::Staged {
  // One accepted sample, in request order (the order of the apply and, per series, of the WAL).
  struct Item {
    uint32_t id;
    uint8_t kind;    // kFloatKind, kHistogramKind, kFloatHistKind
    bool duplicate;  // same timestamp and value as the last one: logged, not stored again
    // The WAL writes each round's samples, histograms and float histograms records in that
    // order; a sample whose type comes earlier in it than its series' previous one in this
    // request goes to the next round, so that the WAL keeps every series' request order.
    uint32_t round;
    int64_t t;
    double v;                  // floats
    const HistogramSample* h;  // histograms
    bool start_zero = false;   // an injected start-timestamp zero (counted apart)
    bool ooo = false;          // an out-of-order float: InsertOoo (never a start zero)
  };
  struct Ex {
    uint32_t id;
    const Exemplar* e;
  };
  struct Undo {
    uint32_t id;
    uint8_t last_kind;
    int64_t last_t;
    uint64_t last_value;
  };
  std::vector<uint32_t> log_series;   // series records this request writes
  std::vector<uint32_t> used_series;  // every series the request appends to
  std::vector<Item> items;
  uint32_t rounds = 1;
  std::vector<Ex> exemplars;
  std::vector<Undo> undo;
  wal::RecordBuilder series_rec, ex_rec, meta_rec;
  // Per round: samples, histograms, float histograms (3 × rounds, grown on demand).
  std::vector<wal::RecordBuilder> sample_recs;
  // The group handed to the segment log (kept to reuse their memory).
  std::vector<std::pair<uint8_t, const wal::RecordBuilder*>> recs;
  std::vector<std::string_view> parts;
  std::vector<storage::SegmentLog::RecordRef> refs;

  void Clear() {
    log_series.clear();
    used_series.clear();
    items.clear();
    rounds = 1;
    exemplars.clear();
    undo.clear();
  }
};

// Heterogeneous keys of the canonical series set: a set of ids hashed by their labels' hash.
namespace {
struct LabelsKey {
  uint64_t hash;
  const Labels* labels;
};
}  // namespace

// Labels::Hash() is stable (unseeded, also on disk elsewhere): senders choose labels, so the
// set mixes it with a per-process random seed, or colliding label sets could be chosen to
// flood one probe sequence.
struct TenantHead::SeriesKeyHash {
  using is_transparent = void;
  const TenantHead* head = nullptr;
  static size_t Mix(uint64_t labels_hash) { return SeededLabelsHash(labels_hash); }
  size_t operator()(uint32_t id) const ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return Mix(head->series(id)->labels.Hash());
  }
  size_t operator()(const LabelsKey& k) const { return Mix(k.hash); }
};

struct TenantHead::SeriesKeyEq {
  using is_transparent = void;
  const TenantHead* head = nullptr;
  bool operator()(uint32_t a, uint32_t b) const { return a == b; }
  bool operator()(uint32_t id, const LabelsKey& k) const ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return head->series(id)->labels == *k.labels;
  }
  bool operator()(const LabelsKey& k, uint32_t id) const { return (*this)(id, k); }
};

// ---------------------------------------------------------------------------------------------
// Refusal messages

std::string Refusal::Message() const {
  switch (kind) {
    case RefusalKind::kOutOfOrder:
      return absl::StrCat(
          "the sample has been rejected because another sample with a more recent timestamp has "
          "already been ingested and out-of-order samples are not allowed "
          "(err-mimir-sample-out-of-order)",
          SampleSuffix(timestamp, series));
    case RefusalKind::kTooOld:
      return absl::StrCat(
          "the sample has been rejected because its timestamp is too old "
          "(err-mimir-sample-timestamp-too-old)",
          SampleSuffix(timestamp, series));
    case RefusalKind::kTooOldOooWindow:
      return absl::StrCat(
          "the sample has been rejected because another sample with a more recent timestamp has "
          "already been ingested and this sample is beyond the out-of-order time window of ",
          PromDuration(limit), " (err-mimir-sample-timestamp-too-old)",
          SampleSuffix(timestamp, series));
    case RefusalKind::kDuplicate:
      return absl::StrCat(
          "the sample has been rejected because another sample with the same timestamp, but a "
          "different value, has already been ingested (err-mimir-sample-duplicate-timestamp)",
          SampleSuffix(timestamp, series));
    case RefusalKind::kSeriesLimit:
      return absl::StrCat(
          "per-user series limit of ", limit,
          " exceeded (err-mimir-max-series-per-user). To adjust the related per-tenant limit, "
          "configure -ingester.max-global-series-per-user, or contact your service "
          "administrator.");
    case RefusalKind::kMetricSeriesLimit:
      return absl::StrCat(
          "per-metric series limit of ", limit,
          " exceeded (err-mimir-max-series-per-metric). To adjust the related per-tenant limit, "
          "configure -ingester.max-global-series-per-metric, or contact your service "
          "administrator. This is for series ",
          series.ToString());
    case RefusalKind::kInvalidLabels:
      return detail;
    case RefusalKind::kInvalidHistogram:
      if (std::string_view(detail).starts_with("custom buckets: ") ||
          std::string_view(detail).starts_with("histogram with exponential schema")) {
        // Mimir's ingester: Prometheus's validation text, the sample, the series, an id.
        return absl::StrCat("err: ", std::string(detail), ". timestamp=", RfcTime(timestamp),
                            ", series=", series.ToString(), " (err-mimir-",
                            std::string(CustomBucketsErrorId(detail)), ")");
      }
      return absl::StrCat("invalid native histogram: ", detail, SampleSuffix(timestamp, series));
  }
  return detail;
}

// ---------------------------------------------------------------------------------------------
// Open and replay

namespace {
uint64_t NextInstanceId() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1);
}
}  // namespace

TenantHead::TenantHead(HeadOptions options)
    : options_(std::move(options)),
      staged_(std::make_unique<Staged>()),
      max_series_(options_.max_series),
      max_series_per_metric_(options_.max_series_per_metric),
      ooo_window_ms_(options_.out_of_order_time_window_ms),
      instance_id_(NextInstanceId()),
      stripes_(new absl::Mutex[kStripes]),
      exemplars_(options_.max_exemplars) {
  by_labels_ = std::make_unique<SeriesSet>(0, SeriesKeyHash{this}, SeriesKeyEq{this});
}

TenantHead::~TenantHead() {
  if (wal_ != nullptr) wal_->Close();
}

absl::StatusOr<std::unique_ptr<TenantHead>> TenantHead::Open(HeadOptions options) {
  if (options.dir.empty()) return absl::InvalidArgumentError("metrics head: no directory");
  if (options.env == nullptr) return absl::InvalidArgumentError("metrics head: no env");
  if (options.chunk_range_ms <= 0 || options.samples_per_chunk <= 0) {
    return absl::InvalidArgumentError("metrics head: chunk range and size must be positive");
  }
  if (options.samples_per_chunk > FloatChunk::kMaxSamples ||
      options.samples_per_chunk > HistogramChunk::kMaxSamples) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics head: samples_per_chunk ", options.samples_per_chunk,
                     " exceeds a chunk's capacity of ", FloatChunk::kMaxSamples, " samples"));
  }
  if (options.out_of_order_cap_max < 1 || options.out_of_order_cap_max > 255) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics head: out_of_order_cap_max ", options.out_of_order_cap_max, " is outside 1..255"));
  }
  std::unique_ptr<TenantHead> head(new TenantHead(std::move(options)));
  const HeadOptions& o = head->options_;
  if (absl::Status s = o.env->CreateDirs(o.dir); !s.ok()) return s;
  absl::StatusOr<std::unique_ptr<storage::FileLock>> lock =
      o.env->LockFile(storage::JoinPath(o.dir, "LOCK"));
  if (!lock.ok()) return lock.status();
  head->lock_ = *std::move(lock);

  storage::SegmentLogOptions log_options;
  log_options.env = o.env;
  log_options.directory = storage::JoinPath(o.dir, "wal");
  log_options.segment_size = o.wal_segment_size;
  // kEveryAppend is the head's group commit (WaitDurable) over a log synced by hand, so that
  // the fsync happens outside the append section.
  log_options.sync = o.wal_sync == storage::SyncPolicy::kInterval ? storage::SyncPolicy::kInterval
                                                                  : storage::SyncPolicy::kManual;
  log_options.sync_interval = o.wal_sync_interval;
  TenantHead* raw = head.get();
  log_options.on_damage = [raw](const storage::LogDamage& damage) {
    raw->wal_epoch_.fetch_add(1);
    raw->damage_reports_.fetch_add(1);
    {
      absl::MutexLock lock(&raw->failed_mu_);
      raw->last_damage_ = absl::StrCat(damage.file, " offset ", damage.offset, ", ", damage.bytes,
                                       " bytes: ", damage.reason);
    }
    if (raw->options_.on_wal_damage) raw->options_.on_wal_damage(damage);
  };
  absl::StatusOr<std::unique_ptr<storage::SegmentLog>> wal =
      storage::SegmentLog::Open(std::move(log_options));
  if (!wal.ok()) return wal.status();
  head->wal_ = *std::move(wal);
  if (absl::Status s = head->Replay(); !s.ok()) return s;
  return head;
}

absl::Status TenantHead::Replay() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  const absl::Time start = absl::Now();
  uint64_t checkpoint = 0;
  if (absl::Status s = ReplayCheckpoint(&checkpoint); !s.ok()) return s;
  std::unique_ptr<storage::SegmentLog::Reader> reader = wal_->NewReader(
      checkpoint == 0 ? std::nullopt : std::optional(storage::LogPosition{checkpoint, 0}));
  while (true) {
    absl::StatusOr<std::optional<storage::LogRecord>> record = reader->Next();
    if (!record.ok()) return record.status();
    if (!record->has_value()) break;
    ++replay_stats_.records;
    ReplayRecord(**record);
    if (replay_stats_.corrupt_records == UINT64_MAX) return NewerWalFormat();
  }
  const uint32_t epoch = wal_epoch_.load();
  ForEachSlot([epoch](uint32_t, MemSeries* s) {
    s->logged_epoch = epoch;
    return true;
  });
  if (checkpoint != 0) {
    // Appends must land where the next replay reads: from segment `checkpoint` on. Truncate
    // starts that segment before it writes the checkpoint, but a directory may lack it (lost,
    // removed by hand): then the log would go on writing below the checkpoint, and every
    // acknowledged append would be skipped at the next replay.
    const std::vector<uint64_t> segments = wal_->segments();
    if (segments.empty() || segments.back() < checkpoint) {
      if (absl::Status s = wal_->StartSegment(checkpoint); !s.ok()) return s;
    }
    // A crash between the checkpoint's rename and the clean-up leaves these behind.
    (void)wal_->RemoveSegmentsBefore(checkpoint);
    RemoveCheckpointsBefore(options_.env, storage::JoinPath(options_.dir, "wal"), checkpoint);
  }
  replay_stats_.damage_reports = damage_reports_.load();
  replay_stats_.duration = absl::Now() - start;
  return absl::OkStatus();
}

absl::Status TenantHead::NewerWalFormat() const {
  return absl::FailedPreconditionError(absl::StrCat(
      "metrics head ", options_.dir, ": the WAL holds records of a newer format version"));
}

void TenantHead::ReplayRecord(const storage::LogRecord& record) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  absl::Status status;
  auto known = [&](uint32_t id) -> MemSeries* {
    MemSeries* s = FindSlot(id);
    return s == nullptr || s->labels.empty() ? nullptr : s;
  };
  // Checks order like Append (without the too-old bound); true when the sample is to be stored.
  auto admit = [&](MemSeries& s, int64_t t, uint8_t kind, uint64_t value) {
    if (s.last_kind != kNoSample && t <= s.last_t) {
      if (t < s.last_t || s.last_kind != kind || s.last_value != value) {
        ++replay_stats_.refused_samples;
      }
      return false;
    }
    s.last_t = t;
    s.last_kind = kind;
    s.last_value = value;
    return true;
  };
  switch (record.type) {
    case wal::kSeries: {
      std::vector<wal::SeriesEntry> entries;
      status = wal::DecodeSeries(record.data, &entries);
      for (wal::SeriesEntry& e : entries) {
        if (e.labels.empty()) continue;
        const uint32_t defined = num_series_.load();  // 1 + the highest id defined so far
        // A checkpoint (written by this head, CRC-checked) holds the series left after
        // truncations, whose ids may start far above 0.
        if (e.id == UINT32_MAX ||
            (!replaying_checkpoint_ && e.id >= defined && e.id - defined >= kMaxReplayIdGap)) {
          ++replay_stats_.ids_out_of_range;
          continue;
        }
        if (const MemSeries* slot = FindSlot(e.id); slot != nullptr && !slot->labels.empty()) {
          if (slot->labels != e.labels) ++replay_stats_.corrupt_records;
          continue;  // logged again (a later request re-logged it): nothing new
        }
        const uint64_t hash = e.labels.Hash();
        if (FindByLabels(e.labels, hash).has_value()) {
          ++replay_stats_.corrupt_records;  // one label set under two ids: keep the first
          continue;
        }
        CreateSeries(e.labels, hash, e.id);
        ++replay_stats_.series;
      }
      break;
    }
    case wal::kSamples: {
      std::vector<wal::SampleEntry> entries;
      status = wal::DecodeSamples(record.data, &entries);
      for (const wal::SampleEntry& e : entries) {
        MemSeries* s = known(e.id);
        if (s == nullptr) {
          ++replay_stats_.unknown_series_samples;
          continue;
        }
        const bool same_again =
            e.t == s->last_t && s->last_kind == kFloatKind && s->last_value == e.value_bits;
        const bool older = s->last_kind != kNoSample && e.t <= s->last_t;
        if (!same_again && (older || e.t < min_valid_time_.load(std::memory_order_relaxed))) {
          // Older than the series' newest, or than the bound a cut logged before it (kBounds):
          // the WAL holds only accepted samples, so this one was stored out of order (or is the
          // second copy of a group written twice, which the check for a sample at its timestamp
          // drops).
          absl::MutexLock lock(&Stripe(e.id));
          if (InsertOoo(e.id, *s, e.t, FromBits(e.value_bits))) {
            NoteTimes(e.t);
            ++replay_stats_.samples;
            ++replay_stats_.ooo_samples;
          }
          continue;
        }
        if (!admit(*s, e.t, kFloatKind, e.value_bits)) continue;
        absl::MutexLock lock(&Stripe(e.id));
        AppendFloat(*s, e.t, FromBits(e.value_bits));
        NoteTimes(e.t);
        ++replay_stats_.samples;
      }
      break;
    }
    case wal::kHistograms: {
      std::vector<wal::HistogramEntry> entries;
      status = wal::DecodeHistograms(record.data, &entries);
      for (const wal::HistogramEntry& e : entries) {
        MemSeries* s = known(e.id);
        if (s == nullptr) {
          ++replay_stats_.unknown_series_samples;
          continue;
        }
        if (!chunkenc::ValidateLayout(e.h).ok() || !chunkenc::ValidateCustomBuckets(e.h).ok()) {
          ++replay_stats_.refused_samples;
          continue;
        }
        if (!admit(*s, e.t, kHistogramKind, HistogramHash(e.h))) continue;
        absl::MutexLock lock(&Stripe(e.id));
        AppendHistogram(*s, e.t, e.h);
        NoteTimes(e.t);
        ++replay_stats_.histograms;
      }
      break;
    }
    case wal::kFloatHistograms: {
      std::vector<wal::FloatHistogramEntry> entries;
      status = wal::DecodeFloatHistograms(record.data, &entries);
      for (const wal::FloatHistogramEntry& e : entries) {
        MemSeries* s = known(e.id);
        if (s == nullptr) {
          ++replay_stats_.unknown_series_samples;
          continue;
        }
        if (!chunkenc::ValidateLayout(e.h).ok() || !chunkenc::ValidateCustomBuckets(e.h).ok()) {
          ++replay_stats_.refused_samples;
          continue;
        }
        if (!admit(*s, e.t, kFloatHistKind, HistogramHash(e.h))) continue;
        absl::MutexLock lock(&Stripe(e.id));
        AppendFloatHistogram(*s, e.t, e.h);
        NoteTimes(e.t);
        ++replay_stats_.histograms;
      }
      break;
    }
    case wal::kExemplars: {
      std::vector<wal::ExemplarEntry> entries;
      status = wal::DecodeExemplars(record.data, &entries);
      for (const wal::ExemplarEntry& e : entries) {
        if (known(e.id) == nullptr) {
          ++replay_stats_.unknown_series_samples;
          continue;
        }
        if (exemplars_.Add(e.id, Exemplar{e.labels, FromBits(e.value_bits), e.t}) ==
            ExemplarStore::AddResult::kAdded) {
          ++replay_stats_.exemplars;
        }
      }
      break;
    }
    case wal::kMetadata: {
      std::vector<wal::MetadataEntry> entries;
      status = wal::DecodeMetadata(record.data, &entries);
      absl::MutexLock lock(&metadata_mu_);
      for (wal::MetadataEntry& e : entries) {
        metadata_[e.metric_family] = MetricMetadata{e.metric_family, e.type, e.unit, e.help};
        ++replay_stats_.metadata;
      }
      break;
    }
    case wal::kBounds: {
      std::vector<wal::BoundsEntry> entries;
      status = wal::DecodeBounds(record.data, &entries);
      for (const wal::BoundsEntry& e : entries) {
        if (e.min_valid_time > min_valid_time_.load()) min_valid_time_.store(e.min_valid_time);
        if (e.newest_sample > newest_ever_.load()) newest_ever_.store(e.newest_sample);
      }
      break;
    }
    default:
      status = absl::DataLossError(absl::StrCat("unknown record type ", record.type));
      break;
  }
  if (absl::IsFailedPrecondition(status)) {
    replay_stats_.corrupt_records = UINT64_MAX;  // newer format: Replay refuses to go on
  } else if (!status.ok()) {
    ++replay_stats_.corrupt_records;
    if (options_.on_wal_damage) {
      options_.on_wal_damage(storage::LogDamage{"", record.position.offset, record.data.size(), 1,
                                                std::string(status.message())});
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Series table and chunks

TenantHead::MemSeries* TenantHead::series(uint32_t id) const ABSL_NO_THREAD_SAFETY_ANALYSIS {
  return &pages_[id >> kPageBits][id & ((1u << kPageBits) - 1)];
}

TenantHead::MemSeries* TenantHead::SeriesForRead(uint32_t id) const {
  absl::ReaderMutexLock lock(&pages_mu_);
  return &pages_[id >> kPageBits][id & ((1u << kPageBits) - 1)];
}

TenantHead::MemSeries* TenantHead::FindSlot(uint32_t id) const ABSL_NO_THREAD_SAFETY_ANALYSIS {
  const uint32_t page = id >> kPageBits;
  if (page >= pages_.size() || pages_[page] == nullptr) return nullptr;
  return &pages_[page][id & ((1u << kPageBits) - 1)];
}

template <typename F>
void TenantHead::ForEachSlot(F&& f) const ABSL_NO_THREAD_SAFETY_ANALYSIS {
  const uint64_t n = num_series_.load();
  for (size_t p = 0; p < pages_.size(); ++p) {
    MemSeries* page = pages_[p].get();
    if (page == nullptr) continue;
    const uint64_t first = uint64_t{p} << kPageBits;
    const uint64_t end = std::min(n, first + (uint64_t{1} << kPageBits));
    for (uint64_t id = first; id < end; ++id) {
      if (!f(static_cast<uint32_t>(id), &page[id - first])) return;
    }
  }
}

absl::Mutex& TenantHead::Stripe(uint32_t id) const { return stripes_[id & (kStripes - 1)]; }

std::optional<uint32_t> TenantHead::FindByLabels(const Labels& labels, uint64_t hash) const
    ABSL_NO_THREAD_SAFETY_ANALYSIS {
  auto it = by_labels_->find(LabelsKey{hash, &labels});
  if (it == by_labels_->end()) return std::nullopt;
  return *it;
}

uint32_t TenantHead::CreateSeries(const Labels& labels, uint64_t hash,
                                  std::optional<uint32_t> id) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  const uint32_t new_id = id.value_or(num_series_.load());
  const uint32_t page = new_id >> kPageBits;
  if (page >= pages_.size() || pages_[page] == nullptr) {
    absl::MutexLock lock(&pages_mu_);
    if (page >= pages_.size()) pages_.resize(size_t{page} + 1);
    pages_[page] = std::make_unique<MemSeries[]>(size_t{1} << kPageBits);
  }
  series(new_id)->labels = labels;
  if (new_id >= num_series_.load()) num_series_.store(new_id + 1);
  series_count_.fetch_add(1);
  {
    absl::MutexLock lock(&per_metric_mu_);
    ++series_per_metric_[std::string(labels.Get("__name__"))];
  }
  postings_.Add(new_id, labels);
  by_labels_->insert(new_id);
  // The encoding senders use for the canonical order: known from the first request on, also
  // for series created by replay or by in-process ingest.
  thread_local std::string canonical;
  canonical.clear();
  AppendRawLabels(labels, canonical);
  NoteRawLabels(SeededRawBytesHash(canonical), new_id);
  return new_id;
}

size_t TenantHead::KnownShardOf(uint64_t raw_hash) {
  return static_cast<size_t>(raw_hash >> 58) & (kKnownShards - 1);
}

void TenantHead::NoteRawLabels(uint64_t raw_hash, uint32_t id) {
  KnownShard& shard = known_[KnownShardOf(raw_hash)];
  absl::MutexLock lock(&shard.mu);
  shard.ids.insert_or_assign(raw_hash, id);
}

std::optional<uint32_t> TenantHead::LookupRawLabels(std::string_view raw) const {
  return LookupRawLabels(raw, SeededRawBytesHash(raw));
}

std::optional<uint32_t> TenantHead::LookupRawLabels(std::string_view raw, uint64_t hash) const {
  uint32_t id;
  {
    const KnownShard& shard = known_[KnownShardOf(hash)];
    absl::ReaderMutexLock lock(&shard.mu);
    auto it = shard.ids.find(hash);
    if (it == shard.ids.end()) return std::nullopt;
    id = it->second;
  }
  // A series' labels never change once it is in a shard (removal keeps them).
  if (!RawLabelsEqual(raw, SeriesForRead(id)->labels)) return std::nullopt;
  return id;
}

bool TenantHead::NeedsCut(const MemSeries& s, int64_t t) const {
  if (s.open == nullptr) return true;
  const int n = s.open_samples();
  if (n == 0) return false;
  if (n >= options_.samples_per_chunk) return true;
  const int64_t range = options_.chunk_range_ms;
  const int64_t block = FloorDiv(s.open_min(), range);
  if (block >= INT64_MAX / range - 1) return false;  // the last block of the int64 range
  return t >= (block + 1) * range;
}

void TenantHead::Seal(MemSeries& s) {
  // Every slot of every series page is one MemSeries: keep it small.
  static_assert(sizeof(MemSeries) <= 56);
  if (s.open == nullptr) return;
  if (s.open_samples() > 0) {
    SealedChunk c;
    c.min_t = s.open_min();
    c.max_t = s.open_max();
    const std::string_view bytes = s.open_bytes();
    c.data.reset(new char[bytes.size()]);
    std::memcpy(c.data.get(), bytes.data(), bytes.size());
    c.size = static_cast<uint32_t>(bytes.size());
    c.encoding = s.open_encoding;
    s.sealed.push_back(std::move(c));
  }
  s.DeleteOpen();
}

void TenantHead::AppendFloat(MemSeries& s, int64_t t, double v) {
  if (s.open_encoding != Encoding::kXor || NeedsCut(s, t)) {
    Seal(s);
    s.open = new FloatChunk();
    s.open_encoding = Encoding::kXor;
  }
  if (s.float_chunk()->Append(t, v)) return;
  // Full (only if samples_per_chunk were above the chunk's capacity, which Open refuses): never
  // drop the sample, cut a chunk.
  Seal(s);
  s.open = new FloatChunk();
  const bool appended = s.float_chunk()->Append(t, v);
  assert(appended);
  (void)appended;
}

void TenantHead::AppendHistogram(MemSeries& s, int64_t t, const Histogram& h) {
  if (s.open_encoding != Encoding::kHistogram || NeedsCut(s, t)) {
    Seal(s);
    s.open = new HistogramChunk(FirstHint(h.reset_hint));
    s.open_encoding = Encoding::kHistogram;
  }
  const chunkenc::AppendResult r = s.hist_chunk()->Append(t, h);
  if (r == chunkenc::AppendResult::kAppended || r == chunkenc::AppendResult::kInvalid) return;
  Seal(s);
  s.open = new HistogramChunk(r == chunkenc::AppendResult::kCounterReset
                                  ? CounterResetHint::kCounterReset
                                  : FirstHint(h.reset_hint));
  s.open_encoding = Encoding::kHistogram;
  // A fresh chunk takes any sample whose layout is valid (checked before it got here).
  const chunkenc::AppendResult fresh = s.hist_chunk()->Append(t, h);
  assert(fresh == chunkenc::AppendResult::kAppended);
  (void)fresh;
}

void TenantHead::AppendFloatHistogram(MemSeries& s, int64_t t, const FloatHistogram& h) {
  if (s.open_encoding != Encoding::kFloatHistogram || NeedsCut(s, t)) {
    Seal(s);
    s.open = new FloatHistogramChunk(FirstHint(h.reset_hint));
    s.open_encoding = Encoding::kFloatHistogram;
  }
  const chunkenc::AppendResult r = s.fhist_chunk()->Append(t, h);
  if (r == chunkenc::AppendResult::kAppended || r == chunkenc::AppendResult::kInvalid) return;
  Seal(s);
  s.open = new FloatHistogramChunk(r == chunkenc::AppendResult::kCounterReset
                                       ? CounterResetHint::kCounterReset
                                       : FirstHint(h.reset_hint));
  s.open_encoding = Encoding::kFloatHistogram;
  // A fresh chunk takes any sample whose layout is valid (checked before it got here).
  const chunkenc::AppendResult fresh = s.fhist_chunk()->Append(t, h);
  assert(fresh == chunkenc::AppendResult::kAppended);
  (void)fresh;
}

TenantHead::OooData* TenantHead::Ooo(uint32_t id) const {
  absl::ReaderMutexLock lock(&ooo_mu_);
  auto it = ooo_.find(id);
  return it == ooo_.end() ? nullptr : it->second.get();
}

namespace {
// True when the chunk holds a sample at exactly `t`.
bool ChunkHasSampleAt(Encoding encoding, std::string_view bytes, int64_t t) {
  std::unique_ptr<chunkenc::Iterator> it = chunkenc::NewIterator(encoding, bytes);
  return it->Seek(t) != ValueType::kNone && it->AtT() == t;
}
}  // namespace

bool TenantHead::HasSampleAt(const MemSeries& s, const OooData* d, int64_t t) const {
  // In-order chunks are in time order and do not overlap: the one that may hold t.
  const SealedChunk* after =
      std::upper_bound(s.sealed.begin(), s.sealed.end(), t,
                       [](int64_t v, const SealedChunk& c) { return v < c.min_t; });
  if (after != s.sealed.begin()) {
    const SealedChunk& c = *(after - 1);
    if (t <= c.max_t && ChunkHasSampleAt(c.encoding, c.bytes(), t)) return true;
  }
  if (s.open != nullptr && s.open_samples() > 0 && s.open_min() <= t && t <= s.open_max() &&
      ChunkHasSampleAt(s.open_encoding, s.open_bytes(), t)) {
    return true;
  }
  if (d == nullptr) return false;
  auto b = std::lower_bound(d->buffer.begin(), d->buffer.end(), t,
                            [](const FloatSample& x, int64_t v) { return x.t < v; });
  // Sealed out-of-order chunks are not searched (they may overlap one another: the cost would
  // grow with the late samples held); as in Prometheus, a duplicate of a sample in one of them
  // is stored, and every read and cut keeps the first (MergeHeadCopies' ranks).
  return b != d->buffer.end() && b->t == t;
}

void TenantHead::SealOoo(OooData& d) {
  // One chunk per chunk range (as in-order chunks: each belongs to one future block).
  const int64_t range = options_.chunk_range_ms;
  for (size_t i = 0; i < d.buffer.size();) {
    const int64_t block = FloorDiv(d.buffer[i].t, range);
    FloatChunk chunk;
    OooChunk c;
    c.min_t = d.buffer[i].t;
    for (; i < d.buffer.size() && FloorDiv(d.buffer[i].t, range) == block; ++i) {
      const bool appended = chunk.Append(d.buffer[i].t, d.buffer[i].v);
      assert(appended);  // at most 255 samples
      (void)appended;
      c.max_t = d.buffer[i].t;
    }
    c.seq = next_ooo_seq_++;
    c.bytes = std::string(chunk.bytes());
    d.chunks.push_back(std::move(c));
  }
  d.buffer.clear();
}

bool TenantHead::InsertOoo(uint32_t id, MemSeries& s, int64_t t,
                           double v) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  OooData* d = s.has_ooo ? Ooo(id) : nullptr;
  if (HasSampleAt(s, d, t)) return false;
  if (d == nullptr) {
    absl::MutexLock lock(&ooo_mu_);
    std::unique_ptr<OooData>& slot = ooo_[id];
    if (slot == nullptr) slot = std::make_unique<OooData>();
    d = slot.get();
    s.has_ooo = true;
  }
  auto pos = std::upper_bound(d->buffer.begin(), d->buffer.end(), t,
                              [](int64_t v, const FloatSample& x) { return v < x.t; });
  d->buffer.insert(pos, FloatSample{t, v});
  if (d->buffer.size() >= static_cast<size_t>(options_.out_of_order_cap_max)) SealOoo(*d);
  return true;
}

void TenantHead::NoteTimes(int64_t t) {
  int64_t cur = max_time_.load(std::memory_order_relaxed);
  while (t > cur && !max_time_.compare_exchange_weak(cur, t)) {
  }
  cur = newest_ever_.load(std::memory_order_relaxed);
  while (t > cur && !newest_ever_.compare_exchange_weak(cur, t)) {
  }
  cur = min_time_.load(std::memory_order_relaxed);
  while (t < cur && !min_time_.compare_exchange_weak(cur, t)) {
  }
}

// ---------------------------------------------------------------------------------------------
// Append

namespace {
// The samples and histograms of `in` other than injected start zeros, and the first one's time.
std::pair<uint32_t, int64_t> SentSamples(const AppendSeries& in) {
  uint32_t count = 0;
  int64_t first = 0;
  for (const FloatSample& s : in.samples) {
    if (s.start_zero) continue;
    if (count++ == 0) first = s.t;
  }
  for (const HistogramSample& h : in.histograms) {
    if (h.start_zero) continue;
    if (count++ == 0) first = h.t;
  }
  return {count, first};
}
}  // namespace

AppendResult TenantHead::Append(const AppendRequest& request) {
  AppendResult result;
  std::optional<storage::SegmentLog::AppendMark> mark;  // the records this request wrote
  {
    absl::MutexLock section(&append_mu_);
    if (wal_failed_.load()) {
      result.status = wal_status();
      return result;
    }
    Staged& st = *staged_;
    for (uint32_t id : st.used_series) series(id)->staged_at = 0;
    st.Clear();
    if (repair_pending_.exchange(false)) (void)wal_->Sync();  // cuts what the failure left
    if (CheckApplied(last_applied_, wal_->cuts())) {
      result.status = wal_status();
      return result;
    }
    uint32_t epoch = wal_epoch_.load();
    const int64_t head_max = max_time_.load();
    int64_t min_valid = min_valid_time_.load();
    if (head_max != INT64_MIN) {
      const int64_t half = options_.chunk_range_ms / 2;
      min_valid = std::max(min_valid, head_max < INT64_MIN + half ? INT64_MIN : head_max - half);
    }
    const int64_t window = ooo_window_ms_.load(std::memory_order_relaxed);
    const uint64_t max_series = max_series_.load(std::memory_order_relaxed);
    const uint64_t max_per_metric = max_series_per_metric_.load(std::memory_order_relaxed);
    // Older than this is beyond the out-of-order window (saturated near INT64_MIN), measured
    // from the newest sample this head took, even if a truncation emptied it since (a flushed
    // head must not take a late sample of any age).
    const int64_t newest = std::max(head_max, newest_ever_.load());
    const int64_t window_min = newest == INT64_MIN || window <= 0 ? INT64_MIN
                               : newest < INT64_MIN + window      ? INT64_MIN
                                                                  : newest - window;

    auto refuse = [&](RefusalKind kind, uint32_t index, uint32_t sample, bool hist, uint32_t count,
                      int64_t t, const Labels& labels) {
      Refusal r;
      r.kind = kind;
      r.series_index = index;
      r.sample_index = sample;
      r.is_histogram = hist;
      r.count = count;
      r.timestamp = t;
      r.series = labels;
      if (kind == RefusalKind::kTooOldOooWindow) r.limit = window;
      result.samples_refused += count;
      result.refusals.push_back(std::move(r));
    };
    // The verdict for one sample against the series' last one; kNoSample: accept.
    enum class Verdict { kAccept, kDuplicateSame, kRefuse, kOutOfOrder };
    auto check = [&](const MemSeries& s, int64_t t, uint8_t kind, uint64_t value,
                     RefusalKind* why) {
      const bool older = s.last_kind != kNoSample && t < s.last_t;
      if (window > 0) {
        if (older || t < min_valid) {
          // Prometheus's appendable(): what cannot go in order goes out of order when inside
          // the window (floats only: out-of-order native histograms are refused).
          if (t < window_min) {
            *why = RefusalKind::kTooOldOooWindow;
            return Verdict::kRefuse;
          }
          if (kind != kFloatKind) {
            *why = RefusalKind::kOutOfOrder;
            return Verdict::kRefuse;
          }
          return Verdict::kOutOfOrder;
        }
      } else {
        if (t < min_valid) {
          *why = RefusalKind::kTooOld;
          return Verdict::kRefuse;
        }
        if (older) {
          *why = RefusalKind::kOutOfOrder;
          return Verdict::kRefuse;
        }
      }
      if (s.last_kind != kNoSample && t == s.last_t) {
        if (s.last_kind == kind && s.last_value == value) return Verdict::kDuplicateSame;
        *why = RefusalKind::kDuplicate;
        return Verdict::kRefuse;
      }
      return Verdict::kAccept;
    };

    // An injected start-timestamp zero is stored only strictly after the series' last sample
    // (out of order never, even inside an out-of-order window: Prometheus's AppendCTZeroSample)
    // and where check() accepts it; otherwise it is dropped silently, never refused.
    auto start_zero_fits = [&](const MemSeries& s, int64_t t, uint8_t kind, uint64_t value) {
      RefusalKind ignored;
      if ((s.last_kind != kNoSample && t <= s.last_t) ||
          check(s, t, kind, value, &ignored) != Verdict::kAccept) {
        ++result.start_zeros_dropped;
        return false;
      }
      return true;
    };

    // Stages an accepted sample after the request's earlier ones (see Staged::Item::round).
    auto stage = [&](MemSeries& s, Staged::Item item) {
      item.round = 0;
      if (s.staged_at != 0) {
        const Staged::Item& prev = st.items[s.staged_at - 1];
        item.round = prev.round + (item.kind < prev.kind ? 1 : 0);
        st.rounds = std::max(st.rounds, item.round + 1);
      }
      st.items.push_back(item);
      s.staged_at = static_cast<uint32_t>(st.items.size());
    };

    for (size_t i = 0; i < request.series.size(); ++i) {
      const AppendSeries& in = request.series[i];
      const uint32_t index = static_cast<uint32_t>(i);
      // What a series-level refusal stands for: the sender's samples (injected start zeros are
      // never refused nor counted) and the first one's time.
      const auto [total, first_t] = SentSamples(in);
      // 1. Find the series: the caller's hint, by the raw bytes, an alias, then the canonical
      // labels. A removed series (Truncate) is never resolved: its labels lead to a new one.
      std::optional<uint32_t> id;
      std::optional<uint64_t> raw_hash;
      if (in.known_series != kNoSeries && request.hints_head == instance_id_) {
        const MemSeries* hinted = FindSlot(in.known_series);
        if (hinted != nullptr && !hinted->deleted && !hinted->labels.empty()) {
          id = in.known_series;
        }
      }
      if (!id.has_value() && !in.raw_labels.empty()) {
        raw_hash = SeededRawBytesHash(in.raw_labels);
        if (std::optional<uint32_t> known = LookupRawLabels(in.raw_labels, *raw_hash);
            known.has_value() && !series(*known)->deleted) {
          id = known;
        } else if (auto a = aliases_.find(*raw_hash);
                   a != aliases_.end() && a->second.raw == in.raw_labels) {
          id = a->second.id;
        }
      }
      if (!id.has_value()) {
        Labels labels = in.labels;
        if (labels.empty()) {
          LabelsOrError decoded;
          if (request.decode_labels) {
            decoded = request.decode_labels(i);
          } else {
            decoded.error = "series has no labels";
          }
          if (!decoded.error.empty() || decoded.labels.empty()) {
            Refusal r;
            r.kind = RefusalKind::kInvalidLabels;
            r.series_index = index;
            r.count = total;
            r.timestamp = first_t;
            r.detail = decoded.error.empty() ? "series has no labels" : decoded.error;
            result.samples_refused += total;
            result.refusals.push_back(std::move(r));
            continue;
          }
          labels = std::move(decoded.labels);
        }
        const uint64_t hash = labels.Hash();
        id = FindByLabels(labels, hash);
        if (!id.has_value()) {
          // Ids are 32-bit and never reused (README "Deferred"); UINT32_MAX is never written.
          const bool ids_exhausted = num_series_.load() == UINT32_MAX;
          if (ids_exhausted || (max_series != 0 && series_count_.load() >= max_series)) {
            refuse(RefusalKind::kSeriesLimit, index, 0, in.samples.empty(), total, first_t, labels);
            result.refusals.back().limit =
                static_cast<int64_t>(ids_exhausted ? series_count_.load() : max_series);
            continue;
          }
          if (max_per_metric != 0 && SeriesOfMetric(labels) >= max_per_metric) {
            refuse(RefusalKind::kMetricSeriesLimit, index, 0, in.samples.empty(), total, first_t,
                   labels);
            result.refusals.back().limit = static_cast<int64_t>(max_per_metric);
            continue;
          }
          id = CreateSeries(labels, hash, std::nullopt);
          ++result.series_created;
        }
        if (raw_hash.has_value()) {
          if (RawLabelsEqual(in.raw_labels, labels)) {
            NoteRawLabels(*raw_hash, *id);
          } else if (aliases_.size() < kMaxAliases) {
            aliases_[*raw_hash] = Alias{*id, std::string(in.raw_labels)};
          }
        }
      }

      // 2. Check its samples in order against its last one (and the request's earlier ones).
      MemSeries& s = *series(*id);
      if (s.logged_epoch != epoch) {
        s.logged_epoch = epoch;
        st.log_series.push_back(*id);
      }
      st.used_series.push_back(*id);
      st.undo.push_back(Staged::Undo{*id, s.last_kind, s.last_t, s.last_value});
      for (size_t j = 0; j < in.samples.size(); ++j) {
        const FloatSample& smp = in.samples[j];
        const uint64_t bits = Bits(smp.v);
        RefusalKind why;
        if (smp.start_zero && !start_zero_fits(s, smp.t, kFloatKind, bits)) continue;
        const Verdict v = check(s, smp.t, kFloatKind, bits, &why);
        if (v == Verdict::kRefuse) {
          refuse(why, index, static_cast<uint32_t>(j), false, 1, smp.t, s.labels);
          continue;
        }
        if (v == Verdict::kOutOfOrder) {
          // Logged like any sample; stored by InsertOoo at the apply (the series' newest stays).
          stage(s, Staged::Item{*id, kFloatKind, false, 0, smp.t, smp.v, nullptr, false, true});
          continue;
        }
        stage(s, Staged::Item{*id, kFloatKind, v == Verdict::kDuplicateSame, 0, smp.t, smp.v,
                              nullptr, smp.start_zero});
        s.last_t = smp.t;
        s.last_kind = kFloatKind;
        s.last_value = bits;
      }
      for (size_t j = 0; j < in.histograms.size(); ++j) {
        const HistogramSample& hs = in.histograms[j];
        const bool is_float = std::holds_alternative<FloatHistogram>(hs.h);
        absl::Status layout = is_float ? chunkenc::ValidateLayout(std::get<FloatHistogram>(hs.h))
                                       : chunkenc::ValidateLayout(std::get<Histogram>(hs.h));
        if (layout.ok()) {
          layout = is_float ? chunkenc::ValidateCustomBuckets(std::get<FloatHistogram>(hs.h))
                            : chunkenc::ValidateCustomBuckets(std::get<Histogram>(hs.h));
        }
        if (!layout.ok()) {
          if (hs.start_zero) {  // the zero of a bad histogram: the histogram is refused itself
            ++result.start_zeros_dropped;
            continue;
          }
          refuse(RefusalKind::kInvalidHistogram, index, static_cast<uint32_t>(j), true, 1, hs.t,
                 s.labels);
          result.refusals.back().detail = std::string(layout.message());
          continue;
        }
        const uint8_t kind = is_float ? kFloatHistKind : kHistogramKind;
        const uint64_t value = is_float ? HistogramHash(std::get<FloatHistogram>(hs.h))
                                        : HistogramHash(std::get<Histogram>(hs.h));
        if (hs.start_zero && !start_zero_fits(s, hs.t, kind, value)) continue;
        RefusalKind why;
        const Verdict v = check(s, hs.t, kind, value, &why);
        if (v == Verdict::kRefuse) {
          refuse(why, index, static_cast<uint32_t>(j), true, 1, hs.t, s.labels);
          continue;
        }
        stage(s, Staged::Item{*id, kind, v == Verdict::kDuplicateSame, 0, hs.t, 0, &hs,
                              hs.start_zero});
        s.last_t = hs.t;
        s.last_kind = kind;
        s.last_value = value;
      }
      if (!in.exemplars.empty()) {
        if (exemplars_.capacity() == 0) {
          result.exemplars_dropped += in.exemplars.size();
        } else {
          for (const Exemplar& e : in.exemplars) st.exemplars.push_back(Staged::Ex{*id, &e});
        }
      }
    }

    // 3. One group of WAL records: series, then per round samples, histograms and float
    // histograms (one round unless a series' types go back in that order), exemplars, metadata.
    auto write =
        [&](bool all_series) -> absl::StatusOr<std::optional<storage::SegmentLog::AppendMark>> {
      st.series_rec.Start();
      for (uint32_t id : all_series ? st.used_series : st.log_series) {
        st.series_rec.AddSeries(id, series(id)->labels.bytes());
      }
      if (st.sample_recs.size() < 3 * size_t{st.rounds}) st.sample_recs.resize(3 * st.rounds);
      for (size_t k = 0; k < 3 * size_t{st.rounds}; ++k) st.sample_recs[k].Start();
      for (const Staged::Item& it : st.items) {
        wal::RecordBuilder& rec = st.sample_recs[3 * size_t{it.round} + it.kind - kFloatKind];
        if (it.kind == kFloatKind) {
          rec.AddSample(it.id, it.t, Bits(it.v));
        } else if (it.kind == kFloatHistKind) {
          rec.AddFloatHistogram(it.id, it.t, std::get<FloatHistogram>(it.h->h));
        } else {
          rec.AddHistogram(it.id, it.t, std::get<Histogram>(it.h->h));
        }
      }
      st.ex_rec.Start();
      for (const Staged::Ex& e : st.exemplars) {
        st.ex_rec.AddExemplar(e.id, e.e->t, Bits(e.e->value), e.e->labels.bytes());
      }
      st.meta_rec.Start();
      for (const MetricMetadata& m : request.metadata) {
        st.meta_rec.AddMetadata(m.metric_family, m.type, m.unit, m.help);
      }
      static constexpr uint8_t kSampleTypes[3] = {wal::kSamples, wal::kHistograms,
                                                  wal::kFloatHistograms};
      std::vector<std::pair<uint8_t, const wal::RecordBuilder*>>& recs = st.recs;
      recs.clear();
      recs.emplace_back(wal::kSeries, &st.series_rec);
      for (size_t k = 0; k < 3 * size_t{st.rounds}; ++k) {
        recs.emplace_back(kSampleTypes[k % 3], &st.sample_recs[k]);
      }
      recs.emplace_back(wal::kExemplars, &st.ex_rec);
      recs.emplace_back(wal::kMetadata, &st.meta_rec);
      std::vector<std::string_view>& parts = st.parts;
      parts.assign(recs.size(), std::string_view());  // sized before refs point into it
      std::vector<storage::SegmentLog::RecordRef>& refs = st.refs;
      refs.clear();
      for (size_t k = 0; k < recs.size(); ++k) {
        if (recs[k].second->entries() == 0) continue;
        parts[k] = recs[k].second->data();
        refs.push_back(storage::SegmentLog::RecordRef{recs[k].first, std::span(&parts[k], 1)});
      }
      if (refs.empty()) return std::nullopt;
      return wal_->AppendMarked(refs);
    };

    // A failed write normally leaves nothing of its group (the log cuts it at its next write),
    // but a group that crossed a segment rotation may leave its first part in the finished
    // segment, and a rewritten group's first copy is in the log: the log's size tells.
    const uint64_t wal_bytes_before = wal_->size_bytes();
    bool group_may_be_logged = false;
    absl::StatusOr<std::optional<storage::SegmentLog::AppendMark>> written = write(false);
    if (written.ok() && wal_epoch_.load() != epoch) {
      group_may_be_logged = true;
      // The log cut records while this group was written (a sync that failed in the
      // background): the series this request relies on may have lost their records. Write the
      // group again with all of them (replay counts the first copy's samples of those series as
      // unknown).
      epoch = wal_epoch_.load();
      written = write(true);
      for (uint32_t id : st.used_series) series(id)->logged_epoch = epoch;
    }
    if (!written.ok()) {
      for (auto it = st.undo.rbegin(); it != st.undo.rend(); ++it) {
        MemSeries& s = *series(it->id);
        s.last_kind = it->last_kind;
        s.last_t = it->last_t;
        s.last_value = it->last_value;
      }
      for (uint32_t id : st.log_series) series(id)->logged_epoch = 0;
      result.status = written.status();
      result.samples_refused = 0;
      result.refusals.clear();
      if (group_may_be_logged || wal_->size_bytes() != wal_bytes_before) {
        // Part of the group may be in the WAL but not in memory: a later append could be
        // accepted before it in memory and refused after it on replay.
        FailClosed(
            absl::StrCat("a WAL write failed after part of its group may have reached the "
                         "log (",
                         written.status().message(), ")"));
        result.status = wal_status();
      }
      return result;
    }
    mark = *written;
    // The write may have begun by cutting what a failed (background) sync left unsynced:
    // appends this head acknowledged and applied. This group is in the log; apply it and fail.
    const bool failed = CheckApplied(last_applied_, mark.has_value() ? mark->cuts : wal_->cuts());
    if (mark.has_value()) last_applied_ = mark;
    if (failed) result.status = wal_status();

    // 4. Apply to memory in request order (as staged), one stripe lock per run of one series.
    for (size_t k = 0; k < st.items.size();) {
      const uint32_t id = st.items[k].id;
      MemSeries& s = *series(id);
      absl::MutexLock lock(&Stripe(id));
      for (; k < st.items.size() && st.items[k].id == id; ++k) {
        const Staged::Item& it = st.items[k];
        if (it.duplicate) {
          ++result.duplicates_ignored;
          continue;
        }
        if (it.ooo) {
          if (InsertOoo(id, s, it.t, it.v)) {
            ++result.samples_appended;
            ++result.ooo_samples_appended;
            NoteTimes(it.t);
          } else {
            ++result.duplicates_ignored;  // a sample at this timestamp is stored: it stays
          }
          continue;
        }
        if (it.kind == kFloatKind) {
          AppendFloat(s, it.t, it.v);
          ++(it.start_zero ? result.start_zeros_appended : result.samples_appended);
        } else if (it.kind == kFloatHistKind) {
          AppendFloatHistogram(s, it.t, std::get<FloatHistogram>(it.h->h));
          ++(it.start_zero ? result.start_zeros_appended : result.histograms_appended);
        } else {
          AppendHistogram(s, it.t, std::get<Histogram>(it.h->h));
          ++(it.start_zero ? result.start_zeros_appended : result.histograms_appended);
        }
        NoteTimes(it.t);
      }
    }
    for (const Staged::Ex& e : st.exemplars) {
      if (exemplars_.Add(e.id, *e.e) == ExemplarStore::AddResult::kAdded) {
        ++result.exemplars_appended;
      } else {
        ++result.exemplars_dropped;
      }
    }
    if (!request.metadata.empty()) {
      absl::MutexLock lock(&metadata_mu_);
      for (const MetricMetadata& m : request.metadata) metadata_[m.metric_family] = m;
    }
    samples_appended_.fetch_add(result.samples_appended + result.histograms_appended +
                                result.start_zeros_appended);
    ooo_samples_appended_.fetch_add(result.ooo_samples_appended);
    samples_refused_.fetch_add(result.samples_refused);
  }
  if (result.status.ok() && options_.wal_sync == storage::SyncPolicy::kEveryAppend) {
    result.status = WaitDurable(mark);
  }
  return result;
}

absl::Status TenantHead::LogBounds(int64_t min_valid_time) {
  if (wal_failed_.load()) return wal_status();
  if (repair_pending_.exchange(false)) (void)wal_->Sync();  // cuts what a failure left
  if (CheckApplied(last_applied_, wal_->cuts())) return wal_status();
  wal::RecordBuilder rec;
  rec.Start();
  rec.AddBounds(min_valid_time, newest_ever_.load());
  const std::string_view part = rec.data();
  const storage::SegmentLog::RecordRef ref{wal::kBounds, std::span(&part, 1)};
  absl::StatusOr<storage::SegmentLog::AppendMark> mark = wal_->AppendMarked(std::span(&ref, 1));
  if (!mark.ok()) {
    repair_pending_ = true;
    return mark.status();
  }
  // Applied: if a failed sync drops it, the next append finds out and the head fails closed.
  last_applied_ = *mark;
  return absl::OkStatus();
}

bool TenantHead::CheckApplied(const std::optional<storage::SegmentLog::AppendMark>& applied,
                              uint64_t cuts) {
  if (wal_failed_.load()) return true;
  if (!applied.has_value() || cuts == applied->cuts) return false;
  const absl::Status durable = wal_->Durable(*applied);
  if (!absl::IsDataLoss(durable)) return false;
  FailClosed(
      absl::StrCat("a sync of the WAL failed and the WAL dropped appends the head had "
                   "acknowledged and applied (",
                   durable.message(), ")"));
  return true;
}

absl::Status TenantHead::WaitDurable(const std::optional<storage::SegmentLog::AppendMark>& mark) {
  absl::MutexLock lock(&sync_mu_);
  // A sync that starts after this point covers everything this thread wrote.
  const uint64_t target = syncs_started_ + 1;
  while (syncs_done_ < target) {
    if (!syncing_) {
      syncing_ = true;
      const uint64_t mine = ++syncs_started_;
      sync_mu_.Unlock();
      absl::Status status = wal_->Sync();
      sync_mu_.Lock();
      syncing_ = false;
      syncs_done_ = mine;
      if (!status.ok()) {
        repair_pending_ = true;
        last_failed_sync_ = mine;
        last_sync_error_ = status;
      }
      sync_cv_.SignalAll();
    } else {
      sync_cv_.Wait(&sync_mu_);
    }
  }
  if (last_failed_sync_ >= target) {
    // The log cuts what the failed sync left unsynced: records already applied to memory.
    const absl::Status failed = last_sync_error_;
    FailClosed(absl::StrCat("a sync of the WAL failed (", failed.message(), ")"));
    return wal_status();
  }
  if (!mark.has_value()) return absl::OkStatus();
  // The sync succeeded, but it may have begun by cutting this append's records (a sync that
  // failed before it left them unsynced): then they are not durable and never will be.
  const absl::Status durable = wal_->Durable(*mark);
  if (durable.ok()) return durable;
  FailClosed(absl::StrCat("the WAL dropped records of an append applied in memory (",
                          durable.message(), ")"));
  return wal_status();
}

void TenantHead::FailClosed(const std::string& why) {
  absl::MutexLock lock(&failed_mu_);
  if (wal_failed_.load()) return;  // the first reason stays
  failed_status_ = absl::UnavailableError(absl::StrCat(
      "metrics head ", options_.dir, ": appends are refused until the head is reopened: ", why,
      "; the WAL (", storage::JoinPath(options_.dir, "wal"),
      ") no longer holds everything the head holds in memory",
      last_damage_.empty() ? "" : absl::StrCat(" (last WAL damage: ", last_damage_, ")"),
      "; reopening replays what the WAL holds"));
  wal_failed_.store(true);
}

absl::Status TenantHead::wal_status() const {
  if (!wal_failed_.load()) return absl::OkStatus();
  absl::MutexLock lock(&failed_mu_);
  return failed_status_;
}

absl::Status TenantHead::SyncWal() {
  if (options_.wal_sync == storage::SyncPolicy::kEveryAppend) return WaitDurable(std::nullopt);
  std::optional<storage::SegmentLog::AppendMark> applied;
  {
    absl::MutexLock section(&append_mu_);
    applied = last_applied_;
  }
  absl::Status status = wal_->Sync();
  if (!status.ok()) {
    repair_pending_ = true;
    return status;
  }
  // This sync may have begun by cutting what an earlier failed sync left: then it made durable
  // what is left, not what was appended.
  if (CheckApplied(applied, wal_->cuts())) return wal_status();
  return status;
}

// ---------------------------------------------------------------------------------------------
// Reading

bool TenantHead::Overlaps(uint32_t id, int64_t mint, int64_t maxt) const {
  const MemSeries* s = SeriesForRead(id);
  absl::MutexLock lock(&Stripe(id));
  int64_t lo, hi;
  if (s->Range(&lo, &hi) && lo <= maxt && hi >= mint) return true;
  const OooData* d = s->has_ooo ? Ooo(id) : nullptr;
  return d != nullptr && d->Range(&lo, &hi) && lo <= maxt && hi >= mint;
}

namespace {
// Merges a series' in-order chunk copies with its out-of-order ones (oldest sealed first, the
// buffer last) into chunks in time order that do not overlap, one sample per timestamp: the
// first stored wins (in-order, then out-of-order chunks in sealing order), as the head kept
// only the first when both arrived here.
absl::Status MergeHeadCopies(std::vector<HeadChunkCopy>* in_order,
                             const std::vector<HeadChunkCopy>& ooo) {
  constexpr int kTop = 1 << 30;
  std::vector<SourceChunk> sources;
  sources.reserve(in_order->size() + ooo.size());
  for (const HeadChunkCopy& c : *in_order) {
    sources.push_back({ChunkMeta{c.min_time, c.max_time, c.encoding, c.bytes, 0}, kTop});
  }
  for (size_t i = 0; i < ooo.size(); ++i) {
    const HeadChunkCopy& c = ooo[i];
    sources.push_back({ChunkMeta{c.min_time, c.max_time, c.encoding, c.bytes, 0},
                       kTop - 1 - static_cast<int>(i)});
  }
  std::vector<ChunkMeta> merged;
  std::deque<std::string> storage;
  MergeStats stats;
  if (absl::Status st = MergeSeriesChunks(std::move(sources), &merged, &storage, &stats);
      !st.ok()) {
    return st;
  }
  std::vector<HeadChunkCopy> out;
  out.reserve(merged.size());
  for (const ChunkMeta& m : merged) {
    out.push_back({m.min_time, m.max_time, m.encoding, std::string(m.bytes)});
  }
  *in_order = std::move(out);
  return absl::OkStatus();
}
}  // namespace

void TenantHead::CopyOoo(uint32_t id, int64_t mint, int64_t maxt,
                         std::vector<HeadChunkCopy>* out) const {
  const OooData* d = Ooo(id);
  if (d == nullptr) return;
  for (const OooChunk& c : d->chunks) {
    if (c.max_t < mint || c.min_t > maxt) continue;
    out->push_back({c.min_t, c.max_t, Encoding::kXor, c.bytes});
  }
  FloatChunk chunk;
  for (const FloatSample& x : d->buffer) {
    if (x.t < mint || x.t > maxt) continue;
    if (!chunk.Append(x.t, x.v)) break;  // at most 255
  }
  if (chunk.num_samples() > 0) {
    out->push_back(
        {chunk.min_time(), chunk.max_time(), Encoding::kXor, std::string(chunk.bytes())});
  }
}

std::vector<uint32_t> TenantHead::Select(std::span<const Matcher> matchers, int64_t mint,
                                         int64_t maxt) const {
  std::vector<SeriesRef> refs =
      matchers.empty() ? postings_.AllPostings() : postings_.Select(matchers);
  std::vector<uint32_t> out;
  out.reserve(refs.size());
  for (SeriesRef ref : refs) {
    if (Overlaps(static_cast<uint32_t>(ref), mint, maxt)) out.push_back(static_cast<uint32_t>(ref));
  }
  return out;
}

std::vector<std::string> TenantHead::LabelNames(std::span<const Matcher> matchers, int64_t mint,
                                                int64_t maxt) const {
  absl::flat_hash_set<std::string_view> names;
  std::vector<Labels> keep;  // the views point into these buffers
  for (uint32_t id : Select(matchers, mint, maxt)) {
    const Labels& labels = SeriesForRead(id)->labels;
    for (Label l : labels) names.insert(l.name);
    keep.push_back(labels);
  }
  std::vector<std::string> out(names.begin(), names.end());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> TenantHead::LabelValues(std::string_view name,
                                                 std::span<const Matcher> matchers, int64_t mint,
                                                 int64_t maxt) const {
  absl::flat_hash_set<std::string> values;
  for (uint32_t id : Select(matchers, mint, maxt)) {
    const std::string_view v = SeriesForRead(id)->labels.Get(name);
    if (!v.empty()) values.emplace(v);
  }
  std::vector<std::string> out(values.begin(), values.end());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<Labels> TenantHead::Series(std::span<const Matcher> matchers, int64_t mint,
                                       int64_t maxt) const {
  if (matchers.empty()) return {};
  std::vector<Labels> out;
  for (uint32_t id : Select(matchers, mint, maxt)) out.push_back(SeriesForRead(id)->labels);
  std::sort(out.begin(), out.end());
  return out;
}

// Iterates copies of a series' chunks (owned by the HeadSeriesSet), clipped to [mint, maxt].
class SeriesSampleIterator final : public chunkenc::Iterator {
 public:
  SeriesSampleIterator(const std::vector<HeadChunkCopy>* chunks, int64_t mint, int64_t maxt)
      : chunks_(chunks), mint_(mint), maxt_(maxt) {}

  ValueType Next() override {
    while (!done_) {
      if (cur_ == nullptr) {
        if (next_chunk_ >= chunks_->size()) return Finish();
        const HeadChunkCopy& c = (*chunks_)[next_chunk_++];
        cur_ = chunkenc::NewIterator(c.encoding, c.bytes);
        type_ = cur_->Seek(mint_);
      } else {
        type_ = cur_->Next();
      }
      if (type_ == ValueType::kNone) {
        if (!cur_->Err().ok()) {
          err_ = cur_->Err();
          return Finish();
        }
        cur_.reset();
        continue;
      }
      if (cur_->AtT() > maxt_) return Finish();
      return type_;
    }
    return ValueType::kNone;
  }

  ValueType Seek(int64_t t) override {
    if (done_) return ValueType::kNone;
    if (type_ != ValueType::kNone && cur_ != nullptr && cur_->AtT() >= t) return type_;
    while (Next() != ValueType::kNone) {
      if (cur_->AtT() >= t) return type_;
    }
    return ValueType::kNone;
  }

  std::pair<int64_t, double> At() const override { return cur_->At(); }
  int64_t AtHistogram(Histogram* h) const override { return cur_->AtHistogram(h); }
  int64_t AtFloatHistogram(FloatHistogram* h) const override { return cur_->AtFloatHistogram(h); }
  int64_t AtT() const override { return cur_->AtT(); }
  const absl::Status& Err() const override { return err_; }

 private:
  ValueType Finish() {
    done_ = true;
    type_ = ValueType::kNone;
    return type_;
  }

  const std::vector<HeadChunkCopy>* chunks_;
  int64_t mint_, maxt_;
  size_t next_chunk_ = 0;
  std::unique_ptr<chunkenc::Iterator> cur_;
  ValueType type_ = ValueType::kNone;
  bool done_ = false;
  absl::Status err_;
};

struct HeadSeriesSet::Impl {
  const TenantHead* head;
  std::vector<std::pair<Labels, uint32_t>> series;
  size_t next = 0;
  int64_t mint, maxt;
  std::vector<HeadChunkCopy> chunks;  // of the current series
  std::unique_ptr<SeriesSampleIterator> it;
  std::function<void(uint32_t, std::vector<HeadChunkCopy>*)> copy;
};

HeadSeriesSet::~HeadSeriesSet() = default;

bool HeadSeriesSet::Next() {
  impl_->it.reset();
  impl_->chunks.clear();
  if (impl_->next >= impl_->series.size()) return false;
  impl_->copy(impl_->series[impl_->next++].second, &impl_->chunks);
  return true;
}

const Labels& HeadSeriesSet::labels() const { return impl_->series[impl_->next - 1].first; }

chunkenc::Iterator& HeadSeriesSet::samples() {
  if (impl_->it == nullptr) {
    impl_->it = std::make_unique<SeriesSampleIterator>(&impl_->chunks, impl_->mint, impl_->maxt);
  }
  return *impl_->it;
}

std::vector<HeadChunkCopy>& HeadSeriesSet::chunks() { return impl_->chunks; }

std::unique_ptr<HeadSeriesSet> TenantHead::SelectSamples(std::span<const Matcher> matchers,
                                                         int64_t mint, int64_t maxt) const {
  std::unique_ptr<HeadSeriesSet> set(new HeadSeriesSet());
  set->impl_ = std::make_unique<HeadSeriesSet::Impl>();
  HeadSeriesSet::Impl& impl = *set->impl_;
  impl.head = this;
  impl.mint = mint;
  impl.maxt = maxt;
  if (!matchers.empty()) {
    for (uint32_t id : Select(matchers, mint, maxt)) {
      impl.series.emplace_back(SeriesForRead(id)->labels, id);
    }
  }
  std::sort(impl.series.begin(), impl.series.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  impl.copy = [this, mint, maxt](uint32_t id, std::vector<HeadChunkCopy>* chunks) {
    const MemSeries* s = SeriesForRead(id);
    std::vector<HeadChunkCopy> ooo;
    {
      absl::MutexLock lock(&Stripe(id));
      for (const SealedChunk& c : s->sealed) {
        if (c.max_t < mint || c.min_t > maxt) continue;
        chunks->push_back({c.min_t, c.max_t, c.encoding, std::string(c.bytes())});
      }
      if (s->open != nullptr && s->open_samples() > 0 && s->open_max() >= mint &&
          s->open_min() <= maxt) {
        chunks->push_back(
            {s->open_min(), s->open_max(), s->open_encoding, std::string(s->open_bytes())});
      }
      if (s->has_ooo) CopyOoo(id, mint, maxt, &ooo);
    }
    // Head chunks are the head's own encodings: a merge failure would be a bug; the copies
    // are then served unmerged (the querier's merge still orders them).
    if (!ooo.empty()) {
      std::vector<HeadChunkCopy> all = *chunks;
      if (MergeHeadCopies(chunks, ooo).ok()) return;
      *chunks = std::move(all);
      for (HeadChunkCopy& c : ooo) chunks->push_back(std::move(c));
    }
  };
  return set;
}

std::vector<SeriesExemplars> TenantHead::Exemplars(std::span<const Matcher> matchers, int64_t start,
                                                   int64_t end) const {
  std::vector<SeriesExemplars> out;
  if (matchers.empty() || exemplars_.capacity() == 0) return out;
  for (SeriesRef ref : postings_.Select(matchers)) {
    const uint32_t id = static_cast<uint32_t>(ref);
    if (!exemplars_.Has(id)) continue;
    std::vector<Exemplar> found = exemplars_.Get(id, start, end);
    if (found.empty()) continue;
    out.push_back(SeriesExemplars{SeriesForRead(id)->labels, std::move(found)});
  }
  std::sort(out.begin(), out.end(),
            [](const SeriesExemplars& a, const SeriesExemplars& b) { return a.series < b.series; });
  return out;
}

std::vector<MetricMetadata> TenantHead::Metadata(std::string_view metric) const {
  std::vector<MetricMetadata> out;
  absl::MutexLock lock(&metadata_mu_);
  if (!metric.empty()) {
    auto it = metadata_.find(std::string(metric));
    if (it != metadata_.end()) out.push_back(it->second);
    return out;
  }
  for (const auto& [name, m] : metadata_) out.push_back(m);
  std::sort(out.begin(), out.end(), [](const MetricMetadata& a, const MetricMetadata& b) {
    return a.metric_family < b.metric_family;
  });
  return out;
}

std::vector<HeadChunkMeta> TenantHead::Chunks(const Labels& labels) const {
  std::optional<uint32_t> id;
  {
    absl::MutexLock lock(&append_mu_);
    id = FindByLabels(labels, labels.Hash());
  }
  std::vector<HeadChunkMeta> out;
  if (!id.has_value()) return out;
  const MemSeries* s = SeriesForRead(*id);
  absl::MutexLock lock(&Stripe(*id));
  for (const SealedChunk& c : s->sealed) {
    out.push_back(HeadChunkMeta{c.min_t, c.max_t, c.encoding, c.size, false});
  }
  if (s->open != nullptr && s->open_samples() > 0) {
    out.push_back(HeadChunkMeta{s->open_min(), s->open_max(), s->open_encoding,
                                s->open_bytes().size(), true});
  }
  if (const OooData* d = s->has_ooo ? Ooo(*id) : nullptr; d != nullptr) {
    for (const OooChunk& c : d->chunks) {
      out.push_back(HeadChunkMeta{c.min_t, c.max_t, Encoding::kXor, c.bytes.size(), false, true});
    }
    if (!d->buffer.empty()) {
      out.push_back(HeadChunkMeta{d->buffer.front().t, d->buffer.back().t, Encoding::kXor,
                                  d->buffer.size() * sizeof(FloatSample), true, true});
    }
  }
  return out;
}

HeadStats TenantHead::Stats() const {
  HeadStats s;
  s.series = series_count_.load();
  s.min_time = min_time_.load();
  s.max_time = max_time_.load();
  s.samples_appended = samples_appended_.load();
  s.samples_refused = samples_refused_.load();
  s.ooo_samples_appended = ooo_samples_appended_.load();
  s.exemplars = exemplars_.size();
  s.wal_bytes = wal_->size_bytes();
  {
    absl::MutexLock lock(&append_mu_);
    s.alias_entries = aliases_.size();
  }
  return s;
}

// The refs LabelCardinality/CountSeries consider; nullopt: every series, lists' lengths only.
static std::optional<std::vector<SeriesRef>> CardinalityRefs(
    const MemPostings& postings, std::span<const Matcher> matchers, int64_t active_since,
    const std::function<bool(uint32_t)>& active) {
  if (matchers.empty() && active_since == INT64_MIN) return std::nullopt;
  std::vector<SeriesRef> refs =
      matchers.empty() ? postings.AllPostings() : postings.Select(matchers);
  if (active_since != INT64_MIN) {
    std::erase_if(refs, [&](SeriesRef ref) { return !active(static_cast<uint32_t>(ref)); });
  }
  return refs;
}

std::vector<MemPostings::NameCardinality> TenantHead::LabelCardinality(
    std::span<const std::string> names, std::span<const Matcher> matchers,
    int64_t active_since) const {
  std::optional<std::vector<SeriesRef>> refs =
      CardinalityRefs(postings_, matchers, active_since,
                      [&](uint32_t id) { return Overlaps(id, active_since, INT64_MAX); });
  return postings_.Cardinality(names, refs ? &*refs : nullptr);
}

uint64_t TenantHead::CountSeries(std::span<const Matcher> matchers, int64_t active_since) const {
  std::optional<std::vector<SeriesRef>> refs =
      CardinalityRefs(postings_, matchers, active_since,
                      [&](uint32_t id) { return Overlaps(id, active_since, INT64_MAX); });
  return refs ? refs->size() : postings_.NumSeries();
}

uint64_t TenantHead::ChunkCount() const {
  uint64_t chunks = 0;
  std::vector<const MemSeries*> pages;
  const uint64_t n = num_series_.load();
  {
    absl::ReaderMutexLock lock(&pages_mu_);
    for (size_t p = 0; p < pages_.size(); ++p) pages.push_back(pages_[p].get());
  }
  for (size_t p = 0; p < pages.size(); ++p) {
    if (pages[p] == nullptr) continue;
    const uint64_t first = uint64_t{p} << kPageBits;
    for (uint64_t id = first; id < n && id < first + (uint64_t{1} << kPageBits); ++id) {
      const MemSeries* s = &pages[p][id - first];
      // Unused slots and removed series (DeleteSeries clears them) hold no chunk.
      absl::MutexLock lock(&Stripe(static_cast<uint32_t>(id)));
      chunks += s->sealed.size() + (s->open != nullptr ? 1 : 0);
      if (const OooData* d = s->has_ooo ? Ooo(static_cast<uint32_t>(id)) : nullptr) {
        chunks += d->chunks.size() + (d->buffer.empty() ? 0 : 1);
      }
    }
  }
  return chunks;
}

size_t TenantHead::MemoryBytes() const {
  size_t bytes = 0;
  const uint64_t n = num_series_.load();
  std::vector<std::pair<uint64_t, const MemSeries*>> pages;  // first id, page (never freed)
  {
    absl::ReaderMutexLock lock(&pages_mu_);
    bytes += pages_.capacity() * sizeof(pages_[0]);
    for (size_t p = 0; p < pages_.size(); ++p) {
      if (pages_[p] != nullptr) pages.emplace_back(uint64_t{p} << kPageBits, pages_[p].get());
    }
  }
  bytes += pages.size() * (sizeof(MemSeries) << kPageBits);
  for (const auto& [first, page] : pages) {
    for (uint64_t id = first; id < n && id < first + (uint64_t{1} << kPageBits); ++id) {
      const MemSeries* s = &page[id - first];
      absl::MutexLock lock(&Stripe(static_cast<uint32_t>(id)));
      bytes += s->labels.AllocatedBytes();
      bytes += s->open_allocated();
      bytes += s->sealed.allocated_bytes();
      for (const SealedChunk& c : s->sealed) bytes += c.size;
      if (const OooData* d = s->has_ooo ? Ooo(static_cast<uint32_t>(id)) : nullptr) {
        bytes += d->allocated();
      }
    }
  }
  bytes += postings_.MemoryBytes() + symbols_.MemoryBytes();
  absl::MutexLock lock(&append_mu_);
  bytes += by_labels_->capacity() * (sizeof(uint32_t) + 1);
  bytes += aliases_.capacity() * (sizeof(uint64_t) + sizeof(Alias) + 1);
  for (const auto& [hash, alias] : aliases_) bytes += alias.raw.capacity();
  for (size_t i = 0; i < kKnownShards; ++i) {
    absl::ReaderMutexLock shard_lock(&known_[i].mu);
    bytes += known_[i].ids.capacity() * (sizeof(uint64_t) + sizeof(uint32_t) + 1);
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Cutting blocks, truncation, checkpoints

absl::StatusOr<uint64_t> TenantHead::CutBlock(int64_t mint, int64_t maxt, BlockWriter* writer) {
  if (mint >= maxt) return absl::InvalidArgumentError("metrics head: empty block range");
  absl::MutexLock cut(&cut_mu_);
  std::vector<std::pair<Labels, uint32_t>> list;
  {
    absl::MutexLock lock(&append_mu_);
    // The raised bound goes to the WAL first: a float sample older than it taken from now on is
    // stored out of order, and replay must route it there too (else, replayed as in order below
    // the cut, a Truncate after a crash would drop it with the range it was never cut into).
    if (maxt > min_valid_time_.load()) {
      if (absl::Status s = LogBounds(maxt); !s.ok()) return s;
    }
    int64_t cur = min_valid_time_.load();
    while (maxt > cur && !min_valid_time_.compare_exchange_weak(cur, maxt)) {
    }
    absl::Status straddles;
    ForEachSlot([&](uint32_t id, MemSeries* s) {
      if (s->labels.empty() || s->deleted) return true;
      {
        absl::MutexLock stripe(&Stripe(id));
        if (s->open != nullptr && s->open_samples() > 0 && s->open_min() < maxt) {
          if (s->open_max() >= maxt) {
            straddles = absl::InvalidArgumentError(
                absl::StrCat("metrics head: block end ", maxt, " falls inside an open chunk of ",
                             s->labels.ToString(), " (not a chunk range boundary)"));
            return false;
          }
          Seal(*s);
        }
        // Out-of-order samples of every range are read from sealed chunks: what the cut
        // writes is then exactly the chunks sealed before last_cut_.seq.
        if (s->has_ooo) {
          if (OooData* d = Ooo(id); d != nullptr) SealOoo(*d);
        }
      }
      list.emplace_back(s->labels, id);
      return true;
    });
    if (!straddles.ok()) return straddles;
    last_cut_ = CutRecord{mint, maxt, next_ooo_seq_};
  }
  const uint64_t cut_seq = last_cut_->seq;
  std::sort(list.begin(), list.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  uint64_t written = 0;
  std::vector<ChunkMeta> chunks;
  std::vector<HeadChunkCopy> ooo;  // copies: out-of-order chunks move as more are sealed
  std::vector<SourceChunk> sources;
  std::vector<ChunkMeta> merged;
  std::deque<std::string> storage;
  for (const auto& [labels, id] : list) {
    chunks.clear();
    ooo.clear();
    {
      // Sealed chunk buffers never move and only Truncate frees them (cut_mu_ is held), so
      // the views stay valid after the stripe is released.
      const MemSeries* s = SeriesForRead(id);
      absl::MutexLock stripe(&Stripe(id));
      for (const SealedChunk& c : s->sealed) {
        if (c.min_t >= mint && c.max_t < maxt) {
          chunks.push_back(ChunkMeta{c.min_t, c.max_t, c.encoding, c.bytes(), 0});
        }
      }
      if (const OooData* d = s->has_ooo ? Ooo(id) : nullptr; d != nullptr) {
        for (const OooChunk& c : d->chunks) {
          if (c.seq < cut_seq && c.min_t >= mint && c.max_t < maxt) {
            ooo.push_back({c.min_t, c.max_t, Encoding::kXor, c.bytes});
          }
        }
      }
    }
    if (!ooo.empty()) {
      // In-order and out-of-order samples of the range, merged (first stored wins).
      constexpr int kTop = 1 << 30;
      sources.clear();
      for (const ChunkMeta& c : chunks) sources.push_back({c, kTop});
      for (size_t i = 0; i < ooo.size(); ++i) {
        const HeadChunkCopy& c = ooo[i];
        sources.push_back({ChunkMeta{c.min_time, c.max_time, c.encoding, c.bytes, 0},
                           kTop - 1 - static_cast<int>(i)});
      }
      storage.clear();
      MergeStats stats;
      if (absl::Status st = MergeSeriesChunks(sources, &merged, &storage, &stats); !st.ok()) {
        return absl::DataLossError(
            absl::StrCat("metrics head: merging the out-of-order samples of ", labels.ToString(),
                         ": ", st.message()));
      }
      chunks.swap(merged);
    }
    if (chunks.empty()) continue;
    if (absl::Status st = writer->AddSeries(labels, chunks); !st.ok()) return st;
    ++written;
  }
  return written;
}

void TenantHead::DeleteSeries(uint32_t id) {
  MemSeries* s = series(id);
  const uint64_t hash = SeededRawBytesHash(EncodeRawLabels(s->labels));  // as CreateSeries
  by_labels_->erase(id);
  {
    KnownShard& shard = known_[KnownShardOf(hash)];
    absl::MutexLock lock(&shard.mu);
    auto it = shard.ids.find(hash);
    if (it != shard.ids.end() && it->second == id) shard.ids.erase(it);
  }
  {
    absl::MutexLock stripe(&Stripe(id));
    s->DeleteOpen();
    s->sealed.Clear();
    if (s->has_ooo) {
      absl::MutexLock ooo_lock(&ooo_mu_);
      ooo_.erase(id);
      s->has_ooo = false;
    }
  }
  s->deleted = true;
  series_count_.fetch_sub(1);
  {
    absl::MutexLock lock(&per_metric_mu_);
    auto it = series_per_metric_.find(std::string(s->labels.Get("__name__")));
    if (it != series_per_metric_.end() && --it->second == 0) series_per_metric_.erase(it);
  }
}

uint64_t TenantHead::SeriesOfMetric(const Labels& labels) {
  absl::MutexLock lock(&per_metric_mu_);
  auto it = series_per_metric_.find(std::string(labels.Get("__name__")));
  return it == series_per_metric_.end() ? 0 : it->second;
}

void TenantHead::SetLimits(uint64_t max_series, uint64_t max_series_per_metric,
                           int64_t out_of_order_time_window_ms) {
  max_series_.store(max_series);
  max_series_per_metric_.store(max_series_per_metric);
  ooo_window_ms_.store(out_of_order_time_window_ms);
}

absl::Status TenantHead::Truncate(int64_t maxt) {
  absl::MutexLock cut_lock(&cut_mu_);
  std::vector<std::pair<uint32_t, int64_t>> live;  // id, newest sample at the checkpoint
  uint64_t segment = 0;
  uint64_t ooo_seq = 0;
  absl::Status start_status;
  std::optional<CutRecord> cut;
  if (last_cut_.has_value() && last_cut_->maxt == maxt) cut = last_cut_;
  last_cut_.reset();
  {
    absl::MutexLock lock(&append_mu_);
    int64_t cur = min_valid_time_.load();
    while (maxt > cur && !min_valid_time_.compare_exchange_weak(cur, maxt)) {
    }
    std::vector<SeriesRef> dead;
    int64_t new_min = INT64_MAX;
    ForEachSlot([&](uint32_t id, MemSeries* s) {
      if (s->labels.empty() || s->deleted) return true;
      bool has = false;
      {
        absl::MutexLock stripe(&Stripe(id));
        if (s->open != nullptr && s->open_samples() > 0 && s->open_max() < maxt) Seal(*s);
        const SealedChunk* keep =
            std::find_if(s->sealed.begin(), s->sealed.end(),
                         [maxt](const SealedChunk& c) { return c.max_t >= maxt; });
        s->sealed.EraseFront(keep);
        int64_t lo, hi;
        has = s->Range(&lo, &hi);
        if (has) new_min = std::min(new_min, lo);
        if (OooData* d = s->has_ooo ? Ooo(id) : nullptr; d != nullptr) {
          // Only what the cut of this range wrote goes; out-of-order samples that arrived
          // since (or a range cut before a restart) stay, to be cut again.
          if (cut.has_value()) {
            std::erase_if(d->chunks, [&](const OooChunk& c) {
              return c.seq < cut->seq && c.min_t >= cut->mint && c.max_t < cut->maxt;
            });
          }
          // The checkpoint takes the chunks sealed before segment N began (ooo_seq).
          SealOoo(*d);
          if (d->Range(&lo, &hi)) {
            has = true;
            new_min = std::min(new_min, lo);
          } else {
            absl::MutexLock ooo_lock(&ooo_mu_);
            ooo_.erase(id);
            s->has_ooo = false;
          }
        }
      }
      if (has) {
        live.emplace_back(id, s->last_t);
      } else {
        dead.push_back(id);
      }
      return true;
    });
    if (!dead.empty()) {
      for (SeriesRef id : dead) DeleteSeries(static_cast<uint32_t>(id));
      postings_.Delete(dead);
      std::sort(dead.begin(), dead.end());
      absl::erase_if(aliases_, [&](const auto& entry) {
        return std::binary_search(dead.begin(), dead.end(), SeriesRef{entry.second.id});
      });
    }
    min_time_.store(new_min);
    if (live.empty()) max_time_.store(INT64_MIN);
    exemplars_.Retain(
        [&](uint32_t id, const Exemplar& e) { return e.t >= maxt && !series(id)->deleted; });
    // Every record from here on is in segment `segment` or later: the checkpoint stands for
    // all those before it (the memory state now, whose samples are cut at each series' last_t).
    const std::vector<uint64_t> segs = wal_->segments();
    start_status = wal_->StartSegment(segs.empty() ? 1 : segs.back() + 1);
    if (start_status.ok()) {
      segment = wal_->segments().back();
      // The new segment starts with the bounds (the checkpoint holds them too; this covers a
      // checkpoint that fails to be written). A failure here is repaired at the next append.
      (void)LogBounds(min_valid_time_.load());
    }
    ooo_seq = next_ooo_seq_;
  }
  if (!start_status.ok()) return start_status;
  if (absl::Status s = WriteCheckpoint(segment, maxt, ooo_seq, live); !s.ok()) return s;
  if (absl::Status s = wal_->RemoveSegmentsBefore(segment); !s.ok()) return s;
  RemoveCheckpointsBefore(options_.env, storage::JoinPath(options_.dir, "wal"), segment);
  return absl::OkStatus();
}

absl::Status TenantHead::WriteCheckpoint(uint64_t segment, int64_t maxt, uint64_t ooo_seq,
                                         const std::vector<std::pair<uint32_t, int64_t>>& live) {
  storage::Env* env = options_.env;
  const std::string wal_dir = storage::JoinPath(options_.dir, "wal");
  const std::string final_dir = storage::JoinPath(wal_dir, CheckpointName(segment));
  const std::string tmp_dir = final_dir + std::string(kTmpSuffix);
  if (absl::StatusOr<bool> exists = env->IsDirectory(tmp_dir); exists.ok() && *exists) {
    if (absl::Status s = RemoveTree(env, tmp_dir); !s.ok()) return s;
  }
  storage::SegmentLogOptions lo;
  lo.env = env;
  lo.directory = tmp_dir;
  lo.segment_size = options_.wal_segment_size;
  lo.sync = storage::SyncPolicy::kManual;
  absl::StatusOr<std::unique_ptr<storage::SegmentLog>> log = storage::SegmentLog::Open(lo);
  if (!log.ok()) return log.status();

  constexpr size_t kMaxRecordBytes = 1 << 20;
  absl::Status status;
  wal::RecordBuilder rec;
  uint8_t rec_type = 0;
  auto put = [&]() {
    if (status.ok() && rec.entries() > 0) status = (*log)->Append(rec_type, rec.data()).status();
    rec.Start();
  };
  auto use = [&](uint8_t type) {
    if (type != rec_type || rec.data().size() >= kMaxRecordBytes) {
      put();
      rec_type = type;
    }
  };
  rec.Start();
  // First the bounds: the in-order samples below are at or after maxt, and an out-of-order
  // sample older than maxt must replay as out of order even when its series has no in-order
  // sample left to be older than.
  use(wal::kBounds);
  rec.AddBounds(maxt, newest_ever_.load());
  for (const auto& [id, last_t] : live) {
    use(wal::kSeries);
    rec.AddSeries(id, series(id)->labels.bytes());
  }
  for (const auto& [id, last_t] : live) {
    std::vector<std::pair<Encoding, std::string>> copies;
    std::vector<std::string> ooo_copies;
    {
      const MemSeries* s = SeriesForRead(id);
      absl::MutexLock stripe(&Stripe(id));
      for (const SealedChunk& c : s->sealed) copies.emplace_back(c.encoding, c.bytes());
      if (s->open != nullptr && s->open_samples() > 0) {
        copies.emplace_back(s->open_encoding, s->open_bytes());
      }
      if (const OooData* d = s->has_ooo ? Ooo(id) : nullptr; d != nullptr) {
        for (const OooChunk& c : d->chunks) {
          if (c.seq < ooo_seq) ooo_copies.push_back(c.bytes);
        }
      }
    }
    Histogram h;
    FloatHistogram fh;
    for (const auto& [encoding, bytes] : copies) {
      std::unique_ptr<chunkenc::Iterator> it = chunkenc::NewIterator(encoding, bytes);
      for (ValueType vt = it->Next(); vt != ValueType::kNone; vt = it->Next()) {
        const int64_t t = it->AtT();
        if (t > last_t) break;  // appended after the checkpoint's segment began: in the WAL
        if (t < maxt) continue;
        switch (vt) {
          case ValueType::kFloat:
            use(wal::kSamples);
            rec.AddSample(id, t, Bits(it->At().second));
            break;
          case ValueType::kHistogram:
            use(wal::kHistograms);
            it->AtHistogram(&h);
            rec.AddHistogram(id, t, h);
            break;
          case ValueType::kFloatHistogram:
            use(wal::kFloatHistograms);
            it->AtFloatHistogram(&fh);
            rec.AddFloatHistogram(id, t, fh);
            break;
          default:
            break;
        }
      }
      if (!it->Err().ok() && status.ok()) status = it->Err();
    }
    // Its out-of-order samples (any time: not cut yet), after the in-order ones so that replay
    // finds them older than the series' newest; those sealed after segment N began are in it.
    for (const std::string& bytes : ooo_copies) {
      std::unique_ptr<chunkenc::Iterator> it = chunkenc::NewIterator(Encoding::kXor, bytes);
      for (ValueType vt = it->Next(); vt == ValueType::kFloat; vt = it->Next()) {
        use(wal::kSamples);
        rec.AddSample(id, it->AtT(), Bits(it->At().second));
      }
      if (!it->Err().ok() && status.ok()) status = it->Err();
    }
  }
  if (exemplars_.capacity() > 0) {
    for (const auto& [id, last_t] : live) {
      for (const Exemplar& e : exemplars_.Get(id, maxt, INT64_MAX)) {
        use(wal::kExemplars);
        rec.AddExemplar(id, e.t, Bits(e.value), e.labels.bytes());
      }
    }
  }
  for (const MetricMetadata& m : Metadata()) {
    use(wal::kMetadata);
    rec.AddMetadata(m.metric_family, m.type, m.unit, m.help);
  }
  put();
  if (status.ok()) status = (*log)->Sync();
  (*log)->Close();
  log->reset();
  if (status.ok()) status = env->SyncDir(tmp_dir);
  if (status.ok()) status = env->Rename(tmp_dir, final_dir);
  if (status.ok()) status = env->SyncDir(wal_dir);
  if (!status.ok()) {
    return absl::Status(
        status.code(), absl::StrCat("metrics head ", options_.dir, ": writing checkpoint ", segment,
                                    ": ", status.message()));
  }
  return absl::OkStatus();
}

absl::Status TenantHead::ReplayCheckpoint(uint64_t* segment) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  *segment = 0;
  const std::string wal_dir = storage::JoinPath(options_.dir, "wal");
  absl::StatusOr<std::vector<std::string>> names = options_.env->ListDir(wal_dir);
  if (!names.ok()) return names.status();
  for (const std::string& name : *names) {
    bool tmp = false;
    std::optional<uint64_t> n = ParseCheckpointName(name, &tmp);
    if (n.has_value() && !tmp) *segment = std::max(*segment, *n);
  }
  if (*segment == 0) return absl::OkStatus();
  storage::SegmentLogOptions lo;
  lo.env = options_.env;
  lo.directory = storage::JoinPath(wal_dir, CheckpointName(*segment));
  lo.segment_size = options_.wal_segment_size;
  lo.sync = storage::SyncPolicy::kManual;
  lo.on_damage = [this](const storage::LogDamage& damage) {
    damage_reports_.fetch_add(1);
    if (options_.on_wal_damage) options_.on_wal_damage(damage);
  };
  absl::StatusOr<std::unique_ptr<storage::SegmentLog>> log = storage::SegmentLog::Open(lo);
  if (!log.ok()) return log.status();
  std::unique_ptr<storage::SegmentLog::Reader> reader = (*log)->NewReader(std::nullopt);
  replaying_checkpoint_ = true;
  absl::Status status;
  while (true) {
    absl::StatusOr<std::optional<storage::LogRecord>> record = reader->Next();
    if (!record.ok()) {
      status = record.status();
      break;
    }
    if (!record->has_value()) break;
    ++replay_stats_.records;
    ReplayRecord(**record);
    if (replay_stats_.corrupt_records == UINT64_MAX) {  // as in Replay: never read it as damage
      status = NewerWalFormat();
      break;
    }
  }
  replaying_checkpoint_ = false;
  reader.reset();
  (*log)->Close();
  return status;
}

}  // namespace sprout::metrics::tsdb
