// libFuzzer target: the Fountain reader, annotations and canonical text must
// accept any bytes or reject them with InputError, never crash or hang.
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/error.h"
#include "datasets/documents.h"
#include "datasets/fountain.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const plotforge::Script s = plotforge::parse_fountain(text, "fuzz.fountain");
    (void)plotforge::render_fountain(s);
    const plotforge::Document d = plotforge::document_from_script(s);
    (void)plotforge::strip_control_tokens(d.text);
  } catch (const plotforge::InputError&) {
  }
  return 0;
}
