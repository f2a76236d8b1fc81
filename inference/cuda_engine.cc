#include "inference/cuda_engine.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "base/dtype.h"
#include "base/error.h"
#include "kernels/attention.h"
#include "kernels/cuda_common.h"
#include "kernels/runtime_ops.h"

namespace plotforge::runtime {

namespace {

// InputError unless `device` is a usable CUDA device.
void require_device(int device) {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count <= device) {
    throw InputError("--device cuda: no usable CUDA device (found " + std::to_string(count) + "); use --device cpu");
  }
}

using kernels::DeviceBuffer;

// A weight matrix, whatever its precision on the host, as bf16 on the GPU.
void upload_bf16(DeviceBuffer& dst, const WeightMatrix& w) {
  const std::vector<float> values = to_float32(w);
  const std::size_t n = values.size();
  std::vector<std::uint16_t> bits(n);
  for (std::size_t i = 0; i < n; ++i) bits[i] = float_to_bf16(values[i]);
  cudaCheck(cudaMemcpy(dst.reserve(n * 2), bits.data(), n * 2, cudaMemcpyHostToDevice));
}

void upload_f32(DeviceBuffer& dst, const float* src, std::size_t n) {
  cudaCheck(cudaMemcpy(dst.reserve(n * 4), src, n * 4, cudaMemcpyHostToDevice));
}

template <typename T>
void upload_async(DeviceBuffer& dst, const std::vector<T>& src, cudaStream_t s) {
  cudaCheck(cudaMemcpyAsync(dst.reserve(std::max<std::size_t>(1, src.size()) * sizeof(T)), src.data(),
                            src.size() * sizeof(T), cudaMemcpyHostToDevice, s));
}

struct LayerBuffers {
  DeviceBuffer input_norm, post_norm, wqkv, wo, wgate_up, wdown, k_cache, v_cache;
};

}  // namespace

struct CudaEngine::Impl {
  int device = 0;
  cudaStream_t stream = nullptr;
  cublasHandle_t blas = nullptr;
  std::vector<LayerBuffers> layers;
  DeviceBuffer embed, lm_head, final_norm, cos, sin;
  const void* lm_head_weights = nullptr;  // lm_head, or embed when the model ties them
  // Per-forward scratch.
  DeviceBuffer x, h, qkv, q, att, gu, act, sel, normed, logits, tokens, positions, slots, lens, tables, rows, work;
  std::size_t cache_bytes = 0;  // one layer's K (or V) cache

  // y[n, out] (+)= x[n, in] * w[out, in]^T; x and w bf16, y float32.
  void gemm(const void* x_bf16, const void* w_bf16, float* y, int n, int in, int out, float beta) {
    const float alpha = 1.f;
    cublasCheck(cublasGemmEx(blas, CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, &alpha, w_bf16, CUDA_R_16BF, in, x_bf16,
                             CUDA_R_16BF, in, &beta, y, CUDA_R_32F, out, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
  }
};

CudaEngine::CudaEngine(const Model& model, BlockPool& pool, int device) : Engine(model, pool), impl_(new Impl) {
  const ModelConfig& c = model.config();
  require_device(device);
  if (c.latent > 0) throw InputError("--device cuda: VAE bundles (latent conditioning) run on --device cpu for now");
  if (c.head_dim() != 64 && c.head_dim() != 128) {
    throw InputError("--device cuda: the attention kernels take head_dim 64 or 128, this model has " +
                     std::to_string(c.head_dim()) + "; use --device cpu");
  }
  Impl& m = *impl_;
  m.device = device;
  cudaCheck(cudaSetDevice(device));
  cudaCheck(cudaStreamCreateWithFlags(&m.stream, cudaStreamNonBlocking));
  cublasCheck(cublasCreate(&m.blas));
  cublasCheck(cublasSetStream(m.blas, m.stream));
  const int D = c.dim, hd = c.head_dim();
  m.layers.resize(c.n_layers);
  m.cache_bytes = static_cast<std::size_t>(pool.total_blocks()) * c.n_kv_heads * pool.block_size() * hd * 2;
  for (int l = 0; l < c.n_layers; ++l) {
    const LayerWeights& w = model.layers()[l];
    LayerBuffers& b = m.layers[l];
    upload_f32(b.input_norm, w.input_norm, D);
    upload_f32(b.post_norm, w.post_norm, D);
    upload_bf16(b.wqkv, w.wqkv);
    upload_bf16(b.wo, w.wo);
    upload_bf16(b.wgate_up, w.wgate_up);
    upload_bf16(b.wdown, w.wdown);
    cudaCheck(cudaMemset(b.k_cache.reserve(m.cache_bytes), 0, m.cache_bytes));
    cudaCheck(cudaMemset(b.v_cache.reserve(m.cache_bytes), 0, m.cache_bytes));
  }
  upload_bf16(m.embed, model.embed());
  if (model.tied()) {
    m.lm_head_weights = m.embed.get();  // tied: one copy on the GPU
  } else {
    upload_bf16(m.lm_head, model.lm_head());
    m.lm_head_weights = m.lm_head.get();
  }
  upload_f32(m.final_norm, model.final_norm(), D);
  std::vector<float> cos, sin;
  rotary_tables(c, cos, sin);
  upload_f32(m.cos, cos.data(), cos.size());
  upload_f32(m.sin, sin.data(), sin.size());
  // Copy-on-write of a branched block happens here, on the GPU.
  const std::size_t block_bytes = static_cast<std::size_t>(c.n_kv_heads) * pool.block_size() * hd * 2;
  pool.set_copier([this, block_bytes](int dst, int src) {
    for (auto& b : impl_->layers) {
      for (DeviceBuffer* cache : {&b.k_cache, &b.v_cache}) {
        char* base = cache->as<char>();
        cudaCheck(cudaMemcpyAsync(base + dst * block_bytes, base + src * block_bytes, block_bytes,
                                  cudaMemcpyDeviceToDevice, impl_->stream));
      }
    }
  });
}

double CudaEngine::copy_bandwidth(int device) {
  require_device(device);
  cudaCheck(cudaSetDevice(device));
  const std::size_t n = std::size_t{1} << 30;
  DeviceBuffer a, b;
  a.reserve(n);
  b.reserve(n);
  cudaCheck(cudaMemset(a.get(), 1, n));
  cudaEvent_t t0, t1;
  cudaCheck(cudaEventCreate(&t0));
  cudaCheck(cudaEventCreate(&t1));
  float best = 1e30f;
  for (int i = 0; i < 6; ++i) {  // the first is a warm-up
    cudaCheck(cudaEventRecord(t0));
    cudaCheck(cudaMemcpy(b.get(), a.get(), n, cudaMemcpyDeviceToDevice));
    cudaCheck(cudaEventRecord(t1));
    cudaCheck(cudaEventSynchronize(t1));
    float ms = 0;
    cudaCheck(cudaEventElapsedTime(&ms, t0, t1));
    if (i > 0) best = std::min(best, ms);
  }
  cudaEventDestroy(t0);
  cudaEventDestroy(t1);
  return 2.0 * n / (best / 1e3);
}

CudaEngine::~CudaEngine() {
  pool_.set_copier(nullptr);
  if (impl_->blas) cublasDestroy(impl_->blas);
  if (impl_->stream) cudaStreamDestroy(impl_->stream);
}

std::vector<float> CudaEngine::forward(std::vector<BatchItem>& batch) {
  const ModelConfig& c = model_.config();
  for (const auto& item : batch) {
    if (item.seq->latent) throw InputError("--device cuda: latent-conditioned sequences run on --device cpu for now");
    if (item.seq->adapter) {
      throw InputError("--device cuda: LoRA adapters run on --device cpu for now (or merge one: --merge-adapter)");
    }
  }
  const BatchRows br = batch_rows(c, pool_, batch);
  const int N = static_cast<int>(br.pos.size()), R = static_cast<int>(br.logit_rows.size());
  std::vector<float> out(static_cast<std::size_t>(R) * c.vocab);
  if (N == 0) return out;
  Impl& m = *impl_;
  cudaCheck(cudaSetDevice(m.device));
  const int D = c.dim, hd = c.head_dim(), H = c.n_heads, KV = c.n_kv_heads, F = c.hidden, bs = pool_.block_size();
  const int q_out = H * hd, qkv_out = q_out + 2 * KV * hd;

  // Per row: its cache slot, attention length and its sequence's block table.
  int max_blocks = 1, max_len = 1;
  for (int n = 0; n < N; ++n) {
    max_blocks = std::max(max_blocks, static_cast<int>(br.seq[n]->blocks.size()));
    max_len = std::max(max_len, br.pos[n] + 1);
  }
  std::vector<int> slots(N), lens(N), tables(static_cast<std::size_t>(N) * max_blocks, 0);
  for (int n = 0; n < N; ++n) {
    const auto& blocks = br.seq[n]->blocks;
    slots[n] = blocks[br.pos[n] / bs] * bs + br.pos[n] % bs;
    lens[n] = br.pos[n] + 1;
    std::copy(blocks.begin(), blocks.end(), tables.begin() + static_cast<std::size_t>(n) * max_blocks);
  }
  upload_async(m.tokens, br.token, m.stream);
  upload_async(m.positions, br.pos, m.stream);
  upload_async(m.slots, slots, m.stream);
  upload_async(m.lens, lens, m.stream);
  upload_async(m.tables, tables, m.stream);
  upload_async(m.rows, br.logit_rows, m.stream);

  float* x = static_cast<float*>(m.x.reserve(static_cast<std::size_t>(N) * D * 4));
  void* h = m.h.reserve(static_cast<std::size_t>(N) * D * 2);
  float* qkv = static_cast<float*>(m.qkv.reserve(static_cast<std::size_t>(N) * qkv_out * 4));
  void* q = m.q.reserve(static_cast<std::size_t>(N) * q_out * 2);
  void* att = m.att.reserve(static_cast<std::size_t>(N) * q_out * 2);
  float* gu = static_cast<float*>(m.gu.reserve(static_cast<std::size_t>(N) * 2 * F * 4));
  void* act = m.act.reserve(static_cast<std::size_t>(N) * F * 2);
  kernels::PagedDecodeShape shape;
  shape.num_seqs = N, shape.heads = H, shape.kv_heads = KV, shape.head_dim = hd, shape.block_size = bs;
  shape.max_blocks_per_seq = max_blocks, shape.max_seq_len = max_len;
  void* work = m.work.reserve(kernels::decode_attention_workspace_bytes(shape));
  kernels::CacheWrite cw;
  cw.heads = H, cw.kv_heads = KV, cw.head_dim = hd, cw.block_size = bs;

  cudaCheck(kernels::embed_rows(m.embed.get(), m.tokens.as<int>(), x, N, D, m.stream));
  for (int l = 0; l < c.n_layers; ++l) {
    LayerBuffers& w = m.layers[l];
    cudaCheck(kernels::rms_norm_bf16(x, w.input_norm.as<float>(), h, N, D, c.norm_eps, m.stream));
    m.gemm(h, w.wqkv.get(), qkv, N, D, qkv_out, 0.f);
    cudaCheck(kernels::rope_and_cache(qkv, m.cos.as<float>(), m.sin.as<float>(), m.positions.as<int>(),
                                      m.slots.as<int>(), q, w.k_cache.get(), w.v_cache.get(), N, cw, m.stream));
    cudaCheck(kernels::decode_attention(q, w.k_cache.get(), w.v_cache.get(), m.tables.as<int>(), m.lens.as<int>(), att,
                                        work, shape, kernels::DType::kBF16, m.stream));
    m.gemm(att, w.wo.get(), x, N, q_out, D, 1.f);  // x += attention output projection
    cudaCheck(kernels::rms_norm_bf16(x, w.post_norm.as<float>(), h, N, D, c.norm_eps, m.stream));
    m.gemm(h, w.wgate_up.get(), gu, N, D, 2 * F, 0.f);
    cudaCheck(kernels::silu_mul_bf16(gu, act, N, F, m.stream));
    m.gemm(act, w.wdown.get(), x, N, F, D, 1.f);  // x += MLP
  }
  if (R > 0) {
    float* sel = static_cast<float*>(m.sel.reserve(static_cast<std::size_t>(R) * D * 4));
    void* normed = m.normed.reserve(static_cast<std::size_t>(R) * D * 2);
    float* logits = static_cast<float*>(m.logits.reserve(out.size() * 4));
    cudaCheck(kernels::gather_rows(x, m.rows.as<int>(), sel, R, D, m.stream));
    cudaCheck(kernels::rms_norm_bf16(sel, m.final_norm.as<float>(), normed, R, D, c.norm_eps, m.stream));
    m.gemm(normed, m.lm_head_weights, logits, R, D, c.vocab, 0.f);
    cudaCheck(cudaMemcpyAsync(out.data(), logits, out.size() * 4, cudaMemcpyDeviceToHost, m.stream));
  }
  cudaCheck(cudaStreamSynchronize(m.stream));
  for (int n = 0; n < N; ++n) br.seq[n]->tokens.push_back(br.token[n]);
  return out;
}

}  // namespace plotforge::runtime
