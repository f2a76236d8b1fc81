// CUDA attention kernels against the fp64 CPU references (label gpu; skips
// without a GPU). Fresh random inputs per case, outputs poisoned with NaN
// before each launch so unwritten elements fail, ragged sizes that are not
// multiples of the tiles, causal and not, GQA, bf16 and fp16.
#include <algorithm>

#include <gtest/gtest.h>

#include "kernels/attention.h"
#include "kernels/attention_reference.h"
#include "kernels/gpu_testing.h"

namespace plotforge::kernels {
namespace {

using testing::DeviceBuffer;

double tolerance(DType t) { return t == DType::kBF16 ? 1e-2 : 5e-3; }
const char* name(DType t) { return t == DType::kBF16 ? "bf16" : "fp16"; }

struct ForwardCase {
  int batch, heads, kv_heads, q_len, kv_len, head_dim;
  bool causal;
  AttentionShape shape() const {
    AttentionShape s;
    s.batch = batch, s.heads = heads, s.kv_heads = kv_heads, s.q_len = q_len, s.kv_len = kv_len;
    s.head_dim = head_dim, s.causal = causal;
    return s;
  }
  // Elements of q (and o) and of k (and v).
  std::size_t q_elems() const { return static_cast<std::size_t>(batch) * heads * q_len * head_dim; }
  std::size_t kv_elems() const { return static_cast<std::size_t>(batch) * kv_heads * kv_len * head_dim; }
};

class AttentionForwardGpu : public ::testing::TestWithParam<ForwardCase> {};

TEST_P(AttentionForwardGpu, MatchesReference) {
  if (!testing::have_gpu()) GTEST_SKIP() << "no CUDA device";
  const ForwardCase c = GetParam();
  for (const DType dt : {DType::kBF16, DType::kF16}) {
    std::mt19937 rng(c.q_len * 131 + c.kv_len * 7 + c.head_dim + c.causal + static_cast<int>(dt));
    const AttentionShape s = c.shape();
    const std::size_t nq = c.q_elems(), nk = c.kv_elems();
    const auto q = testing::random_half(nq, dt, rng), k = testing::random_half(nk, dt, rng),
               v = testing::random_half(nk, dt, rng);
    DeviceBuffer dq(nq * 2), dk(nk * 2), dv(nk * 2), d_o(nq * 2), d_lse(nq / s.head_dim * 4);
    dq.upload(q.bits.data());
    dk.upload(k.bits.data());
    dv.upload(v.bits.data());
    d_o.poison();
    d_lse.poison();
    ASSERT_EQ(
        attention_forward(dq.get(), dk.get(), dv.get(), d_o.get(), static_cast<float*>(d_lse.get()), s, dt, nullptr),
        cudaSuccess);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    std::vector<std::uint16_t> out_bits(nq);
    std::vector<float> out(nq), lse(nq / s.head_dim), ref(nq), ref_lse(nq / s.head_dim);
    d_o.download(out_bits.data());
    d_lse.download(lse.data());
    for (std::size_t i = 0; i < nq; ++i) out[i] = testing::from_half_bits(out_bits[i], dt);
    attention_forward_reference(q.values.data(), k.values.data(), v.values.data(), ref.data(), ref_lse.data(), s);
    EXPECT_LE(testing::relative_error(out, ref), tolerance(dt)) << name(dt);
    for (std::size_t i = 0; i < lse.size(); ++i) {
      if (std::isinf(ref_lse[i])) {
        ASSERT_TRUE(std::isinf(lse[i]) && lse[i] < 0) << name(dt) << " row " << i << " lse " << lse[i];
      } else {
        ASSERT_NEAR(lse[i], ref_lse[i], 2e-2 * std::max(1.0f, std::fabs(ref_lse[i]))) << name(dt) << " row " << i;
      }
    }
  }
}

std::string forward_name(const ::testing::TestParamInfo<ForwardCase>& i) {
  const ForwardCase& c = i.param;
  return "B" + std::to_string(c.batch) + "H" + std::to_string(c.heads) + "KV" + std::to_string(c.kv_heads) + "Tq" +
         std::to_string(c.q_len) + "Tk" + std::to_string(c.kv_len) + "D" + std::to_string(c.head_dim) +
         (c.causal ? "Causal" : "Full");
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, AttentionForwardGpu,
    ::testing::Values(ForwardCase{1, 1, 1, 1, 1, 64, true}, ForwardCase{2, 4, 4, 64, 64, 64, true},
                      ForwardCase{2, 4, 4, 100, 100, 64, false}, ForwardCase{1, 8, 2, 257, 257, 128, true},
                      ForwardCase{1, 8, 2, 257, 257, 128, false}, ForwardCase{2, 4, 1, 33, 190, 128, true},
                      ForwardCase{1, 2, 2, 190, 33, 64, true},  // more queries than keys: rows with no key
                      ForwardCase{1, 6, 3, 517, 517, 128, true}, ForwardCase{3, 2, 2, 17, 1000, 64, false},
                      ForwardCase{1, 4, 4, 1024, 1024, 128, true}),
    forward_name);

// Backward: the GPU forward's o and lse feed the GPU backward (as in
// training); dq, dk, dv are compared with the fp64 reference, which the CPU
// suite checks against finite differences. Run twice: the gradients must be
// bit-identical (no atomics).
class AttentionBackwardGpu : public ::testing::TestWithParam<ForwardCase> {};

TEST_P(AttentionBackwardGpu, MatchesReferenceAndIsDeterministic) {
  if (!testing::have_gpu()) GTEST_SKIP() << "no CUDA device";
  const ForwardCase c = GetParam();
  for (const DType dt : {DType::kBF16, DType::kF16}) {
    std::mt19937 rng(c.q_len * 31 + c.kv_len * 17 + c.head_dim + c.causal + static_cast<int>(dt));
    const AttentionShape s = c.shape();
    const std::size_t nq = c.q_elems(), nk = c.kv_elems();
    const auto q = testing::random_half(nq, dt, rng), k = testing::random_half(nk, dt, rng),
               v = testing::random_half(nk, dt, rng), grad = testing::random_half(nq, dt, rng);
    DeviceBuffer dq(nq * 2), dk(nk * 2), dv(nk * 2), d_o(nq * 2), d_grad(nq * 2), d_lse(nq / s.head_dim * 4),
        gq(nq * 2), gk(nk * 2), gv(nk * 2), work(attention_backward_workspace_bytes(s));
    dq.upload(q.bits.data());
    dk.upload(k.bits.data());
    dv.upload(v.bits.data());
    d_grad.upload(grad.bits.data());
    ASSERT_EQ(
        attention_forward(dq.get(), dk.get(), dv.get(), d_o.get(), static_cast<float*>(d_lse.get()), s, dt, nullptr),
        cudaSuccess);
    std::vector<std::uint16_t> first_q(nq), first_k(nk), first_v(nk);
    for (int run = 0; run < 2; ++run) {
      gq.poison();
      gk.poison();
      gv.poison();
      work.poison();
      ASSERT_EQ(attention_backward(dq.get(), dk.get(), dv.get(), d_o.get(), d_grad.get(),
                                   static_cast<const float*>(d_lse.get()), gq.get(), gk.get(), gv.get(), work.get(), s,
                                   dt, nullptr),
                cudaSuccess);
      ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
      std::vector<std::uint16_t> bq(nq), bk(nk), bv(nk);
      gq.download(bq.data());
      gk.download(bk.data());
      gv.download(bv.data());
      if (run == 1) {
        EXPECT_EQ(bq, first_q) << name(dt) << ": dq differs between two identical runs";
        EXPECT_EQ(bk, first_k) << name(dt) << ": dk differs between two identical runs";
        EXPECT_EQ(bv, first_v) << name(dt) << ": dv differs between two identical runs";
        break;
      }
      first_q = bq, first_k = bk, first_v = bv;
      std::vector<float> ref_q(nq), ref_k(nk), ref_v(nk);
      attention_backward_reference(q.values.data(), k.values.data(), v.values.data(), grad.values.data(), ref_q.data(),
                                   ref_k.data(), ref_v.data(), s);
      const auto floats = [dt](const std::vector<std::uint16_t>& bits) {
        std::vector<float> f(bits.size());
        for (std::size_t i = 0; i < bits.size(); ++i) f[i] = testing::from_half_bits(bits[i], dt);
        return f;
      };
      EXPECT_LE(testing::relative_error(floats(bq), ref_q), tolerance(dt)) << name(dt) << " dq";
      EXPECT_LE(testing::relative_error(floats(bk), ref_k), tolerance(dt)) << name(dt) << " dk";
      EXPECT_LE(testing::relative_error(floats(bv), ref_v), tolerance(dt)) << name(dt) << " dv";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, AttentionBackwardGpu,
                         ::testing::Values(ForwardCase{1, 1, 1, 1, 1, 64, true}, ForwardCase{2, 4, 4, 64, 64, 64, true},
                                           ForwardCase{2, 4, 4, 100, 100, 64, false},
                                           ForwardCase{1, 8, 2, 257, 257, 128, true},
                                           ForwardCase{2, 4, 1, 33, 190, 128, true},
                                           ForwardCase{1, 2, 2, 190, 33, 64, true},  // rows with no key: zero dq
                                           ForwardCase{1, 6, 3, 517, 517, 128, false},
                                           ForwardCase{1, 4, 4, 1024, 1024, 128, true}),
                         forward_name);

TEST(AttentionForwardGpuShapes, RejectsUnsupported) {
  if (!testing::have_gpu()) GTEST_SKIP() << "no CUDA device";
  AttentionShape s;
  s.head_dim = 96;
  EXPECT_EQ(attention_forward(nullptr, nullptr, nullptr, nullptr, nullptr, s, DType::kBF16, nullptr),
            cudaErrorInvalidValue);
  s.head_dim = 64;
  s.heads = 3, s.kv_heads = 2;
  EXPECT_EQ(attention_forward(nullptr, nullptr, nullptr, nullptr, nullptr, s, DType::kBF16, nullptr),
            cudaErrorInvalidValue);
  EXPECT_EQ(attention_backward(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                               s, DType::kBF16, nullptr),
            cudaErrorInvalidValue);
}

struct DecodeCase {
  int heads, kv_heads, head_dim, block_size;
  std::vector<int> lens;
};

class DecodeAttentionGpu : public ::testing::TestWithParam<DecodeCase> {};

TEST_P(DecodeAttentionGpu, MatchesReference) {
  if (!testing::have_gpu()) GTEST_SKIP() << "no CUDA device";
  const DecodeCase c = GetParam();
  for (const DType dt : {DType::kBF16, DType::kF16}) {
    std::mt19937 rng(c.head_dim * 13 + c.lens.back() + static_cast<int>(dt));
    PagedDecodeShape s;
    s.num_seqs = static_cast<int>(c.lens.size());
    s.heads = c.heads, s.kv_heads = c.kv_heads, s.head_dim = c.head_dim, s.block_size = c.block_size;
    s.max_seq_len = *std::max_element(c.lens.begin(), c.lens.end());
    s.max_blocks_per_seq = (s.max_seq_len + s.block_size - 1) / s.block_size;
    const int n_blocks = s.num_seqs * s.max_blocks_per_seq + 3;
    std::vector<int> perm(n_blocks);
    for (int i = 0; i < n_blocks; ++i) perm[i] = i;
    std::shuffle(perm.begin(), perm.end(), rng);
    std::vector<int> table(perm.begin(), perm.begin() + s.num_seqs * s.max_blocks_per_seq);
    const std::size_t nkv = static_cast<std::size_t>(n_blocks) * s.kv_heads * s.block_size * s.head_dim;
    const std::size_t nq = static_cast<std::size_t>(s.num_seqs) * s.heads * s.head_dim;
    const auto q = testing::random_half(nq, dt, rng), k = testing::random_half(nkv, dt, rng),
               v = testing::random_half(nkv, dt, rng);
    DeviceBuffer dq(nq * 2), dk(nkv * 2), dv(nkv * 2), d_o(nq * 2), dtable(table.size() * 4), dlens(c.lens.size() * 4),
        work(decode_attention_workspace_bytes(s));
    dq.upload(q.bits.data());
    dk.upload(k.bits.data());
    dv.upload(v.bits.data());
    dtable.upload(table.data());
    dlens.upload(c.lens.data());
    d_o.poison();
    work.poison();
    ASSERT_EQ(decode_attention(dq.get(), dk.get(), dv.get(), static_cast<int*>(dtable.get()),
                               static_cast<int*>(dlens.get()), d_o.get(), work.get(), s, dt, nullptr),
              cudaSuccess);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    std::vector<std::uint16_t> bits(nq);
    d_o.download(bits.data());
    std::vector<float> out(nq), ref(nq);
    for (std::size_t i = 0; i < nq; ++i) out[i] = testing::from_half_bits(bits[i], dt);
    decode_attention_reference(q.values.data(), k.values.data(), v.values.data(), table.data(), c.lens.data(),
                               ref.data(), s);
    EXPECT_LE(testing::relative_error(out, ref), tolerance(dt)) << name(dt);
  }
}

std::string decode_name(const ::testing::TestParamInfo<DecodeCase>& i) {
  std::string n = "H" + std::to_string(i.param.heads) + "KV" + std::to_string(i.param.kv_heads) + "D" +
                  std::to_string(i.param.head_dim) + "Block" + std::to_string(i.param.block_size) + "Lens";
  for (int l : i.param.lens) n += "_" + std::to_string(l);
  return n;
}

INSTANTIATE_TEST_SUITE_P(Shapes, DecodeAttentionGpu,
                         ::testing::Values(DecodeCase{4, 4, 64, 16, {1}}, DecodeCase{8, 2, 128, 16, {1, 15, 16, 17}},
                                           DecodeCase{32, 8, 128, 16, {600, 1500, 2049, 3}},
                                           DecodeCase{4, 1, 64, 32, {5000, 511, 512, 513}}),
                         decode_name);

}  // namespace
}  // namespace plotforge::kernels
