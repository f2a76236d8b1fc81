// The CPU runtime's building blocks, shared by the decoder's engine
// (engine.h) and the scene classifier (scene_classifier.h): projections
// against weights in their stored precision (our kernels, OpenBLAS's sgemm
// for long prompts), our own loops for the rest. Activations are row-major
// float32 throughout.
#pragma once

#include "inference/weights.h"
#include "kernels/cpu_matmul.h"

namespace plotforge::runtime {
class BatchAdapters;  // inference/adapter.h
}

namespace plotforge::runtime::cpu {

// y[n, w.rows] = x[n, w.cols] * W^T, on the runtime's threads, split by
// weight rows so the weights stream from memory once:
//   bf16 with AVX-512 BF16   vdpbf16ps at every row count (matmul_isa);
//   up to kSgemmRows rows    kernels/cpu_matmul.h's kernels for this CPU
//                            (float32 at 1 row too: on the Zen 4 VM they
//                            decoded the 176M model 27-36 -> 43-44 and the
//                            10M one 457-596 -> 813-1013 tokens/s against
//                            OpenBLAS's sgemv, docs/perf/runtime-cpu.md);
//                            past kPanelRows, weights other than float32
//                            are first widened a panel of rows at a time
//                            and the float32 kernel runs on the panel;
//   more rows                OpenBLAS's sgemm (the same panels).
// Our tiles give a float32, f16 or bf16 row the same bits at any row
// count up to kSgemmRows (bf16 with AVX-512 BF16: at any count; q8_0 on
// VNNI: up to kPanelRows, as x is quantised only there), so a prompt's
// rows come out as a batch would decode them; and with the
// weights on 64-byte lines they outrun sgemm there: 60 against 50 G
// multiply-adds/s on one thread at 64 rows of 768 columns; past about 128
// rows sgemm's packed panels win (bench/projection_bench,
// docs/perf/runtime-cpu.md).
void matmul(const float* x, const WeightMatrix& w, float* y, int n);

// Sets up the threads matmul runs on (OpenBLAS single-threaded inside the
// runtime's pool, the pool started); the engines call it when they are
// made, so a server's first request does not pay for it.
void prepare_threads();

// Rows past which a panel of widened weights pays for its copy: each
// tile of activation rows otherwise converts every weight again.
constexpr int kPanelRows = 48;
// Rows past which sgemm outruns our tiles (bench/projection_bench, one
// thread, G multiply-adds/s on 2304 x 768 weights: at 64 rows 60 against
// sgemm's 50, at 128 63 against 60, at 256 65 against 68).
constexpr int kSgemmRows = 128;

// The kernels' instruction set for this CPU and weight type: the widest
// it runs, for q8_0 weights vpdpbusd where the CPU has VNNI, and for bf16
// weights vdpbf16ps (x rounded to bf16) where the CPU has AVX-512 BF16.
// bf16 goes through vdpbf16ps at every row count, prompts included: one
// kernel, so a row's bits do not depend on its batch, and on the Zen 4 VM
// it ran 1.7-2x the widening tile's multiply-adds at 8 and 32 rows and
// decoded the 176M model at batch 32 1.5x as fast
// (docs/perf/runtime-cpu.md). On the Xeon VM of the earlier entries the
// widening tile was faster past 16 rows (103 against 77-85 G
// multiply-adds/s at 32); that has not been measured again.
kernels::CpuIsa matmul_isa(WeightType t);

// Rows from which the row-wise loops below (and the engine's rotary and
// cache writes) run on the pool: at batch 32 on the 176M model these
// loops, on one thread, were about 3% of a decode step's samples and as
// much again of the other thread spinning (docs/perf/runtime-cpu.md).
constexpr int kParallelRows = 8;

// y[i] = x[i] / rms(x[i]) * w, for n rows of d.
void rms_norm(const float* x, const float* w, float* y, int n, int d, float eps);

// x[i] += y[i] for n rows of d (the residual adds).
void add_rows(float* x, const float* y, int n, int d);

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
