// libFuzzer target: what a client sends the story API and what it gets
// back. The input is read as the body of POST /v1/stories/{id}/branches
// (stories/generation_request.h) and of a story's creation (its "arc",
// stories/arc.h), which must parse or throw ApiError; as a stored profile
// and passage features (personalisation/), which must load or throw
// InputError; as a passage whose features are measured; and
// as a passage's text, which must export to Twee and Fountain without
// failing (stories/export.h). The tokenizer is trained on data/sample at
// the first run when PLOTFORGE_FUZZ_TOKENIZER names a missing file.
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/error.h"
#include "fuzz/fuzz_tokenizer.h"
#include "personalisation/features.h"
#include "personalisation/profile.h"
#include "serving/api_error.h"
#include "serving/json_fields.h"
#include "stories/arc.h"
#include "stories/export.h"
#include "stories/generation_request.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const plotforge::Tokenizer& tok = fuzz_tokenizer();
  const std::string input(reinterpret_cast<const char*>(data), size);
  plotforge::stories::Story story;
  story.id = "st_0";
  story.root = story.current = 1;
  try {
    (void)plotforge::stories::read_generation(plotforge::serving::json_body(input), story, tok);
  } catch (const plotforge::serving::ApiError& e) {
    (void)plotforge::serving::error_body(e);
  }
  try {
    const nlohmann::json body = plotforge::serving::json_body(input);
    (void)plotforge::stories::read_arc(body);
    (void)plotforge::stories::viewer_field(body);
  } catch (const plotforge::serving::ApiError& e) {
    (void)plotforge::serving::error_body(e);
  }
  const nlohmann::json stored = nlohmann::json::parse(input, nullptr, false);
  try {
    (void)plotforge::personalisation::Profile::from_json(
        stored, plotforge::personalisation::FeatureSpace({{"genre", {"comedy", "tragedy"}}}));
  } catch (const plotforge::InputError&) {
  }
  try {
    (void)plotforge::personalisation::FeatureSpace().read(stored);
  } catch (const plotforge::InputError&) {
  }
  (void)plotforge::personalisation::passage_features(input, plotforge::personalisation::StorySoFar(input));
  plotforge::stories::Passage root, child;
  root.id = 1;
  root.text = input;
  child.id = 2;
  child.parent = 1;
  child.text = input;
  child.controls = {{"beat", input}};
  (void)plotforge::stories::twee(story, {root, child});
  (void)plotforge::stories::fountain(story, {root, child});
  return 0;
}
