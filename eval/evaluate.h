// plotforge eval: which generator to use for what, measured on one corpus.
//
// Perplexity on validation scenes (each scene alone, cut to the model's
// context): the Transformer's, and the VAE's reconstruction (z = the
// posterior mean) and bound (z sampled, plus KL) with its KL, active units
// and I(x;z).
//
// Samples: each generator writes `samples` scenes per temperature, each
// conditioned on a (genre, beat) pair taken in turn from the corpus' genres
// and Freytag's five beats: the Transformer through control tokens, the VAE
// through the beat token and a genre attribute vector (the genre's mean
// posterior mean minus the overall mean, added to a prior sample), the GAN
// through its genre-conditioned generator and the beat token. Over each set:
// BLEU-4 against held-out scenes, Self-BLEU-4, distinct-1/2/3 and
// repetition-4 (eval/text_metrics.h), and, with a classifier, genre and beat
// adherence: its accuracy on the samples' requested labels, beside its
// accuracy on real validation scenes. Real held-out scenes, cut to the
// samples' length like the references, are scored the same way, as the
// reference point.
//
// Output: DIR/report.txt, DIR/report.json (schema in docs/evaluation.md);
// scripts/plot_eval.py DIR draws DIR/quality_diversity.png.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/settings.h"

namespace plotforge {

struct EvalOptions {
  std::string data;                               // corpus.h5
  std::string out;                                // report directory
  std::string transformer, vae, gan, classifier;  // run directories; empty: skipped
  std::vector<float> temperatures = {0.7f, 1.0f, 1.3f};
  int samples = 48;  // per generator and temperature
  int max_new_tokens = 200;
  int references = 200;  // held-out scenes for BLEU
  int perplexity_scenes = 128;
  std::uint64_t seed = 1;
  bool quiet = false;  // no progress lines

  // The run directories and temperatures are the command's own options.
  template <class V>
  void fields(V&& v) {
    v("samples", samples, "scenes per generator and temperature");
    v("max-new-tokens", max_new_tokens, "tokens per generated scene");
    v("references", references, "held-out scenes BLEU compares against");
    v("perplexity-scenes", perplexity_scenes, "validation scenes for perplexity");
    v("seed", seed, "sampling seed");
    v("quiet", quiet, "no progress lines", flag());
  }
};

// Writes the report; returns its JSON text. Throws InputError.
std::string evaluate_generators(const EvalOptions& options);

}  // namespace plotforge
