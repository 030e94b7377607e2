// Configuration of the `batch` processor (Collector: processor/batchprocessor). Every key and its
// default is listed in README.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "collector/factory.h"

namespace sprout::collector::batchprocessor {

struct Config : ComponentConfig {
  uint32_t send_batch_size = 8192;
  absl::Duration timeout = absl::Milliseconds(200);
  uint32_t send_batch_max_size = 0;
  std::vector<std::string> metadata_keys;
  uint32_t metadata_cardinality_limit = 1000;

  void Decode(config::Decoder& decoder) override;
  // The Collector's rules and texts: `send_batch_max_size must be greater or equal to
  // send_batch_size`, `duplicate entry in metadata_keys: "k" (case-insensitive)`, `timeout must
  // be greater or equal to 0`.
  absl::Status Validate() const override;
};

}  // namespace sprout::collector::batchprocessor
