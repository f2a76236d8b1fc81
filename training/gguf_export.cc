#include "training/gguf_export.h"

#include <filesystem>

#include <torch/torch.h>

#include "base/error.h"
#include "base/files.h"
#include "base/gguf.h"
#include "datasets/hf_tokenizer.h"
#include "datasets/sentencepiece_model.h"
#include "kernels/weight_formats.h"
#include "models/lora.h"
#include "training/run.h"

namespace plotforge {

namespace fs = std::filesystem;

namespace {

// Hugging Face's q/k rows (each head: the first half of its rotary pairs,
// then the second) in llama.cpp's order (pairs interleaved): the inverse
// of what transformers' GGUF loader and llama.cpp's converter undo/do.
torch::Tensor permute_rows(const torch::Tensor& w, int heads) {
  return w.reshape({heads, 2, w.size(0) / heads / 2, w.size(1)}).transpose(1, 2).reshape(w.sizes());
}

// llama.cpp's name of a Transformer parameter.
std::string gguf_name(const std::string& name) {
  static const std::pair<const char*, const char*> kLayer[] = {
      {"input_layernorm.weight", "attn_norm.weight"},    {"self_attn.q_proj.weight", "attn_q.weight"},
      {"self_attn.k_proj.weight", "attn_k.weight"},      {"self_attn.v_proj.weight", "attn_v.weight"},
      {"self_attn.o_proj.weight", "attn_output.weight"}, {"post_attention_layernorm.weight", "ffn_norm.weight"},
      {"mlp.gate_proj.weight", "ffn_gate.weight"},       {"mlp.up_proj.weight", "ffn_up.weight"},
      {"mlp.down_proj.weight", "ffn_down.weight"}};
  if (name == "embed_tokens.weight") return "token_embd.weight";
  if (name == "norm.weight") return "output_norm.weight";
  if (name == "lm_head.weight") return "output.weight";
  if (name.rfind("layers.", 0) == 0) {
    const std::size_t dot = name.find('.', 7);
    const std::string rest = name.substr(dot + 1);
    for (const auto& [ours, theirs] : kLayer) {
      if (rest == ours) return "blk." + name.substr(7, dot - 7) + "." + theirs;
    }
  }
  throw InputError("export --format gguf: no GGUF name for tensor " + name);
}

}  // namespace

void export_gguf(const std::string& checkpoint, const std::string& out, const std::string& dtype) {
  kernels::WeightType wt;
  if (!kernels::parse_weight_type(dtype, &wt)) {
    throw InputError("--dtype: '" + dtype + "' is not one of f32, f16, bf16, q8_0 (for --format gguf)");
  }
  const OpenedRun run = open_run(checkpoint, "transformer");
  const TransformerConfig& c = run.state.model;
  const SentencePieceModel sp = SentencePieceModel::parse(read_file(run.tokenizer_path), run.tokenizer_path);
  if (sp.size() != c.vocab_size) {
    throw InputError(run.tokenizer_path + ": " + std::to_string(sp.size()) + " pieces for a vocabulary of " +
                     std::to_string(c.vocab_size));
  }
  Transformer model = load_transformer(run);

  GgufWriter g;
  g.add_string("general.architecture", "llama");
  g.add_string("general.name", fs::path(run.checkpoint).parent_path().parent_path().filename().string());
  // llama_ftype: ALL_F32 0, MOSTLY_F16 1, MOSTLY_Q8_0 7, MOSTLY_BF16 32.
  const std::uint32_t ftype = wt == kernels::WeightType::kF32    ? 0
                              : wt == kernels::WeightType::kF16  ? 1
                              : wt == kernels::WeightType::kQ8_0 ? 7
                                                                 : 32;
  g.add_u32("general.file_type", ftype);
  if (wt == kernels::WeightType::kQ8_0) g.add_u32("general.quantization_version", 2);
  g.add_u32("llama.vocab_size", static_cast<std::uint32_t>(c.vocab_size));
  g.add_u32("llama.context_length", static_cast<std::uint32_t>(c.context));
  g.add_u32("llama.embedding_length", static_cast<std::uint32_t>(c.dim));
  g.add_u32("llama.block_count", static_cast<std::uint32_t>(c.n_layers));
  g.add_u32("llama.feed_forward_length", static_cast<std::uint32_t>(c.hidden()));
  g.add_u32("llama.rope.dimension_count", static_cast<std::uint32_t>(c.head_dim()));
  g.add_f32("llama.rope.freq_base", c.rope_theta);
  g.add_u32("llama.attention.head_count", static_cast<std::uint32_t>(c.n_heads));
  g.add_u32("llama.attention.head_count_kv", static_cast<std::uint32_t>(c.kv_heads()));
  g.add_f32("llama.attention.layer_norm_rms_epsilon", c.norm_eps);

  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<std::int32_t> types;
  for (int i = 0; i < sp.size(); ++i) {
    tokens.push_back(sp.piece(i));
    scores.push_back(sp.score(i));
    // llama_token_type uses SentencePiece's numbers. The special tokens of
    // the bundle's tokenizer.json are CONTROL, as llama.cpp's converter makes
    // them.
    const auto type = hf_special(sp.type(i)) ? SentencePieceModel::Type::kControl : sp.type(i);
    types.push_back(static_cast<std::int32_t>(type));
  }
  g.add_string("tokenizer.ggml.model", "llama");
  g.add_string("tokenizer.ggml.pre", "default");
  g.add_strings("tokenizer.ggml.tokens", tokens);
  g.add_f32s("tokenizer.ggml.scores", scores);
  g.add_i32s("tokenizer.ggml.token_type", types);
  g.add_u32("tokenizer.ggml.bos_token_id", static_cast<std::uint32_t>(sp.bos_id()));
  g.add_u32("tokenizer.ggml.eos_token_id", static_cast<std::uint32_t>(sp.eos_id()));
  g.add_u32("tokenizer.ggml.unknown_token_id", static_cast<std::uint32_t>(sp.unk_id()));
  g.add_bool("tokenizer.ggml.add_bos_token", false);  // plotforge's prompts start without one
  g.add_bool("tokenizer.ggml.add_eos_token", false);
  g.add_bool("tokenizer.ggml.add_space_prefix", sp.add_dummy_prefix());

  auto add = [&](const std::string& name, torch::Tensor w) {
    w = w.detach().to(torch::kFloat32).contiguous();
    if (name.find("self_attn.q_proj") != std::string::npos) w = permute_rows(w, c.n_heads).contiguous();
    if (name.find("self_attn.k_proj") != std::string::npos) w = permute_rows(w, c.kv_heads()).contiguous();
    kernels::WeightType t = w.dim() == 1 ? kernels::WeightType::kF32 : wt;
    const int cols = static_cast<int>(w.size(-1)), rows = w.dim() == 1 ? 1 : static_cast<int>(w.size(0));
    if (t == kernels::WeightType::kQ8_0 && cols % kernels::kQ8Block != 0) t = kernels::WeightType::kF16;
    const std::size_t row_bytes = kernels::weight_row_bytes(t, cols);
    std::vector<std::uint8_t> bytes(row_bytes * rows);
    const float* src = w.data_ptr<float>();
    for (int r = 0; r < rows; ++r) {
      if (!kernels::encode_row(src + static_cast<std::size_t>(r) * cols, cols, t, bytes.data() + r * row_bytes)) {
        throw InputError(run.checkpoint + ": tensor " + name + " row " + std::to_string(r) + " holds a value " + dtype +
                         " cannot represent (not finite, or too large)");
      }
    }
    const GgmlType gt = t == kernels::WeightType::kF32    ? GgmlType::kF32
                        : t == kernels::WeightType::kF16  ? GgmlType::kF16
                        : t == kernels::WeightType::kBF16 ? GgmlType::kBF16
                                                          : GgmlType::kQ8_0;
    g.add_tensor(gguf_name(name), gt, w.sizes().vec(), std::move(bytes));
  };
  torch::Tensor embedding;
  for (const auto& [name, value] : merged_weights(model)) {
    if (name == "embed_tokens.weight") embedding = value;
    add(name, value);
  }
  if (c.tie_embeddings) add("lm_head.weight", embedding);
  const fs::path parent = fs::path(out).parent_path();
  if (!parent.empty()) fs::create_directories(parent);
  g.write(out);
}

}  // namespace plotforge
