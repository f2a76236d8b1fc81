#include "datasets/loader.h"

#include <algorithm>
#include <random>

#include "base/error.h"
#include "datasets/annotations.h"

namespace plotforge {

namespace {

void check_options(const LoaderOptions& o) {
  if (o.batch_size < 1) throw InputError("batch_size: must be at least 1");
  if (o.world_size < 1 || o.rank < 0 || o.rank >= o.world_size) {
    throw InputError("rank " + std::to_string(o.rank) + " is outside world size " + std::to_string(o.world_size));
  }
}

const char* split_name(Split s) { return s == Split::kTrain ? "train" : "validation"; }

int index_of(const std::vector<std::string>& v, const std::string& x) {
  const auto it = std::find(v.begin(), v.end(), x);
  return it == v.end() ? -1 : static_cast<int>(it - v.begin());
}

}  // namespace

GlobalOrder::GlobalOrder(std::uint64_t n_items, std::uint64_t seed) : n_(n_items), seed_(seed) {}

std::uint64_t GlobalOrder::item(std::uint64_t global_sample) {
  const std::uint64_t epoch = global_sample / n_;
  if (epoch != epoch_) {
    perm_.resize(n_);
    for (std::uint64_t i = 0; i < n_; ++i) perm_[i] = i;
    // Fisher-Yates with mt19937_64: the same on every platform, unlike
    // std::shuffle, whose algorithm the standard leaves open.
    std::mt19937_64 rng(seed_ * 0x9E3779B97F4A7C15ull + epoch);
    for (std::uint64_t i = n_ - 1; i > 0; --i) {
      const std::uint64_t j = rng() % (i + 1);
      std::swap(perm_[i], perm_[j]);
    }
    epoch_ = epoch;
  }
  return perm_[global_sample % n_];
}

TokenWindowLoader::TokenWindowLoader(std::shared_ptr<const CorpusData> corpus, int context,
                                     const LoaderOptions& options)
    : corpus_(std::move(corpus)), context_(context), o_(options), order_(1, 0) {
  check_options(o_);
  if (context_ < 1) throw InputError("context: must be at least 1");
  for (const auto& d : corpus_->documents) {
    if (d.split == o_.split) {
      stream_.insert(stream_.end(), corpus_->tokens.begin() + static_cast<std::ptrdiff_t>(d.token_begin),
                     corpus_->tokens.begin() + static_cast<std::ptrdiff_t>(d.token_end));
    }
  }
  if (stream_.size() < static_cast<std::size_t>(context_) + 1) {
    throw InputError(std::string("the ") + split_name(o_.split) + " split has " + std::to_string(stream_.size()) +
                     " tokens, fewer than context+1 = " + std::to_string(context_ + 1) +
                     "; use a larger corpus, a smaller context, or another --val-fraction");
  }
  n_windows_ = (stream_.size() - 1) / static_cast<std::uint64_t>(context_);
  order_ = GlobalOrder(n_windows_, o_.seed);
  prefetcher_ = std::make_unique<Prefetcher<TokenBatch>>([this](std::uint64_t g) { return make(g); }, o_.prefetch);
}

TokenBatch TokenWindowLoader::make(std::uint64_t g) {
  TokenBatch b;
  b.index = g;
  b.batch = o_.batch_size;
  b.context = context_;
  b.inputs.resize(static_cast<std::size_t>(b.batch) * context_);
  b.targets.resize(b.inputs.size());
  const std::uint64_t first = g * o_.batch_size * o_.world_size + static_cast<std::uint64_t>(o_.rank) * o_.batch_size;
  for (int r = 0; r < b.batch; ++r) {
    const std::uint64_t start = order_.item(first + r) * context_;
    for (int t = 0; t < context_; ++t) {
      b.inputs[r * context_ + t] = static_cast<std::int32_t>(stream_[start + t]);
      b.targets[r * context_ + t] = static_cast<std::int32_t>(stream_[start + t + 1]);
    }
  }
  return b;
}

SceneLoader::SceneLoader(std::shared_ptr<const CorpusData> corpus, int max_tokens, const LoaderOptions& options)
    : corpus_(std::move(corpus)), max_tokens_(max_tokens), o_(options), order_(1, 0) {
  check_options(o_);
  if (max_tokens_ < 1) throw InputError("max_tokens: must be at least 1");
  for (std::uint32_t s = 0; s < corpus_->scenes.size(); ++s) {
    const auto& sc = corpus_->scenes[s];
    if (corpus_->documents[sc.document].split == o_.split && sc.token_end > sc.token_begin) scenes_.push_back(s);
  }
  if (scenes_.empty()) {
    throw InputError(std::string("the ") + split_name(o_.split) +
                     " split has no scenes; scene samples need scripts with scene headings");
  }
  for (const auto& d : corpus_->documents) genres_.insert(genres_.end(), d.genres.begin(), d.genres.end());
  std::sort(genres_.begin(), genres_.end());
  genres_.erase(std::unique(genres_.begin(), genres_.end()), genres_.end());
  order_ = GlobalOrder(scenes_.size(), o_.seed);
  prefetcher_ = std::make_unique<Prefetcher<SceneBatch>>([this](std::uint64_t g) { return make(g); }, o_.prefetch);
}

SceneBatch SceneLoader::make(std::uint64_t g) {
  SceneBatch b;
  b.index = g;
  b.batch = o_.batch_size;
  const std::uint64_t first = g * o_.batch_size * o_.world_size + static_cast<std::uint64_t>(o_.rank) * o_.batch_size;
  std::vector<const CorpusScene*> rows;
  std::vector<std::uint64_t> offsets;
  for (int r = 0; r < b.batch; ++r) {
    const std::uint32_t id = scenes_[order_.item(first + r)];
    const CorpusScene& sc = corpus_->scenes[id];
    rows.push_back(&sc);
    b.scene.push_back(id);
    const std::uint64_t span = sc.token_end - sc.token_begin;
    const int len = static_cast<int>(std::min<std::uint64_t>(span, max_tokens_));
    // splitmix64 of (seed, global sample): the same window on every rerun.
    std::uint64_t offset = 0;
    if (o_.scene_windows && span > static_cast<std::uint64_t>(max_tokens_)) {
      std::uint64_t z = o_.seed * 0x9E3779B97F4A7C15ull + (first + r) + 0x632BE59BD9B4E019ull;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      z ^= z >> 31;
      offset = z % (span - max_tokens_ + 1);
    }
    offsets.push_back(offset);
    b.length = std::max(b.length, len);
  }
  b.tokens.assign(static_cast<std::size_t>(b.batch) * b.length, -1);
  for (int r = 0; r < b.batch; ++r) {
    const CorpusScene& sc = *rows[r];
    const int len = static_cast<int>(std::min<std::uint64_t>(sc.token_end - sc.token_begin, max_tokens_));
    for (int t = 0; t < len; ++t) {
      b.tokens[r * b.length + t] = static_cast<std::int32_t>(corpus_->tokens[sc.token_begin + offsets[r] + t]);
    }
    b.lengths.push_back(len);
    b.beat.push_back(index_of(beat_vocabulary(), sc.beat));
    b.emotion.push_back(index_of(emotion_vocabulary(), sc.emotion));
    b.valence.push_back(index_of(valence_vocabulary(), sc.valence));
    const auto& genres = corpus_->documents[sc.document].genres;
    b.genre.push_back(genres.empty() ? -1 : index_of(genres_, genres[0]));
    b.act.push_back(sc.act);
  }
  return b;
}

}  // namespace plotforge
