// Attention of a batch's new tokens over a paged KV cache on the CPU, one
// cache block at a time for every query that reads it.
//
// Why block by block: branches forked from one story (and stories opened
// from one cached prefix) point at the same physical blocks. Walking each
// query over its own positions (the classic decode loop) streams a shared
// block from memory (or L2) once per query; here the queries that share a
// block (a run of neighbours in the batch) take it one after another, so
// it comes from L1 after the first. Keys are stored transposed, so a
// query's 16 scores for 16 positions are one vector. A prefill's rows share
// their sequence's blocks the same way. The softmax is the online one
// (running max and sum per query, FlashAttention's rescaling), so a block
// is visited once. kernels/bench/cpu_paged_attention_bench.cc measures the
// effect.
//
// Determinism: each query's result is its own float computation (its
// blocks in position order, 16 positions at a time), whatever other
// queries it shares blocks with, how many there are, and in which order
// they come. So prefix sharing, batch composition and the prefix cache
// never change a token.
//
// Instruction sets: one body (cpu_paged_attention_body.inc) compiled for
// AVX-512, for AVX2 + FMA and for plain x86-64, the caller picking one as
// for the matrix products (cpu_matmul.h's CpuIsa). The multiply-adds are
// explicit FMAs (plain: a multiply and an add) and the file is compiled
// with -ffp-contract=off, so no copy's bits depend on where GCC chose to
// fuse a multiply and an add.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/cpu_matmul.h"

namespace plotforge::kernels {

// Positions per tile of a block: one AVX-512 vector of scores. Blocks hold
// a multiple of it.
constexpr int kPagedTile = 16;

// One query of one head. Block b holds positions b*bs ... b*bs+bs-1.
// Queries whose k[b] pointers are equal read the same block b (their v[b]
// must be equal too). E is the cache's element: float, or std::uint16_t
// holding IEEE half floats (an f16 cache, as llama.cpp keeps by default:
// half the bytes, which is what bounds attention over many sequences).
template <class E>
struct PagedQueryOf {
  const float* q;     // [hd]
  const E* const* k;  // k[b]: block b's keys transposed, [hd][bs] (positions contiguous)
  const E* const* v;  // v[b]: block b's values, [bs][hd]
  int len;            // positions 0 ... len-1 are attended (len >= 1)
  // Optional (a VAE's memory slot): one more key and value ahead of
  // position 0, never masked; float32 whatever the cache holds.
  const float* mem_k = nullptr;
  const float* mem_v = nullptr;
  float* out;  // [hd]: softmax(q . k_t * scale) . v_t
};
using PagedQuery = PagedQueryOf<float>;
using PagedQueryF16 = PagedQueryOf<std::uint16_t>;

// Runs the m queries. Queries that share blocks are visited together when
// they sit next to each other in `queries` (order them so); queries that do
// not share may come in any order. bs is a multiple of kPagedTile; a
// block's positions past what a query attends are never used (they may hold
// anything). Allocates its scratch, m * (hd + 2) floats. The caller checks
// that isa runs on this CPU (an f16 cache is widened with F16C on kAvx2
// and the AVX-512 sets). Keys and values from an f16 cache are exactly
// their half values widened, so the only difference from a float32 cache
// is the rounding of what was written to it.
void attend_paged(const PagedQuery* queries, int m, int bs, int hd, float scale, CpuIsa isa);
void attend_paged(const PagedQueryF16* queries, int m, int bs, int hd, float scale, CpuIsa isa);

// The reference: each query on its own, two-pass softmax in double.
void attend_paged_reference(const PagedQuery* queries, int m, int bs, int hd, float scale);
void attend_paged_reference(const PagedQueryF16* queries, int m, int bs, int hd, float scale);

}  // namespace plotforge::kernels
