// Interaction logs and item-feature files (recommendation/): whatever the
// bytes, a parse either succeeds or throws InputError naming the line.
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/error.h"
#include "recommendation/interactions.h"
#include "recommendation/item_features.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  plotforge::recommendation::Interactions log;
  try {
    log = plotforge::recommendation::parse_interactions(input, "fuzz.csv");
  } catch (const plotforge::InputError&) {
    log = plotforge::recommendation::parse_interactions("u,a\nv,b\n", "two.csv");
  }
  try {
    (void)plotforge::recommendation::parse_item_features(input, "fuzz-items.csv", log);
  } catch (const plotforge::InputError&) {
  }
  return 0;
}
