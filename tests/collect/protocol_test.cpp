#include "collect/protocol.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace dle::collect {
namespace {

namespace fs = std::filesystem;

TEST(LoadAverage, ReadsTheFirstFieldAndIsNegativeWhenUnreadable) {
  const fs::path p = fs::temp_directory_path() / "dle_loadavg_test";
  {
    std::ofstream(p) << "1.44 2.72 2.78 3/412 12345\n";
  }
  EXPECT_DOUBLE_EQ(load_average_1min(p.string()), 1.44);
  {
    std::ofstream(p) << "not a number\n";
  }
  EXPECT_LT(load_average_1min(p.string()), 0.0);
  fs::remove(p);
  EXPECT_LT(load_average_1min(p.string()), 0.0);
}

TEST(BusyCpuWarning, OnlyWithSeveralThreadsOnABusyMachine) {
  EXPECT_EQ(busy_cpu_warning(0.1, 2, 2), "");   // quiet
  EXPECT_EQ(busy_cpu_warning(3.0, 1, 2), "");   // one thread waits for nobody
  EXPECT_EQ(busy_cpu_warning(-1.0, 2, 2), "");  // unknown load: no guess
  const std::string w = busy_cpu_warning(1.44, 2, 2);
  EXPECT_NE(w.find("load average 1.44"), std::string::npos) << w;
  EXPECT_NE(w.find("2 threads"), std::string::npos) << w;
  EXPECT_NE(w.find("--threads 1"), std::string::npos) << w;
}

}  // namespace
}  // namespace dle::collect
