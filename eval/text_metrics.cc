#include "eval/text_metrics.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <unordered_map>

namespace plotforge {

namespace {

// n-grams as one string each (words joined by '\x1f', which words() never yields).
using Counts = std::unordered_map<std::string, int>;

Counts ngram_counts(const Words& w, int n) {
  Counts c;
  for (std::size_t i = 0; i + n <= w.size(); ++i) {
    std::string g = w[i];
    for (int k = 1; k < n; ++k) g += '\x1f' + w[i + k];
    ++c[g];
  }
  return c;
}

// What BLEU needs of a reference set for one n: the largest count of each
// n-gram in any single reference, and the reference that holds it, plus the
// second largest (so Self-BLEU can leave one sample out).
struct ReferenceNgrams {
  struct Best {
    int max = 0, owner = -1, second = 0;
  };
  std::unordered_map<std::string, Best> best;
  void add(const Counts& counts, int owner) {
    for (const auto& [g, c] : counts) {
      Best& b = best[g];
      if (c > b.max) {
        b.second = b.max;
        b.max = c;
        b.owner = owner;
      } else if (c > b.second) {
        b.second = c;
      }
    }
  }
  int clip(const std::string& g, int excluded) const {
    const auto it = best.find(g);
    if (it == best.end()) return 0;
    return it->second.owner == excluded ? it->second.second : it->second.max;
  }
};

class BleuScorer {
 public:
  BleuScorer(const std::vector<Words>& refs, int max_n) : max_n_(max_n), grams_(max_n) {
    for (std::size_t r = 0; r < refs.size(); ++r) {
      lengths_.emplace(refs[r].size(), static_cast<int>(r));
      for (int n = 1; n <= max_n; ++n) grams_[n - 1].add(ngram_counts(refs[r], n), static_cast<int>(r));
    }
  }
  // BLEU of one hypothesis; `excluded` is a reference index to leave out (-1: none).
  double score(const Words& hyp, int excluded) const {
    if (hyp.empty()) return 0;
    double log_sum = 0;
    for (int n = 1; n <= max_n_; ++n) {
      const Counts counts = ngram_counts(hyp, n);
      long matched = 0, total = 0;
      for (const auto& [g, c] : counts) {
        matched += std::min(c, grams_[n - 1].clip(g, excluded));
        total += c;
      }
      // As NLTK: no unigram match scores 0; a sample shorter than n words
      // counts as 0 / 1 before smoothing.
      if (n == 1 && matched == 0) return 0;
      total = std::max(total, 1L);
      const double p = matched > 0 ? static_cast<double>(matched) / total : 0.1 / total;
      log_sum += std::log(p) / max_n_;
    }
    // Brevity penalty against the closest reference length (shorter on ties).
    const long h = static_cast<long>(hyp.size());
    long closest = -1;
    for (const auto& [len, owner] : lengths_) {
      if (owner == excluded && lengths_.count(len) == 1) continue;
      const long l = static_cast<long>(len);
      if (closest < 0 || std::labs(l - h) < std::labs(closest - h) ||
          (std::labs(l - h) == std::labs(closest - h) && l < closest)) {
        closest = l;
      }
    }
    const double bp = closest > h ? std::exp(1.0 - static_cast<double>(closest) / h) : 1.0;
    return bp * std::exp(log_sum);
  }

 private:
  int max_n_;
  std::vector<ReferenceNgrams> grams_;
  std::multimap<std::size_t, int> lengths_;
};

}  // namespace

Words words(const std::string& text) {
  Words out;
  std::string cur;
  for (unsigned char ch : text) {
    if (std::isalnum(ch) || ch == '\'' || ch >= 0x80) {
      cur += static_cast<char>(std::tolower(ch));
      continue;
    }
    if (!cur.empty()) out.push_back(std::move(cur));
    cur.clear();
    if (!std::isspace(ch) && std::isprint(ch)) out.emplace_back(1, static_cast<char>(ch));
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

double distinct_n(const std::vector<Words>& samples, int n) {
  std::set<std::string> unique;
  long total = 0;
  for (const auto& s : samples) {
    for (const auto& [g, c] : ngram_counts(s, n)) {
      unique.insert(g);
      total += c;
    }
  }
  return total > 0 ? static_cast<double>(unique.size()) / total : 0.0;
}

double bleu(const std::vector<Words>& samples, const std::vector<Words>& references, int max_n) {
  if (samples.empty() || references.empty()) return 0;
  const BleuScorer scorer(references, max_n);
  double sum = 0;
  for (const auto& s : samples) sum += scorer.score(s, -1);
  return sum / samples.size();
}

double self_bleu(const std::vector<Words>& samples, int max_n) {
  if (samples.size() < 2) return 0;
  const BleuScorer scorer(samples, max_n);
  double sum = 0;
  for (std::size_t i = 0; i < samples.size(); ++i) sum += scorer.score(samples[i], static_cast<int>(i));
  return sum / samples.size();
}

double repetition_rate(const std::vector<Words>& samples, int n) {
  double sum = 0;
  int counted = 0;
  for (const auto& s : samples) {
    const Counts c = ngram_counts(s, n);
    long total = 0;
    for (const auto& [g, k] : c) total += k;
    if (total == 0) continue;
    sum += 1.0 - static_cast<double>(c.size()) / total;
    ++counted;
  }
  return counted ? sum / counted : 0.0;
}

}  // namespace plotforge
