#include "traces/compact/compact.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <queue>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "base/ulid.h"
#include "traces/live/tenant_traces.h"

namespace sprout::traces::compact {
namespace {

using opentelemetry::proto::trace::v1::ResourceSpans;
using opentelemetry::proto::trace::v1::TracesData;

int64_t WindowOf(uint64_t unix_nano, absl::Duration window) {
  const int64_t w = absl::ToInt64Nanoseconds(window);
  if (w <= 0) return 0;
  return static_cast<int64_t>(unix_nano / static_cast<uint64_t>(w));
}

// One input block read page by page.
class Cursor {
 public:
  explicit Cursor(const block::BlockReader* reader) : reader_(reader) {}

  // Loads the next non-empty page when the current one is used up. False at the end.
  absl::StatusOr<bool> Fill() {
    while (pos_ >= rows_.size()) {
      if (next_page_ >= reader_->pages().size()) return false;
      const size_t page = next_page_++;
      absl::StatusOr<std::vector<block::TraceRow>> rows = reader_->ReadTraceRows(page);
      if (!rows.ok()) return rows.status();
      std::vector<uint32_t> all(rows->size());
      std::iota(all.begin(), all.end(), 0u);
      absl::StatusOr<std::vector<TracesData>> traces = reader_->ReadTraces(page, all);
      if (!traces.ok()) return traces.status();
      if (traces->size() != rows->size()) {
        return absl::DataLossError(absl::StrCat("block ", reader_->meta().block_id, " page ", page,
                                                ": trace rows and traces differ in number"));
      }
      rows_ = std::move(*rows);
      traces_ = std::move(*traces);
      pos_ = 0;
    }
    return true;
  }
  const std::string& id() const { return rows_[pos_].trace_id; }
  TracesData& trace() { return traces_[pos_]; }
  void Advance() { ++pos_; }

 private:
  const block::BlockReader* reader_;
  size_t next_page_ = 0;
  std::vector<block::TraceRow> rows_;
  std::vector<TracesData> traces_;
  size_t pos_ = 0;
};

}  // namespace

PlanBlock PlanBlock::FromMeta(const block::BlockMeta& meta) {
  return PlanBlock{.id = meta.block_id,
                   .level = meta.compaction_level,
                   .start_unix_nano = meta.start_unix_nano,
                   .end_unix_nano = meta.end_unix_nano,
                   .bytes = meta.total_bytes(),
                   .objects = meta.trace_count};
}

std::vector<Job> Plan(const std::vector<PlanBlock>& blocks, const PlanOptions& options,
                      absl::Time now) {
  const size_t min_inputs = std::max<size_t>(options.min_input_blocks, 2);
  const size_t max_inputs = std::max(options.max_input_blocks, min_inputs);
  const int64_t active_from = WindowOf(
      static_cast<uint64_t>(std::max<int64_t>(0, absl::ToUnixNanos(now - options.active_window))),
      options.compaction_window);
  // Group key: (window, level) in the active window; (window, -1) before it.
  std::map<std::pair<int64_t, int64_t>, std::vector<const PlanBlock*>> groups;
  for (const PlanBlock& b : blocks) {
    const int64_t window = WindowOf(b.end_unix_nano, options.compaction_window);
    const int64_t level = window >= active_from ? static_cast<int64_t>(b.level) : -1;
    groups[{window, level}].push_back(&b);
  }
  std::vector<Job> jobs;
  for (auto& [key, members] : groups) {
    std::sort(members.begin(), members.end(), [](const PlanBlock* a, const PlanBlock* b) {
      return std::tie(a->start_unix_nano, a->id) < std::tie(b->start_unix_nano, b->id);
    });
    std::vector<const PlanBlock*> run;
    uint64_t bytes = 0, objects = 0;
    auto close_run = [&] {
      if (run.size() >= min_inputs) {
        Job job;
        for (const PlanBlock* b : run) {
          job.inputs.push_back(b->id);
          job.output_level = std::max(job.output_level, b->level + 1);
        }
        std::sort(job.inputs.begin(), job.inputs.end());
        jobs.push_back(std::move(job));
      }
      run.clear();
      bytes = objects = 0;
    };
    for (const PlanBlock* b : members) {
      if (b->bytes > options.max_block_bytes || b->objects > options.max_compaction_objects) {
        continue;  // too big to ever be an input
      }
      if (run.size() == max_inputs || bytes + b->bytes > options.max_block_bytes ||
          objects + b->objects > options.max_compaction_objects) {
        close_run();
      }
      run.push_back(b);
      bytes += b->bytes;
      objects += b->objects;
    }
    close_run();
  }
  return jobs;
}

absl::StatusOr<std::unique_ptr<block::BlockReader>> CompactBlocks(
    objstore::ObjectStore* store, std::string_view tenant,
    const std::vector<std::shared_ptr<const block::BlockReader>>& inputs, uint32_t output_level,
    CompactStats* stats, block::BlockWriterOptions writer_options) {
  CompactStats local;
  if (stats == nullptr) stats = &local;
  if (inputs.empty()) return absl::InvalidArgumentError("compaction without input blocks");
  writer_options.compaction_level = output_level;
  writer_options.sources.clear();
  for (const auto& in : inputs) writer_options.sources.push_back(in->meta().block_id);
  std::sort(writer_options.sources.begin(), writer_options.sources.end());
  block::BlockWriter writer(writer_options);

  std::vector<Cursor> cursors;
  cursors.reserve(inputs.size());
  // Min-heap of (trace ID, input index): equal IDs pop in input order.
  using Entry = std::pair<std::string, size_t>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap;
  for (size_t i = 0; i < inputs.size(); ++i) {
    cursors.emplace_back(inputs[i].get());
    absl::StatusOr<bool> more = cursors[i].Fill();
    if (!more.ok()) return more.status();
    if (*more) heap.emplace(cursors[i].id(), i);
  }
  while (!heap.empty()) {
    const std::string id = heap.top().first;
    std::vector<size_t> parts;
    while (!heap.empty() && heap.top().first == id) {
      parts.push_back(heap.top().second);
      heap.pop();
    }
    stats->traces_in += parts.size();
    absl::Status added;
    if (parts.size() == 1) {
      added = writer.Add(id, cursors[parts[0]].trace());
    } else {
      std::vector<const ResourceSpans*> groups;
      for (size_t i : parts) {
        for (const ResourceSpans& rs : cursors[i].trace().resource_spans()) groups.push_back(&rs);
      }
      added = writer.Add(id, live::MergeGroups(groups));
    }
    if (!added.ok()) {
      return absl::Status(added.code(), absl::StrCat("compacting into tenant ", std::string(tenant),
                                                     ": trace ", absl::BytesToHexString(id), ": ",
                                                     std::string(added.message())));
    }
    for (size_t i : parts) {
      cursors[i].Advance();
      absl::StatusOr<bool> more = cursors[i].Fill();
      if (!more.ok()) return more.status();
      if (*more) heap.emplace(cursors[i].id(), i);
    }
  }
  stats->traces_out = writer.traces();
  stats->spans_out = writer.spans();

  const std::string block_id = Ulid::Generate().ToString();
  absl::StatusOr<block::BlockMeta> meta = writer.Finish(store, tenant, block_id);
  if (!meta.ok()) {
    // Without meta.json the objects are invisible; remove them now (DeleteIncomplete otherwise).
    // Best effort: meta.json may have been written before a later failure, so delete it last
    // only if it is absent.
    absl::StatusOr<bool> has_meta =
        store->Exists(block::BlockKey(tenant, block_id, block::kMetaObject));
    if (has_meta.ok() && !*has_meta) {
      store->DeletePrefix(block::BlockPrefix(tenant, block_id)).IgnoreError();
    }
    return meta.status();
  }
  stats->bytes_written = meta->total_bytes();
  return block::BlockReader::Open(store, tenant, block_id);
}

std::vector<std::string> ApplyRetention(store::TenantBlocks* blocks, absl::Time now,
                                        absl::Duration retention) {
  const int64_t cutoff = absl::ToUnixNanos(now - retention);
  std::vector<std::string> expired;
  for (const auto& reader : *blocks->snapshot()) {
    if (cutoff > 0 && reader->meta().end_unix_nano < static_cast<uint64_t>(cutoff)) {
      expired.push_back(reader->meta().block_id);
    }
  }
  if (!expired.empty()) blocks->Replace(expired, nullptr, now);
  return expired;
}

Compactor::Compactor(CompactorOptions options, TenantsFn tenants)
    : options_(std::move(options)), tenants_(std::move(tenants)) {}

Compactor::~Compactor() { Stop(); }

void Compactor::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable() || stop_) return;
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      lock.unlock();
      RunOnce().IgnoreError();  // counted in stats
      lock.lock();
      cv_.wait_for(lock, absl::ToChronoNanoseconds(options_.compaction_cycle),
                   [this] { return stop_; });
    }
  });
}

void Compactor::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

CompactorStats Compactor::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

absl::Status Compactor::RunOnce() {
  std::lock_guard<std::mutex> run_lock(run_mu_);
  absl::Status first_error;
  for (store::TenantBlocks* blocks : tenants_()) {
    if (absl::Status s = RunTenant(blocks); !s.ok() && first_error.ok()) first_error = s;
  }
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.cycles;
  return first_error;
}

absl::Status Compactor::RunTenant(store::TenantBlocks* blocks) {
  absl::Status first_error;
  auto note = [&](absl::Status s) {
    if (!s.ok() && first_error.ok()) first_error = std::move(s);
  };
  const absl::Time now = options_.clock();

  const std::vector<std::string> expired = ApplyRetention(blocks, now, options_.block_retention);
  const size_t pending_before = blocks->removed_pending_delete();
  absl::Status deleted = blocks->DeleteRemoved(now, options_.compacted_block_retention);
  const size_t pending_after = blocks->removed_pending_delete();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.retention_marked += expired.size();
    stats_.blocks_deleted += pending_before - std::min(pending_before, pending_after);
    if (!deleted.ok()) ++stats_.delete_failures;
  }
  note(deleted);
  absl::Status incomplete = blocks->DeleteIncomplete(now, options_.incomplete_block_age);
  if (!incomplete.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.delete_failures;
  }
  note(incomplete);

  // Compaction rounds until nothing is left to do (each job lowers the block count, so this
  // ends) or a job fails (the next cycle tries again).
  while (true) {
    const store::BlockSnapshot snapshot = blocks->snapshot();
    std::vector<PlanBlock> plan_blocks;
    std::map<std::string, std::shared_ptr<const block::BlockReader>> by_id;
    for (const auto& reader : *snapshot) {
      plan_blocks.push_back(PlanBlock::FromMeta(reader->meta()));
      by_id[reader->meta().block_id] = reader;
    }
    const std::vector<Job> jobs = Plan(plan_blocks, options_.plan, options_.clock());
    if (jobs.empty()) break;
    for (const Job& job : jobs) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_) return first_error;
      }
      std::vector<std::shared_ptr<const block::BlockReader>> inputs;
      for (const std::string& id : job.inputs) inputs.push_back(by_id.at(id));
      CompactStats cs;
      absl::StatusOr<std::unique_ptr<block::BlockReader>> out = CompactBlocks(
          blocks->object_store(), blocks->tenant(), inputs, job.output_level, &cs, options_.writer);
      if (!out.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.compaction_failures;
        note(out.status());
        return first_error;
      }
      blocks->Replace(job.inputs, std::shared_ptr<const block::BlockReader>(std::move(*out)),
                      options_.clock());
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.compactions;
      stats_.blocks_compacted += job.inputs.size();
      ++stats_.blocks_written;
      stats_.objects_written += cs.traces_out;
      stats_.objects_combined += cs.traces_in - cs.traces_out;
      stats_.bytes_written += cs.bytes_written;
    }
  }
  return first_error;
}

}  // namespace sprout::traces::compact
