// The CPU runtime's building blocks, shared by the decoder's engine
// (engine.h) and the scene classifier (scene_classifier.h): OpenBLAS for the
// projections, our own loops for the rest. Row-major float32 throughout.
#pragma once

#include "inference/weights.h"

namespace plotforge::runtime::cpu {

// y[n, out] = x[n, in] * w[out, in]^T. A single row is a matrix-vector
// product, which OpenBLAS streams through the weights faster than a GEMM.
void matmul(const float* x, const float* w, float* y, int n, int in, int out);

// a . b over n floats, and y += a x: the inner loops of attention over the
// cache. Inline and marked for SIMD (plotforge_inference builds with
// -fopenmp-simd): without the mark the compiler may not reorder a float sum.
inline float dot(const float* a, const float* b, int n) {
  float s = 0;
#pragma omp simd reduction(+ : s)
  for (int i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}
inline void axpy(float a, const float* x, float* y, int n) {
#pragma omp simd
  for (int i = 0; i < n; ++i) y[i] += a * x[i];
}

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
void block_output(const LayerWeights& w, const float* att, float* x, int n, int dim, int q_out, int hidden, float eps,
                  float* h, float* gate_up, float* act, float* proj);

}  // namespace plotforge::runtime::cpu
