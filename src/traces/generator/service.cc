#include "traces/generator/service.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace sprout::traces::generator {

absl::StatusOr<std::unique_ptr<GeneratorService>> GeneratorService::Create(
    GeneratorServiceOptions options) {
  std::unique_ptr<GeneratorService> s(new GeneratorService(std::move(options)));
  // A probe tenant: the processors' settings are checked once, at startup.
  auto probe = TenantGenerator::Create("probe", s->options_.config, s->options_.overrides);
  if (!probe.ok()) return probe.status();
  s->enabled_ = (*probe)->enabled();
  s->collection_interval_ = (*probe)->collection_interval();
  return s;
}

GeneratorService::~GeneratorService() {
  std::unique_lock<std::mutex> lock(loop_mu_);
  stopping_ = true;
  lock.unlock();
  loop_cv_.notify_all();
  if (loop_.joinable()) loop_.join();
}

GeneratorService::Tenant* GeneratorService::FindOrCreate(std::string_view tenant) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = tenants_.find(tenant); it != tenants_.end()) return it->second.get();
  auto created = TenantGenerator::Create(std::string(tenant), options_.config, options_.overrides);
  if (!created.ok()) {
    // Create checked the same settings at startup; only a per-tenant difference could fail.
    if (options_.on_error) options_.on_error(tenant, created.status());
    return nullptr;
  }
  auto t = std::make_unique<Tenant>();
  t->generator = *std::move(created);
  t->next_collect = Now() + collection_interval_;
  Tenant* raw = t.get();
  tenants_.emplace(std::string(tenant), std::move(t));
  return raw;
}

void GeneratorService::PushSpans(
    std::string_view tenant,
    const opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest& request) {
  if (!enabled_ || request.resource_spans_size() == 0) return;
  Tenant* t = FindOrCreate(tenant);
  if (t == nullptr) return;
  const absl::Time now = Now();
  for (const auto& rs : request.resource_spans()) t->generator->PushSpans(rs, now);
}

void GeneratorService::RunOnce(absl::Time now, bool force) {
  std::lock_guard<std::mutex> run_lock(run_mu_);
  std::vector<std::pair<std::string, Tenant*>> tenants;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, t] : tenants_) tenants.emplace_back(name, t.get());
  }
  for (auto& [name, t] : tenants) {
    TenantGenerator& g = *t->generator;
    if (!force && now < t->next_collect) {
      g.ExpireEdges(now);
      continue;
    }
    // Next due one interval on (not from now: a slow collection does not shift the grid).
    t->next_collect += collection_interval_;
    if (force || t->next_collect <= now) t->next_collect = now + collection_interval_;
    WriteRequestSink sink;
    g.Collect(now, sink);  // expires the edges first
    if (sink.empty()) continue;
    uint64_t samples = 0, exemplars = 0, histograms = 0;
    prometheus::WriteRequest request = sink.Take();
    for (const auto& ts : request.timeseries()) {
      samples += static_cast<uint64_t>(ts.samples_size());
      exemplars += static_cast<uint64_t>(ts.exemplars_size());
      histograms += static_cast<uint64_t>(ts.histograms_size());
    }
    if (options_.output == nullptr) continue;
    absl::Status written = options_.output->Write(name, std::move(request));
    if (written.ok()) {
      t->samples_written.fetch_add(samples, std::memory_order_relaxed);
      t->exemplars_written.fetch_add(exemplars, std::memory_order_relaxed);
      t->histograms_written.fetch_add(histograms, std::memory_order_relaxed);
    } else {
      t->write_failures.fetch_add(1, std::memory_order_relaxed);
      if (options_.on_error) options_.on_error(name, written);
    }
  }
}

void GeneratorService::Loop() {
  const absl::Duration tick =
      std::max(absl::Milliseconds(10), std::min(options_.expire_interval, collection_interval_));
  std::unique_lock<std::mutex> lock(loop_mu_);
  while (!stopping_) {
    loop_cv_.wait_for(lock, absl::ToChronoNanoseconds(tick), [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    RunOnce(Now());
    lock.lock();
  }
}

void GeneratorService::Start() {
  if (!enabled_ || loop_.joinable()) return;
  loop_ = std::thread([this] { Loop(); });
}

void GeneratorService::Stop(absl::Time deadline) {
  {
    std::lock_guard<std::mutex> lock(loop_mu_);
    stopping_ = true;
  }
  loop_cv_.notify_all();
  if (loop_.joinable()) loop_.join();
  if (!enabled_) return;
  RunOnce(Now(), /*force=*/true);
  if (options_.output != nullptr) options_.output->Close(deadline);
}

std::map<std::string, GeneratorServiceTenantStats> GeneratorService::Stats() const {
  std::map<std::string, GeneratorServiceTenantStats> out;
  std::vector<std::pair<std::string, Tenant*>> tenants;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, t] : tenants_) tenants.emplace_back(name, t.get());
  }
  for (const auto& [name, t] : tenants) {
    GeneratorServiceTenantStats& s = out[name];
    const TenantGenerator& g = *t->generator;
    s.generator = g.stats();
    if (g.span_metrics() != nullptr) s.span_metrics = g.span_metrics()->stats();
    if (g.service_graphs() != nullptr) {
      s.service_graphs = g.service_graphs()->stats();
      const ServiceGraphStore& store = g.service_graphs()->store();
      s.edges = store.edges();
      s.expired_edges = store.expired_edges();
      s.dropped_spans = store.dropped_spans();
      s.dropped_edges = store.dropped_edges();
    }
    s.samples_written = t->samples_written.load(std::memory_order_relaxed);
    s.exemplars_written = t->exemplars_written.load(std::memory_order_relaxed);
    s.histograms_written = t->histograms_written.load(std::memory_order_relaxed);
    s.write_failures = t->write_failures.load(std::memory_order_relaxed);
  }
  return out;
}

}  // namespace sprout::traces::generator
