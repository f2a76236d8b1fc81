#include "datasets/prepare.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <thread>

#include "base/error.h"
#include "datasets/digest.h"
#include "datasets/text_checks.h"

namespace plotforge {

namespace {

std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string basename_of(const std::string& source) {
  const std::size_t slash = source.find_last_of('/');
  return slash == std::string::npos ? source : source.substr(slash + 1);
}

// A unit of tokenization work: a line-aligned byte range of one document.
struct Piece {
  std::size_t doc, begin, end;
};

}  // namespace

std::vector<std::pair<Document, Split>> assign_splits(std::vector<Document> docs, double val_fraction) {
  if (val_fraction < 0 || val_fraction >= 1) {
    throw InputError("--val-fraction: must be in [0, 1), got " + std::to_string(val_fraction));
  }
  std::vector<std::pair<Document, Split>> out;
  if (docs.size() == 1 && val_fraction > 0) {
    Document& d = docs[0];
    std::size_t cut = static_cast<std::size_t>(std::floor(d.text.size() * (1.0 - val_fraction)));
    if (!d.scenes.empty()) {
      // The scene start nearest the cut, keeping at least one scene in train.
      std::size_t best = d.text.size();
      for (std::size_t i = 1; i < d.scenes.size(); ++i) {
        const std::size_t b = d.scenes[i].begin;
        if (best == d.text.size() || (b > cut ? b - cut : cut - b) < (best > cut ? best - cut : cut - best)) best = b;
      }
      cut = best;
    } else {
      const std::size_t nl = d.text.rfind('\n', cut);
      cut = nl == std::string::npos ? cut : nl + 1;
    }
    if (cut == 0 || cut >= d.text.size()) {
      throw InputError(d.source + ": too short to split off a validation tail; use --val-fraction 0");
    }
    Document tail;
    tail.source = d.source;
    tail.title = d.title + " (validation)";
    tail.genres = d.genres;
    tail.text = d.text.substr(cut);
    std::vector<SceneSpan> head_scenes;
    for (SceneSpan s : d.scenes) {
      if (s.begin >= cut) {
        s.begin -= cut;
        s.end -= cut;
        tail.scenes.push_back(s);
      } else {
        head_scenes.push_back(s);
      }
    }
    d.text.resize(cut);
    d.scenes = std::move(head_scenes);
    out.emplace_back(std::move(d), Split::kTrain);
    out.emplace_back(std::move(tail), Split::kValidation);
    return out;
  }
  std::vector<std::size_t> order(docs.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return fnv1a(basename_of(docs[a].source) + docs[a].title) < fnv1a(basename_of(docs[b].source) + docs[b].title);
  });
  std::size_t n_val = static_cast<std::size_t>(std::llround(val_fraction * docs.size()));
  if (val_fraction > 0 && n_val == 0) n_val = 1;
  if (n_val >= docs.size() && !docs.empty()) n_val = docs.size() - 1;
  std::vector<Split> split(docs.size(), Split::kTrain);
  for (std::size_t i = 0; i < n_val; ++i) split[order[i]] = Split::kValidation;
  for (std::size_t i = 0; i < docs.size(); ++i) out.emplace_back(std::move(docs[i]), split[i]);
  return out;
}

CorpusData tokenize_corpus(const std::vector<std::pair<Document, Split>>& docs, const Tokenizer& tok,
                           const PrepareOptions& options) {
  if (docs.empty()) throw InputError("prepare: the corpus is empty; pass --input with scripts or text");
  for (const auto& [d, s] : docs) {
    for (const auto& g : d.genres) {
      if (tok.piece_id(genre_token(g)) < 0) {
        throw InputError(d.source + ": genre '" + g + "' has no control token in tokenizer " + tok.path() +
                         "; retrain the tokenizer on a corpus that includes this file");
      }
    }
    for (const auto& s : d.scenes) {
      if (s.valence == "none" && !s.emotion_derived) continue;
      for (const auto& t : derived_label_tokens()) {
        if (tok.piece_id(t) < 0) {
          throw InputError(d.source + ": derived label token " + t + " is not in tokenizer " + tok.path() +
                           " (trained before derived labels existed); retrain it with 'plotforge tokenizer train'");
        }
      }
      break;
    }
  }
  // Cut every document at its scene boundaries, then into line-aligned
  // pieces of at most 64 KiB. Encoding is line by line, so the concatenation
  // of the pieces' tokens equals the tokens of the whole text.
  constexpr std::size_t kPieceBytes = 1 << 16;
  std::vector<Piece> pieces;
  std::vector<std::vector<std::size_t>> cuts(docs.size());
  std::size_t total_bytes = 0;
  for (std::size_t d = 0; d < docs.size(); ++d) {
    const Document& doc = docs[d].first;
    total_bytes += doc.text.size();
    std::vector<std::size_t>& c = cuts[d];
    c = {0, doc.text.size()};
    for (const auto& s : doc.scenes) {
      c.push_back(s.begin);
      c.push_back(s.end);
    }
    std::sort(c.begin(), c.end());
    c.erase(std::unique(c.begin(), c.end()), c.end());
    for (std::size_t k = 0; k + 1 < c.size(); ++k) {
      std::size_t b = c[k];
      while (b < c[k + 1]) {
        std::size_t e = std::min(c[k + 1], b + kPieceBytes);
        if (e < c[k + 1]) {
          const std::size_t nl = doc.text.rfind('\n', e);
          e = (nl == std::string::npos || nl < b) ? c[k + 1] : nl + 1;
        }
        pieces.push_back({d, b, e});
        b = e;
      }
    }
  }

  std::vector<std::vector<int>> piece_tokens(pieces.size());
  std::atomic<std::size_t> next{0}, bytes_done{0}, pieces_done{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < pieces.size(); i = next++) {
      const Piece& p = pieces[i];
      tok.encode_append(std::string_view(docs[p.doc].first.text).substr(p.begin, p.end - p.begin), &piece_tokens[i]);
      bytes_done += p.end - p.begin;
      ++pieces_done;
    }
  };
  const int threads = std::max(1, options.threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
  if (!options.quiet) {
    const auto start = std::chrono::steady_clock::now();
    while (pieces_done < pieces.size()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const double mb = bytes_done / 1e6;
      const double rate = s > 0 ? mb / s : 0;
      const double eta = rate > 0 ? (total_bytes / 1e6 - mb) / rate : 0;
      std::fprintf(stderr, "\rprepare: %zu docs, %.1f/%.1f MB, %.1f MB/s, ETA %.0fs   ", docs.size(), mb,
                   total_bytes / 1e6, rate, eta);
    }
    std::fprintf(stderr, "\n");
  }
  for (auto& t : pool) t.join();

  CorpusData c;
  c.tokenizer_model = read_file(tok.path());
  c.tokenizer_sha256 = sha256_hex(c.tokenizer_model);
  c.vocab_size = tok.vocab_size();
  c.eos_id = tok.eos_id();
  c.newline_id = tok.newline_id();
  c.control_tokens = tok.control_tokens();
  std::size_t pi = 0;
  for (std::size_t d = 0; d < docs.size(); ++d) {
    const Document& doc = docs[d].first;
    CorpusDocument cd;
    cd.token_begin = c.tokens.size();
    cd.split = docs[d].second;
    cd.title = doc.title;
    cd.source = doc.source;
    cd.genres = doc.genres;
    // Byte offset -> token offset at every cut.
    std::vector<std::pair<std::size_t, std::uint64_t>> at;
    for (; pi < pieces.size() && pieces[pi].doc == d; ++pi) {
      at.emplace_back(pieces[pi].begin, c.tokens.size());
      c.tokens.insert(c.tokens.end(), piece_tokens[pi].begin(), piece_tokens[pi].end());
    }
    at.emplace_back(doc.text.size(), c.tokens.size());
    auto token_at = [&](std::size_t byte) {
      for (const auto& [b, t] : at) {
        if (b == byte) return t;
      }
      throw std::logic_error("prepare: scene boundary is not a piece boundary");
    };
    for (const auto& s : doc.scenes) {
      CorpusScene cs;
      cs.document = static_cast<std::uint32_t>(d);
      cs.token_begin = token_at(s.begin);
      cs.token_end = token_at(s.end);
      cs.act = s.act;
      cs.beat = s.beat;
      cs.emotion = s.emotion;
      cs.valence = s.valence;
      cs.emotion_derived = s.emotion_derived;
      c.scenes.push_back(std::move(cs));
    }
    c.tokens.push_back(static_cast<std::uint32_t>(tok.eos_id()));
    cd.token_end = c.tokens.size();
    c.documents.push_back(std::move(cd));
  }
  return c;
}

void prepare_corpus(const std::vector<std::string>& inputs, const std::string& tokenizer_path, const std::string& out,
                    const PrepareOptions& options, const SceneLabeler& labeler) {
  const Tokenizer tok = Tokenizer::load(tokenizer_path);
  std::vector<Document> docs;
  for (const auto& in : inputs) {
    auto part = read_documents(in);
    for (auto& d : part) docs.push_back(std::move(d));
  }
  if (labeler) {
    for (auto& d : docs) derive_scene_labels(d, labeler);
  }
  if (docs.empty()) throw InputError("prepare: no documents found in the inputs; pass .fountain, .txt or .jsonl files");
  const CorpusData c = tokenize_corpus(assign_splits(std::move(docs), options.val_fraction), tok, options);
  write_corpus(out, c);
}

}  // namespace plotforge
