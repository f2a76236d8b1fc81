// libFuzzer target: the JSONL synopsis reader.
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/error.h"
#include "datasets/documents.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)plotforge::parse_jsonl(text, "fuzz.jsonl");
  } catch (const plotforge::InputError&) {
  }
  return 0;
}
