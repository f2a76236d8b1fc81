#include "training/export.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/files.h"
#include "base/safetensors.h"
#include "datasets/annotations.h"
#include "datasets/digest.h"
#include "datasets/hf_tokenizer.h"
#include "datasets/sentencepiece_model.h"
#include "datasets/text_checks.h"
#include "datasets/tokenizer.h"
#include "models/lora.h"
#include "training/base_model.h"
#include "training/checkpoint.h"
#include "training/classifier_objective.h"
#include "training/gan_objective.h"
#include "training/run.h"
#include "training/vae_objective.h"

namespace plotforge {

namespace fs = std::filesystem;

namespace {

TensorToWrite to_write(const std::string& name, const torch::Tensor& value, bool bf16) {
  const auto t = value.detach().to(torch::kCPU).to(torch::kFloat32).contiguous();
  TensorToWrite w;
  w.name = name;
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
  return w;
}

// Llama's name of a Transformer parameter: "model." + name, lm_head as is.
std::string llama_name(const std::string& name) { return name.rfind("lm_head", 0) == 0 ? name : "model." + name; }

// The decoder's tensors under Llama's names.
void add_llama(std::vector<TensorToWrite>* out, const std::vector<std::pair<std::string, torch::Tensor>>& weights,
               bool bf16) {
  for (const auto& [name, value] : weights) out->push_back(to_write(llama_name(name), value, bf16));
}

std::vector<std::pair<std::string, torch::Tensor>> named(torch::nn::Module& m) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : m.named_parameters()) out.emplace_back(p.key(), p.value());
  return out;
}

// config.json: the model's fields under Hugging Face Llama's names (the
// settings table's hf names), and what a Llama loader needs besides.
nlohmann::json llama_config(const TransformerConfig& c, const Tokenizer& tok, bool bf16) {
  nlohmann::json j = hf_llama_json(c);
  j.update({{"architectures", {"LlamaForCausalLM"}},
            {"model_type", "llama"},
            {"head_dim", c.head_dim()},
            {"hidden_act", "silu"},
            {"attention_bias", false},
            {"mlp_bias", false},
            {"initializer_range", 0.02},
            {"bos_token_id", 1},
            {"eos_token_id", tok.eos_id()},
            {"torch_dtype", bf16 ? "bfloat16" : "float32"}});
  return j;
}

// Builds the bundle in a temporary directory beside `out` (write(dir) fills
// it), then swaps it in: a bundle with this name is always complete.
void write_bundle_dir(const std::string& out, const std::function<void(const fs::path&)>& write) {
  const fs::path target(out);
  const fs::path tmp = target.string() + ".tmp-" + std::to_string(::getpid());
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  try {
    write(tmp);
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

void export_gan(const OpenedRun& run, const std::string& out, bool bf16) {
  LoadedGAN gan = load_gan(run);
  const CheckpointState& state = run.state;
  std::vector<TensorToWrite> tensors;
  for (const auto& p : gan.generator->named_parameters()) tensors.push_back(to_write(p.key(), p.value(), bf16));
  nlohmann::json config = to_json(gan.config);  // the network's shape (models/config.h)
  config.update({{"format_version", 1},
                 {"model_kind", "gan"},
                 {"genres", gan.genres},
                 {"negative_slope", 0.2},
                 {"tokenizer_sha256", state.tokenizer_sha256},
                 {"checkpoint_step", state.step}});
  write_bundle_dir(out, [&](const fs::path& dir) {
    write_safetensors(
        (dir / "generator.safetensors").string(), tensors,
        {{"format", "pt"}, {"producer", "plotforge export"}, {"checkpoint_step", std::to_string(state.step)}});
    write_file_atomic((dir / "gan.json").string(), config.dump(2) + "\n");
  });
}

// The scene classifier for the runtime (inference/scene_classifier.h): its
// tensors under their module names, the encoder's Llama fields and the
// heads' class names in config.json.
void export_classifier(const OpenedRun& run, const std::string& out, bool bf16) {
  const LoadedClassifier cls = load_classifier(run.checkpoint);
  std::vector<TensorToWrite> tensors;
  for (const auto& p : cls.model->named_parameters()) tensors.push_back(to_write(p.key(), p.value(), bf16));
  nlohmann::json config = hf_llama_json(cls.model->config().encoder);
  config.update({{"architectures", {"PlotforgeSceneClassifier"}},
                 {"head_dim", cls.model->config().encoder.head_dim()},
                 {"torch_dtype", bf16 ? "bfloat16" : "float32"}});
  config["plotforge"] = {{"format_version", 1},
                         {"model_kind", "classifier"},
                         {"labels",
                          {{"genre", cls.genres},
                           {"beat", beat_vocabulary()},
                           {"emotion", emotion_vocabulary()},
                           {"valence", valence_vocabulary()}}},
                         {"labelled_heads", cls.labelled_heads},
                         {"tokenizer_sha256", run.state.tokenizer_sha256},
                         {"checkpoint_step", run.state.step}};
  write_bundle_dir(out, [&](const fs::path& dir) {
    write_safetensors(
        (dir / "model.safetensors").string(), tensors,
        {{"format", "pt"}, {"producer", "plotforge export"}, {"checkpoint_step", std::to_string(run.state.step)}});
    write_file_atomic((dir / "config.json").string(), config.dump(2) + "\n");
    write_file_atomic((dir / "tokenizer.model").string(), read_file(run.tokenizer_path));
  });
}

}  // namespace

std::string export_bundle(const std::string& checkpoint_arg, const std::string& out, const std::string& dtype) {
  if (dtype != "fp32" && dtype != "bf16") throw InputError("--dtype: '" + dtype + "' is not fp32 or bf16");
  const bool bf16 = dtype == "bf16";
  const OpenedRun run = open_run(checkpoint_arg, "");
  const std::string& ckpt = run.checkpoint;
  const CheckpointState& state = run.state;
  if (state.kind == "gan") {
    export_gan(run, out, bf16);
    return "gan";
  }
  if (state.kind == "classifier") {
    export_classifier(run, out, bf16);
    return "classifier";
  }
  if (state.kind != "transformer" && state.kind != "vae") {
    throw InputError(ckpt + ": a " + state.kind +
                     " model has no bundle; export a transformer, vae, gan or classifier run");
  }
  const std::string& tok_path = run.tokenizer_path;
  const Tokenizer tok = Tokenizer::load(tok_path);
  const TransformerConfig& c = state.model;
  std::vector<TensorToWrite> tensors;
  nlohmann::json extra = nlohmann::json::object();
  if (state.kind == "transformer") {
    Transformer model = load_transformer(run);
    add_llama(&tensors, merged_weights(model), bf16);  // a LoRA run's adapters merged in
  } else {
    LoadedVAE vae = load_vae(run);
    add_llama(&tensors, named(*vae.model->decoder), bf16);
    // Everything else under plotforge.*, which Llama loaders ignore.
    for (const auto& p : vae.model->named_parameters()) {
      if (p.key().rfind("decoder.", 0) != 0) tensors.push_back(to_write("plotforge." + p.key(), p.value(), bf16));
    }
    for (const auto& b : vae.model->named_buffers()) {
      if (b.key().rfind("mu_norm.running_", 0) == 0)
        tensors.push_back(to_write("plotforge." + b.key(), b.value(), bf16));
    }
    extra = to_json(vae.settings);  // the runtime reads them back (inference/model.cc)
  }

  nlohmann::json control = nlohmann::json::object();
  for (const auto& [name, id] : tok.control_tokens()) control[name] = id;
  nlohmann::json config = llama_config(c, tok, bf16);
  config["plotforge"] = {{"format_version", 1},
                         {"model_kind", state.kind},
                         {"control_tokens", control},
                         {"newline_token_id", tok.newline_id()},
                         {"newline_piece", tok.piece(tok.newline_id())},
                         {"tokenizer_sha256", state.tokenizer_sha256},
                         {"checkpoint_step", state.step},
                         // What a LoRA adapter of a run started from this
                         // checkpoint is checked against (export_adapter).
                         {"source_sha256", sha256_file(ckpt)}};
  config["plotforge"].update(extra);
  const nlohmann::json generation = {{"bos_token_id", 1}, {"eos_token_id", tok.eos_id()},
                                     {"do_sample", true}, {"temperature", 0.8},
                                     {"top_p", 1.0},      {"max_new_tokens", 500}};
  // What transformers and llama.cpp's converter build the same tokenizer from.
  const std::string tok_bytes = read_file(tok_path);
  const HfTokenizerFiles hf_tok = hf_tokenizer_files(SentencePieceModel::parse(tok_bytes, tok_path), c.context);
  if (tok.legacy_newline()) {
    std::fprintf(stderr,
                 "warning: %s stores a newline as its own <nl> token (a tokenizer from before 2026-12-02): "
                 "transformers and llama.cpp encode \"\\n\" as <0x0A>, so text with newlines gets other ids "
                 "there; a run on a corpus prepared with a newly trained tokenizer does not have this problem\n",
                 tok_path.c_str());
  }
  write_bundle_dir(out, [&](const fs::path& dir) {
    write_safetensors(
        (dir / "model.safetensors").string(), tensors,
        {{"format", "pt"}, {"producer", "plotforge export"}, {"checkpoint_step", std::to_string(state.step)}});
    write_file_atomic((dir / "config.json").string(), config.dump(2) + "\n");
    write_file_atomic((dir / "generation_config.json").string(), generation.dump(2) + "\n");
    write_file_atomic((dir / "tokenizer.model").string(), tok_bytes);
    write_file_atomic((dir / "tokenizer.json").string(), hf_tok.tokenizer_json);
    write_file_atomic((dir / "tokenizer_config.json").string(), hf_tok.tokenizer_config_json);
  });
  return state.kind;
}

void export_adapter(const std::string& checkpoint, const std::string& out, const std::string& base_bundle_arg) {
  const OpenedRun run = open_run(checkpoint, "transformer");
  const LoraConfig lora = lora_of(run);
  if (lora.rank == 0) {
    throw InputError(run.checkpoint + ": not a LoRA run; export it as a bundle (without --format peft)");
  }
  const BaseModel base = base_from_json(config_entry(run, "init_from"), run.checkpoint);
  // The bundle the adapter applies to: the base itself when it is one, else
  // the base run's export, recognised by the checkpoint it came from.
  std::string bundle = base_bundle_arg.empty() && base.bundle ? base.path : base_bundle_arg;
  if (bundle.empty()) {
    throw InputError("--base-bundle: " + run.checkpoint + " was trained on the run " + base.path +
                     "; export that with 'plotforge export' and name the bundle with --base-bundle");
  }
  const BaseModel target = open_base(bundle);
  if (!target.bundle) throw InputError("--base-bundle " + bundle + ": not a bundle directory (no config.json)");
  std::string source;
  try {
    source = nlohmann::json::parse(read_file(bundle + "/config.json")).at("plotforge").at("source_sha256");
  } catch (const std::exception&) {
  }
  if (target.sha256 != base.sha256 && source != base.sha256) {
    throw InputError("--base-bundle " + bundle + ": not the base " + run.checkpoint + " was trained on (" + base.path +
                     ", sha256 " + base.sha256.substr(0, 12) + "…)");
  }
  Transformer model = load_transformer(run);
  std::vector<TensorToWrite> tensors;
  nlohmann::json targets = nlohmann::json::array();
  for (const auto& [prefix, path] : lora_paths(model)) {
    const std::string name = "base_model.model." + llama_name(prefix);
    tensors.push_back(to_write(name + ".lora_A.weight", path->A, false));
    tensors.push_back(to_write(name + ".lora_B.weight", path->B, false));
  }
  for (const auto& t : lora.target_list()) targets.push_back(t);
  // PEFT's LoraConfig fields (peft/tuners/lora/config.py), those it needs to
  // rebuild the adapter; plotforge's own facts go into the metadata.
  const nlohmann::json config = {{"peft_type", "LORA"},
                                 {"task_type", "CAUSAL_LM"},
                                 {"base_model_name_or_path", fs::absolute(bundle).lexically_normal().string()},
                                 {"r", lora.rank},
                                 {"lora_alpha", lora.alpha},
                                 {"lora_dropout", lora.dropout},
                                 {"target_modules", targets},
                                 {"bias", "none"},
                                 {"fan_in_fan_out", false},
                                 {"inference_mode", true},
                                 {"init_lora_weights", true},
                                 {"use_rslora", false},
                                 {"use_dora", false}};
  write_bundle_dir(out, [&](const fs::path& dir) {
    write_safetensors((dir / "adapter_model.safetensors").string(), tensors,
                      {{"format", "pt"},
                       {"producer", "plotforge export"},
                       {"checkpoint_step", std::to_string(run.state.step)},
                       {"plotforge.base_weights_sha256", target.sha256},
                       // What the runtime checks (it reads config.json, not the weights' hash).
                       {"plotforge.base_source_sha256", source},
                       {"plotforge.tokenizer_sha256", run.state.tokenizer_sha256}});
    write_file_atomic((dir / "adapter_config.json").string(), config.dump(2) + "\n");
  });
}

}  // namespace plotforge
