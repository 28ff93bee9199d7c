#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "predict/recipes.hpp"

namespace dle::predict {
namespace {

// The paper's training sets live beside the project (never inside it): ../shared/paper-data/training-sets.
std::string training_sets_dir() {
  return (std::filesystem::path(DLE_SOURCE_DIR) / ".." / "shared" / "paper-data" / "training-sets").lexically_normal().string();
}

TEST(PaperRecipe, ReproducesThePublishedTestR2ToFourDecimals) {
  const std::string dir = training_sets_dir();
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << "paper data not found at " << dir << " (needs ../shared/paper-data)";
  const auto sets = load_paper_training_sets(dir);
  const Recipe& recipe = recipes().get("paper");
  const std::map<std::string, double> published = {{"conv2d", 0.9977}, {"maxpool2d", 0.9995}, {"linear", 0.9992},
                                                   {"relu", 0.9812},   {"sigmoid", 0.9905},   {"tanh", 0.9761},
                                                   {"softmax", 0.9913}};
  const FitOutcome fitted = fit_recipe(recipe, sets, paper_training_sets_source(dir));
  for (const auto& [type, r2] : published) {
    ASSERT_TRUE(fitted.predictors.has(type)) << type;
    const auto& metrics = fitted.predictors.get(type)->state().metrics;
    const double got = metrics.at("test").r2;
    EXPECT_EQ(std::lround(got * 1e4), std::lround(r2 * 1e4)) << type << ": test R^2 " << got << ", paper " << r2;
    EXPECT_EQ(fitted.predictors.get(type)->state().training.fit_rows, static_cast<std::size_t>(0.7 * static_cast<double>(sets.at(type).configs.size())));
  }
  EXPECT_EQ(fitted.predictors.source().recipe, "paper");
  EXPECT_FALSE(fitted.predictors.source().estimated);

  // The diagnosis: the paper's Conv2d model carries an intercept of about 216 J per call, so even a
  // 1x1 convolution of one 4x4 single-channel image is predicted at ~216 J.
  const layers::LayerConfig tiny{"conv2d", {{"batch_size", 1}, {"image_size", 4}, {"kernel_size", 1}, {"in_channels", 1},
                                            {"out_channels", 1}, {"stride", 1}, {"padding", 0}}};
  const double e = fitted.predictors.predict_j(tiny);
  EXPECT_GT(e, 210.0);
  EXPECT_LT(e, 222.0);
}

}  // namespace
}  // namespace dle::predict
