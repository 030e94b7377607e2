#include "traces/store/tenant_blocks.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/ulid.h"

namespace sprout::traces::store {
namespace {

bool ById(const std::shared_ptr<const block::BlockReader>& a,
          const std::shared_ptr<const block::BlockReader>& b) {
  return a->meta().block_id < b->meta().block_id;
}

}  // namespace

absl::Status DeleteBlock(objstore::ObjectStore* store, std::string_view tenant,
                         std::string_view block_id) {
  if (absl::Status s = store->Delete(block::BlockKey(tenant, block_id, block::kMetaObject));
      !s.ok()) {
    return s;
  }
  return store->DeletePrefix(block::BlockPrefix(tenant, block_id));
}

TenantBlocks::TenantBlocks(objstore::ObjectStore* store, std::string tenant)
    : store_(store), tenant_(std::move(tenant)), blocks_(std::make_shared<const BlockList>()) {}

absl::StatusOr<std::unique_ptr<TenantBlocks>> TenantBlocks::Load(objstore::ObjectStore* store,
                                                                 std::string tenant,
                                                                 LoadReport* report) {
  LoadReport local_report;
  if (report == nullptr) report = &local_report;
  absl::StatusOr<std::vector<std::string>> ids = block::ListBlocks(store, tenant);
  if (!ids.ok()) return ids.status();

  BlockList opened;
  for (const std::string& id : *ids) {
    absl::StatusOr<std::unique_ptr<block::BlockReader>> reader =
        block::BlockReader::Open(store, tenant, id);
    if (!reader.ok()) {
      // Deleted between the listing and the open (another process's retention): not an error.
      if (absl::IsNotFound(reader.status())) continue;
      report->unreadable.emplace_back(id, reader.status().ToString());
      continue;
    }
    opened.push_back(std::move(*reader));
  }

  // A block named among the sources of another complete block was replaced by it.
  std::set<std::string> replaced;
  for (const auto& reader : opened) {
    for (const std::string& source : reader->meta().sources) {
      if (source != reader->meta().block_id) replaced.insert(source);
    }
  }
  auto blocks = std::make_shared<BlockList>();
  for (auto& reader : opened) {
    const std::string& id = reader->meta().block_id;
    if (!replaced.contains(id)) {
      blocks->push_back(std::move(reader));
      continue;
    }
    if (absl::Status s = DeleteBlock(store, tenant, id); !s.ok()) return s;
    report->deleted_replaced.push_back(id);
  }
  std::sort(blocks->begin(), blocks->end(), ById);

  auto result = std::make_unique<TenantBlocks>(store, std::move(tenant));
  result->blocks_ = std::move(blocks);
  return result;
}

BlockSnapshot TenantBlocks::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return blocks_;
}

size_t TenantBlocks::size() const { return snapshot()->size(); }

uint64_t TenantBlocks::total_bytes() const {
  uint64_t total = 0;
  for (const auto& reader : *snapshot()) total += reader->meta().total_bytes();
  return total;
}

void TenantBlocks::Add(std::shared_ptr<const block::BlockReader> reader) {
  std::lock_guard<std::mutex> lock(mu_);
  auto next = std::make_shared<BlockList>(*blocks_);
  next->insert(std::upper_bound(next->begin(), next->end(), reader, ById), std::move(reader));
  blocks_ = std::move(next);
}

void TenantBlocks::Replace(const std::vector<std::string>& removed_ids,
                           std::shared_ptr<const block::BlockReader> added, absl::Time now) {
  const std::set<std::string> removed(removed_ids.begin(), removed_ids.end());
  std::lock_guard<std::mutex> lock(mu_);
  auto next = std::make_shared<BlockList>();
  next->reserve(blocks_->size() + 1);
  for (const auto& reader : *blocks_) {
    if (removed.contains(reader->meta().block_id)) {
      removed_.emplace_back(reader->meta().block_id, now);
    } else {
      next->push_back(reader);
    }
  }
  if (added != nullptr) {
    next->insert(std::upper_bound(next->begin(), next->end(), added, ById), std::move(added));
  }
  blocks_ = std::move(next);
}

size_t TenantBlocks::removed_pending_delete() const {
  std::lock_guard<std::mutex> lock(mu_);
  return removed_.size();
}

absl::Status TenantBlocks::DeleteRemoved(absl::Time now, absl::Duration grace) {
  std::vector<std::string> due;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, at] : removed_) {
      if (now - at >= grace) due.push_back(id);
    }
  }
  absl::Status first_error;
  for (const std::string& id : due) {
    absl::Status s = DeleteBlock(store_, tenant_, id);
    if (!s.ok()) {
      if (first_error.ok()) first_error = s;
      continue;
    }
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(removed_, [&](const auto& entry) { return entry.first == id; });
  }
  return first_error;
}

absl::Status TenantBlocks::DeleteIncomplete(absl::Time now, absl::Duration age) {
  objstore::ListOptions delimited;
  delimited.delimited = true;
  absl::StatusOr<objstore::ListResult> listed = store_->List(absl::StrCat(tenant_, "/"), delimited);
  if (!listed.ok()) return listed.status();
  absl::Status first_error;
  for (const std::string& prefix : listed->prefixes) {
    // "<tenant>/<id>/"
    const std::string_view id =
        std::string_view(prefix).substr(tenant_.size() + 1, prefix.size() - tenant_.size() - 2);
    absl::StatusOr<Ulid> ulid = Ulid::Parse(id);
    if (!ulid.ok() || now - ulid->time() < age) continue;  // not ours, or maybe still written
    absl::StatusOr<bool> has_meta =
        store_->Exists(block::BlockKey(tenant_, id, block::kMetaObject));
    if (!has_meta.ok()) return has_meta.status();
    if (*has_meta) continue;
    if (absl::Status s = store_->DeletePrefix(prefix); !s.ok() && first_error.ok()) {
      first_error = s;
    }
  }
  return first_error;
}

}  // namespace sprout::traces::store
