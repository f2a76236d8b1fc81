// VAE objective, per scene (Optimus):
//   loss = NLL(scene | z ~ q(z|scene)) + beta(step) * sum_d max(KL_d, free_bits)
// with KL_d the batch mean of dimension d's KL, and beta cyclical: the run's
// steps form `cycles` cycles; in each, beta is 0 for the first zero_ratio
// (a pure autoencoder phase), rises linearly to beta_max over ramp_ratio,
// then stays there. Every evaluation reports reconstruction perplexity (z =
// the posterior mean), the bound's perplexity, KL, active units and I(x;z).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "datasets/corpus.h"
#include "models/vae.h"
#include "training/run.h"
#include "training/settings.h"
#include "training/trainer.h"

namespace plotforge {

// beta at `step` of `max_steps`, as described above.
double cyclical_beta(const VAESettings& s, long step, long max_steps);

TrainResult train_vae(const TrainOptions& options, const VAESettings& vae);

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

// A trained VAE loaded back from a run directory or checkpoint (the kind is
// checked). The tokenizer's path is the run directory's.
struct LoadedVAE {
  VAE model{nullptr};
  VAESettings settings;
  std::string checkpoint, tokenizer, tokenizer_sha256;  // tokenizer: the run's tokenizer.model, checked
};
LoadedVAE load_vae(const std::string& run_or_checkpoint);
// The same from a run already opened (training/run.h), without reading it again.
LoadedVAE load_vae(const OpenedRun& run);

}  // namespace plotforge
