// The body of POST /v1/completions, read and checked. OpenAI's fields, with
// vLLM's sampling extensions and plotforge's story controls in the same body:
//
//   prompt             string | [string] | [int] | [[int]]   (required)
//   max_tokens         int >= 0 or null (null: up to the context)   16
//   temperature        number in [0, 2]                        1
//   top_p              number in (0, 1]                        1
//   n                  int in [1, 128]                         1
//   stop               string | [string] (at most 16)          none
//   seed               int >= 0                                random
//   logprobs           int in [0, 20] or null                  null
//   presence_penalty, frequency_penalty  number in [-2, 2]     0
//   echo, stream       bool                                    false
//   stream_options     {"include_usage": bool}                 null
//   user, model        string (model must name the served model or one of
//                      its LoRA adapters)
//   top_k              int >= -1 (-1 and 0: off)               off
//   min_p              number in [0, 1)                        0
//   repetition_penalty number in (0, 10]                       1
//   ignore_eos         bool: run to max_tokens past EOS (benchmarks)   false
//   genre, beat, emotion  a label with a control token in the bundle's
//                      tokenizer; they open a string prompt as
//                      conditioning_prompt() does, and precede token ids
//
// Any other field is a 400 naming it (a misspelt "temprature" would
// otherwise be ignored silently); so are best_of, suffix and logit_bias
// with values other than their defaults, which the server does not do.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/tokenizer.h"
#include "models/sampling.h"

namespace plotforge::serving {

struct CompletionRequest {
  std::vector<std::vector<int>> prompts;  // token ids, controls included
  std::vector<std::string> prompt_texts;  // as given (a token-id prompt decoded), for echo
  SamplingParams params;
  bool echo = false, stream = false, include_usage = false;
  std::string model, user;
  bool seeded = false;  // the body gave a seed
};

// The story control `kind` ("genre", "beat" or "emotion") of a request
// body, normalized (normalize_label), or "" when absent; ApiError(400)
// naming the field and listing the model's labels when the tokenizer has
// no control token for it.
std::string read_control_label(const nlohmann::json& body, const char* kind, const Tokenizer& tok);

// Throws ApiError(400, message, field) naming the field at fault (or the
// body, for malformed JSON or invalid UTF-8). `served_models` are the names
// /v1/models reports, the base's first, then its LoRA adapters' (a request
// naming another model gets 404); `context` bounds the prompt and
// `random_seed` is used when the body has none.
CompletionRequest parse_completion_request(const std::string& body, const Tokenizer& tok,
                                           const std::vector<std::string>& served_models, int context,
                                           std::uint64_t random_seed);

}  // namespace plotforge::serving
