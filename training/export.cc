#include "training/export.h"

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "datasets/atomic_file.h"
#include "datasets/error.h"
#include "datasets/text_checks.h"
#include "datasets/tokenizer.h"
#include "inference/safetensors.h"
#include "training/checkpoint.h"

namespace plotforge {

namespace fs = std::filesystem;

void export_bundle(const std::string& checkpoint_arg, const std::string& out, const std::string& dtype) {
  if (dtype != "fp32" && dtype != "bf16") throw InputError("--dtype: '" + dtype + "' is not fp32 or bf16");
  const std::string ckpt = resolve_checkpoint(checkpoint_arg);
  const fs::path run_dir = fs::path(ckpt).parent_path().parent_path();
  const std::string tok_path = (run_dir / "tokenizer.model").string();
  const Tokenizer tok = Tokenizer::load(tok_path);
  const CheckpointState state = load_checkpoint(ckpt);
  expect_kind(state, "transformer", ckpt);
  if (state.tokenizer_sha256 != tok.sha256()) {
    throw InputError(tok_path + ": sha256 differs from the one " + ckpt + " was trained with");
  }
  Transformer model(state.model);
  load_checkpoint(ckpt, {model.get()});
  const TransformerConfig& c = state.model;
  const bool bf16 = dtype == "bf16";

  std::vector<TensorToWrite> tensors;
  for (const auto& p : model->named_parameters()) {
    const auto t = p.value().detach().to(torch::kCPU).to(torch::kFloat32).contiguous();
    TensorToWrite w;
    w.name = p.key().rfind("lm_head", 0) == 0 ? p.key() : "model." + p.key();
    w.dtype = bf16 ? DType::kBF16 : DType::kF32;
    w.shape = t.sizes().vec();
    const float* src = t.data_ptr<float>();
    const std::size_t n = static_cast<std::size_t>(t.numel());
    w.bytes.resize(n * (bf16 ? 2 : 4));
    if (bf16) {
      for (std::size_t i = 0; i < n; ++i) {
        const std::uint16_t b = float_to_bf16(src[i]);
        std::memcpy(w.bytes.data() + 2 * i, &b, 2);
      }
    } else {
      std::memcpy(w.bytes.data(), src, n * 4);
    }
    tensors.push_back(std::move(w));
  }

  nlohmann::json control = nlohmann::json::object();
  for (const auto& [name, id] : tok.control_tokens()) control[name] = id;
  const nlohmann::json config = {
      {"architectures", {"LlamaForCausalLM"}},
      {"model_type", "llama"},
      {"hidden_size", c.dim},
      {"intermediate_size", c.hidden()},
      {"num_attention_heads", c.n_heads},
      {"num_key_value_heads", c.kv_heads()},
      {"num_hidden_layers", c.n_layers},
      {"head_dim", c.head_dim()},
      {"hidden_act", "silu"},
      {"rms_norm_eps", c.norm_eps},
      {"rope_theta", c.rope_theta},
      {"vocab_size", c.vocab_size},
      {"max_position_embeddings", c.context},
      {"tie_word_embeddings", c.tie_embeddings},
      {"attention_bias", false},
      {"mlp_bias", false},
      {"initializer_range", 0.02},
      {"bos_token_id", 1},
      {"eos_token_id", tok.eos_id()},
      {"torch_dtype", bf16 ? "bfloat16" : "float32"},
      {"plotforge",
       {{"format_version", 1},
        {"model_kind", "transformer"},
        {"control_tokens", control},
        {"newline_token_id", tok.newline_id()},
        {"tokenizer_sha256", tok.sha256()},
        {"checkpoint_step", state.step}}}};
  const nlohmann::json generation = {{"bos_token_id", 1},  {"eos_token_id", tok.eos_id()}, {"do_sample", true},
                                     {"temperature", 0.8}, {"top_p", 1.0},                  {"max_new_tokens", 500}};

  // Build beside the target, then swap it in.
  const fs::path target(out);
  const fs::path tmp = target.string() + ".tmp-" + std::to_string(::getpid());
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  try {
    write_safetensors((tmp / "model.safetensors").string(), tensors,
                      {{"format", "pt"}, {"producer", "plotforge export"}, {"checkpoint_step", std::to_string(state.step)}});
    write_file_atomic((tmp / "config.json").string(), config.dump(2) + "\n");
    write_file_atomic((tmp / "generation_config.json").string(), generation.dump(2) + "\n");
    write_file_atomic((tmp / "tokenizer.model").string(), read_file(tok_path));
    std::error_code ec;
    const fs::path old = target.string() + ".old-" + std::to_string(::getpid());
    if (fs::exists(target, ec)) fs::rename(target, old);
    fs::rename(tmp, target);
    fs::remove_all(old, ec);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
}

}  // namespace plotforge
