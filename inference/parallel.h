// A small persistent thread pool for the runtime's own loops (the matrix
// products, attention over the cache, SwiGLU): parallel_for splits [0, n)
// into chunks taken by the caller and the workers.
#pragma once

#include <cstddef>
#include <functional>

namespace plotforge::runtime {

// Runs fn(begin, end) over chunks covering [0, n); returns when all are
// done. Runs inline when n is below min_parallel, there is one core, or
// another thread's parallel_for holds the pool (safe from any thread).
// chunks_per_thread: 4 by default, so that uneven work (attention over
// sequences of different lengths) balances; work that is even (rows of a
// matrix product) runs best as one contiguous slice per thread.
void parallel_for(std::size_t n, std::size_t min_parallel, const std::function<void(std::size_t, std::size_t)>& fn,
                  std::size_t chunks_per_thread = 4);

// The threads parallel_for runs on (the caller's included).
std::size_t parallel_threads();

}  // namespace plotforge::runtime
