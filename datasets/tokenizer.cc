#include "datasets/tokenizer.h"

#include <algorithm>
#include <filesystem>

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include "datasets/atomic_file.h"
#include "datasets/error.h"
#include "datasets/text_checks.h"

// Exported by libsentencepiece but not declared in its installed headers; the
// trainer logs its whole command line at INFO before reading --minloglevel.
namespace sentencepiece::logging {
void SetMinLogLevel(int v);
}

namespace plotforge {

namespace {

constexpr const char* kNewline = "<nl>";

// Feeds SentencePiece's trainer the non-empty lines of the canonical texts.
class LineIterator : public sentencepiece::SentenceIterator {
 public:
  explicit LineIterator(const std::vector<Document>& docs) : docs_(docs) { advance(); }
  bool done() const override { return doc_ >= docs_.size(); }
  void Next() override { advance(); }
  const std::string& value() const override { return value_; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  void advance() {
    while (doc_ < docs_.size()) {
      const std::string& t = docs_[doc_].text;
      if (pos_ >= t.size()) {
        ++doc_;
        pos_ = 0;
        continue;
      }
      std::size_t nl = t.find('\n', pos_);
      if (nl == std::string::npos) nl = t.size();
      value_ = t.substr(pos_, nl - pos_);
      pos_ = nl + 1;
      if (!value_.empty()) return;
    }
  }
  const std::vector<Document>& docs_;
  std::size_t doc_ = 0, pos_ = 0;
  std::string value_;
};

}  // namespace

void Tokenizer::train(const TokenizerTrainOptions& o, const std::vector<Document>& docs) {
  if (docs.empty()) throw InputError("tokenizer train: the corpus is empty; pass --input with scripts or text");
  if (o.model_type != "unigram" && o.model_type != "bpe" && o.model_type != "char") {
    throw InputError("--model-type: '" + o.model_type + "' is not one of unigram, bpe, char");
  }
  if (o.vocab_size < 64) throw InputError("--vocab-size: must be at least 64, got " + std::to_string(o.vocab_size));
  std::vector<std::string> genres;
  for (const auto& d : docs) genres.insert(genres.end(), d.genres.begin(), d.genres.end());
  std::string symbols;
  for (const auto& t : plotforge::control_tokens(genres)) symbols += (symbols.empty() ? "" : ",") + t;

  std::string args;
  args += "--model_type=" + o.model_type;
  args += " --vocab_size=" + std::to_string(o.vocab_size);
  args += " --character_coverage=1.0";
  args += " --normalization_rule_name=identity --remove_extra_whitespaces=false --add_dummy_prefix=false";
  args += " --allow_whitespace_only_pieces=true --split_digits=true";
  args += std::string(" --byte_fallback=") + (o.model_type == "char" ? "false" : "true");
  args += " --hard_vocab_limit=false --max_sentence_length=65536";
  args += " --input_sentence_size=2000000 --shuffle_input_sentence=true";
  args += " --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1";
  args += std::string(" --control_symbols=") + kNewline;
  args += " --user_defined_symbols=" + symbols;
  args += " --num_threads=" + std::to_string(std::max(1, o.threads));
  if (o.quiet) args += " --minloglevel=2";

  if (o.quiet) sentencepiece::logging::SetMinLogLevel(2);
  LineIterator lines(docs);
  std::string model;
  const auto status = sentencepiece::SentencePieceTrainer::Train(args, &lines, &model);
  if (!status.ok()) {
    throw InputError("tokenizer train: SentencePiece failed: " + std::string(status.message()) +
                     " (a smaller --vocab-size often helps on a small corpus)");
  }
  const std::string dir = std::filesystem::path(o.out).parent_path().string();
  if (!dir.empty()) std::filesystem::create_directories(dir);
  write_file_atomic(o.out, model);
}

Tokenizer Tokenizer::load(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw InputError(path + ": tokenizer not found; train one with 'plotforge tokenizer train'");
  }
  const std::string bytes = read_file(path);
  Tokenizer t;
  t.sp_ = std::make_shared<sentencepiece::SentencePieceProcessor>();
  const auto status = t.sp_->LoadFromSerializedProto(bytes);
  if (!status.ok()) {
    throw InputError(path + ": not a SentencePiece model (" + std::string(status.message()) + ")");
  }
  t.path_ = path;
  t.sha256_ = sha256_hex(bytes);
  t.newline_id_ = t.piece_id(kNewline);
  if (t.newline_id_ < 0 || !t.sp_->IsControl(t.newline_id_)) {
    throw InputError(path + ": tokenizer lacks the control symbol <nl>; it was not trained by "
                            "'plotforge tokenizer train', so retrain it with that command");
  }
  // This SentencePiece has no IsUserDefined(): the genre tokens are found by
  // their form, the fixed ones by name.
  for (int id = 0; id < t.sp_->GetPieceSize(); ++id) {
    const std::string p = t.sp_->IdToPiece(id);
    if (p.rfind("<genre=", 0) == 0 && p.back() == '>') t.control_tokens_.emplace_back(p, id);
  }
  for (const auto& needed : plotforge::control_tokens({})) {
    if (t.piece_id(needed) < 0) {
      throw InputError(path + ": tokenizer lacks the control token " + needed +
                       "; retrain it with 'plotforge tokenizer train'");
    }
    t.control_tokens_.emplace_back(needed, t.piece_id(needed));
  }
  return t;
}

void Tokenizer::encode_append(std::string_view text, std::vector<int>* ids) const {
  std::vector<int> line_ids;
  std::size_t start = 0;
  while (true) {
    const std::size_t nl = text.find('\n', start);
    const std::string_view line = text.substr(start, nl == std::string_view::npos ? nl : nl - start);
    if (!line.empty()) {
      line_ids.clear();
      sp_->Encode(line, &line_ids);
      ids->insert(ids->end(), line_ids.begin(), line_ids.end());
    }
    if (nl == std::string_view::npos) break;
    ids->push_back(newline_id_);
    start = nl + 1;
  }
}

std::vector<int> Tokenizer::encode(std::string_view text) const {
  std::vector<int> ids;
  encode_append(text, &ids);
  return ids;
}

std::string Tokenizer::decode(const std::vector<int>& ids) const {
  std::string out, part;
  std::vector<int> segment;
  for (std::size_t i = 0; i <= ids.size(); ++i) {
    if (i == ids.size() || ids[i] == newline_id_) {
      if (!segment.empty()) {
        part.clear();
        sp_->Decode(segment, &part);
        out += part;
        segment.clear();
      }
      if (i < ids.size()) out.push_back('\n');
    } else if (ids[i] >= 0 && ids[i] < sp_->GetPieceSize()) {
      segment.push_back(ids[i]);
    }
  }
  return out;
}

int Tokenizer::vocab_size() const { return sp_->GetPieceSize(); }
int Tokenizer::eos_id() const { return sp_->eos_id(); }
int Tokenizer::piece_id(const std::string& piece) const {
  const int id = sp_->PieceToId(piece);
  return (id == sp_->unk_id() && piece != sp_->IdToPiece(sp_->unk_id())) ? -1 : id;
}
std::string Tokenizer::piece(int id) const { return sp_->IdToPiece(id); }

}  // namespace plotforge
