// plotforge tokenizer train: a SentencePiece model with the control tokens.
#include "datasets/tokenizer.h"

#include <iostream>

#include "base/error.h"
#include "datasets/digest.h"
#include "datasets/documents.h"
#include "programs/plotforge/commands.h"

namespace plotforge::programs {

namespace {

std::vector<Document> read_all(const std::vector<std::string>& inputs) {
  std::vector<Document> docs;
  for (const auto& in : inputs) {
    auto part = read_documents(in);
    for (auto& d : part) docs.push_back(std::move(d));
  }
  return docs;
}

}  // namespace

int cmd_tokenizer(const Args& args) {
  if (args.empty() || args[0] != "train") {
    if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
      std::cout << "usage: plotforge tokenizer train --input PATH... --out tok.model [options]\n";
      return 0;
    }
    throw po::error("expected 'tokenizer train'");
  }
  po::options_description o("plotforge tokenizer train");
  o.add_options()("input", po::value<std::vector<std::string>>()->multitoken()->required(),
                  "scripts, text or JSONL files, or directories")("out", po::value<std::string>()->required(),
                                                                  "model file to write (e.g. tok.model)");
  TokenizerTrainOptions t;
  t.threads = default_threads();
  add_fields(o, t);
  po::variables_map vm;
  if (!parse_options("usage: plotforge tokenizer train --input PATH... --out tok.model [options]", o,
                     Args(args.begin() + 1, args.end()), &vm)) {
    return 0;
  }
  read_fields(vm, &t);
  t.out = vm["out"].as<std::string>();
  const auto docs = read_all(vm["input"].as<std::vector<std::string>>());
  std::cerr << "tokenizer: training " << t.model_type << " (" << t.vocab_size << ") on " << docs.size()
            << " documents\n";
  Tokenizer::train(t, docs);
  const Tokenizer tok = Tokenizer::load(t.out);
  std::cout << "wrote " << t.out << ": " << tok.vocab_size() << " pieces, " << tok.control_tokens().size()
            << " control tokens, sha256 " << sha256_file(tok.path()) << "\n";
  return 0;
}

}  // namespace plotforge::programs
