#include "training/import.h"

#include <filesystem>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/files.h"
#include "datasets/digest.h"
#include "datasets/documents.h"
#include "datasets/sentencepiece_model.h"
#include "datasets/tokenizer.h"
#include "models/transformer.h"
#include "training/checkpoint.h"
#include "training/hf_llama.h"

namespace plotforge {

namespace fs = std::filesystem;

ImportResult import_hf_llama(const ImportOptions& o) {
  const HfLlama hf = open_hf_llama(o.from);
  const std::string tok_path = (fs::path(o.from) / "tokenizer.model").string();
  std::error_code ec;
  if (!fs::is_regular_file(tok_path, ec)) {
    throw InputError(tok_path + ": missing; plotforge imports models with a SentencePiece tokenizer.model");
  }
  const std::string tok_bytes = read_file(tok_path);
  const SentencePieceModel sp = SentencePieceModel::parse(tok_bytes, tok_path);
  if (sp.size() != hf.config.vocab_size) {
    throw InputError(tok_path + ": has " + std::to_string(sp.size()) + " pieces but " + o.from +
                     "/config.json's vocab_size is " + std::to_string(hf.config.vocab_size) +
                     "; the tokenizer does not match the embedding");
  }
  if (!list_checkpoints(o.out).empty()) {
    throw InputError(o.out + ": already holds checkpoints; import into a new run directory");
  }

  // plotforge's pieces, after the model's own.
  std::vector<std::pair<std::string, SentencePieceModel::Type>> added;
  if (sp.piece_id("<nl>") < 0) added.emplace_back("<nl>", SentencePieceModel::Type::kControl);
  for (const auto& t : control_tokens(o.genres)) {
    if (sp.piece_id(t) < 0) added.emplace_back(t, SentencePieceModel::Type::kUserDefined);
  }
  const std::string extended = SentencePieceModel::with_pieces(tok_bytes, added, tok_path);

  TransformerConfig c = hf.config;
  c.vocab_size = sp.size() + static_cast<int>(added.size());
  if (o.context > 0) c.context = o.context;
  c.validate();
  Transformer model(c);
  load_hf_weights(hf, *model, /*grow_vocab=*/true);

  fs::create_directories(o.out);
  const std::string run_tok = (fs::path(o.out) / "tokenizer.model").string();
  write_file_atomic(run_tok, extended);
  Tokenizer::load(run_tok);  // the run's tokenizer is one plotforge can use

  CheckpointState state;
  state.kind = "transformer";
  state.model = c;
  state.tokenizer_sha256 = sha256_hex(extended);
  state.config["imported_from"] = {{"dir", fs::absolute(o.from).string()},
                                   {"config_sha256", sha256_file((fs::path(o.from) / "config.json").string())},
                                   {"vocab_size", sp.size()},
                                   {"added_pieces", static_cast<int>(added.size())}};
  ImportResult r;
  r.checkpoint = checkpoint_path(o.out, 0);
  save_checkpoint(r.checkpoint, {model.get()}, state);
  r.vocab_before = sp.size();
  r.vocab_after = c.vocab_size;
  r.parameters = model->parameter_count();
  return r;
}

}  // namespace plotforge
