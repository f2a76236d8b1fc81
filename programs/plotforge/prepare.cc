// plotforge prepare: scripts -> an HDF5 corpus with splits and labels.
#include "datasets/prepare.h"

#include <iostream>
#include <map>

#include "base/error.h"
#include "datasets/documents.h"
#include "datasets/tokenizer.h"
#include "emotion/scene_labels.h"
#include "programs/plotforge/commands.h"
#include "programs/plotforge/lexicons.h"

namespace plotforge::programs {

int cmd_prepare(const Args& args) {
  po::options_description o("plotforge prepare");
  o.add_options()("input", po::value<std::vector<std::string>>()->multitoken()->required(),
                  "scripts, text or JSONL files, or directories")("tokenizer", po::value<std::string>()->required(),
                                                                  "tokenizer model from 'plotforge tokenizer train'")(
      "out", po::value<std::string>()->required(), "HDF5 corpus to write");
  o.add_options()("label-emotions", po::bool_switch(),
                  "derive each scene's valence class (VADER) and, with --emotion-lexicon, its emotion; "
                  "[[emotion:]] notes win (docs/annotations.md)");
  add_lexicon_options(o);
  PrepareOptions p;
  p.threads = default_threads();
  add_fields(o, p);
  po::variables_map vm;
  if (!parse_options("usage: plotforge prepare --input PATH... --tokenizer tok.model --out corpus.h5", o, args, &vm)) {
    return 0;
  }
  read_fields(vm, &p);
  const std::string out = vm["out"].as<std::string>();
  const Lexicons lexicons(vm);
  const bool label = vm["label-emotions"].as<bool>();
  if (!label && (!vm["emotion-lexicon"].defaulted() || !vm["lexicon"].defaulted())) {
    throw InputError("--lexicon and --emotion-lexicon only take effect with --label-emotions; add it");
  }
  prepare_corpus(vm["input"].as<std::vector<std::string>>(), vm["tokenizer"].as<std::string>(), out, p,
                 label ? emotion::scene_labeler(lexicons.vader(), lexicons.emotions()) : SceneLabeler());
  const CorpusData c = read_corpus(out);
  std::cout << "wrote " << out << ": " << c.documents.size() << " documents, " << c.scenes.size() << " scenes, "
            << c.split_tokens(Split::kTrain) << " train and " << c.split_tokens(Split::kValidation)
            << " validation tokens\n";
  if (label) {
    std::map<std::string, int> valence, emotion;
    for (const auto& s : c.scenes) {
      ++valence[s.valence];
      if (s.emotion_derived) ++emotion[s.emotion];
    }
    std::cout << "derived labels: valence";
    for (const auto& [k, n] : valence) std::cout << " " << k << " " << n;
    if (lexicons.emotions()) {
      std::cout << "; emotion (scenes without a note)";
      for (const auto& [k, n] : emotion) std::cout << " " << k << " " << n;
    }
    std::cout << "\n";
  }
  return 0;
}

}  // namespace plotforge::programs
