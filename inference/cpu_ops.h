// The CPU runtime's building blocks, shared by the decoder's engine
// (engine.h) and the scene classifier (scene_classifier.h): OpenBLAS for the
// projections, our own loops for the rest. Row-major float32 throughout.
#pragma once

namespace plotforge::runtime::cpu {

// y[n, out] = x[n, in] * w[out, in]^T. A single row is a matrix-vector
// product, which OpenBLAS streams through the weights faster than a GEMM.
void matmul(const float* x, const float* w, float* y, int n, int in, int out);

// y[i] = x[i] / rms(x[i]) * w, for n rows of d.
void rms_norm(const float* x, const float* w, float* y, int n, int d, float eps);

// Rotate-half rotary embedding of one head vector, with that position's
// row of the tables (engine.h's rotary_tables).
void rope(float* v, const float* cos, const float* sin, int hd);

// act[n, hidden] = silu(gate) * up, from gate_up[n, 2 hidden] (gate first).
void swiglu(const float* gate_up, float* act, int n, int hidden);

}  // namespace plotforge::runtime::cpu
