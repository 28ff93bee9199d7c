#pragma once
// Finds and loads the LibTorch plugin (libdlenergy_torch.so) with dlopen. Only `collect` calls this:
// inspect, estimate and fit never load LibTorch.
//
// Search order: $DLENERGY_TORCH_PLUGIN (a file path; when set it must work), then
// <dir of /proc/self/exe>/../lib/libdlenergy_torch.so (the build and install layout), then the same file
// beside the executable.
#include <memory>
#include <string>
#include <vector>

#include "collect/executor.hpp"
#include "core/errors.hpp"

namespace dle::collect {

inline constexpr const char* kPluginFileName = "libdlenergy_torch.so";
inline constexpr const char* kPluginEnvVariable = "DLENERGY_TORCH_PLUGIN";

// The plugin is not built, not found or does not load; exits like an unavailable sensor (code 4).
class PluginUnavailable : public Error {
 public:
  using Error::Error;
  ExitCode exit_code() const override { return ExitCode::kSensorUnavailable; }
};

// Paths tried, in order (the environment variable alone when it is set).
std::vector<std::string> plugin_candidates();

class TorchPlugin {
 public:
  // Throws PluginUnavailable naming every path tried and how to build the plugin.
  static TorchPlugin load();

  TorchPlugin(TorchPlugin&&) noexcept = default;
  TorchPlugin& operator=(TorchPlugin&&) noexcept = default;
  ~TorchPlugin();

  Executor& executor() { return *executor_; }
  const std::string& path() const { return path_; }

 private:
  struct Handle {  // RAII dlopen handle
    void* ptr = nullptr;
    explicit Handle(void* p) : ptr(p) {}
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    ~Handle();
  };
  TorchPlugin(std::unique_ptr<Handle> handle, std::unique_ptr<Executor> executor, std::string path)
      : handle_(std::move(handle)), executor_(std::move(executor)), path_(std::move(path)) {}

  // Declaration order matters: the executor (code inside the library) is destroyed before the handle closes.
  std::unique_ptr<Handle> handle_;
  std::unique_ptr<Executor> executor_;
  std::string path_;
};

}  // namespace dle::collect
