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
