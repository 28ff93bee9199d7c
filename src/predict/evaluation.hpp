#pragma once
// Seeded splits and k-fold cross-validation. The split is the paper's: rows shuffled as pandas
// df.sample(frac=1, random_state=seed) shuffles them, then cut 70/20/10 as np.split(df, [int(.7 n), int(.9 n)]).
#include <cstdint>
#include <vector>

#include "predict/linear_algebra.hpp"
#include "predict/model.hpp"

namespace dle::predict {

struct Split {
  std::vector<std::size_t> train;       // row indices, in shuffled order
  std::vector<std::size_t> validation;
  std::vector<std::size_t> test;
};
Split split_rows(std::size_t n, std::uint32_t seed, double train_fraction = 0.7, double validation_fraction = 0.2);

// k contiguous folds of `indices` (scikit-learn KFold without shuffling: the first n % k folds get one extra
// row). Disjoint, and together they cover `indices`. ConfigError when k < 2 or k > indices.size().
std::vector<std::vector<std::size_t>> kfold(const std::vector<std::size_t>& indices, std::size_t k);

// k-fold cross-validation of `spec` over the rows `indices`: each fold is predicted by a model fitted on the
// others. Metrics are computed on the pooled out-of-fold predictions (one prediction per row).
struct CrossValidation {
  Metrics metrics;
  std::vector<double> predicted_j;  // aligned with `indices`
  std::size_t folds = 0;
};
CrossValidation cross_validate(const std::string& type, const ModelSpec& spec, const Matrix& raw,
                               const std::vector<double>& energy_j, const std::vector<std::size_t>& indices,
                               std::size_t k);

std::vector<double> select(const std::vector<double>& v, const std::vector<std::size_t>& indices);

}  // namespace dle::predict
