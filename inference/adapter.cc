#include "inference/adapter.h"

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/json_file.h"
#include "base/safetensors.h"
#include "inference/parallel.h"

namespace plotforge::runtime {

namespace {

const char* const kNames[kProjections] = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};

// The projection's input and output widths in a model of shape c.
std::pair<int, int> widths(const ModelConfig& c, int p) {
  const int q = c.n_heads * c.head_dim(), kv = c.n_kv_heads * c.head_dim();
  switch (static_cast<Proj>(p)) {
    case Proj::kQ:
      return {c.dim, q};
    case Proj::kK:
    case Proj::kV:
      return {c.dim, kv};
    case Proj::kO:
      return {q, c.dim};
    case Proj::kGate:
    case Proj::kUp:
      return {c.dim, c.hidden};
    case Proj::kDown:
      return {c.hidden, c.dim};
  }
  return {0, 0};
}

}  // namespace

std::shared_ptr<const Adapter> Adapter::load(const std::string& dir, const Model& base) {
  return load(dir, base.config(), base.source_sha256(), base.dir());
}

std::shared_ptr<const Adapter> Adapter::load(const std::string& dir, const ModelConfig& c,
                                             const std::string& base_source_sha256, const std::string& base_dir) {
  auto a = std::shared_ptr<Adapter>(new Adapter());
  a->dir_ = dir;
  const std::string cfg_path = dir + "/adapter_config.json";
  const nlohmann::json j = read_json_object(cfg_path);
  auto bad = [&](const std::string& field, const std::string& why) {
    return InputError(cfg_path + ": field '" + field + "' " + why);
  };
  if (j.value("peft_type", std::string()) != "LORA") throw bad("peft_type", "is not \"LORA\"");
  if (!j.contains("r") || !j["r"].is_number_integer() || j["r"].get<int>() < 1)
    throw bad("r", "is not a positive integer");
  if (!j.contains("lora_alpha") || !j["lora_alpha"].is_number() || !(j["lora_alpha"].get<double>() > 0)) {
    throw bad("lora_alpha", "is not a positive number");
  }
  for (const char* f : {"use_rslora", "use_dora"}) {
    if (j.contains(f) && !(j[f].is_null() || j[f] == false)) throw bad(f, "is set; the runtime applies plain LoRA");
  }
  if (j.contains("bias") && j["bias"] != "none")
    throw bad("bias", "is not \"none\"; plotforge's layers have no biases");
  a->rank_ = j["r"].get<int>();
  a->scale_ = static_cast<float>(j["lora_alpha"].get<double>() / a->rank_);

  const std::string st_path = dir + "/adapter_model.safetensors";
  const SafetensorsFile f = SafetensorsFile::open(st_path);
  const auto meta = f.metadata().find("plotforge.base_source_sha256");
  if (meta == f.metadata().end() || meta->second.empty()) {
    throw InputError(st_path +
                     ": no plotforge.base_source_sha256 metadata; export the adapter with "
                     "'plotforge export --format peft --base-bundle BASE'");
  }
  if (meta->second != base_source_sha256) {
    throw InputError(st_path + ": an adapter for another base (trained on the checkpoint " +
                     meta->second.substr(0, 12) + "…, but " + base_dir + " was exported from " +
                     (base_source_sha256.empty() ? std::string("an unrecorded checkpoint")
                                                 : base_source_sha256.substr(0, 12) + "…") +
                     ")");
  }
  std::size_t used = 0;
  a->layers_.resize(c.n_layers);
  for (int l = 0; l < c.n_layers; ++l) {
    for (int p = 0; p < kProjections; ++p) {
      const bool attn = p <= static_cast<int>(Proj::kO);
      const std::string stem =
          "base_model.model.model.layers." + std::to_string(l) + (attn ? ".self_attn." : ".mlp.") + kNames[p];
      const auto ia = f.tensors().find(stem + ".lora_A.weight"), ib = f.tensors().find(stem + ".lora_B.weight");
      if (ia == f.tensors().end() && ib == f.tensors().end()) continue;
      if (ia == f.tensors().end() || ib == f.tensors().end()) {
        throw InputError(st_path + ": " + stem + " has only one of lora_A and lora_B");
      }
      const auto [in, out] = widths(c, p);
      const std::vector<std::int64_t> want_a = {a->rank_, in}, want_b = {out, a->rank_};
      if (ia->second.shape != want_a || ib->second.shape != want_b) {
        throw InputError(st_path + ": " + stem + "'s lora_A/lora_B shapes do not fit the base " + base_dir +
                         " at rank " + std::to_string(a->rank_) + " (an adapter for another base?)");
      }
      const std::vector<float> A = to_float32(ia->second, st_path, stem + ".lora_A.weight");
      const std::vector<float> B = to_float32(ib->second, st_path, stem + ".lora_B.weight");
      Pair& pair = a->layers_[l][p];
      const int R = a->rank_;
      pair.in = in;
      pair.out = out;
      pair.At.resize(static_cast<std::size_t>(in) * R);
      pair.Bt.resize(static_cast<std::size_t>(R) * out);
      for (int r = 0; r < R; ++r) {
        for (int i = 0; i < in; ++i) {
          pair.At[static_cast<std::size_t>(i) * R + r] = A[static_cast<std::size_t>(r) * in + i];
        }
        for (int o = 0; o < out; ++o) {
          pair.Bt[static_cast<std::size_t>(r) * out + o] = a->scale_ * B[static_cast<std::size_t>(o) * R + r];
        }
      }
      used += 2;
    }
  }
  if (used == 0) throw InputError(st_path + ": holds no lora_A/lora_B tensors the base's layers have");
  if (used != f.tensors().size()) {
    throw InputError(st_path + ": has " + std::to_string(f.tensors().size() - used) +
                     " tensors that are not LoRA pairs of the base's layers (an adapter for another base?)");
  }
  return a;
}

void Adapter::apply_row(int layer, Proj p, const float* x, float* y) const {
  const Pair& pair = layers_[layer][static_cast<int>(p)];
  if (pair.At.empty()) return;
  const int R = rank_;
  // mid = A x, all R sums at once; then y += (scale B) mid, one axpy per r.
  thread_local std::vector<float> mid;
  mid.assign(static_cast<std::size_t>(R), 0.f);
  float* m = mid.data();
  const float* at = pair.At.data();
  for (int i = 0; i < pair.in; ++i) {
    const float xi = x[i];
    const float* row = at + static_cast<std::size_t>(i) * R;
#pragma omp simd
    for (int r = 0; r < R; ++r) m[r] += xi * row[r];
  }
  const float* bt = pair.Bt.data();
  for (int r = 0; r < R; ++r) {
    const float mr = m[r];
    const float* row = bt + static_cast<std::size_t>(r) * pair.out;
#pragma omp simd
    for (int o = 0; o < pair.out; ++o) y[o] += mr * row[o];
  }
}

long long Adapter::row_work(int layer, Proj p) const {
  const Pair& pair = layers_[layer][static_cast<int>(p)];
  return pair.At.empty() ? 0 : static_cast<long long>(rank_) * (pair.in + pair.out);
}

std::vector<float> Adapter::delta(int layer, Proj p) const {
  const Pair& pair = layers_[layer][static_cast<int>(p)];
  if (pair.At.empty()) return {};
  std::vector<float> d(static_cast<std::size_t>(pair.out) * pair.in, 0.f);
  for (int o = 0; o < pair.out; ++o) {
    float* drow = &d[static_cast<std::size_t>(o) * pair.in];
    for (int r = 0; r < rank_; ++r) {
      const float b = pair.Bt[static_cast<std::size_t>(r) * pair.out + o];
      for (int i = 0; i < pair.in; ++i) drow[i] += b * pair.At[static_cast<std::size_t>(i) * rank_ + r];
    }
  }
  return d;
}

void BatchAdapters::set(int row, const Adapter* a) {
  if (a) rows_.emplace_back(row, a);
}

void BatchAdapters::apply(int layer, Proj p, const float* in, int in_stride, float* out, int out_stride) const {
  if (rows_.empty()) return;
  // Rows are spread over the pool only when a chunk has enough work to
  // outweigh waking the threads (about 64k multiply-adds; the estimate is
  // the first row's adapter, adapters of one base differ only in rank).
  constexpr long long kChunkWork = 1 << 16;
  const long long work = std::max(1LL, rows_.front().second->row_work(layer, p));
  const std::size_t min_rows = static_cast<std::size_t>(std::max(2LL, 2 * kChunkWork / work));
  parallel_for(rows_.size(), min_rows, [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) {
      const auto [row, a] = rows_[i];
      a->apply_row(layer, p, in + static_cast<std::size_t>(row) * in_stride,
                   out + static_cast<std::size_t>(row) * out_stride);
    }
  });
}

}  // namespace plotforge::runtime
