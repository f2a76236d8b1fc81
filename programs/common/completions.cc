#include "programs/common/completions.h"

#include <chrono>
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "datasets/documents.h"

namespace plotforge::programs {

void print_completions(const std::string& program, const Tokenizer& tok, const std::vector<int>& prompt,
                       const std::vector<Completion>& out, bool json, const std::vector<std::string>& headers) {
  const std::string prompt_text = tok.decode(prompt);
  if (json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& c : out) {
      j.push_back({{"text", strip_control_tokens(prompt_text + c.text)},
                   {"tokens", c.tokens},
                   {"logprobs", c.logprobs},
                   {"finish_reason", c.finish_reason}});
    }
    std::cout << j.dump(2) << "\n";
  } else {
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (i > 0) std::cout << "\n===\n\n";
      if (i < headers.size() && !headers[i].empty()) std::cout << "/* " << headers[i] << " */\n";
      std::string text = strip_control_tokens(prompt_text + out[i].text);
      if (!text.empty() && text.back() != '\n') text += "\n";
      std::cout << text;
    }
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::fprintf(stderr, "%s: branch %zu: %zu tokens, finish reason %s\n", program.c_str(), i + 1, out[i].tokens.size(),
                 out[i].finish_reason.c_str());
  }
}

void generate_and_print(const std::string& program, const Tokenizer& tok, const std::vector<int>& prompt,
                        const SamplingParams& p, int context,
                        const std::function<std::vector<Completion>()>& generate) {
  const std::string note = context_note(static_cast<int>(prompt.size()), p.max_new_tokens, context);
  if (!note.empty()) std::fprintf(stderr, "%s: %s\n", program.c_str(), note.c_str());
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<Completion> out = generate();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::size_t total = 0;
  for (const auto& c : out) total += c.tokens.size();
  std::fprintf(stderr, "%s: %zu tokens in %.2f s (%.0f tokens/s), %d branch%s\n", program.c_str(), total, s,
               s > 0 ? total / s : 0.0, p.n, p.n == 1 ? "" : "es");
  print_completions(program, tok, prompt, out, p.logprobs);
}

void add_prompt_options(po::options_description& o) {
  o.add_options()("prompt", po::value<std::string>()->default_value(""), "Fountain text to continue")(
      "genre", po::value<std::string>()->default_value(""), "condition on a genre (a control token)")(
      "beat", po::value<std::string>()->default_value(""), "condition the scene on a beat")(
      "emotion", po::value<std::string>()->default_value(""), "condition the scene on an emotion")(
      "valence", po::value<std::string>()->default_value(""),
      "condition the scene on a valence class (negative, neutral, positive; models trained on "
      "prepare --label-emotions corpora)");
}

std::vector<int> prompt_ids(const po::variables_map& vm, const Tokenizer& tok, const std::string& genre) {
  return tok.encode(conditioning_prompt(
      tok, {genre, vm["beat"].as<std::string>(), vm["emotion"].as<std::string>(), vm["valence"].as<std::string>()},
      vm["prompt"].as<std::string>()));
}

void add_sampling_options(po::options_description& o, const SamplingParams& defaults) {
  add_fields(o, defaults);
  o.add_options()("stop", po::value<std::vector<std::string>>()->composing(), "stop string (repeatable)");
}

SamplingParams read_sampling_options(const po::variables_map& vm, SamplingParams p) {
  read_fields(vm, &p);
  if (vm.count("stop")) p.stop = vm["stop"].as<std::vector<std::string>>();
  p.validate();
  return p;
}

}  // namespace plotforge::programs
