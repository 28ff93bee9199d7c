#include "core/registry.hpp"

#include <gtest/gtest.h>

namespace dle {
namespace {

TEST(Registry, LooksUpInRegistrationOrderAndListsNamesForUnknown) {
  Registry<int> r("sensor");
  r.add("rapl", 1);
  r.add("estimated", 4);
  EXPECT_EQ(r.get("estimated"), 4);
  EXPECT_EQ(r.names(), (std::vector<std::string>{"rapl", "estimated"}));
  try {
    r.get("nvmlx");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "unknown sensor 'nvmlx'; valid names: rapl, estimated");
    EXPECT_EQ(e.exit_code(), ExitCode::kConfig);
  }
}

TEST(Registry, RejectsDuplicateNames) {
  Registry<int> r("collector");
  r.add("relu", 1);
  EXPECT_THROW(r.add("relu", 2), Error);
}

TEST(ConfigError, HoldsEveryProblemAndSummarisesThem) {
  ConfigError e(std::vector<std::string>{"layer 0 (conv2d): kernel_size 0 must be >= 1", "layer 3: missing type"});
  EXPECT_EQ(e.problems().size(), 2u);
  EXPECT_EQ(std::string(e.what()),
            "2 problems:\n  - layer 0 (conv2d): kernel_size 0 must be >= 1\n  - layer 3: missing type");
}

}  // namespace
}  // namespace dle
