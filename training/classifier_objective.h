// Classifier objective: cross-entropy on genre, beat and emotion labels of
// each scene (unlabeled heads ignored); val_loss is their mean on validation
// scenes, with accuracies beside it.
#pragma once

#include <string>
#include <vector>

#include "models/vae.h"
#include "training/settings.h"
#include "training/trainer.h"

namespace plotforge {

TrainResult train_classifier(const TrainOptions& options);

// A trained scene classifier loaded back from a run directory or checkpoint.
struct LoadedClassifier {
  SceneClassifier model{nullptr};
  std::vector<std::string> genres;
  std::vector<std::string> labelled_heads;  // heads with labelled training scenes: genre, beat, emotion, valence
  std::string checkpoint, tokenizer, tokenizer_sha256;
};
LoadedClassifier load_classifier(const std::string& run_or_checkpoint);

}  // namespace plotforge
