// `sprout demo`: sends the fictional shop's telemetry (demo.h) to an OTLP endpoint.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace sprout::cmd {

struct DemoFlags {
  std::string endpoint = "localhost:4317";
  std::string duration = "10m";  // Go duration; 0: until SIGINT/SIGTERM
  double rate = 20;              // traces per second
  std::string metrics_interval = "10s";
  std::string give_up_after = "30s";  // refusals (or no answer) this long in a row: exit 1
  uint64_t seed = 0;                  // 0: from the clock
  std::vector<std::string> headers;   // "Name=value", sent with every request
};

// Registers the `demo` subcommand and its flags.
CLI::App* AddDemoCommand(CLI::App* app, DemoFlags* flags);

// Runs until the duration ends (exit 0), SIGINT/SIGTERM (the batch in hand and a last metrics
// collection sent, exit 0), or the endpoint refuses for good (exit 1, `Error: ...`).
// SIGINT and SIGTERM must be blocked in every thread (main does so).
int RunDemo(const DemoFlags& flags);

}  // namespace sprout::cmd
