#pragma once
// numpy's legacy RandomState, as far as pandas' df.sample(frac=1, random_state=SEED) uses it: MT19937 seeded
// with init_genrand(seed) (so std::mt19937(seed) is the same generator), bounded integers by masked rejection
// sampling, and the legacy Fisher-Yates shuffle that runs from the last element down. The paper split its data
// with exactly this, so reproducing its numbers needs the same permutation, draw for draw.
#include <cstdint>
#include <random>
#include <vector>

namespace dle::predict {

class NumpyRandomState {
 public:
  explicit NumpyRandomState(std::uint32_t seed) : mt_(seed) {}

  std::uint32_t next_uint32() { return static_cast<std::uint32_t>(mt_()); }
  // numpy's random_interval(max): uniform in [0, max], inclusive, by masked rejection.
  std::uint64_t interval(std::uint64_t max);
  // np.random.RandomState(seed).permutation(n): arange(n) shuffled in place by the legacy algorithm.
  std::vector<std::size_t> permutation(std::size_t n);

 private:
  std::mt19937 mt_;
};

}  // namespace dle::predict
