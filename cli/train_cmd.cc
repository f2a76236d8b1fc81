// plotforge train / plotforge generate.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>

#include <torch/torch.h>

#include "cli/command.h"
#include "datasets/annotations.h"
#include "datasets/documents.h"
#include "datasets/error.h"
#include "datasets/tokenizer.h"
#include "models/generate.h"
#include "training/checkpoint.h"
#include "training/distributed.h"
#include "training/export.h"
#include "training/generators.h"
#include "training/trainer.h"

namespace plotforge::cli {

namespace {

// Registers every training option with its default from TrainOptions. The
// long names are the INI keys: training keys at the top of the file, model
// keys in its [model] section (model.dim on the command line).
void add_train_options(po::options_description& o, const TrainOptions& d) {
  o.add_options()
      ("data", po::value<std::string>()->required(), "corpus.h5 from 'plotforge prepare'")
      ("out", po::value<std::string>()->required(), "run directory (checkpoints, logs)")
      ("resume", po::bool_switch(), "continue from the newest valid checkpoint in --out")
      ("device", po::value<std::string>()->default_value(d.device), "auto | cpu | cuda")
      ("seed", po::value<std::uint64_t>()->default_value(d.seed), "random seed (init and data order)")
      ("batch-size", po::value<int>()->default_value(d.batch_size), "sequences per micro-batch")
      ("grad-accum", po::value<int>()->default_value(d.grad_accum), "micro-batches per optimizer step")
      ("max-steps", po::value<long>()->default_value(d.max_steps), "optimizer steps")
      ("stop-after", po::value<long>()->default_value(d.stop_after), "stop after this step with a checkpoint (time-limited jobs); --resume continues")
      ("lr", po::value<double>()->default_value(d.lr), "peak learning rate")
      ("min-lr", po::value<double>()->default_value(d.min_lr), "learning-rate floor after cosine decay")
      ("warmup-steps", po::value<long>()->default_value(d.warmup_steps), "linear warmup steps")
      ("lr-decay-steps", po::value<long>()->default_value(d.lr_decay_steps), "cosine decay length (0: max-steps)")
      ("weight-decay", po::value<double>()->default_value(d.weight_decay), "AdamW decoupled weight decay (matrices only)")
      ("beta1", po::value<double>()->default_value(d.beta1), "AdamW beta1")
      ("beta2", po::value<double>()->default_value(d.beta2), "AdamW beta2")
      ("grad-clip", po::value<double>()->default_value(d.grad_clip), "global gradient-norm clip (0: off)")
      ("eval-every", po::value<int>()->default_value(d.eval_every), "steps between validation passes")
      ("eval-batches", po::value<int>()->default_value(d.eval_batches), "validation batches per pass")
      ("log-every", po::value<int>()->default_value(d.log_every), "steps between metrics lines")
      ("checkpoint-every", po::value<int>()->default_value(d.checkpoint_every), "steps between checkpoints")
      ("keep-last", po::value<int>()->default_value(d.keep_last), "checkpoints kept (plus best.pt)")
      ("peak-flops", po::value<double>()->default_value(d.peak_flops), "device peak FLOP/s for MFU (0: by device name)")
      ("dist-timeout", po::value<double>()->default_value(d.dist_timeout_s), "seconds before a dead or hung rank fails the others")
      ("zero1", po::bool_switch(), "data parallel: shard AdamW's state across ranks (ZeRO stage 1: reduce-scatter, then all-gather)")
      ("bucket-mb", po::value<double>()->default_value(d.bucket_bytes / 1048576.0), "data parallel: gradient all-reduce bucket size (MiB)")
      ("quiet", po::bool_switch(), "no progress lines");
  const TransformerConfig& m = d.model;
  o.add_options()
      ("model.dim", po::value<int>()->default_value(m.dim), "model width")
      ("model.n_layers", po::value<int>()->default_value(m.n_layers), "Transformer blocks")
      ("model.n_heads", po::value<int>()->default_value(m.n_heads), "attention heads")
      ("model.n_kv_heads", po::value<int>()->default_value(m.n_kv_heads), "key/value heads (0: n_heads)")
      ("model.ffn_hidden", po::value<int>()->default_value(m.ffn_hidden), "SwiGLU hidden size (0: 8/3 dim)")
      ("model.context", po::value<int>()->default_value(m.context), "context length in tokens")
      ("model.rope_theta", po::value<float>()->default_value(m.rope_theta), "rotary base")
      ("model.norm_eps", po::value<float>()->default_value(m.norm_eps), "RMSNorm epsilon")
      ("model.tie_embeddings", po::value<bool>()->default_value(m.tie_embeddings), "share embed_tokens and lm_head");
}

// The other generators' own keys: [vae] and [gan] sections.
void add_generator_options(po::options_description& o) {
  const VAESettings v;
  const GANSettings g;
  o.add_options()
      ("kind", po::value<std::string>()->default_value("transformer"), "transformer | vae | gan | classifier")
      ("vae.latent", po::value<int>()->default_value(v.latent), "VAE latent dimensions")
      ("vae.encoder_layers", po::value<int>()->default_value(v.encoder_layers), "VAE encoder blocks (0: model.n_layers)")
      ("vae.beta_max", po::value<double>()->default_value(v.beta_max), "KL weight after each cycle's ramp")
      ("vae.cycles", po::value<int>()->default_value(v.cycles), "cyclical KL annealing: cycles over the run")
      ("vae.zero_ratio", po::value<double>()->default_value(v.zero_ratio), "share of each cycle with beta = 0 (autoencoder)")
      ("vae.ramp_ratio", po::value<double>()->default_value(v.ramp_ratio), "share of each cycle ramping beta up")
      ("vae.free_bits", po::value<double>()->default_value(v.free_bits), "per-dimension KL floor lambda (nats)")
      ("vae.init_decoder", po::value<std::string>()->default_value(""), "Transformer run to start the decoder from (as Optimus starts from GPT-2)")
      ("vae.scene_windows", po::value<bool>()->default_value(true), "train on windows of long scenes at varying offsets, not only their starts")
      ("vae.mu_scale", po::value<double>()->default_value(v.mu_scale), "BN-VAE: scale of the batch-normalized means (0: off)")
      ("vae.offset_init", po::value<double>()->default_value(v.offset_init), "std of the latent embedding offset's initial weights (0: zero)")
      ("gan.vae", po::value<std::string>()->default_value(""), "VAE run directory whose latent space the GAN learns")
      ("gan.noise", po::value<int>()->default_value(g.noise), "generator noise dimensions")
      ("gan.hidden", po::value<int>()->default_value(g.hidden), "MLP width")
      ("gan.layers", po::value<int>()->default_value(g.layers), "linear layers per MLP")
      ("gan.condition_on_genre", po::value<bool>()->default_value(g.condition_on_genre), "genre-conditioned generator and critic")
      ("gan.n_critic", po::value<int>()->default_value(g.n_critic), "critic steps per generator step")
      ("gan.gp", po::value<double>()->default_value(g.gp), "gradient-penalty weight");
}

// The resolved options as INI text, for the record in every checkpoint.
std::string resolved_ini(const po::variables_map& vm) {
  std::ostringstream top;
  std::map<std::string, std::string> sections;
  for (const auto& [key, v] : vm) {
    if (key == "config" || key == "help") continue;
    std::ostringstream val;
    const auto& a = v.value();
    if (auto p = boost::any_cast<std::string>(&a)) val << *p;
    else if (auto p = boost::any_cast<int>(&a)) val << *p;
    else if (auto p = boost::any_cast<long>(&a)) val << *p;
    else if (auto p = boost::any_cast<std::uint64_t>(&a)) val << *p;
    else if (auto p = boost::any_cast<double>(&a)) val << *p;
    else if (auto p = boost::any_cast<float>(&a)) val << *p;
    else if (auto p = boost::any_cast<bool>(&a)) val << (*p ? "true" : "false");
    else continue;
    const auto dot = key.find('.');
    if (dot == std::string::npos) top << key << " = " << val.str() << "\n";
    else sections[key.substr(0, dot)] += key.substr(dot + 1) + " = " + val.str() + "\n";
  }
  std::string out = top.str();
  for (const auto& [name, body] : sections) out += "\n[" + name + "]\n" + body;
  return out;
}

}  // namespace

int cmd_train(const Args& args) {
  const TrainOptions d;
  po::options_description o("plotforge train");
  add_train_options(o, d);
  add_generator_options(o);
  po::variables_map vm;
  if (!parse_options("usage: plotforge train --config configs/NAME.ini --data corpus.h5 --out DIR [options]\n"
                     "Any option can also be set in the INI file; the command line wins. --kind picks the generator:\n"
                     "the Transformer (default), the VAE ([vae] keys), the latent GAN ([gan] keys, gan.vae names a\n"
                     "trained VAE) or the scene classifier (used by 'plotforge eval').",
                     o, args, &vm)) {
    return 0;
  }
  TrainOptions t;
  t.data = vm["data"].as<std::string>();
  t.out = vm["out"].as<std::string>();
  t.resume = vm["resume"].as<bool>();
  t.device = vm["device"].as<std::string>();
  t.seed = vm["seed"].as<std::uint64_t>();
  t.batch_size = vm["batch-size"].as<int>();
  t.grad_accum = vm["grad-accum"].as<int>();
  t.max_steps = vm["max-steps"].as<long>();
  t.stop_after = vm["stop-after"].as<long>();
  t.lr = vm["lr"].as<double>();
  t.min_lr = vm["min-lr"].as<double>();
  t.warmup_steps = vm["warmup-steps"].as<long>();
  t.lr_decay_steps = vm["lr-decay-steps"].as<long>();
  t.weight_decay = vm["weight-decay"].as<double>();
  t.beta1 = vm["beta1"].as<double>();
  t.beta2 = vm["beta2"].as<double>();
  t.grad_clip = vm["grad-clip"].as<double>();
  t.eval_every = vm["eval-every"].as<int>();
  t.eval_batches = vm["eval-batches"].as<int>();
  t.log_every = vm["log-every"].as<int>();
  t.checkpoint_every = vm["checkpoint-every"].as<int>();
  t.keep_last = vm["keep-last"].as<int>();
  t.peak_flops = vm["peak-flops"].as<double>();
  t.progress = !vm["quiet"].as<bool>();
  t.dist_timeout_s = vm["dist-timeout"].as<double>();
  if (!(vm["bucket-mb"].as<double>() > 0)) throw InputError("--bucket-mb: must be positive");
  t.zero1 = vm["zero1"].as<bool>();
  t.bucket_bytes = static_cast<std::size_t>(vm["bucket-mb"].as<double>() * 1048576.0);
  t.model.dim = vm["model.dim"].as<int>();
  t.model.n_layers = vm["model.n_layers"].as<int>();
  t.model.n_heads = vm["model.n_heads"].as<int>();
  t.model.n_kv_heads = vm["model.n_kv_heads"].as<int>();
  t.model.ffn_hidden = vm["model.ffn_hidden"].as<int>();
  t.model.context = vm["model.context"].as<int>();
  t.model.rope_theta = vm["model.rope_theta"].as<float>();
  t.model.norm_eps = vm["model.norm_eps"].as<float>();
  t.model.tie_embeddings = vm["model.tie_embeddings"].as<bool>();
  t.config_ini = resolved_ini(vm);
  const std::string kind = vm["kind"].as<std::string>();
  TrainResult r;
  if (kind == "transformer") {
    r = train(t);
  } else if (kind == "vae") {
    VAESettings v;
    v.latent = vm["vae.latent"].as<int>();
    v.encoder_layers = vm["vae.encoder_layers"].as<int>();
    v.beta_max = vm["vae.beta_max"].as<double>();
    v.cycles = vm["vae.cycles"].as<int>();
    v.zero_ratio = vm["vae.zero_ratio"].as<double>();
    v.ramp_ratio = vm["vae.ramp_ratio"].as<double>();
    v.free_bits = vm["vae.free_bits"].as<double>();
    v.mu_scale = vm["vae.mu_scale"].as<double>();
    v.offset_init = vm["vae.offset_init"].as<double>();
    v.init_decoder = vm["vae.init_decoder"].as<std::string>();
    v.scene_windows = vm["vae.scene_windows"].as<bool>();
    r = train_vae(t, v);
  } else if (kind == "gan") {
    GANSettings g;
    g.vae = vm["gan.vae"].as<std::string>();
    g.noise = vm["gan.noise"].as<int>();
    g.hidden = vm["gan.hidden"].as<int>();
    g.layers = vm["gan.layers"].as<int>();
    g.condition_on_genre = vm["gan.condition_on_genre"].as<bool>();
    g.n_critic = vm["gan.n_critic"].as<int>();
    g.gp = vm["gan.gp"].as<double>();
    r = train_gan(t, g);
  } else if (kind == "classifier") {
    r = train_classifier(t);
  } else {
    throw InputError("--kind: '" + kind + "' is not transformer, vae, gan or classifier");
  }
  if (launch_env().rank != 0) return 0;  // rank 0 reports for the run
  if (r.first_step >= r.steps) {
    std::cout << t.out << " is already at step " << r.first_step << " of " << r.steps
              << ": nothing to train (raise --max-steps to continue it)\n";
    return 0;
  }
  std::cout << "trained " << kind << " " << r.steps << " steps in " << r.seconds << " s: loss " << r.last_loss
            << ", val loss " << r.last_val_loss << " (best " << r.best_val_loss << ")";
  for (const auto& [k, v] : r.last_eval) {
    if (k != "val_loss") std::cout << ", " << k << " " << v;
  }
  std::cout << "\n";
  return 0;
}

int cmd_generate(const Args& args) {
  po::options_description o("plotforge generate");
  SampleOptions d;
  o.add_options()
      ("checkpoint", po::value<std::string>()->required(), "run directory (its newest checkpoint) or a .pt file")
      ("prompt", po::value<std::string>()->default_value(""), "Fountain text to continue")
      ("genre", po::value<std::string>()->default_value(""), "condition on a genre (a control token)")
      ("beat", po::value<std::string>()->default_value(""), "condition the scene on a beat")
      ("emotion", po::value<std::string>()->default_value(""), "condition the scene on an emotion")
      ("max-new-tokens", po::value<int>()->default_value(d.max_new_tokens), "tokens to generate")
      ("temperature", po::value<float>()->default_value(d.temperature), "0 is greedy")
      ("top-k", po::value<int>()->default_value(d.top_k), "keep the k likeliest tokens (0: all)")
      ("top-p", po::value<float>()->default_value(d.top_p), "nucleus sampling mass (1: off)")
      ("seed", po::value<std::uint64_t>()->default_value(d.seed), "sampling seed")
      ("num-samples", po::value<int>()->default_value(d.num_samples), "samples, separated by page breaks (===)")
      ("device", po::value<std::string>()->default_value("cpu"), "cpu | cuda");
  po::variables_map vm;
  if (!parse_options("usage: plotforge generate --checkpoint DIR [--prompt TEXT] [--genre G] [--beat B] [options]", o,
                     args, &vm)) {
    return 0;
  }
  const OpenedRun run = open_run(vm["checkpoint"].as<std::string>(), "transformer");
  const Tokenizer tok = Tokenizer::load(run.tokenizer_path);
  Transformer model(run.state.model);
  load_checkpoint(run.checkpoint, {model.get()});
  if (vm["device"].as<std::string>() == "cuda") {
    if (!torch::cuda::is_available()) throw InputError("--device cuda: no CUDA device is usable; use --device cpu");
    model->to(torch::kCUDA);
  }

  const std::string prompt = conditioning_prompt(tok, vm["genre"].as<std::string>(), vm["beat"].as<std::string>(),
                                                 vm["emotion"].as<std::string>(), vm["prompt"].as<std::string>());

  SampleOptions s;
  s.max_new_tokens = vm["max-new-tokens"].as<int>();
  s.temperature = vm["temperature"].as<float>();
  s.top_k = vm["top-k"].as<int>();
  s.top_p = vm["top-p"].as<float>();
  s.seed = vm["seed"].as<std::uint64_t>();
  s.num_samples = vm["num-samples"].as<int>();
  s.stop_tokens = {tok.eos_id()};
  const std::vector<int> ids = tok.encode(prompt);
  const auto t0 = std::chrono::steady_clock::now();
  const auto samples = generate(model, ids, s);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::size_t total = 0;
  for (const auto& x : samples) total += x.size();
  std::fprintf(stderr, "plotforge generate: %zu tokens in %.2f s (%.0f tokens/s)\n", total, secs, secs > 0 ? total / secs : 0.0);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    std::vector<int> all = ids;
    all.insert(all.end(), samples[i].begin(), samples[i].end());
    if (i > 0) std::cout << "\n===\n\n";
    std::string text = strip_control_tokens(tok.decode(all));
    if (!text.empty() && text.back() != '\n') text += "\n";
    std::cout << text;
  }
  return 0;
}

int cmd_export(const Args& args) {
  po::options_description o("plotforge export");
  o.add_options()
      ("checkpoint", po::value<std::string>()->required(), "run directory (its newest checkpoint) or a .pt file")
      ("out", po::value<std::string>()->required(), "bundle directory to write")
      ("dtype", po::value<std::string>()->default_value("fp32"), "fp32 | bf16");
  po::variables_map vm;
  if (!parse_options("usage: plotforge export --checkpoint DIR --out BUNDLE [--dtype fp32|bf16]", o, args, &vm)) return 0;
  const std::string kind =
      export_bundle(vm["checkpoint"].as<std::string>(), vm["out"].as<std::string>(), vm["dtype"].as<std::string>());
  std::cout << "wrote " << kind << " bundle " << vm["out"].as<std::string>()
            << (kind == "gan" ? " (generator.safetensors, gan.json)\n"
                              : " (model.safetensors, config.json, generation_config.json, tokenizer.model)\n");
  return 0;
}

}  // namespace plotforge::cli
