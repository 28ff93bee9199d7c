#include "predict/linear_algebra.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/errors.hpp"

namespace dle::predict {

namespace {

using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

Eigen::VectorXd nnls_eigen(const Eigen::MatrixXd& a, const Eigen::VectorXd& b) {
  const Eigen::Index n = a.cols();
  Eigen::VectorXd x = Eigen::VectorXd::Zero(n);
  if (n == 0) return x;
  std::vector<bool> passive(static_cast<std::size_t>(n), false);
  // Tolerance as in scipy's nnls: 10 * eps * ||A||_1 * max(m, n).
  const double tol = 10.0 * std::numeric_limits<double>::epsilon() * a.cwiseAbs().colwise().sum().maxCoeff() *
                     static_cast<double>(std::max(a.rows(), n));
  auto solve_passive = [&](Eigen::VectorXd& z) {
    std::vector<Eigen::Index> idx;
    for (Eigen::Index j = 0; j < n; ++j)
      if (passive[static_cast<std::size_t>(j)]) idx.push_back(j);
    Eigen::MatrixXd ap(a.rows(), static_cast<Eigen::Index>(idx.size()));
    for (std::size_t k = 0; k < idx.size(); ++k) ap.col(static_cast<Eigen::Index>(k)) = a.col(idx[k]);
    const Eigen::VectorXd zp = ap.colPivHouseholderQr().solve(b);
    z.setZero();
    for (std::size_t k = 0; k < idx.size(); ++k) z(idx[k]) = zp(static_cast<Eigen::Index>(k));
  };
  const int max_outer = static_cast<int>(3 * n + 10);
  Eigen::VectorXd w = a.transpose() * (b - a * x);
  Eigen::VectorXd z(n);
  for (int outer = 0; outer < max_outer; ++outer) {
    Eigen::Index t = -1;
    double best = tol;
    for (Eigen::Index j = 0; j < n; ++j)
      if (!passive[static_cast<std::size_t>(j)] && w(j) > best) {
        best = w(j);
        t = j;
      }
    if (t < 0) break;
    passive[static_cast<std::size_t>(t)] = true;
    for (int inner = 0; inner < max_outer; ++inner) {
      solve_passive(z);
      bool feasible = true;
      for (Eigen::Index j = 0; j < n; ++j)
        if (passive[static_cast<std::size_t>(j)] && z(j) <= 0.0) feasible = false;
      if (feasible) break;
      double alpha = std::numeric_limits<double>::infinity();
      for (Eigen::Index j = 0; j < n; ++j)
        if (passive[static_cast<std::size_t>(j)] && z(j) <= 0.0) alpha = std::min(alpha, x(j) / (x(j) - z(j)));
      x += alpha * (z - x);
      for (Eigen::Index j = 0; j < n; ++j)
        if (passive[static_cast<std::size_t>(j)] && x(j) <= tol) {
          passive[static_cast<std::size_t>(j)] = false;
          x(j) = 0.0;
        }
    }
    for (Eigen::Index j = 0; j < n; ++j) x(j) = passive[static_cast<std::size_t>(j)] ? z(j) : 0.0;
    w = a.transpose() * (b - a * x);
  }
  return x;
}

}  // namespace

Matrix Matrix::select_rows(const std::vector<std::size_t>& indices) const {
  Matrix out(indices.size(), cols);
  for (std::size_t i = 0; i < indices.size(); ++i)
    std::copy(row(indices[i]), row(indices[i]) + cols, out.values.begin() + static_cast<std::ptrdiff_t>(i * cols));
  return out;
}

LeastSquaresSolution least_squares(const Matrix& x, const std::vector<double>& y,
                                   const std::vector<double>& row_weights, const LeastSquaresOptions& options) {
  const auto n = static_cast<Eigen::Index>(x.rows);
  const auto p = static_cast<Eigen::Index>(x.cols);
  if (y.size() != x.rows || (!row_weights.empty() && row_weights.size() != x.rows))
    throw Error("internal: least_squares given mismatched sizes");
  if (n == 0) throw FitError("cannot fit a model on 0 training rows");

  Eigen::Map<const RowMajor> xm(x.values.data(), n, p);
  Eigen::Map<const Eigen::VectorXd> ym(y.data(), n);
  Eigen::VectorXd w = row_weights.empty() ? Eigen::VectorXd::Ones(n)
                                          : Eigen::Map<const Eigen::VectorXd>(row_weights.data(), n).eval();
  // The intercept, being free, can be eliminated exactly by centring with the squared weights.
  Eigen::RowVectorXd x_mean = Eigen::RowVectorXd::Zero(p);
  double y_mean = 0.0;
  if (options.intercept) {
    const Eigen::VectorXd w2 = w.array().square();
    const double sw = w2.sum();
    x_mean = (w2.transpose() * xm) / sw;
    y_mean = w2.dot(ym) / sw;
  }
  Eigen::MatrixXd a = (xm.rowwise() - x_mean);
  a = w.asDiagonal() * a;
  const Eigen::VectorXd b = w.asDiagonal() * (ym.array() - y_mean).matrix();

  // Unit-norm columns; a column that is all zeros (constant before centring) keeps scale 1 and gets 0. A constant
  // column is zeroed exactly: centred by its rounded mean it would leave rounding noise, which scaling to unit norm
  // would turn into a column of the design.
  Eigen::VectorXd scale(p);
  for (Eigen::Index j = 0; j < p; ++j) {
    if (options.intercept && n > 0 && xm.col(j).maxCoeff() == xm.col(j).minCoeff()) a.col(j).setZero();
    const double s = a.col(j).norm();
    scale(j) = (s > 0.0 && std::isfinite(s)) ? s : 1.0;
    a.col(j) /= scale(j);
  }

  // Solved on the columns that are not all zeros (those get 0): a design of zero columns only, every feature
  // constant, leaves the fit to the intercept, where the QR would divide 0 by 0.
  std::vector<Eigen::Index> live;
  for (Eigen::Index j = 0; j < p; ++j)
    if (!a.col(j).isZero(0.0)) live.push_back(j);
  Eigen::MatrixXd a_live(n, static_cast<Eigen::Index>(live.size()));
  for (std::size_t k = 0; k < live.size(); ++k) a_live.col(static_cast<Eigen::Index>(k)) = a.col(live[k]);
  Eigen::VectorXd beta = Eigen::VectorXd::Zero(p);
  Eigen::VectorXd beta_live;
  LeastSquaresSolution out;
  if (live.empty()) {
    out.rank = 0;
  } else if (options.nonnegative) {
    beta_live = nnls_eigen(a_live, b);
    out.rank = static_cast<int>(a_live.colPivHouseholderQr().rank());
  } else {
    Eigen::ColPivHouseholderQR<Eigen::MatrixXd> qr(a_live);
    beta_live = qr.solve(b);
    out.rank = static_cast<int>(qr.rank());
  }
  for (std::size_t k = 0; k < live.size(); ++k) beta(live[k]) = beta_live(static_cast<Eigen::Index>(k));
  out.coefficients.resize(static_cast<std::size_t>(p));
  double dot = 0.0;
  for (Eigen::Index j = 0; j < p; ++j) {
    const double c = beta(j) / scale(j);
    out.coefficients[static_cast<std::size_t>(j)] = c;
    dot += c * x_mean(j);
  }
  out.intercept = options.intercept ? y_mean - dot : 0.0;
  for (double c : out.coefficients)
    if (!std::isfinite(c))
      throw FitError("least squares produced a non-finite coefficient: check the training data for infinities, NaN "
                     "or energies too small or too large to be measurements");
  return out;
}

std::vector<double> nnls(const Matrix& a, const std::vector<double>& b) {
  Eigen::Map<const RowMajor> am(a.values.data(), static_cast<Eigen::Index>(a.rows), static_cast<Eigen::Index>(a.cols));
  Eigen::Map<const Eigen::VectorXd> bm(b.data(), static_cast<Eigen::Index>(b.size()));
  const Eigen::VectorXd x = nnls_eigen(am, bm);
  return std::vector<double>(x.data(), x.data() + x.size());
}

}  // namespace dle::predict
