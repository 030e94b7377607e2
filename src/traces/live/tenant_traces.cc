#include "traces/live/tenant_traces.h"

#include <string_view>
#include <utility>

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
        if (inserted) lt.first_arrival = now;
        lt.last_arrival = now;
        lt.bytes += static_cast<int64_t>(group.ByteSizeLong());
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

tpb::TracesData TenantTraces::Merge(const LiveTrace& trace) {
  tpb::TracesData out;
  // Resource key: serialized resource + schema URL; scope key: serialized scope + schema URL.
  std::map<std::string, tpb::ResourceSpans*> resources;
  std::map<std::pair<tpb::ResourceSpans*, std::string>, tpb::ScopeSpans*> scopes;
  std::map<std::pair<std::string, std::string>, bool> seen;  // (span ID, span bytes)
  for (const tpb::ResourceSpans& g : trace.groups) {
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

std::optional<tpb::TracesData> TenantTraces::FindTrace(const std::string& trace_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = live_.find(trace_id);
  if (it == live_.end()) return std::nullopt;
  return Merge(it->second);
}

std::vector<CutTrace> TenantTraces::IdleTraces(absl::Time now, absl::Duration idle_period) {
  std::vector<CutTrace> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = live_.begin(); it != live_.end();) {
    if (now - it->second.last_arrival > idle_period) {
      CutTrace c;
      c.trace_id = it->first;
      c.trace = Merge(it->second);
      c.first_arrival = it->second.first_arrival;
      c.last_arrival = it->second.last_arrival;
      c.bytes = it->second.bytes;
      out.push_back(std::move(c));
      it = live_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

std::vector<std::string> TenantTraces::LiveTraceIds() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> ids;
  ids.reserve(live_.size());
  for (const auto& [id, trace] : live_) ids.push_back(id);
  return ids;
}

size_t TenantTraces::live_traces() const {
  std::lock_guard<std::mutex> lock(mu_);
  return live_.size();
}

}  // namespace sprout::traces::live
