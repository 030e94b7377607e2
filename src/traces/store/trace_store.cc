#include "traces/store/trace_store.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <iterator>
#include <map>
#include <set>
#include <span>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/go_duration.h"
#include "base/status.h"
#include "base/ulid.h"
#include "net/tenant.h"
#include "otlp/wire_format.h"
#include "traces/common/attribute_text.h"
#include "traces/traceql/engine.h"
#include "traces/traceql/parser.h"

namespace sprout::traces::store {
namespace {

namespace tpb = opentelemetry::proto::trace::v1;
namespace cpb = opentelemetry::proto::common::v1;

constexpr uint64_t kNanosPerSecond = 1000000000ull;

absl::Status NotStarted() { return absl::UnavailableError("the trace store is not started"); }

// First span start and last span end of a trace (0, 0 when it has no span).
std::pair<uint64_t, uint64_t> TimeRange(const tpb::TracesData& td) {
  uint64_t lo = UINT64_MAX, hi = 0;
  for (const tpb::ResourceSpans& rs : td.resource_spans()) {
    for (const tpb::ScopeSpans& ss : rs.scope_spans()) {
      for (const tpb::Span& s : ss.spans()) {
        lo = std::min<uint64_t>(lo, s.start_time_unix_nano());
        hi = std::max<uint64_t>(hi, std::max(s.start_time_unix_nano(), s.end_time_unix_nano()));
      }
    }
  }
  if (lo == UINT64_MAX) return {0, 0};
  return {lo, hi};
}

// Whether the trace's span time range overlaps [start_s, end_s] (0 = unbounded side).
bool Overlaps(const tpb::TracesData& td, uint32_t start_s, uint32_t end_s) {
  if (start_s == 0 && end_s == 0) return true;
  const auto [lo, hi] = TimeRange(td);
  if (start_s != 0 && hi < start_s * kNanosPerSecond) return false;
  if (end_s != 0 && lo > end_s * kNanosPerSecond) return false;
  return true;
}

const cpb::KeyValue* FindAttr(const google::protobuf::RepeatedPtrField<cpb::KeyValue>& attrs,
                              std::string_view key) {
  for (const cpb::KeyValue& kv : attrs) {
    if (kv.key() == key) return &kv;
  }
  return nullptr;
}

std::string ServiceName(const tpb::ResourceSpans& rs) {
  const cpb::KeyValue* kv = FindAttr(rs.resource().attributes(), "service.name");
  return kv != nullptr && kv->value().has_string_value() ? kv->value().string_value() : "";
}

bool IsRoot(const tpb::Span& s) {
  return std::all_of(s.parent_span_id().begin(), s.parent_span_id().end(),
                     [](char c) { return c == '\0'; });
}

// The tag name=value on one span. On a match of an attribute, `*matched_attr` is set to it.
bool TagMatches(const tpb::ResourceSpans& rs, const tpb::Span& s, const std::string& name,
                const std::string& value, const cpb::KeyValue** matched_attr) {
  if (name == "name") return s.name() == value;
  if (name == "status") return StatusKeyword(s.status().code()) == value;
  if (const cpb::KeyValue* kv = FindAttr(s.attributes(), name);
      kv != nullptr && ValueMatches(kv->value(), value)) {
    *matched_attr = kv;
    return true;
  }
  if (const cpb::KeyValue* kv = FindAttr(rs.resource().attributes(), name);
      kv != nullptr && ValueMatches(kv->value(), value)) {
    *matched_attr = kv;
    return true;
  }
  return false;
}

// One trace from its parts (block copies oldest first, then memory): the part itself when there
// is one, else live::MergeGroups over every part's groups (exact duplicate spans once).
std::optional<tpb::TracesData> Combine(std::vector<tpb::TracesData>& parts) {
  if (parts.empty()) return std::nullopt;
  if (parts.size() == 1) return std::move(parts[0]);
  std::vector<const tpb::ResourceSpans*> groups;
  for (const tpb::TracesData& td : parts) {
    for (const tpb::ResourceSpans& rs : td.resource_spans()) groups.push_back(&rs);
  }
  return live::MergeGroups(groups);
}

// Whether [lo, hi] (nanoseconds) overlaps [start_s, end_s] (seconds; 0 = unbounded side).
bool RangeOverlaps(uint64_t lo, uint64_t hi, uint32_t start_s, uint32_t end_s) {
  if (start_s != 0 && hi < start_s * kNanosPerSecond) return false;
  if (end_s != 0 && lo > end_s * kNanosPerSecond) return false;
  return true;
}

// The indexes of the traces of `page` having a span that carries the tag name=value (the rule
// of TagMatches), from the block's columns.
absl::StatusOr<std::vector<uint32_t>> TracesWithTag(const block::BlockReader& reader, size_t page,
                                                    const std::string& name,
                                                    const std::string& value) {
  if (name == "name") return reader.TracesWithSpanName(page, value);
  if (name == "status") {
    for (tpb::Status::StatusCode code :
         {tpb::Status::STATUS_CODE_UNSET, tpb::Status::STATUS_CODE_OK,
          tpb::Status::STATUS_CODE_ERROR}) {
      if (StatusKeyword(code) == value) return reader.TracesWithStatus(page, code);
    }
    return std::vector<uint32_t>();
  }
  absl::StatusOr<std::vector<uint32_t>> span =
      reader.TracesWithAttribute(page, block::AttrScope::kSpan, name, value);
  if (!span.ok()) return span.status();
  absl::StatusOr<std::vector<uint32_t>> resource =
      reader.TracesWithAttribute(page, block::AttrScope::kResource, name, value);
  if (!resource.ok()) return resource.status();
  std::sort(span->begin(), span->end());
  std::sort(resource->begin(), resource->end());
  std::vector<uint32_t> out;
  std::set_union(span->begin(), span->end(), resource->begin(), resource->end(),
                 std::back_inserter(out));
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

constexpr std::string_view kIntrinsicTags[] = {"duration", "event:name",    "kind",
                                               "name",     "rootName",      "rootServiceName",
                                               "status",   "statusMessage", "traceDuration"};

}  // namespace

absl::Status UnavailableBlockSink::WriteBlock(std::string_view, const live::FlushJob&) {
  return absl::UnavailableError("blocks are not implemented yet");
}

ObjectStoreBlockSink::ObjectStoreBlockSink(objstore::ObjectStore* store, BlocksFn blocks_for,
                                           block::BlockWriterOptions writer_options)
    : store_(store),
      blocks_for_(std::move(blocks_for)),
      writer_options_(std::move(writer_options)) {}

absl::Status ObjectStoreBlockSink::WriteBlock(std::string_view tenant, const live::FlushJob& job) {
  absl::StatusOr<TenantBlocks*> blocks = blocks_for_(tenant);
  if (!blocks.ok()) return blocks.status();
  // One trace parsed at a time (the job holds the stored bytes): the block's memory is its
  // compressed pages and the open page, not the job's spans as messages.
  block::BlockWriter writer(writer_options_);
  opentelemetry::proto::trace::v1::TracesData trace;
  for (size_t i = 0; i < job.traces.size(); ++i) {
    // Not reached (the stored bytes parsed when pushed): a trace that does not parse goes in
    // empty, as it did when the job held parsed traces, rather than failing every flush.
    (void)job.ReadTrace(i, &trace);
    if (absl::Status s = writer.Add(job.traces[i].trace_id, trace); !s.ok()) return s;
  }
  trace = opentelemetry::proto::trace::v1::TracesData();
  const std::string id = Ulid::Generate().ToString();
  absl::StatusOr<block::BlockMeta> meta = writer.Finish(store_, tenant, id);
  if (!meta.ok()) {
    (void)store_->DeletePrefix(block::BlockPrefix(tenant, id));  // invisible without meta.json
    return meta.status();
  }
  absl::StatusOr<std::unique_ptr<block::BlockReader>> reader =
      block::BlockReader::Open(store_, tenant, id);
  if (!reader.ok()) {
    (void)DeleteBlock(store_, tenant, id);  // a leftover only duplicates what the WAL replays
    return reader.status();
  }
  (*blocks)->Add(std::shared_ptr<const block::BlockReader>(std::move(*reader)));
  std::lock_guard<std::mutex> lock(mu_);
  bytes_written_[std::string(tenant)] += meta->total_bytes();
  return absl::OkStatus();
}

std::map<std::string, uint64_t> ObjectStoreBlockSink::bytes_written() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {bytes_written_.begin(), bytes_written_.end()};
}

TraceStore::TraceStore(TraceStoreOptions options) : options_(std::move(options)) {
  sink_ = options_.block_sink;
  if (sink_ == nullptr && options_.block_store != nullptr) {
    own_sink_ = std::make_unique<ObjectStoreBlockSink>(
        options_.block_store, [this](std::string_view tenant) { return BlocksFor(tenant); },
        options_.block_writer);
    sink_ = own_sink_.get();
  }
}

TraceStore::~TraceStore() { Close(); }

absl::Status TraceStore::Start() {
  storage::Env* env = options_.env;
  const std::string& dir = options_.wal_dir;
  if (absl::Status s = env->CreateDirs(dir); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("trace store: ", dir, ": ", s.message()));
  }
  absl::StatusOr<std::vector<std::string>> names = env->ListDir(dir);
  if (!names.ok()) {
    return absl::Status(names.status().code(),
                        absl::StrCat("trace store: ", dir, ": ", names.status().message()));
  }
  std::sort(names->begin(), names->end());
  std::lock_guard<std::mutex> open_lock(open_mu_);
  for (const std::string& name : *names) {
    absl::StatusOr<bool> is_dir = env->IsDirectory(storage::JoinPath(dir, name));
    if (!is_dir.ok() || !*is_dir) continue;
    if (!net::ValidateTenantId(name).ok()) {
      skipped_dirs_.push_back(name);
      continue;
    }
    absl::StatusOr<std::unique_ptr<live::TenantTraces>> t =
        live::TenantTraces::Open(env, storage::JoinPath(dir, name), options_.tenant);
    if (!t.ok()) {
      return absl::Status(t.status().code(),
                          absl::StrCat("trace store: tenant ", name, ": ", t.status().message()));
    }
    std::lock_guard<std::mutex> lock(mu_);
    tenants_[name] = *std::move(t);
  }
  if (objstore::ObjectStore* store = options_.block_store; store != nullptr) {
    // Every tenant with a WAL or with blocks (a tenant may have blocks and no WAL).
    std::set<std::string> block_tenants;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [name, t] : tenants_) block_tenants.insert(name);
    }
    objstore::ListOptions delimited;
    delimited.delimited = true;
    absl::StatusOr<objstore::ListResult> listed = store->List("", delimited);
    if (!listed.ok()) {
      return absl::Status(listed.status().code(), absl::StrCat("trace store: ", store->Describe(),
                                                               ": ", listed.status().message()));
    }
    for (const std::string& prefix : listed->prefixes) {
      const std::string name = prefix.substr(0, prefix.size() - 1);
      if (net::ValidateTenantId(name).ok()) block_tenants.insert(name);
    }
    for (const std::string& name : block_tenants) {
      LoadReport report;
      absl::StatusOr<std::unique_ptr<TenantBlocks>> blocks =
          TenantBlocks::Load(store, name, &report);
      if (!blocks.ok()) {
        return absl::Status(
            blocks.status().code(),
            absl::StrCat("trace store: blocks of tenant ", name, ": ", blocks.status().message()));
      }
      // Nothing else writes this store before Start returns: every prefix without meta.json is
      // a crash's partial block. Best effort (a leftover is invisible anyway).
      (void)(*blocks)->DeleteIncomplete(absl::InfiniteFuture(), absl::ZeroDuration());
      if (!report.deleted_replaced.empty() || !report.unreadable.empty()) {
        load_reports_[name] = std::move(report);
      }
      std::lock_guard<std::mutex> lock(mu_);
      blocks_[name] = *std::move(blocks);
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    started_ = true;
  }
  if (sink_ != nullptr && options_.flush_check_period > absl::ZeroDuration()) {
    loop_ = std::thread([this] { FlushLoop(); });
  }
  return absl::OkStatus();
}

void TraceStore::Close() {
  if (loop_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(loop_mu_);
      stop_loop_ = true;
    }
    loop_cv_.notify_all();
    loop_.join();
  }
  bool flush = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    flush = started_ && !closed_ && options_.flush_all_on_shutdown && sink_ != nullptr;
  }
  if (flush) (void)FlushOnce(/*force=*/true);  // failures are counted and reported
  std::lock_guard<std::mutex> open_lock(open_mu_);
  std::map<std::string, std::unique_ptr<live::TenantTraces>, std::less<>> tenants;
  std::map<std::string, std::unique_ptr<TenantBlocks>, std::less<>> blocks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    closed_ = true;
    tenants.swap(tenants_);
    blocks.swap(blocks_);
  }
  tenants.clear();  // each TenantTraces closes its WAL
  blocks.clear();   // readers that took a snapshot keep their blocks open
}

std::vector<TenantBlocks*> TraceStore::AllTenantBlocks() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<TenantBlocks*> out;
  for (const auto& [name, b] : blocks_) out.push_back(b.get());
  return out;
}

absl::StatusOr<TenantBlocks*> TraceStore::BlocksFor(std::string_view tenant) {
  if (options_.block_store == nullptr) {
    return absl::FailedPreconditionError("the trace store has no block store");
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!started_ || closed_) return NotStarted();
  auto it = blocks_.find(tenant);
  if (it == blocks_.end()) {
    it = blocks_
             .emplace(std::string(tenant),
                      std::make_unique<TenantBlocks>(options_.block_store, std::string(tenant)))
             .first;
  }
  return it->second.get();
}

BlockSnapshot TraceStore::Blocks(std::string_view tenant) const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = blocks_.find(tenant);
  if (it == blocks_.end()) return std::make_shared<const BlockList>();
  return it->second->snapshot();
}

void TraceStore::FlushLoop() {
  std::unique_lock<std::mutex> lock(loop_mu_);
  while (!stop_loop_) {
    loop_cv_.wait_for(lock, absl::ToChronoNanoseconds(options_.flush_check_period),
                      [this] { return stop_loop_; });
    if (stop_loop_) break;
    lock.unlock();
    (void)FlushOnce(/*force=*/false);  // failures are counted and reported
    lock.lock();
  }
}

absl::Status TraceStore::FlushOnce(bool force) {
  std::lock_guard<std::mutex> flush_lock(flush_mu_);
  std::vector<std::pair<std::string, live::TenantTraces*>> tenants;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_ || closed_) return NotStarted();
    for (const auto& [name, t] : tenants_) tenants.emplace_back(name, t.get());
  }
  if (sink_ == nullptr) return absl::OkStatus();
  absl::Status first;
  for (const auto& [name, t] : tenants) {
    absl::Status s = FlushTenant(name, t, force, Now());
    if (first.ok()) first = s;
  }
  return first;
}

absl::Status TraceStore::FlushTenant(const std::string& name, live::TenantTraces* t, bool force,
                                     absl::Time now) {
  if (!force) t->CutIdle(now, options_.trace_idle_period);
  FlushState& state = flush_[name];
  if (!force && now < state.retry_at) return absl::OkStatus();
  const auto failed = [&](absl::Status s) {
    {
      std::lock_guard<std::mutex> lock(stats_mu_);
      counters_[name].flush_failures++;
    }
    state.backoff = state.backoff == absl::ZeroDuration()
                        ? options_.flush_check_period
                        : std::min(state.backoff * 2, options_.max_flush_backoff);
    state.retry_at = now + state.backoff;
    if (options_.on_flush_error) options_.on_flush_error(name, s);
    return s;
  };
  absl::StatusOr<std::optional<live::FlushJob>> job =
      t->StartFlush(now, options_.max_block_duration, options_.max_block_bytes, force);
  if (!job.ok()) return failed(job.status());
  if (!job->has_value()) return absl::OkStatus();
  const live::FlushJob& j = **job;
  absl::Status written = sink_->WriteBlock(name, j);
  absl::Status completed = t->CompleteFlush(j, written.ok());
  if (!written.ok()) return failed(written);
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    TenantFlushStats& c = counters_[name];
    c.blocks_flushed++;
    c.traces_flushed += static_cast<int64_t>(j.traces.size());
    c.bytes_flushed += j.bytes;
  }
  state.backoff = absl::ZeroDuration();
  state.retry_at = absl::InfinitePast();
  // The block is durable; a Truncate error leaves old segments that replay duplicates.
  if (!completed.ok()) return failed(completed);
  return absl::OkStatus();
}

std::map<std::string, TenantFlushStats> TraceStore::Stats() const {
  std::vector<std::pair<std::string, live::TenantTraces*>> tenants;
  std::vector<std::pair<std::string, BlockSnapshot>> blocks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, t] : tenants_) tenants.emplace_back(name, t.get());
    for (const auto& [name, b] : blocks_) blocks.emplace_back(name, b->snapshot());
  }
  const std::map<std::string, uint64_t> written =
      own_sink_ != nullptr ? own_sink_->bytes_written() : std::map<std::string, uint64_t>();
  std::map<std::string, TenantFlushStats> out;
  std::lock_guard<std::mutex> lock(stats_mu_);
  for (const auto& [name, t] : tenants) {
    TenantFlushStats& s = out[name];
    if (const auto it = counters_.find(name); it != counters_.end()) s = it->second;
    s.live_traces = static_cast<int64_t>(t->live_traces());
    s.pending_traces = static_cast<int64_t>(t->pending_traces());
    s.flushing_traces = static_cast<int64_t>(t->flushing_traces());
  }
  for (const auto& [name, snapshot] : blocks) {
    const bool fresh = !out.contains(name);  // a tenant with blocks and no open WAL
    TenantFlushStats& s = out[name];
    if (const auto it = counters_.find(name); fresh && it != counters_.end()) s = it->second;
    s.blocks = static_cast<int64_t>(snapshot->size());
    for (const auto& reader : *snapshot) {
      s.block_bytes += static_cast<int64_t>(reader->meta().total_bytes());
    }
    if (const auto it = written.find(name); it != written.end()) {
      s.block_bytes_written = static_cast<int64_t>(it->second);
    }
  }
  return out;
}

absl::StatusOr<live::TenantTraces*> TraceStore::Admit(std::string_view tenant, int64_t bytes) {
  absl::StatusOr<live::TenantTraces*> found = FindTenant(tenant);
  if (!found.ok()) return found.status();
  live::TenantTraces* t = *found;
  if (t == nullptr) {
    if (absl::Status s = net::ValidateTenantId(tenant); !s.ok()) return s;
  }
  if (options_.ingestion_rate_limit_bytes > 0 && !AllowBytes(tenant, bytes)) {
    return absl::ResourceExhaustedError(
        absl::StrCat("RATE_LIMITED: ingestion rate limit (", options_.ingestion_rate_limit_bytes,
                     " bytes) exceeded while adding ", bytes, " bytes"));
  }
  if (t == nullptr) {
    std::lock_guard<std::mutex> open_lock(open_mu_);
    found = FindTenant(tenant);
    if (!found.ok()) return found.status();
    t = *found;
    if (t == nullptr) {
      absl::StatusOr<std::unique_ptr<live::TenantTraces>> opened = live::TenantTraces::Open(
          options_.env, storage::JoinPath(options_.wal_dir, tenant), options_.tenant);
      if (!opened.ok()) return opened.status();
      t = opened->get();
      std::lock_guard<std::mutex> lock(mu_);
      tenants_[std::string(tenant)] = *std::move(opened);
    }
  }
  return t;
}

absl::StatusOr<live::PushResult> TraceStore::Push(
    std::string_view tenant,
    const opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest& request) {
  const int64_t bytes =
      options_.ingestion_rate_limit_bytes > 0 ? static_cast<int64_t>(request.ByteSizeLong()) : 0;
  ASSIGN_OR_RETURN(live::TenantTraces * t, Admit(tenant, bytes));
  absl::StatusOr<live::PushResult> pushed = t->Push(request);
  if (pushed.ok() && options_.on_pushed) options_.on_pushed(tenant, request);
  return pushed;
}

absl::StatusOr<live::PushResult> TraceStore::PushWire(
    std::string_view tenant, std::string_view wire,
    absl::FunctionRef<
        const opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest&()>
        decoded) {
  // ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }: the views of the
  // field-1 messages; other fields (unknown to this schema) are skipped, as the parser would.
  std::vector<std::string_view> resource_spans;
  const char* p = wire.data();
  const char* const end = wire.data() + wire.size();
  const auto malformed = [] {
    return absl::InvalidArgumentError("the request is not a valid ExportTraceServiceRequest");
  };
  while (p < end) {
    uint32_t tag = 0;
    if (!otlp::wire::ReadTag(&p, end, &tag)) return malformed();
    uint64_t n = 0;
    switch (tag & 7) {
      case 0:  // varint
        if (!otlp::wire::ReadVarint(&p, end, &n)) return malformed();
        break;
      case 1:  // fixed64
        if (end - p < 8) return malformed();
        p += 8;
        break;
      case 2:  // length-delimited
        if (!otlp::wire::ReadVarint(&p, end, &n) || n > static_cast<uint64_t>(end - p)) {
          return malformed();
        }
        if ((tag >> 3) == 1) resource_spans.emplace_back(p, static_cast<size_t>(n));
        p += n;
        break;
      case 5:  // fixed32
        if (end - p < 4) return malformed();
        p += 4;
        break;
      default:
        return malformed();
    }
  }
  ASSIGN_OR_RETURN(live::TenantTraces * t, Admit(tenant, static_cast<int64_t>(wire.size())));
  absl::StatusOr<live::PushResult> pushed = t->PushSerialized(resource_spans);
  if (pushed.ok() && options_.on_pushed) options_.on_pushed(tenant, decoded());
  return pushed;
}

std::vector<std::string> TraceStore::tenants() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, t] : tenants_) out.push_back(name);
  return out;
}

absl::Time TraceStore::Now() const {
  return options_.tenant.clock ? options_.tenant.clock() : absl::Now();
}

bool TraceStore::AllowBytes(std::string_view tenant, int64_t bytes) {
  const absl::Time now = Now();
  const double burst = static_cast<double>(options_.ingestion_burst_size_bytes);
  std::lock_guard<std::mutex> lock(limit_mu_);
  auto it = buckets_.find(tenant);
  if (it == buckets_.end()) {
    it = buckets_.emplace(std::string(tenant), ByteBucket{burst, now}).first;
  }
  ByteBucket& b = it->second;
  if (now > b.last) {
    b.tokens = std::min(burst, b.tokens + static_cast<double>(options_.ingestion_rate_limit_bytes) *
                                              absl::ToDoubleSeconds(now - b.last));
    b.last = now;
  }
  if (static_cast<double>(bytes) > b.tokens) return false;
  b.tokens -= static_cast<double>(bytes);
  return true;
}

absl::StatusOr<live::TenantTraces*> TraceStore::FindTenant(std::string_view tenant) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!started_ || closed_) return NotStarted();
  const auto it = tenants_.find(tenant);
  return it == tenants_.end() ? nullptr : it->second.get();
}

absl::StatusOr<std::map<std::string, tpb::TracesData>> TraceStore::MemoryTraces(
    std::string_view tenant) const {
  absl::StatusOr<live::TenantTraces*> t = FindTenant(tenant);
  if (!t.ok()) return t.status();
  std::map<std::string, tpb::TracesData> out;
  if (*t == nullptr) return out;
  for (const std::string& id : (*t)->TraceIds()) {
    std::optional<tpb::TracesData> td = (*t)->FindTrace(id);  // nullopt: flushed meanwhile
    if (td.has_value()) out.emplace(id, *std::move(td));
  }
  return out;
}

namespace {

// The search rule on one whole trace (see trace_store.h): adds its summary to `result` when it
// matches every tag and the duration bounds.
void EvaluateTrace(const std::string& id, const tpb::TracesData& td, const SearchRequest& request,
                   SearchResult* result) {
  result->metrics.inspected_traces++;
  result->metrics.inspected_bytes += td.ByteSizeLong();
  const auto [lo, hi] = TimeRange(td);
  const uint64_t duration = hi - lo;
  if (request.min_duration_ns > 0 && duration < static_cast<uint64_t>(request.min_duration_ns)) {
    return;
  }
  if (request.max_duration_ns > 0 && duration > static_cast<uint64_t>(request.max_duration_ns)) {
    return;
  }
  TraceSummary summary;
  summary.trace_id = id;
  summary.start_time_unix_nano = lo;
  summary.duration_ms = static_cast<uint32_t>(duration / 1000000);
  std::vector<bool> tag_seen(request.tags.size(), false);
  SearchSpanSet set;
  bool have_root = false;
  for (const tpb::ResourceSpans& rs : td.resource_spans()) {
    const std::string service = ServiceName(rs);
    for (const tpb::ScopeSpans& ss : rs.scope_spans()) {
      for (const tpb::Span& s : ss.spans()) {
        result->metrics.inspected_spans++;
        ServiceStats& stats = summary.service_stats[service];
        stats.span_count++;
        if (s.status().code() == tpb::Status::STATUS_CODE_ERROR) stats.error_count++;
        if (!have_root && IsRoot(s)) {
          have_root = true;
          summary.root_service_name = service;
          summary.root_trace_name = s.name();
        }
        // A span belongs to the span set when it carries at least one of the tags (every
        // span when there are none).
        bool in_set = request.tags.empty();
        std::vector<cpb::KeyValue> matched_attrs;
        for (size_t i = 0; i < request.tags.size(); ++i) {
          const cpb::KeyValue* attr = nullptr;
          if (TagMatches(rs, s, request.tags[i].first, request.tags[i].second, &attr)) {
            tag_seen[i] = true;
            in_set = true;
            if (attr != nullptr) matched_attrs.push_back(*attr);
          }
        }
        if (!in_set) continue;
        set.matched++;
        if (set.spans.size() < request.spss) {
          SearchSpan span;
          span.span_id = s.span_id();
          span.name = s.name();
          span.start_time_unix_nano = s.start_time_unix_nano();
          span.duration_nanos = s.end_time_unix_nano() > s.start_time_unix_nano()
                                    ? s.end_time_unix_nano() - s.start_time_unix_nano()
                                    : 0;
          span.attributes = std::move(matched_attrs);
          set.spans.push_back(std::move(span));
        }
      }
    }
  }
  if (!std::all_of(tag_seen.begin(), tag_seen.end(), [](bool b) { return b; })) return;
  if (summary.root_service_name.empty()) summary.root_service_name = kRootSpanNotYetReceived;
  summary.span_sets.push_back(std::move(set));
  result->traces.push_back(std::move(summary));
}

// The block parts of trace `id` not yet in `parts` (indexed like `blocks`), by the bloom filter
// and the trace-ID index (at most one page per block).
absl::Status FillBlockParts(const BlockList& blocks, const std::string& id,
                            std::map<size_t, tpb::TracesData>* parts) {
  for (size_t b = 0; b < blocks.size(); ++b) {
    if (parts->contains(b) || !blocks[b]->MayContain(id)) continue;
    absl::StatusOr<std::optional<tpb::TracesData>> found = blocks[b]->FindTrace(id);
    if (!found.ok()) return found.status();
    if (found->has_value()) parts->emplace(b, **std::move(found));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::optional<tpb::TracesData>> TraceStore::FindTraceByID(std::string_view tenant,
                                                                         std::string_view trace_id,
                                                                         uint32_t start_s,
                                                                         uint32_t end_s) {
  absl::StatusOr<live::TenantTraces*> t = FindTenant(tenant);
  if (!t.ok()) return t.status();
  const std::string id(trace_id);
  // Memory first, then the block snapshot: a flush registers its block before it drops the
  // traces from memory, so a trace leaving memory meanwhile is in the snapshot.
  std::optional<tpb::TracesData> memory;
  if (*t != nullptr) memory = (*t)->FindTrace(id);
  const BlockSnapshot blocks = Blocks(tenant);
  std::map<size_t, tpb::TracesData> block_parts;
  if (absl::Status s = FillBlockParts(*blocks, id, &block_parts); !s.ok()) return s;
  std::vector<tpb::TracesData> parts;
  for (auto& [b, td] : block_parts) parts.push_back(std::move(td));
  if (memory.has_value()) parts.push_back(*std::move(memory));
  std::optional<tpb::TracesData> td = Combine(parts);
  if (td.has_value() && !Overlaps(*td, start_s, end_s)) td.reset();
  return td;
}

namespace {

// A search hit's rank: most recent start first, then by trace ID.
bool Better(uint64_t a_start, const std::string& a_id, uint64_t b_start, const std::string& b_id) {
  if (a_start != b_start) return a_start > b_start;
  return a_id < b_id;
}

// A hit kept for the answer: its summary when it was judged whole, else where its only part is
// (block, page, trace index) so the summary is built from that part once the hits are known.
struct Hit {
  uint64_t start = 0;
  std::string id;
  std::optional<TraceSummary> summary;
  size_t block = 0, page = 0;
  uint32_t index = 0;
};

// The best `limit` hits (0 = all) by Better.
class TopHits {
 public:
  explicit TopHits(uint32_t limit) : limit_(limit) {}
  bool full() const { return limit_ > 0 && heap_.size() >= limit_; }
  // Whether a trace of this rank would be kept.
  bool Admits(uint64_t start, const std::string& id) const {
    return !full() || Better(start, id, heap_.front().start, heap_.front().id);
  }
  // The start below which no trace is kept (0 while not full).
  uint64_t floor() const { return full() ? heap_.front().start : 0; }
  void Offer(Hit hit) {
    if (!Admits(hit.start, hit.id)) return;
    heap_.push_back(std::move(hit));
    std::push_heap(heap_.begin(), heap_.end(), Worse);
    if (limit_ > 0 && heap_.size() > limit_) {
      std::pop_heap(heap_.begin(), heap_.end(), Worse);
      heap_.pop_back();
    }
  }
  // The hits, best first.
  std::vector<Hit> Take() {
    std::sort(heap_.begin(), heap_.end(),
              [](const Hit& a, const Hit& b) { return Better(a.start, a.id, b.start, b.id); });
    return std::move(heap_);
  }

 private:
  // Heap order with the worst hit at the front.
  static bool Worse(const Hit& a, const Hit& b) { return Better(a.start, a.id, b.start, b.id); }
  const uint32_t limit_;
  std::vector<Hit> heap_;
};

// Sorted ascending intersection of `a` and `b`.
std::vector<uint32_t> Intersect(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
  std::vector<uint32_t> out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

// Trace `id` whole within [start_s, end_s]: its block parts (FillBlockParts) and its memory
// part, combined; nullopt when no part is found or the whole is outside the range.
absl::StatusOr<std::optional<tpb::TracesData>> WholeTrace(
    const BlockList& blocks, const std::map<std::string, tpb::TracesData>& memory,
    const std::string& id, uint32_t start_s, uint32_t end_s) {
  std::map<size_t, tpb::TracesData> by_block;
  if (absl::Status s = FillBlockParts(blocks, id, &by_block); !s.ok()) return s;
  std::vector<tpb::TracesData> parts;
  for (auto& [b, td] : by_block) parts.push_back(std::move(td));
  if (const auto it = memory.find(id); it != memory.end()) parts.push_back(it->second);
  std::optional<tpb::TracesData> td = Combine(parts);
  if (td.has_value() && !Overlaps(*td, start_s, end_s)) td.reset();
  return td;
}

// The memory traces most recent first (Better), each counted in `metrics` (traces, protobuf
// bytes, spans).
std::vector<std::pair<uint64_t, const std::string*>> MemoryByRecency(
    const std::map<std::string, tpb::TracesData>& memory, SearchMetrics* metrics) {
  std::vector<std::pair<uint64_t, const std::string*>> by_start;
  by_start.reserve(memory.size());
  for (const auto& [id, td] : memory) {
    by_start.emplace_back(TimeRange(td).first, &id);
    metrics->inspected_traces++;
    metrics->inspected_bytes += td.ByteSizeLong();
    for (const tpb::ResourceSpans& rs : td.resource_spans()) {
      for (const tpb::ScopeSpans& ss : rs.scope_spans()) {
        metrics->inspected_spans += static_cast<uint64_t>(ss.spans_size());
      }
    }
  }
  std::sort(by_start.begin(), by_start.end(), [](const auto& a, const auto& b) {
    return Better(a.first, *a.second, b.first, *b.second);
  });
  return by_start;
}

// Indexes 0..n-1 ordered by `end(i)` descending (stable): blocks and pages most recent first.
template <typename EndFn>
std::vector<size_t> ByEndDescending(size_t n, EndFn end) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return end(a) > end(b); });
  return order;
}

// Whether trace `id`, found in block `b`, has a part in another block (exactly: the bloom filter,
// then that block's trace-ID chunk, so a false positive costs no page) or in memory.
absl::StatusOr<bool> PartElsewhere(const BlockList& blocks,
                                   const std::map<std::string, tpb::TracesData>& memory, size_t b,
                                   const std::string& id) {
  if (memory.contains(id)) return true;
  for (size_t o = 0; o < blocks.size(); ++o) {
    if (o == b) continue;
    absl::StatusOr<bool> in = blocks[o]->Contains(id);
    if (!in.ok() || *in) return in;
  }
  return false;
}

}  // namespace

absl::StatusOr<SearchResult> TraceStore::Search(std::string_view tenant,
                                                const SearchRequest& request) {
  if (request.query != nullptr) return SearchTraceQL(tenant, request);
  absl::StatusOr<std::map<std::string, tpb::TracesData>> memory = MemoryTraces(tenant);
  if (!memory.ok()) return memory.status();
  const BlockSnapshot blocks = Blocks(tenant);
  SearchResult result;
  TopHits top(request.limit);
  // Traces judged whole (every part read and combined): never judged again.
  std::set<std::string, std::less<>> judged;
  // Judges trace `id` whole: its block parts (bloom filter and trace-ID index, one page per
  // block) and its memory part, combined.
  const auto judge_whole = [&](const std::string& id, bool count) -> absl::Status {
    judged.insert(id);
    ASSIGN_OR_RETURN(std::optional<tpb::TracesData> td,
                     WholeTrace(*blocks, *memory, id, request.start_s, request.end_s));
    if (!td.has_value()) return absl::OkStatus();
    SearchResult one;
    EvaluateTrace(id, *td, request, &one);
    if (count) {
      result.metrics.inspected_traces += one.metrics.inspected_traces;
      result.metrics.inspected_bytes += one.metrics.inspected_bytes;
      result.metrics.inspected_spans += one.metrics.inspected_spans;
    }
    if (one.traces.empty()) return absl::OkStatus();
    Hit hit;
    hit.start = one.traces[0].start_time_unix_nano;
    hit.id = id;
    hit.summary = std::move(one.traces[0]);
    top.Offer(std::move(hit));
    return absl::OkStatus();
  };
  // Memory: most recent first, each trace judged whole (with its block parts) unless its
  // memory part already cannot rank (the whole trace starts no later than any part of it).
  {
    const std::vector<std::pair<uint64_t, const std::string*>> by_start =
        MemoryByRecency(*memory, &result.metrics);
    for (const auto& [start, id] : by_start) {
      if (!top.Admits(start, *id)) break;  // nor can any later one
      if (absl::Status s = judge_whole(*id, /*count=*/false); !s.ok()) return s;
    }
  }
  // Blocks, most recent end first, and their pages likewise, so that once `limit` hits are
  // kept a page whose end is before the worst kept start is skipped without I/O (a trace
  // with a part there starts before it). Per page, from the columns only: the traces carrying
  // the first tag are the candidates (a trace matching every tag carries the first in some
  // part); those carrying every tag, within the duration bounds and overlapping the time
  // range by their trace row are hits. A candidate with a part elsewhere (another block's
  // bloom filter, or memory) is judged whole instead.
  const std::vector<size_t> block_order =
      ByEndDescending(blocks->size(), [&](size_t b) { return (*blocks)[b]->meta().end_unix_nano; });
  const auto elsewhere = [&](size_t b, const std::string& id) {
    return PartElsewhere(*blocks, *memory, b, id);
  };
  for (size_t b : block_order) {
    const block::BlockReader& reader = *(*blocks)[b];
    if (!RangeOverlaps(reader.meta().start_unix_nano, reader.meta().end_unix_nano, request.start_s,
                       request.end_s) ||
        (top.full() && reader.meta().end_unix_nano < top.floor())) {
      continue;
    }
    const std::vector<block::PageInfo>& pages = reader.pages();
    const std::vector<size_t> page_order =
        ByEndDescending(pages.size(), [&](size_t p) { return pages[p].end_unix_nano; });
    for (size_t p : page_order) {
      const block::PageInfo& page = pages[p];
      if (!RangeOverlaps(page.start_unix_nano, page.end_unix_nano, request.start_s,
                         request.end_s) ||
          (top.full() && page.end_unix_nano < top.floor())) {
        continue;
      }
      result.metrics.inspected_traces += page.trace_count;
      result.metrics.inspected_spans += page.span_count;
      result.metrics.inspected_bytes += page.otlp_bytes;
      // Candidates (first tag) and the traces carrying every tag.
      std::vector<uint32_t> candidates, all_tags;
      if (request.tags.empty()) {
        candidates.resize(page.trace_count);
        for (uint32_t i = 0; i < page.trace_count; ++i) candidates[i] = i;
        all_tags = candidates;
      } else {
        absl::StatusOr<std::vector<uint32_t>> first =
            TracesWithTag(reader, p, request.tags[0].first, request.tags[0].second);
        if (!first.ok()) return first.status();
        candidates = *std::move(first);
        if (candidates.empty()) continue;
        all_tags = candidates;
        for (size_t i = 1; i < request.tags.size() && !all_tags.empty(); ++i) {
          absl::StatusOr<std::vector<uint32_t>> with =
              TracesWithTag(reader, p, request.tags[i].first, request.tags[i].second);
          if (!with.ok()) return with.status();
          all_tags = Intersect(all_tags, *with);
        }
      }
      absl::StatusOr<std::vector<block::TraceRow>> rows = reader.ReadTraceRows(p);
      if (!rows.ok()) return rows.status();
      size_t next_all = 0;
      for (uint32_t i : candidates) {
        while (next_all < all_tags.size() && all_tags[next_all] < i) ++next_all;
        const bool has_all = next_all < all_tags.size() && all_tags[next_all] == i;
        if (i >= rows->size()) return absl::DataLossError("trace index out of range");
        const block::TraceRow& row = (*rows)[i];
        // The whole trace starts no later than this part: a part that cannot rank cannot.
        if (!top.Admits(row.start_unix_nano, row.trace_id) || judged.contains(row.trace_id)) {
          continue;
        }
        absl::StatusOr<bool> split = elsewhere(b, row.trace_id);
        if (!split.ok()) return split.status();
        if (*split) {
          if (absl::Status s = judge_whole(row.trace_id, /*count=*/false); !s.ok()) return s;
          continue;
        }
        if (!has_all || !RangeOverlaps(row.start_unix_nano, row.end_unix_nano, request.start_s,
                                       request.end_s)) {
          continue;
        }
        const uint64_t duration = row.end_unix_nano - row.start_unix_nano;
        if ((request.min_duration_ns > 0 &&
             duration < static_cast<uint64_t>(request.min_duration_ns)) ||
            (request.max_duration_ns > 0 &&
             duration > static_cast<uint64_t>(request.max_duration_ns))) {
          continue;
        }
        Hit hit;
        hit.start = row.start_unix_nano;
        hit.id = row.trace_id;
        hit.block = b;
        hit.page = p;
        hit.index = i;
        top.Offer(std::move(hit));
      }
    }
  }
  // The hits found from the columns: their summaries (span sets, service stats) from their
  // traces, read page by page for these traces only and projected on what the rule reads.
  std::vector<Hit> hits = top.Take();
  // What judging a trace reads of it: the span fields, the tags' attributes and service.name.
  std::vector<std::string> span_keys, resource_keys = {"service.name"};
  for (const auto& [name, value] : request.tags) {
    if (name == "name" || name == "status") continue;
    span_keys.push_back(name);
    resource_keys.push_back(name);
  }
  std::map<std::pair<size_t, size_t>, std::vector<Hit*>> by_page;
  for (Hit& h : hits) {
    if (!h.summary.has_value()) by_page[{h.block, h.page}].push_back(&h);
  }
  for (auto& [where, page_hits] : by_page) {
    std::sort(page_hits.begin(), page_hits.end(),
              [](const Hit* a, const Hit* c) { return a->index < c->index; });
    std::vector<uint32_t> indexes;
    for (const Hit* h : page_hits) indexes.push_back(h->index);
    absl::StatusOr<std::vector<tpb::TracesData>> traces =
        (*blocks)[where.first]->ReadTracesProjected(where.second, indexes, resource_keys,
                                                    span_keys);
    if (!traces.ok()) return traces.status();
    for (size_t k = 0; k < page_hits.size() && k < traces->size(); ++k) {
      SearchResult one;
      EvaluateTrace(page_hits[k]->id, (*traces)[k], request, &one);
      if (!one.traces.empty()) page_hits[k]->summary = std::move(one.traces[0]);
    }
  }
  for (Hit& h : hits) {
    if (h.summary.has_value()) result.traces.push_back(*std::move(h.summary));
  }
  return result;
}

namespace {

// A TraceQL value as an OTLP AnyValue (span-set attributes: by() values).
cpb::AnyValue StaticToAny(const traceql::Static& v) {
  cpb::AnyValue a;
  switch (v.type) {
    case traceql::Type::kString:
      a.set_string_value(v.s);
      break;
    case traceql::Type::kInt:
      a.set_int_value(v.i);
      break;
    case traceql::Type::kDuration:  // as Tempo writes durations: Go's text ("152ms")
      a.set_string_value(FormatGoDuration(absl::Nanoseconds(v.i)));
      break;
    case traceql::Type::kFloat:
      a.set_double_value(v.f);
      break;
    case traceql::Type::kBool:
      a.set_bool_value(v.b);
      break;
    case traceql::Type::kStatus:
      a.set_string_value(std::string(traceql::StatusText(static_cast<traceql::Status>(v.i))));
      break;
    case traceql::Type::kKind:
      a.set_string_value(std::string(traceql::KindText(static_cast<traceql::Kind>(v.i))));
      break;
    default:
      a.set_string_value("nil");
  }
  return a;
}

// The TraceQL rule on one whole trace: its summary when the query gives it span sets.
std::optional<TraceSummary> EvaluateTraceQL(const std::string& id, const tpb::TracesData& td,
                                            const SearchRequest& request, SearchMetrics* metrics) {
  const traceql::TraceView view(td, request.query->plan().refs.needs_structure);
  if (metrics != nullptr) {
    metrics->inspected_traces++;
    metrics->inspected_bytes += td.ByteSizeLong();
    metrics->inspected_spans += view.spans().size();
  }
  if (view.spans().empty()) return std::nullopt;
  const uint64_t duration = view.end_unix_nano() - view.start_unix_nano();
  if ((request.min_duration_ns > 0 && duration < static_cast<uint64_t>(request.min_duration_ns)) ||
      (request.max_duration_ns > 0 && duration > static_cast<uint64_t>(request.max_duration_ns))) {
    return std::nullopt;
  }
  std::vector<traceql::SpanSet> sets = request.query->Evaluate(view);
  if (sets.empty()) return std::nullopt;
  TraceSummary summary;
  summary.trace_id = id;
  summary.start_time_unix_nano = view.start_unix_nano();
  summary.duration_ms = static_cast<uint32_t>(duration / 1000000);
  bool have_root = false;
  for (const traceql::SpanRef& r : view.spans()) {
    ServiceStats& stats = summary.service_stats[ServiceName(*r.resource)];
    stats.span_count++;
    if (r.span->status().code() == tpb::Status::STATUS_CODE_ERROR) stats.error_count++;
    if (!have_root && IsRoot(*r.span)) {
      have_root = true;
      summary.root_service_name = ServiceName(*r.resource);
      summary.root_trace_name = r.span->name();
    }
  }
  // Tempo's query frontend shows the placeholder for any empty root service name (no root
  // span, or a root whose resource has no service.name).
  if (summary.root_service_name.empty()) summary.root_service_name = kRootSpanNotYetReceived;
  for (const traceql::SpanSet& set : sets) {
    SearchSpanSet out;
    out.matched = static_cast<uint32_t>(set.spans.size());
    for (uint32_t i : set.spans) {
      if (out.spans.size() >= request.spss) break;
      const tpb::Span& s = *view.spans()[i].span;
      SearchSpan span;
      span.span_id = s.span_id();
      span.name = s.name();
      span.start_time_unix_nano = s.start_time_unix_nano();
      span.duration_nanos = s.end_time_unix_nano() > s.start_time_unix_nano()
                                ? s.end_time_unix_nano() - s.start_time_unix_nano()
                                : 0;
      span.attributes = request.query->SpanAttributes(view, i);
      out.spans.push_back(std::move(span));
    }
    for (const auto& [name, value] : set.attributes) {
      cpb::KeyValue kv;
      kv.set_key(name);
      *kv.mutable_value() = StaticToAny(value);
      out.attributes.push_back(std::move(kv));
    }
    summary.span_sets.push_back(std::move(out));
  }
  return summary;
}

// A block value as the TraceQL value the engine would see (kValueOther: arrays, bytes, lists
// — not judged here: they may match, so the caller counts them as matches).
traceql::Static BlockValue(const block::BlockReader::ValueRef& v) {
  using BR = block::BlockReader;
  traceql::Static s;
  switch (v.kind) {
    case BR::kValueString:
      s.type = traceql::Type::kString;
      s.s = std::string(v.str);
      break;
    case BR::kValueInt:
      s.type = traceql::Type::kInt;
      s.i = v.i;
      break;
    case BR::kValueDouble:
      s.type = traceql::Type::kFloat;
      s.f = v.d;
      break;
    case BR::kValueBool:
      s.type = traceql::Type::kBool;
      s.b = v.b;
      break;
    default:
      break;
  }
  return s;
}

// The traces of `page` (indexes, ascending) having a span that may satisfy `c`, from the
// columns the condition names (strings judged once per dictionary entry).
absl::StatusOr<std::vector<uint32_t>> TracesMeeting(const block::BlockReader& reader, size_t page,
                                                    const traceql::TraceCondition& c) {
  using BR = block::BlockReader;
  using Target = traceql::TraceCondition::Target;
  if (c.target == Target::kAttribute) {
    // Which stored kinds can compare with the literal (arrays and the like: always kept).
    uint32_t kinds = BR::kValueOther;
    switch (c.value.type) {
      case traceql::Type::kString:
        kinds |= BR::kValueString;
        break;
      case traceql::Type::kInt:
      case traceql::Type::kFloat:
      case traceql::Type::kDuration:
        kinds |= BR::kValueInt | BR::kValueDouble;
        break;
      case traceql::Type::kBool:
        kinds |= BR::kValueBool;
        break;
      default:
        return absl::InvalidArgumentError("no column condition");  // not built by the plan
    }
    const BR::ValuePredicate pred = [&c](const BR::ValueRef& v) {
      return v.kind == BR::kValueOther || c.Matches(BlockValue(v));
    };
    std::vector<block::AttrScope> scopes;
    switch (c.scope) {
      case traceql::Scope::kSpan:
        scopes = {block::AttrScope::kSpan};
        break;
      case traceql::Scope::kResource:
        scopes = {block::AttrScope::kResource};
        break;
      case traceql::Scope::kNone:
        scopes = {block::AttrScope::kSpan, block::AttrScope::kResource};
        break;
      case traceql::Scope::kEvent:
        scopes = {block::AttrScope::kEvent};
        break;
      case traceql::Scope::kLink:
        scopes = {block::AttrScope::kLink};
        break;
      case traceql::Scope::kInstrumentation:
        scopes = {block::AttrScope::kScope};
        break;
      default:
        return absl::InvalidArgumentError("no column condition");
    }
    std::vector<uint32_t> out;
    for (block::AttrScope scope : scopes) {
      ASSIGN_OR_RETURN(std::vector<uint32_t> with,
                       reader.TracesWhereAttribute(page, scope, c.key, pred, kinds));
      std::vector<uint32_t> both;
      std::set_union(out.begin(), out.end(), with.begin(), with.end(), std::back_inserter(both));
      out = std::move(both);
    }
    return out;
  }
  BR::SpanColumn column = BR::SpanColumn::kName;
  BR::ValuePredicate pred;
  switch (c.target) {
    case Target::kName:
    case Target::kStatusMessage:
      column = c.target == Target::kName ? BR::SpanColumn::kName : BR::SpanColumn::kStatusMessage;
      pred = [&c](const BR::ValueRef& v) { return c.Matches(BlockValue(v)); };
      break;
    case Target::kStatus:
      column = BR::SpanColumn::kStatusCode;
      pred = [&c](const BR::ValueRef& v) {
        traceql::Static s;
        s.type = traceql::Type::kStatus;
        s.i =
            static_cast<int64_t>(v.i == tpb::Status::STATUS_CODE_OK      ? traceql::Status::kOk
                                 : v.i == tpb::Status::STATUS_CODE_ERROR ? traceql::Status::kError
                                                                         : traceql::Status::kUnset);
        return c.Matches(s);
      };
      break;
    case Target::kKind:
      column = BR::SpanColumn::kKind;
      pred = [&c](const BR::ValueRef& v) {
        traceql::Static s;
        s.type = traceql::Type::kKind;
        s.i = v.i >= 0 && v.i <= 5 ? v.i : 0;
        return c.Matches(s);
      };
      break;
    case Target::kDuration:
      column = BR::SpanColumn::kDuration;
      pred = [&c](const BR::ValueRef& v) {
        traceql::Static s;
        s.type = traceql::Type::kDuration;
        s.i = v.i;
        return c.Matches(s);
      };
      break;
    default:
      return absl::InvalidArgumentError("no column condition");
  }
  return reader.TracesWhereSpan(page, column, pred);
}

}  // namespace

absl::StatusOr<SearchResult> TraceStore::SearchTraceQL(std::string_view tenant,
                                                       const SearchRequest& request) {
  absl::StatusOr<std::map<std::string, tpb::TracesData>> memory = MemoryTraces(tenant);
  if (!memory.ok()) return memory.status();
  const BlockSnapshot blocks = Blocks(tenant);
  const traceql::Plan& plan = request.query->plan();
  SearchResult result;
  TopHits top(request.limit);
  std::set<std::string, std::less<>> judged;
  // The client's cancellation, polled every 64 traces and on every page.
  uint32_t polls = 0;
  const auto check_cancelled = [&]() -> absl::Status {
    if (!request.cancelled || (++polls & 63) != 1) return absl::OkStatus();
    return request.cancelled() ? absl::CancelledError("context canceled") : absl::OkStatus();
  };
  const auto offer = [&](const std::string& id, const tpb::TracesData& td, bool count) {
    std::optional<TraceSummary> summary =
        EvaluateTraceQL(id, td, request, count ? &result.metrics : nullptr);
    if (!summary.has_value()) return;
    Hit hit;
    hit.start = summary->start_time_unix_nano;
    hit.id = id;
    hit.summary = std::move(summary);
    top.Offer(std::move(hit));
  };
  // A trace judged whole: its block parts and its memory part, combined.
  const auto judge_whole = [&](const std::string& id) -> absl::Status {
    judged.insert(id);
    ASSIGN_OR_RETURN(std::optional<tpb::TracesData> td,
                     WholeTrace(*blocks, *memory, id, request.start_s, request.end_s));
    if (td.has_value()) offer(id, *td, /*count=*/false);
    return absl::OkStatus();
  };
  // Memory: most recent first, as the legacy search (see Search).
  {
    const std::vector<std::pair<uint64_t, const std::string*>> by_start =
        MemoryByRecency(*memory, &result.metrics);
    for (const auto& [start, id] : by_start) {
      if (!top.Admits(start, *id)) break;
      if (absl::Status s = check_cancelled(); !s.ok()) return s;
      if (absl::Status s = judge_whole(*id); !s.ok()) return s;
    }
  }
  // Blocks, most recent end first, pages likewise (see Search). Per page: the trace-level
  // pre-filter from the plan's conditions (dictionaries and columns), then the candidates that
  // can still rank are read — projected on the keys the query reads unless it reads events,
  // links or scopes — and judged by the engine.
  const std::vector<size_t> block_order =
      ByEndDescending(blocks->size(), [&](size_t b) { return (*blocks)[b]->meta().end_unix_nano; });
  const auto elsewhere = [&](size_t b, const std::string& id) {
    return PartElsewhere(*blocks, *memory, b, id);
  };
  std::vector<std::string> resource_keys = plan.refs.resource_keys;
  if (std::find(resource_keys.begin(), resource_keys.end(), "service.name") ==
      resource_keys.end()) {
    resource_keys.push_back("service.name");
  }
  // Without `most_recent=true` the answer is the first `limit` matches found, as Tempo's
  // ("first N found"): memory first (the most recent traces), then blocks and pages most recent
  // end first; the scan stops once `limit` traces match. With the hint it goes on while a page
  // can still hold a more recent match.
  const bool first_found = !request.query->most_recent() && request.limit > 0;
  for (size_t b : block_order) {
    if (first_found && top.full()) break;
    const block::BlockReader& reader = *(*blocks)[b];
    if (!RangeOverlaps(reader.meta().start_unix_nano, reader.meta().end_unix_nano, request.start_s,
                       request.end_s) ||
        (top.full() && reader.meta().end_unix_nano < top.floor())) {
      continue;
    }
    const std::vector<block::PageInfo>& pages = reader.pages();
    const std::vector<size_t> page_order =
        ByEndDescending(pages.size(), [&](size_t p) { return pages[p].end_unix_nano; });
    for (size_t p : page_order) {
      if (first_found && top.full()) break;
      const block::PageInfo& page = pages[p];
      if (!RangeOverlaps(page.start_unix_nano, page.end_unix_nano, request.start_s,
                         request.end_s) ||
          (top.full() && page.end_unix_nano < top.floor())) {
        continue;
      }
      if (request.cancelled && request.cancelled()) {
        return absl::CancelledError("context canceled");
      }
      result.metrics.inspected_traces += page.trace_count;
      result.metrics.inspected_spans += page.span_count;
      result.metrics.inspected_bytes += page.otlp_bytes;
      absl::StatusOr<std::vector<block::TraceRow>> rows = reader.ReadTraceRows(p);
      if (!rows.ok()) return rows.status();
      // Each condition holds on some span of a matching trace, so on the part holding that
      // span: the candidates are the parts meeting the most selective condition; a candidate
      // with parts elsewhere is judged whole, one without must meet every condition.
      std::vector<uint32_t> every(rows->size());
      for (uint32_t i = 0; i < every.size(); ++i) every[i] = i;
      std::vector<uint32_t> candidates = every, all = every;
      for (const traceql::TraceCondition& c : plan.conditions) {
        if (all.empty() && candidates.empty()) break;
        absl::StatusOr<std::vector<uint32_t>> with = TracesMeeting(reader, p, c);
        if (!with.ok()) return with.status();
        if (with->size() < candidates.size()) candidates = *with;
        all = Intersect(all, *with);
      }
      std::vector<uint32_t> to_read;
      size_t next_all = 0;
      for (uint32_t i : candidates) {
        if (i >= rows->size()) return absl::DataLossError("trace index out of range");
        while (next_all < all.size() && all[next_all] < i) ++next_all;
        const bool meets_all = next_all < all.size() && all[next_all] == i;
        const block::TraceRow& row = (*rows)[i];
        if (!top.Admits(row.start_unix_nano, row.trace_id) || judged.contains(row.trace_id)) {
          continue;
        }
        absl::StatusOr<bool> split = elsewhere(b, row.trace_id);
        if (!split.ok()) return split.status();
        if (*split) {
          if (absl::Status s = judge_whole(row.trace_id); !s.ok()) return s;
          continue;
        }
        if (!meets_all) continue;
        if (!RangeOverlaps(row.start_unix_nano, row.end_unix_nano, request.start_s,
                           request.end_s)) {
          continue;
        }
        to_read.push_back(i);
      }
      if (to_read.empty()) continue;
      const bool whole = plan.refs.needs_events_links_scope;
      absl::Status read = reader.VisitTraces(p, to_read, whole ? nullptr : &resource_keys,
                                             whole ? nullptr : &plan.refs.span_keys,
                                             [&](uint32_t i, const tpb::TracesData& td) {
                                               offer((*rows)[i].trace_id, td, /*count=*/false);
                                               return absl::OkStatus();
                                             });
      if (!read.ok()) return read;
    }
  }
  for (Hit& h : top.Take()) {
    if (h.summary.has_value()) result.traces.push_back(*std::move(h.summary));
  }
  return result;
}

namespace {

// The block attribute scope of a tag scope name (the tag APIs' names).
std::optional<block::AttrScope> BlockScope(std::string_view scope) {
  if (scope == "resource") return block::AttrScope::kResource;
  if (scope == "span") return block::AttrScope::kSpan;
  if (scope == "event") return block::AttrScope::kEvent;
  if (scope == "link") return block::AttrScope::kLink;
  if (scope == "instrumentation") return block::AttrScope::kScope;
  return std::nullopt;
}

bool BlockOverlaps(const block::BlockReader& reader, uint32_t start_s, uint32_t end_s) {
  return RangeOverlaps(reader.meta().start_unix_nano, reader.meta().end_unix_nano, start_s, end_s);
}

// The scope ("resource", "span", "event", "link", "instrumentation", "unscoped"; "" for an
// intrinsic or anything else) and attribute name of a tag values request's identifier, split at
// its scope prefix as Tempo's ParseIdentifier does: the rest is the name, literally
// (`span.http/route` is "http/route", `span.team name` is "team name"; no TraceQL quoting).
std::pair<std::string, std::string> TagIdentifier(std::string_view name) {
  for (std::string_view sc : {"resource", "span", "event", "link", "instrumentation"}) {
    if (name.size() > sc.size() + 1 && name.substr(0, sc.size()) == sc && name[sc.size()] == '.') {
      return {std::string(sc), std::string(name.substr(sc.size() + 1))};
    }
  }
  if (name.size() > 1 && name[0] == '.') return {"unscoped", std::string(name.substr(1))};
  return {"", ""};
}

// A tag filter (the `query` of TagNames / TagValues, a spanset filter of matchers) compiled for
// the engine. InvalidArgument when it does not parse (the API passes traceql::ExtractMatchers'
// output, which always does).
absl::StatusOr<std::unique_ptr<traceql::Program>> CompileTagFilter(std::string_view query) {
  traceql::ParseResult parsed = traceql::Parse(query);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("tag filter: ", parsed.error.ToString()));
  }
  return traceql::Program::Compile(std::move(parsed.query));
}

// Calls `fn(view, span)` for every span that `program` matches, over every trace of the tenant
// overlapping [start_s, end_s]: memory traces whole (with their block parts), block traces from
// the pages in the range. A block trace with parts elsewhere (memory or another block: the bloom
// filter, then the trace-ID chunk) is judged whole, once; the others from their page alone,
// which is read only for the traces that may match: every condition of the program's plan is
// looked up in the page's columns (a condition holds on some span of a matching trace). Adds the
// protobuf size of every trace evaluated to `*inspected_bytes`.
absl::Status ForEachMatchingSpan(
    const traceql::Program& program, const std::map<std::string, tpb::TracesData>& memory,
    const BlockList& blocks, uint32_t start_s, uint32_t end_s, uint64_t* inspected_bytes,
    const std::function<void(const traceql::TraceView&, const traceql::SpanRef&)>& fn) {
  const auto evaluate = [&](const tpb::TracesData& td) {
    *inspected_bytes += td.ByteSizeLong();
    const traceql::TraceView view(td, program.plan().refs.needs_structure);
    for (const traceql::SpanSet& set : program.Evaluate(view)) {
      for (uint32_t i : set.spans) fn(view, view.spans()[i]);
    }
  };
  std::set<std::string, std::less<>> judged;
  const auto judge_whole = [&](const std::string& id) -> absl::Status {
    judged.insert(id);
    ASSIGN_OR_RETURN(std::optional<tpb::TracesData> td,
                     WholeTrace(blocks, memory, id, start_s, end_s));
    if (td.has_value()) evaluate(*td);
    return absl::OkStatus();
  };
  for (const auto& [id, td] : memory) {
    if (absl::Status s = judge_whole(id); !s.ok()) return s;
  }
  const std::vector<traceql::TraceCondition>& conditions = program.plan().conditions;
  for (size_t b = 0; b < blocks.size(); ++b) {
    const block::BlockReader& reader = *blocks[b];
    if (!RangeOverlaps(reader.meta().start_unix_nano, reader.meta().end_unix_nano, start_s,
                       end_s)) {
      continue;
    }
    for (size_t p = 0; p < reader.pages().size(); ++p) {
      const block::PageInfo& page = reader.pages()[p];
      if (!RangeOverlaps(page.start_unix_nano, page.end_unix_nano, start_s, end_s)) continue;
      absl::StatusOr<std::vector<block::TraceRow>> rows = reader.ReadTraceRows(p);
      if (!rows.ok()) return rows.status();
      // The traces of the page that may match: every condition holds on some span of theirs.
      std::optional<std::vector<uint32_t>> may_match;  // nullopt: all
      for (const traceql::TraceCondition& c : conditions) {
        if (may_match.has_value() && may_match->empty()) break;
        absl::StatusOr<std::vector<uint32_t>> with = TracesMeeting(reader, p, c);
        if (!with.ok()) return with.status();
        may_match = may_match.has_value() ? Intersect(*may_match, *with) : *std::move(with);
      }
      std::vector<uint32_t> read;  // traces of this page evaluated from the page alone
      for (uint32_t i = 0; i < rows->size(); ++i) {
        const block::TraceRow& row = (*rows)[i];
        if (judged.contains(row.trace_id)) continue;
        ASSIGN_OR_RETURN(const bool split, PartElsewhere(blocks, memory, b, row.trace_id));
        if (split) {
          if (absl::Status s = judge_whole(row.trace_id); !s.ok()) return s;
          continue;
        }
        if (!RangeOverlaps(row.start_unix_nano, row.end_unix_nano, start_s, end_s)) continue;
        if (may_match.has_value() && !std::binary_search(may_match->begin(), may_match->end(), i)) {
          continue;
        }
        read.push_back(i);
      }
      if (read.empty()) continue;
      absl::StatusOr<std::vector<tpb::TracesData>> traces = reader.ReadTraces(p, read);
      if (!traces.ok()) return traces.status();
      for (const tpb::TracesData& td : *traces) evaluate(td);
    }
  }
  return absl::OkStatus();
}

// TagNames with a filter: the attribute names of the matching spans, their resources, scopes,
// events and links; the intrinsic names as without one.
absl::StatusOr<TagNamesResult> FilteredTagNames(
    const std::map<std::string, tpb::TracesData>& memory, const BlockList& blocks,
    std::string_view scope, uint32_t start_s, uint32_t end_s, std::string_view query) {
  absl::StatusOr<std::unique_ptr<traceql::Program>> program = CompileTagFilter(query);
  if (!program.ok()) return program.status();
  std::map<std::string_view, std::set<std::string>> names;  // scope → names
  const auto add = [&](std::string_view sc,
                       const google::protobuf::RepeatedPtrField<cpb::KeyValue>& kvs) {
    for (const cpb::KeyValue& kv : kvs) names[sc].insert(kv.key());
  };
  TagNamesResult result;
  // The intrinsic names do not depend on the filter: nothing to read for them alone.
  absl::Status s =
      scope == "intrinsic"
          ? absl::OkStatus()
          : ForEachMatchingSpan(**program, memory, blocks, start_s, end_s, &result.inspected_bytes,
                                [&](const traceql::TraceView&, const traceql::SpanRef& ref) {
                                  add("resource", ref.resource->resource().attributes());
                                  add("instrumentation", ref.scope->scope().attributes());
                                  add("span", ref.span->attributes());
                                  for (const tpb::Span::Event& e : ref.span->events())
                                    add("event", e.attributes());
                                  for (const tpb::Span::Link& l : ref.span->links())
                                    add("link", l.attributes());
                                });
  if (!s.ok()) return s;
  for (std::string_view name : kIntrinsicTags) names["intrinsic"].insert(std::string(name));
  for (std::string_view sc : kTagScopes) {
    if (!scope.empty() && scope != sc) continue;
    const auto it = names.find(sc);
    if (it == names.end() || it->second.empty()) continue;
    result.scopes.push_back({std::string(sc), {it->second.begin(), it->second.end()}});
  }
  return result;
}

// TagValues with a filter: the values of `name` on the matching spans (a resource attribute: of
// their resources; an instrumentation attribute: of their scopes; event / link attributes: of
// their events / links; rootName / rootServiceName: of the root of their trace).
absl::StatusOr<TagValuesResult> FilteredTagValues(
    const std::map<std::string, tpb::TracesData>& memory, const BlockList& blocks,
    std::string_view name, uint32_t start_s, uint32_t end_s, uint32_t limit,
    std::string_view query) {
  absl::StatusOr<std::unique_ptr<traceql::Program>> program = CompileTagFilter(query);
  if (!program.ok()) return program.status();
  const auto [scope, key] = TagIdentifier(name);
  std::set<std::pair<std::string, std::string>> values;  // (type, value)
  const auto add_attr = [&](const google::protobuf::RepeatedPtrField<cpb::KeyValue>& kvs) {
    const cpb::KeyValue* kv = FindAttr(kvs, key);
    TagValue v;
    if (kv != nullptr && TypedText(kv->value(), &v.type, &v.value)) values.emplace(v.type, v.value);
  };
  TagValuesResult result;
  absl::Status s = ForEachMatchingSpan(
      **program, memory, blocks, start_s, end_s, &result.inspected_bytes,
      [&](const traceql::TraceView& view, const traceql::SpanRef& ref) {
        const tpb::Span& span = *ref.span;
        if (scope == "resource" || scope == "unscoped")
          add_attr(ref.resource->resource().attributes());
        if (scope == "span" || scope == "unscoped") add_attr(span.attributes());
        if (scope == "instrumentation") add_attr(ref.scope->scope().attributes());
        if (scope == "event") {
          for (const tpb::Span::Event& e : span.events()) add_attr(e.attributes());
        }
        if (scope == "link") {
          for (const tpb::Span::Link& l : span.links()) add_attr(l.attributes());
        }
        if (!scope.empty()) return;
        if (name == "name") values.emplace("string", span.name());
        if (name == "status") values.emplace("keyword", StatusKeyword(span.status().code()));
        if (name == "kind") values.emplace("keyword", KindKeyword(span.kind()));
        if (name == "statusMessage" && !span.status().message().empty()) {
          values.emplace("string", span.status().message());
        }
        if ((name == "rootName" || name == "rootServiceName") && view.root() >= 0) {
          const traceql::SpanRef& root = view.spans()[view.root()];
          if (name == "rootName") values.emplace("string", root.span->name());
          if (name == "rootServiceName") values.emplace("string", ServiceName(*root.resource));
        }
      });
  if (!s.ok()) return s;
  for (const auto& [type, value] : values) {
    if (limit > 0 && result.values.size() >= limit) break;
    result.values.push_back({type, value});
  }
  return result;
}
}  // namespace

absl::StatusOr<TagNamesResult> TraceStore::TagNames(std::string_view tenant, std::string_view scope,
                                                    uint32_t start_s, uint32_t end_s,
                                                    std::string_view query) {
  absl::StatusOr<std::map<std::string, tpb::TracesData>> memory = MemoryTraces(tenant);
  if (!memory.ok()) return memory.status();
  if (!query.empty())
    return FilteredTagNames(*memory, *Blocks(tenant), scope, start_s, end_s, query);
  std::vector<std::pair<std::string, tpb::TracesData>> in_range;
  for (auto& [id, td] : *memory) {
    if (Overlaps(td, start_s, end_s)) in_range.emplace_back(id, std::move(td));
  }
  const auto* traces = &in_range;
  const BlockSnapshot blocks = Blocks(tenant);
  std::map<std::string_view, std::set<std::string>> names;  // scope → names
  auto add = [&](std::string_view sc,
                 const google::protobuf::RepeatedPtrField<cpb::KeyValue>& kvs) {
    for (const cpb::KeyValue& kv : kvs) names[sc].insert(kv.key());
  };
  TagNamesResult result;
  for (const auto& [id, td] : *traces) {
    result.inspected_bytes += td.ByteSizeLong();
    for (const tpb::ResourceSpans& rs : td.resource_spans()) {
      add("resource", rs.resource().attributes());
      for (const tpb::ScopeSpans& ss : rs.scope_spans()) {
        add("instrumentation", ss.scope().attributes());
        for (const tpb::Span& s : ss.spans()) {
          add("span", s.attributes());
          for (const tpb::Span::Event& e : s.events()) add("event", e.attributes());
          for (const tpb::Span::Link& l : s.links()) add("link", l.attributes());
        }
      }
    }
  }
  // Blocks: the attribute keys from their indexes (blocks overlapping the time range).
  for (const auto& reader : *blocks) {
    if (!BlockOverlaps(*reader, start_s, end_s)) continue;
    result.inspected_bytes += reader->meta().otlp_bytes;
    for (std::string_view sc : kTagScopes) {
      const std::optional<block::AttrScope> bs = BlockScope(sc);
      if (!bs.has_value()) continue;
      for (std::string& key : reader->AttributeKeys(*bs)) names[sc].insert(std::move(key));
    }
  }
  for (std::string_view name : kIntrinsicTags) names["intrinsic"].insert(std::string(name));
  for (std::string_view sc : kTagScopes) {
    if (!scope.empty() && scope != sc) continue;
    const auto it = names.find(sc);
    if (it == names.end() || it->second.empty()) continue;
    result.scopes.push_back({std::string(sc), {it->second.begin(), it->second.end()}});
  }
  return result;
}

absl::StatusOr<TagValuesResult> TraceStore::TagValues(std::string_view tenant,
                                                      std::string_view name, uint32_t start_s,
                                                      uint32_t end_s, uint32_t limit,
                                                      std::string_view query) {
  absl::StatusOr<std::map<std::string, tpb::TracesData>> memory = MemoryTraces(tenant);
  if (!memory.ok()) return memory.status();
  const BlockSnapshot blocks = Blocks(tenant);
  if (!query.empty()) {
    return FilteredTagValues(*memory, *blocks, name, start_s, end_s, limit, query);
  }
  // The identifier: a scope prefix and an attribute name, or an intrinsic.
  const auto [scope, key] = TagIdentifier(name);
  std::set<std::pair<std::string, std::string>> values;  // (type, value)
  auto add_attr = [&](const google::protobuf::RepeatedPtrField<cpb::KeyValue>& kvs) {
    const cpb::KeyValue* kv = FindAttr(kvs, key);
    TagValue v;
    if (kv != nullptr && TypedText(kv->value(), &v.type, &v.value)) values.emplace(v.type, v.value);
  };
  TagValuesResult result;
  const auto add_trace = [&](const tpb::TracesData& td, bool count = true) {
    if (count) result.inspected_bytes += td.ByteSizeLong();
    for (const tpb::ResourceSpans& rs : td.resource_spans()) {
      if (scope == "resource" || scope == "unscoped") add_attr(rs.resource().attributes());
      for (const tpb::ScopeSpans& ss : rs.scope_spans()) {
        if (scope == "instrumentation") add_attr(ss.scope().attributes());
        for (const tpb::Span& s : ss.spans()) {
          if (scope == "span" || scope == "unscoped") add_attr(s.attributes());
          if (scope == "event") {
            for (const tpb::Span::Event& e : s.events()) add_attr(e.attributes());
          }
          if (scope == "link") {
            for (const tpb::Span::Link& l : s.links()) add_attr(l.attributes());
          }
          if (!scope.empty()) continue;
          if (name == "name") values.emplace("string", s.name());
          if (name == "status") values.emplace("keyword", StatusKeyword(s.status().code()));
          if (name == "kind") values.emplace("keyword", KindKeyword(s.kind()));
          if (name == "statusMessage" && !s.status().message().empty()) {
            values.emplace("string", s.status().message());
          }
          if (IsRoot(s) && name == "rootName") values.emplace("string", s.name());
          if (IsRoot(s) && name == "rootServiceName") values.emplace("string", ServiceName(rs));
        }
      }
    }
  };
  for (const auto& [id, td] : *memory) {
    if (Overlaps(td, start_s, end_s)) add_trace(td);
  }
  // Blocks overlapping the time range: attribute values from their columns. Intrinsics per
  // page in the range: span names, status messages, statuses and kinds from their columns
  // when the whole page is in the range; otherwise (and root names, root services) from the
  // page's traces read projected on the span fields and service.name, each judged by its
  // time range.
  const bool intrinsic =
      scope.empty() && (name == "name" || name == "status" || name == "kind" ||
                        name == "statusMessage" || name == "rootName" || name == "rootServiceName");
  std::optional<block::BlockReader::SpanIntrinsic> column;
  if (name == "name") column = block::BlockReader::SpanIntrinsic::kName;
  if (name == "status") column = block::BlockReader::SpanIntrinsic::kStatusCode;
  if (name == "kind") column = block::BlockReader::SpanIntrinsic::kKind;
  if (name == "statusMessage") column = block::BlockReader::SpanIntrinsic::kStatusMessage;
  for (const auto& reader : *blocks) {
    if (!BlockOverlaps(*reader, start_s, end_s)) continue;
    if (intrinsic) {
      for (size_t p = 0; p < reader->pages().size(); ++p) {
        const block::PageInfo& page = reader->pages()[p];
        if (!RangeOverlaps(page.start_unix_nano, page.end_unix_nano, start_s, end_s)) continue;
        result.inspected_bytes += page.otlp_bytes;
        const bool inside = (start_s == 0 || page.start_unix_nano >= start_s * kNanosPerSecond) &&
                            (end_s == 0 || page.end_unix_nano <= end_s * kNanosPerSecond);
        if (column.has_value() && inside) {
          absl::StatusOr<std::vector<std::string>> got = reader->SpanIntrinsicValues(p, *column);
          if (!got.ok()) return got.status();
          const bool keyword = name == "status" || name == "kind";
          for (std::string& v : *got) {
            if (name == "statusMessage" && v.empty()) continue;
            values.emplace(keyword ? "keyword" : "string", std::move(v));
          }
          continue;
        }
        std::vector<uint32_t> all(page.trace_count);
        for (uint32_t i = 0; i < page.trace_count; ++i) all[i] = i;
        absl::StatusOr<std::vector<tpb::TracesData>> traces =
            reader->ReadTracesProjected(p, all, {"service.name"}, {});
        if (!traces.ok()) return traces.status();
        for (const tpb::TracesData& td : *traces) {
          if (Overlaps(td, start_s, end_s)) add_trace(td, /*count=*/false);
        }
      }
      continue;
    }
    std::vector<block::AttrScope> scopes;
    if (scope == "unscoped") {
      scopes = {block::AttrScope::kResource, block::AttrScope::kSpan};
    } else if (const std::optional<block::AttrScope> bs = BlockScope(scope); bs.has_value()) {
      scopes = {*bs};
    }
    if (!scopes.empty()) result.inspected_bytes += reader->meta().otlp_bytes;
    for (block::AttrScope bs : scopes) {
      absl::StatusOr<std::vector<block::BlockReader::TypedValue>> typed =
          reader->AttributeValues(bs, key, 0);
      if (!typed.ok()) return typed.status();
      for (block::BlockReader::TypedValue& v : *typed) {
        values.emplace(std::move(v.type), std::move(v.value));
      }
    }
  }
  for (const auto& [type, value] : values) {
    if (limit > 0 && result.values.size() >= limit) break;
    result.values.push_back({type, value});
  }
  return result;
}

}  // namespace sprout::traces::store

namespace sprout::traces::store {
namespace {

// Whether a trace part spanning [lo, hi] (first span start, last span end) may hold a span
// starting in [start_ns, end_ns).
bool MayStartIn(uint64_t lo, uint64_t hi, uint64_t start_ns, uint64_t end_ns) {
  return lo < end_ns && std::max(lo, hi) >= start_ns;
}

uint64_t SpanCount(const tpb::TracesData& td) {
  uint64_t n = 0;
  for (const tpb::ResourceSpans& rs : td.resource_spans()) {
    for (const tpb::ScopeSpans& ss : rs.scope_spans()) n += static_cast<uint64_t>(ss.spans_size());
  }
  return n;
}

}  // namespace

absl::StatusOr<traceql::MetricsResult> TraceStore::QueryMetrics(
    std::string_view tenant, const traceql::MetricsProgram& program,
    const std::function<bool()>& cancelled) {
  const traceql::MetricsRange& range = program.range();
  const traceql::Plan& plan = program.plan();
  size_t threads = options_.metrics_query_threads;
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  // Runs job(0..n-1, worker) over min(threads, n) workers (the caller's thread one of them);
  // the first error stops the rest and is returned; `cancelled` is polled before each job.
  const auto parallel = [&](size_t n, size_t workers,
                            const std::function<absl::Status(size_t, size_t)>& job) {
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    std::mutex error_mu;
    absl::Status error;  // the first failure; guarded by error_mu
    const auto work = [&](size_t worker) {
      for (size_t j = next.fetch_add(1); j < n && !failed.load(); j = next.fetch_add(1)) {
        absl::Status st =
            cancelled && cancelled() ? absl::CancelledError("context canceled") : job(j, worker);
        if (!st.ok()) {
          std::lock_guard<std::mutex> lock(error_mu);
          if (error.ok()) error = std::move(st);
          failed.store(true);
          return;
        }
      }
    };
    std::vector<std::thread> pool;
    for (size_t w = 1; w < workers; ++w) pool.emplace_back(work, w);
    work(0);
    for (std::thread& t : pool) t.join();
    return error;
  };

  // Blocks before and after memory: a block registered meanwhile may hold traces that memory
  // still held when it was read (a flush registers its block before the traces leave memory).
  const BlockSnapshot before = Blocks(tenant);
  // Memory: the traces whose span bounds (kept beside their stored bytes, nothing parsed) may
  // hold a span starting in the grid, their stored parts noted in chunks of IDs (shared bytes:
  // what FindTrace would merge now). Each is merged and parsed later, in its job, one trace at a
  // time into the worker's message, and kept when its [first start, last end] still may.
  ASSIGN_OR_RETURN(live::TenantTraces* const t, FindTenant(tenant));
  const std::vector<std::string> ids = t != nullptr
                                           ? t->TraceIdsStartingIn(range.start_ns, range.end_ns)
                                           : std::vector<std::string>();
  constexpr size_t kMemoryChunk = 256;
  std::vector<live::TraceParts> memory;
  for (size_t i = 0; i < ids.size(); i += kMemoryChunk) {
    memory.push_back(
        t->Snapshot(std::span(ids).subspan(i, std::min(kMemoryChunk, ids.size() - i))));
  }
  const BlockSnapshot blocks = Blocks(tenant);
  const BlockList& list = *blocks;

  // A memory trace also in a block registered during the read is observed once: combined with
  // that block's part (exact duplicate spans once), and skipped in that block's pages. (Rare:
  // only when a flush registered a block meanwhile.)
  std::set<std::pair<size_t, std::string>> skip;
  // Memory traces replaced by such a combination: (memory chunk, index) → the whole trace.
  std::map<std::pair<size_t, size_t>, tpb::TracesData> combined;
  {
    std::set<const block::BlockReader*> old;
    for (const auto& r : *before) old.insert(r.get());
    for (size_t b = 0; b < list.size(); ++b) {
      if (old.contains(list[b].get())) continue;
      for (size_t c = 0; c < memory.size(); ++c) {
        for (size_t i = 0; i < memory[c].size(); ++i) {
          const std::string& id = memory[c].trace_id(i);
          ASSIGN_OR_RETURN(const bool in, list[b]->Contains(id));
          if (!in) continue;
          ASSIGN_OR_RETURN(std::optional<tpb::TracesData> part, list[b]->FindTrace(id));
          if (!part.has_value()) continue;
          auto [it, inserted] = combined.try_emplace({c, i});
          if (inserted) RETURN_IF_ERROR(memory[c].Read(i, &it->second));
          std::vector<tpb::TracesData> parts;
          parts.push_back(*std::move(part));
          parts.push_back(std::move(it->second));
          std::optional<tpb::TracesData> whole = Combine(parts);
          it->second = whole.has_value() ? *std::move(whole) : tpb::TracesData();
          skip.emplace(b, id);
        }
      }
    }
  }

  // The jobs: memory traces in chunks, then every block page whose range may hold a span
  // starting in the grid (blocks and pages outside it are not read).
  struct Job {
    size_t block = SIZE_MAX;  // SIZE_MAX: the memory chunk `page`
    size_t page = 0;
  };
  traceql::MetricsStats stats;
  std::vector<Job> jobs;
  for (size_t c = 0; c < memory.size(); ++c) jobs.push_back(Job{SIZE_MAX, c});
  for (size_t b = 0; b < list.size(); ++b) {
    const block::BlockMeta& meta = list[b]->meta();
    if (!MayStartIn(meta.start_unix_nano, meta.end_unix_nano, range.start_ns, range.end_ns)) {
      continue;
    }
    stats.total_blocks++;
    stats.total_block_bytes += meta.total_bytes();
    const std::vector<block::PageInfo>& pages = list[b]->pages();
    for (size_t p = 0; p < pages.size(); ++p) {
      if (MayStartIn(pages[p].start_unix_nano, pages[p].end_unix_nano, range.start_ns,
                     range.end_ns)) {
        jobs.push_back(Job{b, p});
      }
    }
  }

  const bool structure = plan.refs.needs_structure;
  const bool whole = plan.refs.needs_events_links_scope;
  // The plan's resource keys and service.name, as the TraceQL search reads them (the root
  // service intrinsics — rootServiceName, trace:rootService — are its value on the root span's
  // resource).
  std::vector<std::string> resource_keys = plan.refs.resource_keys;
  if (std::find(resource_keys.begin(), resource_keys.end(), "service.name") ==
      resource_keys.end()) {
    resource_keys.push_back("service.name");
  }
  // Memory traces are parsed with the block reads' projection (the same keys).
  const live::Projection projection{resource_keys, plan.refs.span_keys};
  // One worker: its accumulator and figures.
  struct Worker {
    std::unique_ptr<traceql::MetricsAccumulator> acc;
    traceql::MetricsStats stats;
    tpb::TracesData trace;  // a memory trace, parsed (reused from trace to trace)
  };
  const auto run_job = [&](const Job& job, Worker& w) -> absl::Status {
    if (job.block == SIZE_MAX) {
      const live::TraceParts& parts = memory[job.page];
      for (size_t i = 0; i < parts.size(); ++i) {
        const tpb::TracesData* td = &w.trace;
        int64_t bytes = 0;
        if (const auto it = combined.find({job.page, i}); it != combined.end()) {
          td = &it->second;
          bytes = static_cast<int64_t>(td->ByteSizeLong());
        } else {
          RETURN_IF_ERROR(parts.Read(i, &w.trace, &bytes, whole ? nullptr : &projection));
        }
        const auto [lo, hi] = TimeRange(*td);
        if (!MayStartIn(lo, hi, range.start_ns, range.end_ns)) continue;
        w.stats.inspected_traces++;
        w.stats.inspected_spans += SpanCount(*td);
        w.stats.inspected_bytes += static_cast<uint64_t>(bytes);
        w.acc->Observe(traceql::TraceView(*td, structure));
      }
      return absl::OkStatus();
    }
    const block::BlockReader& reader = *list[job.block];
    const block::PageInfo& page = reader.pages()[job.page];
    w.stats.inspected_traces += page.trace_count;
    w.stats.inspected_spans += page.span_count;
    w.stats.inspected_bytes += page.otlp_bytes;
    ASSIGN_OR_RETURN(std::vector<block::TraceRow> rows, reader.ReadTraceRows(job.page));
    // The search's column pre-filter: each condition holds on some span of the part holding a
    // matching span, so a part failing one cannot contribute.
    std::optional<std::vector<uint32_t>> may_match;  // nullopt: every trace
    for (const traceql::TraceCondition& c : plan.conditions) {
      if (may_match.has_value() && may_match->empty()) break;
      ASSIGN_OR_RETURN(std::vector<uint32_t> with, TracesMeeting(reader, job.page, c));
      may_match = may_match.has_value() ? Intersect(*may_match, with) : std::move(with);
    }
    std::vector<uint32_t> read;
    for (uint32_t i = 0; i < rows.size(); ++i) {
      const block::TraceRow& row = rows[i];
      if (!MayStartIn(row.start_unix_nano, row.end_unix_nano, range.start_ns, range.end_ns)) {
        continue;
      }
      if (may_match.has_value() && !std::binary_search(may_match->begin(), may_match->end(), i)) {
        continue;
      }
      if (!skip.empty() && skip.contains({job.block, row.trace_id})) continue;
      read.push_back(i);
    }
    if (read.empty()) return absl::OkStatus();
    return reader.VisitTraces(job.page, read, whole ? nullptr : &resource_keys,
                              whole ? nullptr : &plan.refs.span_keys,
                              [&](uint32_t, const tpb::TracesData& td) {
                                w.acc->Observe(traceql::TraceView(td, structure));
                                return absl::OkStatus();
                              });
  };

  std::vector<Worker> workers(std::max<size_t>(1, std::min(threads, jobs.size())));
  for (Worker& w : workers) w.acc = program.NewAccumulator();
  RETURN_IF_ERROR(parallel(jobs.size(), workers.size(), [&](size_t j, size_t worker) {
    Worker& w = workers[worker];
    RETURN_IF_ERROR(run_job(jobs[j], w));
    w.stats.completed_jobs++;
    return absl::OkStatus();
  }));
  std::vector<std::unique_ptr<traceql::MetricsAccumulator>> parts;
  for (Worker& w : workers) {
    stats.inspected_traces += w.stats.inspected_traces;
    stats.inspected_spans += w.stats.inspected_spans;
    stats.inspected_bytes += w.stats.inspected_bytes;
    stats.completed_jobs += w.stats.completed_jobs;
    parts.push_back(std::move(w.acc));
  }
  stats.total_jobs = jobs.size();
  return program.Finish(std::move(parts), stats);
}

}  // namespace sprout::traces::store
