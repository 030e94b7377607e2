#include "collector/processor/batch/config.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "config/decoder.h"

namespace sprout::collector::batchprocessor {

void Config::Decode(config::Decoder& d) {
  d.Read("send_batch_size", &send_batch_size);
  d.Read("timeout", &timeout);
  d.Read("send_batch_max_size", &send_batch_max_size);
  d.Read("metadata_keys", &metadata_keys);
  d.Read("metadata_cardinality_limit", &metadata_cardinality_limit);
}

absl::Status Config::Validate() const {
  if (send_batch_max_size > 0 && send_batch_max_size < send_batch_size) {
    return absl::InvalidArgumentError(
        "send_batch_max_size must be greater or equal to send_batch_size");
  }
  std::set<std::string> seen;
  for (const std::string& key : metadata_keys) {
    const std::string lower = absl::AsciiStrToLower(key);
    if (!seen.insert(lower).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("duplicate entry in metadata_keys: \"", lower, "\" (case-insensitive)"));
    }
  }
  if (timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("timeout must be greater or equal to 0");
  }
  return absl::OkStatus();
}

}  // namespace sprout::collector::batchprocessor
