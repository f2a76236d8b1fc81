// The scene classifier (models/vae.h's SceneClassifier) in the runtime,
// without libtorch: a bidirectional Transformer over a scene's tokens,
// mean-pooled, with one linear head per label. The story server reads a
// candidate passage's genre, beat and emotion probabilities with it
// (personalisation/features.h).
//
// The bundle (`plotforge export` of a classifier run; docs/bundle-format.md):
//   BUNDLE/config.json        the encoder's Llama fields, plus "plotforge":
//                             model_kind "classifier", labels {genre, beat,
//                             emotion, valence: [names]}, labelled_heads
//                             (those trained on labelled scenes; absent:
//                             all), tokenizer_sha256
//   BUNDLE/model.safetensors  encoder.embed_tokens, encoder.layers.N.* (Llama
//                             block names), encoder.norm, {genre,beat,
//                             emotion,valence}_head.{weight,bias}
//   BUNDLE/tokenizer.model
// A scene is read as in training: its text tokenized, control tokens
// dropped, cut at the encoder's context.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "datasets/tokenizer.h"
#include "inference/model.h"
#include "inference/weights.h"

namespace plotforge::runtime {

// One head's classes and, per scene, their probabilities (softmax of its
// logits). A head the classifier was trained without (no classes) is empty.
struct SceneHead {
  std::string name;                 // "genre", "beat", "emotion", "valence"
  std::vector<std::string> labels;  // class names, in the head's order
  bool labelled = true;             // trained on labelled scenes (plotforge.labelled_heads)
};

class SceneClassifier {
 public:
  // Loads BUNDLE/{config.json, model.safetensors, tokenizer.model}. Throws
  // InputError naming the file and field or tensor at fault (a decoder
  // bundle included).
  static std::unique_ptr<SceneClassifier> load(const std::string& bundle_dir);

  const std::vector<SceneHead>& heads() const { return heads_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  const ModelConfig& config() const { return config_; }
  const std::string& tokenizer_sha256() const { return tokenizer_sha256_; }

  // The token ids the encoder reads for a scene's text: control tokens
  // dropped, at most `context`.
  std::vector<int> scene_ids(std::string_view text) const;
  // Per scene, per head (in heads() order), the class probabilities.
  // A scene with no tokens pools to zeros, as in training: its heads' biases.
  std::vector<std::vector<std::vector<float>>> classify_ids(const std::vector<std::vector<int>>& scenes) const;
  std::vector<std::vector<std::vector<float>>> classify(const std::vector<std::string>& texts) const;

 private:
  SceneClassifier() = default;
  ModelConfig config_;
  std::unique_ptr<WeightFile> file_;
  std::unique_ptr<Tokenizer> tokenizer_;
  const float *embed_ = nullptr, *norm_ = nullptr;
  std::vector<LayerWeights> layers_;
  std::vector<SceneHead> heads_;
  std::vector<const float*> head_w_, head_b_;  // per head: [outputs, dim], [outputs]
  std::vector<int> control_ids_;
  std::vector<float> cos_, sin_;
  std::string tokenizer_sha256_;
};

}  // namespace plotforge::runtime
