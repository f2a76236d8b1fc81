// libFuzzer target: the safetensors reader (through a file, as it maps one).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "base/error.h"
#include "base/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = "/tmp/plotforge-fuzz-" + std::to_string(::getpid()) + ".safetensors";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    const auto st = plotforge::SafetensorsFile::open(path);
    for (const auto& [name, t] : st.tensors()) {
      volatile std::uint8_t sink = 0;
      for (std::size_t i = 0; i < t.bytes; ++i) sink ^= t.data[i];  // every byte it claims is readable
    }
  } catch (const plotforge::InputError&) {
  }
  return 0;
}
