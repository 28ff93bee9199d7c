#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "core/errors.hpp"
#include "predict/evaluation.hpp"

namespace dle::predict {
namespace {

using Idx = std::vector<std::size_t>;

TEST(Split, IsThePandasShuffleCut70_20_10) {
  // np.random.RandomState(1234).permutation(10) = [7 2 9 1 0 8 4 5 6 3]; np.split at int(7.0), int(9.0).
  const Split s = split_rows(10, 1234);
  EXPECT_EQ(s.train, (Idx{7, 2, 9, 1, 0, 8, 4}));
  EXPECT_EQ(s.validation, (Idx{5, 6}));
  EXPECT_EQ(s.test, (Idx{3}));
  // The paper's conv2d set: 976 rows -> 683 / 195 / 98, as its notebook printed.
  const Split c = split_rows(976, 1234);
  EXPECT_EQ(c.train.size(), 683u);
  EXPECT_EQ(c.validation.size(), 195u);
  EXPECT_EQ(c.test.size(), 98u);
}

TEST(KFold, FoldsAreDisjointAndCoverEveryRow) {
  Idx rows(23);
  std::iota(rows.begin(), rows.end(), 100);
  const auto folds = kfold(rows, 5);
  ASSERT_EQ(folds.size(), 5u);
  std::vector<std::size_t> sizes;
  std::multiset<std::size_t> all;
  for (const auto& f : folds) {
    sizes.push_back(f.size());
    all.insert(f.begin(), f.end());
  }
  EXPECT_EQ(sizes, (Idx{5, 5, 5, 4, 4}));  // scikit-learn KFold: the first n % k folds get one more
  EXPECT_EQ(all.size(), rows.size());
  EXPECT_EQ(std::set<std::size_t>(all.begin(), all.end()).size(), rows.size());  // no row twice
  EXPECT_EQ(*all.begin(), 100u);
  EXPECT_EQ(*all.rbegin(), 122u);
  EXPECT_THROW(kfold(rows, 1), ConfigError);
  EXPECT_THROW(kfold(rows, 24), ConfigError);
}

TEST(CrossValidation, OutOfFoldPredictionsOfAnExactModel) {
  Matrix x(20, 1);
  std::vector<double> y;
  for (std::size_t i = 0; i < 20; ++i) {
    x(i, 0) = static_cast<double>(i + 1);
    y.push_back(0.5 + 2.0 * static_cast<double>(i + 1));
  }
  ModelSpec s;
  s.feature_set = "macs";
  Idx rows{3, 1, 4, 15, 9, 2, 6, 5, 10, 12, 18, 0};
  const auto cv = cross_validate("relu", s, x, y, rows, 4);
  EXPECT_EQ(cv.folds, 4u);
  ASSERT_EQ(cv.predicted_j.size(), rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) EXPECT_NEAR(cv.predicted_j[i], y[rows[i]], 1e-9);
  EXPECT_EQ(cv.metrics.n, rows.size());
  EXPECT_NEAR(cv.metrics.r2, 1.0, 1e-12);
  EXPECT_NEAR(cv.metrics.mape_pct, 0.0, 1e-9);
  EXPECT_EQ(cv.metrics.within_10pct_share, 1.0);
}

}  // namespace
}  // namespace dle::predict
