#include "emotion/vader.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "base/error.h"
#include "emotion/words.h"

namespace plotforge::emotion {

namespace {

constexpr double kBoost = 0.293;      // booster and dampener words
constexpr double kCapsBoost = 0.733;  // an ALL CAPS word among mixed-case ones
constexpr double kNegation = -0.74;

const std::unordered_map<std::string, double>& boosters() {
  static const std::unordered_map<std::string, double> b = [] {
    std::unordered_map<std::string, double> m;
    for (const char* w :
         {"absolutely",    "amazingly",  "awfully",   "completely", "considerable", "considerably", "decidedly",
          "deeply",        "effing",     "enormous",  "enormously", "entirely",     "especially",   "exceptional",
          "exceptionally", "extreme",    "extremely", "fabulously", "flipping",     "flippin",      "frackin",
          "fracking",      "fricking",   "frickin",   "frigging",   "friggin",      "fully",        "fuckin",
          "fucking",       "fuggin",     "fugging",   "greatly",    "hella",        "highly",       "hugely",
          "incredible",    "incredibly", "intensely", "major",      "majorly",      "more",         "most",
          "particularly",  "purely",     "quite",     "really",     "remarkably",   "so",           "substantially",
          "thoroughly",    "total",      "totally",   "tremendous", "tremendously", "uber",         "unbelievably",
          "unusually",     "utter",      "utterly",   "very"}) {
      m[w] = kBoost;
    }
    for (const char* w :
         {"almost",   "barely", "hardly",   "just enough", "kind of",    "kinda",        "kindof", "kind-of",
          "less",     "little", "marginal", "marginally",  "occasional", "occasionally", "partly", "scarce",
          "scarcely", "slight", "slightly", "somewhat",    "sort of",    "sorta",        "sortof", "sort-of"}) {
      m[w] = -kBoost;
    }
    return m;
  }();
  return b;
}

// The negations: these words, and any word with "n't".
const std::array<const char*, 59>& negation_words() {
  static const std::array<const char*, 59> words = {
      "aint",    "arent",    "cannot",  "cant",    "couldnt", "darent",   "didnt",   "doesnt",    "ain't",    "aren't",
      "can't",   "couldn't", "daren't", "didn't",  "doesn't", "dont",     "hadnt",   "hasnt",     "havent",   "isnt",
      "mightnt", "mustnt",   "neither", "don't",   "hadn't",  "hasn't",   "haven't", "isn't",     "mightn't", "mustn't",
      "neednt",  "needn't",  "never",   "none",    "nope",    "nor",      "not",     "nothing",   "nowhere",  "oughtnt",
      "shant",   "shouldnt", "uhuh",    "wasnt",   "werent",  "oughtn't", "shan't",  "shouldn't", "uh-uh",    "wasn't",
      "weren't", "without",  "wont",    "wouldnt", "won't",   "wouldn't", "rarely",  "seldom",    "despite"};
  return words;
}

// Multi-word phrases whose valence replaces the word's.
const std::unordered_map<std::string, double>& special_cases() {
  static const std::unordered_map<std::string, double> m = {
      {"the shit", 3},    {"the bomb", 3},         {"bad ass", 1.5},  {"badass", 1.5},       {"bus stop", 0.0},
      {"yeah right", -2}, {"kiss of death", -1.5}, {"to die for", 3}, {"beating heart", 3.5}};
  return m;
}

// Python's str.isupper() on ASCII letters: some cased character, none lower
// case (bytes of other characters count as uncased).
bool is_upper(const std::string& w) {
  bool cased = false;
  for (unsigned char c : w) {
    if (c >= 'a' && c <= 'z') return false;
    if (c >= 'A' && c <= 'Z') cased = true;
  }
  return cased;
}

std::size_t code_points(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Whitespace as Python's str.split() sees it, in ASCII and U+00A0/U+0085.
inline std::size_t space_at(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c > ' ' && c != 0xC2) return 0;  // the common case: no space can start here
  if (c == ' ' || (c >= 9 && c <= 13) || (c >= 0x1c && c <= 0x1f)) return 1;
  if (c == 0xC2 && i + 1 < s.size()) {
    const auto d = static_cast<unsigned char>(s[i + 1]);
    if (d == 0xA0 || d == 0x85) return 2;
  }
  return 0;
}

// The tokens: split at whitespace, punctuation stripped from both ends
// unless that leaves two characters or fewer (an emoticon stays whole).
void words_of(std::string_view text, std::vector<std::string>& out, std::size_t& count) {
  count = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t sp;
    while (i < text.size() && (sp = space_at(text, i)) > 0) i += sp;
    const std::size_t start = i;
    while (i < text.size() && space_at(text, i) == 0) ++i;
    if (i == start) break;
    const std::string_view token = text.substr(start, i - start);
    const std::string_view bare = strip_punctuation(token);
    const std::string_view w = code_points(bare) <= 2 ? token : bare;
    if (count == out.size()) out.emplace_back();
    out[count++].assign(w.data(), w.size());
  }
}

// What the rules know of a word besides its valence, in one lookup.
struct WordRole {
  double boost = 0;
  bool booster = false, idiom = false, negation = false;
};

const std::unordered_map<std::string, WordRole>& roles() {
  static const std::unordered_map<std::string, WordRole> m = [] {
    std::unordered_map<std::string, WordRole> r;
    for (const auto& [w, b] : boosters()) {
      r[w].boost = b;
      r[w].booster = true;
    }
    for (const char* w :
         {"the", "shit",  "bomb", "bad", "ass", "badass",  "bus",   "stop", "yeah",   "right", "kiss",
          "of",  "death", "to",   "die", "for", "beating", "heart", "just", "enough", "kind",  "sort"}) {
      r[w].idiom = true;
    }
    for (const char* w : negation_words()) r[w].negation = true;
    return r;
  }();
  return m;
}

double round_to(double x, int digits) {
  const double f = std::pow(10.0, digits);
  return std::nearbyint(x * f) / f;  // half to even, as Python's round() on the nearest double
}

}  // namespace

Vader Vader::load(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw InputError(path + ": cannot read the VADER lexicon");
  std::ostringstream text;
  text << f.rdbuf();
  return parse(text.str(), path);
}

Vader Vader::parse(std::string_view text, const std::string& path) {
  Vader v;
  std::string line;
  int n = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t stop = text.find('\n', start);
    if (stop == std::string_view::npos) stop = text.size();
    line.assign(text.substr(start, stop - start));
    start = stop + 1;
    ++n;
    // Surrounding whitespace goes, as the reference strips each line.
    const auto first = line.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) continue;
    line = line.substr(first, line.find_last_not_of(" \t\r\n") - first + 1);
    const auto tab = line.find('\t');
    if (tab == std::string::npos) {
      throw InputError(path + ":" + std::to_string(n) + ": expected 'token<TAB>mean valence'");
    }
    const std::string token = line.substr(0, tab);
    const auto tab2 = line.find('\t', tab + 1);
    const std::string mean = line.substr(tab + 1, tab2 == std::string::npos ? std::string::npos : tab2 - tab - 1);
    char* end = nullptr;
    const double value = std::strtod(mean.c_str(), &end);
    if (mean.empty() || end != mean.c_str() + mean.size() || !std::isfinite(value)) {
      throw InputError(path + ":" + std::to_string(n) + ": the valence '" + mean + "' of '" + token +
                       "' is not a number");
    }
    v.valence_[token] = value;  // a later line wins, as in the reference
  }
  if (v.valence_.empty()) throw InputError(path + ": the VADER lexicon is empty");
  v.index();
  return v;
}

// The words the rules name, as bits of Word::is, so that the rules test a
// bit of the one lookup per word instead of comparing strings.
enum : std::uint16_t {
  kNo = 1 << 0,
  kLeast = 1 << 1,
  kKind = 1 << 2,
  kOf = 1 << 3,
  kNever = 1 << 4,
  kSoOrThis = 1 << 5,
  kWithout = 1 << 6,
  kDoubt = 1 << 7,
  kAtOrVery = 1 << 8,
  kOrOrNor = 1 << 9,
  kBut = 1 << 10,
};

static std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

const Vader::Word* Vader::find(std::string_view lower, std::uint64_t hash) const {
  for (std::uint64_t k = hash & mask_;; k = (k + 1) & mask_) {
    const Slot& s = table_[k];
    if (s.key.empty()) return nullptr;
    if (s.hash == hash && s.key == lower) return &s.word;
  }
}

void Vader::index() {
  rated_ = valence_.size();
  const std::pair<const char*, std::uint16_t> named[] = {
      {"no", kNo},         {"least", kLeast},   {"kind", kKind},       {"of", kOf},       {"never", kNever},
      {"so", kSoOrThis},   {"this", kSoOrThis}, {"without", kWithout}, {"doubt", kDoubt}, {"at", kAtOrVery},
      {"very", kAtOrVery}, {"or", kOrOrNor},    {"nor", kOrOrNor},     {"but", kBut}};
  std::unordered_map<std::string, Word> words;
  for (const auto& [w, bit] : named) words[w].is |= bit;
  for (const auto& [w, r] : roles()) {
    Word& e = words[w];
    e.boost = r.boost;
    e.booster = r.booster;
    e.idiom = r.idiom;
    e.negation = r.negation;
  }
  for (const auto& [w, v] : valence_) words[w].valence = &v;
  std::uint64_t size = 16;
  while (size < 2 * words.size()) size *= 2;
  table_.assign(size, Slot{});
  mask_ = size - 1;
  for (auto& [w, e] : words) {
    const std::uint64_t h = fnv1a(w);
    std::uint64_t k = h & mask_;
    while (!table_[k].key.empty()) k = (k + 1) & mask_;
    table_[k] = Slot{h, w, e};
  }
}

// The shipped lexicon's bytes, assembled into the binary, so that no
// program needs the source tree beside it at run time.
asm(".section .rodata\n"
    ".balign 8\n"
    "plotforge_vader_lexicon_begin:\n"
    ".incbin \"" PLOTFORGE_VADER_LEXICON
    "\"\n"
    "plotforge_vader_lexicon_end:\n"
    ".previous\n");
extern "C" const char plotforge_vader_lexicon_begin[], plotforge_vader_lexicon_end[];

const Vader& Vader::builtin() {
  static const Vader v = parse(
      std::string_view(plotforge_vader_lexicon_begin, plotforge_vader_lexicon_end - plotforge_vader_lexicon_begin),
      "emotion/lexicons/vader/vader_lexicon.txt");
  return v;
}

Polarity Vader::score(std::string_view raw) const {
  // The text as the reference scores it: surrounding whitespace stripped.
  std::size_t a = 0, b = raw.size();
  while (a < b && space_at(raw, a)) a += space_at(raw, a);
  while (b > a && (std::isspace(static_cast<unsigned char>(raw[b - 1])) ||
                   (static_cast<unsigned char>(raw[b - 1]) >= 0x1c && static_cast<unsigned char>(raw[b - 1]) <= 0x1f)))
    --b;
  const std::string_view text = raw.substr(a, b - a);
  // Per word, once: its lower case, lexicon entry, booster value, capitals.
  thread_local std::vector<std::string> words, low;
  std::size_t n = 0;
  words_of(text, words, n);
  if (low.size() < n) low.resize(n);
  static const Word unknown;
  thread_local std::vector<const Word*> info;  // what the lexicon and the rules know of each word
  thread_local std::vector<char> upper, negates;
  info.assign(n, &unknown);
  upper.assign(n, 0);
  negates.assign(n, 0);
  std::size_t caps = 0;
  bool any_idiom = false;
  for (std::size_t i = 0; i < n; ++i) {
    // Lower case and hash in one pass.
    const std::string& w = words[i];
    std::string& l = low[i];
    l.resize(w.size());
    std::uint64_t h = 1469598103934665603ull;
    for (std::size_t c = 0; c < w.size(); ++c) {
      char ch = w[c];
      if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
      l[c] = ch;
      h = (h ^ static_cast<unsigned char>(ch)) * 1099511628211ull;
    }
    if (const Word* found = find(l, h)) info[i] = found;
    negates[i] = info[i]->negation || low[i].find("n't") != std::string::npos;
    upper[i] = is_upper(words[i]);
    caps += upper[i];
    any_idiom = any_idiom || info[i]->idiom;
  }
  const bool cap_diff = caps > 0 && caps < n;  // some words ALL CAPS, not all
  auto in_lexicon = [&](std::size_t j) { return info[j]->valence != nullptr; };
  auto booster = [&](std::size_t j, double valence) {
    if (!info[j]->booster) return 0.0;
    double s = valence < 0 ? -info[j]->boost : info[j]->boost;
    if (upper[j] && cap_diff) s += valence > 0 ? kCapsBoost : -kCapsBoost;
    return s;
  };
  auto negation = [&](double valence, std::size_t start, std::size_t i) {
    auto is = [&](std::size_t back, std::uint16_t word) { return (info[i - back]->is & word) != 0; };
    if (start == 0) {
      if (negates[i - 1]) valence *= kNegation;
    } else if (start == 1) {
      if (is(2, kNever) && is(1, kSoOrThis)) {
        valence *= 1.25;
      } else if (is(2, kWithout) && is(1, kDoubt)) {
      } else if (negates[i - 2]) {
        valence *= kNegation;
      }
    } else {
      if ((is(3, kNever) && is(2, kSoOrThis)) || is(1, kSoOrThis)) {
        valence *= 1.25;
      } else if (is(3, kWithout) && (is(2, kDoubt) || is(1, kDoubt))) {
      } else if (negates[i - 3]) {
        valence *= kNegation;
      }
    }
    return valence;
  };
  auto idioms = [&](double valence, std::size_t i) {
    bool near = false;
    for (std::size_t j = i - 3; j <= std::min(i + 2, n - 1); ++j) near = near || info[j]->idiom;
    if (!any_idiom || !near) return valence;
    const std::string one_zero = low[i - 1] + " " + low[i], two_one_zero = low[i - 2] + " " + one_zero,
                      two_one = low[i - 2] + " " + low[i - 1], three_two_one = low[i - 3] + " " + two_one,
                      three_two = low[i - 3] + " " + low[i - 2];
    for (const std::string* seq : {&one_zero, &two_one_zero, &two_one, &three_two_one, &three_two}) {
      const auto it = special_cases().find(*seq);
      if (it != special_cases().end()) {
        valence = it->second;
        break;
      }
    }
    if (n - 1 > i) {
      const auto it = special_cases().find(low[i] + " " + low[i + 1]);
      if (it != special_cases().end()) valence = it->second;
    }
    if (n - 1 > i + 1) {
      const auto it = special_cases().find(low[i] + " " + low[i + 1] + " " + low[i + 2]);
      if (it != special_cases().end()) valence = it->second;
    }
    for (const std::string* gram : {&three_two_one, &three_two, &two_one}) {
      const auto it = boosters().find(*gram);
      if (it != boosters().end()) valence += it->second;
    }
    return valence;
  };

  thread_local std::vector<double> sentiments;
  sentiments.clear();
  for (std::size_t i = 0; i < n; ++i) {
    if (info[i]->booster || (i + 1 < n && (info[i]->is & kKind) && (info[i + 1]->is & kOf))) {
      sentiments.push_back(0);
      continue;
    }
    double valence = 0;
    if (info[i]->valence) {
      valence = *info[i]->valence;
      auto word_is = [&](std::size_t j, std::uint16_t w) { return (info[j]->is & w) != 0; };
      if (word_is(i, kNo) && i != n - 1 && in_lexicon(i + 1)) valence = 0.0;
      if ((i > 0 && word_is(i - 1, kNo)) || (i > 1 && word_is(i - 2, kNo)) ||
          (i > 2 && word_is(i - 3, kNo) && word_is(i - 1, kOrOrNor))) {
        valence = *info[i]->valence * kNegation;
      }
      if (upper[i] && cap_diff) valence += valence > 0 ? kCapsBoost : -kCapsBoost;
      for (std::size_t start = 0; start < 3; ++start) {
        if (i > start && !in_lexicon(i - (start + 1))) {
          double s = booster(i - (start + 1), valence);
          if (start == 1 && s != 0) s *= 0.95;
          if (start == 2 && s != 0) s *= 0.9;
          valence += s;
          valence = negation(valence, start, i);
          if (start == 2) valence = idioms(valence, i);
        }
      }
      // "least" negates, unless "at least" or "very least".
      if (i > 1 && !in_lexicon(i - 1) && word_is(i - 1, kLeast)) {
        if (!word_is(i - 2, kAtOrVery)) valence *= kNegation;
      } else if (i > 0 && !in_lexicon(i - 1) && word_is(i - 1, kLeast)) {
        valence *= kNegation;
      }
    }
    sentiments.push_back(valence);
  }

  // "but": halve what comes before it, raise what follows by half. The
  // reference finds each value's position with list.index(), i.e. its first
  // occurrence, and so may scale one position twice and skip another; that
  // is kept, for parity.
  const auto but = std::find_if(info.begin(), info.begin() + n, [](const Word* w) { return (w->is & kBut) != 0; });
  if (but != info.begin() + n) {
    const std::size_t bi = static_cast<std::size_t>(but - info.begin());
    for (std::size_t k = 0; k < sentiments.size(); ++k) {
      const double value = sentiments[k];
      const std::size_t si =
          static_cast<std::size_t>(std::find(sentiments.begin(), sentiments.end(), value) - sentiments.begin());
      if (si < bi) {
        sentiments[si] = value * 0.5;
      } else if (si > bi) {
        sentiments[si] = value * 1.5;
      }
    }
  }

  Polarity p;
  if (sentiments.empty()) return p;
  double sum = 0;
  for (double s : sentiments) sum += s;
  const int exclaims = std::min<int>(4, static_cast<int>(std::count(text.begin(), text.end(), '!')));
  const int questions = static_cast<int>(std::count(text.begin(), text.end(), '?'));
  const double emphasis = exclaims * 0.292 + (questions > 1 ? (questions <= 3 ? questions * 0.18 : 0.96) : 0.0);
  if (sum > 0) {
    sum += emphasis;
  } else if (sum < 0) {
    sum -= emphasis;
  }
  const double compound = std::clamp(sum / std::sqrt(sum * sum + 15), -1.0, 1.0);
  double pos = 0, neg = 0;
  int neutral = 0;
  for (double s : sentiments) {
    if (s > 0) pos += s + 1;
    if (s < 0) neg += s - 1;
    if (s == 0) ++neutral;
  }
  if (pos > std::fabs(neg)) {
    pos += emphasis;
  } else if (pos < std::fabs(neg)) {
    neg -= emphasis;
  }
  const double total = pos + std::fabs(neg) + neutral;
  p.compound = round_to(compound, 4);
  p.pos = round_to(std::fabs(pos / total), 3);
  p.neg = round_to(std::fabs(neg / total), 3);
  p.neu = round_to(std::fabs(neutral / total), 3);
  return p;
}

}  // namespace plotforge::emotion
