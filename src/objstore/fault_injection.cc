#include "objstore/fault_injection.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/status.h"

namespace sprout::objstore {

void FaultInjectionObjectStore::InjectFault(Fault fault) {
  std::lock_guard<std::mutex> lock(mu_);
  faults_.push_back(std::move(fault));
}

void FaultInjectionObjectStore::ClearFaults() {
  std::lock_guard<std::mutex> lock(mu_);
  faults_.clear();
}

FaultInjectionObjectStore::Stats FaultInjectionObjectStore::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

std::string FaultInjectionObjectStore::Describe() const {
  return absl::StrCat("fault-injection:", target_->Describe());
}

absl::Status FaultInjectionObjectStore::Check(Op op, std::string_view key) {
  absl::Status error;
  absl::Duration delay;
  {
    std::lock_guard<std::mutex> lock(mu_);
    switch (op) {
      case kPut:
        ++stats_.puts;
        break;
      case kGet:
        ++stats_.gets;
        break;
      case kAttributes:
        ++stats_.attributes;
        break;
      case kList:
        ++stats_.lists;
        break;
      default:
        ++stats_.deletes;
        break;
    }
    for (auto it = faults_.begin(); it != faults_.end(); ++it) {
      Fault& f = *it;
      if ((f.ops & op) == 0) continue;
      if (!f.key_contains.empty() && key.find(f.key_contains) == std::string_view::npos) continue;
      if (f.skip > 0) {
        --f.skip;
        continue;
      }
      error = f.error;
      delay = f.delay;
      if (!error.ok()) ++stats_.failed;
      if (f.count > 0 && --f.count == 0) faults_.erase(it);
      break;
    }
  }
  if (delay > absl::ZeroDuration()) absl::SleepFor(delay);
  return error;
}

absl::Status FaultInjectionObjectStore::Put(std::string_view key, std::string_view data) {
  RETURN_IF_ERROR(Check(kPut, key));
  return target_->Put(key, data);
}

absl::Status FaultInjectionObjectStore::PutFile(std::string_view key,
                                                const std::string& local_path) {
  RETURN_IF_ERROR(Check(kPut, key));
  return target_->PutFile(key, local_path);
}

absl::StatusOr<std::string> FaultInjectionObjectStore::Get(std::string_view key) {
  RETURN_IF_ERROR(Check(kGet, key));
  return target_->Get(key);
}

absl::StatusOr<std::string> FaultInjectionObjectStore::GetRange(std::string_view key,
                                                                uint64_t offset, uint64_t length) {
  RETURN_IF_ERROR(Check(kGet, key));
  return target_->GetRange(key, offset, length);
}

absl::StatusOr<ObjectAttributes> FaultInjectionObjectStore::Attributes(std::string_view key) {
  RETURN_IF_ERROR(Check(kAttributes, key));
  return target_->Attributes(key);
}

absl::StatusOr<ListResult> FaultInjectionObjectStore::List(std::string_view prefix,
                                                           const ListOptions& options) {
  RETURN_IF_ERROR(Check(kList, prefix));
  return target_->List(prefix, options);
}

absl::Status FaultInjectionObjectStore::Delete(std::string_view key) {
  RETURN_IF_ERROR(Check(kDelete, key));
  return target_->Delete(key);
}

absl::Status FaultInjectionObjectStore::DeletePrefix(std::string_view prefix) {
  RETURN_IF_ERROR(Check(kDelete, prefix));
  return target_->DeletePrefix(prefix);
}

}  // namespace sprout::objstore
