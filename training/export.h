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
// A LoRA run exports merged: each adapted weight is W + scale * B A.
std::string export_bundle(const std::string& checkpoint, const std::string& out, const std::string& dtype);

// A LoRA run's adapter in Hugging Face PEFT's layout:
//   OUT/adapter_model.safetensors  base_model.model.model.layers.N.self_attn.
//                                  q_proj.lora_A.weight [r, in], .lora_B.weight
//                                  [out, r], ... (fp32)
//   OUT/adapter_config.json        peft_type LORA, r, lora_alpha, lora_dropout,
//                                  target_modules, base_model_name_or_path
// base_model_name_or_path is the base's bundle: `base_bundle`, or the run's
// base itself when that is a bundle. The bundle must be the base the run
// was trained on (its weights' sha256, or for a bundle exported from the
// base run, the checkpoint's sha256 in its config.json); the metadata
// records the bundle's weights sha256 and its plotforge.source_sha256 (which
// the runtime checks, inference/adapter.h).
void export_adapter(const std::string& checkpoint, const std::string& out, const std::string& base_bundle);

}  // namespace plotforge
