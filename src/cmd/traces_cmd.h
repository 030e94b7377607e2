// `sprout traces` and `sprout validate --traces-config`: the trace store (Tempo role).
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace sprout::cmd {

// Checks a Tempo configuration (warnings on stderr); exit code 0 or 1.
int RunValidateTraces(const std::vector<std::string>& configs,
                      const std::vector<std::string>& sets);

// Runs the trace store until SIGTERM/SIGINT; exit code.
int RunTraces(const std::vector<std::string>& configs, const std::vector<std::string>& sets,
              absl::Duration shutdown_timeout);

}  // namespace sprout::cmd
