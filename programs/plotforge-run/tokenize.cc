// plotforge-run tokenize: a bundle's token ids for a text, as llama.cpp's
// llama-tokenize and a Hugging Face tokenizer's encode print them (the
// bundle's tokenizer.json gives the same ids: docs/tokenizer.md).
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/files.h"
#include "datasets/tokenizer.h"
#include "programs/plotforge-run/commands.h"

namespace plotforge::programs {

int cmd_tokenize(const Args& args) {
  po::options_description o("plotforge-run tokenize");
  o.add_options()("bundle", po::value<std::string>()->required(), "bundle directory from 'plotforge export'")(
      "text", po::value<std::string>(), "the text to encode")("file", po::value<std::string>(),
                                                              "a file whose whole content to encode")(
      "pieces", po::bool_switch(), "print each id with its piece, one per line, instead of a JSON array");
  po::variables_map vm;
  if (!parse_options("usage: plotforge-run tokenize --bundle DIR (--text TEXT | --file PATH) [--pieces]", o, args,
                     &vm)) {
    return 0;
  }
  if (vm.count("text") + vm.count("file") != 1) throw InputError("give one of --text and --file");
  const std::string bundle = vm["bundle"].as<std::string>();
  const std::string model = (std::filesystem::path(bundle) / "tokenizer.model").string();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(model, ec)) {
    throw InputError("--bundle " + bundle + ": no tokenizer.model there; give a directory 'plotforge export' wrote");
  }
  const Tokenizer tok = Tokenizer::load(model);
  const std::string text = vm.count("text") ? vm["text"].as<std::string>() : read_file(vm["file"].as<std::string>());
  const std::vector<int> ids = tok.encode(text);
  if (vm["pieces"].as<bool>()) {
    for (int id : ids) std::cout << id << "\t" << nlohmann::json(tok.piece(id)).dump() << "\n";
  } else {
    std::cout << nlohmann::json(ids).dump() << "\n";
  }
  return 0;
}

}  // namespace plotforge::programs
