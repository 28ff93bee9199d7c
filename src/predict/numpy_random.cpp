#include "predict/numpy_random.hpp"

#include <utility>

namespace dle::predict {

std::uint64_t NumpyRandomState::interval(std::uint64_t max) {
  if (max == 0) return 0;
  // Smallest mask of the form 2^k - 1 that covers max.
  std::uint64_t mask = max;
  mask |= mask >> 1;
  mask |= mask >> 2;
  mask |= mask >> 4;
  mask |= mask >> 8;
  mask |= mask >> 16;
  mask |= mask >> 32;
  std::uint64_t value = 0;
  if (max <= 0xffffffffULL) {
    while ((value = (next_uint32() & mask)) > max) {
    }
  } else {
    // numpy's legacy 64-bit draw: the first 32-bit output is the high word.
    do {
      const std::uint64_t hi = next_uint32();
      const std::uint64_t lo = next_uint32();
      value = ((hi << 32) | lo) & mask;
    } while (value > max);
  }
  return value;
}

std::vector<std::size_t> NumpyRandomState::permutation(std::size_t n) {
  std::vector<std::size_t> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = i;
  for (std::size_t i = n; i-- > 1;) {
    const auto j = static_cast<std::size_t>(interval(i));
    std::swap(out[i], out[j]);
  }
  return out;
}

}  // namespace dle::predict
