// How both programs print what they generated: each completion as the
// prompt's text plus its own (control tokens stripped, a "===" page break
// between), or with --logprobs as one JSON array of {text, tokens, logprobs,
// finish_reason}; and on stderr, why each branch stopped.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "datasets/tokenizer.h"
#include "models/sampling.h"
#include "programs/common/options.h"

namespace plotforge::programs {

// Says up front when the prompt and max_new_tokens do not fit in `context`,
// runs `generate`, reports its speed on stderr, and prints what it made
// (print_completions). Both programs' generate commands end here.
void generate_and_print(const std::string& program, const Tokenizer& tok, const std::vector<int>& prompt,
                        const SamplingParams& p, int context, const std::function<std::vector<Completion>()>& generate);

// `headers` (optional, one per completion) go above each text as a /* */
// note; `program` names the stderr lines.
void print_completions(const std::string& program, const Tokenizer& tok, const std::vector<int>& prompt,
                       const std::vector<Completion>& out, bool json, const std::vector<std::string>& headers = {});

// Registers --prompt, --genre, --beat and --emotion, and reads them back as
// the conditioned prompt's token ids (datasets/tokenizer.h's
// conditioning_prompt); `genre` replaces --genre's value (the runtime's GAN
// takes the genre itself).
void add_prompt_options(po::options_description& o);
std::vector<int> prompt_ids(const po::variables_map& vm, const Tokenizer& tok, const std::string& genre);

// Registers the sampling options (models/sampling.h's fields and --stop) and
// reads them back, the same in both programs.
void add_sampling_options(po::options_description& o, const SamplingParams& defaults);
SamplingParams read_sampling_options(const po::variables_map& vm, SamplingParams defaults);

}  // namespace plotforge::programs
