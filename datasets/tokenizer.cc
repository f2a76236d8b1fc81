#include "datasets/tokenizer.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "base/atomic_file.h"
#include "base/error.h"
#include "datasets/annotations.h"
#include "datasets/sentencepiece_model.h"
#include "datasets/text_checks.h"

extern char** environ;

namespace plotforge {

namespace fs = std::filesystem;

namespace {

// A newline: the byte piece of byte fallback, or (tokenizers trained before
// 2026-12-02) the control symbol "<nl>" (tokenizer.h).
constexpr const char* kNewlineByte = "<0x0A>";
constexpr const char* kLegacyNewline = "<nl>";

// Runs argv[0] (found on PATH) with stdout and stderr into `log`; returns
// the exit status, or -1 if it could not start.
int run_program(const std::vector<std::string>& argv, const std::string& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

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
  int symbol_count = 0;
  for (const auto& t : plotforge::control_tokens(genres)) {
    symbols += (symbols.empty() ? "" : ",") + t;
    ++symbol_count;
  }
  // A char model's vocabulary is its characters; the 256 byte pieces and the
  // special and control pieces come on top of --vocab-size (spm_train counts
  // them in it and refuses a size they do not fit in).
  const int spm_vocab = o.model_type == "char" ? o.vocab_size + 256 + 3 + symbol_count : o.vocab_size;

  // spm_train reads one sentence per line: the canonical texts' lines.
  const fs::path work = fs::temp_directory_path() / ("plotforge-spm-" + std::to_string(::getpid()));
  fs::create_directories(work);
  struct Cleanup {
    fs::path p;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(p, ec);
    }
  } cleanup{work};
  {
    std::ofstream lines(work / "lines.txt", std::ios::binary);
    for (const auto& d : docs) {
      std::size_t start = 0;
      while (start < d.text.size()) {
        std::size_t nl = d.text.find('\n', start);
        if (nl == std::string::npos) nl = d.text.size();
        if (nl > start) lines.write(d.text.data() + start, static_cast<std::streamsize>(nl - start)) << '\n';
        start = nl + 1;
      }
    }
    if (!lines) throw InputError((work / "lines.txt").string() + ": write failed (disk full?)");
  }
  const std::vector<std::string> argv = {
      "spm_train",
      "--input=" + (work / "lines.txt").string(),
      "--model_prefix=" + (work / "tok").string(),
      "--model_type=" + o.model_type,
      "--vocab_size=" + std::to_string(spm_vocab),
      "--character_coverage=1.0",
      "--normalization_rule_name=identity",
      "--remove_extra_whitespaces=false",
      "--add_dummy_prefix=false",
      "--allow_whitespace_only_pieces=true",
      "--split_digits=true",
      "--byte_fallback=true",  // a newline (never inside a piece) is <0x0A>
      "--hard_vocab_limit=false",
      "--max_sentence_length=65536",
      "--input_sentence_size=2000000",
      "--shuffle_input_sentence=true",
      "--unk_id=0",
      "--bos_id=1",
      "--eos_id=2",
      "--pad_id=-1",
      "--user_defined_symbols=" + symbols,
      "--num_threads=" + std::to_string(std::max(1, o.threads)),
      std::string("--minloglevel=") + (o.quiet ? "2" : "0"),
  };
  const std::string log = (work / "spm_train.log").string();
  const int rc = run_program(argv, log);
  if (rc == -1) {
    throw InputError(
        "tokenizer train: cannot run spm_train; install Debian's 'sentencepiece' package (scripts/setup.sh)");
  }
  if (rc != 0) {
    std::string tail = read_file(log);
    if (tail.size() > 2000) tail = tail.substr(tail.size() - 2000);
    throw InputError("tokenizer train: spm_train failed (exit " + std::to_string(rc) +
                     "; a smaller --vocab-size often "
                     "helps on a small corpus):\n" +
                     tail);
  }
  const std::string dir = fs::path(o.out).parent_path().string();
  if (!dir.empty()) fs::create_directories(dir);
  write_file_atomic(o.out, read_file((work / "tok.model").string()));
}

Tokenizer Tokenizer::load(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    throw InputError(path + ": tokenizer not found; train one with 'plotforge tokenizer train'");
  }
  const std::string bytes = read_file(path);
  Tokenizer t;
  t.sp_ = std::make_shared<const SentencePieceModel>(SentencePieceModel::parse(bytes, path));
  t.path_ = path;
  const int legacy = t.piece_id(kLegacyNewline), byte = t.piece_id(kNewlineByte);
  if (legacy >= 0 && t.sp_->type(legacy) == SentencePieceModel::Type::kControl) {
    t.newline_id_ = legacy;
    t.legacy_newline_ = true;
  } else if (byte >= 0 && t.sp_->type(byte) == SentencePieceModel::Type::kByte) {
    t.newline_id_ = byte;
  } else {
    throw InputError(path +
                     ": tokenizer has no newline piece (neither byte fallback's <0x0A> nor the control "
                     "symbol <nl>); it was not trained by 'plotforge tokenizer train', so retrain it with that "
                     "command");
  }
  for (int id = 0; id < t.sp_->size(); ++id) {
    const std::string& p = t.sp_->piece(id);
    if (p.rfind("<genre=", 0) == 0 && p.back() == '>') t.control_tokens_.emplace_back(p, id);
  }
  const std::vector<std::string> optional = derived_label_tokens();
  for (const auto& needed : plotforge::control_tokens({})) {
    const int id = t.piece_id(needed);
    if (id < 0 && std::find(optional.begin(), optional.end(), needed) != optional.end()) continue;
    if (id < 0 || t.sp_->type(id) != SentencePieceModel::Type::kUserDefined) {
      throw InputError(path + ": tokenizer lacks the control token " + needed +
                       "; retrain it with 'plotforge tokenizer train'");
    }
    t.control_tokens_.emplace_back(needed, id);
  }
  return t;
}

void Tokenizer::encode_append(std::string_view text, std::vector<int>* ids) const {
  std::size_t start = 0;
  while (true) {
    const std::size_t nl = text.find('\n', start);
    const std::string_view line = text.substr(start, nl == std::string_view::npos ? nl : nl - start);
    sp_->encode(line, ids);
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
  std::string out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= ids.size(); ++i) {
    if (i == ids.size() || ids[i] == newline_id_) {
      out += sp_->decode(ids.data() + start, i - start);
      if (i < ids.size()) out.push_back('\n');
      start = i + 1;
    }
  }
  return out;
}

std::string conditioning_prompt(const Tokenizer& tok, const ControlLabels& labels, const std::string& text) {
  auto control = [&](const std::string& kind, const std::string& value) -> std::string {
    if (value.empty()) return "";
    const std::string token = "<" + kind + "=" + normalize_label(value) + ">";
    if (tok.piece_id(token) < 0) {
      std::string known;
      for (const auto& [name, id] : tok.control_tokens()) {
        if (name.rfind("<" + kind + "=", 0) == 0) {
          known += (known.empty() ? "" : ", ") + name.substr(kind.size() + 2, name.size() - kind.size() - 3);
        }
      }
      throw InputError("--" + kind + " " + value + ": not in this model's vocabulary; known: " + known);
    }
    return token;
  };
  std::string prompt = control("genre", labels.genre);
  if (!prompt.empty()) prompt += "\n";
  return prompt + scene_token() + control("beat", labels.beat) + control("emotion", labels.emotion) +
         control("valence", labels.valence) + "\n" + text;
}

int Tokenizer::vocab_size() const { return sp_->size(); }
int Tokenizer::eos_id() const { return sp_->eos_id(); }
int Tokenizer::piece_id(const std::string& piece) const { return sp_->piece_id(piece); }
std::string Tokenizer::piece(int id) const { return sp_->piece(id); }

}  // namespace plotforge
