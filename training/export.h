// plotforge export: a checkpoint -> a Hugging Face-compatible bundle
//   BUNDLE/model.safetensors      Llama tensor names (model.embed_tokens.weight, ...)
//   BUNDLE/config.json            LlamaConfig fields + a "plotforge" section
//   BUNDLE/generation_config.json
//   BUNDLE/tokenizer.model
// written into a temporary directory and renamed into place, so a bundle
// with this name is always complete.
#pragma once

#include <string>

namespace plotforge {

// dtype: "fp32" or "bf16". Throws InputError.
void export_bundle(const std::string& checkpoint, const std::string& out, const std::string& dtype);

}  // namespace plotforge
