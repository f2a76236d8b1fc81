// plotforge vae: sample (from the prior or a latent GAN, steered), reconstruct, interpolate.
#include <cstdio>
#include <iostream>
#include <sstream>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "base/error.h"
#include "datasets/corpus.h"
#include "datasets/documents.h"
#include "datasets/text_checks.h"
#include "datasets/tokenizer.h"
#include "eval/evaluate.h"
#include "models/generate.h"
#include "programs/common/completions.h"
#include "programs/plotforge/commands.h"
#include "training/batch_tensors.h"
#include "training/checkpoint.h"
#include "training/classifier_objective.h"
#include "training/gan_objective.h"
#include "training/run.h"
#include "training/vae_objective.h"

namespace plotforge::programs {

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& x : v) out += (out.empty() ? "" : ", ") + x;
  return out;
}

// The k-th scene (1-based) of a script file, as token ids of its canonical
// text (starting at its <scene> line).
std::vector<int> scene_ids(const Tokenizer& tok, const std::string& path, int k) {
  const auto docs = read_documents(path);
  if (docs.empty() || docs[0].scenes.empty()) throw InputError(path + ": no scene (a scene starts at a scene heading)");
  const Document& d = docs[0];
  if (k < 1 || k > static_cast<int>(d.scenes.size())) {
    throw InputError(path + ": --scene " + std::to_string(k) + " is out of range; the script has " +
                     std::to_string(d.scenes.size()) + " scenes");
  }
  const SceneSpan& s = d.scenes[k - 1];
  return tok.encode(std::string_view(d.text).substr(s.begin, s.end - s.begin));
}

torch::Tensor ids_tensor(const std::vector<int>& ids, int max_tokens) {
  std::vector<std::int64_t> v(ids.begin(), ids.begin() + std::min<long>(ids.size(), max_tokens));
  return torch::tensor(v, torch::kInt64).unsqueeze(0);
}

}  // namespace

int cmd_vae(const Args& all_args) {
  if (all_args.empty() || (all_args[0] != "sample" && all_args[0] != "reconstruct" && all_args[0] != "interpolate")) {
    std::fputs(
        "usage: plotforge vae sample      --checkpoint VAE [--gan GAN] [--genre G] [--beat B] [--steer genre=G|beat=B "
        "--data corpus.h5]\n"
        "       plotforge vae reconstruct --checkpoint VAE --script FILE [--scene K]\n"
        "       plotforge vae interpolate --checkpoint VAE --script FILE --scene K --to FILE --to-scene K [--steps "
        "N]\n",
        stderr);
    return 2;
  }
  const std::string sub = all_args[0];
  const Args args(all_args.begin() + 1, all_args.end());
  po::options_description o("plotforge vae " + sub);
  o.add_options()("checkpoint", po::value<std::string>()->required(), "VAE run directory or checkpoint")(
      "gan", po::value<std::string>()->default_value(""), "sample: draw latent codes from this latent GAN")(
      "genre", po::value<std::string>()->default_value(""), "sample: the GAN's genre")(
      "beat", po::value<std::string>()->default_value(""), "sample: a beat control token to start the scene with")(
      "steer", po::value<std::string>()->default_value(""), "sample: add an attribute vector, genre=NAME or beat=NAME")(
      "steer-scale", po::value<float>()->default_value(1.0f), "sample: multiple of the attribute vector")(
      "data", po::value<std::string>()->default_value(""), "corpus.h5 the attribute vectors are computed on")(
      "script", po::value<std::string>()->default_value(""), "reconstruct/interpolate: a script file")(
      "scene", po::value<int>()->default_value(1), "which scene of --script (1-based)")(
      "to", po::value<std::string>()->default_value(""), "interpolate: the second script")(
      "to-scene", po::value<int>()->default_value(1), "interpolate: which scene of --to")(
      "steps", po::value<int>()->default_value(5), "interpolate: points from one scene to the other, ends included");
  const SamplingParams defaults;
  add_sampling_options(o, defaults);
  po::variables_map vm;
  if (!parse_options("usage: plotforge vae " + sub + " --checkpoint VAE [options]", o, args, &vm)) return 0;
  LoadedVAE vae = load_vae(vm["checkpoint"].as<std::string>());
  const Tokenizer tok = Tokenizer::load(vae.tokenizer);  // load_vae checked it against the checkpoint
  torch::NoGradGuard no_grad;
  SamplingParams s = read_sampling_options(vm, defaults);
  s.stop_tokens = {tok.piece_id(scene_token())};  // one scene each
  const int latent = vae.model->config().latent;
  const int context = vae.model->config().decoder.context;
  torch::Tensor z;
  std::vector<std::string> headers;
  std::vector<int> prompt;

  if (sub == "sample") {
    const int n = s.n;  // scenes to write, one latent code each
    at::Generator gen = at::detail::createCPUGenerator(s.seed);
    const std::string gan_path = vm["gan"].as<std::string>(), genre = vm["genre"].as<std::string>();
    if (!gan_path.empty()) {
      LoadedGAN gan = load_gan(gan_path);
      if (gan.config.latent != latent) throw InputError(gan.checkpoint + ": its latent size differs from the VAE's");
      int64_t g = -1;
      if (!genre.empty()) {
        const auto it = std::find(gan.genres.begin(), gan.genres.end(), genre);
        if (it == gan.genres.end() || gan.config.n_genres == 0) {
          throw InputError("--genre " + genre + ": the GAN is not conditioned on it (it knows: " +
                           (gan.config.n_genres ? join(gan.genres) : std::string("no genres")) + ")");
        }
        g = it - gan.genres.begin();
      }
      z = gan.generator->forward(at::randn({n, gan.config.noise}, gen, torch::kFloat32),
                                 torch::full({n}, g, torch::kInt64));
    } else {
      if (!genre.empty()) throw InputError("--genre needs --gan; to steer the VAE alone use --steer genre=NAME");
      z = at::randn({n, latent}, gen, torch::kFloat32);
    }
    const std::string steer = vm["steer"].as<std::string>();
    if (!steer.empty()) {
      const auto eq = steer.find('=');
      if (eq == std::string::npos) throw InputError("--steer " + steer + ": expected genre=NAME or beat=NAME");
      if (vm["data"].as<std::string>().empty())
        throw InputError("--steer needs --data corpus.h5 (the attribute vectors come from its scenes)");
      auto corpus = std::make_shared<CorpusData>(read_corpus(vm["data"].as<std::string>()));
      if (corpus->tokenizer_sha256 != vae.tokenizer_sha256)
        throw InputError(vm["data"].as<std::string>() + ": another tokenizer than the VAE's");
      const auto vectors = attribute_vectors(vae.model, corpus, steer.substr(0, eq));
      const auto it = vectors.find(steer.substr(eq + 1));
      if (it == vectors.end()) throw InputError("--steer " + steer + ": no training scene carries that label");
      z = z + vm["steer-scale"].as<float>() * it->second;
    }
    prompt = tok.encode(conditioning_prompt(tok, {"", vm["beat"].as<std::string>(), "", ""}, ""));
  } else {
    if (vm["script"].as<std::string>().empty()) throw InputError("--script: give the script whose scene to encode");
    const auto a = scene_ids(tok, vm["script"].as<std::string>(), vm["scene"].as<int>());
    const auto qa = vae.model->encode(ids_tensor(a, context));
    prompt = {a[0]};  // <scene>
    if (sub == "reconstruct") {
      z = qa.mu;
      s.temperature = 0;
      headers = {"reconstruction (greedy, z = posterior mean)"};
    } else {
      if (vm["to"].as<std::string>().empty()) throw InputError("--to: give the second script");
      const int steps = vm["steps"].as<int>();
      if (steps < 2) throw InputError("--steps: must be at least 2");
      const auto b = scene_ids(tok, vm["to"].as<std::string>(), vm["to-scene"].as<int>());
      const auto qb = vae.model->encode(ids_tensor(b, context));
      std::vector<torch::Tensor> zs;
      for (int i = 0; i < steps; ++i) {
        const double t = static_cast<double>(i) / (steps - 1);
        zs.push_back((1 - t) * qa.mu + t * qb.mu);
        char buf[64];
        std::snprintf(buf, sizeof buf, "t = %.2f", t);
        headers.push_back(buf);
      }
      z = torch::cat(zs);
    }
  }
  s.n = static_cast<int>(z.size(0));  // one branch per latent code, each under its own
  const Conditioning cond = vae.model->condition(z);
  const auto out = generate(
      vae.model->decoder, prompt, s, tok.eos_id(), [&tok](const std::vector<int>& t) { return tok.decode(t); }, &cond);
  print_completions("plotforge vae", tok, prompt, out, s.logprobs, headers);
  return 0;
}

}  // namespace plotforge::programs
