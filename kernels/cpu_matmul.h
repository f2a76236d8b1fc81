// The runtime's CPU matrix products against stored weights: y = x W^T for a
// few rows of activations x (decode: one row per running sequence) and a
// weight matrix W kept in its stored precision (kernels/weight_formats.h).
// Decoding is bound by reading W from memory, so the kernels stream each
// weight row once per call whatever the batch, convert it in registers and
// accumulate in float32; at batch 1 the AVX-512 kernels take four weight
// rows at a time from the four quarters of the caller's row range, four
// sequential streams. Past 16 rows of x (a prompt) arithmetic bounds
// them instead, and AVX-512 takes x six rows at a time against four weight
// rows. W and x should start on 64-byte lines (base/aligned.h): a load
// across two lines costs a quarter of a tile's speed.
//
// Instruction sets, picked by the caller (from base/cpu_features.h) and
// forced by the tests:
//   kPortable    plain C++, four partial sums per output.
//   kAvx2        AVX2 + FMA + F16C, 8 lanes.
//   kAvx512      AVX-512 F/BW/VL/DQ, 16 lanes, masked tails.
//   kAvx512Bf16  kAvx512, and for bf16 weights vdpbf16ps on x rounded to
//                bf16 (pairs of products in one instruction; twice the
//                arithmetic rate, for batches where arithmetic bounds it).
//   kAvx512Vnni  kAvx512, and for q8_0 weights vpdpbusd on x quantised to
//                q8_0 per block of 32 (llama.cpp's q8_0 x q8_0 product):
//                64 int8 products in one instruction instead of widening
//                each weight to float, which bounds q8_0 at batch 1.
//
// Accuracy against matmul_rows_reference (float64 sums of the decoded
// weights): every set but kAvx512Bf16's bf16 path is within
//   (cols / 4 + 8) * 2^-24 * sum_k |x_k w_k|,
// the worst-case bound of float32 sums of cols / 4 terms; kAvx512Bf16 on
// bf16 weights adds 2^-8 * sum_k |x_k w_k| for rounding x to bf16;
// kAvx512Vnni on q8_0 weights adds sum_k |w_k| * amax_k / 254, amax_k the
// largest |x| in k's block of 32 (x rounded to the block's 255 levels).
#pragma once

#include "kernels/weight_formats.h"

namespace plotforge::kernels {

enum class CpuIsa { kPortable, kAvx2, kAvx512, kAvx512Bf16, kAvx512Vnni };
const char* cpu_isa_name(CpuIsa isa);
// kAvx512 and the sets built on it: everything but their own types' paths
// runs kAvx512's code.
inline bool is_avx512(CpuIsa isa) {
  return isa == CpuIsa::kAvx512 || isa == CpuIsa::kAvx512Bf16 || isa == CpuIsa::kAvx512Vnni;
}

// For rows r in [row_begin, row_end) and i < n:
//   y[i * ldy + r] = sum_k x[i * w.cols + k] * W[r, k].
// Threads split a call by rows (disjoint [row_begin, row_end) ranges); one
// call allocates nothing but, for kAvx512Bf16 on bf16, a thread-local copy
// of x in bf16 (for kAvx512Vnni on q8_0, x quantised). The caller checks that isa runs on this CPU.
void matmul_rows(const WeightMatrix& w, const float* x, int n, float* y, int ldy, int row_begin, int row_end,
                 CpuIsa isa);

// Rows [row_begin, row_end) as float32, row-major into out: exactly
// decode_row's values, converted with the set's vector loads.
void widen_rows(const WeightMatrix& w, int row_begin, int row_end, float* out, CpuIsa isa);

// The reference: the same products summed in float64 from decode_row's
// values, in order. abs_sum (if not null) gets sum_k |x_k w_k| per output,
// laid out as y, for the tolerance above.
void matmul_rows_reference(const WeightMatrix& w, const float* x, int n, double* y, double* abs_sum, int ldy,
                           int row_begin, int row_end);

}  // namespace plotforge::kernels
