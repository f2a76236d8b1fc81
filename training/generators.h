// The VAE, the latent GAN and the scene classifier, trained by the shared
// loop (training/trainer.h) on scene samples from the dataset layer
// (datasets/loader.h's SceneLoader).
//
// VAE objective, per scene (Optimus):
//   loss = NLL(scene | z ~ q(z|scene)) + beta(step) * sum_d max(KL_d, free_bits)
// with KL_d the batch mean of dimension d's KL, and beta cyclical: the run's
// steps form `cycles` cycles; in each, beta is 0 for the first zero_ratio
// (a pure autoencoder phase), rises linearly to beta_max over ramp_ratio,
// then stays there. Every evaluation reports reconstruction perplexity (z =
// the posterior mean), the bound's perplexity, KL, active units and I(x;z).
//
// GAN objective (WGAN-GP on the VAE's posterior means, the VAE frozen): per
// generator step, n_critic critic steps on real means vs generated codes
// with a gradient penalty of weight gp at random interpolates; the
// generator's loss is -critic(G(noise)). val_loss is the L2 distance
// between the generated codes' and the validation scenes' per-dimension
// means plus that between their standard deviations; the critic's
// Wasserstein estimate is logged beside it.
//
// Classifier objective: cross-entropy on genre, beat and emotion labels of
// each scene (unlabeled heads ignored); val_loss is their mean on validation
// scenes, with accuracies beside it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/gan.h"
#include "models/vae.h"
#include "training/objective.h"
#include "training/trainer.h"

namespace plotforge {

struct VAESettings {
  int latent = 32;
  int encoder_layers = 0;  // 0: the decoder's n_layers
  double beta_max = 1.0;
  int cycles = 4;
  double zero_ratio = 0.5;   // pure-autoencoder share of each cycle
  double ramp_ratio = 0.25;  // linear-ramp share of each cycle
  double free_bits = 0.5;    // per-dimension KL floor (nats)
  double mu_scale = 0.6;     // BN-VAE's scale of the normalized means (0: off; models/vae.h)
  double offset_init = 0;    // std of the embedding offset's initial weights (0: zero; models/vae.h)
  // A Transformer run (same tokenizer and model shape) whose weights start
  // the decoder, as Optimus starts from GPT-2; empty: from scratch.
  std::string init_decoder;
  // Train on windows of long scenes at varying offsets (LoaderOptions::
  // scene_windows), not only their first context tokens.
  bool scene_windows = true;
};

// beta at `step` of `max_steps`, as described above.
double cyclical_beta(const VAESettings& s, long step, long max_steps);

struct GANSettings {
  std::string vae;  // the VAE run directory or checkpoint
  int noise = 32, hidden = 256, layers = 3;
  bool condition_on_genre = true;
  int n_critic = 5;
  double gp = 10.0;
};

TrainResult train_vae(const TrainOptions& options, const VAESettings& vae);
TrainResult train_gan(const TrainOptions& options, const GANSettings& gan);
TrainResult train_classifier(const TrainOptions& options);

// Token rows as one [rows, longest] tensor padded with -1, without the ids
// in `drop`, each cut to max_tokens. The classifier drops the control tokens
// (<scene>, <beat=...>, ...), so it judges the text alone and never reads a
// label off the conditioning.
torch::Tensor padded_rows(const std::vector<std::vector<int>>& rows, const std::vector<int>& drop, int max_tokens,
                          const c10::Device& device);
// The rows of a scene batch (without padding).
std::vector<std::vector<int>> scene_rows(const SceneBatch& batch);

// Attribute vectors for steering: for each value of `label` ("genre" or
// "beat") the mean posterior mean of the training scenes that carry it,
// minus the mean over all training scenes. Added to a latent code, one moves
// it toward that value.
std::map<std::string, torch::Tensor> attribute_vectors(VAE& vae, std::shared_ptr<const CorpusData> corpus,
                                                       const std::string& label);

// Sets the VAE's batch-norm statistics to the exact mean and variance of
// the raw posterior means over the training split's scenes (their first
// context tokens), as evaluation sees them. Training normalizes with batch
// statistics and updates running ones with momentum, from windows; the
// running ones lag and drift from what a single validation scene needs
// (measured: reconstruction perplexity 152 with them, 60 recalibrated, same
// checkpoint). Evaluation, the GAN and 'plotforge eval' recalibrate first.
// No-op without batch-normalized means.
void recalibrate_latent_norm(VAE& vae, std::shared_ptr<const CorpusData> corpus);

// Latent statistics over a set of posteriors (rows of mu and logvar):
// active units (dimensions whose mean's variance across scenes exceeds
// threshold) and the mutual information estimate of Hazan/He et al.:
//   I(x;z) = E_x E_q(z|x) log q(z|x) - E_z log q(z),
// with the aggregate posterior q(z) the mixture of the rows' posteriors and
// one z drawn per row from `gen`'s seed.
struct LatentStats {
  int active_units = 0;
  double mutual_information = 0;
};
LatentStats latent_stats(const torch::Tensor& mu, const torch::Tensor& logvar, double threshold = 0.01,
                         std::uint64_t seed = 0);

// Trained models loaded back from a run directory or checkpoint (the kind
// is checked). The tokenizer's path is the run directory's.
struct LoadedVAE {
  VAE model{nullptr};
  VAESettings settings;
  std::string checkpoint, tokenizer, tokenizer_sha256;  // tokenizer: the run's tokenizer.model, checked
};
LoadedVAE load_vae(const std::string& run_or_checkpoint);

struct LoadedGAN {
  LatentGenerator generator{nullptr};
  GANConfig config;
  std::vector<std::string> genres;  // the genre labels, in the order the generator knows them
  std::string vae;                  // the VAE checkpoint it was trained against
  std::string checkpoint;
};
LoadedGAN load_gan(const std::string& run_or_checkpoint);

struct LoadedClassifier {
  SceneClassifier model{nullptr};
  std::vector<std::string> genres;
  std::string checkpoint, tokenizer, tokenizer_sha256;
};
LoadedClassifier load_classifier(const std::string& run_or_checkpoint);

}  // namespace plotforge
