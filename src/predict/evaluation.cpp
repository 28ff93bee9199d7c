#include "predict/evaluation.hpp"

#include "core/errors.hpp"
#include "predict/numpy_random.hpp"

namespace dle::predict {

Split split_rows(std::size_t n, std::uint32_t seed, double train_fraction, double validation_fraction) {
  NumpyRandomState rs(seed);
  const std::vector<std::size_t> perm = rs.permutation(n);
  // Same double arithmetic as Python's int(.7 * len(df)), int(.9 * len(df)).
  const auto cut1 = static_cast<std::size_t>(train_fraction * static_cast<double>(n));
  const auto cut2 = static_cast<std::size_t>((train_fraction + validation_fraction) * static_cast<double>(n));
  Split s;
  s.train.assign(perm.begin(), perm.begin() + static_cast<std::ptrdiff_t>(cut1));
  s.validation.assign(perm.begin() + static_cast<std::ptrdiff_t>(cut1), perm.begin() + static_cast<std::ptrdiff_t>(cut2));
  s.test.assign(perm.begin() + static_cast<std::ptrdiff_t>(cut2), perm.end());
  return s;
}

std::vector<std::vector<std::size_t>> kfold(const std::vector<std::size_t>& indices, std::size_t k) {
  if (k < 2 || k > indices.size())
    throw ConfigError("cannot make " + std::to_string(k) + " cross-validation folds of " +
                      std::to_string(indices.size()) + " rows; choose --folds between 2 and the number of rows");
  std::vector<std::vector<std::size_t>> folds(k);
  const std::size_t base = indices.size() / k, extra = indices.size() % k;
  std::size_t at = 0;
  for (std::size_t f = 0; f < k; ++f) {
    const std::size_t size = base + (f < extra ? 1 : 0);
    folds[f].assign(indices.begin() + static_cast<std::ptrdiff_t>(at), indices.begin() + static_cast<std::ptrdiff_t>(at + size));
    at += size;
  }
  return folds;
}

std::vector<double> select(const std::vector<double>& v, const std::vector<std::size_t>& indices) {
  std::vector<double> out;
  out.reserve(indices.size());
  for (auto i : indices) out.push_back(v[i]);
  return out;
}

CrossValidation cross_validate(const std::string& type, const ModelSpec& spec, const Matrix& raw,
                               const std::vector<double>& energy_j, const std::vector<std::size_t>& indices,
                               std::size_t k) {
  const auto folds = kfold(indices, k);
  CrossValidation cv;
  cv.folds = k;
  cv.predicted_j.assign(indices.size(), 0.0);
  std::size_t at = 0;
  for (std::size_t f = 0; f < k; ++f) {
    std::vector<std::size_t> train;
    for (std::size_t g = 0; g < k; ++g)
      if (g != f) train.insert(train.end(), folds[g].begin(), folds[g].end());
    const LayerPredictor model = LayerPredictor::fit(type, spec, raw.select_rows(train), select(energy_j, train));
    const auto pred = model.predict_j(raw.select_rows(folds[f]));
    for (double p : pred) cv.predicted_j[at++] = p;
  }
  cv.metrics = compute_metrics(select(energy_j, indices), cv.predicted_j);
  return cv;
}

}  // namespace dle::predict
