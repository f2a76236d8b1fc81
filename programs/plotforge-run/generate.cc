// plotforge-run generate: scenes from a bundle, branches sharing the
// prompt's KV cache; a VAE bundle decodes a latent code.
#include "inference/generate.h"

#include <chrono>
#include <cstdio>
#include <iostream>
#include <random>

#include "base/error.h"
#include "base/files.h"
#include "datasets/annotations.h"
#include "datasets/documents.h"
#include "inference/adapter.h"
#include "inference/latent_gan.h"
#include "programs/common/completions.h"
#include "programs/plotforge-run/commands.h"

namespace plotforge::programs {

using namespace plotforge::runtime;

int cmd_generate(const Args& args) {
  po::options_description o("plotforge-run generate");
  o.add_options()("bundle", po::value<std::string>()->required(), "bundle directory from 'plotforge export'")(
      "prior", po::bool_switch(), "VAE bundle: decode a latent code drawn from the prior N(0, I) (seeded by --seed)")(
      "gan", po::value<std::string>()->default_value(""),
      "VAE bundle: decode a code from this latent-GAN bundle (--genre picks its genre)")(
      "latent", po::value<std::string>()->default_value(""),
      "VAE bundle: decode this latent code (comma-separated floats)")(
      "adapter", po::value<std::string>()->default_value(""),
      "a LoRA adapter of the bundle (plotforge export --format peft), applied beside the base weights")(
      "merge-adapter", po::value<std::string>()->default_value(""),
      "a LoRA adapter folded into the weights at load (one adapter, no per-token cost)");
  add_prompt_options(o);
  RuntimeOptions ro;
  add_fields(o, ro);
  const SamplingParams defaults;
  add_sampling_options(o, defaults);
  po::variables_map vm;
  if (!parse_options("usage: plotforge-run generate --bundle DIR [--prompt TEXT] [--n K] [sampling options]\n"
                     "       plotforge-run generate --bundle VAE_BUNDLE (--prior | --gan GAN_BUNDLE [--genre G] | "
                     "--latent z1,z2,...)\n"
                     "       plotforge-run generate --bundle BASE (--adapter DIR | --merge-adapter DIR) [options]",
                     o, args, &vm)) {
    return 0;
  }
  read_fields(vm, &ro);
  const std::string adapter_dir = vm["adapter"].as<std::string>(), merge_dir = vm["merge-adapter"].as<std::string>();
  if (!adapter_dir.empty() && !merge_dir.empty()) throw InputError("give one of --adapter and --merge-adapter");
  const auto model = Model::load(vm["bundle"].as<std::string>(), ro.weight_type(), merge_dir);
  const auto adapter = adapter_dir.empty() ? nullptr : Adapter::load(adapter_dir, *model);
  const Tokenizer& tok = model->tokenizer();
  // A VAE bundle decodes under one latent code: from the prior, a GAN, or given.
  const bool prior = vm["prior"].as<bool>();
  const std::string gan_dir = vm["gan"].as<std::string>(), latent_text = vm["latent"].as<std::string>();
  if (static_cast<int>(prior) + !gan_dir.empty() + !latent_text.empty() > 1) {
    throw InputError("give one of --prior, --gan and --latent");
  }
  std::shared_ptr<const LatentCondition> latent;
  std::string genre = vm["genre"].as<std::string>();
  if (prior || !gan_dir.empty() || !latent_text.empty()) {
    std::vector<float> z;
    if (prior) {
      std::mt19937_64 rng(vm["seed"].as<std::uint64_t>());
      std::normal_distribution<float> normal(0.f, 1.f);
      z.resize(model->config().latent);
      for (float& v : z) v = normal(rng);
    } else if (!gan_dir.empty()) {
      const auto gan = LatentGAN::load(gan_dir);
      if (gan->tokenizer_sha256() != model->tokenizer_sha256()) {
        throw InputError(gan_dir + ": trained against a VAE with another tokenizer than " +
                         vm["bundle"].as<std::string>());
      }
      z = gan->sample(vm["seed"].as<std::uint64_t>(), genre);
      genre.clear();  // the GAN's genre, not a prompt token
    } else {
      z = parse_float_list(latent_text, "--latent");
    }
    latent = model->condition(z);
  }
  const SamplingParams p = read_sampling_options(vm, defaults);
  ro.validate();
  Runtime rt = ro.make(*model, p.n + 1);  // the prompt and its branches
  Engine& engine = *rt.engine;
  const std::vector<int> ids = prompt_ids(vm, tok, genre);
  generate_and_print("plotforge-run generate", tok, ids, p, model->config().context,
                     [&] { return generate(engine, ids, p, ro.prefill_chunk, latent, adapter); });
  return 0;
}

}  // namespace plotforge::programs
