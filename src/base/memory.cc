#include "base/memory.h"

#include <dlfcn.h>
#include <malloc.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace sprout {
namespace {

using MallctlFn = int (*)(const char*, void*, size_t*, void*, size_t);

// jemalloc's control interface when jemalloc is the process's allocator (the sprout binary links
// it; tests and sanitizer builds do not), looked up at run time so this library need not link it.
MallctlFn Mallctl() {
  static const MallctlFn fn = reinterpret_cast<MallctlFn>(dlsym(RTLD_DEFAULT, "mallctl"));
  return fn;
}

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path);
  if (!in) return false;
  std::stringstream buffer;
  buffer << in.rdbuf();
  *out = buffer.str();
  return true;
}

// The cgroup path of this process for a hierarchy: "0::/x" (v2) or "N:...memory...:/x" (v1).
std::string CgroupPath(const std::string& root, bool v2) {
  std::string text;
  if (!ReadFile(root + "/proc/self/cgroup", &text)) return "";
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    const size_t first = line.find(':');
    const size_t second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    const std::string path = line.substr(second + 1);
    if (v2 && line.compare(0, first, "0") == 0 && controllers.empty()) return path;
    if (!v2) {
      for (absl::string_view c : absl::StrSplit(controllers, ',')) {
        if (c == "memory") return path;
      }
    }
  }
  return "";
}

// A limit file's value; false when absent or unlimited.
bool ReadLimit(const std::string& path, uint64_t* out) {
  std::string text;
  if (!ReadFile(path, &text)) return false;
  absl::string_view value = absl::StripAsciiWhitespace(text);
  if (value == "max") return false;
  uint64_t bytes = 0;
  if (!absl::SimpleAtoi(value, &bytes)) return false;
  // cgroup v1 reports "no limit" as the largest page-aligned int64.
  if (bytes >= (uint64_t{1} << 62)) return false;
  *out = bytes;
  return true;
}

}  // namespace

absl::StatusOr<uint64_t> TotalMemoryBytes(const std::string& root) {
  uint64_t limit = 0;
  // cgroup v2: the process's own cgroup, then the namespace root (inside a container).
  const std::string v2 = CgroupPath(root, true);
  if (!v2.empty() &&
      ReadLimit(root + "/sys/fs/cgroup" + (v2 == "/" ? "" : v2) + "/memory.max", &limit)) {
    return limit;
  }
  if (ReadLimit(root + "/sys/fs/cgroup/memory.max", &limit)) return limit;
  // cgroup v1.
  const std::string v1 = CgroupPath(root, false);
  if (!v1.empty() &&
      ReadLimit(root + "/sys/fs/cgroup/memory" + (v1 == "/" ? "" : v1) + "/memory.limit_in_bytes",
                &limit)) {
    return limit;
  }
  if (ReadLimit(root + "/sys/fs/cgroup/memory/memory.limit_in_bytes", &limit)) return limit;
  // No limit: the machine's memory.
  std::string meminfo;
  if (ReadFile(root + "/proc/meminfo", &meminfo)) {
    std::istringstream lines(meminfo);
    std::string line;
    while (std::getline(lines, line)) {
      absl::string_view rest = line;
      if (!absl::ConsumePrefix(&rest, "MemTotal:")) continue;
      rest = absl::StripAsciiWhitespace(rest);
      absl::ConsumeSuffix(&rest, "kB");
      uint64_t kib = 0;
      if (absl::SimpleAtoi(absl::StripAsciiWhitespace(rest), &kib) && kib > 0) return kib * 1024;
    }
  }
  return absl::FailedPreconditionError(
      "failed to get total memory: no cgroup memory limit and no MemTotal in /proc/meminfo");
}

const char* AllocatorName() { return Mallctl() != nullptr ? "jemalloc" : "glibc"; }

int64_t AllocatorAllocatedBytes() {
  MallctlFn mallctl = Mallctl();
  if (mallctl == nullptr) return -1;
  uint64_t epoch = 1;
  size_t epoch_size = sizeof(epoch);
  mallctl("epoch", &epoch, &epoch_size, &epoch, epoch_size);  // refreshes the statistics
  size_t allocated = 0;
  size_t size = sizeof(allocated);
  if (mallctl("stats.allocated", &allocated, &size, nullptr, 0) != 0) return -1;
  return static_cast<int64_t>(allocated);
}

void PurgeAllocator() {
  if (MallctlFn mallctl = Mallctl()) {
    // 4096 is MALLCTL_ARENAS_ALL: every arena. The calling thread's cache goes back first.
    mallctl("thread.tcache.flush", nullptr, nullptr, nullptr, 0);
    mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0);
    return;
  }
  malloc_trim(0);
}

}  // namespace sprout
