// plotforge prepare: scripts -> an HDF5 corpus with splits and labels.
#include "datasets/prepare.h"

#include <iostream>

#include "base/error.h"
#include "datasets/documents.h"
#include "datasets/tokenizer.h"
#include "programs/plotforge/commands.h"

namespace plotforge::programs {

int cmd_prepare(const Args& args) {
  po::options_description o("plotforge prepare");
  o.add_options()("input", po::value<std::vector<std::string>>()->multitoken()->required(),
                  "scripts, text or JSONL files, or directories")("tokenizer", po::value<std::string>()->required(),
                                                                  "tokenizer model from 'plotforge tokenizer train'")(
      "out", po::value<std::string>()->required(), "HDF5 corpus to write");
  PrepareOptions p;
  p.threads = default_threads();
  add_fields(o, p);
  po::variables_map vm;
  if (!parse_options("usage: plotforge prepare --input PATH... --tokenizer tok.model --out corpus.h5", o, args, &vm)) {
    return 0;
  }
  read_fields(vm, &p);
  const std::string out = vm["out"].as<std::string>();
  prepare_corpus(vm["input"].as<std::vector<std::string>>(), vm["tokenizer"].as<std::string>(), out, p);
  const CorpusData c = read_corpus(out);
  std::cout << "wrote " << out << ": " << c.documents.size() << " documents, " << c.scenes.size() << " scenes, "
            << c.split_tokens(Split::kTrain) << " train and " << c.split_tokens(Split::kValidation)
            << " validation tokens\n";
  return 0;
}

}  // namespace plotforge::programs
