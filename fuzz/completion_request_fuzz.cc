// libFuzzer target: the body of POST /v1/completions as the server reads it
// (serving/completion_request.h), against a real plotforge tokenizer (the
// model file named by PLOTFORGE_FUZZ_TOKENIZER, trained on data/sample at
// the first run when the file is missing). Any body
// must parse or throw ApiError, and every error must render as OpenAI's
// error body.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_tokenizer.h"
#include "serving/api_error.h"
#include "serving/completion_request.h"
#include "serving/text_stream.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const plotforge::Tokenizer& tok = fuzz_tokenizer();
  const std::string body(reinterpret_cast<const char*>(data), size);
  try {
    const auto r = plotforge::serving::parse_completion_request(body, tok, {"m"}, 128, 1);
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
