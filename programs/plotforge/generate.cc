// plotforge generate: scenes from a Transformer checkpoint, conditioned on genre, beat and emotion.
#include "models/generate.h"

#include <chrono>
#include <cstdio>

#include <torch/torch.h>

#include "base/error.h"
#include "datasets/tokenizer.h"
#include "programs/common/completions.h"
#include "programs/plotforge/commands.h"
#include "training/checkpoint.h"
#include "training/run.h"

namespace plotforge::programs {

int cmd_generate(const Args& args) {
  po::options_description o("plotforge generate");
  o.add_options()("checkpoint", po::value<std::string>()->required(),
                  "run directory (its newest checkpoint) or a .pt file")(
      "device", po::value<std::string>()->default_value("cpu"), "cpu | cuda");
  add_prompt_options(o);
  const SamplingParams defaults;
  add_sampling_options(o, defaults);
  po::variables_map vm;
  if (!parse_options("usage: plotforge generate --checkpoint DIR [--prompt TEXT] [--genre G] [--beat B] [options]\n"
                     "The sampling options are plotforge-run generate's, and the same model and seed give the same "
                     "tokens in both.",
                     o, args, &vm)) {
    return 0;
  }
  const SamplingParams p = read_sampling_options(vm, defaults);
  const OpenedRun run = open_run(vm["checkpoint"].as<std::string>(), "transformer");
  const Tokenizer tok = Tokenizer::load(run.tokenizer_path);
  Transformer model(run.state.model);
  load_checkpoint(run.checkpoint, {model.get()});
  if (vm["device"].as<std::string>() == "cuda") {
    if (!torch::cuda::is_available()) throw InputError("--device cuda: no CUDA device is usable; use --device cpu");
    model->to(torch::kCUDA);
  }
  const std::vector<int> ids = prompt_ids(vm, tok, vm["genre"].as<std::string>());
  const std::string note = context_note(static_cast<int>(ids.size()), p.max_new_tokens, run.state.model.context);
  if (!note.empty()) std::fprintf(stderr, "plotforge generate: %s\n", note.c_str());
  const auto t0 = std::chrono::steady_clock::now();
  const auto out = generate(model, ids, p, tok.eos_id(), [&tok](const std::vector<int>& t) { return tok.decode(t); });
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::size_t total = 0;
  for (const auto& c : out) total += c.tokens.size();
  std::fprintf(stderr, "plotforge generate: %zu tokens in %.2f s (%.0f tokens/s)\n", total, secs,
               secs > 0 ? total / secs : 0.0);
  print_completions("plotforge generate", tok, ids, out, p.logprobs);
  return 0;
}

}  // namespace plotforge::programs
