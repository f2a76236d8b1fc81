#include "inference/scheduler.h"

#include <algorithm>
#include <limits>

#include "base/error.h"

namespace plotforge::runtime {

struct Scheduler::Branch {
  Sequence seq;
  std::unique_ptr<Decoding> decoding;
  Completion out;
  int pending = -1;  // sampled, to be fed at the next step
  bool done = false;
};

struct Scheduler::Active {
  int id;
  SamplingParams params;
  std::vector<int> prompt;
  Sequence seq;  // the prompt, while prefilling
  int prefilled = 0;
  int need = 0;  // worst_case_blocks
  std::vector<Branch> branches;
};

Scheduler::Scheduler(Engine& engine, PrefixCache* cache, const SchedulerOptions& options)
    : engine_(engine), cache_(cache), o_(options) {}

Scheduler::~Scheduler() {
  for (auto& a : running_) release(*a);
}

void Scheduler::release(Active& a) {
  free_sequence(engine_.pool(), a.seq);
  for (auto& b : a.branches) free_sequence(engine_.pool(), b.seq);
}

int Scheduler::worst_case_blocks(int prompt_tokens, const SamplingParams& params) const {
  const int bs = engine_.pool().block_size();
  const int context = engine_.model().config().context;
  // A branch shares the prompt's full blocks and owns the rest of its length.
  const long long length = std::min<long long>(context, static_cast<long long>(prompt_tokens) + params.max_new_tokens);
  const long long own = (length + bs - 1) / bs - prompt_tokens / bs;
  const long long total = (prompt_tokens + bs - 1) / bs + static_cast<long long>(params.n) * own;
  return static_cast<int>(std::min<long long>(total, std::numeric_limits<int>::max()));
}

int Scheduler::check(const std::vector<int>& prompt, const SamplingParams& params) const {
  params.validate();
  if (prompt.empty()) throw InputError("the prompt is empty");
  const int context = engine_.model().config().context;
  if (static_cast<int>(prompt.size()) >= context) {
    throw InputError("the prompt has " + std::to_string(prompt.size()) + " tokens; the model's context is " +
                     std::to_string(context));
  }
  const int vocab = engine_.model().config().vocab;
  for (int t : prompt) {
    if (t < 0 || t >= vocab) {
      throw InputError("prompt token id " + std::to_string(t) + " is outside the vocabulary [0, " +
                       std::to_string(vocab) + ")");
    }
  }
  const int need = worst_case_blocks(static_cast<int>(prompt.size()), params);
  if (need > engine_.pool().total_blocks()) {
    throw InputError("the request could need " + std::to_string(need) + " KV cache blocks and the cache has " +
                     std::to_string(engine_.pool().total_blocks()) +
                     "; lower n or the maximum new tokens, or raise --cache-blocks");
  }
  return need;
}

int Scheduler::submit(std::vector<int> prompt, const SamplingParams& params,
                      std::shared_ptr<const LatentCondition> latent, std::shared_ptr<const Adapter> adapter) {
  const int need = check(prompt, params);
  if (static_cast<int>(queue_.size()) >= o_.max_queue) return -1;
  auto a = std::make_unique<Active>();
  a->id = next_id_++;
  a->params = params;
  a->need = need;
  a->prompt = std::move(prompt);
  a->seq.latent = std::move(latent);
  a->seq.adapter = std::move(adapter);
  queue_.push_back(std::move(a));
  return queue_.back()->id;
}

bool Scheduler::cancel(int id) {
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    if ((*it)->id != id) continue;
    Finished f{id, std::vector<Completion>((*it)->params.n)};
    for (auto& c : f.completions) c.finish_reason = "abort";
    finished_.push_back(std::move(f));
    queue_.erase(it);
    return true;
  }
  for (auto it = running_.begin(); it != running_.end(); ++it) {
    Active& a = **it;
    if (a.id != id) continue;
    Finished f{id, {}};
    if (a.branches.empty()) f.completions.resize(a.params.n);
    for (auto& b : a.branches) f.completions.push_back(b.decoding ? b.decoding->take() : std::move(b.out));
    for (auto& c : f.completions) c.finish_reason = "abort";
    release(a);
    reserved_blocks_ -= a.need;
    finished_.push_back(std::move(f));
    running_.erase(it);
    return true;
  }
  return false;
}

void Scheduler::finish_prefill(Active& a, const float* logits) {
  if (cache_ && a.seq.prefix_cacheable()) cache_->insert(a.seq);
  const int vocab = engine_.model().config().vocab;
  a.branches.resize(a.params.n);
  for (int i = 0; i < a.params.n; ++i) {
    Branch& b = a.branches[i];
    b.seq = fork(engine_.pool(), a.seq);
    const Model& model = engine_.model();
    b.decoding =
        std::make_unique<Decoding>(a.params, i, vocab, model.config().eos_id, model.config().context,
                                   [&model](const std::vector<int>& ids) { return model.tokenizer().decode(ids); });
    std::vector<float> row(logits, logits + vocab);
    advance(a, b, row.data());
  }
  free_sequence(engine_.pool(), a.seq);
}

bool Scheduler::advance(Active& a, Branch& b, const float* logits_in) {
  const int vocab = engine_.model().config().vocab;
  std::vector<float> logits(logits_in, logits_in + vocab);
  const std::size_t before = b.decoding->partial().tokens.size();
  b.pending = b.decoding->advance(logits.data(), b.seq.tokens, b.seq.length());
  if (b.decoding->partial().tokens.size() > before) {
    const Completion& so_far = b.decoding->partial();
    events_.push_back(
        {SchedulerEvent::kToken, a.id, static_cast<int>(&b - a.branches.data()), so_far.tokens.back(),
         so_far.logprobs.empty() ? 0.f : so_far.logprobs.back(),
         so_far.top_logprobs.empty() ? std::vector<std::pair<int, float>>{} : so_far.top_logprobs.back()});
  }
  if (b.pending >= 0) return true;
  b.done = true;
  b.out = b.decoding->take();
  b.decoding.reset();
  return false;
}

void Scheduler::step() {
  const int bs = engine_.pool().block_size();
  // Admit, in arrival order. A prompt that starts like one still being
  // prefilled waits, so it can reuse that prompt's blocks from the cache
  // once they exist; requests behind it do not wait with it.
  for (auto it = queue_.begin(); it != queue_.end() && static_cast<int>(running_.size()) < o_.max_running;) {
    Active& next = **it;
    bool wait = false;
    if (cache_ && next.seq.prefix_cacheable()) {
      for (const auto& r : running_) {
        const std::size_t n =
            std::min<std::size_t>({static_cast<std::size_t>(bs), r->prompt.size(), next.prompt.size()});
        if (r->branches.empty() && std::equal(r->prompt.begin(), r->prompt.begin() + n, next.prompt.begin()))
          wait = true;
      }
    }
    if (wait) {
      ++it;
      continue;
    }
    // First come, first served: nothing overtakes a request that does not fit yet.
    if (reserved_blocks_ + next.need > engine_.pool().total_blocks()) break;
    reserved_blocks_ += next.need;
    events_.push_back({SchedulerEvent::kAdmitted, next.id, 0, -1, 0.f, {}});
    if (cache_ && next.seq.prefix_cacheable()) next.prefilled = cache_->match(next.prompt, &next.seq);
    running_.push_back(std::move(*it));
    it = queue_.erase(it);
    if (next.params.max_new_tokens == 0) {
      free_sequence(engine_.pool(), running_.back()->seq);
      running_.back()->branches.resize(next.params.n);
      for (auto& b : running_.back()->branches) {
        b.done = true;
        b.out.finish_reason = "length";
      }
    }
  }

  std::vector<BatchItem> batch;
  struct Slot {
    Active* a;
    Branch* b;  // null: a prefill chunk
    bool last_chunk;
  };
  std::vector<Slot> slots;
  int budget = o_.max_step_tokens;
  for (auto& a : running_) {
    if (!a->branches.empty()) {
      for (auto& b : a->branches) {
        if (!b.done && b.pending >= 0) {
          batch.push_back({&b.seq, {b.pending}, false});
          slots.push_back({a.get(), &b, false});
        }
      }
    } else if (budget > 0) {
      const int remaining = static_cast<int>(a->prompt.size()) - a->prefilled;
      const int take = std::min({remaining, o_.prefill_chunk, budget});
      batch.push_back({&a->seq,
                       std::vector<int>(a->prompt.begin() + a->prefilled, a->prompt.begin() + a->prefilled + take),
                       false});
      slots.push_back({a.get(), nullptr, take == remaining});
      a->prefilled += take;
      budget -= take;
      prefill_tokens_ += take;
    }
  }
  if (!batch.empty()) {
    const std::vector<float> logits = engine_.forward(batch);
    const int vocab = engine_.model().config().vocab;
    for (std::size_t i = 0; i < slots.size(); ++i) {
      const float* row = logits.data() + i * vocab;
      if (slots[i].b) {
        ++decode_tokens_;
        advance(*slots[i].a, *slots[i].b, row);
      } else if (slots[i].last_chunk) {
        finish_prefill(*slots[i].a, row);
      }
    }
  }
  // Retire requests whose branches are all done.
  for (auto it = running_.begin(); it != running_.end();) {
    Active& a = **it;
    const bool done = !a.branches.empty() &&
                      std::all_of(a.branches.begin(), a.branches.end(), [](const Branch& b) { return b.done; });
    if (!done) {
      ++it;
      continue;
    }
    Finished f{a.id, {}};
    for (auto& b : a.branches) {
      if (cache_ && b.seq.prefix_cacheable() && b.seq.length() > 0) cache_->insert(b.seq);
      free_sequence(engine_.pool(), b.seq);
      f.completions.push_back(std::move(b.out));
    }
    reserved_blocks_ -= a.need;
    finished_.push_back(std::move(f));
    it = running_.erase(it);
  }
}

std::vector<SchedulerEvent> Scheduler::take_events() {
  std::vector<SchedulerEvent> out;
  out.swap(events_);
  return out;
}

std::vector<Finished> Scheduler::take_finished() {
  std::vector<Finished> out;
  out.swap(finished_);
  return out;
}

}  // namespace plotforge::runtime
