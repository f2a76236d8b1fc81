// plotforge export: a checkpoint -> a Hugging Face-style bundle.
#include "training/export.h"

#include <iostream>

#include "programs/plotforge/commands.h"

namespace plotforge::programs {

int cmd_export(const Args& args) {
  po::options_description o("plotforge export");
  o.add_options()("checkpoint", po::value<std::string>()->required(),
                  "run directory (its newest checkpoint) or a .pt file")("out", po::value<std::string>()->required(),
                                                                         "bundle directory to write")(
      "dtype", po::value<std::string>()->default_value("fp32"), "fp32 | bf16");
  po::variables_map vm;
  if (!parse_options("usage: plotforge export --checkpoint DIR --out BUNDLE [--dtype fp32|bf16]", o, args, &vm))
    return 0;
  const std::string kind =
      export_bundle(vm["checkpoint"].as<std::string>(), vm["out"].as<std::string>(), vm["dtype"].as<std::string>());
  std::cout << "wrote " << kind << " bundle " << vm["out"].as<std::string>()
            << (kind == "gan" ? " (generator.safetensors, gan.json)\n"
                              : " (model.safetensors, config.json, generation_config.json, tokenizer.model)\n");
  return 0;
}

}  // namespace plotforge::programs
