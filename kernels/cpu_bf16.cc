#include "kernels/cpu_bf16.h"

#include <cstring>

namespace plotforge::kernels {

// float_to_bf16 written without branches, so that GCC vectorises it: the
// rounded value and the quieted NaN are both computed, then one is chosen.
__attribute__((target_clones("avx512f", "avx2", "default"), optimize("O3"))) void floats_to_bf16(const float* x,
                                                                                                 std::size_t count,
                                                                                                 std::uint16_t* out) {
  for (std::size_t i = 0; i < count; ++i) {
    std::uint32_t u;
    std::memcpy(&u, &x[i], 4);
    const std::uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
    const std::uint32_t quiet = (u >> 16) | 0x0040u;
    out[i] = static_cast<std::uint16_t>((u & 0x7FFFFFFFu) > 0x7F800000u ? quiet : rounded);
  }
}

__attribute__((target_clones("avx512f", "avx2", "default"), optimize("O3"))) void bf16_to_floats(const std::uint16_t* x,
                                                                                                 std::size_t count,
                                                                                                 float* out) {
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint32_t u = static_cast<std::uint32_t>(x[i]) << 16;
    std::memcpy(&out[i], &u, 4);
  }
}

}  // namespace plotforge::kernels
