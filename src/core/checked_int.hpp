#pragma once
// A 64-bit integer that remembers whether the arithmetic that made it overflowed. Layer counts (MACs, bytes)
// multiply user-given sizes and batch sizes, and a wrapped product would pass for a real count; counting in
// CheckedInt costs one overflow test per operation and lets the caller refuse the layer instead.
#include <cstdint>

namespace dle {

class CheckedInt {
 public:
  constexpr CheckedInt(std::int64_t v = 0) : value_(v) {}  // NOLINT(google-explicit-constructor): a number

  constexpr std::int64_t value() const { return value_; }
  constexpr bool overflowed() const { return overflowed_; }

  friend CheckedInt operator*(CheckedInt a, CheckedInt b) {
    CheckedInt r;
    r.overflowed_ = __builtin_mul_overflow(a.value_, b.value_, &r.value_) || a.overflowed_ || b.overflowed_;
    return r;
  }
  friend CheckedInt operator+(CheckedInt a, CheckedInt b) {
    CheckedInt r;
    r.overflowed_ = __builtin_add_overflow(a.value_, b.value_, &r.value_) || a.overflowed_ || b.overflowed_;
    return r;
  }
  // Counts divide only positive sizes by positive sizes, which cannot overflow.
  friend CheckedInt operator/(CheckedInt a, CheckedInt b) {
    CheckedInt r(a.value_ / b.value_);
    r.overflowed_ = a.overflowed_ || b.overflowed_;
    return r;
  }

 private:
  std::int64_t value_ = 0;
  bool overflowed_ = false;
};

}  // namespace dle
