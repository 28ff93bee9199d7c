#include "sensors/dynamic_library.hpp"

#include <dlfcn.h>

#include "core/errors.hpp"

namespace dle::sensors {

DynamicLibrary::DynamicLibrary(const std::string& path) : path_(path) {
  handle_ = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle_) {
    const char* err = ::dlerror();
    throw SensorUnavailable("cannot load " + path + " (" + (err ? err : "unknown dlopen error") + ")");
  }
}

DynamicLibrary::~DynamicLibrary() {
  if (handle_) ::dlclose(handle_);
}

void* DynamicLibrary::symbol(const char* name) const {
  ::dlerror();
  return ::dlsym(handle_, name);
}

}  // namespace dle::sensors
