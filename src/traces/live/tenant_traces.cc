#include "traces/live/tenant_traces.h"

#include <algorithm>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "base/coding.h"
#include "base/status.h"

namespace sprout::traces::live {

namespace tpb = ::opentelemetry::proto::trace::v1;

std::map<std::string, tpb::ResourceSpans> SplitByTrace(const tpb::ResourceSpans& rs,
                                                       int64_t* invalid) {
  std::map<std::string, tpb::ResourceSpans> out;
  for (const tpb::ScopeSpans& ss : rs.scope_spans()) {
    // The ScopeSpans of this scope in each trace's ResourceSpans, created on first use.
    std::map<std::string, tpb::ScopeSpans*> scope_of;
    for (const tpb::Span& span : ss.spans()) {
      if (span.trace_id().size() != 16) {
        ++*invalid;
        continue;
      }
      tpb::ScopeSpans*& scope = scope_of[span.trace_id()];
      if (scope == nullptr) {
        auto [it, inserted] = out.try_emplace(span.trace_id());
        if (inserted) {
          if (rs.has_resource()) *it->second.mutable_resource() = rs.resource();
          it->second.set_schema_url(rs.schema_url());
        }
        scope = it->second.add_scope_spans();
        if (ss.has_scope()) *scope->mutable_scope() = ss.scope();
        scope->set_schema_url(ss.schema_url());
      }
      *scope->add_spans() = span;
    }
  }
  return out;
}

namespace {

// Merges `chunks` (framed groups, in order) into one TracesData; `*bytes` gets its size.
template <typename Chunks>
tpb::TracesData MergeChunks(const Chunks& chunks, int64_t* bytes) {
  std::vector<std::string_view> views;
  views.reserve(chunks.size());
  for (const auto& c : chunks) views.push_back(c.view());
  tpb::TracesData td;
  absl::StatusOr<std::string> merged = MergeSerializedGroups(views);
  // The chunks were split by SplitSerialized from bytes that parsed: they always merge.
  if (merged.ok() && td.ParseFromString(*merged)) {
    if (bytes != nullptr) *bytes = static_cast<int64_t>(merged->size());
  } else {
    td.Clear();
    if (bytes != nullptr) *bytes = 0;
  }
  return td;
}

std::vector<std::string> SortedIds(std::vector<TraceKey> keys) {
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  std::vector<std::string> out;
  out.reserve(keys.size());
  for (const TraceKey& k : keys) out.push_back(TraceKeyString(k));
  return out;
}

}  // namespace

// A job's traces: the flushing set it was made from (kept alive by the job) and its traces in
// the job's order.
class FlushJobTraces {
 public:
  std::shared_ptr<const TenantTraces::TraceMap> map;
  std::vector<const TenantTraces::Trace*> traces;
};

TenantTraces::TenantTraces(std::unique_ptr<wal::TracesWal> wal, TenantTracesOptions options)
    : wal_(std::move(wal)), options_(std::move(options)) {}

absl::Time TenantTraces::Now() const { return options_.clock ? options_.clock() : absl::Now(); }

absl::StatusOr<std::unique_ptr<TenantTraces>> TenantTraces::Open(storage::Env* env, std::string dir,
                                                                 TenantTracesOptions options) {
  ASSIGN_OR_RETURN(std::unique_ptr<wal::TracesWal> w,
                   wal::TracesWal::Open(env, std::move(dir), options.wal));
  std::unique_ptr<TenantTraces> t(new TenantTraces(std::move(w), std::move(options)));
  const absl::Time now = t->Now();
  // Per trace: the bytes of its groups replayed so far (views into the live set's buffers). A
  // checkpoint repeats groups of older segments (and a client retry a whole group): exact
  // repeats are dropped.
  absl::flat_hash_map<TraceKey, absl::flat_hash_set<std::string_view>> seen;
  const auto replay_batch = [&](const wal::ReplayedBatch& b) {
    std::vector<std::string_view> valid;
    valid.reserve(b.resource_spans.size());
    tpb::ResourceSpans rs;
    for (std::string_view bytes : b.resource_spans) {
      if (!rs.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
        ++t->replay_info_.unparsable_resource_spans;
        continue;
      }
      valid.push_back(bytes);
    }
    absl::StatusOr<SplitResult> split = SplitSerialized(valid);
    if (!split.ok()) {  // not reached: every one parsed
      t->replay_info_.unparsable_resource_spans += valid.size();
      return absl::OkStatus();
    }
    std::shared_ptr<const std::string> buffer = split->data;
    for (const SplitTrace& st : split->traces) {
      auto& hashes = seen[st.id];
      for (size_t g = st.first_group; g < st.first_group + st.group_count; ++g) {
        const std::string_view group = split->group(g);
        if (!hashes.insert(group).second) {
          ++t->replay_info_.duplicate_groups;
          continue;
        }
        auto [it, inserted] = t->live_.try_emplace(st.id);
        Trace& lt = it->second;
        if (inserted) lt.first_arrival = now;
        lt.last_arrival = now;
        lt.bytes += static_cast<int64_t>(group.size());
        lt.spans += split->groups[g].spans;
        lt.times.Add(split->groups[g].times);
        const size_t frame = 1 + UvarintLength(group.size());
        lt.chunks.push_back(Chunk{buffer, split->groups[g].offset - frame, frame + group.size()});
      }
    }
    return absl::OkStatus();
  };
  ASSIGN_OR_RETURN(t->replay_info_.wal, t->wal_->Replay(replay_batch));
  return t;
}

absl::StatusOr<PushResult> TenantTraces::Push(
    const opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest& request) {
  return Push(request.resource_spans());
}

absl::StatusOr<PushResult> TenantTraces::Push(
    const google::protobuf::RepeatedPtrField<tpb::ResourceSpans>& resource_spans) {
  std::vector<std::string> serialized(static_cast<size_t>(resource_spans.size()));
  std::vector<std::string_view> views(serialized.size());
  for (int i = 0; i < resource_spans.size(); ++i) {
    resource_spans[i].SerializeToString(&serialized[i]);
    views[i] = serialized[i];
  }
  return PushSerialized(views);
}

absl::StatusOr<PushResult> TenantTraces::PushSerialized(
    std::span<const std::string_view> resource_spans) {
  ASSIGN_OR_RETURN(SplitResult split, SplitSerialized(resource_spans));
  PushResult result;
  if (split.invalid_spans > 0) result.discarded_spans[kReasonInvalidTraceId] = split.invalid_spans;
  std::vector<char> kept(split.traces.size(), 0);
  std::vector<std::string_view> groups;
  groups.reserve(split.groups.size());
  std::shared_ptr<const std::string> buffer = split.data;

  // Under the lock: the limit decisions, and the kept bytes reserved on their live traces (so
  // that a concurrent push's decision sees them, and CutIdle and StartFlush leave the traces
  // alone until the append is settled).
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return !rotating_; });
  int64_t too_large = 0;
  for (size_t i = 0; i < split.traces.size(); ++i) {
    const SplitTrace& st = split.traces[i];
    if (options_.max_bytes_per_trace > 0) {
      const auto live = live_.find(st.id);
      const int64_t have = live == live_.end() ? 0 : live->second.bytes;
      if (have + st.bytes > options_.max_bytes_per_trace) {
        too_large += st.spans;
        continue;
      }
    }
    kept[i] = 1;
    result.accepted_spans += st.spans;
    Trace& lt = live_[st.id];
    lt.bytes += st.bytes;
    ++lt.inflight;
    for (size_t g = st.first_group; g < st.first_group + st.group_count; ++g) {
      groups.push_back(split.group(g));
    }
  }
  if (too_large > 0) result.discarded_spans[kReasonTraceTooLarge] = too_large;
  if (groups.empty()) return result;

  // The append (and its sync) without the lock: concurrent pushers share the segment log's
  // write and fdatasync (group commit).
  ++appends_in_flight_;
  lock.unlock();
  const absl::Status appended = wal_->Append(groups).status();
  lock.lock();
  if (--appends_in_flight_ == 0) cv_.notify_all();

  const absl::Time now = Now();
  for (size_t i = 0; i < split.traces.size(); ++i) {
    if (!kept[i]) continue;
    const SplitTrace& st = split.traces[i];
    const auto it = live_.find(st.id);  // still live: nothing moves a trace with a push in flight
    Trace& lt = it->second;
    --lt.inflight;
    if (!appended.ok()) {
      lt.bytes -= st.bytes;
      if (lt.chunks.empty() && lt.inflight == 0) live_.erase(it);
      continue;
    }
    if (lt.chunks.empty()) lt.first_arrival = now;
    lt.last_arrival = now;
    lt.spans += st.spans;
    lt.times.Add(st.times);
    lt.chunks.push_back(Chunk{buffer, st.offset, st.size});
  }
  if (!appended.ok()) return appended;
  return result;
}

tpb::TracesData MergeGroups(const std::vector<const tpb::ResourceSpans*>& groups) {
  // Framed as TracesData field 1, then merged at the byte level.
  std::string chunk;
  for (const tpb::ResourceSpans* g : groups) {
    chunk.push_back('\x0a');
    PutUvarint(chunk, g->ByteSizeLong());
    g->AppendToString(&chunk);
  }
  const std::string_view view(chunk);
  tpb::TracesData out;
  absl::StatusOr<std::string> merged = MergeSerializedGroups(std::span(&view, 1));
  if (merged.ok()) out.ParseFromString(*merged);
  return out;
}

std::optional<tpb::TracesData> TenantTraces::FindTrace(const std::string& trace_id) const {
  if (trace_id.size() != 16) return std::nullopt;
  const TraceKey key = ToTraceKey(trace_id);
  std::vector<Chunk> chunks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const TraceMap* set : {static_cast<const TraceMap*>(flushing_.get()), &pending_, &live_}) {
      if (set == nullptr) continue;
      const auto it = set->find(key);
      if (it != set->end()) {
        chunks.insert(chunks.end(), it->second.chunks.begin(), it->second.chunks.end());
      }
    }
  }
  if (chunks.empty()) return std::nullopt;
  return MergeChunks(chunks, nullptr);
}

TraceParts TenantTraces::Snapshot(std::span<const std::string> ids) const {
  TraceParts out;
  out.traces_.reserve(ids.size());
  std::lock_guard<std::mutex> lock(mu_);
  for (const std::string& id : ids) {
    if (id.size() != 16) continue;
    const TraceKey key = ToTraceKey(id);
    TraceParts::Trace* trace = nullptr;
    for (const TraceMap* set : {static_cast<const TraceMap*>(flushing_.get()), &pending_, &live_}) {
      if (set == nullptr) continue;
      const auto it = set->find(key);
      if (it == set->end() || it->second.chunks.empty()) continue;
      if (trace == nullptr) trace = &out.traces_.emplace_back(TraceParts::Trace{id, {}});
      trace->chunks.insert(trace->chunks.end(), it->second.chunks.begin(), it->second.chunks.end());
    }
  }
  return out;
}

absl::Status TraceParts::Read(size_t i, tpb::TracesData* out, int64_t* bytes,
                              const Projection* projection) const {
  out->Clear();
  if (bytes != nullptr) *bytes = 0;
  if (i >= traces_.size()) {
    return absl::OutOfRangeError(absl::StrCat("trace parts: no trace ", i));
  }
  std::string_view one;
  std::vector<std::string_view> views;
  std::span<const std::string_view> chunks;
  if (traces_[i].chunks.size() == 1) {
    one = traces_[i].chunks[0].view();
    chunks = std::span(&one, 1);
  } else {
    views.reserve(traces_[i].chunks.size());
    for (const SpanChunk& c : traces_[i].chunks) views.push_back(c.view());
    chunks = views;
  }
  absl::StatusOr<std::string> merged = MergeSerializedGroups(chunks);
  bool ok = merged.ok();
  if (ok && projection != nullptr) {
    thread_local std::string projected;  // reused: a scan reads many traces per thread
    ok = ProjectSerializedTraces(*merged, *projection, &projected).ok() &&
         out->ParseFromString(projected);
  } else if (ok) {
    ok = out->ParseFromString(*merged);
  }
  if (!ok) {
    out->Clear();
    return absl::DataLossError("trace parts: the stored spans of a trace do not parse");
  }
  if (bytes != nullptr) *bytes = static_cast<int64_t>(merged->size());
  return absl::OkStatus();
}

void TenantTraces::MergeInto(TraceMap* to, const TraceKey& id, Trace part, bool in_front) {
  auto [it, inserted] = to->try_emplace(id);
  if (inserted) {
    it->second = std::move(part);
    return;
  }
  Trace& have = it->second;
  if (in_front) {
    part.chunks.insert(part.chunks.end(), std::make_move_iterator(have.chunks.begin()),
                       std::make_move_iterator(have.chunks.end()));
    have.chunks = std::move(part.chunks);
  } else {
    have.chunks.insert(have.chunks.end(), std::make_move_iterator(part.chunks.begin()),
                       std::make_move_iterator(part.chunks.end()));
  }
  have.first_arrival = std::min(have.first_arrival, part.first_arrival);
  have.last_arrival = std::max(have.last_arrival, part.last_arrival);
  have.cut = std::min(have.cut, part.cut);
  have.bytes += part.bytes;
  have.spans += part.spans;
  have.times.Add(part.times);
}

std::vector<std::string> TenantTraces::CutIdle(absl::Time now, absl::Duration idle_period) {
  std::vector<TraceKey> cut;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = live_.begin(); it != live_.end();) {
    if (it->second.inflight == 0 && now - it->second.last_arrival > idle_period) {
      cut.push_back(it->first);
      Trace part = std::move(it->second);
      part.cut = now;
      pending_bytes_ += part.bytes;
      MergeInto(&pending_, it->first, std::move(part), /*in_front=*/false);
      live_.erase(it++);
    } else {
      ++it;
    }
  }
  return SortedIds(std::move(cut));
}

absl::Status TenantTraces::WriteCheckpoint(const std::vector<Chunk>& chunks) {
  // Batches kept under the WAL's record limit (with room for the framing of each group).
  const uint64_t limit = options_.wal.max_record_size > 64 ? options_.wal.max_record_size - 64 : 1;
  std::vector<std::string_view> batch;
  uint64_t batch_bytes = 0;
  const auto flush = [&]() -> absl::Status {
    if (batch.empty()) return absl::OkStatus();
    RETURN_IF_ERROR(wal_->Append(batch).status());
    batch.clear();
    batch_bytes = 0;
    return absl::OkStatus();
  };
  for (const Chunk& chunk : chunks) {
    ASSIGN_OR_RETURN(std::vector<std::string_view> groups, ResourceSpansOf(chunk.view()));
    for (std::string_view g : groups) {
      const uint64_t cost = g.size() + 16;
      if (batch_bytes + cost > limit) RETURN_IF_ERROR(flush());
      batch_bytes += cost;
      batch.push_back(g);
    }
  }
  RETURN_IF_ERROR(flush());
  return wal_->Sync();
}

void TenantTraces::ReturnFlushingToPending() {
  if (flushing_ != nullptr) {
    for (auto& [id, trace] : *flushing_) {
      pending_bytes_ += trace.bytes;
      MergeInto(&pending_, id, std::move(trace), /*in_front=*/true);
    }
  }
  flushing_.reset();
  flushing_job_ = 0;
  flushing_ready_ = false;
}

absl::StatusOr<std::optional<FlushJob>> TenantTraces::StartFlush(absl::Time now,
                                                                 absl::Duration max_block_duration,
                                                                 int64_t max_block_bytes,
                                                                 bool force) {
  FlushJob job;
  std::vector<Chunk> checkpoint;
  std::shared_ptr<const TraceMap> traces;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (flushing_job_ != 0 || rotating_) return std::optional<FlushJob>();
    if (!force) {
      if (pending_.empty()) return std::optional<FlushJob>();
      absl::Time oldest = absl::InfiniteFuture();
      for (const auto& [id, trace] : pending_) oldest = std::min(oldest, trace.cut);
      const bool due = (max_block_bytes > 0 && pending_bytes_ >= max_block_bytes) ||
                       now - oldest >= max_block_duration;
      if (!due) return std::optional<FlushJob>();
    }
    // New pushes wait; the appends in flight finish (and enter the live set) first, so that
    // every acknowledged push is below the new segment and in the live set, or in the job.
    rotating_ = true;
    cv_.wait(lock, [this] { return appends_in_flight_ == 0; });
    struct Done {
      TenantTraces* t;
      ~Done() {
        t->rotating_ = false;
        t->cv_.notify_all();
      }
    } done{this};
    if (force) {
      for (auto& [id, trace] : live_) {
        if (trace.chunks.empty()) continue;
        trace.cut = now;
        pending_bytes_ += trace.bytes;
        MergeInto(&pending_, id, std::move(trace), /*in_front=*/false);
      }
      live_.clear();
    }
    if (pending_.empty()) return std::optional<FlushJob>();

    // Later pushes go to `segment` or above. The live set's bytes (shared, immutable) are the
    // checkpoint, written below without the lock.
    ASSIGN_OR_RETURN(job.wal_segment, wal_->Rotate());
    for (const auto& [id, trace] : live_) {
      checkpoint.insert(checkpoint.end(), trace.chunks.begin(), trace.chunks.end());
    }
    flushing_ = std::make_shared<TraceMap>(std::move(pending_));
    pending_ = TraceMap();
    pending_bytes_ = 0;
    job.id = next_job_id_++;
    flushing_job_ = job.id;
    flushing_ready_ = false;
    traces = flushing_;
  }

  if (absl::Status s = WriteCheckpoint(checkpoint); !s.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    ReturnFlushingToPending();
    return s;
  }
  checkpoint.clear();

  // The job, from the flushing set (not changed until CompleteFlush, which needs this job): per
  // trace its merged size and span count (a byte-level merge, dropped at once). No span is
  // parsed here: the block sink parses one trace at a time (FlushJob::ReadTrace).
  std::vector<TraceKey> ids;
  ids.reserve(traces->size());
  for (const auto& [id, trace] : *traces) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  auto source = std::make_shared<FlushJobTraces>();
  source->traces.reserve(ids.size());
  job.traces.reserve(ids.size());
  std::vector<std::string_view> views;
  for (const TraceKey& id : ids) {
    const Trace& trace = traces->at(id);
    source->traces.push_back(&trace);
    CutTrace& c = job.traces.emplace_back();
    c.trace_id = TraceKeyString(id);
    views.clear();
    for (const Chunk& chunk : trace.chunks) views.push_back(chunk.view());
    int64_t spans = 0;
    absl::StatusOr<std::string> merged = MergeSerializedGroups(views, &spans);
    // The chunks were split by SplitSerialized from bytes that parsed: they always merge.
    if (merged.ok()) {
      job.bytes += static_cast<int64_t>(merged->size());
      c.spans = spans;
    }
    c.first_arrival = trace.first_arrival;
    c.last_arrival = trace.last_arrival;
    c.bytes = trace.bytes;
    job.spans += c.spans;
  }
  source->map = std::move(traces);
  job.source = std::move(source);
  traces.reset();
  {
    std::lock_guard<std::mutex> lock(mu_);
    flushing_ready_ = true;
  }
  return std::optional<FlushJob>(std::move(job));
}

absl::Status FlushJob::ReadTrace(size_t i, tpb::TracesData* out) const {
  out->Clear();
  if (source == nullptr || i >= source->traces.size() || i >= traces.size()) {
    return absl::OutOfRangeError(absl::StrCat("flush job ", id, " has no trace ", i));
  }
  std::vector<std::string_view> views;
  views.reserve(source->traces[i]->chunks.size());
  for (const auto& chunk : source->traces[i]->chunks) views.push_back(chunk.view());
  absl::StatusOr<std::string> merged = MergeSerializedGroups(views);
  if (!merged.ok() || !out->ParseFromString(*merged)) {
    out->Clear();
    return absl::DataLossError(
        absl::StrCat("flush job ", id, ": the stored spans of trace ", i, " do not parse"));
  }
  return absl::OkStatus();
}

tpb::TracesData FlushJob::Trace(size_t i) const {
  tpb::TracesData td;
  (void)ReadTrace(i, &td);
  return td;
}

absl::Status TenantTraces::CompleteFlush(const FlushJob& job, bool ok) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (job.id == 0 || job.id != flushing_job_ || !flushing_ready_) {
      return absl::FailedPreconditionError(
          absl::StrCat("flush job ", job.id, " is not the job being flushed"));
    }
    if (!ok) {
      ReturnFlushingToPending();
      return absl::OkStatus();
    }
    flushing_.reset();
    flushing_job_ = 0;
    flushing_ready_ = false;
  }
  return wal_->Truncate(job.wal_segment);
}

std::vector<std::string> TenantTraces::LiveTraceIds() const {
  std::vector<TraceKey> keys;
  {
    std::lock_guard<std::mutex> lock(mu_);
    keys.reserve(live_.size());
    for (const auto& [id, trace] : live_) {
      if (!trace.chunks.empty()) keys.push_back(id);
    }
  }
  return SortedIds(std::move(keys));
}

std::vector<std::string> TenantTraces::TraceIds() const {
  std::vector<TraceKey> keys;
  {
    std::lock_guard<std::mutex> lock(mu_);
    keys.reserve(live_.size() + pending_.size() + (flushing_ ? flushing_->size() : 0));
    for (const TraceMap* set : {&live_, &pending_, static_cast<const TraceMap*>(flushing_.get())}) {
      if (set == nullptr) continue;
      for (const auto& [id, trace] : *set) {
        if (!trace.chunks.empty()) keys.push_back(id);  // not a push still in flight
      }
    }
  }
  return SortedIds(std::move(keys));
}

std::vector<std::string> TenantTraces::TraceIdsStartingIn(uint64_t start_ns,
                                                          uint64_t end_ns) const {
  std::vector<TraceKey> keys;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const TraceMap* const sets[] = {&live_, &pending_,
                                    static_cast<const TraceMap*>(flushing_.get())};
    for (size_t i = 0; i < 3; ++i) {
      if (sets[i] == nullptr) continue;
      for (const auto& [id, trace] : *sets[i]) {
        if (trace.chunks.empty()) continue;  // a push still in flight
        // The bounds of every part of the trace (the merged trace's), so that a trace is kept
        // exactly when FindTrace's merge would show such a span.
        SpanTimes times = trace.times;
        for (size_t j = 0; j < 3; ++j) {
          if (j == i || sets[j] == nullptr || sets[j]->empty()) continue;
          const auto other = sets[j]->find(id);
          if (other != sets[j]->end()) times.Add(other->second.times);
        }
        if (times.MayStartIn(start_ns, end_ns)) keys.push_back(id);
      }
    }
  }
  return SortedIds(std::move(keys));
}

size_t TenantTraces::live_traces() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& [id, trace] : live_) n += trace.chunks.empty() ? 0 : 1;
  return n;
}

size_t TenantTraces::pending_traces() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_.size();
}

size_t TenantTraces::flushing_traces() const {
  std::lock_guard<std::mutex> lock(mu_);
  return flushing_ ? flushing_->size() : 0;
}

int64_t TenantTraces::pending_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_bytes_;
}

}  // namespace sprout::traces::live
