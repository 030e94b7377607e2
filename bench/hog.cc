// A neighbour for bench/noise_neighbours.sh: keeps a CPU busy the way other tenants of a shared
// machine do, so the collector's per-request cost can be measured next to it.
//
//   sprout-hog spin          a busy loop (no memory traffic): the CPU never idles
//   sprout-hog mem <MiB>     read-modify-writes one byte per 64-byte line over a buffer of that
//                            size, round after round: evicts the caches (and TLB) it sweeps
// Runs until killed.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "spin") == 0) {
    volatile std::uint64_t x = 0;
    for (;;) x = x + 1;
  }
  if (argc >= 3 && std::strcmp(argv[1], "mem") == 0) {
    const std::size_t bytes = std::strtoull(argv[2], nullptr, 10) << 20;
    if (bytes == 0) return 2;
    std::vector<unsigned char> buffer(bytes, 1);
    volatile unsigned char* p = buffer.data();
    for (;;) {
      for (std::size_t i = 0; i < bytes; i += 64) p[i] = static_cast<unsigned char>(p[i] + 1);
    }
  }
  std::fprintf(stderr, "usage: sprout-hog spin | mem <MiB>\n");
  return 2;
}
