#include "core/system_info.hpp"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>

namespace dle::sys {

std::string hostname() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        auto v = line.substr(colon + 1);
        v.erase(0, v.find_first_not_of(' '));
        return v;
      }
    }
  }
  return "unknown";
}

int online_cores() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

std::string active_blas() {
  namespace fs = std::filesystem;
  for (const char* dir : {"/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"}) {
    const fs::path p = fs::path(dir) / "libblas.so.3";
    std::error_code ec;
    if (!fs::exists(p, ec)) continue;
    const fs::path real = fs::canonical(p, ec);
    const std::string r = ec ? p.string() : real.string();
    std::string kind = "reference";
    if (r.find("openblas-pthread") != std::string::npos) kind = "openblas-pthread";
    else if (r.find("openblas-openmp") != std::string::npos) kind = "openblas-openmp";
    else if (r.find("openblas") != std::string::npos) kind = "openblas";
    else if (r.find("blis") != std::string::npos) kind = "blis";
    else if (r.find("mkl") != std::string::npos) kind = "mkl";
    else if (r.find("atlas") != std::string::npos) kind = "atlas";
    return kind + " (" + r + ")";
  }
  return "not found";
}

bool blas_is_optimised() {
  const std::string b = active_blas();
  return b.rfind("reference", 0) != 0 && b != "not found";
}

std::string utc_now_iso8601() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace dle::sys
