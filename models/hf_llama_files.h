// The JSON files of a Hugging Face Llama model directory, read without
// libtorch: `config.json` (LlamaForCausalLM's configuration) and
// `model.safetensors.index.json` (a sharded model's tensor -> file map).
// training/hf_llama.h opens the directory with these; fuzz/hf_llama_fuzz.cc
// feeds them arbitrary JSON.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "models/config.h"

namespace plotforge {

// config.json's object as plotforge's Transformer shape. Only what the
// Transformer computes is accepted: another architecture or model_type,
// rope_scaling, attention_bias or mlp_bias true, a hidden_act other than
// silu, pretraining_tp other than 1, or a head_dim other than
// hidden_size / num_attention_heads is an InputError naming `where` and the
// field, never approximated.
TransformerConfig hf_llama_config_from_json(const nlohmann::json& j, const std::string& where);

// The index's weight_map (tensor name -> shard file name) as tensor ->
// path under `dir`. Each value must be a plain file name (no '/') that
// exists in `dir` as a regular file; InputError naming `where` (the index)
// or the missing shard otherwise.
std::map<std::string, std::string> hf_weight_map_from_index(const nlohmann::json& j, const std::string& where,
                                                            const std::string& dir);

}  // namespace plotforge
