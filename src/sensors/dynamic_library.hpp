#pragma once
// RAII around dlopen/dlsym/dlclose, for libraries loaded at run time (NVML) so the build never depends on them.
#include <string>

namespace dle::sensors {

class DynamicLibrary {
 public:
  // Throws SensorUnavailable with dlerror()'s text when the library cannot be loaded.
  explicit DynamicLibrary(const std::string& path);
  ~DynamicLibrary();
  DynamicLibrary(const DynamicLibrary&) = delete;
  DynamicLibrary& operator=(const DynamicLibrary&) = delete;

  const std::string& path() const { return path_; }
  // The symbol's address, or nullptr when the library does not export it.
  void* symbol(const char* name) const;
  template <typename Function>
  Function function(const char* name) const {
    return reinterpret_cast<Function>(symbol(name));
  }

 private:
  std::string path_;
  void* handle_ = nullptr;
};

}  // namespace dle::sensors
