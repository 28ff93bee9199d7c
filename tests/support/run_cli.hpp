#pragma once
// Runs the built dlenergy executable (path in env DLENERGY_BIN, set by ctest) and captures its output.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "support/files.hpp"

namespace dle::testing {

struct CliResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

inline std::string dlenergy_bin() {
  const char* p = std::getenv("DLENERGY_BIN");
  return p ? p : std::string(DLE_BINARY_DIR) + "/bin/dlenergy";
}

// `args` is appended to the binary path as shell text (quote it yourself); `prefix` goes before the binary
// (for example "env -u DLENERGY_PREDICTORS ").
inline CliResult run_cli(const std::string& args, const std::string& prefix = "") {
  char tmpl[] = "/tmp/dle-cli-err-XXXXXX";
  const int fd = mkstemp(tmpl);
  if (fd >= 0) close(fd);
  const std::string cmd = prefix + dlenergy_bin() + " " + args + " 2>" + tmpl;
  CliResult r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.err = slurp(tmpl);
  std::remove(tmpl);
  return r;
}

}  // namespace dle::testing
