// Test-only helpers shared by the tests of the segment log, the Envs and the logs built on them
// (the remote-write WAL and its exporter). Header-only; nothing here is part of the library.
//
// Thread-safety: FreshTempDir may be called from several threads; WaitFor polls from the caller's.
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace sprout::storage::testing {

// A path on the real file system that nothing uses: `<test temp dir>/<prefix>-<pid>-<n>`, with
// whatever an earlier run left there removed. The directory itself is not created; the caller
// removes it when done.
inline std::string FreshTempDir(const std::string& prefix) {
  static std::atomic<int> counter{0};
  std::string dir = absl::StrCat(::testing::TempDir(), "/", prefix, "-", getpid(), "-", counter++);
  std::filesystem::remove_all(dir);
  return dir;
}

// Polls `condition` until it holds or `limit` passes (a bounded wait, never a fixed sleep):
// false when it never held.
inline bool WaitFor(const std::function<bool()>& condition,
                    std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::yield();
  }
  return true;
}

}  // namespace sprout::storage::testing
