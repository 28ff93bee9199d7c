#include "core/units.hpp"

#include <gtest/gtest.h>

namespace dle::units {
namespace {

TEST(Units, KilowattHoursAndJoules) {
  EXPECT_DOUBLE_EQ(kwh_to_j(1.0), 3.6e6);
  // The first Conv2d row of the paper's data: 0.0007268241467366 kWh over 6 passes.
  EXPECT_NEAR(kwh_to_j(0.0007268241467366) / 6.0, 436.0944880, 1e-6);
  EXPECT_DOUBLE_EQ(j_to_wh(7200.0), 2.0);
  EXPECT_DOUBLE_EQ(uj_to_j(5328850.0), 5.32885);
  EXPECT_DOUBLE_EQ(co2_grams(3.6e6, 400.0), 400.0);
}

}  // namespace
}  // namespace dle::units
