// `sprout all`: the whole stack in one process (issue 14) — the collector pipeline in front, the
// trace store with its metrics-generator writing into the metrics store in-process, the metrics
// store, one HTTP port for every API. See src/cmd/all/README.md.
#pragma once

#include "absl/time/time.h"
#include "cmd/all/all_config.h"

namespace sprout::cmd {

// Loads `options` (sprout.yaml), runs until SIGTERM/SIGINT, shuts down gracefully. Exit code.
int RunAll(const AllConfigOptions& options, absl::Duration shutdown_timeout);

// `sprout all --print-config`: loads `options` as RunAll would and prints the whole effective
// sprout.yaml (every default filled in) on stdout, warnings on stderr; starts nothing. Exit 0,
// or 1 with `Error: invalid configuration: ...`.
int PrintAllConfig(const AllConfigOptions& options);

}  // namespace sprout::cmd
