// A Hugging Face Llama model directory, read without transformers: what
// `plotforge import` and `plotforge train --init-from BUNDLE` start from.
//
//   DIR/config.json                      LlamaForCausalLM's configuration
//   DIR/model.safetensors                the weights, or sharded:
//   DIR/model-0000N-of-0000M.safetensors + DIR/model.safetensors.index.json
//                                        ({"weight_map": {tensor: file}})
//   DIR/tokenizer.model                  SentencePiece (import only)
//
// Only what plotforge's Transformer computes is accepted: a configuration
// with rope scaling, attention or MLP biases, another activation or
// another architecture is refused with an InputError naming the file and
// the field, never approximated. A plotforge bundle (training/export.h) is
// such a directory too.
#pragma once

#include <map>
#include <string>

#include <torch/nn/module.h>

#include "models/config.h"

namespace plotforge {

struct HfLlama {
  std::string dir;
  TransformerConfig config;  // vocab_size as config.json says
  // Each tensor's file (one file: every tensor maps to model.safetensors).
  std::map<std::string, std::string> weight_map;
};

// Reads config.json (InputError naming the file and field).
TransformerConfig read_hf_llama_config(const std::string& config_json);

// Reads DIR's config.json and finds its weights: the index of a sharded
// model (every file it names must exist) or model.safetensors.
HfLlama open_hf_llama(const std::string& dir);

// Copies the tensors into `model` (Transformer parameter names; Llama's
// "model." prefix added), widening bf16/f16 to the parameter's dtype.
// Every parameter must be present with its shape, except that with
// `grow_vocab` embed_tokens and lm_head may have fewer rows than the
// model: their extra rows start at the mean of the rows read (new control
// tokens). Bias tensors are refused (plotforge's layers have none).
void load_hf_weights(const HfLlama& hf, torch::nn::Module& model, bool grow_vocab = false);

}  // namespace plotforge
