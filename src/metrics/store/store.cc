#include "metrics/store/store.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "base/go_format.h"
#include "base/logging.h"
#include "base/status.h"
#include "base/thread_pool.h"
#include "metrics/ingest/otlp_sink.h"
#include "metrics/store/append_builder.h"
#include "metrics/tsdb/block/writer.h"
#include "metrics/tsdb/compact/compactor.h"
#include "metrics/tsdb/compact/retention.h"
#include "metrics/tsdb/head/raw_labels.h"
#include "net/compression.h"
#include "net/tenant.h"
#include "objstore/filesystem.h"
#include "otlp/consumer_error.h"
#include "otlp/prometheus.h"
#include "prometheus/remote.pb.h"

namespace sprout::metrics {
namespace {

constexpr const char* kUnavailable = "the metrics store is starting (replaying the WAL)";
// Prometheus's remote read handler refuses decompressed requests over 32 MiB.
constexpr size_t kMaxReadRequestSize = 32 << 20;

int64_t WallNowMs() { return absl::ToUnixMillis(absl::Now()); }
int64_t MonotonicNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Mimir's `reason` for a head refusal (its ingester's discard reasons; invalid_labels is sprout's).
std::string_view RefusalReason(tsdb::RefusalKind kind) {
  switch (kind) {
    case tsdb::RefusalKind::kOutOfOrder:
      return "sample-out-of-order";
    case tsdb::RefusalKind::kTooOld:
    case tsdb::RefusalKind::kTooOldOooWindow:
      return "sample-too-old";
    case tsdb::RefusalKind::kDuplicate:
      return "new-value-for-timestamp";
    case tsdb::RefusalKind::kSeriesLimit:
      return "per_user_series_limit";
    case tsdb::RefusalKind::kMetricSeriesLimit:
      return "per_metric_series_limit";
    case tsdb::RefusalKind::kInvalidLabels:
      return "invalid_labels";
    case tsdb::RefusalKind::kInvalidHistogram:
      return "invalid-native-histogram";  // Mimir's ingester, for Prometheus's histogram checks
  }
  return "unknown";
}

// prometheus.Histogram (remote read): integer histograms with their buckets as deltas (each
// bucket minus the previous one, the first absolute), float histograms with absolute counts; the
// reset hint, schema, zero bucket, spans and custom bucket boundaries as stored.
void ToProtoSpans(const std::vector<chunkenc::BucketSpan>& spans,
                  google::protobuf::RepeatedPtrField<prometheus::BucketSpan>* out) {
  out->Reserve(static_cast<int>(spans.size()));
  for (const chunkenc::BucketSpan& span : spans) {
    prometheus::BucketSpan* ps = out->Add();
    ps->set_offset(span.offset);
    ps->set_length(span.length);
  }
}

prometheus::Histogram::ResetHint ToProtoResetHint(chunkenc::CounterResetHint hint) {
  switch (hint) {
    case chunkenc::CounterResetHint::kCounterReset:
      return prometheus::Histogram::YES;
    case chunkenc::CounterResetHint::kNotCounterReset:
      return prometheus::Histogram::NO;
    case chunkenc::CounterResetHint::kGauge:
      return prometheus::Histogram::GAUGE;
    case chunkenc::CounterResetHint::kUnknown:
      break;
  }
  return prometheus::Histogram::UNKNOWN;
}

void ToProtoHistogram(const chunkenc::Histogram& h, int64_t t, prometheus::Histogram* out) {
  out->set_count_int(h.count);
  out->set_sum(h.sum);
  out->set_schema(h.schema);
  out->set_zero_threshold(h.zero_threshold);
  out->set_zero_count_int(h.zero_count);
  ToProtoSpans(h.negative_spans, out->mutable_negative_spans());
  ToProtoSpans(h.positive_spans, out->mutable_positive_spans());
  std::vector<int64_t> deltas;
  chunkenc::BucketsToDeltas(h.negative_buckets, &deltas);
  out->mutable_negative_deltas()->Add(deltas.begin(), deltas.end());
  chunkenc::BucketsToDeltas(h.positive_buckets, &deltas);
  out->mutable_positive_deltas()->Add(deltas.begin(), deltas.end());
  out->mutable_custom_values()->Add(h.custom_values.begin(), h.custom_values.end());
  out->set_reset_hint(ToProtoResetHint(h.reset_hint));
  out->set_timestamp(t);
}

void ToProtoHistogram(const chunkenc::FloatHistogram& h, int64_t t, prometheus::Histogram* out) {
  out->set_count_float(h.count);
  out->set_sum(h.sum);
  out->set_schema(h.schema);
  out->set_zero_threshold(h.zero_threshold);
  out->set_zero_count_float(h.zero_count);
  ToProtoSpans(h.negative_spans, out->mutable_negative_spans());
  ToProtoSpans(h.positive_spans, out->mutable_positive_spans());
  out->mutable_negative_counts()->Add(h.negative_buckets.begin(), h.negative_buckets.end());
  out->mutable_positive_counts()->Add(h.positive_buckets.begin(), h.positive_buckets.end());
  out->mutable_custom_values()->Add(h.custom_values.begin(), h.custom_values.end());
  out->set_reset_hint(ToProtoResetHint(h.reset_hint));
  out->set_timestamp(t);
}

// A shared hold on a tenant's head: it is not reopened (destroyed) while this lives.
class HeadReader {
 public:
  explicit HeadReader(absl::Mutex* mu) : mu_(mu) {
    if (mu_ != nullptr) mu_->ReaderLock();
  }
  ~HeadReader() { Release(); }
  HeadReader(const HeadReader&) = delete;
  HeadReader& operator=(const HeadReader&) = delete;
  void Release() {
    if (mu_ != nullptr) mu_->ReaderUnlock();
    mu_ = nullptr;
  }

 private:
  absl::Mutex* mu_;
};

absl::StatusOr<tsdb::Matcher> FromProtoMatcher(const prometheus::LabelMatcher& m) {
  tsdb::Matcher::Type type = tsdb::Matcher::Type::kEqual;
  switch (m.type()) {
    case prometheus::LabelMatcher::EQ:
      type = tsdb::Matcher::Type::kEqual;
      break;
    case prometheus::LabelMatcher::NEQ:
      type = tsdb::Matcher::Type::kNotEqual;
      break;
    case prometheus::LabelMatcher::RE:
      type = tsdb::Matcher::Type::kRegexMatch;
      break;
    case prometheus::LabelMatcher::NRE:
      type = tsdb::Matcher::Type::kRegexNoMatch;
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat("invalid matcher type ", m.type()));
  }
  return tsdb::Matcher::Create(type, m.name(), m.value());
}

std::string ResponseTypeName(int t) {
  switch (t) {
    case prometheus::ReadRequest::SAMPLES:
      return "SAMPLES";
    case prometheus::ReadRequest::STREAMED_XOR_CHUNKS:
      return "STREAMED_XOR_CHUNKS";
    default:
      return std::to_string(t);
  }
}

}  // namespace

// Per-tenant counters, looked up once (Mimir's names; `user` is the tenant).
struct MetricsStore::TenantCounters {
  Counter* samples_in = nullptr;
  Counter* received_samples = nullptr;
  Counter* received_exemplars = nullptr;
  Counter* received_metadata = nullptr;
  Counter* series_created = nullptr;
  Counter* ooo_appended = nullptr;
};

namespace {
// Mimir's per-tenant ingestion rate (util/math.EwmaRate): samples counted between ticks, every
// 15 s (ingester.rate_update_period) the rate moves 20 % towards the tick's samples per second
// (the first tick sets it). Ticks are applied when the rate is touched (a push or a read), the
// samples of the elapsed period going to its first tick, as a ticker would have counted them.
class EwmaRate {
 public:
  static constexpr int64_t kTickNs = int64_t{15} * 1000 * 1000 * 1000;
  static constexpr double kAlpha = 0.2;

  void Add(int64_t samples, int64_t now_ns) {
    absl::MutexLock lock(&mu_);
    Advance(now_ns);
    pending_ += samples;
  }
  double Rate(int64_t now_ns) {
    absl::MutexLock lock(&mu_);
    Advance(now_ns);
    return rate_;
  }

 private:
  void Advance(int64_t now_ns) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (next_tick_ns_ == 0) next_tick_ns_ = now_ns + kTickNs;
    int ticks = 0;
    while (now_ns >= next_tick_ns_) {
      const double instant = static_cast<double>(pending_) / 15.0;
      pending_ = 0;
      rate_ = initialized_ ? rate_ + kAlpha * (instant - rate_) : instant;
      initialized_ = true;
      next_tick_ns_ += kTickNs;
      // A long idle period: the rate decays by (1 - alpha) per tick; after enough it is 0.
      if (++ticks > 200) {
        rate_ = 0;
        next_tick_ns_ = now_ns + kTickNs;
        break;
      }
    }
  }

  absl::Mutex mu_;
  int64_t next_tick_ns_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t pending_ ABSL_GUARDED_BY(mu_) = 0;
  double rate_ ABSL_GUARDED_BY(mu_) = 0;
  bool initialized_ ABSL_GUARDED_BY(mu_) = false;
};
}  // namespace

struct MetricsStore::Tenant {
  std::string id;
  EwmaRate api_rate;  // samples and histograms appended per second (user_stats)
  // Shared by appends and reads, exclusive for a reopen (ReopenHead); `head` is null only after a
  // reopen failed (the next push retries it).
  absl::Mutex head_mu;
  std::unique_ptr<tsdb::TenantHead> head;
  std::unique_ptr<TokenBucket> limiter;
  // The runtime configuration's generation whose limits the head and the limiter have.
  std::atomic<uint64_t> limits_generation{0};
  TenantCounters counters;
  std::string start_note;  // what settling a pending cut at open did or why it failed (for the log)
};

struct MetricsStore::ReadView {
  std::unique_ptr<HeadReader> hold;  // keeps the head from being reopened under the querier
  // The tenant's read barrier, held shared from before the blocks are listed to the end of the
  // read (ReadBarrier).
  std::unique_ptr<HeadReader> reading;
  std::vector<std::string> warnings;
  std::unique_ptr<tsdb::TenantQuerier> querier;
};

// ---- StoreQuerier ----

struct StoreQuerier::State {
  std::unique_ptr<MetricsStore::ReadView> view;
};

StoreQuerier::StoreQuerier() : state_(std::make_unique<State>()) {}
StoreQuerier::~StoreQuerier() = default;

std::unique_ptr<tsdb::SeriesSet> StoreQuerier::Select(std::span<const tsdb::Matcher> matchers,
                                                      const tsdb::SelectHints& hints,
                                                      tsdb::QueryLimiter* limiter) {
  return state_->view->querier->Select(matchers, hints, limiter);
}
std::vector<std::string> StoreQuerier::LabelNames(std::span<const tsdb::Matcher> matchers) {
  return state_->view->querier->LabelNames(matchers);
}
std::vector<std::string> StoreQuerier::LabelValues(std::string_view name,
                                                   std::span<const tsdb::Matcher> matchers) {
  return state_->view->querier->LabelValues(name, matchers);
}
std::vector<tsdb::Labels> StoreQuerier::Series(std::span<const tsdb::Matcher> matchers) {
  return state_->view->querier->Series(matchers);
}
std::vector<std::string> StoreQuerier::warnings() const {
  std::vector<std::string> out = state_->view->warnings;
  const std::vector<std::string>& more = state_->view->querier->warnings();
  out.insert(out.end(), more.begin(), more.end());
  return out;
}
tsdb::TenantQuerier& StoreQuerier::tsdb() { return *state_->view->querier; }

absl::StatusOr<std::unique_ptr<StoreQuerier>> MetricsStore::Querier(std::string_view tenant,
                                                                    int64_t mint, int64_t maxt) {
  if (!started()) return absl::UnavailableError(kUnavailable);
  std::unique_ptr<StoreQuerier> q(new StoreQuerier());
  q->state_->view = OpenReadView(tenant, mint, maxt);
  return q;
}

MetricsStore::MetricsStore(MetricsStoreOptions options) : options_(std::move(options)) {
  const MetricsConfig& c = options_.config;
  ingest_limits_ = IngestLimits(c.DefaultLimits());
  if (MetricsRegistry* r = options_.registry; r != nullptr) {
    ingested_samples_ = r->GetCounter("cortex_ingester_ingested_samples_total",
                                      "The total number of samples ingested.");
    ingested_samples_failures_ =
        r->GetCounter("cortex_ingester_ingested_samples_failures_total",
                      "The total number of samples that errored on ingestion.");
    callbacks_.push_back(r->AddGaugeCallback(
        "cortex_ingester_memory_series", "The current number of series in memory.", {}, [this] {
          absl::MutexLock lock(&mu_);
          double n = 0;
          for (const auto& [id, t] : tenants_) {
            HeadReader hold(&t->head_mu);
            if (t->head != nullptr) {
              n += static_cast<double>(t->head->Stats().series);
            }
          }
          return n;
        }));
    callbacks_.push_back(r->AddGaugeCallback("cortex_ingester_memory_users",
                                             "The current number of users in memory.", {}, [this] {
                                               absl::MutexLock lock(&mu_);
                                               return static_cast<double>(tenants_.size());
                                             }));
  }
}

MetricsStore::~MetricsStore() {
  if (options_.registry != nullptr) {
    for (int id : callbacks_) options_.registry->RemoveCallback(id);
  }
  Close();
}

tsdb::HeadOptions MetricsStore::HeadOptionsFor(const std::string& tenant) const {
  const MetricsConfig& c = options_.config;
  tsdb::HeadOptions o;
  o.env = options_.env;
  o.dir = storage::JoinPath(c.tsdb_dir, tenant);
  o.wal_sync =
      c.wal_fsync_before_ack ? storage::SyncPolicy::kEveryAppend : storage::SyncPolicy::kInterval;
  o.wal_sync_interval = absl::Seconds(1);
  const TenantLimits l = LimitsFor(tenant);
  o.out_of_order_time_window_ms = absl::ToInt64Milliseconds(l.out_of_order_time_window);
  o.max_series = static_cast<uint64_t>(std::max<int64_t>(0, l.max_global_series_per_user));
  o.max_series_per_metric =
      static_cast<uint64_t>(std::max<int64_t>(0, l.max_global_series_per_metric));
  o.max_exemplars = static_cast<size_t>(std::max<int64_t>(0, l.max_global_exemplars_per_user));
  if (options_.on_wal_damage) {
    o.on_wal_damage = [cb = options_.on_wal_damage, tenant](const storage::LogDamage& d) {
      cb(tenant, d);
    };
  }
  return o;
}

absl::StatusOr<std::unique_ptr<MetricsStore::Tenant>> MetricsStore::OpenTenant(
    const std::string& tenant) {
  auto t = std::make_unique<Tenant>();
  t->id = tenant;
  absl::StatusOr<std::unique_ptr<tsdb::TenantHead>> head =
      tsdb::TenantHead::Open(HeadOptionsFor(tenant));
  if (!head.ok()) {
    return absl::Status(head.status().code(),
                        absl::StrCat("tenant ", tenant, ": ", head.status().message()));
  }
  t->head = *std::move(head);
  // Best effort: a failure (the bucket unreadable now) never stops the start; the tenant's next
  // cut settles the marker first, and meanwhile readers de-duplicate head and block.
  if (absl::Status s = ResolvePendingCut(*t, &t->start_note); !s.ok()) {
    t->start_note = absl::StrCat("tenant ", tenant, ": settling the pending cut failed (retried ",
                                 "before the next cut): ", s.message());
  }
  NoteReplay(tenant, *t->head);
  const int64_t now = options_.monotonic_ns ? options_.monotonic_ns() : MonotonicNowNs();
  // The generation first: a change after it is applied by the next push.
  t->limits_generation.store(
      options_.runtime_config != nullptr ? options_.runtime_config->generation() : 0);
  const TenantLimits limits = LimitsFor(tenant);
  t->limiter =
      std::make_unique<TokenBucket>(limits.ingestion_rate, limits.ingestion_burst_size, now);
  if (MetricsRegistry* r = options_.registry; r != nullptr) {
    const MetricLabels user = {{"user", tenant}};
    t->counters.samples_in = r->GetCounter(
        "cortex_distributor_samples_in_total",
        "The total number of samples that have come in to the distributor, including rejected "
        "or deduped samples.",
        user);
    t->counters.received_samples = r->GetCounter(
        "cortex_distributor_received_samples_total",
        "The total number of received samples, excluding rejected and deduped samples.", user);
    t->counters.received_exemplars = r->GetCounter(
        "cortex_distributor_received_exemplars_total",
        "The total number of received exemplars, excluding rejected and deduped exemplars.", user);
    t->counters.received_metadata =
        r->GetCounter("cortex_distributor_received_metadata_total",
                      "The total number of received metadata, excluding rejected.", user);
    t->counters.series_created =
        r->GetCounter("cortex_ingester_memory_series_created_total",
                      "The total number of series that were created per user.", user);
    t->counters.ooo_appended =
        r->GetCounter("cortex_ingester_tsdb_out_of_order_samples_appended_total",
                      "Total number of out-of-order samples appended.", user);
  }
  return t;
}

absl::Status MetricsStore::Start() {
  const std::string& dir = options_.config.tsdb_dir;
  if (absl::Status s = options_.env->CreateDirs(dir); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("metrics store: ", dir, ": ", s.message()));
  }
  absl::StatusOr<std::vector<std::string>> names = options_.env->ListDir(dir);
  if (!names.ok()) {
    return absl::Status(names.status().code(),
                        absl::StrCat("metrics store: ", dir, ": ", names.status().message()));
  }
  std::sort(names->begin(), names->end());
  for (const std::string& name : *names) {
    absl::StatusOr<bool> is_dir = options_.env->IsDirectory(storage::JoinPath(dir, name));
    if (!is_dir.ok() || !*is_dir) continue;
    if (!net::ValidateTenantId(name).ok()) {
      skipped_dirs_.push_back(name);
      continue;
    }
    absl::StatusOr<std::unique_ptr<Tenant>> t = OpenTenant(name);
    if (!t.ok()) return t.status();
    if (!(*t)->start_note.empty()) start_notes_.push_back((*t)->start_note);
    absl::MutexLock lock(&mu_);
    tenants_[name] = *std::move(t);
  }
  // Every tenant's bucket index is rebuilt from a listing before the first read: a crash may
  // have come between a block change and its index update.
  MaintainBucketIndexes();
  {
    absl::MutexLock lock(&mu_);
    started_ = true;
  }
  RETURN_IF_ERROR(StartCompactionJob());
  absl::StatusOr<std::thread> cutter = StartThread([this] { CutLoop(); });
  if (!cutter.ok()) {
    StopCompactionJob();
    return cutter.status();
  }
  cutter_ = *std::move(cutter);
  return absl::OkStatus();
}

bool MetricsStore::started() const {
  absl::MutexLock lock(&mu_);
  return started_ && !closed_;
}

MetricsStore::Tenant* MetricsStore::FindTenant(std::string_view tenant) const {
  absl::MutexLock lock(&mu_);
  auto it = tenants_.find(AV(tenant));
  return it == tenants_.end() ? nullptr : it->second.get();
}

absl::StatusOr<MetricsStore::Tenant*> MetricsStore::GetOrOpenTenant(std::string_view tenant) {
  if (Tenant* t = FindTenant(tenant); t != nullptr) return t;
  if (absl::Status s = net::ValidateTenantId(tenant); !s.ok()) return s;
  absl::MutexLock open_lock(&open_mu_);
  if (Tenant* t = FindTenant(tenant); t != nullptr) return t;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return absl::UnavailableError("the metrics store is closed");
  }
  absl::StatusOr<std::unique_ptr<Tenant>> t = OpenTenant(std::string(tenant));
  if (!t.ok()) return t.status();
  absl::MutexLock lock(&mu_);
  Tenant* raw = t->get();
  tenants_[std::string(tenant)] = *std::move(t);
  return raw;
}

tsdb::TenantHead* MetricsStore::FindHead(std::string_view tenant) const {
  Tenant* t = FindTenant(tenant);
  return t == nullptr ? nullptr : t->head.get();
}

absl::StatusOr<tsdb::TenantHead*> MetricsStore::GetOrOpenHead(std::string_view tenant) {
  absl::StatusOr<Tenant*> t = GetOrOpenTenant(tenant);
  if (!t.ok()) return t.status();
  return (*t)->head.get();
}

void MetricsStore::Close() {
  StopCompactionJob();
  StopCutter();
  absl::MutexLock cut_lock(&cut_mu_);  // waits for a cut or flush in progress
  absl::MutexLock open_lock(&open_mu_);
  absl::flat_hash_map<std::string, std::unique_ptr<Tenant>> tenants;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    closed_ = true;
    tenants = std::move(tenants_);
    tenants_.clear();
  }
  // Each head's destructor syncs and closes its WAL.
  tenants.clear();
}

std::unique_ptr<ingest::RemoteWriteDecoder> MetricsStore::TakeDecoder() {
  {
    absl::MutexLock lock(&decoders_mu_);
    if (!decoders_.empty()) {
      std::unique_ptr<ingest::RemoteWriteDecoder> d = std::move(decoders_.back());
      decoders_.pop_back();
      return d;
    }
  }
  return std::make_unique<ingest::RemoteWriteDecoder>(ingest_limits_);
}

void MetricsStore::ReturnDecoder(std::unique_ptr<ingest::RemoteWriteDecoder> decoder) {
  absl::MutexLock lock(&decoders_mu_);
  if (decoders_.size() < 64) decoders_.push_back(std::move(decoder));
}

void MetricsStore::NoteReplay(const std::string& tenant, const tsdb::TenantHead& head) {
  const tsdb::ReplayStats& st = head.replay_stats();
  if (options_.on_replay) options_.on_replay(tenant, st);
  MetricsRegistry* r = options_.registry;
  if (r == nullptr) return;
  const MetricLabels user = {{"user", tenant}};
  r->GetCounter("sprout_metrics_wal_replays_total",
                "WAL replays of the tenant's head (at start, on its first push, after a reopen).",
                user)
      ->Increment();
  r->GetGauge("sprout_metrics_wal_replay_duration_seconds",
              "How long the tenant's latest WAL replay took.", user)
      ->Set(absl::ToDoubleSeconds(st.duration));
  r->GetGauge("sprout_metrics_wal_replay_records",
              "WAL records (checkpoint and segments) read by the tenant's latest replay.", user)
      ->Set(static_cast<double>(st.records));
  r->GetGauge("sprout_metrics_wal_replay_series", "Series records replayed by the latest replay.",
              user)
      ->Set(static_cast<double>(st.series));
  r->GetGauge("sprout_metrics_wal_replay_samples",
              "Samples and native-histogram samples replayed by the latest replay.", user)
      ->Set(static_cast<double>(st.samples + st.histograms));
  r->GetGauge("sprout_metrics_wal_replay_damage_reports",
              "Damage the latest replay met: torn tails cut and damaged segment parts skipped.",
              user)
      ->Set(static_cast<double>(st.damage_reports));
  r->GetGauge("sprout_metrics_wal_replay_corrupt_records",
              "Records the latest replay could not decode and skipped.", user)
      ->Set(static_cast<double>(st.corrupt_records));
  const std::pair<const char*, uint64_t> skipped[] = {{"unknown_series", st.unknown_series_samples},
                                                      {"refused", st.refused_samples},
                                                      {"id_out_of_range", st.ids_out_of_range}};
  for (const auto& [reason, n] : skipped) {
    r->GetGauge("sprout_metrics_wal_replay_skipped_entries",
                "WAL entries the latest replay skipped: samples of series ids never defined, "
                "samples out of order, series ids beyond what a valid log holds.",
                {{"reason", reason}, {"user", tenant}})
        ->Set(static_cast<double>(n));
  }
}

void MetricsStore::CountDiscarded(Tenant& t, std::string_view family, std::string_view reason,
                                  int64_t n) {
  if (options_.registry == nullptr || n <= 0) return;
  std::string name;
  std::string help;
  if (family == "samples") {
    name = "cortex_discarded_samples_total";
    help = "The total number of samples that were discarded.";
  } else if (family == "exemplars") {
    name = "cortex_discarded_exemplars_total";
    help = "The total number of exemplars that were discarded.";
  } else {
    name = "cortex_discarded_metadata_total";
    help = "The total number of metadata that were discarded.";
  }
  options_.registry->GetCounter(name, help, {{"reason", std::string(reason)}, {"user", t.id}})
      ->Add(static_cast<double>(n));
}

TenantLimits MetricsStore::LimitsFor(std::string_view tenant) const {
  if (options_.runtime_config != nullptr) return options_.runtime_config->LimitsFor(tenant);
  return options_.config.DefaultLimits();
}

ingest::Limits MetricsStore::IngestLimits(const TenantLimits& l) const {
  ingest::Limits out;
  out.max_recv_msg_size = static_cast<size_t>(options_.config.max_recv_msg_size);
  out.max_label_names_per_series = l.max_label_names_per_series;
  out.max_label_name_length = l.max_label_name_length;
  out.max_label_value_length = l.max_label_value_length;
  out.max_metadata_length = l.max_metadata_length;
  out.creation_grace_period_ms = absl::ToInt64Milliseconds(l.creation_grace_period);
  // Mimir's ingester: the oldest sample accepted is now - past_grace_period -
  // out_of_order_time_window (when past_grace_period is set).
  out.past_grace_period_ms =
      l.past_grace_period > absl::ZeroDuration()
          ? absl::ToInt64Milliseconds(l.past_grace_period + l.out_of_order_time_window)
          : 0;
  return out;
}

TenantLimits MetricsStore::RefreshLimits(Tenant& t) {
  if (options_.runtime_config == nullptr) return options_.config.DefaultLimits();
  const uint64_t generation = options_.runtime_config->generation();
  const TenantLimits l = options_.runtime_config->LimitsFor(t.id);
  if (t.limits_generation.exchange(generation) != generation) {
    t.limiter->SetLimits(l.ingestion_rate, l.ingestion_burst_size);
    HeadReader hold(&t.head_mu);
    if (t.head != nullptr) {
      t.head->SetLimits(static_cast<uint64_t>(std::max<int64_t>(0, l.max_global_series_per_user)),
                        static_cast<uint64_t>(std::max<int64_t>(0, l.max_global_series_per_metric)),
                        absl::ToInt64Milliseconds(l.out_of_order_time_window));
      t.head->SetMaxExemplars(
          static_cast<size_t>(std::max<int64_t>(0, l.max_global_exemplars_per_user)));
    }
  }
  return l;
}

std::string MetricsStore::RateLimitedMessage(std::string_view tenant) const {
  const TenantLimits l = LimitsFor(tenant);
  return absl::StrCat(
      "the request has been rejected because the tenant exceeded the ingestion rate limit, set "
      "to ",
      GoSprintV(l.ingestion_rate), " items/s with a maximum allowed burst of ",
      l.ingestion_burst_size,
      ". This limit is applied on the total number of samples, exemplars and metadata received "
      "across all distributors (err-mimir-tenant-max-ingestion-rate). To adjust the related "
      "per-tenant limits, configure -distributor.ingestion-rate-limit and "
      "-distributor.ingestion-burst-size, or contact your service administrator.");
}

PushResult MetricsStore::Push(std::string_view tenant, std::string_view snappy_body,
                              ingest::Protocol protocol) {
  return PushBody(tenant, snappy_body, /*snappy=*/true, protocol);
}

PushResult MetricsStore::PushWriteRequest(std::string_view tenant,
                                          const prometheus::WriteRequest& request) {
  if (!started()) return {503, kUnavailable};
  std::string wire;
  request.SerializeToString(&wire);
  return PushBody(tenant, wire, /*snappy=*/false);
}

PushResult MetricsStore::PushBody(std::string_view tenant, std::string_view body, bool snappy,
                                  ingest::Protocol protocol) {
  if (!started()) return {503, kUnavailable};
  if (absl::Status s = net::ValidateTenantId(tenant); !s.ok()) {
    return {400, std::string(s.message())};
  }
  Tenant* existing = FindTenant(tenant);
  // The builder asks the head which label bytes it knows: hold it while decoding.
  HeadReader existing_hold(existing != nullptr ? &existing->head_mu : nullptr);
  AppendBuilder builder(existing != nullptr ? existing->head.get() : nullptr);
  const TenantLimits limits = LimitsFor(tenant);
  builder.set_drop_histograms(!limits.native_histograms_ingestion_enabled);
  std::unique_ptr<ingest::RemoteWriteDecoder> decoder = TakeDecoder();
  const ingest::Limits ingest_limits = IngestLimits(limits);
  decoder->set_limits(ingest_limits);
  const int64_t now_ms = options_.now_ms ? options_.now_ms() : WallNowMs();
  // Start-timestamp zeros (2.0): none older than the oldest sample the request may carry.
  builder.set_start_zeros(true, ingest_limits.past_grace_period_ms > 0
                                    ? now_ms - ingest_limits.past_grace_period_ms
                                    : INT64_MIN);
  ingest::IngestResult decoded = snappy ? decoder->DecodeSnappy(body, now_ms, builder, protocol)
                                        : decoder->Decode(body, now_ms, builder, protocol);
  ReturnDecoder(std::move(decoder));
  existing_hold.Release();
  if (decoded.request_refused) return {decoded.http_status, decoded.message};
  return Ingest(tenant, decoded, builder, nullptr);
}

OtlpIngestResult MetricsStore::IngestOtlp(
    std::string_view tenant,
    const opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest& request,
    const otlp::PromTranslationSettings& settings) {
  OtlpIngestResult out;
  auto fail = [&](int status, std::string message) {
    out.http_status = status;
    out.message = std::move(message);
    out.samples_refused = 0;  // nothing was translated
    return out;
  };
  if (!started()) return fail(503, kUnavailable);
  if (absl::Status s = net::ValidateTenantId(tenant); !s.ok()) {
    return fail(400, std::string(s.message()));
  }
  AppendBuilder builder(nullptr);  // no label bytes: nothing to look up before the head
  const TenantLimits limits = LimitsFor(tenant);
  builder.set_drop_histograms(!limits.native_histograms_ingestion_enabled);
  const int64_t now_ms = options_.now_ms ? options_.now_ms() : WallNowMs();
  ingest::OtlpSink sink(IngestLimits(limits), now_ms, &builder);
  otlp::TranslateMetrics(request, settings, &sink, &out.translation_errors, &out.dropped_points);
  const ingest::IngestResult& decoded = sink.result();
  int64_t samples = decoded.samples_accepted + decoded.histograms_accepted;
  int64_t refused = 0;
  for (size_t i = 0; i < ingest::kRefusalCount; ++i) {
    refused += decoded.samples_refused[i] + decoded.histograms_refused[i];
  }
  tsdb::AppendResult appended;
  const PushResult pushed = Ingest(tenant, decoded, builder, &appended);
  out.http_status = pushed.http_status;
  out.message = pushed.message;
  if (pushed.http_status == 429 || pushed.http_status >= 500) {
    out.samples_refused = samples + refused;
  } else {
    out.samples_stored = samples - static_cast<int64_t>(appended.samples_refused);
    out.samples_refused = refused + static_cast<int64_t>(appended.samples_refused);
  }
  return out;
}

absl::Status OtlpIngestResult::ToStatus() const {
  if (ok()) return absl::OkStatus();
  if (http_status == 429) return absl::ResourceExhaustedError(message);
  if (http_status >= 500) return absl::UnavailableError(message);
  std::vector<std::string> parts;
  if (!message.empty()) parts.push_back(message);
  parts.insert(parts.end(), translation_errors.begin(), translation_errors.end());
  return otlp::MarkPermanent(absl::InvalidArgumentError(absl::StrJoin(parts, "; ")));
}

PushResult MetricsStore::Ingest(std::string_view tenant, const ingest::IngestResult& decoded,
                                AppendBuilder& builder, tsdb::AppendResult* appended_out) {
  absl::StatusOr<Tenant*> opened = GetOrOpenTenant(tenant);
  if (!opened.ok()) {
    const int status = absl::IsInvalidArgument(opened.status()) ? 400
                       : absl::IsUnavailable(opened.status())   ? 503
                                                                : 500;
    return {status, std::string(opened.status().message())};
  }
  Tenant& t = **opened;
  RefreshLimits(t);

  int64_t samples_refused = 0, exemplars_refused = 0, metadata_refused = 0;
  for (size_t i = 0; i < ingest::kRefusalCount; ++i) {
    const std::string_view reason = ingest::RefusalLabel(static_cast<ingest::Refusal>(i));
    const int64_t s = decoded.samples_refused[i] + decoded.histograms_refused[i];
    samples_refused += s;
    exemplars_refused += decoded.exemplars_refused[i];
    metadata_refused += decoded.metadata_refused[i];
    CountDiscarded(t, "samples", reason, s);
    CountDiscarded(t, "exemplars", reason, decoded.exemplars_refused[i]);
    CountDiscarded(t, "metadata", reason, decoded.metadata_refused[i]);
  }
  const int64_t samples = decoded.samples_accepted + decoded.histograms_accepted;
  if (t.counters.samples_in != nullptr) {
    t.counters.samples_in->Add(static_cast<double>(samples + samples_refused));
  }

  // Mimir's distributor: the rate limit counts what passed validation (samples, histograms,
  // exemplars, metadata) and refuses the whole request.
  const int64_t items = samples + decoded.exemplars_accepted + decoded.metadata_accepted;
  if (items > 0) {
    const int64_t now_ns = options_.monotonic_ns ? options_.monotonic_ns() : MonotonicNowNs();
    if (!t.limiter->Allow(items, now_ns)) {
      CountDiscarded(t, "samples", "rate_limited", samples);
      CountDiscarded(t, "exemplars", "rate_limited", decoded.exemplars_accepted);
      CountDiscarded(t, "metadata", "rate_limited", decoded.metadata_accepted);
      return {429, RateLimitedMessage(t.id)};
    }
  }
  if (t.counters.received_samples != nullptr) {
    t.counters.received_samples->Add(static_cast<double>(samples));
    t.counters.received_exemplars->Add(static_cast<double>(decoded.exemplars_accepted));
    t.counters.received_metadata->Add(static_cast<double>(decoded.metadata_accepted));
  }
  if (builder.empty()) return {decoded.http_status, decoded.message};

  tsdb::AppendResult appended;
  bool failed_closed = false;
  {
    HeadReader hold(&t.head_mu);
    if (t.head == nullptr) {
      failed_closed = true;  // a reopen failed earlier
      appended.status = absl::UnavailableError("the head could not be reopened");
    } else {
      appended = t.head->Append(builder.Build());
      failed_closed = !appended.status.ok() && !t.head->wal_status().ok();
    }
  }
  if (failed_closed) {
    if (ingested_samples_failures_ != nullptr) {
      ingested_samples_failures_->Add(static_cast<double>(samples));
    }
    absl::Status reopened = ReopenHead(t);
    return {503,
            absl::StrCat("the WAL of tenant ", t.id, " failed (", appended.status.message(), "); ",
                         reopened.ok()
                             ? "the head was reopened, retry the request"
                             : absl::StrCat("reopening the head failed: ", reopened.message()))};
  }
  if (!appended.status.ok()) {
    if (ingested_samples_failures_ != nullptr) {
      ingested_samples_failures_->Add(static_cast<double>(samples));
    }
    return {500, absl::StrCat("failed to write to the WAL of tenant ", t.id, ": ",
                              appended.status.message())};
  }
  t.api_rate.Add(static_cast<int64_t>(appended.samples_appended + appended.histograms_appended),
                 options_.monotonic_ns ? options_.monotonic_ns() : MonotonicNowNs());
  if (ingested_samples_ != nullptr) {
    ingested_samples_->Add(
        static_cast<double>(appended.samples_appended + appended.histograms_appended));
    ingested_samples_failures_->Add(static_cast<double>(appended.samples_refused));
  }
  if (t.counters.series_created != nullptr) {
    t.counters.series_created->Add(static_cast<double>(appended.series_created));
  }
  if (t.counters.ooo_appended != nullptr && appended.ooo_samples_appended > 0) {
    t.counters.ooo_appended->Add(static_cast<double>(appended.ooo_samples_appended));
  }
  for (const tsdb::Refusal& r : appended.refusals) {
    CountDiscarded(t, "samples", RefusalReason(r.kind), r.count);
  }
  const int first_status = appended.refusals.empty() ? decoded.http_status : 400;
  std::string first_message =
      appended.refusals.empty() ? decoded.message : appended.refusals.front().Message();
  PushResult pushed{first_status, std::move(first_message)};
  // A duplicate (same timestamp, same value) is accepted as Prometheus's TSDB accepts it: written.
  // The head does not tell float from histogram duplicates; they count as samples.
  pushed.samples_written =
      static_cast<int64_t>(appended.samples_appended + appended.duplicates_ignored);
  pushed.histograms_written = static_cast<int64_t>(appended.histograms_appended);
  pushed.exemplars_written = static_cast<int64_t>(appended.exemplars_appended);
  if (appended_out != nullptr) *appended_out = std::move(appended);
  return pushed;
}

absl::Status MetricsStore::SelectSamples(
    std::string_view tenant, std::span<const tsdb::Matcher> matchers, int64_t mint, int64_t maxt,
    const std::function<void(const tsdb::Labels&, std::span<const tsdb::QuerySample>)>& fn) {
  if (!started()) return absl::UnavailableError(kUnavailable);
  std::unique_ptr<ReadView> view = OpenReadView(tenant, mint, maxt);
  std::unique_ptr<tsdb::SampleSet> set = view->querier->SelectSamples(matchers);
  while (set->Next()) fn(set->labels(), set->sample_list());
  return absl::OkStatus();
}

ReadResult MetricsStore::RemoteRead(std::string_view tenant, std::string_view snappy_body) {
  if (!started()) return {503, kUnavailable};
  absl::StatusOr<std::string> raw =
      net::Decompress(net::Codec::kSnappy, snappy_body, kMaxReadRequestSize);
  if (!raw.ok()) return {400, std::string(raw.status().message())};
  prometheus::ReadRequest request;
  if (!request.ParseFromString(*raw)) {
    return {400, "unexpected EOF"};  // what gogo's Unmarshal says of a truncated message
  }
  // Prometheus's NegotiateResponseType, with SAMPLES as the only type sprout serves.
  bool samples = request.accepted_response_types_size() == 0;
  for (int type : request.accepted_response_types()) {
    if (type == prometheus::ReadRequest::SAMPLES) {
      samples = true;
      break;
    }
  }
  if (!samples) {
    std::vector<std::string> names;
    for (int type : request.accepted_response_types()) names.push_back(ResponseTypeName(type));
    return {400, absl::StrCat("server does not support any of the requested response types: [",
                              absl::StrJoin(names, " "), "]; supported: map[SAMPLES:{}]")};
  }
  prometheus::ReadResponse response;
  for (const prometheus::Query& q : request.queries()) {
    prometheus::QueryResult* result = response.add_results();
    std::vector<tsdb::Matcher> matchers;
    for (const prometheus::LabelMatcher& m : q.matchers()) {
      absl::StatusOr<tsdb::Matcher> matcher = FromProtoMatcher(m);
      if (!matcher.ok()) return {400, std::string(matcher.status().message())};
      matchers.push_back(*std::move(matcher));
    }
    absl::StatusOr<std::unique_ptr<StoreQuerier>> querier =
        Querier(tenant, q.start_timestamp_ms(), q.end_timestamp_ms());
    if (!querier.ok()) return {503, std::string(querier.status().message())};
    std::unique_ptr<tsdb::SeriesSet> set = (*querier)->Select(matchers);
    while (set->Next()) {
      // Straight from the merge into the message: a series is added at its first sample (one
      // whose chunks overlap the range without a sample in it is left out).
      prometheus::TimeSeries* ts = nullptr;
      tsdb::SeriesIterator& it = set->iterator();
      // Floats in `samples`, native histograms in `histograms`, each in time order (a series
      // whose type changed over time has both, as Prometheus's codec answers).
      for (chunkenc::ValueType type = it.Next(); type != chunkenc::ValueType::kNone;
           type = it.Next()) {
        if (ts == nullptr) {
          ts = result->add_timeseries();
          for (const tsdb::Label l : set->labels()) {
            prometheus::Label* pl = ts->add_labels();
            pl->set_name(std::string(l.name));
            pl->set_value(std::string(l.value));
          }
        }
        switch (type) {
          case chunkenc::ValueType::kFloat: {
            auto [t, v] = it.At();
            prometheus::Sample* s = ts->add_samples();
            s->set_timestamp(t);
            s->set_value(v);
            break;
          }
          case chunkenc::ValueType::kHistogram: {
            chunkenc::Histogram h;
            int64_t t = it.AtHistogram(&h);
            ToProtoHistogram(h, t, ts->add_histograms());
            break;
          }
          case chunkenc::ValueType::kFloatHistogram: {
            chunkenc::FloatHistogram fh;
            int64_t t = it.AtFloatHistogram(&fh);
            ToProtoHistogram(fh, t, ts->add_histograms());
            break;
          }
          default:
            break;
        }
      }
    }
  }
  absl::StatusOr<std::string> body =
      net::Compress(net::Codec::kSnappy, response.SerializeAsString());
  if (!body.ok()) return {500, std::string(body.status().message())};
  return {200, *std::move(body)};
}

// ---------------------------------------------------------------------------------------------
// api::Queryable

namespace {

// A union over the matcher sets (no set: `all` once), sorted and unique, cut at `limit`.
template <typename Fn>
std::vector<std::string> UnionStrings(const std::vector<api::MatcherSet>& sets, int64_t limit,
                                      Fn per_set) {
  std::set<std::string> all;
  if (sets.empty()) {
    for (std::string& s : per_set(std::span<const tsdb::Matcher>())) all.insert(std::move(s));
  } else {
    for (const api::MatcherSet& set : sets) {
      for (std::string& s : per_set(std::span<const tsdb::Matcher>(set))) all.insert(std::move(s));
    }
  }
  std::vector<std::string> out(all.begin(), all.end());
  if (limit > 0 && static_cast<int64_t>(out.size()) > limit) out.resize(limit);
  return out;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> MetricsStore::LabelNames(
    std::string_view tenant, const std::vector<api::MatcherSet>& matcher_sets, int64_t mint_ms,
    int64_t maxt_ms, int64_t limit) {
  if (!started()) return absl::UnavailableError(kUnavailable);
  std::unique_ptr<ReadView> view = OpenReadView(tenant, mint_ms, maxt_ms);
  return UnionStrings(matcher_sets, limit, [&](std::span<const tsdb::Matcher> m) {
    return view->querier->LabelNames(m);
  });
}

absl::StatusOr<std::vector<std::string>> MetricsStore::LabelValues(
    std::string_view tenant, std::string_view label_name,
    const std::vector<api::MatcherSet>& matcher_sets, int64_t mint_ms, int64_t maxt_ms,
    int64_t limit) {
  if (!started()) return absl::UnavailableError(kUnavailable);
  std::unique_ptr<ReadView> view = OpenReadView(tenant, mint_ms, maxt_ms);
  return UnionStrings(matcher_sets, limit, [&](std::span<const tsdb::Matcher> m) {
    return view->querier->LabelValues(label_name, m);
  });
}

absl::StatusOr<std::vector<tsdb::Labels>> MetricsStore::Series(
    std::string_view tenant, const std::vector<api::MatcherSet>& matcher_sets, int64_t mint_ms,
    int64_t maxt_ms, int64_t limit) {
  if (!started()) return absl::UnavailableError(kUnavailable);
  std::vector<tsdb::Labels> out;
  std::unique_ptr<ReadView> view = OpenReadView(tenant, mint_ms, maxt_ms);
  for (const api::MatcherSet& set : matcher_sets) {
    std::vector<tsdb::Labels> part = view->querier->Series(set);
    out.insert(out.end(), std::make_move_iterator(part.begin()),
               std::make_move_iterator(part.end()));
  }
  if (matcher_sets.size() > 1) {
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
  }
  if (limit > 0 && static_cast<int64_t>(out.size()) > limit) out.resize(limit);
  return out;
}

absl::StatusOr<api::CardinalityResult> MetricsStore::Cardinality(
    std::string_view tenant, const api::MatcherSet& selector, const std::vector<std::string>& names,
    int64_t active_since_ms) {
  if (!started()) return absl::UnavailableError(kUnavailable);
  api::CardinalityResult out;
  Tenant* t = FindTenant(tenant);
  if (t == nullptr) return out;
  HeadReader hold(&t->head_mu);
  const tsdb::TenantHead* head = t->head.get();
  if (head == nullptr) return out;
  out.head_series = head->CountSeries({}, active_since_ms);
  out.selected_series = head->CountSeries(selector, active_since_ms);
  for (const tsdb::MemPostings::NameCardinality& nc :
       head->LabelCardinality(names, selector, active_since_ms)) {
    api::LabelNameCardinality& l = out.labels.emplace_back();
    l.name = std::string(nc.name);
    l.values.reserve(nc.values.size());
    for (const tsdb::MemPostings::ValueCount& v : nc.values) {
      l.values.push_back({std::string(v.value), v.series});
    }
  }
  return out;
}

absl::StatusOr<std::vector<tsdb::Labels>> MetricsStore::ActiveSeries(
    std::string_view tenant, const api::MatcherSet& selector, int64_t active_since_ms) {
  if (!started()) return absl::UnavailableError(kUnavailable);
  Tenant* t = FindTenant(tenant);
  if (t == nullptr) return std::vector<tsdb::Labels>{};
  HeadReader hold(&t->head_mu);
  const tsdb::TenantHead* head = t->head.get();
  if (head == nullptr) return std::vector<tsdb::Labels>{};
  return head->Series(selector, active_since_ms, INT64_MAX);
}

absl::StatusOr<api::HeadStatus> MetricsStore::TsdbHeadStatus(std::string_view tenant) {
  if (!started()) return absl::UnavailableError(kUnavailable);
  api::HeadStatus out;
  Tenant* t = FindTenant(tenant);
  if (t == nullptr) return out;
  HeadReader hold(&t->head_mu);
  const tsdb::TenantHead* head = t->head.get();
  if (head == nullptr) return out;
  const tsdb::HeadStats stats = head->Stats();
  out.num_series = head->CountSeries({}, INT64_MIN);
  out.chunk_count = head->ChunkCount();
  out.min_time = stats.min_time;
  out.max_time = stats.max_time;
  return out;
}

absl::StatusOr<api::UserStats> MetricsStore::TenantUserStats(std::string_view tenant) {
  if (!started()) return absl::UnavailableError(kUnavailable);
  api::UserStats out;
  Tenant* t = FindTenant(tenant);
  if (t == nullptr) return out;
  out.api_ingestion_rate =
      t->api_rate.Rate(options_.monotonic_ns ? options_.monotonic_ns() : MonotonicNowNs());
  HeadReader hold(&t->head_mu);
  const tsdb::TenantHead* head = t->head.get();
  if (head != nullptr) out.num_series = head->CountSeries({}, INT64_MIN);
  return out;
}

absl::StatusOr<std::map<std::string, std::vector<api::MetricMetadata>>> MetricsStore::Metadata(
    std::string_view tenant, std::string_view metric, int64_t limit, int64_t limit_per_metric) {
  if (!started()) return absl::UnavailableError(kUnavailable);
  std::map<std::string, std::vector<api::MetricMetadata>> out;
  Tenant* t = FindTenant(tenant);
  if (t == nullptr) return out;
  HeadReader hold(&t->head_mu);
  const tsdb::TenantHead* head = t->head.get();
  if (head == nullptr) return out;
  std::vector<tsdb::MetricMetadata> all = head->Metadata(metric);
  std::sort(all.begin(), all.end(),
            [](const tsdb::MetricMetadata& a, const tsdb::MetricMetadata& b) {
              return a.metric_family < b.metric_family;
            });
  for (const tsdb::MetricMetadata& m : all) {
    // Prometheus: a limit >= 0 caps the metrics; limit_per_metric > 0 the entries per metric.
    if (limit >= 0 && static_cast<int64_t>(out.size()) >= limit) break;
    std::vector<api::MetricMetadata>& entries = out[m.metric_family];
    if (limit_per_metric > 0 && static_cast<int64_t>(entries.size()) >= limit_per_metric) continue;
    entries.push_back(
        api::MetricMetadata{std::string(tsdb::wal::MetricTypeName(m.type)), m.help, m.unit});
  }
  return out;
}

absl::StatusOr<std::vector<api::SeriesExemplars>> MetricsStore::Exemplars(
    std::string_view tenant, const std::vector<api::MatcherSet>& matcher_sets, int64_t start_ms,
    int64_t end_ms) {
  if (!started()) return absl::UnavailableError(kUnavailable);
  std::vector<api::SeriesExemplars> out;
  Tenant* t = FindTenant(tenant);
  if (t == nullptr) return out;
  HeadReader hold(&t->head_mu);
  const tsdb::TenantHead* head = t->head.get();
  if (head == nullptr) return out;
  // A series selected by several sets is listed once (its exemplars do not depend on the set).
  std::map<tsdb::Labels, std::vector<tsdb::Exemplar>> by_series;
  for (const api::MatcherSet& set : matcher_sets) {
    for (tsdb::SeriesExemplars& s : head->Exemplars(set, start_ms, end_ms)) {
      by_series.try_emplace(std::move(s.series), std::move(s.exemplars));
    }
  }
  out.reserve(by_series.size());
  for (auto& [series, exemplars] : by_series) {
    api::SeriesExemplars& o = out.emplace_back();
    o.series = series;
    o.exemplars.reserve(exemplars.size());
    for (tsdb::Exemplar& e : exemplars) {
      o.exemplars.push_back(api::ExemplarPoint{std::move(e.labels), e.value, e.t});
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Blocks: reads over head and blocks, the compaction job, the head's reopen

absl::StatusOr<objstore::ObjectStore*> MetricsStore::blocks_store() {
  absl::MutexLock lock(&blocks_mu_);
  if (blocks_store_ == nullptr) {
    const std::string dir = options_.config.BlocksFilesystemDir();
    absl::StatusOr<std::unique_ptr<objstore::FilesystemObjectStore>> fs =
        objstore::FilesystemObjectStore::Open(options_.env, dir);
    if (!fs.ok()) {
      return absl::Status(fs.status().code(),
                          absl::StrCat("blocks storage ", dir, ": ", fs.status().message()));
    }
    blocks_store_ = *std::move(fs);
  }
  return blocks_store_.get();
}

absl::Mutex* MetricsStore::ReadBarrierFor(const std::string& tenant) {
  absl::MutexLock lock(&blocks_mu_);
  std::unique_ptr<absl::Mutex>& mu = read_barriers_[tenant];
  if (mu == nullptr) mu = std::make_unique<absl::Mutex>();
  return mu.get();
}

void MetricsStore::ReadBarrier(const std::string& tenant) {
  absl::Mutex* mu = ReadBarrierFor(tenant);
  mu->Lock();  // every read that began before is done; later ones list the new state
  mu->Unlock();
}

tsdb::BlockSet* MetricsStore::BlockSetFor(const std::string& tenant) {
  absl::StatusOr<objstore::ObjectStore*> store = blocks_store();
  if (!store.ok()) return nullptr;
  tsdb::TenantBucketIndex* index = BucketIndexFor(tenant);
  absl::MutexLock lock(&blocks_mu_);
  std::unique_ptr<tsdb::BlockSet>& set = block_sets_[tenant];
  if (set == nullptr) set = std::make_unique<tsdb::BlockSet>(*store, BlocksPrefix(tenant), index);
  return set.get();
}

tsdb::TenantBucketIndex* MetricsStore::BucketIndexFor(const std::string& tenant) {
  if (!options_.config.bucket_index_enabled) return nullptr;
  absl::StatusOr<objstore::ObjectStore*> store = blocks_store();
  if (!store.ok()) return nullptr;
  absl::MutexLock lock(&blocks_mu_);
  std::unique_ptr<tsdb::TenantBucketIndex>& index = bucket_indexes_[tenant];
  if (index == nullptr) {
    tsdb::TenantBucketIndexOptions o;
    o.max_stale_period = options_.config.bucket_index_max_stale_period;
    if (options_.now_ms) {
      o.now = [now_ms = options_.now_ms] { return absl::FromUnixMillis(now_ms()); };
    }
    MetricsRegistry* r = options_.registry;
    o.on_failure = [r, tenant](std::string_view op, const absl::Status& status) {
      log::Logger().Warn("bucket index operation failed (readers list the bucket meanwhile)",
                         {{"user", tenant},
                          {"operation", std::string(op)},
                          {"err", std::string(status.message())}});
      if (r != nullptr) {
        r->GetCounter("sprout_metrics_bucket_index_failures_total",
                      "Failed operations on a tenant's bucket-index.json.gz (put, get, list).",
                      {{"operation", std::string(op)}, {"user", tenant}})
            ->Increment();
      }
    };
    o.on_fallback = [r, tenant](std::string_view reason) {
      if (r != nullptr) {
        r->GetCounter("sprout_metrics_bucket_index_fallbacks_total",
                      "Block listings that could not use the tenant's bucket index and listed "
                      "the bucket instead, by reason.",
                      {{"reason", std::string(reason)}, {"user", tenant}})
            ->Increment();
      }
    };
    index = std::make_unique<tsdb::TenantBucketIndex>(*store, BlocksPrefix(tenant), std::move(o));
  }
  return index.get();
}

void MetricsStore::MaintainBucketIndexes() {
  if (!options_.config.bucket_index_enabled) return;
  std::vector<std::string> tenants;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, t] : tenants_) tenants.push_back(id);
  }
  std::sort(tenants.begin(), tenants.end());
  const absl::Time now = options_.now_ms ? absl::FromUnixMillis(options_.now_ms()) : absl::Now();
  for (const std::string& tenant : tenants) {
    tsdb::TenantBucketIndex* index = BucketIndexFor(tenant);
    if (index == nullptr) return;
    if (index->synced() &&
        now - index->last_written() < options_.config.compactor_cleanup_interval) {
      continue;
    }
    (void)index->Resync();  // a failure is counted and logged by the index
  }
}

std::unique_ptr<MetricsStore::ReadView> MetricsStore::OpenReadView(std::string_view tenant,
                                                                   int64_t mint, int64_t maxt) {
  auto view = std::make_unique<ReadView>();
  const tsdb::TenantHead* head = nullptr;
  if (Tenant* t = FindTenant(tenant); t != nullptr) {
    view->hold = std::make_unique<HeadReader>(&t->head_mu);
    head = t->head.get();
  }
  std::vector<std::shared_ptr<const tsdb::BlockReader>> blocks;
  // The tenant names a directory of the blocks store: only a valid ID does.
  if (net::ValidateTenantId(tenant).ok()) {
    // Before the listing: a cut's truncation or a compaction's deletion waits for this read.
    view->reading = std::make_unique<HeadReader>(ReadBarrierFor(std::string(tenant)));
    if (tsdb::BlockSet* set = BlockSetFor(std::string(tenant)); set != nullptr) {
      // Listing on every read: blocks appear (cuts, compactions) and vanish (retention).
      if (absl::Status s = set->Refresh(); !s.ok()) {
        view->warnings.push_back(absl::StrCat("listing the blocks failed: ", s.message()));
      }
      blocks = set->Readers(mint, maxt, &view->warnings);
    } else {
      view->warnings.push_back("the blocks storage is not available");
    }
  }
  view->querier = std::make_unique<tsdb::TenantQuerier>(head, std::move(blocks), mint, maxt);
  return view;
}

absl::Status MetricsStore::ReopenHead(Tenant& t) {
  absl::MutexLock lock(&t.head_mu);
  if (t.head != nullptr && t.head->wal_status().ok()) return absl::OkStatus();  // done already
  t.head.reset();  // closes the WAL and releases the directory's lock
  absl::StatusOr<std::unique_ptr<tsdb::TenantHead>> head =
      tsdb::TenantHead::Open(HeadOptionsFor(t.id));
  if (!head.ok()) return head.status();
  t.head = *std::move(head);
  NoteReplay(t.id, *t.head);
  head_reopens_.fetch_add(1);
  return absl::OkStatus();
}

absl::Status MetricsStore::RunCompactionOnce() {
  absl::MutexLock run_lock(&compaction_run_mu_);
  ASSIGN_OR_RETURN(objstore::ObjectStore * store, blocks_store());
  objstore::ListOptions list;
  list.delimited = true;
  // Tenants are the directories under `[storage_prefix/]`.
  const std::string root = options_.config.storage_prefix.empty()
                               ? ""
                               : absl::StrCat(options_.config.storage_prefix, "/");
  ASSIGN_OR_RETURN(objstore::ListResult listed, store->List(root, list));
  const MetricsConfig& c = options_.config;
  const absl::Time now = options_.now_ms ? absl::FromUnixMillis(options_.now_ms()) : absl::Now();
  absl::Status first;
  auto note = [&](const std::string& tenant, const absl::Status& s) {
    if (!s.ok() && first.ok()) {
      first = absl::Status(s.code(), absl::StrCat("tenant ", tenant, ": ", s.message()));
    }
  };
  for (const std::string& p : listed.prefixes) {
    std::string tenant = p.substr(root.size(), p.size() - root.size() - 1);  // without the '/'
    if (!net::ValidateTenantId(tenant).ok()) continue;
    tsdb::CompactorOptions options;
    options.local_dir = storage::JoinPath(c.compactor_data_dir, tenant);
    options.planner.ranges_ms.clear();
    for (absl::Duration r : c.compactor_block_ranges) {
      options.planner.ranges_ms.push_back(absl::ToInt64Milliseconds(r));
    }
    options.env = options_.env;
    options.before_deleting_sources = [this, tenant] { ReadBarrier(tenant); };
    // The run plans from the tenant's bucket index: rebuilt first when it is not known to be in
    // step or is due for its periodic rewrite (as Mimir's compactor writes it every cleanup).
    tsdb::TenantBucketIndex* index = BucketIndexFor(tenant);
    if (index != nullptr && (!index->synced() || now - index->last_written() >=
                                                     options_.config.compactor_cleanup_interval)) {
      (void)index->Resync();  // a failure is counted and logged; planning lists instead
    }
    options.bucket_index = index;
    tsdb::Compactor compactor(store, BlocksPrefix(tenant), options);
    note(tenant, compactor.Run().status());
    note(tenant, tsdb::ApplyRetention(store, BlocksPrefix(tenant),
                                      LimitsFor(tenant).compactor_blocks_retention_period, now,
                                      absl::Hours(1), index)
                     .status());
    if (tsdb::BlockSet* set = BlockSetFor(tenant); set != nullptr) note(tenant, set->Refresh());
  }
  return first;
}

// Cutting blocks

namespace {

// Removes `dir` with its files and subdirectories (a block's temporary directory).
absl::Status RemoveAll(storage::Env* env, const std::string& dir) {
  absl::StatusOr<bool> is_dir = env->IsDirectory(dir);
  if (!is_dir.ok() || !*is_dir) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::vector<std::string> names, env->ListDir(dir));
  for (const std::string& name : names) {
    const std::string path = storage::JoinPath(dir, name);
    absl::StatusOr<bool> sub = env->IsDirectory(path);
    if (sub.ok() && *sub) {
      RETURN_IF_ERROR(RemoveAll(env, path));
    } else {
      RETURN_IF_ERROR(env->RemoveFile(path));
    }
  }
  return env->RemoveDir(dir);
}

int64_t FloorTo(int64_t t, int64_t range) {
  int64_t q = t / range;
  if (t % range != 0 && t < 0) --q;
  return q * range;
}

// The pending-cut marker (README "Cutting blocks"): one line `v1 <ULID> <minTime> <maxTime>\n`
// in `<tsdb dir>/<tenant>/cut-pending`, written (synced, renamed into place) before a cut's
// upload and removed once the head let the range go.
constexpr char kCutPendingFile[] = "cut-pending";

struct PendingCut {
  Ulid ulid;
  int64_t min_time = 0;
  int64_t max_time = 0;
};

absl::Status WritePendingCut(storage::Env* env, const std::string& dir, const PendingCut& cut) {
  const std::string path = storage::JoinPath(dir, kCutPendingFile);
  const std::string tmp = path + ".tmp";
  const std::string text =
      absl::StrCat("v1 ", cut.ulid.ToString(), " ", cut.min_time, " ", cut.max_time, "\n");
  {
    (void)env->RemoveFile(tmp);  // a crash's leftover
    ASSIGN_OR_RETURN(std::unique_ptr<storage::File> file,
                     env->OpenFile(tmp, storage::OpenMode::kCreateExclusive));
    RETURN_IF_ERROR(file->Append(text));
    RETURN_IF_ERROR(file->Sync());
  }
  RETURN_IF_ERROR(env->Rename(tmp, path));
  return env->SyncDir(dir);
}

// The marker of `dir`: nullopt when there is none; InvalidArgument when it does not parse.
absl::StatusOr<std::optional<PendingCut>> ReadPendingCut(storage::Env* env,
                                                         const std::string& dir) {
  const std::string path = storage::JoinPath(dir, kCutPendingFile);
  ASSIGN_OR_RETURN(bool exists, env->Exists(path));
  if (!exists) return std::nullopt;
  ASSIGN_OR_RETURN(std::string text, env->ReadFile(path));
  std::vector<std::string> parts =
      absl::StrSplit(absl::StripTrailingAsciiWhitespace(text), ' ', absl::SkipEmpty());
  PendingCut cut;
  absl::StatusOr<Ulid> ulid =
      parts.size() == 4 ? Ulid::Parse(parts[1]) : absl::InvalidArgumentError("");
  if (parts.size() != 4 || parts[0] != "v1" || !ulid.ok() ||
      !absl::SimpleAtoi(parts[2], &cut.min_time) || !absl::SimpleAtoi(parts[3], &cut.max_time)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a pending-cut marker: \"",
                                                   absl::CHexEscape(text.substr(0, 100)), "\""));
  }
  cut.ulid = *ulid;
  return cut;
}

absl::Status RemovePendingCut(storage::Env* env, const std::string& dir) {
  const std::string path = storage::JoinPath(dir, kCutPendingFile);
  ASSIGN_OR_RETURN(bool exists, env->Exists(path));
  if (!exists) return absl::OkStatus();
  RETURN_IF_ERROR(env->RemoveFile(path));
  return env->SyncDir(dir);
}

}  // namespace

std::string MetricsStore::TenantDir(std::string_view tenant) const {
  return storage::JoinPath(options_.config.tsdb_dir, tenant);
}

absl::Status MetricsStore::ResolvePendingCut(Tenant& t, std::string* note) {
  const std::string dir = TenantDir(t.id);
  absl::StatusOr<std::optional<PendingCut>> pending = ReadPendingCut(options_.env, dir);
  if (pending.ok() && !pending->has_value()) return absl::OkStatus();
  if (!pending.ok()) {
    if (pending.status().code() != absl::StatusCode::kInvalidArgument) return pending.status();
    // Written by rename, so never torn; should one not parse all the same, the cut is redone
    // (at worst a second block of the range, which the compactor's merge de-duplicates).
    return RemovePendingCut(options_.env, dir);
  }
  const PendingCut& cut = **pending;
  ASSIGN_OR_RETURN(objstore::ObjectStore * bucket, blocks_store());
  bool uploaded = false;
  {
    // Not while a compaction replaces the block: between its listing and its reading of the
    // metas the block could vanish with its replacement not yet listed.
    absl::MutexLock run_lock(&compaction_run_mu_);
    ASSIGN_OR_RETURN(std::vector<tsdb::BlockMeta> metas,
                     tsdb::ReadBlockMetas(bucket, BlocksPrefix(t.id)));
    for (const tsdb::BlockMeta& m : metas) {
      if (m.ulid == cut.ulid ||
          std::find(m.sources.begin(), m.sources.end(), cut.ulid) != m.sources.end()) {
        uploaded = true;
        break;
      }
    }
  }
  if (note != nullptr) {
    *note =
        absl::StrCat("tenant ", t.id, ": a cut of [", cut.min_time, ", ", cut.max_time,
                     ") was interrupted after ",
                     uploaded ? "block " : "the start of the upload of block ", cut.ulid.ToString(),
                     uploaded ? " was uploaded: the head lets the range go"
                              : ": the partial upload is deleted and the range cut again");
  }
  if (uploaded) {
    // The block (or the compacted block that absorbed it) holds every sample the head has in
    // the range: CutBlock closed the range before reading it, so the WAL holds no later one.
    if (t.head == nullptr) return absl::UnavailableError("the head is not open");
    // The block's index update may have been lost with the crash: readers must see the block in
    // the index (or list the bucket: a failed Resync leaves the index unsynced) before the head
    // lets the range go.
    if (tsdb::TenantBucketIndex* index = BucketIndexFor(t.id); index != nullptr) {
      (void)index->Resync();
    }
    ReadBarrier(t.id);
    RETURN_IF_ERROR(t.head->Truncate(cut.max_time));
  } else {
    // The upload did not finish: its objects (no meta.json, so no reader takes them) go now
    // rather than at the partial-block sweep, and the range is cut again.
    RETURN_IF_ERROR(
        bucket->DeletePrefix(absl::StrCat(tsdb::BlockPrefix(BlocksPrefix(t.id), cut.ulid), "/")));
  }
  return RemovePendingCut(options_.env, dir);
}

std::string MetricsStore::BlocksPrefix(std::string_view tenant) const {
  const std::string& sp = options_.config.storage_prefix;
  return sp.empty() ? std::string(tenant) : absl::StrCat(sp, "/", AV(tenant));
}

std::vector<MetricsStore::Tenant*> MetricsStore::TenantsToCut(
    const std::vector<std::string>& tenants) const {
  std::vector<Tenant*> out;
  absl::MutexLock lock(&mu_);
  if (closed_) return out;
  for (const auto& [id, t] : tenants_) {
    if (tenants.empty() || std::find(tenants.begin(), tenants.end(), id) != tenants.end()) {
      out.push_back(t.get());
    }
  }
  std::sort(out.begin(), out.end(), [](const Tenant* a, const Tenant* b) { return a->id < b->id; });
  return out;
}

absl::Status MetricsStore::CutRange(Tenant& t, int64_t mint, int64_t maxt) {
  ASSIGN_OR_RETURN(objstore::ObjectStore * bucket, blocks_store());
  const std::string dir = storage::JoinPath(TenantDir(t.id), "cut-tmp");
  RETURN_IF_ERROR(RemoveAll(options_.env, dir));  // a crash's leftovers
  tsdb::BlockWriterOptions bo;
  bo.min_time = mint;
  bo.max_time = maxt;
  ASSIGN_OR_RETURN(std::unique_ptr<tsdb::BlockWriter> writer,
                   tsdb::BlockWriter::Create(options_.env, dir, bo));
  absl::StatusOr<uint64_t> series = t.head->CutBlock(mint, maxt, writer.get());
  absl::Status status = series.status();
  bool marked = false;
  if (status.ok() && *series > 0) {
    status = writer->Finish();
    if (status.ok()) {
      // From here until the head let the range go, a restart must know that this block may be
      // in the bucket already (ResolvePendingCut).
      status = WritePendingCut(options_.env, TenantDir(t.id),
                               PendingCut{writer->meta().ulid, mint, maxt});
      marked = status.ok();
    }
    if (status.ok()) {
      status = writer->Upload(bucket, BlocksPrefix(t.id)).status();
    }
  }
  (void)writer->RemoveLocal();
  (void)RemoveAll(options_.env, dir);
  if (status.ok() && marked) {
    // Readers of the bucket index learn the block before the head lets the range go; a failed
    // index Put makes them list the bucket instead (TenantBucketIndex), never fails the cut.
    if (tsdb::TenantBucketIndex* index = BucketIndexFor(t.id); index != nullptr) {
      const tsdb::BucketIndexBlock added = tsdb::IndexBlockFromMeta(
          writer->meta(), writer->num_segments(),
          options_.now_ms ? absl::FromUnixMillis(options_.now_ms()) : absl::Now());
      (void)index->Update(std::span<const tsdb::BucketIndexBlock>(&added, 1), {});
    }
  }
  if (status.ok()) {
    // The block is in the bucket (or the range held no chunk): the head may let it go, once
    // the reads that listed the blocks before the upload are done (they would miss the range).
    ReadBarrier(t.id);
    status = t.head->Truncate(maxt);
  }
  if (status.ok() && marked) status = RemovePendingCut(options_.env, TenantDir(t.id));
  if (!status.ok()) {
    // A marker left behind is settled before the tenant's next cut (or at the next start).
    return absl::Status(status.code(),
                        absl::StrCat("metrics store: cutting block [", mint, ", ", maxt,
                                     ") of tenant ", t.id, ": ", status.message()));
  }
  return absl::OkStatus();
}

absl::Status MetricsStore::CutTenant(Tenant& t, bool flush) {
  HeadReader hold(&t.head_mu);  // the head is not reopened under the cut
  if (t.head == nullptr) return absl::OkStatus();
  // A cut interrupted after its upload (a crash, a failed truncation) is finished first, so the
  // range is never uploaded twice.
  if (absl::Status s = ResolvePendingCut(t); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("metrics store: tenant ", t.id,
                                               ": settling the pending cut: ", s.message()));
  }
  const int64_t range = tsdb::kDefaultChunkRangeMs;
  while (true) {
    const tsdb::HeadStats stats = t.head->Stats();
    if (stats.min_time == INT64_MAX || stats.max_time == INT64_MIN) return absl::OkStatus();
    if (!flush && stats.max_time - stats.min_time <= range / 2 * 3) return absl::OkStatus();
    const int64_t mint = FloorTo(stats.min_time, range);
    RETURN_IF_ERROR(CutRange(t, mint, mint + range));
    const tsdb::HeadStats after = t.head->Stats();
    if (after.min_time == stats.min_time) {
      return absl::InternalError(absl::StrCat("metrics store: cutting tenant ", t.id,
                                              " made no progress at ", stats.min_time));
    }
  }
}

absl::Status MetricsStore::Flush(const std::vector<std::string>& tenants) {
  absl::MutexLock cut(&cut_mu_);
  absl::Status first;
  for (Tenant* t : TenantsToCut(tenants)) {
    absl::Status s = CutTenant(*t, /*flush=*/true);
    if (!s.ok() && first.ok()) first = s;
  }
  return first;
}

absl::Status MetricsStore::StartCompactionJob() {
  const absl::Duration interval = options_.config.compactor_compaction_interval;
  if (interval <= absl::ZeroDuration()) return absl::OkStatus();
  // As Mimir's compactor: a run at start, then one per interval.
  absl::StatusOr<std::thread> thread = StartThread([this, interval] {
    while (true) {
      (void)RunCompactionOnce();  // a failed run is retried by the next one
      absl::MutexLock lock(&compaction_mu_);
      compaction_mu_.AwaitWithTimeout(absl::Condition(&compaction_stop_), interval);
      if (compaction_stop_) return;
    }
  });
  if (!thread.ok()) return thread.status();
  compaction_thread_ = *std::move(thread);
  return absl::OkStatus();
}

void MetricsStore::StopCompactionJob() {
  {
    absl::MutexLock lock(&compaction_mu_);
    compaction_stop_ = true;
  }
  if (compaction_thread_.joinable()) compaction_thread_.join();
}

absl::Status MetricsStore::CutCompleteBlocks() {
  absl::MutexLock cut(&cut_mu_);
  absl::Status first;
  for (Tenant* t : TenantsToCut({})) {
    absl::Status s = CutTenant(*t, /*flush=*/false);
    if (!s.ok() && first.ok()) first = s;
  }
  return first;
}

void MetricsStore::RequestFlush(std::vector<std::string> tenants) {
  absl::MutexLock lock(&cutter_mu_);
  flush_requests_.push_back(std::move(tenants));
  wake_cutter_ = true;
}

void MetricsStore::CutLoop() {
  absl::MutexLock lock(&cutter_mu_);
  while (!stop_cutter_) {
    cutter_mu_.AwaitWithTimeout(absl::Condition(&wake_cutter_),
                                options_.config.head_compaction_interval);
    if (stop_cutter_) break;
    wake_cutter_ = false;
    std::vector<std::vector<std::string>> flushes = std::move(flush_requests_);
    flush_requests_.clear();
    cutter_mu_.Unlock();
    // Errors are retried at the next pass (a head keeps everything until a cut succeeds).
    for (const std::vector<std::string>& tenants : flushes) (void)Flush(tenants);
    (void)CutCompleteBlocks();
    MaintainBucketIndexes();
    cutter_mu_.Lock();
  }
}

void MetricsStore::StopCutter() {
  {
    absl::MutexLock lock(&cutter_mu_);
    stop_cutter_ = true;
    wake_cutter_ = true;
  }
  if (cutter_.joinable()) cutter_.join();
}

}  // namespace sprout::metrics
