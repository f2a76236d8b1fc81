// plotforge: the toolkit (with libtorch): read scripts, prepare corpora,
// train, generate, evaluate and export.
#include "programs/common/dispatch.h"
#include "programs/plotforge/commands.h"

int main(int argc, char** argv) {
  using namespace plotforge::programs;
  const std::vector<Command> commands = {
      {"inspect", "summarize a script (Fountain, text or JSONL); --json for JSON", cmd_inspect, /*blas=*/false},
      {"tokenizer", "'tokenizer train': a SentencePiece tokenizer with the control tokens", cmd_tokenizer,
       /*blas=*/false},
      {"prepare", "tokenize scripts into an HDF5 corpus with splits and labels", cmd_prepare, /*blas=*/false},
      {"train", "train a generator (configs/*.ini): --kind transformer | vae | gan | classifier", cmd_train},
      {"generate", "write scenes from a checkpoint, conditioned on genre/beat/emotion", cmd_generate},
      {"export", "write a Hugging Face-compatible bundle (safetensors + config.json)", cmd_export},
      {"import", "read a Hugging Face Llama model into a run directory to fine-tune (docs/finetuning.md)", cmd_import},
      {"vae", "sample (from the prior or a latent GAN, steered), reconstruct, interpolate scenes", cmd_vae},
      {"arcs", "emotional arcs of scripts: valence over narrative time, shape, scenes, characters, corpus modes",
       cmd_arcs, /*blas=*/false},
      {"sentiment", "VADER's sentiment of every dialogue line of scripts (text or --json)", cmd_sentiment,
       /*blas=*/false},
      {"eval", "perplexity, BLEU, Self-BLEU, distinct-n, repetition, adherence of the generators", cmd_eval},
      {"recommend", "'recommend eval': a recommender on an interaction log, NDCG/precision/recall/MAP@k",
       cmd_recommend},
  };
  return dispatch("plotforge", "train and serve plot-generation models on annotated scripts", commands, argc, argv);
}
