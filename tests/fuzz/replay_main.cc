// Replays fuzz inputs through a libFuzzer target built with the normal compiler, so that
// `make test` checks every fuzzer's corpus (seeds plus every crash found so far) without a
// second, clang-instrumented build.
//
//   <fuzzer>_replay <file-or-directory>...
//
// Each regular file (directories are walked recursively, in name order) is passed once to
// LLVMFuzzerTestOneInput. A crash, an abort or a sanitizer report fails the process as it would
// under libFuzzer; finding no input at all is also a failure, so a corpus that went missing
// cannot pass silently.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

void Collect(const std::filesystem::path& path, std::vector<std::filesystem::path>* out) {
  if (std::filesystem::is_directory(path)) {
    std::vector<std::filesystem::path> children;
    for (const auto& entry : std::filesystem::directory_iterator(path)) {
      children.push_back(entry.path());
    }
    std::sort(children.begin(), children.end());
    for (const auto& child : children) Collect(child, out);
  } else if (std::filesystem::is_regular_file(path)) {
    out->push_back(path);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  std::vector<std::filesystem::path> inputs;
  for (int i = 1; i < argc; ++i) {
    if (!std::filesystem::exists(argv[i])) {
      std::fprintf(stderr, "replay: %s does not exist\n", argv[i]);
      return 2;
    }
    Collect(argv[i], &inputs);
  }
  if (inputs.empty()) {
    std::fprintf(stderr, "replay: no inputs found\n");
    return 2;
  }
  for (const auto& path : inputs) {
    std::ifstream file(path, std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    if (!file.good() && !file.eof()) {
      std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
      return 2;
    }
    // A copy the size of the input exactly, so that reads past the end are caught by ASan in
    // `make sanitize` as they would be under libFuzzer.
    std::vector<uint8_t> copy(data.begin(), data.end());
    LLVMFuzzerTestOneInput(copy.data(), copy.size());
  }
  std::printf("replay: %zu inputs, no failure\n", inputs.size());
  return 0;
}
