#include "training/classifier_objective.h"

#include <cstdio>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "datasets/annotations.h"
#include "training/batch_tensors.h"
#include "training/run.h"

namespace plotforge {

namespace {

class ClassifierObjective : public Objective {
 public:
  ClassifierObjective(TrainContext& ctx, const TrainOptions& o)
      : ctx_(ctx),
        o_(o),
        train_(ctx.corpus, o.model.context, ctx.loader(Split::kTrain)),
        val_(ctx.corpus, o.model.context, ctx.loader(Split::kValidation)),
        model_(config()) {
    model_->to(ctx.device);
    for (const auto& [name, id] : ctx.corpus->control_tokens) control_ids_.push_back(id);
  }
  ClassifierConfig config() const {
    ClassifierConfig c;
    c.encoder = o_.model;
    c.encoder.vocab_size = ctx_.corpus->vocab_size;
    c.n_genres = static_cast<int>(train_.genres().size());
    c.n_beats = static_cast<int>(beat_vocabulary().size());
    c.n_emotions = static_cast<int>(emotion_vocabulary().size());
    c.n_valences = static_cast<int>(valence_vocabulary().size());
    return c;
  }
  std::string kind() const override { return "classifier"; }
  torch::nn::Module& model() override { return *model_; }
  nlohmann::json checkpoint_config() const override {
    return {{"genres", train_.genres()}, {"labelled_heads", labelled_heads()}};
  }
  // The heads with at least one labelled training scene: the others learnt
  // nothing, and the runtime leaves them out of personalisation's features.
  std::vector<std::string> labelled_heads() const {
    const CorpusData& c = *ctx_.corpus;
    bool genre = false, beat = false, emotion = false, valence = false;
    for (const CorpusScene& s : c.scenes) {
      if (c.documents[s.document].split != Split::kTrain) continue;
      genre = genre || !c.documents[s.document].genres.empty();
      beat = beat || s.beat != "none";
      emotion = emotion || s.emotion != "none";
      valence = valence || s.valence != "none";
    }
    std::vector<std::string> out;
    if (genre && !train_.genres().empty()) out.push_back("genre");
    if (beat) out.push_back("beat");
    if (emotion) out.push_back("emotion");
    if (valence) out.push_back("valence");
    return out;
  }
  std::string describe() const override {
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "scene classifier: encoder of %d layers, width %d; %zu genres, %zu beats, %zu emotions, %zu valences",
                  o_.model.n_layers, o_.model.dim, train_.genres().size(), beat_vocabulary().size(),
                  emotion_vocabulary().size(), valence_vocabulary().size());
    return buf;
  }
  long units_per_micro_batch() const override { return static_cast<long>(o_.batch_size); }
  std::string unit() const override { return "scenes"; }
  torch::Tensor loss(long, Scalars*) override { return batch_loss(train_.next(), nullptr); }
  Scalars evaluate() override {
    Counts c;
    double total = 0;
    for (int i = 0; i < o_.eval_batches; ++i)
      total += batch_loss(val_.make(static_cast<std::uint64_t>(i)), &c).item<double>();
    Scalars s{{"val_loss", total / o_.eval_batches}};
    auto acc = [](long ok, long n) { return n > 0 ? static_cast<double>(ok) / n : -1.0; };
    s["genre_accuracy"] = acc(c.ok[0], c.n[0]);
    s["beat_accuracy"] = acc(c.ok[1], c.n[1]);
    s["emotion_accuracy"] = acc(c.ok[2], c.n[2]);
    s["valence_accuracy"] = acc(c.ok[3], c.n[3]);
    return s;
  }
  std::uint64_t data_position() const override { return train_.position(); }
  void set_data_position(std::uint64_t p) override { train_.set_position(p); }

 private:
  struct Counts {
    long ok[4] = {0, 0, 0, 0}, n[4] = {0, 0, 0, 0};
  };
  torch::Tensor batch_loss(const SceneBatch& b, Counts* c) {
    const auto logits = model_->forward(padded_rows(scene_rows(b), control_ids_, o_.model.context, ctx_.device));
    return labeled_cross_entropy(logits.genre, labels(b.genre, ctx_.device), c ? &c->ok[0] : nullptr,
                                 c ? &c->n[0] : nullptr) +
           labeled_cross_entropy(logits.beat, labels(b.beat, ctx_.device), c ? &c->ok[1] : nullptr,
                                 c ? &c->n[1] : nullptr) +
           labeled_cross_entropy(logits.emotion, labels(b.emotion, ctx_.device), c ? &c->ok[2] : nullptr,
                                 c ? &c->n[2] : nullptr) +
           labeled_cross_entropy(logits.valence, labels(b.valence, ctx_.device), c ? &c->ok[3] : nullptr,
                                 c ? &c->n[3] : nullptr);
  }
  TrainContext& ctx_;
  TrainOptions o_;
  SceneLoader train_, val_;
  SceneClassifier model_;
  std::vector<int> control_ids_;
};

}  // namespace

TrainResult train_classifier(const TrainOptions& options) {
  TrainContext ctx = begin_training(options);
  ClassifierObjective objective(ctx, options);
  return run_training(ctx, objective, options);
}

LoadedClassifier load_classifier(const std::string& path) {
  const OpenedRun o = open_run(path, "classifier");
  LoadedClassifier c;
  c.checkpoint = o.checkpoint;
  c.tokenizer = o.tokenizer_path;
  c.tokenizer_sha256 = o.state.tokenizer_sha256;
  c.genres = genre_list(o);
  // Checkpoints from before the list was kept: every head counts as labelled.
  c.labelled_heads = {"genre", "beat", "emotion", "valence"};
  const auto it = o.state.config.find("labelled_heads");
  if (it != o.state.config.end()) {
    if (!it->is_array()) throw InputError(c.checkpoint + ": 'labelled_heads' is not a list");
    c.labelled_heads.clear();
    for (const auto& h : *it) {
      if (!h.is_string()) throw InputError(c.checkpoint + ": 'labelled_heads' holds a non-string");
      c.labelled_heads.push_back(h.get<std::string>());
    }
  }
  ClassifierConfig cc;
  cc.encoder = o.state.model;
  cc.n_genres = static_cast<int>(c.genres.size());
  cc.n_beats = static_cast<int>(beat_vocabulary().size());
  cc.n_emotions = static_cast<int>(emotion_vocabulary().size());
  cc.n_valences = static_cast<int>(valence_vocabulary().size());
  c.model = SceneClassifier(cc);
  load_checkpoint(c.checkpoint, {c.model.get()});
  c.model->eval();
  return c;
}

}  // namespace plotforge
