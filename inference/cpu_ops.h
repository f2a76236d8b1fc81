// The CPU runtime's building blocks, shared by the decoder's engine
// (engine.h) and the scene classifier (scene_classifier.h): projections
// against weights in their stored precision (our kernels for a few rows,
// OpenBLAS's GEMM for many), our own loops for the rest. Activations are
// row-major float32 throughout.
#pragma once

#include "inference/weights.h"
#include "kernels/cpu_matmul.h"

namespace plotforge::runtime {
class BatchAdapters;  // inference/adapter.h
}

namespace plotforge::runtime::cpu {

// y[n, w.rows] = x[n, w.cols] * W^T. Up to gemm_rows(w.type) rows
// (decode) run kernels/cpu_matmul.h's kernels for this CPU on the
// runtime's threads, split by weight rows, so the weights stream from
// memory once; more rows (prefill) go to OpenBLAS's sgemm on the same
// threads, weights other than float32 widened a panel of rows at a time.
void matmul(const float* x, const WeightMatrix& w, float* y, int n);

// Sets up the threads matmul runs on (OpenBLAS single-threaded inside the
// runtime's pool, the pool started); the engines call it when they are
// made, so a server's first request does not pay for it.
void prepare_threads();

// Where sgemm overtakes our kernels (measured side by side on the 2-core
// VM, docs/perf/runtime-cpu.md): past 16 rows for float32 weights; past 48
// for the others, whose panels sgemm must first widen.
inline int gemm_rows(WeightType t) { return t == WeightType::kF32 ? 16 : 48; }

// The kernels' instruction set for this CPU: the widest it runs, and for
// bf16 weights vdpbf16ps (x rounded to bf16) where the CPU has it.
kernels::CpuIsa matmul_isa(WeightType t);

// a . b over n floats (a VAE memory slot's score). Inline and marked for
// SIMD (plotforge_inference builds with -fopenmp-simd): without the mark
// the compiler may not reorder a float sum.
inline float dot(const float* a, const float* b, int n) {
  float s = 0;
#pragma omp simd reduction(+ : s)
  for (int i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

// One query (one head of one new token) over its sequence's cached keys
// and values 0..len-1, block by block: key_blocks[b] is block b's keys of
// the query's head group (bs rows of hd floats, `stride` floats apart),
// value_blocks[b] the same for the values (the paged cache: stride hd; a
// whole sequence's rows of a qkv matrix: one block of len rows); with mem_k and mem_v (a VAE's memory slot, scored
// mem_score), one more key and value ahead of position 0:
//   out[0:hd] = softmax(q . k_t * scale) . v_t,
// scores[0:len] is scratch. Compiled for AVX2 + FMA (isa kAvx2 or wider)
// and for the baseline x86-64 the runtime is built for (kPortable):
// attention over the cache is most of a long-context decode step, and at
// the baseline its loops run 4 lanes wide. Float32 sums in a fixed order
// per set; the sets differ by rounding (FMA), within a float32 sum's bound.
void attend(const float* q, const float* const* key_blocks, const float* const* value_blocks, int len, int bs, int hd,
            int stride, float scale, const float* mem_k, const float* mem_v, float mem_score, float* scores, float* out,
            kernels::CpuIsa isa);

// y[i] = x[i] / rms(x[i]) * w, for n rows of d.
void rms_norm(const float* x, const float* w, float* y, int n, int d, float eps);

// Rotate-half rotary embedding of one head vector, with that position's
// row of the tables (engine.h's rotary_tables).
void rope(float* v, const float* cos, const float* sin, int hd);

// act[n, hidden] = silu(gate) * up, from gate_up[n, 2 hidden] (gate first).
void swiglu(const float* gate_up, float* act, int n, int hidden);

// The rest of a Llama block once attention has run over n rows:
//   x += o_proj(att);  x += down(silu(gate(h)) * up(h)), h = post_norm(x).
// Scratch: h [n, dim], gate_up [n, 2 hidden], act [n, hidden], proj [n, dim].
// With `lora` (the batch's adapters, inference/adapter.h), each projection
// gets its rows' adapter updates for layer `layer`.
void block_output(const LayerWeights& w, const float* att, float* x, int n, int dim, int hidden, float eps, float* h,
                  float* gate_up, float* act, float* proj, const BatchAdapters* lora = nullptr, int layer = 0);

}  // namespace plotforge::runtime::cpu
