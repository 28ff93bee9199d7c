// A fake libnvidia-ml for the tests: the few NVML entry points dlenergy uses, with the GPUs and their counters
// read from the file named by FAKE_NVML_STATE at every call, so a test changes a counter by rewriting it.
// Lines: "count N", "init_error CODE", "energy_mj.I VALUE", "energy_supported.I 0|1", "power_mw.I VALUE",
// "name.I TEXT".
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace {

std::map<std::string, std::string> state() {
  std::map<std::string, std::string> s;
  const char* path = std::getenv("FAKE_NVML_STATE");
  if (!path) return s;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const auto space = line.find(' ');
    if (space != std::string::npos) s[line.substr(0, space)] = line.substr(space + 1);
  }
  return s;
}

long long value(const std::string& key, long long fallback) {
  const auto s = state();
  const auto it = s.find(key);
  return it == s.end() ? fallback : std::stoll(it->second);
}

// Devices are opaque handles: index + 1, so that 0 stays an invalid handle.
struct nvmlDevice_st;
unsigned index_of(nvmlDevice_st* d) { return static_cast<unsigned>(reinterpret_cast<std::uintptr_t>(d) - 1); }

int live_inits = 0;

}  // namespace

extern "C" {

__attribute__((visibility("default"))) int nvmlInit_v2() {
  const int err = static_cast<int>(value("init_error", 0));
  if (err != 0) return err;
  ++live_inits;
  return 0;
}

__attribute__((visibility("default"))) int nvmlShutdown() {
  --live_inits;
  return 0;
}

__attribute__((visibility("default"))) int nvmlDeviceGetCount_v2(unsigned* count) {
  *count = static_cast<unsigned>(value("count", 0));
  return 0;
}

__attribute__((visibility("default"))) int nvmlDeviceGetHandleByIndex_v2(unsigned index, nvmlDevice_st** device) {
  if (index >= static_cast<unsigned>(value("count", 0))) return 2;  // NVML_ERROR_INVALID_ARGUMENT
  *device = reinterpret_cast<nvmlDevice_st*>(static_cast<std::uintptr_t>(index) + 1);
  return 0;
}

__attribute__((visibility("default"))) int nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_st* device, unsigned long long* mj) {
  const std::string i = std::to_string(index_of(device));
  if (value("energy_supported." + i, 1) == 0) return 3;  // NVML_ERROR_NOT_SUPPORTED
  *mj = static_cast<unsigned long long>(value("energy_mj." + i, 0));
  return 0;
}

__attribute__((visibility("default"))) int nvmlDeviceGetPowerUsage(nvmlDevice_st* device, unsigned* mw) {
  *mw = static_cast<unsigned>(value("power_mw." + std::to_string(index_of(device)), 0));
  return 0;
}

__attribute__((visibility("default"))) int nvmlDeviceGetName(nvmlDevice_st* device, char* name, unsigned length) {
  const auto s = state();
  const auto it = s.find("name." + std::to_string(index_of(device)));
  const std::string n = it == s.end() ? "Fake GPU" : it->second;
  std::strncpy(name, n.c_str(), length - 1);
  name[length - 1] = '\0';
  return 0;
}

__attribute__((visibility("default"))) const char* nvmlErrorString(int code) {
  switch (code) {
    case 0: return "Success";
    case 3: return "Not Supported";
    case 9: return "Driver Not Loaded";
    default: return "Unknown Error";
  }
}

// Test hook, not part of NVML: how many nvmlInit_v2 calls are not yet matched by nvmlShutdown.
__attribute__((visibility("default"))) int fake_nvml_live_inits() { return live_inits; }

}  // extern "C"
