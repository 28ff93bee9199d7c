#include <gtest/gtest.h>

#include <cmath>

#include "core/errors.hpp"
#include "predict/linear_algebra.hpp"
#include "predict/model.hpp"

namespace dle::predict {
namespace {

// Rows (a, b) on a 6 x 5 grid; relu's base features are exactly (batch_size, input_size) = (a, b).
Matrix grid() {
  Matrix m(30, 2);
  std::size_t r = 0;
  for (int a = 1; a <= 6; ++a)
    for (int b = 1; b <= 5; ++b) {
      m(r, 0) = a;
      m(r, 1) = b;
      ++r;
    }
  return m;
}

template <typename F>
std::vector<double> target(const Matrix& x, F f) {
  std::vector<double> y;
  for (std::size_t r = 0; r < x.rows; ++r) y.push_back(f(x(r, 0), x(r, 1)));
  return y;
}

ModelSpec spec(const std::string& features, Criterion c, Polynomial p = Polynomial::kNone) {
  ModelSpec s;
  s.feature_set = features;
  s.criterion = c;
  s.polynomial = p;
  return s;
}

void expect_coefficients(const LayerPredictor& m, const std::vector<double>& coef, double intercept, double tol = 1e-9) {
  ASSERT_EQ(m.state().coefficients.size(), coef.size()) << m.summary();
  for (std::size_t i = 0; i < coef.size(); ++i) EXPECT_NEAR(m.state().coefficients[i], coef[i], tol) << "coefficient " << i;
  EXPECT_NEAR(m.state().intercept, intercept, tol);
}

TEST(Model, AbsoluteRecoversALinearModel) {
  const Matrix x = grid();
  const auto y = target(x, [](double a, double b) { return 3 + 2 * a + 0.7 * b; });
  expect_coefficients(LayerPredictor::fit("relu", spec("base", Criterion::kAbsolute), x, y), {2, 0.7}, 3);
}

TEST(Model, FitRecordsTheTrainingRangesAndNamesWhatLiesOutside) {
  const Matrix x = grid();  // batch_size 1-6, input_size 1-5
  const auto y = target(x, [](double a, double b) { return 3 + 2 * a + 0.7 * b; });
  const LayerPredictor m = LayerPredictor::fit("relu", spec("base", Criterion::kAbsolute), x, y);
  ASSERT_EQ(m.state().training.feature_ranges.size(), 2u);
  EXPECT_EQ(m.state().training.feature_ranges[0], (std::pair<double, double>{1.0, 6.0}));
  EXPECT_EQ(m.state().training.feature_ranges[1], (std::pair<double, double>{1.0, 5.0}));

  const double inside[] = {6.0, 1.0}, above[] = {3.0, 7.5}, below[] = {0.5, 9.0};
  EXPECT_FALSE(m.extrapolation(inside).outside());  // the bounds themselves were seen
  const Extrapolation e = m.extrapolation(above);
  EXPECT_EQ(e.feature, 1);
  EXPECT_EQ(e.value, 7.5);
  EXPECT_EQ(m.describe(e), "input_size 7.5 elements per sample is outside the 1-5 elements per sample it was trained on");
  EXPECT_EQ(m.extrapolation(below).feature, 0);  // the first feature outside
  EXPECT_EQ(m.describe(Extrapolation{}), "");
  EXPECT_EQ(m.predict_j(layers::LayerConfig{"relu", {{"batch_size", 2}, {"input_size", 9}}}), 3 + 4 + 0.7 * 9);
  Extrapolation at;
  m.predict_j(layers::LayerConfig{"relu", {{"batch_size", 2}, {"input_size", 9}}}, &at);
  EXPECT_EQ(at.feature, 1);

  // A log1p feature is described as its quantity: log1p(input_size) = log(1 + 511) -> input_size 511.
  LayerPredictor::State s = m.state();
  s.features = {"log1p(batch_size)", "log1p(input_size)"};
  s.training.feature_ranges = {{std::log1p(1.0), std::log1p(512.0)}, {std::log1p(50000.0), std::log1p(5e6)}};
  const LayerPredictor logs(s);
  const double small[] = {std::log1p(8.0), std::log1p(511.0)};
  EXPECT_EQ(logs.describe(logs.extrapolation(small)),
            "input_size 511 elements per sample is outside the 5e+04-5e+06 elements per sample it was trained on");

  // A predictor without recorded ranges (an older file) says nothing.
  s.training.feature_ranges.clear();
  EXPECT_FALSE(LayerPredictor(s).extrapolation(small).outside());
  s.training.feature_ranges = {{0.0, 1.0}};
  EXPECT_THROW(LayerPredictor{s}, ConfigError);  // one range for two features
}

// A per-work model fits the energy per element; outside the trained elements it keeps the energy per element of
// the nearest trained size and scales with the elements.
TEST(Model, PerWorkModelRecoversTheEnergyPerElementAndHoldsItOutsideTheData) {
  // relu with batch size 1: the elements (macs) are the input size. Energy per element exp(a + b n), n the
  // elements, for n = 100,000 ... 1,000,000: log(E / n) is linear in n.
  const double a = std::log(2e-9), b = 1e-7;
  Matrix x(10, 2);  // the feature (macs), then the work (macs again)
  std::vector<double> y;
  for (std::size_t r = 0; r < 10; ++r) {
    const double n = 1e5 * static_cast<double>(r + 1);
    x(r, 0) = x(r, 1) = n;
    y.push_back(n * std::exp(a + b * n));
  }
  ModelSpec s = spec("macs", Criterion::kLog);
  s.per_work = true;
  EXPECT_EQ(s.model_name(), "linear/work");
  EXPECT_EQ(model_columns("relu", s), (std::vector<std::string>{"macs", "macs"}));
  const LayerPredictor m = LayerPredictor::fit("relu", s, x, y);
  expect_coefficients(m, {b}, a, 1e-9);
  EXPECT_EQ(m.state().training.feature_ranges, (std::vector<std::pair<double, double>>{{1e5, 1e6}}));
  EXPECT_EQ(m.extractor().columns().size(), 2u);

  const auto relu = [](double n) { return layers::LayerConfig{"relu", {{"batch_size", 1}, {"input_size", n}}}; };
  EXPECT_NEAR(m.predict_j(relu(5e5)), 5e5 * std::exp(a + b * 5e5), 1e-12 * 5e5 * 2e-9);
  // 1,000 elements: 1,000 x the energy per element at 100,000; 10,000,000: 10^7 x that at 1,000,000.
  Extrapolation e;
  EXPECT_NEAR(m.predict_j(relu(1e3), &e), 1e3 * std::exp(a + b * 1e5), 1e-12 * 1e3 * 2e-9);
  EXPECT_NEAR(m.predict_j(relu(1e7)), 1e7 * std::exp(a + b * 1e6), 1e-12 * 1e7 * 2e-9 * std::exp(0.1));
  EXPECT_EQ(m.describe(e),
            "elements 1000 is outside the 1e+05-1e+06 it was trained on; energy per element held at the nearest "
            "trained value");
  EXPECT_EQ(m.summary(), "linear/work on [macs], log error, intercept, per element");
  // 99,999 elements would read "1e+05", the least trained value, to 4 digits: then 10 digits are shown.
  EXPECT_EQ(m.describe(Extrapolation{0, 99999.0}),
            "elements 99999 is outside the 100000-1000000 it was trained on; energy per element held at the nearest "
            "trained value");

  // Rows without work cannot be fitted per work; a per-work model needs its ranges.
  x(3, 1) = 0.0;
  try {
    LayerPredictor::fit("relu", s, x, y);
    FAIL() << "fitted";
  } catch (const FitError& err) {
    EXPECT_NE(std::string(err.what()).find("relu: 1 training rows do no work (macs <= 0)"), std::string::npos)
        << err.what();
  }
  LayerPredictor::State st = m.state();
  st.training.feature_ranges.clear();
  EXPECT_THROW(LayerPredictor{st}, ConfigError);
}

// A quadratic per-work model of an elementwise layer whose energy per element peaks inside the trained range is held
// at the peak from there up: past it the fit turns down, and the layer's energy per element would then fall as it
// grows.
TEST(Model, PerWorkQuadraticIsHeldAtItsPeakSoTheEnergyNeverFallsAsTheWorkGrows) {
  // tanh at batch size 1: log(E / n) = a + b n + c n^2 for n = 100,000 ... 1,000,000 elements, peaking at 700,000
  // (b = -2 c 700,000), 9 % lower per element at 1,000,000 than at the peak.
  const double a = std::log(2e-9), c = -1e-12, b = -2.0 * c * 7e5;
  const auto per_element = [&](double n) { return std::exp(a + b * n + c * n * n); };
  Matrix x(10, 2);
  std::vector<double> y;
  for (std::size_t r = 0; r < 10; ++r) {
    const double n = 1e5 * static_cast<double>(r + 1);
    x(r, 0) = x(r, 1) = n;
    y.push_back(n * per_element(n));
  }
  ModelSpec s = spec("macs", Criterion::kLog, Polynomial::kFull);
  s.standard_scaler = true;
  s.per_work = true;
  const LayerPredictor m = LayerPredictor::fit("tanh", s, x, y);
  const auto tanh = [](double n) { return layers::LayerConfig{"tanh", {{"batch_size", 1}, {"input_size", n}}}; };
  // Below the peak: the fit itself. From the peak up, and above the range: the energy per element of the peak.
  for (double n : {1e5, 3e5, 6.9e5})
    EXPECT_NEAR(m.predict_j(tanh(n)), n * per_element(n), 1e-9 * n * per_element(n)) << n;
  for (double n : {7.5e5, 1e6, 4e6})
    EXPECT_NEAR(m.predict_j(tanh(n)), n * per_element(7e5), 1e-9 * n * per_element(7e5)) << n;
  // The energy on a grid from 50,000 to 3,000,000 elements: rising (strictly, or never falling).
  const auto expect_rising = [&](const LayerPredictor& p, bool strictly) {
    double previous = 0.0;
    for (double n = 5e4; n < 3e6; n = std::round(n * 1.01)) {
      const double e = p.predict_j(tanh(n));
      if (strictly)
        EXPECT_GT(e, previous) << n;
      else
        EXPECT_GE(e, previous) << n;
      previous = e;
    }
  };
  expect_rising(m, true);
  EXPECT_EQ(m.describe(Extrapolation{0, 4e6}),
            "elements 4e+06 is outside the 1e+05-1e+06 it was trained on; energy per element held at its fitted "
            "peak, at 7e+05 elements");
  EXPECT_EQ(m.describe(Extrapolation{0, 5e4}),
            "elements 5e+04 is outside the 1e+05-1e+06 it was trained on; energy per element held at the nearest "
            "trained value");

  // A peak at or below the least trained size: the energy per element falls throughout the data, which is kept, but
  // not past the size where the energy itself would fall, 1/n + b' + 2 c n = 0 (here at 732,549 elements).
  {
    const double b_low = -2.0 * c * 5e4;  // the energy per element peaks at 50,000 elements, below the data
    const double n_e = (-b_low - std::sqrt(b_low * b_low - 8.0 * c)) / (4.0 * c);
    ASSERT_NEAR(n_e, 732549.0, 1.0);
    const auto falling = [&](double n) { return std::exp(a + b_low * n + c * n * n); };
    std::vector<double> y_low;
    for (std::size_t r = 0; r < 10; ++r) y_low.push_back(x(r, 0) * falling(x(r, 0)));
    const LayerPredictor low = LayerPredictor::fit("tanh", s, x, y_low);
    EXPECT_NEAR(low.predict_j(tanh(5e5)), 5e5 * falling(5e5), 1e-9 * 5e5 * falling(5e5));
    for (double n : {8e5, 1e6, 4e6})
      EXPECT_NEAR(low.predict_j(tanh(n)), n * falling(n_e), 1e-6 * n * falling(n_e)) << n;
    expect_rising(low, false);
    EXPECT_EQ(low.describe(Extrapolation{0, 4e6}),
              "elements 4e+06 is outside the 1e+05-1e+06 it was trained on; energy per element held at its value at "
              "7.325e+05 elements, past which the fitted energy falls");
    // At 1,000,001 elements, which reads as the bound to 4 digits, the held size is shown to 10 digits as well.
    const std::string exact = low.describe(Extrapolation{0, 1000001.0});
    EXPECT_EQ(exact.rfind("elements 1000001 is outside the 100000-1000000 it was trained on; energy per element held "
                          "at its value at 732548.",
                          0),
              0u)
        << exact;
    EXPECT_NE(exact.find(" elements, past which the fitted energy falls"), std::string::npos) << exact;
  }

  // Only elementwise layers are held: a GEMM's energy per MAC may fall as it grows. The same curve as conv2d's energy
  // per MAC keeps the training range (held at 1,000,000 MACs, 9 % below the peak per MAC).
  const LayerPredictor conv = LayerPredictor::fit("conv2d", s, x, y);
  const double conv_hi[] = {1e6, 4e6};  // the feature (MACs), then the work
  EXPECT_NEAR(conv.predict_features_j(conv_hi), 4e6 * per_element(1e6), 1e-9 * 4e6 * per_element(1e6));

  // A quadratic that peaks outside the range, or has a minimum instead, keeps the training range.
  for (double peak : {2e6, -1.0}) {
    std::vector<double> rising;
    for (std::size_t r = 0; r < 10; ++r) {
      const double n = x(r, 0);
      const double q = peak > 0 ? b * peak / 7e5 * n + c * n * n : -b * n - c * n * n;
      rising.push_back(n * std::exp(a + q));
    }
    const LayerPredictor k = LayerPredictor::fit("tanh", s, x, rising);
    const double n_hi = 1e6, q_hi = peak > 0 ? b * peak / 7e5 * n_hi + c * n_hi * n_hi : -b * n_hi - c * n_hi * n_hi;
    EXPECT_NEAR(k.predict_j(tanh(4e6)), 4e6 * std::exp(a + q_hi), 1e-9 * 4e6 * std::exp(a + q_hi)) << peak;
  }
}

// Every training layer with the same element count: the feature is constant, which leaves the mean (of the log
// energy per element) to the intercept; its rounding must not be magnified into a column of the design.
TEST(Model, AConstantFeatureGetsNoWeightInsteadOfANonFiniteFit) {
  Matrix x(12, 2);
  std::vector<double> y;
  double mean_log = 0.0;
  for (std::size_t r = 0; r < 12; ++r) {
    x(r, 0) = x(r, 1) = 957576.0;  // elements, a value whose sum is not exact in binary
    y.push_back(957576.0 * 40e-9 * (1.0 + 0.01 * static_cast<double>(r % 5)));
    mean_log += std::log(y.back() / 957576.0) / 12.0;
  }
  ModelSpec s = spec("macs", Criterion::kLog, Polynomial::kFull);
  s.standard_scaler = true;
  s.per_work = true;
  const LayerPredictor m = LayerPredictor::fit("tanh", s, x, y);
  expect_coefficients(m, {0.0, 0.0}, mean_log, 1e-12);
  const double small[] = {1000.0, 1000.0};
  EXPECT_NEAR(m.predict_features_j(small), 1000.0 * std::exp(mean_log), 1e-12);
  s.per_work = false;  // the same without the work: energy is the constant's mean, not NaN
  Matrix one(12, 1);
  for (std::size_t r = 0; r < 12; ++r) one(r, 0) = 957576.0;
  EXPECT_TRUE(std::isfinite(LayerPredictor::fit("tanh", s, one, y).predict_features_j(small)));
}

TEST(Model, EveryCriterionRecoversAnInteractionModel) {
  // y = 3 + 2a + 0.5ab: columns a, b, ab (scikit-learn order); the relative criterion and ordinary least
  // squares agree on data without noise.
  const Matrix x = grid();
  const auto y = target(x, [](double a, double b) { return 3 + 2 * a + 0.5 * a * b; });
  for (auto c : {Criterion::kAbsolute, Criterion::kRelative}) {
    const auto m = LayerPredictor::fit("relu", spec("base", c, Polynomial::kInteraction), x, y);
    expect_coefficients(m, {2, 0, 0.5}, 3);
    EXPECT_EQ(m.expanded_features(), (std::vector<std::string>{"batch_size", "input_size", "batch_size input_size"}));
  }
}

TEST(Model, FullPolynomialRecoversSquares) {
  const Matrix x = grid();
  const auto y = target(x, [](double a, double b) { return 1 + 3 * b + a * a - 2 * a * b; });
  expect_coefficients(LayerPredictor::fit("relu", spec("base", Criterion::kAbsolute, Polynomial::kFull), x, y),
                      {0, 3, 1, -2, 0}, 1);
}

TEST(Model, LogCriterionRecoversAPowerLaw) {
  // y = e^0.5 (1+a)^2 (1+b)^0.25 is linear in log1p features on the log scale.
  Matrix raw(30, 2);
  const Matrix x = grid();
  for (std::size_t r = 0; r < 30; ++r) raw(r, 0) = std::log1p(x(r, 0)), raw(r, 1) = std::log1p(x(r, 1));
  const auto y = target(x, [](double a, double b) { return std::exp(0.5) * std::pow(1 + a, 2) * std::pow(1 + b, 0.25); });
  const auto m = LayerPredictor::fit("relu", spec("log1p", Criterion::kLog), raw, y);
  expect_coefficients(m, {2, 0.25}, 0.5);
  const layers::LayerConfig c{"relu", {{"batch_size", 7}, {"input_size", 9}}};
  EXPECT_NEAR(m.predict_j(c), std::exp(0.5) * 64 * std::pow(10, 0.25), 1e-9);
  // With an interaction column too.
  const auto y2 = target(x, [](double a, double b) {
    return std::exp(0.5 + 2 * std::log1p(a) + 0.25 * std::log1p(b) + 0.1 * std::log1p(a) * std::log1p(b));
  });
  expect_coefficients(LayerPredictor::fit("relu", spec("log1p", Criterion::kLog, Polynomial::kInteraction), raw, y2),
                      {2, 0.25, 0.1}, 0.5);
}

TEST(Model, RelativeCriterionMinimisesRelativeError) {
  // One feature, no intercept, noisy data: ordinary least squares gives sum(xy)/sum(x^2); least squares on
  // relative error gives sum(x/y)/sum(x^2/y^2). Hand-checkable, and the two differ.
  const std::vector<double> xs{1, 2, 10, 100}, ys{1.5, 1.8, 12, 90};
  Matrix x(4, 1);
  for (int i = 0; i < 4; ++i) x(static_cast<std::size_t>(i), 0) = xs[static_cast<std::size_t>(i)];
  double sxy = 0, sxx = 0, sr = 0, srr = 0;
  for (int i = 0; i < 4; ++i) {
    const double a = xs[static_cast<std::size_t>(i)], b = ys[static_cast<std::size_t>(i)];
    sxy += a * b, sxx += a * a, sr += a / b, srr += a * a / (b * b);
  }
  auto s = spec("macs", Criterion::kAbsolute);
  s.intercept = false;
  expect_coefficients(LayerPredictor::fit("relu", s, x, ys), {sxy / sxx}, 0, 1e-12);
  s.criterion = Criterion::kRelative;
  expect_coefficients(LayerPredictor::fit("relu", s, x, ys), {sr / srr}, 0, 1e-12);
  EXPECT_GT(std::fabs(sxy / sxx - sr / srr), 0.05);
}

TEST(Model, StandardScalerAndMinMaxTargetDoNotChangeLinearPredictions) {
  const Matrix x = grid();
  const auto y = target(x, [](double a, double b) { return 10 + 2 * a + 0.5 * a * b + 0.01 * a * a * b; });
  const auto plain = LayerPredictor::fit("relu", spec("base", Criterion::kAbsolute, Polynomial::kInteraction), x, y);
  auto s = spec("base", Criterion::kAbsolute, Polynomial::kInteraction);
  s.standard_scaler = true;
  s.minmax_target = true;
  const auto scaled = LayerPredictor::fit("relu", s, x, y);
  // Population statistics, as scikit-learn's StandardScaler: column a takes 1..6 five times each.
  EXPECT_DOUBLE_EQ(scaled.state().scaler_mean[0], 3.5);
  EXPECT_NEAR(scaled.state().scaler_scale[0], std::sqrt(35.0 / 12.0), 1e-12);
  const auto [lo, hi] = std::minmax_element(y.begin(), y.end());
  EXPECT_EQ(scaled.state().target_min, *lo);
  EXPECT_EQ(scaled.state().target_max, *hi);
  const auto p1 = plain.predict_j(x), p2 = scaled.predict_j(x);
  for (std::size_t i = 0; i < p1.size(); ++i) EXPECT_NEAR(p1[i], p2[i], 1e-9 * std::fabs(p1[i]));
}

TEST(LeastSquares, NnlsKeepsCoefficientsNonNegativeWhereOlsGoesNegative) {
  // Without constraints: x = (2, -1). With x >= 0: x2 = 0 and x1 minimises (x1-2)^2 + 1 + (x1-1)^2, so 1.5.
  Matrix a(3, 2);
  a(0, 0) = 1, a(1, 1) = 1, a(2, 0) = 1, a(2, 1) = 1;
  const std::vector<double> b{2, -1, 1};
  const auto ols = least_squares(a, b, {}, {false, false});
  EXPECT_NEAR(ols.coefficients[0], 2.0, 1e-12);
  EXPECT_NEAR(ols.coefficients[1], -1.0, 1e-12);
  const auto nn = nnls(a, b);
  EXPECT_NEAR(nn[0], 1.5, 1e-12);
  EXPECT_EQ(nn[1], 0.0);
  const auto viasolver = least_squares(a, b, {}, {false, true});
  EXPECT_NEAR(viasolver.coefficients[0], 1.5, 1e-12);
  EXPECT_EQ(viasolver.coefficients[1], 0.0);
}

TEST(LeastSquares, NonNegativeWithAFreeIntercept) {
  // y = 5 - 1*a + 2*b: the free intercept absorbs the mean, a's coefficient is clipped at 0.
  const Matrix x = grid();
  const auto y = target(x, [](double a, double b) { return 5 - a + 2 * b; });
  auto s = spec("base", Criterion::kAbsolute);
  s.nonnegative = true;
  const auto m = LayerPredictor::fit("relu", s, x, y);
  EXPECT_EQ(m.state().coefficients[0], 0.0);
  EXPECT_NEAR(m.state().coefficients[1], 2.0, 1e-9);  // a and b are uncorrelated on the grid
  EXPECT_NEAR(m.state().intercept, 5 - 3.5, 1e-9);
}

TEST(LeastSquares, RankDeficientDesignStillPredicts) {
  Matrix x(5, 2);
  std::vector<double> y;
  for (std::size_t i = 0; i < 5; ++i) x(i, 0) = static_cast<double>(i), x(i, 1) = 2.0 * static_cast<double>(i), y.push_back(1 + 3.0 * static_cast<double>(i));
  const auto s = least_squares(x, y, {}, {true, false});
  EXPECT_EQ(s.rank, 1);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_NEAR(s.intercept + s.coefficients[0] * x(i, 0) + s.coefficients[1] * x(i, 1), y[i], 1e-9);
}

TEST(Model, MetricsByHand) {
  const auto m = compute_metrics({1, 2, 4}, {1.05, 1.7, 4});
  EXPECT_EQ(m.n, 3u);
  EXPECT_NEAR(m.mse_j2, (0.0025 + 0.09) / 3, 1e-12);
  EXPECT_NEAR(m.r2, 1 - (0.0925 / (42.0 / 9.0)), 1e-12);
  EXPECT_NEAR(m.mape_pct, 20.0 / 3, 1e-9);
  EXPECT_NEAR(m.within_10pct_share, 2.0 / 3, 1e-12);
  EXPECT_TRUE(std::isnan(compute_metrics({1}, {1}).r2));
}

TEST(Model, SyntheticLinearPredictorOnConfigs) {
  const auto p = LayerPredictor::linear("conv2d", {"macs"}, {1e-9}, 0.0);
  const layers::LayerConfig c{"conv2d", {{"batch_size", 2}, {"image_size", 8}, {"kernel_size", 3}, {"in_channels", 4},
                                         {"out_channels", 5}, {"stride", 1}, {"padding", 1}}};
  EXPECT_DOUBLE_EQ(p.predict_j(c), 23040 * 1e-9);
  EXPECT_EQ(p.summary(), "linear on [macs], absolute error, no intercept");
  EXPECT_THROW(p.predict_j({"linear", {{"batch_size", 1}, {"input_size", 2}, {"output_size", 3}}}), ConfigError);
}

TEST(Model, DataThatCannotSupportTheModelIsAFitError) {
  Matrix x(2, 2);
  x(0, 0) = 1, x(0, 1) = 2, x(1, 0) = 3, x(1, 1) = 1;
  EXPECT_THROW(LayerPredictor::fit("relu", spec("base", Criterion::kAbsolute), x, {1, 2}), FitError);  // 3 unknowns
  const Matrix g = grid();
  auto y = target(g, [](double a, double) { return a - 3; });  // some energies <= 0
  try {
    LayerPredictor::fit("relu", spec("base", Criterion::kRelative), g, y);
    FAIL();
  } catch (const FitError& e) {
    EXPECT_NE(std::string(e.what()).find("<= 0 J"), std::string::npos) << e.what();
  }
  // Energies of 1e-295 J: the relative criterion's weights (1 / energy) overflow. The error names the type, the
  // model and the energies, so the user can see which data is at fault.
  auto tiny = target(g, [](double a, double b) { return (a + b) * 1e-295; });
  try {
    LayerPredictor::fit("relu", spec("base", Criterion::kRelative), g, tiny);
    FAIL() << "fitted";
  } catch (const FitError& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.rfind("relu: least squares produced a non-finite coefficient", 0), 0u) << m;
    EXPECT_NE(m.find("training energies 2e-295 to "), std::string::npos) << m;
  }
  auto s = spec("base", Criterion::kLog);
  s.minmax_target = true;
  EXPECT_THROW(s.validate(), ConfigError);
}

}  // namespace
}  // namespace dle::predict
