// libFuzzer target: the SentencePiece model reader (a bundle's
// tokenizer.model is outside data), then encoding and decoding with
// whatever model it accepted, and its Hugging Face tokenizer files.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "datasets/hf_tokenizer.h"
#include "datasets/sentencepiece_model.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto model =
        plotforge::SentencePieceModel::parse(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.model");
    std::vector<int> ids;
    for (std::string_view text : {"INT. CASTLE - NIGHT", "MACBETH\xe2\x80\x94 Is this a dagger?", "\xff\xfe", ""}) {
      ids.clear();
      model.encode(text, &ids);
      for (int id : ids) {
        if (id < 0 || id >= model.size()) __builtin_trap();  // an id the model does not have
      }
      (void)model.decode(ids.data(), ids.size());
    }
    (void)plotforge::hf_tokenizer_files(model, 256);  // what export writes beside it
  } catch (const plotforge::InputError&) {
  }
  return 0;
}
