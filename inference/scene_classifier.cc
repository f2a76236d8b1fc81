#include "inference/scene_classifier.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/json_file.h"
#include "inference/cpu_ops.h"
#include "inference/engine.h"
#include "inference/parallel.h"
#include "kernels/cpu_paged_attention.h"

namespace plotforge::runtime {

std::unique_ptr<SceneClassifier> SceneClassifier::load(const std::string& dir) {
  std::unique_ptr<SceneClassifier> m(new SceneClassifier());
  const std::string cfg_path = dir + "/config.json";
  const nlohmann::json j = read_json_object(cfg_path);
  const auto& pf = j.contains("plotforge") && j["plotforge"].is_object() ? j["plotforge"] : nlohmann::json::object();
  const std::string kind = pf.contains("model_kind") && pf["model_kind"].is_string()
                               ? pf["model_kind"].get<std::string>()
                               : std::string("transformer");
  if (kind != "classifier") {
    throw InputError(cfg_path + ": plotforge.model_kind is '" + kind +
                     "', not 'classifier'; export a classifier run (plotforge train --kind classifier)");
  }
  m->config_ = model_config(j, cfg_path, /*decoder=*/false);
  const ModelConfig& c = m->config_;
  if (!pf.contains("labels") || !pf["labels"].is_object()) {
    throw InputError(cfg_path + ": plotforge.labels is missing or not an object");
  }
  for (const char* head : {"genre", "beat", "emotion", "valence"}) {
    SceneHead h;
    h.name = head;
    const auto& l = pf["labels"].contains(head) ? pf["labels"][head] : nlohmann::json();
    if (!l.is_array()) throw InputError(cfg_path + ": plotforge.labels." + head + " is missing or not a list");
    for (const auto& name : l) {
      if (!name.is_string()) throw InputError(cfg_path + ": plotforge.labels." + head + " holds a non-string");
      h.labels.push_back(name.get<std::string>());
    }
    m->heads_.push_back(std::move(h));
  }
  if (pf.contains("labelled_heads")) {
    if (!pf["labelled_heads"].is_array()) throw InputError(cfg_path + ": plotforge.labelled_heads is not a list");
    for (SceneHead& h : m->heads_) h.labelled = false;
    for (const auto& name : pf["labelled_heads"]) {
      for (SceneHead& h : m->heads_) h.labelled = h.labelled || (name.is_string() && name.get<std::string>() == h.name);
    }
  }
  if (pf.contains("tokenizer_sha256") && pf["tokenizer_sha256"].is_string()) {
    m->tokenizer_sha256_ = pf["tokenizer_sha256"].get<std::string>();
  }
  m->file_ = std::make_unique<WeightFile>(dir + "/model.safetensors", "config.json");
  m->tokenizer_ = std::make_unique<Tokenizer>(Tokenizer::load(dir + "/tokenizer.model"));
  if (m->tokenizer_->vocab_size() != c.vocab) {
    throw InputError(dir + "/tokenizer.model: " + std::to_string(m->tokenizer_->vocab_size()) +
                     " pieces, config.json says vocab_size " + std::to_string(c.vocab));
  }
  const std::int64_t D = c.dim, V = c.vocab, hd = c.head_dim();
  m->embed_ = m->file_->get("encoder.embed_tokens.weight", {V, D});
  m->norm_ = m->file_->get("encoder.norm.weight", {D});
  for (int l = 0; l < c.n_layers; ++l) {
    m->layers_.push_back(m->file_->layer("encoder.layers." + std::to_string(l) + ".", c.dim,
                                         static_cast<int>(c.n_heads * hd), static_cast<int>(c.n_kv_heads * hd),
                                         c.hidden));
  }
  for (const SceneHead& h : m->heads_) {
    // A head with no classes was still trained with one output (models/vae.h).
    const std::int64_t out = std::max<std::int64_t>(1, static_cast<std::int64_t>(h.labels.size()));
    m->head_w_.push_back(m->file_->get(h.name + "_head.weight", {out, D}));
    m->head_b_.push_back(m->file_->get(h.name + "_head.bias", {out}));
  }
  for (const auto& [name, id] : m->tokenizer_->control_tokens()) m->control_ids_.push_back(id);
  rotary_tables(c, m->cos_, m->sin_);
  return m;
}

std::vector<int> SceneClassifier::scene_ids(std::string_view text) const {
  std::vector<int> out;
  for (const int id : tokenizer_->encode(text)) {
    if (static_cast<int>(out.size()) >= config_.context) break;
    if (std::find(control_ids_.begin(), control_ids_.end(), id) == control_ids_.end()) out.push_back(id);
  }
  return out;
}

std::vector<std::vector<std::vector<float>>> SceneClassifier::classify(const std::vector<std::string>& texts) const {
  std::vector<std::vector<int>> scenes;
  for (const auto& t : texts) scenes.push_back(scene_ids(t));
  return classify_ids(scenes);
}

std::vector<std::vector<std::vector<float>>> SceneClassifier::classify_ids(
    const std::vector<std::vector<int>>& scenes) const {
  const ModelConfig& c = config_;
  const int D = c.dim, hd = c.head_dim(), H = c.n_heads, KV = c.n_kv_heads, group = H / KV;
  const int q_out = H * hd, kv_out = KV * hd, qkv_out = q_out + 2 * kv_out, F = c.hidden;
  // Every scene's tokens stacked into one matrix, so the projections are one
  // GEMM each; attention stays within a scene, over all its tokens (no mask:
  // the encoder is bidirectional).
  std::vector<int> start(scenes.size() + 1, 0);
  for (std::size_t s = 0; s < scenes.size(); ++s) {
    if (static_cast<int>(scenes[s].size()) > c.context) {
      throw InputError("scene of " + std::to_string(scenes[s].size()) + " tokens exceeds the classifier's context of " +
                       std::to_string(c.context));
    }
    start[s + 1] = start[s] + static_cast<int>(scenes[s].size());
  }
  const int N = start.back();
  std::vector<float> x(static_cast<std::size_t>(N) * D), h(x.size()), qkv(static_cast<std::size_t>(N) * qkv_out),
      att(static_cast<std::size_t>(N) * q_out), gu(static_cast<std::size_t>(N) * 2 * F),
      act(static_cast<std::size_t>(N) * F), proj(x.size());
  std::vector<int> pos(N);
  for (std::size_t s = 0; s < scenes.size(); ++s) {
    for (int t = 0; t < static_cast<int>(scenes[s].size()); ++t) {
      const int id = scenes[s][t];
      if (id < 0 || id >= c.vocab) throw InputError("token id out of range");
      std::copy_n(embed_ + static_cast<std::size_t>(id) * D, D, &x[static_cast<std::size_t>(start[s] + t) * D]);
      pos[start[s] + t] = t;
    }
  }
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  for (const LayerWeights& w : layers_) {
    if (N == 0) break;
    cpu::rms_norm(x.data(), w.input_norm, h.data(), N, D, c.norm_eps);
    cpu::matmul(h.data(), w.wqkv, qkv.data(), N);
    for (int n = 0; n < N; ++n) {
      float* r = &qkv[static_cast<std::size_t>(n) * qkv_out];
      const float* cs = &cos_[static_cast<std::size_t>(pos[n]) * hd];
      const float* sn = &sin_[static_cast<std::size_t>(pos[n]) * hd];
      for (int head = 0; head < H; ++head) cpu::rope(r + head * hd, cs, sn, hd);
      for (int g = 0; g < KV; ++g) cpu::rope(r + q_out + g * hd, cs, sn, hd);
    }
    // One task per (scene, head): the scene's keys and values are its rows
    // of qkv, laid out as one block for kernels/cpu_paged_attention.h (keys
    // transposed, padded to whole tiles), and every row of the scene is a
    // query over all of it.
    const std::size_t tasks = scenes.size() * static_cast<std::size_t>(H);
    const kernels::CpuIsa isa = cpu::matmul_isa(WeightType::kF32);
    parallel_for(tasks, 2, [&](std::size_t begin, std::size_t end) {
      std::vector<float> kt, v;
      std::vector<kernels::PagedQuery> queries;
      for (std::size_t task = begin; task < end; ++task) {
        const int sc = static_cast<int>(task / H), head = static_cast<int>(task % H), g = head / group;
        const int first = start[sc], len = start[sc + 1] - first;
        if (len == 0) continue;
        const int bs = (len + kernels::kPagedTile - 1) / kernels::kPagedTile * kernels::kPagedTile;
        kt.assign(static_cast<std::size_t>(hd) * bs, 0.f);
        v.resize(static_cast<std::size_t>(len) * hd);
        for (int t = 0; t < len; ++t) {
          const float* row = &qkv[static_cast<std::size_t>(first + t) * qkv_out + q_out + g * hd];
          for (int j = 0; j < hd; ++j) kt[static_cast<std::size_t>(j) * bs + t] = row[j];
          std::copy_n(row + kv_out, hd, &v[static_cast<std::size_t>(t) * hd]);
        }
        const float* kb = kt.data();
        const float* vb = v.data();
        queries.assign(len, kernels::PagedQuery{});
        for (int t = 0; t < len; ++t) {
          queries[t].q = &qkv[static_cast<std::size_t>(first + t) * qkv_out + head * hd];
          queries[t].k = &kb;
          queries[t].v = &vb;
          queries[t].len = len;
          queries[t].out = &att[static_cast<std::size_t>(first + t) * q_out + head * hd];
        }
        kernels::attend_paged(queries.data(), len, bs, hd, scale, isa);
      }
    });
    cpu::block_output(w, att.data(), x.data(), N, D, F, c.norm_eps, h.data(), gu.data(), act.data(), proj.data());
  }
  if (N > 0) cpu::rms_norm(x.data(), norm_, h.data(), N, D, c.norm_eps);

  std::vector<std::vector<std::vector<float>>> out(scenes.size());
  std::vector<float> pooled(D);
  for (std::size_t s = 0; s < scenes.size(); ++s) {
    const int len = start[s + 1] - start[s];
    std::fill(pooled.begin(), pooled.end(), 0.f);
    for (int t = 0; t < len; ++t) {
      const float* r = &h[static_cast<std::size_t>(start[s] + t) * D];
      for (int d = 0; d < D; ++d) pooled[d] += r[d];
    }
    for (int d = 0; d < D; ++d) pooled[d] /= std::max(1, len);
    for (std::size_t k = 0; k < heads_.size(); ++k) {
      const int classes = static_cast<int>(heads_[k].labels.size());
      std::vector<float> p(classes);
      if (classes > 0) {
        cpu::matmul(pooled.data(), f32_matrix(head_w_[k], classes, D), p.data(), 1);
        float mx = -INFINITY, sum = 0;
        for (int i = 0; i < classes; ++i) mx = std::max(mx, p[i] += head_b_[k][i]);
        for (float& v : p) sum += v = std::exp(v - mx);
        for (float& v : p) v /= sum;
      }
      out[s].push_back(std::move(p));
    }
  }
  return out;
}

}  // namespace plotforge::runtime
