// plotforge export: a checkpoint -> a Hugging Face-style bundle.
#include "training/export.h"

#include <iostream>

#include "base/error.h"
#include "programs/plotforge/commands.h"
#include "training/gguf_export.h"

namespace plotforge::programs {

int cmd_export(const Args& args) {
  po::options_description o("plotforge export");
  o.add_options()("checkpoint", po::value<std::string>()->required(),
                  "run directory (its newest checkpoint) or a .pt file")("out", po::value<std::string>()->required(),
                                                                         "bundle directory to write")(
      "dtype", po::value<std::string>()->default_value("fp32"), "bundle: fp32 | bf16; gguf: f32 | f16 | bf16 | q8_0")(
      "format", po::value<std::string>()->default_value("bundle"),
      "bundle (a LoRA run merged) | peft (a LoRA run's adapter alone) | gguf (one file for llama.cpp)")(
      "base-bundle", po::value<std::string>()->default_value(""),
      "peft: the base's bundle the adapter applies to (default: the run's base, when that is a bundle)");
  po::variables_map vm;
  if (!parse_options(
          "usage: plotforge export --checkpoint DIR --out BUNDLE [--dtype fp32|bf16]\n"
          "       plotforge export --checkpoint LORA_RUN --out ADAPTER --format peft [--base-bundle B]\n"
          "       plotforge export --checkpoint DIR --out MODEL.gguf --format gguf [--dtype f32|f16|bf16|q8_0]",
          o, args, &vm))
    return 0;
  const std::string format = vm["format"].as<std::string>();
  if (format == "peft") {
    export_adapter(vm["checkpoint"].as<std::string>(), vm["out"].as<std::string>(),
                   vm["base-bundle"].as<std::string>());
    std::cout << "wrote adapter " << vm["out"].as<std::string>()
              << " (adapter_model.safetensors, adapter_config.json)\n";
    return 0;
  }
  if (format == "gguf") {
    std::string dtype = vm["dtype"].as<std::string>();
    if (dtype == "fp32") dtype = "f32";  // the default, spelled as for bundles
    export_gguf(vm["checkpoint"].as<std::string>(), vm["out"].as<std::string>(), dtype);
    std::cout << "wrote " << vm["out"].as<std::string>() << " (GGUF, llama architecture, " << dtype << ")\n";
    return 0;
  }
  if (format != "bundle") throw InputError("--format: '" + format + "' is not bundle, peft or gguf");
  const std::string kind =
      export_bundle(vm["checkpoint"].as<std::string>(), vm["out"].as<std::string>(), vm["dtype"].as<std::string>());
  std::cout << "wrote " << kind << " bundle " << vm["out"].as<std::string>()
            << (kind == "gan"          ? " (generator.safetensors, gan.json)\n"
                : kind == "classifier" ? " (model.safetensors, config.json, tokenizer.model)\n"
                                       : " (model.safetensors, config.json, generation_config.json, tokenizer.model, "
                                         "tokenizer.json, tokenizer_config.json)\n");
  return 0;
}

}  // namespace plotforge::programs
