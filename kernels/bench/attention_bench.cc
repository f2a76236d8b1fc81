// Attention kernel benchmark on the GPU: CSV on stdout.
//
//   kind,dtype,batch,heads,kv_heads,seq,head_dim,causal,ms,tflops,gbps
//
// "copy" rows: device-to-device cudaMemcpy bandwidth (bytes read + written),
// the ceiling for decode. "forward" rows: fused forward, FLOPs counted as
// 4*B*H*T*T*D (halved when causal), median of 20 timed launches after 3
// warm-ups, fresh random inputs. "forward+backward" rows: forward then
// backward, FLOPs counted as 3.5x the forward's (the backward's five matmuls
// against the forward's two, as the SDPA baseline script counts them; our
// backward recomputes two more, which are not credited). "decode" rows: paged decode, bytes = the K
// and V cache read once (the floor of what it must move).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "kernels/attention.h"
#include "kernels/gpu_testing.h"

using namespace plotforge::kernels;
using plotforge::kernels::DeviceBuffer;

static float median_ms(const std::function<void()>& launch, int warmup = 3, int reps = 20) {
  cudaEvent_t a, b;
  cudaCheck(cudaEventCreate(&a));
  cudaCheck(cudaEventCreate(&b));
  for (int i = 0; i < warmup; ++i) launch();
  cudaCheck(cudaDeviceSynchronize());
  std::vector<float> t;
  for (int i = 0; i < reps; ++i) {
    cudaCheck(cudaEventRecord(a));
    launch();
    cudaCheck(cudaEventRecord(b));
    cudaCheck(cudaEventSynchronize(b));
    float ms = 0;
    cudaCheck(cudaEventElapsedTime(&ms, a, b));
    t.push_back(ms);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

static void fill_random(DeviceBuffer& buf, std::mt19937& rng) {
  const auto h = testing::random_half(buf.bytes() / 2, DType::kBF16, rng);
  buf.upload(h.bits.data());
}

// The decode caches run to gigabytes, which the host's generator takes
// minutes to fill: 64 MB of random values (never zeros), repeated by
// device-to-device copies. Their period does not change a memory-bound
// kernel's time.
static void fill_repeated(DeviceBuffer& buf, const DeviceBuffer& pattern) {
  for (std::size_t at = 0; at < buf.bytes(); at += pattern.bytes()) {
    const std::size_t n = std::min(pattern.bytes(), buf.bytes() - at);
    cudaCheck(cudaMemcpy(static_cast<char*>(buf.get()) + at, pattern.get(), n, cudaMemcpyDeviceToDevice));
  }
}

// usage: attention_bench [decode]   ("decode": the copy and decode rows only)
int main(int argc, char** argv) {
  const bool decode_only = argc > 1 && std::string(argv[1]) == "decode";
  if (!testing::have_gpu()) {
    std::fprintf(stderr, "attention_bench: no CUDA device\n");
    return 1;
  }
  cudaDeviceProp prop;
  cudaCheck(cudaGetDeviceProperties(&prop, 0));
  std::fprintf(stderr, "device: %s, %d SMs, %.0f MB L2\n", prop.name, prop.multiProcessorCount, prop.l2CacheSize / 1e6);
  std::mt19937 rng(0);
  std::printf("kind,dtype,batch,heads,kv_heads,seq,head_dim,causal,ms,tflops,gbps\n");
  {
    const std::size_t bytes = std::size_t{2} << 30;
    DeviceBuffer a(bytes), b(bytes);
    cudaCheck(cudaMemset(a.get(), 1, bytes));
    const float ms = median_ms([&] { cudaCheck(cudaMemcpyAsync(b.get(), a.get(), bytes, cudaMemcpyDeviceToDevice)); });
    std::printf("copy,,,,,,,,%.4f,,%.1f\n", ms, 2.0 * bytes / ms / 1e6);
  }
  const long long tokens = 16384;
  for (const int D : {64, 128}) {
    if (decode_only) break;
    const int H = 2048 / D;
    for (const int T : {512, 1024, 2048, 4096, 8192, 16384}) {
      const int B = static_cast<int>(tokens / T);
      AttentionShape s;
      s.batch = B, s.heads = H, s.kv_heads = H, s.q_len = T, s.kv_len = T, s.head_dim = D;
      const std::size_t n = static_cast<std::size_t>(B) * H * T * D;
      DeviceBuffer q(n * 2), k(n * 2), v(n * 2), o(n * 2), lse(n / D * 4), d_o(n * 2), dq(n * 2), dk(n * 2), dv(n * 2),
          work(attention_backward_workspace_bytes(s));
      fill_random(q, rng);
      fill_random(k, rng);
      fill_random(v, rng);
      fill_random(d_o, rng);
      for (const bool causal : {false, true}) {
        s.causal = causal;
        const float ms = median_ms([&] {
          cudaCheck(attention_forward(q.get(), k.get(), v.get(), o.get(), static_cast<float*>(lse.get()), s,
                                      DType::kBF16, nullptr));
        });
        const double flops = 4.0 * B * H * static_cast<double>(T) * T * D * (causal ? 0.5 : 1.0);
        std::printf("forward,bf16,%d,%d,%d,%d,%d,%d,%.4f,%.1f,\n", B, H, H, T, D, causal ? 1 : 0, ms, flops / ms / 1e9);
        const float fb_ms = median_ms([&] {
          cudaCheck(attention_forward(q.get(), k.get(), v.get(), o.get(), static_cast<float*>(lse.get()), s,
                                      DType::kBF16, nullptr));
          cudaCheck(attention_backward(q.get(), k.get(), v.get(), o.get(), d_o.get(),
                                       static_cast<const float*>(lse.get()), dq.get(), dk.get(), dv.get(), work.get(),
                                       s, DType::kBF16, nullptr));
        });
        std::printf("forward+backward,bf16,%d,%d,%d,%d,%d,%d,%.4f,%.1f,\n", B, H, H, T, D, causal ? 1 : 0, fb_ms,
                    3.5 * flops / fb_ms / 1e9);
        std::fflush(stdout);
      }
    }
  }
  // Decode: Llama-style GQA (32 query heads, 8 KV heads, D=128), 16-token blocks.
  DeviceBuffer pattern(std::size_t{64} << 20);
  fill_random(pattern, rng);
  for (const int seqs : {1, 8, 32, 128}) {
    for (const int len : {1024, 4096, 16384}) {
      PagedDecodeShape s;
      s.num_seqs = seqs, s.heads = 32, s.kv_heads = 8, s.head_dim = 128, s.block_size = 16;
      s.max_seq_len = len;
      s.max_blocks_per_seq = len / s.block_size;
      const int n_blocks = seqs * s.max_blocks_per_seq;
      std::vector<int> perm(n_blocks);
      for (int i = 0; i < n_blocks; ++i) perm[i] = i;
      std::shuffle(perm.begin(), perm.end(), rng);
      std::vector<int> lens(seqs, len);
      const std::size_t nkv = static_cast<std::size_t>(n_blocks) * s.kv_heads * s.block_size * s.head_dim;
      DeviceBuffer q(static_cast<std::size_t>(seqs) * 32 * 128 * 2), k(nkv * 2), v(nkv * 2), o(q.bytes()),
          table(perm.size() * 4), dlens(lens.size() * 4), work(decode_attention_workspace_bytes(s));
      fill_random(q, rng);
      fill_repeated(k, pattern);
      fill_repeated(v, pattern);
      table.upload(perm.data());
      dlens.upload(lens.data());
      const float ms = median_ms([&] {
        cudaCheck(decode_attention(q.get(), k.get(), v.get(), static_cast<int*>(table.get()),
                                   static_cast<int*>(dlens.get()), o.get(), work.get(), s, DType::kBF16, nullptr));
      });
      const double bytes = 2.0 * nkv * 2;
      std::printf("decode,bf16,%d,32,8,%d,128,1,%.4f,,%.1f\n", seqs, len, ms, bytes / ms / 1e6);
      std::fflush(stdout);
    }
  }
  return 0;
}
