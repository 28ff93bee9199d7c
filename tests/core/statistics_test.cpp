#include "core/statistics.hpp"

#include <gtest/gtest.h>

namespace dle::stats {
namespace {

TEST(Statistics, MeanMedianStddevCv) {
  const std::vector<double> v = {2, 4, 4, 4, 5, 5, 7, 9};
  EXPECT_DOUBLE_EQ(mean(v), 5.0);
  EXPECT_DOUBLE_EQ(median(v), 4.5);
  EXPECT_NEAR(stddev(v), 2.138089935, 1e-9);  // sample (n-1) standard deviation
  EXPECT_NEAR(cv(v), 2.138089935 / 5.0, 1e-9);
  EXPECT_DOUBLE_EQ(median({3, 1, 2}), 2.0);
  EXPECT_DOUBLE_EQ(stddev({1.0}), 0.0);
  EXPECT_DOUBLE_EQ(cv({0.0, 0.0}), 0.0);
}

}  // namespace
}  // namespace dle::stats
