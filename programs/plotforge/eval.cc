// plotforge eval: perplexity, BLEU, Self-BLEU, distinct-n, repetition, adherence.
#include <iostream>

#include "base/error.h"
#include "base/files.h"
#include "eval/evaluate.h"
#include "programs/plotforge/commands.h"

namespace plotforge::programs {

int cmd_eval(const Args& args) {
  po::options_description o("plotforge eval");
  const EvalOptions d;
  o.add_options()("data", po::value<std::string>()->required(), "corpus.h5: validation scenes are the references")(
      "out", po::value<std::string>()->required(), "report directory (report.txt, report.json)")(
      "transformer", po::value<std::string>()->default_value(""), "Transformer run directory")(
      "vae", po::value<std::string>()->default_value(""), "VAE run directory")(
      "gan", po::value<std::string>()->default_value(""), "latent GAN run directory")(
      "classifier", po::value<std::string>()->default_value(""), "scene classifier run directory (adherence)")(
      "temperatures", po::value<std::string>()->default_value("0.7,1.0,1.3"), "sampling temperatures, comma-separated")(
      "samples", po::value<int>()->default_value(d.samples), "scenes per generator and temperature")(
      "max-new-tokens", po::value<int>()->default_value(d.max_new_tokens), "tokens per generated scene")(
      "references", po::value<int>()->default_value(d.references), "held-out scenes BLEU compares against")(
      "perplexity-scenes", po::value<int>()->default_value(d.perplexity_scenes), "validation scenes for perplexity")(
      "seed", po::value<std::uint64_t>()->default_value(d.seed), "sampling seed")("quiet", po::bool_switch(),
                                                                                  "no progress lines");
  po::variables_map vm;
  if (!parse_options("usage: plotforge eval --data corpus.h5 --out DIR [--transformer RUN] [--vae RUN] [--gan RUN] "
                     "[--classifier RUN]\nThen: python3 scripts/plot_eval.py DIR (quality-diversity PNG)",
                     o, args, &vm)) {
    return 0;
  }
  EvalOptions e;
  e.data = vm["data"].as<std::string>();
  e.out = vm["out"].as<std::string>();
  e.transformer = vm["transformer"].as<std::string>();
  e.vae = vm["vae"].as<std::string>();
  e.gan = vm["gan"].as<std::string>();
  e.classifier = vm["classifier"].as<std::string>();
  e.temperatures = parse_float_list(vm["temperatures"].as<std::string>(), "--temperatures");
  e.samples = vm["samples"].as<int>();
  e.max_new_tokens = vm["max-new-tokens"].as<int>();
  e.references = vm["references"].as<int>();
  e.perplexity_scenes = vm["perplexity-scenes"].as<int>();
  e.seed = vm["seed"].as<std::uint64_t>();
  e.progress = !vm["quiet"].as<bool>();
  evaluate_generators(e);
  std::cout << "wrote " << e.out << "/report.txt and report.json; plot: python3 scripts/plot_eval.py " << e.out << "\n";
  return 0;
}

}  // namespace plotforge::programs
