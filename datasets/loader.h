// Batches for training, deterministic and shardable.
//
// Every loader defines one global order of samples from (seed, split): epoch
// e is a permutation of the split's samples drawn from seed and e. Global
// batch g holds global samples [g*B*W, (g+1)*B*W), for micro-batch B and world
// size W; rank r takes the r-th slice of B. So ranks see disjoint data that
// together cover the split, and what a run trains on does not depend on how
// many processes share it. position() is the next global batch; restoring it
// continues with exactly that batch. A background thread prefetches.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "datasets/corpus.h"

namespace plotforge {

struct LoaderOptions {
  Split split = Split::kTrain;
  int batch_size = 8;  // micro-batch per rank
  std::uint64_t seed = 1337;
  int rank = 0;
  int world_size = 1;
  int prefetch = 4;  // batches made ahead; 0 makes them on demand
  // SceneLoader: a scene longer than max_tokens yields a window of that
  // length at an offset drawn from (seed, global sample), so every epoch
  // sees other parts of long scenes; false: always the scene's start.
  bool scene_windows = false;
};

// Maps global sample indices to item indices: a fresh permutation per epoch.
class GlobalOrder {
 public:
  GlobalOrder(std::uint64_t n_items, std::uint64_t seed);
  std::uint64_t item(std::uint64_t global_sample);  // cached per epoch
  std::uint64_t size() const { return n_; }

 private:
  std::uint64_t n_, seed_;
  std::uint64_t epoch_ = ~std::uint64_t{0};
  std::vector<std::uint64_t> perm_;
};

// Next-token windows: inputs x[b, t] and targets y[b, t] = x[b, t + 1].
struct TokenBatch {
  std::uint64_t index = 0;  // global batch index
  int batch = 0, context = 0;
  std::vector<std::int32_t> inputs, targets;  // batch * context, row-major
};

// One scene per row, padded with -1 to the longest row (at most max_tokens;
// see LoaderOptions::scene_windows for longer scenes).
struct SceneBatch {
  std::uint64_t index = 0;
  int batch = 0, length = 0;
  std::vector<std::int32_t> tokens;                                       // batch * length
  std::vector<std::int32_t> lengths, beat, emotion, valence, genre, act;  // per row
  std::vector<std::uint32_t> scene;                                       // per row: index into CorpusData::scenes
};

// Runs make(g) for g = position, position+1, ... on a background thread.
template <typename Batch>
class Prefetcher {
 public:
  using Make = std::function<Batch(std::uint64_t)>;
  Prefetcher(Make make, int depth) : make_(std::move(make)), depth_(depth) {}
  ~Prefetcher() { stop(); }

  Batch next() {
    if (depth_ <= 0) return make_(position_++);
    if (!thread_.joinable()) start();
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !queue_.empty() || error_; });
    if (queue_.empty() && error_) std::rethrow_exception(error_);
    Batch b = std::move(queue_.front());
    queue_.pop_front();
    ++position_;
    cv_.notify_all();
    return b;
  }
  std::uint64_t position() const { return position_; }
  void set_position(std::uint64_t p) {
    stop();
    position_ = p;
  }

 private:
  void start() {
    stopping_ = false;
    produced_ = position_;
    thread_ = std::thread([this] {
      try {
        while (true) {
          {
            std::unique_lock<std::mutex> lock(mu_);
            cv_.wait(lock, [&] { return stopping_ || static_cast<int>(queue_.size()) < depth_; });
            if (stopping_) return;
          }
          Batch b = make_(produced_++);
          std::lock_guard<std::mutex> lock(mu_);
          queue_.push_back(std::move(b));
          cv_.notify_all();
        }
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu_);
        error_ = std::current_exception();
        cv_.notify_all();
      }
    });
  }
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
      cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
    queue_.clear();
  }

  Make make_;
  int depth_;
  std::uint64_t position_ = 0, produced_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Batch> queue_;
  bool stopping_ = false;
  std::exception_ptr error_;
};

class TokenWindowLoader {
 public:
  // Windows of context+1 tokens at stride `context` over the split's
  // documents laid end to end (each begins with its control tokens and ends
  // with EOS). Throws InputError if the split is shorter than one window.
  TokenWindowLoader(std::shared_ptr<const CorpusData> corpus, int context, const LoaderOptions& options);
  TokenBatch next() { return prefetcher_->next(); }
  std::uint64_t position() const { return prefetcher_->position(); }
  void set_position(std::uint64_t p) { prefetcher_->set_position(p); }
  std::uint64_t windows() const { return n_windows_; }
  TokenBatch make(std::uint64_t global_batch);

 private:
  std::shared_ptr<const CorpusData> corpus_;
  int context_;
  LoaderOptions o_;
  std::vector<std::uint32_t> stream_;
  std::uint64_t n_windows_ = 0;
  GlobalOrder order_;
  std::unique_ptr<Prefetcher<TokenBatch>> prefetcher_;
};

class SceneLoader {
 public:
  SceneLoader(std::shared_ptr<const CorpusData> corpus, int max_tokens, const LoaderOptions& options);
  SceneBatch next() { return prefetcher_->next(); }
  std::uint64_t position() const { return prefetcher_->position(); }
  void set_position(std::uint64_t p) { prefetcher_->set_position(p); }
  std::uint64_t scenes() const { return scenes_.size(); }
  SceneBatch make(std::uint64_t global_batch);

  // Label ids: index into beat_vocabulary()/emotion_vocabulary()/
  // valence_vocabulary() (-1 for "none"), into the corpus' sorted genre
  // list (-1 for none).
  const std::vector<std::string>& genres() const { return genres_; }

 private:
  std::shared_ptr<const CorpusData> corpus_;
  int max_tokens_;
  LoaderOptions o_;
  std::vector<std::uint32_t> scenes_;
  std::vector<std::string> genres_;
  GlobalOrder order_;
  std::unique_ptr<Prefetcher<SceneBatch>> prefetcher_;
};

}  // namespace plotforge
