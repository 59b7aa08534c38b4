// A main() for the fuzz targets without libFuzzer: runs LLVMFuzzerTestOneInput once on every file named
// on the command line (a folder: on every file in it, in name order). With it the committed seed corpora
// and the inputs of fixed crashes (tests/fuzz/regressions/<target>/) replay as ordinary tests in any build,
// gcc or clang, with or without sanitizers. A finding aborts the process (FUZZ_CHECK, ASan, UBSan), so the
// test fails naming the input it was on.
//
//   replay_fuzz_frame tests/fuzz/corpus/fuzz_frame tests/fuzz/regressions/fuzz_frame
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) __attribute__((weak));

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
    return 2;
  }
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const fs::path p(argv[i]);
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<fs::path> in_dir;
      for (const auto& e : fs::directory_iterator(p))
        if (e.is_regular_file()) in_dir.push_back(e.path());
      std::sort(in_dir.begin(), in_dir.end());
      for (auto& f : in_dir) files.push_back(std::move(f));
    } else if (fs::is_regular_file(p, ec)) {
      files.push_back(p);
    } else {
      fprintf(stderr, "%s: no such file or folder: %s\n", argv[0], argv[i]);
      return 2;
    }
  }
  if (files.empty()) {
    fprintf(stderr, "%s: no inputs\n", argv[0]);
    return 2;
  }
  for (const fs::path& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.eof() && in.fail()) {
      fprintf(stderr, "%s: cannot read %s\n", argv[0], f.c_str());
      return 2;
    }
    fprintf(stderr, "replay %s (%zu bytes)\n", f.c_str(), data.size());
    // libFuzzer never passes a null pointer; an empty input still gets a valid one.
    static const uint8_t kEmpty = 0;
    LLVMFuzzerTestOneInput(data.empty() ? &kEmpty : data.data(), data.size());
  }
  printf("%zu inputs replayed, no finding\n", files.size());
  return 0;
}
