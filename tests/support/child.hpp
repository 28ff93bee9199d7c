#pragma once
// A dlenergy child process with its output in files, for tests that signal, kill or watch a running command.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "support/files.hpp"
#include "support/run_cli.hpp"  // dlenergy_bin()

extern char** environ;

namespace dle::testing {

// A dlenergy child process with stdout and stderr sent to files in `dir`.
class Child {
 public:
  Child(const std::vector<std::string>& args, const std::string& dir, const std::string& tag = "child")
      : out_(dir + "/" + tag + ".out"), err_(dir + "/" + tag + ".err") {
    std::vector<std::string> argv{dlenergy_bin()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (posix_spawn(&pid_, cargv[0], &fa, nullptr, cargv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
  }
  ~Child() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      wait();
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int sig) const { kill(pid_, sig); }
  // Exit code, or 128 + signal when killed by a signal.
  int wait() {
    if (reaped_) return exit_;
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
    exit_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return exit_;
  }
  bool running() {
    if (reaped_) return false;
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      exit_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return false;
    }
    return true;
  }
  int exit_code() const { return exit_; }
  std::string out() const { return dle::testing::slurp(out_); }
  std::string err() const { return dle::testing::slurp(err_); }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int exit_ = -1;
  std::string out_, err_;
};

// Runs dlenergy to completion; returns the exit code and fills out/err.
inline int run_dlenergy(const std::vector<std::string>& args, const std::string& dir, std::string* out = nullptr,
                        std::string* err = nullptr) {
  Child c(args, dir, "run");
  const int code = c.wait();
  if (out) *out = c.out();
  if (err) *err = c.err();
  return code;
}

}  // namespace dle::testing
