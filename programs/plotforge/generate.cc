// plotforge generate: scenes from a Transformer checkpoint, conditioned on genre, beat and emotion.
#include "models/generate.h"

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
  Transformer model = load_transformer(run);
  if (vm["device"].as<std::string>() == "cuda") {
    if (!torch::cuda::is_available()) throw InputError("--device cuda: no CUDA device is usable; use --device cpu");
    model->to(torch::kCUDA);
  }
  const std::vector<int> ids = prompt_ids(vm, tok, vm["genre"].as<std::string>());
  generate_and_print("plotforge generate", tok, ids, p, run.state.model.context, [&] {
    return generate(model, ids, p, tok.eos_id(), [&tok](const std::vector<int>& t) { return tok.decode(t); });
  });
  return 0;
}

}  // namespace plotforge::programs
