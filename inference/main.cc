// plotforge-run: the torch-free runtime.
#include <boost/program_options.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "datasets/annotations.h"
#include "datasets/documents.h"
#include "datasets/error.h"
#include "datasets/text_checks.h"
#include "inference/bench.h"
#include "inference/generate.h"
#include "inference/latent_gan.h"

namespace po = boost::program_options;
using namespace plotforge;
using namespace plotforge::runtime;

namespace {

constexpr const char* kHelp = R"(plotforge-run: the lean runtime for exported plotforge bundles (no libtorch)

usage: plotforge-run COMMAND [options]      plotforge-run COMMAND --help

commands:
  generate    write scenes from a bundle (plotforge export), batched branches sharing the prompt's KV cache
  bench       prefill and decode speed over batch sizes against the measured memory bandwidth, and a
              branching workload with and without prefix sharing
  help        this text
)";

int cmd_generate(const std::vector<std::string>& args) {
  po::options_description o("plotforge-run generate");
  SamplingParams d;
  o.add_options()("help,h", "this help")
      ("bundle", po::value<std::string>()->required(), "bundle directory from 'plotforge export'")
      ("prompt", po::value<std::string>()->default_value(""), "Fountain text to continue")
      ("genre", po::value<std::string>()->default_value(""), "condition on a genre")
      ("beat", po::value<std::string>()->default_value(""), "condition the scene on a beat")
      ("emotion", po::value<std::string>()->default_value(""), "condition the scene on an emotion")
      ("n", po::value<int>()->default_value(d.n), "branches from the one prompt")
      ("max-new-tokens", po::value<int>()->default_value(d.max_new_tokens), "tokens per branch")
      ("temperature", po::value<float>()->default_value(d.temperature), "0 is greedy")
      ("top-k", po::value<int>()->default_value(d.top_k), "0: off")
      ("top-p", po::value<float>()->default_value(d.top_p), "1: off")
      ("min-p", po::value<float>()->default_value(d.min_p), "0: off")
      ("repetition-penalty", po::value<float>()->default_value(d.repetition_penalty), "1: off")
      ("presence-penalty", po::value<float>()->default_value(d.presence_penalty), "0: off")
      ("frequency-penalty", po::value<float>()->default_value(d.frequency_penalty), "0: off")
      ("seed", po::value<std::uint64_t>()->default_value(d.seed), "sampling seed (branch i uses seed + i)")
      ("stop", po::value<std::vector<std::string>>()->composing(), "stop string (repeatable)")
      ("logprobs", po::bool_switch(), "print JSON with per-token log-probabilities")
      ("cache-blocks", po::value<int>()->default_value(4096), "KV cache blocks of 16 positions")
      ("device", po::value<std::string>()->default_value("cpu"), "cpu, or cuda (builds with CUDA; Transformer bundles)")
      ("prior", po::bool_switch(), "VAE bundle: decode a latent code drawn from the prior N(0, I) (seeded by --seed)")
      ("gan", po::value<std::string>()->default_value(""), "VAE bundle: decode a code from this latent-GAN bundle (--genre picks its genre)")
      ("latent", po::value<std::string>()->default_value(""), "VAE bundle: decode this latent code (comma-separated floats)");
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(o).run(), vm);
  if (vm.count("help")) {
    std::cout << "usage: plotforge-run generate --bundle DIR [--prompt TEXT] [--n K] [sampling options]\n"
                 "       plotforge-run generate --bundle VAE_BUNDLE (--prior | --gan GAN_BUNDLE [--genre G] | --latent z1,z2,...)\n\n"
              << o;
    return 0;
  }
  po::notify(vm);
  const auto model = Model::load(vm["bundle"].as<std::string>());
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
      if (gan->tokenizer_sha256() != tok.sha256()) {
        throw InputError(gan_dir + ": trained against a VAE with another tokenizer than " + vm["bundle"].as<std::string>());
      }
      z = gan->sample(vm["seed"].as<std::uint64_t>(), genre);
      genre.clear();  // the GAN's genre, not a prompt token
    } else {
      z = parse_float_list(latent_text, "--latent");
    }
    latent = model->condition(z);
  }
  const std::string prompt = conditioning_prompt(tok, genre, vm["beat"].as<std::string>(),
                                                 vm["emotion"].as<std::string>(), vm["prompt"].as<std::string>());
  SamplingParams p;
  p.n = vm["n"].as<int>();
  p.max_new_tokens = vm["max-new-tokens"].as<int>();
  p.temperature = vm["temperature"].as<float>();
  p.top_k = vm["top-k"].as<int>();
  p.top_p = vm["top-p"].as<float>();
  p.min_p = vm["min-p"].as<float>();
  p.repetition_penalty = vm["repetition-penalty"].as<float>();
  p.presence_penalty = vm["presence-penalty"].as<float>();
  p.frequency_penalty = vm["frequency-penalty"].as<float>();
  p.seed = vm["seed"].as<std::uint64_t>();
  if (vm.count("stop")) p.stop = vm["stop"].as<std::vector<std::string>>();
  p.logprobs = vm["logprobs"].as<bool>();
  Runtime rt = make_runtime(*model, vm["device"].as<std::string>(), 16, vm["cache-blocks"].as<int>());
  Engine& engine = *rt.engine;
  const std::vector<int> ids = tok.encode(prompt);
  const auto t0 = std::chrono::steady_clock::now();
  const auto out = generate(engine, ids, p, 256, latent);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::size_t total = 0;
  for (const auto& c : out) total += c.tokens.size();
  if (p.logprobs) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& c : out) {
      j.push_back({{"text", strip_control_tokens(tok.decode(ids) + c.text)}, {"tokens", c.tokens}, {"logprobs", c.logprobs},
                   {"finish_reason", c.finish_reason}});
    }
    std::cout << j.dump(2) << "\n";
  } else {
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (i > 0) std::cout << "\n===\n\n";
      std::string text = strip_control_tokens(tok.decode(ids) + out[i].text);
      if (!text.empty() && text.back() != '\n') text += "\n";
      std::cout << text;
    }
  }
  std::fprintf(stderr, "plotforge-run: %zu tokens in %.2f s (%.0f tokens/s), %d branch%s\n", total, s,
               s > 0 ? total / s : 0.0, p.n, p.n == 1 ? "" : "es");
  return 0;
}

int cmd_bench(const std::vector<std::string>& args) {
  po::options_description o("plotforge-run bench");
  BenchOptions d;
  std::string sizes;
  o.add_options()("help,h", "this help")
      ("bundle", po::value<std::string>()->required(), "bundle directory from 'plotforge export'")
      ("batch-sizes", po::value<std::string>(&sizes)->default_value("1,8,32"), "decode batch sizes")
      ("decode-tokens", po::value<int>(&d.decode_tokens)->default_value(d.decode_tokens), "decode steps per batch size")
      ("prompt-tokens", po::value<int>(&d.prompt_tokens)->default_value(d.prompt_tokens), "prefill prompt length")
      ("sessions", po::value<int>(&d.sessions)->default_value(d.sessions), "branching workload: sessions")
      ("branches", po::value<int>(&d.branches)->default_value(d.branches), "branching workload: branches per session")
      ("prefix-tokens", po::value<int>(&d.prefix_tokens)->default_value(d.prefix_tokens), "branching workload: shared prefix")
      ("branch-tokens", po::value<int>(&d.branch_tokens)->default_value(d.branch_tokens), "branching workload: tokens per branch")
      ("repeats", po::value<int>(&d.repeats)->default_value(d.repeats), "branching workload: runs of each (medians)")
      ("cache-blocks", po::value<int>(&d.cache_blocks)->default_value(d.cache_blocks), "KV cache blocks of 16 positions")
      ("device", po::value<std::string>(&d.device)->default_value(d.device), "cpu, or cuda (builds with CUDA)");
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(o).run(), vm);
  if (vm.count("help")) {
    std::cout << "usage: plotforge-run bench --bundle DIR [options]\n\n" << o;
    return 0;
  }
  po::notify(vm);
  d.bundle = vm["bundle"].as<std::string>();
  d.batch_sizes.clear();
  for (std::size_t start = 0; start < sizes.size();) {
    std::size_t comma = sizes.find(',', start);
    if (comma == std::string::npos) comma = sizes.size();
    const int b = std::atoi(sizes.substr(start, comma - start).c_str());
    if (b < 1) throw InputError("--batch-sizes: '" + sizes + "' must be positive integers separated by commas");
    d.batch_sizes.push_back(b);
    start = comma + 1;
  }
  if (d.decode_tokens < 1 || d.prompt_tokens < 1 || d.sessions < 1 || d.branches < 1 || d.prefix_tokens < 1 ||
      d.branch_tokens < 1 || d.cache_blocks < 1 || d.repeats < 1) {
    throw InputError("bench: every size must be at least 1");
  }
  return run_bench(d);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kHelp, stderr);
    return 2;
  }
  const std::string cmd = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  try {
    if (cmd == "help" || cmd == "--help" || cmd == "-h") {
      std::fputs(kHelp, stdout);
      return 0;
    }
    if (cmd == "generate") return cmd_generate(args);
    if (cmd == "bench") return cmd_bench(args);
    std::fprintf(stderr, "plotforge-run: unknown command '%s'; run 'plotforge-run help'\n", cmd.c_str());
    return 2;
  } catch (const po::error& e) {
    std::fprintf(stderr, "plotforge-run %s: %s; run 'plotforge-run %s --help'\n", cmd.c_str(), e.what(), cmd.c_str());
    return 2;
  } catch (const InputError& e) {
    std::fprintf(stderr, "plotforge-run %s: error: %s\n", cmd.c_str(), e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "plotforge-run %s: internal error: %s\n", cmd.c_str(), e.what());
    return 3;
  }
}
