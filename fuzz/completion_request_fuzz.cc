// libFuzzer target: the body of POST /v1/completions as the server reads it
// (serving/completion_request.h), against a real plotforge tokenizer (the
// model file named by PLOTFORGE_FUZZ_TOKENIZER, trained on data/sample at
// the first run when the file is missing). Any body
// must parse or throw ApiError, and every error must render as OpenAI's
// error body.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "datasets/documents.h"
#include "datasets/tokenizer.h"
#include "serving/api_error.h"
#include "serving/completion_request.h"
#include "serving/text_stream.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const plotforge::Tokenizer tok = [] {
    const char* path = std::getenv("PLOTFORGE_FUZZ_TOKENIZER");
    if (!path) std::abort();  // scripts/fuzz.sh sets it
    if (!std::filesystem::exists(path)) {
      plotforge::TokenizerTrainOptions o;
      o.out = path;
      o.vocab_size = 600;
      plotforge::Tokenizer::train(o, plotforge::read_documents("data/sample"));
    }
    return plotforge::Tokenizer::load(path);
  }();
  const std::string body(reinterpret_cast<const char*>(data), size);
  try {
    const auto r = plotforge::serving::parse_completion_request(body, tok, "m", 128, 1);
    // Stream the prompt back as if generated, under the request's stop strings.
    plotforge::serving::TextStream s(tok, r.params.stop);
    std::string sent;
    for (int id : r.prompts.at(0)) sent += s.push(id);
    (void)s.finish(tok.decode(r.prompts[0]));
  } catch (const plotforge::serving::ApiError& e) {
    (void)plotforge::serving::error_body(e);
  }
  return 0;
}
