#include "training/checkpoint.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include "base/atomic_file.h"
#include "base/error.h"

namespace plotforge {

namespace fs = std::filesystem;

namespace {

c10::IValue read_value(torch::serialize::InputArchive& a, const std::string& key) {
  c10::IValue v;
  if (!a.try_read(key, v)) throw std::runtime_error("missing key " + key);
  return v;
}

// A format-1 checkpoint's configuration (model.* values and the kind's
// settings_json), as format 2's document.
void read_format1_config(torch::serialize::InputArchive& a, CheckpointState* s) {
  nlohmann::json model = nlohmann::json::object();
  for (const char* key : {"vocab_size", "dim", "n_layers", "n_heads", "n_kv_heads", "ffn_hidden", "context"}) {
    model[key] = read_value(a, std::string("model.") + key).toInt();
  }
  model["rope_theta"] = read_value(a, "model.rope_theta").toDouble();
  model["norm_eps"] = read_value(a, "model.norm_eps").toDouble();
  model["tie_embeddings"] = read_value(a, "model.tie_embeddings").toBool();
  s->model = model_from_json(model, "model");
  c10::IValue v;
  if (a.try_read("kind", v)) s->kind = v.toStringRef();
  const nlohmann::json settings =
      a.try_read("settings_json", v) ? nlohmann::json::parse(v.toStringRef()) : nlohmann::json::object();
  // Format 1 kept one flat object per kind: the VAE's settings; the GAN's
  // settings, network shape and genres; the classifier's genres.
  if (s->kind == "vae") s->config["vae"] = settings;
  if (s->kind == "gan") s->config["gan"] = s->config["gan_model"] = settings;
  if (settings.contains("genres")) s->config["genres"] = settings["genres"];
}

}  // namespace

std::string checkpoint_path(const std::string& run_dir, long step) {
  char name[64];
  std::snprintf(name, sizeof name, "step-%08ld.pt", step);
  return (fs::path(run_dir) / "checkpoints" / name).string();
}

std::string best_checkpoint_path(const std::string& run_dir) {
  return (fs::path(run_dir) / "checkpoints" / "best.pt").string();
}

void save_checkpoint(const std::string& path, const CheckpointParts& parts, const CheckpointState& s) {
  fs::create_directories(fs::path(path).parent_path());
  torch::serialize::OutputArchive a;
  auto write_part = [&](const std::string& prefix, torch::nn::Module* m, torch::optim::Optimizer* o) {
    if (m) {
      // Frozen parameters (a LoRA run's base) are not the run's to keep: the
      // checkpoint records where they come from instead (training/base_model.h).
      for (const auto& p : m->named_parameters()) {
        if (!parts.frozen_from_base || p.value().requires_grad())
          a.write(prefix + "param." + p.key(), p.value().detach().cpu());
      }
      // Buffers that training changes (batch-norm statistics); the rotary
      // tables are recomputed from the config.
      for (const auto& b : m->named_buffers()) {
        if (b.key().find("rope_") == std::string::npos) a.write(prefix + "buffer." + b.key(), b.value().detach().cpu());
      }
    }
    if (o) {
      torch::serialize::OutputArchive opt;
      o->save(opt);
      a.write(prefix + "optimizer", opt);
    }
  };
  write_part("", parts.model, parts.optimizer);
  write_part("aux.", parts.aux, parts.aux_optimizer);
  nlohmann::json config = s.config;
  config["model"] = model_json(s.model);
  a.write("kind", c10::IValue(s.kind));
  a.write("config_json", c10::IValue(config.dump()));
  a.write("format", c10::IValue(std::string("plotforge-checkpoint-2")));
  a.write("step", c10::IValue(static_cast<int64_t>(s.step)));
  a.write("loader_position", c10::IValue(static_cast<int64_t>(s.loader_position)));
  a.write("best_val_loss", c10::IValue(s.best_val_loss));
  a.write("elapsed_s", c10::IValue(s.elapsed_s));
  a.write("tokenizer_sha256", c10::IValue(s.tokenizer_sha256));
  a.write("rng.cpu", at::detail::getDefaultCPUGenerator().get_state());
  AtomicPath out(path);
  a.save_to(out.temp_path());
  out.commit();
}

CheckpointState load_checkpoint(const std::string& path, const CheckpointParts& parts) {
  CheckpointState s;
  try {
    torch::serialize::InputArchive a;
    a.load_from(path);
    const std::string format = read_value(a, "format").toStringRef();
    if (format == "plotforge-checkpoint-2") {
      s.kind = read_value(a, "kind").toStringRef();
      s.config = nlohmann::json::parse(read_value(a, "config_json").toStringRef());
      s.model = model_from_json(s.config.at("model"), path + ": config_json model");
      s.config.erase("model");
    } else if (format == "plotforge-checkpoint-1") {
      read_format1_config(a, &s);
    } else {
      throw InputError(path + ": checkpoint format '" + format +
                       "' is newer than this plotforge knows "
                       "(it reads plotforge-checkpoint-1 and -2); use the plotforge that wrote it");
    }
    s.step = read_value(a, "step").toInt();
    s.loader_position = static_cast<std::uint64_t>(read_value(a, "loader_position").toInt());
    s.best_val_loss = read_value(a, "best_val_loss").toDouble();
    s.elapsed_s = read_value(a, "elapsed_s").toDouble();
    s.tokenizer_sha256 = read_value(a, "tokenizer_sha256").toStringRef();
    auto read_part = [&](const std::string& prefix, torch::nn::Module* m, torch::optim::Optimizer* o) {
      if (m) {
        torch::NoGradGuard no_grad;
        for (auto& p : m->named_parameters()) {
          if (parts.frozen_from_base && !p.value().requires_grad()) continue;  // loaded from the base beforehand
          torch::Tensor t;
          if (!a.try_read(prefix + "param." + p.key(), t))
            throw std::runtime_error("missing parameter " + prefix + p.key());
          if (t.sizes() != p.value().sizes())
            throw std::runtime_error("parameter " + prefix + p.key() + " has another shape");
          p.value().copy_(t);
        }
        for (auto& b : m->named_buffers()) {
          torch::Tensor t;
          if (b.key().find("rope_") != std::string::npos) continue;
          if (!a.try_read(prefix + "buffer." + b.key(), t))
            throw std::runtime_error("missing buffer " + prefix + b.key());
          if (t.sizes() != b.value().sizes())
            throw std::runtime_error("buffer " + prefix + b.key() + " has another shape");
          b.value().copy_(t);
        }
      }
      if (o) {
        torch::serialize::InputArchive opt;
        if (!a.try_read(prefix + "optimizer", opt)) throw std::runtime_error("no " + prefix + "optimizer state");
        o->load(opt);
      }
    };
    read_part("", parts.model, parts.optimizer);
    read_part("aux.", parts.aux, parts.aux_optimizer);
    if (parts.optimizer) {
      torch::Tensor rng;
      if (!a.try_read("rng.cpu", rng)) throw std::runtime_error("no RNG state");
      at::Generator gen = at::detail::getDefaultCPUGenerator();
      gen.set_state(rng);
    }
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    std::string what = e.what();
    what = what.substr(0, what.find('\n'));
    throw InputError(path + ": not a complete plotforge checkpoint (" + what + ")");
  }
  return s;
}

void expect_kind(const CheckpointState& s, const std::string& kind, const std::string& path) {
  if (s.kind != kind) {
    throw InputError(path + ": holds a " + s.kind + " model, not a " + kind + " model; pass a " + kind +
                     " run directory or checkpoint");
  }
}

std::vector<std::string> list_checkpoints(const std::string& run_dir) {
  std::vector<std::string> out;
  const fs::path dir = fs::path(run_dir) / "checkpoints";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("step-", 0) == 0 && e.path().extension() == ".pt") out.push_back(e.path().string());
  }
  std::sort(out.rbegin(), out.rend());  // zero-padded steps: lexical order is step order
  return out;
}

std::string resolve_checkpoint(const std::string& path_or_dir) {
  std::error_code ec;
  if (fs::is_regular_file(path_or_dir, ec)) return path_or_dir;
  if (!fs::is_directory(path_or_dir, ec)) throw InputError(path_or_dir + ": no such checkpoint file or run directory");
  for (const auto& c : list_checkpoints(path_or_dir)) {
    try {
      load_checkpoint(c);
      return c;
    } catch (const InputError& e) {
      std::fprintf(stderr, "warning: skipping %s\n", e.what());
    }
  }
  throw InputError(path_or_dir + ": no valid checkpoint in " + path_or_dir +
                   "/checkpoints; train with 'plotforge train'");
}

}  // namespace plotforge
