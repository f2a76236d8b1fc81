// plotforge eval: perplexity, BLEU, Self-BLEU, distinct-n, repetition, adherence.
#include <iostream>

#include "base/error.h"
#include "base/files.h"
#include "eval/evaluate.h"
#include "programs/plotforge/commands.h"

namespace plotforge::programs {

int cmd_eval(const Args& args) {
  po::options_description o("plotforge eval");
  o.add_options()("data", po::value<std::string>()->required(), "corpus.h5: validation scenes are the references")(
      "out", po::value<std::string>()->required(), "report directory (report.txt, report.json)")(
      "transformer", po::value<std::string>()->default_value(""), "Transformer run directory")(
      "vae", po::value<std::string>()->default_value(""), "VAE run directory")(
      "gan", po::value<std::string>()->default_value(""), "latent GAN run directory")(
      "classifier", po::value<std::string>()->default_value(""), "scene classifier run directory (adherence)")(
      "temperatures", po::value<std::string>()->default_value("0.7,1.0,1.3"), "sampling temperatures, comma-separated");
  EvalOptions e;
  add_fields(o, e);
  po::variables_map vm;
  if (!parse_options("usage: plotforge eval --data corpus.h5 --out DIR [--transformer RUN] [--vae RUN] [--gan RUN] "
                     "[--classifier RUN]\nThen: python3 scripts/plot_eval.py DIR (quality-diversity PNG)",
                     o, args, &vm)) {
    return 0;
  }
  read_fields(vm, &e);
  e.data = vm["data"].as<std::string>();
  e.out = vm["out"].as<std::string>();
  e.transformer = vm["transformer"].as<std::string>();
  e.vae = vm["vae"].as<std::string>();
  e.gan = vm["gan"].as<std::string>();
  e.classifier = vm["classifier"].as<std::string>();
  e.temperatures = parse_float_list(vm["temperatures"].as<std::string>(), "--temperatures");
  evaluate_generators(e);
  std::cout << "wrote " << e.out << "/report.txt and report.json; plot: python3 scripts/plot_eval.py " << e.out << "\n";
  return 0;
}

}  // namespace plotforge::programs
