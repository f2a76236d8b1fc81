// The body of POST /v1/stories/{id}/branches and /retry, read and checked
// (docs/stories.md): the request's fields over the story's defaults over
// the server's (k 3, max_tokens 64, temperature 0.8, top_p 0.95, a random
// seed). Unknown fields are a 400 naming them.
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

#include "datasets/tokenizer.h"
#include "models/sampling.h"
#include "stories/store.h"

namespace plotforge::stories {

struct Generation {
  std::int64_t node = 0;               // the passage to continue; default the current one
  SamplingParams params;               // n is k
  std::string beat, emotion, valence;  // valence: asked for; an arc may set it instead
  bool stream = false;
  std::string viewer;       // who the candidates are for ("" : the story's own player)
  bool personalise = true;  // with a viewer: rank 2k candidates by their profile, show k
};

// The body's "viewer" (or its query parameter): 1 to 128 characters of
// letters, digits and "_.@-"; "" when absent. Throws ApiError(400).
std::string viewer_field(const nlohmann::json& body);

// Throws ApiError(400) naming the field at fault.
Generation read_generation(const nlohmann::json& body, const Story& story, const Tokenizer& tok);

// The body's "node" (a passage id), or `fallback` when absent.
std::int64_t node_field(const nlohmann::json& body, std::int64_t fallback);

}  // namespace plotforge::stories
