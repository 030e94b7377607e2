#include "traces/live/tenant_traces.h"

#include <algorithm>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
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

TenantTraces::TenantTraces(std::unique_ptr<wal::TracesWal> wal, TenantTracesOptions options)
    : wal_(std::move(wal)), options_(std::move(options)) {}

absl::Time TenantTraces::Now() const { return options_.clock ? options_.clock() : absl::Now(); }

absl::StatusOr<std::unique_ptr<TenantTraces>> TenantTraces::Open(storage::Env* env, std::string dir,
                                                                 TenantTracesOptions options) {
  ASSIGN_OR_RETURN(std::unique_ptr<wal::TracesWal> w,
                   wal::TracesWal::Open(env, std::move(dir), options.wal));
  std::unique_ptr<TenantTraces> t(new TenantTraces(std::move(w), std::move(options)));
  const absl::Time now = t->Now();
  // Per trace: hash of a group's bytes -> indexes of its groups with that hash (a checkpoint
  // repeats groups of older segments; exact repeats are dropped).
  std::map<std::string, std::unordered_multimap<size_t, size_t>> seen;
  const auto replay_batch = [&](const wal::ReplayedBatch& b) {
    for (std::string_view bytes : b.resource_spans) {
      tpb::ResourceSpans rs;
      if (!rs.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
        ++t->replay_info_.unparsable_resource_spans;
        continue;
      }
      int64_t invalid = 0;
      for (auto& [id, group] : SplitByTrace(rs, &invalid)) {
        auto [it, inserted] = t->live_.try_emplace(id);
        LiveTrace& lt = it->second;
        std::string group_bytes = group.SerializeAsString();
        const size_t hash = absl::HashOf(group_bytes);
        auto& hashes = seen[id];
        bool duplicate = false;
        for (auto [h, end] = hashes.equal_range(hash); h != end; ++h) {
          if (lt.groups[h->second].SerializeAsString() == group_bytes) {
            duplicate = true;
            break;
          }
        }
        if (duplicate) {
          ++t->replay_info_.duplicate_groups;
          continue;
        }
        hashes.emplace(hash, lt.groups.size());
        if (inserted) lt.first_arrival = now;
        lt.last_arrival = now;
        lt.bytes += static_cast<int64_t>(group_bytes.size());
        lt.groups.push_back(std::move(group));
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
  PushResult result;
  // This request's groups per trace, in request order.
  struct Incoming {
    std::vector<tpb::ResourceSpans> groups;
    int64_t bytes = 0;
    int64_t spans = 0;
  };
  std::map<std::string, Incoming> incoming;
  int64_t invalid = 0;
  for (const tpb::ResourceSpans& rs : resource_spans) {
    for (auto& [id, group] : SplitByTrace(rs, &invalid)) {
      Incoming& in = incoming[id];
      in.bytes += static_cast<int64_t>(group.ByteSizeLong());
      for (const tpb::ScopeSpans& ss : group.scope_spans()) in.spans += ss.spans_size();
      in.groups.push_back(std::move(group));
    }
  }
  if (invalid > 0) result.discarded_spans[kReasonInvalidTraceId] = invalid;

  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> serialized;
  for (auto it = incoming.begin(); it != incoming.end();) {
    const auto live = live_.find(it->first);
    const int64_t have = live == live_.end() ? 0 : live->second.bytes;
    if (options_.max_bytes_per_trace > 0 &&
        have + it->second.bytes > options_.max_bytes_per_trace) {
      result.discarded_spans[kReasonTraceTooLarge] += it->second.spans;
      it = incoming.erase(it);
      continue;
    }
    result.accepted_spans += it->second.spans;
    for (const tpb::ResourceSpans& g : it->second.groups)
      serialized.push_back(g.SerializeAsString());
    ++it;
  }
  if (serialized.empty()) return result;
  std::vector<std::string_view> views(serialized.begin(), serialized.end());
  RETURN_IF_ERROR(wal_->Append(views).status());

  const absl::Time now = Now();
  for (auto& [id, in] : incoming) {
    auto [it, inserted] = live_.try_emplace(id);
    LiveTrace& lt = it->second;
    if (inserted) lt.first_arrival = now;
    lt.last_arrival = now;
    lt.bytes += in.bytes;
    for (tpb::ResourceSpans& g : in.groups) lt.groups.push_back(std::move(g));
  }
  return result;
}

tpb::TracesData MergeGroups(const std::vector<const tpb::ResourceSpans*>& groups) {
  tpb::TracesData out;
  // Resource key: serialized resource + schema URL; scope key: serialized scope + schema URL.
  std::map<std::string, tpb::ResourceSpans*> resources;
  std::map<std::pair<tpb::ResourceSpans*, std::string>, tpb::ScopeSpans*> scopes;
  std::map<std::pair<std::string, std::string>, bool> seen;  // (span ID, span bytes)
  for (const tpb::ResourceSpans* group : groups) {
    const tpb::ResourceSpans& g = *group;
    std::string rkey = g.resource().SerializeAsString();
    rkey.push_back('\0');
    rkey += g.schema_url();
    tpb::ResourceSpans*& r = resources[rkey];
    for (const tpb::ScopeSpans& ss : g.scope_spans()) {
      for (const tpb::Span& span : ss.spans()) {
        if (!seen.try_emplace({span.span_id(), span.SerializeAsString()}, true).second) continue;
        if (r == nullptr) {
          r = out.add_resource_spans();
          if (g.has_resource()) *r->mutable_resource() = g.resource();
          r->set_schema_url(g.schema_url());
        }
        std::string skey = ss.scope().SerializeAsString();
        skey.push_back('\0');
        skey += ss.schema_url();
        tpb::ScopeSpans*& s = scopes[{r, skey}];
        if (s == nullptr) {
          s = r->add_scope_spans();
          if (ss.has_scope()) *s->mutable_scope() = ss.scope();
          s->set_schema_url(ss.schema_url());
        }
        *s->add_spans() = span;
      }
    }
  }
  return out;
}

tpb::TracesData TenantTraces::Merge(const std::vector<const LiveTrace*>& parts) {
  std::vector<const tpb::ResourceSpans*> groups;
  for (const LiveTrace* part : parts) {
    for (const tpb::ResourceSpans& g : part->groups) groups.push_back(&g);
  }
  return MergeGroups(groups);
}

std::optional<tpb::TracesData> TenantTraces::FindTrace(const std::string& trace_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<const LiveTrace*> parts;
  for (const TraceMap* set : {&flushing_, &pending_, &live_}) {
    const auto it = set->find(trace_id);
    if (it != set->end()) parts.push_back(&it->second);
  }
  if (parts.empty()) return std::nullopt;
  return Merge(parts);
}

void TenantTraces::MergeInto(TraceMap* to, const std::string& id, LiveTrace part, bool in_front) {
  auto [it, inserted] = to->try_emplace(id);
  if (inserted) {
    it->second = std::move(part);
    return;
  }
  LiveTrace& have = it->second;
  if (in_front) {
    part.groups.insert(part.groups.end(), std::make_move_iterator(have.groups.begin()),
                       std::make_move_iterator(have.groups.end()));
    have.groups = std::move(part.groups);
  } else {
    have.groups.insert(have.groups.end(), std::make_move_iterator(part.groups.begin()),
                       std::make_move_iterator(part.groups.end()));
  }
  have.first_arrival = std::min(have.first_arrival, part.first_arrival);
  have.last_arrival = std::max(have.last_arrival, part.last_arrival);
  have.cut = std::min(have.cut, part.cut);
  have.bytes += part.bytes;
}

std::vector<std::string> TenantTraces::CutIdle(absl::Time now, absl::Duration idle_period) {
  std::vector<std::string> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = live_.begin(); it != live_.end();) {
    if (now - it->second.last_arrival > idle_period) {
      out.push_back(it->first);
      LiveTrace part = std::move(it->second);
      part.cut = now;
      pending_bytes_ += part.bytes;
      MergeInto(&pending_, it->first, std::move(part), /*in_front=*/false);
      it = live_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

absl::Status TenantTraces::WriteCheckpoint() {
  // Batches kept under the WAL's record limit (with room for the framing of each group).
  const uint64_t limit = options_.wal.max_record_size > 64 ? options_.wal.max_record_size - 64 : 1;
  std::vector<std::string> batch;
  uint64_t batch_bytes = 0;
  const auto flush = [&]() -> absl::Status {
    if (batch.empty()) return absl::OkStatus();
    std::vector<std::string_view> views(batch.begin(), batch.end());
    RETURN_IF_ERROR(wal_->Append(views).status());
    batch.clear();
    batch_bytes = 0;
    return absl::OkStatus();
  };
  for (const auto& [id, trace] : live_) {
    for (const tpb::ResourceSpans& g : trace.groups) {
      std::string bytes = g.SerializeAsString();
      const uint64_t cost = bytes.size() + 16;
      if (batch_bytes + cost > limit) RETURN_IF_ERROR(flush());
      batch_bytes += cost;
      batch.push_back(std::move(bytes));
    }
  }
  RETURN_IF_ERROR(flush());
  return wal_->Sync();
}

absl::StatusOr<std::optional<FlushJob>> TenantTraces::StartFlush(absl::Time now,
                                                                 absl::Duration max_block_duration,
                                                                 int64_t max_block_bytes,
                                                                 bool force) {
  std::lock_guard<std::mutex> lock(mu_);
  if (flushing_job_ != 0) return std::optional<FlushJob>();
  if (force) {
    for (auto& [id, trace] : live_) {
      trace.cut = now;
      pending_bytes_ += trace.bytes;
      MergeInto(&pending_, id, std::move(trace), /*in_front=*/false);
    }
    live_.clear();
  }
  if (pending_.empty()) return std::optional<FlushJob>();
  absl::Time oldest = absl::InfiniteFuture();
  for (const auto& [id, trace] : pending_) oldest = std::min(oldest, trace.cut);
  const bool due = force || (max_block_bytes > 0 && pending_bytes_ >= max_block_bytes) ||
                   now - oldest >= max_block_duration;
  if (!due) return std::optional<FlushJob>();

  ASSIGN_OR_RETURN(const uint64_t segment, wal_->Rotate());
  RETURN_IF_ERROR(WriteCheckpoint());

  FlushJob job;
  job.id = next_job_id_++;
  job.wal_segment = segment;
  job.traces.reserve(pending_.size());
  for (const auto& [id, trace] : pending_) {
    CutTrace c;
    c.trace_id = id;
    c.trace = Merge({&trace});
    c.first_arrival = trace.first_arrival;
    c.last_arrival = trace.last_arrival;
    c.bytes = trace.bytes;
    job.bytes += static_cast<int64_t>(c.trace.ByteSizeLong());
    for (const tpb::ResourceSpans& rs : c.trace.resource_spans()) {
      for (const tpb::ScopeSpans& ss : rs.scope_spans()) job.spans += ss.spans_size();
    }
    job.traces.push_back(std::move(c));
  }
  flushing_.swap(pending_);
  pending_.clear();
  pending_bytes_ = 0;
  flushing_job_ = job.id;
  return std::optional<FlushJob>(std::move(job));
}

absl::Status TenantTraces::CompleteFlush(const FlushJob& job, bool ok) {
  std::lock_guard<std::mutex> lock(mu_);
  if (job.id == 0 || job.id != flushing_job_) {
    return absl::FailedPreconditionError(
        absl::StrCat("flush job ", job.id, " is not the job being flushed"));
  }
  flushing_job_ = 0;
  TraceMap done;
  done.swap(flushing_);
  if (ok) return wal_->Truncate(job.wal_segment);
  for (auto& [id, trace] : done) {
    pending_bytes_ += trace.bytes;
    MergeInto(&pending_, id, std::move(trace), /*in_front=*/true);
  }
  return absl::OkStatus();
}

std::vector<std::string> TenantTraces::LiveTraceIds() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> ids;
  ids.reserve(live_.size());
  for (const auto& [id, trace] : live_) ids.push_back(id);
  return ids;
}

std::vector<std::string> TenantTraces::TraceIds() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> ids;
  ids.reserve(live_.size() + pending_.size() + flushing_.size());
  for (const TraceMap* set : {&live_, &pending_, &flushing_}) {
    for (const auto& [id, trace] : *set) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

size_t TenantTraces::live_traces() const {
  std::lock_guard<std::mutex> lock(mu_);
  return live_.size();
}

size_t TenantTraces::pending_traces() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_.size();
}

size_t TenantTraces::flushing_traces() const {
  std::lock_guard<std::mutex> lock(mu_);
  return flushing_.size();
}

int64_t TenantTraces::pending_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_bytes_;
}

}  // namespace sprout::traces::live
