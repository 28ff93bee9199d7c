#include "collect/plugin_loader.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace dle::collect {

namespace fs = std::filesystem;

namespace {
const char* const kBuildHint =
    "build it with `cmake -S . -B build -DDLENERGY_WITH_TORCH=ON && make -C build dlenergy_torch` (needs "
    "libtorch-dev), or point DLENERGY_TORCH_PLUGIN at libdlenergy_torch.so";

std::string executable_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : exe.parent_path().string();
}
}  // namespace

std::vector<std::string> plugin_candidates() {
  if (const char* env = std::getenv(kPluginEnvVariable); env && *env) return {env};
  const std::string dir = executable_dir();
  if (dir.empty()) return {};
  return {(fs::path(dir) / ".." / "lib" / kPluginFileName).lexically_normal().string(),
          (fs::path(dir) / kPluginFileName).string()};
}

TorchPlugin::Handle::~Handle() {
  if (ptr) dlclose(ptr);
}

TorchPlugin::~TorchPlugin() = default;

TorchPlugin TorchPlugin::load() {
  const std::vector<std::string> candidates = plugin_candidates();
  const bool from_env = std::getenv(kPluginEnvVariable) && *std::getenv(kPluginEnvVariable);
  std::vector<std::string> tried;
  for (const auto& path : candidates) {
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      tried.push_back(path + ": no such file");
      continue;
    }
    // RTLD_NODELETE: LibTorch starts thread pools and registers static state that must outlive dlclose.
    void* raw = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!raw) {
      const char* why = dlerror();
      tried.push_back(path + ": " + (why ? why : "dlopen failed"));
      continue;
    }
    auto handle = std::make_unique<Handle>(raw);
    using CreateFn = Executor* (*)(int);
    auto create = reinterpret_cast<CreateFn>(dlsym(raw, "dlenergy_torch_create"));
    if (!create) {
      tried.push_back(path + ": has no symbol dlenergy_torch_create (not a dlenergy plugin)");
      continue;
    }
    std::unique_ptr<Executor> executor(create(kExecutorAbiVersion));
    if (!executor) {
      tried.push_back(path + ": built for another executor ABI than this dlenergy (version " +
                      std::to_string(kExecutorAbiVersion) + "); rebuild both from the same tree");
      continue;
    }
    return TorchPlugin(std::move(handle), std::move(executor), path);
  }
  std::string msg = "the LibTorch plugin (" + std::string(kPluginFileName) + ") could not be loaded";
  msg += from_env ? std::string(" from ") + kPluginEnvVariable : std::string();
  msg += "; tried:";
  for (const auto& t : tried) msg += "\n  - " + t;
  if (tried.empty()) msg += " (no candidate path: /proc/self/exe is unreadable)";
  msg += "\n" + std::string(kBuildHint);
  throw PluginUnavailable(msg);
}

}  // namespace dle::collect
