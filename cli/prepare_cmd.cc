// plotforge tokenizer train / plotforge prepare.
#include <iostream>
#include <thread>

#include "cli/command.h"
#include "datasets/documents.h"
#include "datasets/error.h"
#include "datasets/prepare.h"
#include "datasets/tokenizer.h"

namespace plotforge::cli {

namespace {

std::vector<Document> read_all(const std::vector<std::string>& inputs) {
  std::vector<Document> docs;
  for (const auto& in : inputs) {
    auto part = read_documents(in);
    for (auto& d : part) docs.push_back(std::move(d));
  }
  return docs;
}

int default_threads() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

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
                  "scripts, text or JSONL files, or directories")(
      "out", po::value<std::string>()->required(), "model file to write (e.g. tok.model)")(
      "vocab-size", po::value<int>()->default_value(8000), "vocabulary size")(
      "model-type", po::value<std::string>()->default_value("unigram"), "unigram | bpe | char")(
      "threads", po::value<int>()->default_value(default_threads()), "trainer threads");
  po::variables_map vm;
  if (!parse_options("usage: plotforge tokenizer train --input PATH... --out tok.model [options]", o,
                     Args(args.begin() + 1, args.end()), &vm)) {
    return 0;
  }
  TokenizerTrainOptions t;
  t.out = vm["out"].as<std::string>();
  t.vocab_size = vm["vocab-size"].as<int>();
  t.model_type = vm["model-type"].as<std::string>();
  t.threads = vm["threads"].as<int>();
  const auto docs = read_all(vm["input"].as<std::vector<std::string>>());
  std::cerr << "tokenizer: training " << t.model_type << " (" << t.vocab_size << ") on " << docs.size()
            << " documents\n";
  Tokenizer::train(t, docs);
  const Tokenizer tok = Tokenizer::load(t.out);
  std::cout << "wrote " << t.out << ": " << tok.vocab_size() << " pieces, " << tok.control_tokens().size()
            << " control tokens, sha256 " << tok.sha256() << "\n";
  return 0;
}

int cmd_prepare(const Args& args) {
  po::options_description o("plotforge prepare");
  o.add_options()("input", po::value<std::vector<std::string>>()->multitoken()->required(),
                  "scripts, text or JSONL files, or directories")(
      "tokenizer", po::value<std::string>()->required(), "tokenizer model from 'plotforge tokenizer train'")(
      "out", po::value<std::string>()->required(), "HDF5 corpus to write")(
      "val-fraction", po::value<double>()->default_value(0.1), "share of documents (or of a single text's tail) held out")(
      "threads", po::value<int>()->default_value(default_threads()), "tokenizer threads")(
      "quiet", po::bool_switch(), "no progress line");
  po::variables_map vm;
  if (!parse_options("usage: plotforge prepare --input PATH... --tokenizer tok.model --out corpus.h5", o, args, &vm)) {
    return 0;
  }
  PrepareOptions p;
  p.val_fraction = vm["val-fraction"].as<double>();
  p.threads = vm["threads"].as<int>();
  p.progress = !vm["quiet"].as<bool>();
  const std::string out = vm["out"].as<std::string>();
  prepare_corpus(vm["input"].as<std::vector<std::string>>(), vm["tokenizer"].as<std::string>(), out, p);
  const CorpusData c = read_corpus(out);
  std::cout << "wrote " << out << ": " << c.documents.size() << " documents, " << c.scenes.size() << " scenes, "
            << c.split_tokens(Split::kTrain) << " train and " << c.split_tokens(Split::kValidation)
            << " validation tokens\n";
  return 0;
}

}  // namespace plotforge::cli
