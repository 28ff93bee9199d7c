#pragma once
// Least squares without Eigen in the interface: a small row-major matrix and the solvers the models use.
// Solved by column-pivoting Householder QR (never the normal equations, whose condition number is the square
// of the data's: energies span seven decades) or, for non-negative coefficients, by Lawson-Hanson NNLS.
#include <cstddef>
#include <vector>

namespace dle::predict {

// Row-major dense matrix: rows are observations, columns features.
struct Matrix {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<double> values;

  Matrix() = default;
  Matrix(std::size_t r, std::size_t c) : rows(r), cols(c), values(r * c, 0.0) {}
  double& operator()(std::size_t r, std::size_t c) { return values[r * cols + c]; }
  double operator()(std::size_t r, std::size_t c) const { return values[r * cols + c]; }
  const double* row(std::size_t r) const { return values.data() + r * cols; }
  Matrix select_rows(const std::vector<std::size_t>& indices) const;
};

struct LeastSquaresOptions {
  bool intercept = true;     // fit an unconstrained constant term
  bool nonnegative = false;  // every feature coefficient >= 0 (the intercept stays free)
};

struct LeastSquaresSolution {
  std::vector<double> coefficients;  // one per column of X
  double intercept = 0.0;
  int rank = 0;  // numerical rank of the (centred, weighted) design matrix
};

// Minimises sum_i (w_i * (y_i - intercept - x_i . b))^2. `row_weights` empty means every w_i = 1. Columns
// are centred (with the weights) when an intercept is fitted and scaled to unit norm before the solve, so
// badly scaled features (input_size^2 ~ 1e13 next to batch_size ~ 1e2) do not lose digits. Rank-deficient
// designs get the basic solution (zero for dependent columns), which predicts the same as the minimum-norm
// one on the training span.
LeastSquaresSolution least_squares(const Matrix& x, const std::vector<double>& y,
                                   const std::vector<double>& row_weights, const LeastSquaresOptions& options);

// Lawson-Hanson active-set NNLS: argmin ||A z - b|| subject to z >= 0.
std::vector<double> nnls(const Matrix& a, const std::vector<double>& b);

}  // namespace dle::predict
