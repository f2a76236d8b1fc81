// GAN objective (WGAN-GP on the VAE's posterior means, the VAE frozen): per
// generator step, n_critic critic steps on real means vs generated codes
// with a gradient penalty of weight gp at random interpolates; the
// generator's loss is -critic(G(noise)). val_loss is the L2 distance
// between the generated codes' and the validation scenes' per-dimension
// means plus that between their standard deviations; the critic's
// Wasserstein estimate is logged beside it.
#pragma once

#include <string>
#include <vector>

#include "models/gan.h"
#include "training/run.h"
#include "training/settings.h"
#include "training/trainer.h"

namespace plotforge {

TrainResult train_gan(const TrainOptions& options, const GANSettings& gan);

// A trained latent GAN loaded back from a run directory or checkpoint.
struct LoadedGAN {
  LatentGenerator generator{nullptr};
  GANConfig config;
  std::vector<std::string> genres;  // the genre labels, in the order the generator knows them
  std::string vae;                  // the VAE checkpoint it was trained against
  std::string checkpoint;
};
LoadedGAN load_gan(const std::string& run_or_checkpoint);
// The same from a run already opened (training/run.h), without reading it again.
LoadedGAN load_gan(const OpenedRun& run);

}  // namespace plotforge
