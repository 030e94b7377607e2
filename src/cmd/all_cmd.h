// `sprout all`: the whole stack in one process (issue 14) — the collector pipeline in front, the
// trace store with its metrics-generator writing into the metrics store in-process, the metrics
// store, one HTTP port for every API. See src/cmd/all/README.md.
#pragma once

#include "absl/time/time.h"
#include "cmd/all/all_config.h"

namespace sprout::cmd {

// Loads `options` (sprout.yaml), runs until SIGTERM/SIGINT, shuts down gracefully. Exit code.
int RunAll(const AllConfigOptions& options, absl::Duration shutdown_timeout);

}  // namespace sprout::cmd
