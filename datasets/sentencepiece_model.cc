#include "datasets/sentencepiece_model.h"

#include <algorithm>
#include <cctype>
#include <cfloat>
#include <cstring>
#include <queue>

#include "base/error.h"
#include "base/protobuf_wire.h"

namespace plotforge {

namespace {

// Minimal protobuf wire-format reader: enough for ModelProto.
class Wire {
 public:
  Wire(std::string_view b, const std::string& source) : b_(b), source_(source) {}
  bool done() const { return pos_ >= b_.size(); }
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= b_.size()) fail("truncated varint");
      const auto c = static_cast<unsigned char>(b_[pos_++]);
      v |= static_cast<std::uint64_t>(c & 0x7F) << shift;
      if (!(c & 0x80)) return v;
    }
    fail("overlong varint");
  }
  std::string_view bytes() {
    const std::uint64_t n = varint();
    if (n > b_.size() - pos_) fail("length past the end");
    const std::string_view s = b_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  float fixed32() {
    if (b_.size() - pos_ < 4) fail("truncated float");
    float f;
    std::memcpy(&f, b_.data() + pos_, 4);
    pos_ += 4;
    return f;
  }
  void skip(int wire_type) {
    switch (wire_type) {
      case 0:
        varint();
        break;
      case 1:
        if (b_.size() - pos_ < 8) fail("truncated");
        pos_ += 8;
        break;
      case 2:
        bytes();
        break;
      case 5:
        if (b_.size() - pos_ < 4) fail("truncated");
        pos_ += 4;
        break;
      default:
        fail("unknown wire type " + std::to_string(wire_type));
    }
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(source_ + ": not a SentencePiece model (" + what + " at byte " + std::to_string(pos_) + ")");
  }

 private:
  std::string_view b_;
  std::size_t pos_ = 0;
  const std::string& source_;
};

std::size_t utf8_len(unsigned char c) {
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) return 2;
  if ((c & 0xF0) == 0xE0) return 3;
  if ((c & 0xF8) == 0xF0) return 4;
  return 1;
}

constexpr std::string_view kSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's escaped space

}  // namespace

SentencePieceModel SentencePieceModel::parse(std::string_view bytes, const std::string& source) {
  SentencePieceModel m;
  std::string norm_name, charsmap;
  bool add_dummy_prefix = true, remove_extra_ws = true, escape_ws = true;
  int model_type = 1;
  Wire w(bytes, source);
  while (!w.done()) {
    const std::uint64_t key = w.varint();
    const int field = static_cast<int>(key >> 3), wt = static_cast<int>(key & 7);
    if (field == 1 && wt == 2) {
      Wire p(w.bytes(), source);
      Piece piece;
      while (!p.done()) {
        const std::uint64_t k = p.varint();
        const int f = static_cast<int>(k >> 3), t = static_cast<int>(k & 7);
        if (f == 1 && t == 2)
          piece.text = std::string(p.bytes());
        else if (f == 2 && t == 5)
          piece.score = p.fixed32();
        else if (f == 3 && t == 0)
          piece.type = static_cast<Type>(p.varint());
        else
          p.skip(t);
      }
      if (piece.text.empty()) w.fail("empty piece");
      if (piece.type < Type::kNormal || piece.type > Type::kByte) w.fail("unknown piece type");
      if (piece.type == Type::kByte &&
          !(piece.text.size() == 6 && piece.text.compare(0, 3, "<0x") == 0 &&
            std::isxdigit(static_cast<unsigned char>(piece.text[3])) &&
            std::isxdigit(static_cast<unsigned char>(piece.text[4])) && piece.text[5] == '>')) {
        w.fail("byte piece '" + piece.text.substr(0, 16) + "' is not <0xHH>");
      }
      m.pieces_.push_back(std::move(piece));
    } else if (field == 2 && wt == 2) {  // TrainerSpec
      Wire t(w.bytes(), source);
      while (!t.done()) {
        const std::uint64_t k = t.varint();
        const int f = static_cast<int>(k >> 3), ty = static_cast<int>(k & 7);
        if (f == 3 && ty == 0)
          model_type = static_cast<int>(t.varint());
        else if (f == 35 && ty == 0)
          m.byte_fallback_ = t.varint() != 0;
        else if (f == 40 && ty == 0)
          m.unk_id_ = static_cast<int>(static_cast<std::int64_t>(t.varint()));
        else if (f == 41 && ty == 0)
          m.bos_id_ = static_cast<int>(static_cast<std::int64_t>(t.varint()));
        else if (f == 42 && ty == 0)
          m.eos_id_ = static_cast<int>(static_cast<std::int64_t>(t.varint()));
        else if (f == 44 && ty == 2)
          m.unk_surface_ = std::string(t.bytes());
        else
          t.skip(ty);
      }
    } else if (field == 3 && wt == 2) {  // NormalizerSpec
      Wire n(w.bytes(), source);
      while (!n.done()) {
        const std::uint64_t k = n.varint();
        const int f = static_cast<int>(k >> 3), ty = static_cast<int>(k & 7);
        if (f == 1 && ty == 2)
          norm_name = std::string(n.bytes());
        else if (f == 2 && ty == 2)
          charsmap = std::string(n.bytes());
        else if (f == 3 && ty == 0)
          add_dummy_prefix = n.varint() != 0;
        else if (f == 4 && ty == 0)
          remove_extra_ws = n.varint() != 0;
        else if (f == 5 && ty == 0)
          escape_ws = n.varint() != 0;
        else
          n.skip(ty);
      }
    } else {
      w.skip(wt);
    }
  }
  if (m.pieces_.empty()) w.fail("no pieces");
  if (model_type == 1)
    m.algorithm_ = Algorithm::kUnigram;
  else if (model_type == 2)
    m.algorithm_ = Algorithm::kBpe;
  else if (model_type == 4)
    m.algorithm_ = Algorithm::kChar;
  else
    throw InputError(source + ": SentencePiece model type " + std::to_string(model_type) +
                     " is not supported (unigram, bpe and char are); retrain with 'plotforge tokenizer train'");
  // A dummy prefix is kept (Llama's tokenizers have one): it changes how a
  // line starts, not the text a round trip gives back.
  if (!charsmap.empty() || remove_extra_ws || !escape_ws) {
    throw InputError(source + ": normalization '" + norm_name +
                     "' would not keep a script's layout (plotforge reads identity normalization without "
                     "whitespace folding); retrain with 'plotforge tokenizer train'");
  }
  m.add_dummy_prefix_ = add_dummy_prefix;
  for (int id : {m.unk_id_, m.bos_id_, m.eos_id_}) {
    if (id >= m.size()) w.fail("special id out of range");
  }
  m.build(source);
  return m;
}

void SentencePieceModel::build(const std::string& source) {
  min_score_ = FLT_MAX;
  max_score_ = FLT_MIN;  // as SentencePiece initializes it
  std::fill(std::begin(byte_ids_), std::end(byte_ids_), -1);
  std::vector<std::pair<std::string_view, int>> matchable;
  for (int i = 0; i < size(); ++i) {
    const Piece& p = pieces_[i];
    if (p.type == Type::kNormal) {
      min_score_ = std::min(min_score_, p.score);
      max_score_ = std::max(max_score_, p.score);
    }
    const bool match = p.type == Type::kNormal || p.type == Type::kUserDefined || p.type == Type::kUnused;
    if (!(match ? matchable_ : reserved_).emplace(p.text, i).second) {
      throw InputError(source + ": piece '" + p.text.substr(0, 32) + "' appears twice; the model is corrupt");
    }
    if (match) matchable.emplace_back(p.text, i);
    if (p.type == Type::kUserDefined) user_symbols_.push_back(p.text);
    if (p.type == Type::kUnknown) unk_id_ = i;
    if (p.type == Type::kByte) byte_ids_[std::stoi(p.text.substr(3, 2), nullptr, 16)] = i;  // <0xHH>, checked in parse
  }
  std::sort(user_symbols_.begin(), user_symbols_.end(),
            [](std::string_view a, std::string_view b) { return a.size() > b.size(); });
  // Trie: built level by level from the sorted pieces so each node's
  // children are contiguous.
  std::sort(matchable.begin(), matchable.end());
  struct Build {
    std::vector<std::pair<std::uint8_t, std::vector<std::size_t>>> kids;
  };
  nodes_.assign(1, Node{});
  std::fill(std::begin(root_table_), std::end(root_table_), 0u);
  // Breadth-first: (node, depth, range of pieces sharing the prefix).
  struct Item {
    std::uint32_t node;
    std::size_t depth, begin, end;
  };
  std::vector<Item> queue = {{0, 0, 0, matchable.size()}};
  for (std::size_t qi = 0; qi < queue.size(); ++qi) {
    const Item it = queue[qi];
    std::size_t i = it.begin;
    // A piece equal to the prefix ends here (sorted first).
    if (i < it.end && matchable[i].first.size() == it.depth) {
      nodes_[it.node].id = matchable[i].second;
      ++i;
    }
    nodes_[it.node].first_child = static_cast<std::uint32_t>(edge_byte_.size());
    std::vector<Item> children;
    while (i < it.end) {
      const auto byte = static_cast<std::uint8_t>(matchable[i].first[it.depth]);
      std::size_t j = i;
      while (j < it.end && static_cast<std::uint8_t>(matchable[j].first[it.depth]) == byte) ++j;
      const auto child = static_cast<std::uint32_t>(nodes_.size());
      nodes_.push_back(Node{});
      edge_byte_.push_back(byte);
      edge_target_.push_back(child);
      if (it.node == 0) root_table_[byte] = child;
      children.push_back({child, it.depth + 1, i, j});
      i = j;
    }
    nodes_[it.node].child_count = static_cast<std::uint16_t>(children.size());
    queue.insert(queue.end(), children.begin(), children.end());
  }
}

int SentencePieceModel::piece_id(std::string_view piece) const {
  if (auto it = reserved_.find(piece); it != reserved_.end()) return it->second;
  if (auto it = matchable_.find(piece); it != matchable_.end()) return it->second;
  return -1;
}

std::size_t SentencePieceModel::user_symbol_at(std::string_view s) const {
  for (std::string_view u : user_symbols_) {
    if (s.substr(0, u.size()) == u) return u.size();
  }
  return 0;
}

void SentencePieceModel::emit(std::string_view surface, int id, std::vector<int>* out, bool* prev_unk) const {
  if (id != unk_id_) {
    out->push_back(id);
    *prev_unk = false;
    return;
  }
  if (byte_fallback_) {
    for (unsigned char c : surface) out->push_back(byte_ids_[c] >= 0 ? byte_ids_[c] : unk_id_);
    *prev_unk = false;
    return;
  }
  if (!*prev_unk) out->push_back(unk_id_);  // a run of unknowns is one <unk>
  *prev_unk = true;
}

void SentencePieceModel::encode(std::string_view text, std::vector<int>* ids) const {
  if (text.empty()) return;
  // Identity normalization: only spaces change, to U+2581.
  std::string s;
  s.reserve(text.size() + 16);
  if (add_dummy_prefix_) s.append(kSpace);
  for (char c : text) {
    if (c == ' ')
      s.append(kSpace);
    else
      s.push_back(c);
  }
  switch (algorithm_) {
    case Algorithm::kUnigram:
      encode_unigram(s, ids);
      break;
    case Algorithm::kBpe:
      encode_bpe(s, ids);
      break;
    case Algorithm::kChar:
      encode_char(s, ids);
      break;
  }
}

void SentencePieceModel::encode_unigram(std::string_view s, std::vector<int>* out) const {
  // Viterbi over byte positions that start characters. Ties keep the path
  // found first (earliest start), as SentencePiece's lattice does.
  const std::size_t n = s.size();
  const float unk_score = min_score_ - 10.0f;
  std::vector<float> best(n + 1, 0.f);
  std::vector<std::int32_t> from(n + 1, -1), via(n + 1, -1);
  std::vector<char> reached(n + 1, 0);
  reached[0] = 1;
  auto relax = [&](std::size_t end, float cand, std::size_t start, int id) {
    if (!reached[end] || cand > best[end]) {
      best[end] = cand;
      from[end] = static_cast<std::int32_t>(start);
      via[end] = id;
      reached[end] = 1;
    }
  };
  for (std::size_t pos = 0; pos < n; pos += utf8_len(static_cast<unsigned char>(s[pos]))) {
    if (!reached[pos]) continue;
    const std::size_t char_len = std::min(utf8_len(static_cast<unsigned char>(s[pos])), n - pos);
    const float base = best[pos];
    bool has_single = false;
    std::uint32_t node = root_table_[static_cast<unsigned char>(s[pos])];
    std::size_t end = pos + 1;
    int chars = 0;
    std::size_t next_char_end = pos + char_len;
    while (node != 0) {
      if (end == next_char_end) {
        ++chars;
        const int id = nodes_[node].id;
        if (id >= 0 && pieces_[id].type != Type::kUnused) {
          const float score = pieces_[id].type == Type::kUserDefined ? chars * max_score_ + 1.0f : pieces_[id].score;
          relax(end, base + score, pos, id);
          if (chars == 1) has_single = true;
        }
        if (end < n) next_char_end = end + std::min(utf8_len(static_cast<unsigned char>(s[end])), n - end);
      }
      if (end >= n) break;
      // Walk one more byte.
      const Node& nd = nodes_[node];
      const auto b = static_cast<std::uint8_t>(s[end]);
      std::uint32_t next = 0;
      for (std::uint32_t k = nd.first_child; k < nd.first_child + nd.child_count; ++k) {
        if (edge_byte_[k] == b) {
          next = edge_target_[k];
          break;
        }
        if (edge_byte_[k] > b) break;
      }
      node = next;
      ++end;
    }
    if (!has_single) relax(pos + char_len, base + unk_score, pos, unk_id_);
  }
  std::vector<std::pair<std::size_t, std::size_t>> path;  // (start, end)
  for (std::size_t e = n; e > 0; e = static_cast<std::size_t>(from[e])) path.emplace_back(from[e], e);
  bool prev_unk = false;
  for (auto it = path.rbegin(); it != path.rend(); ++it) {
    emit(s.substr(it->first, it->second - it->first), via[it->second], out, &prev_unk);
  }
}

void SentencePieceModel::encode_bpe(std::string_view s, std::vector<int>* out) const {
  struct Symbol {
    int prev, next;
    bool freeze;
    std::string_view piece;
  };
  struct Pair {
    int left, right;
    float score;
    std::size_t size;
  };
  auto worse = [](const Pair& a, const Pair& b) {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  };
  std::priority_queue<Pair, std::vector<Pair>, decltype(worse)> agenda(worse);
  std::vector<Symbol> sym;
  for (std::size_t pos = 0; pos < s.size();) {
    std::size_t len = user_symbol_at(s.substr(pos));
    const bool freeze = len > 0;
    if (!freeze) len = std::min(utf8_len(static_cast<unsigned char>(s[pos])), s.size() - pos);
    const int idx = static_cast<int>(sym.size());
    sym.push_back({idx - 1, pos + len < s.size() ? idx + 1 : -1, freeze, s.substr(pos, len)});
    pos += len;
  }
  auto maybe_add = [&](int l, int r) {
    if (l < 0 || r < 0 || sym[l].freeze || sym[r].freeze) return;
    const std::string_view merged(sym[l].piece.data(), sym[l].piece.size() + sym[r].piece.size());
    const auto it = matchable_.find(merged);
    if (it == matchable_.end()) return;
    agenda.push({l, r, pieces_[it->second].score, merged.size()});
  };
  for (std::size_t i = 1; i < sym.size(); ++i) maybe_add(static_cast<int>(i) - 1, static_cast<int>(i));
  while (!agenda.empty()) {
    const Pair top = agenda.top();
    agenda.pop();
    Symbol& l = sym[top.left];
    Symbol& r = sym[top.right];
    if (l.piece.empty() || r.piece.empty() || l.piece.size() + r.piece.size() != top.size) continue;
    l.piece = std::string_view(l.piece.data(), l.piece.size() + r.piece.size());
    l.next = r.next;
    if (r.next >= 0) sym[r.next].prev = top.left;
    r.piece = std::string_view();
    maybe_add(l.prev, top.left);
    maybe_add(top.left, l.next);
  }
  bool prev_unk = false;
  for (int i = sym.empty() ? -1 : 0; i != -1; i = sym[i].next) {
    const auto it = matchable_.find(sym[i].piece);
    int id = unk_id_;
    if (auto r = reserved_.find(sym[i].piece); r != reserved_.end())
      id = r->second;
    else if (it != matchable_.end())
      id = it->second;
    // Unused pieces are split back into what merged them; plotforge's
    // trainer never marks pieces unused, so this is not needed here.
    emit(sym[i].piece, id, out, &prev_unk);
  }
}

void SentencePieceModel::encode_char(std::string_view s, std::vector<int>* out) const {
  bool prev_unk = false;
  for (std::size_t pos = 0; pos < s.size();) {
    std::size_t len = user_symbol_at(s.substr(pos));
    if (len == 0) len = std::min(utf8_len(static_cast<unsigned char>(s[pos])), s.size() - pos);
    const std::string_view piece = s.substr(pos, len);
    int id = unk_id_;
    if (auto r = reserved_.find(piece); r != reserved_.end())
      id = r->second;
    else if (auto it = matchable_.find(piece); it != matchable_.end())
      id = it->second;
    emit(piece, id, out, &prev_unk);
    pos += len;
  }
}

std::string SentencePieceModel::decode(const int* ids, std::size_t n) const {
  std::string out, bytes;
  auto flush_bytes = [&] {
    // Byte pieces form UTF-8; a byte that does not becomes U+FFFD.
    for (std::size_t i = 0; i < bytes.size();) {
      const auto c = static_cast<unsigned char>(bytes[i]);
      std::size_t len = utf8_len(c);
      bool ok = (c < 0x80 || (c >= 0xC2 && c <= 0xF4)) && i + len <= bytes.size();
      for (std::size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(bytes[i + k]) & 0xC0) == 0x80;
      if (ok) {
        out.append(bytes, i, len);
        i += len;
      } else {
        out.append("\xEF\xBF\xBD");
        ++i;
      }
    }
    bytes.clear();
  };
  for (std::size_t k = 0; k < n; ++k) {
    const int id = ids[k];
    if (id < 0 || id >= size()) continue;
    const Piece& p = pieces_[id];
    if (p.type == Type::kByte) {
      bytes.push_back(static_cast<char>(std::stoi(p.text.substr(3, 2), nullptr, 16)));
      continue;
    }
    flush_bytes();
    if (p.type == Type::kControl) continue;
    if (p.type == Type::kUnknown) {
      out += unk_surface_;
      continue;
    }
    for (std::size_t i = 0; i < p.text.size();) {
      if (p.text.compare(i, kSpace.size(), kSpace) == 0) {
        out.push_back(' ');
        i += kSpace.size();
      } else {
        out.push_back(p.text[i++]);
      }
    }
  }
  flush_bytes();
  // SentencePiece drops the dummy prefix's space from the start of the text.
  if (add_dummy_prefix_ && !out.empty() && out[0] == ' ') out.erase(0, 1);
  return out;
}

std::string SentencePieceModel::with_pieces(std::string_view bytes,
                                            const std::vector<std::pair<std::string, Type>>& pieces,
                                            const std::string& source) {
  const SentencePieceModel m = parse(bytes, source);
  std::string out(bytes);
  for (const auto& [text, type] : pieces) {
    if (m.piece_id(text) >= 0) throw InputError(source + ": already has the piece " + text);
    // SentencePiece.pieces: 1: piece (string), 2: score (float), 3: type (enum).
    std::string piece;
    protobuf::put_bytes(&piece, 1, text);
    piece.push_back(0x15);
    protobuf::put_fixed(&piece, 0.0f);
    piece.push_back(0x18);
    protobuf::put_varint(&piece, static_cast<std::uint64_t>(type));
    protobuf::put_bytes(&out, 1, piece);  // ModelProto field 1
  }
  parse(out, source);  // what we wrote reads back
  return out;
}

}  // namespace plotforge
