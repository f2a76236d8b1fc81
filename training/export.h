// plotforge export: a checkpoint -> a Hugging Face-compatible bundle
//   BUNDLE/model.safetensors      Llama tensor names (model.embed_tokens.weight, ...)
//   BUNDLE/config.json            LlamaConfig fields + a "plotforge" section
//   BUNDLE/generation_config.json
//   BUNDLE/tokenizer.model
// written into a temporary directory and renamed into place, so a bundle
// with this name is always complete.
//
// A VAE run exports the same bundle for its decoder (so Llama loaders read
// it as a language model), plus its other tensors under "plotforge."
// (plotforge.latent_to_memory.weight, plotforge.latent_to_embedding.weight,
// plotforge.encoder.*, plotforge.to_latent.*) and plotforge.latent in
// config.json. A GAN run exports BUNDLE/generator.safetensors (net.N.weight
// and .bias of its MLP, genre_embedding.weight) and BUNDLE/gan.json; the
// runtime decodes its codes with the VAE bundle (docs/bundle-format.md).
#pragma once

#include <string>

namespace plotforge {

// dtype: "fp32" or "bf16". Returns the kind exported. Throws InputError.
std::string export_bundle(const std::string& checkpoint, const std::string& out, const std::string& dtype);

}  // namespace plotforge
