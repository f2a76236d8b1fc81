#include "inference/cpu_ops.h"

#include <cblas.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "base/aligned.h"
#include "base/cpu_features.h"
#include "inference/adapter.h"
#include "inference/parallel.h"
#include "kernels/cpu_exp.h"
#include "kernels/cpu_matmul.h"

namespace plotforge::runtime::cpu {

void prepare_threads() {
  // OpenBLAS runs single-threaded inside the runtime's threads, each on its
  // own slice of weight rows: one set of threads for everything, none of
  // them spinning against another pool's. Done once, before the first
  // request (it takes tens of milliseconds), along with the pool's start.
  static const bool once = [] {
    openblas_set_num_threads(1);
    parallel_for(1024, 1, [](std::size_t, std::size_t) {});
    return true;
  }();
  (void)once;
}

kernels::CpuIsa matmul_isa(WeightType t) {
  static const kernels::CpuIsa widest = [] {
    const CpuFeatures& f = cpu_features();
    if (f.avx512() && f.fma && f.f16c) return kernels::CpuIsa::kAvx512;
    if (f.avx2 && f.fma && f.f16c) return kernels::CpuIsa::kAvx2;
    return kernels::CpuIsa::kPortable;
  }();
  if (widest == kernels::CpuIsa::kAvx512 && t == WeightType::kBF16 && cpu_features().avx512_bf16) {
    return kernels::CpuIsa::kAvx512Bf16;
  }
  if (widest == kernels::CpuIsa::kAvx512 && t == WeightType::kQ8_0 && cpu_features().avx512_vnni) {
    return kernels::CpuIsa::kAvx512Vnni;
  }
  return widest;
}

namespace {

// Rows [begin, end) of w widened to float32 a panel at a time, each panel
// handed to multiply(panel, first row, rows): the widening is read once
// against n rows of arithmetic. Panels of about 1 MB of float32 (L2-sized),
// cache-line aligned like every matrix: sgemm packs x again for every
// panel, and 64-row panels spent 8% of a 64-token prefill of the 176M
// model doing it (docs/perf/runtime-cpu.md).
template <class Multiply>
void for_each_panel(const WeightMatrix& w, int begin, int end, const Multiply& multiply) {
  const int in = w.cols, panel_rows = std::max(64, (1 << 20) / (4 * in));
  thread_local AlignedVector<float> panel;
  panel.resize(static_cast<std::size_t>(panel_rows) * in);
  for (int p0 = begin; p0 < end; p0 += panel_rows) {
    const int pr = std::min(panel_rows, end - p0);
    kernels::widen_rows(w, p0, p0 + pr, panel.data(), matmul_isa(WeightType::kF32));
    multiply(panel.data(), p0, pr);
  }
}

// OpenBLAS's sgemm, one slice of weight rows per thread: each sgemm call
// packs its operands and sets up its blocking again, and more, smaller
// slices than threads cost more than the load balance they buy
// (plotforge-run bench's branching workload 6-8% faster with two slices
// than with eight, docs/perf/runtime-cpu.md).
void sgemm_rows(const float* x, const WeightMatrix& w, float* y, int n) {
  const int in = w.cols, out = w.rows;
  const std::size_t slices = std::min(parallel_threads(), static_cast<std::size_t>(out + 63) / 64);
  parallel_for(slices, 2, [&](std::size_t s_begin, std::size_t s_end) {
    const int r0 = static_cast<int>(out * s_begin / slices), r1 = static_cast<int>(out * s_end / slices);
    if (w.type == WeightType::kF32) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, r1 - r0, in, 1.0f, x, in,
                  reinterpret_cast<const float*>(w.row(r0)), in, 0.0f, y + r0, out);
      return;
    }
    for_each_panel(w, r0, r1, [&](const float* panel, int p0, int pr) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, pr, in, 1.0f, x, in, panel, in, 0.0f, y + p0, out);
    });
  });
}

}  // namespace

void matmul(const float* x, const WeightMatrix& w, float* y, int n) {
  const int in = w.cols, out = w.rows;
  const kernels::CpuIsa own = matmul_isa(w.type);
  const bool dpbf16 = own == kernels::CpuIsa::kAvx512Bf16;  // at every row count (cpu_ops.h)
  if (n > kSgemmRows && !dpbf16) {
    sgemm_rows(x, w, y, n);
    return;
  }
  if (w.type == WeightType::kF32 || n <= kPanelRows || dpbf16) {
    // One contiguous slice of weight rows per thread (a small matrix runs
    // inline): the rows cost the same, and four chunks a thread left one
    // thread spinning at each product's end and quantised x four times on
    // the VNNI path; q8_0 at batch 1 went from 68-84% to 84-100% of the
    // roofline on the 176M model (docs/perf/runtime-cpu.md).
    parallel_for(
        static_cast<std::size_t>(out), 64,
        [&](std::size_t begin, std::size_t end) {
          kernels::matmul_rows(w, x, n, y, out, static_cast<int>(begin), static_cast<int>(end), own);
        },
        1);
    return;
  }
  // Other precisions past kPanelRows: each thread widens panels of its
  // rows once and runs the float32 kernel over them, instead of converting
  // every weight again for each tile of activation rows.
  const kernels::CpuIsa isa = matmul_isa(WeightType::kF32);
  parallel_for(static_cast<std::size_t>(out), 64, [&](std::size_t begin, std::size_t end) {
    for_each_panel(w, static_cast<int>(begin), static_cast<int>(end), [&](const float* panel, int p0, int pr) {
      kernels::matmul_rows(f32_matrix(panel, pr, in), x, n, y + p0, out, 0, pr, isa);
    });
  });
}

void rms_norm(const float* x, const float* w, float* y, int n, int d, float eps) {
  // Rows on the pool from kParallelRows: the other threads would otherwise
  // spin through it.
  parallel_for(n, kParallelRows, [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) {
      const float* xi = x + i * d;
      float ss = 0;
      for (int k = 0; k < d; ++k) ss += xi[k] * xi[k];
      const float r = 1.0f / std::sqrt(ss / d + eps);
      float* yi = y + i * d;
      for (int k = 0; k < d; ++k) yi[k] = xi[k] * r * w[k];
    }
  });
}

void add_rows(float* x, const float* y, int n, int d) {
  parallel_for(n, kParallelRows, [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin * d; i < end * d; ++i) x[i] += y[i];
  });
}

void rope(float* v, const float* cos, const float* sin, int hd) {
  const int h = hd / 2;
  for (int k = 0; k < h; ++k) {
    const float a = v[k], b = v[k + h];
    v[k] = a * cos[k] - b * sin[k];
    v[k + h] = b * cos[k + h] + a * sin[k + h];
  }
}

void swiglu(const float* gate_up, float* act, int n, int hidden) {
  const int F = hidden;
  parallel_for(n, 8, [&](std::size_t begin, std::size_t end) {
    for (std::size_t r = begin; r < end; ++r) {
      const float* g = gate_up + r * 2 * F;
      float* a = act + r * F;
      // exp through kernels/cpu_exp.h's vector loop: libm's scalar expf was
      // 5% of a prefill (docs/perf/runtime-cpu.md).
      for (int i = 0; i < F; ++i) a[i] = -g[i];
      kernels::exp_floats(a, a, F);
      for (int i = 0; i < F; ++i) a[i] = g[i] / (1.0f + a[i]) * g[F + i];
    }
  });
}

void block_output(const LayerWeights& w, const float* att, float* x, int n, int dim, int hidden, float eps, float* h,
                  float* gate_up, float* act, float* proj, const BatchAdapters* lora, int layer) {
  const int q_out = w.wo.cols;
  matmul(att, w.wo, proj, n);
  if (lora) lora->apply(layer, Proj::kO, att, q_out, proj, dim);
  add_rows(x, proj, n, dim);
  rms_norm(x, w.post_norm, h, n, dim, eps);
  matmul(h, w.wgate_up, gate_up, n);
  if (lora) {
    lora->apply(layer, Proj::kGate, h, dim, gate_up, 2 * hidden);
    lora->apply(layer, Proj::kUp, h, dim, gate_up + hidden, 2 * hidden);
  }
  swiglu(gate_up, act, n, hidden);
  matmul(act, w.wdown, proj, n);
  if (lora) lora->apply(layer, Proj::kDown, act, hidden, proj, dim);
  add_rows(x, proj, n, dim);
}

}  // namespace plotforge::runtime::cpu
