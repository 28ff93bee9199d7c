#include "sensors/nvml.hpp"

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <sstream>

#include "core/errors.hpp"
#include "sensors/dynamic_library.hpp"

namespace dle::sensors {

namespace {

// The part of NVML's C ABI this backend uses (nvml.h, stable since CUDA 6; the _v2 entry points since 8.0).
namespace abi {
using Return = int;
struct DeviceStruct;
using Device = DeviceStruct*;
constexpr Return kSuccess = 0;
constexpr Return kNotSupported = 3;
constexpr Return kNoPermission = 4;
using InitFn = Return (*)();
using ShutdownFn = Return (*)();
using CountFn = Return (*)(unsigned int*);
using HandleFn = Return (*)(unsigned int, Device*);
using EnergyFn = Return (*)(Device, unsigned long long*);  // millijoules since the driver was loaded
using PowerFn = Return (*)(Device, unsigned int*);          // milliwatts
using NameFn = Return (*)(Device, char*, unsigned int);
using ErrorStringFn = const char* (*)(Return);
}  // namespace abi

// RAII: the loaded library plus an nvmlInit_v2 matched by nvmlShutdown (NVML counts its initialisations).
class NvmlLibrary {
 public:
  explicit NvmlLibrary(const std::string& path) : lib_(load(path)) {
    init_ = required<abi::InitFn>("nvmlInit_v2");
    shutdown_ = required<abi::ShutdownFn>("nvmlShutdown");
    count_ = required<abi::CountFn>("nvmlDeviceGetCount_v2");
    handle_ = required<abi::HandleFn>("nvmlDeviceGetHandleByIndex_v2");
    power_ = required<abi::PowerFn>("nvmlDeviceGetPowerUsage");
    energy_ = lib_->function<abi::EnergyFn>("nvmlDeviceGetTotalEnergyConsumption");  // absent before driver 418
    name_ = lib_->function<abi::NameFn>("nvmlDeviceGetName");
    error_string_ = lib_->function<abi::ErrorStringFn>("nvmlErrorString");
    const abi::Return rc = init_();
    if (rc != abi::kSuccess) {
      throw SensorUnavailable("nvmlInit_v2 failed in " + path + ": " + describe(rc) +
                              "; the NVIDIA driver is not loaded or no GPU is visible to this process");
    }
  }
  ~NvmlLibrary() { shutdown_(); }
  NvmlLibrary(const NvmlLibrary&) = delete;
  NvmlLibrary& operator=(const NvmlLibrary&) = delete;

  std::string describe(abi::Return rc) const {
    const char* text = error_string_ ? error_string_(rc) : nullptr;
    return std::string(text ? text : "NVML error") + " (code " + std::to_string(rc) + ")";
  }

  unsigned count() const {
    unsigned n = 0;
    const abi::Return rc = count_(&n);
    if (rc != abi::kSuccess) throw SensorUnavailable("nvmlDeviceGetCount_v2 failed: " + describe(rc));
    return n;
  }
  abi::Device device(unsigned index) const {
    abi::Device d = nullptr;
    const abi::Return rc = handle_(index, &d);
    if (rc == abi::kNoPermission)
      throw PermissionDenied("NVML refused access to GPU " + std::to_string(index) + ": " + describe(rc) +
                             "; run as a user with access to /dev/nvidia*");
    if (rc != abi::kSuccess)
      throw SensorUnavailable("nvmlDeviceGetHandleByIndex_v2(" + std::to_string(index) + ") failed: " + describe(rc));
    return d;
  }
  std::string device_name(abi::Device d) const {
    char buf[96] = {0};
    if (!name_ || name_(d, buf, sizeof buf) != abi::kSuccess) return "unknown GPU";
    return buf;
  }
  // kSuccess with `mj` set; kNotSupported (or the function missing) when the GPU has no energy counter.
  abi::Return energy_mj(abi::Device d, unsigned long long& mj) const {
    if (!energy_) return abi::kNotSupported;
    return energy_(d, &mj);
  }
  abi::Return power_mw(abi::Device d, unsigned& mw) const { return power_(d, &mw); }

 private:
  static std::unique_ptr<DynamicLibrary> load(const std::string& path) {
    try {
      return std::make_unique<DynamicLibrary>(path);
    } catch (const SensorUnavailable& e) {
      // A path to a file that exists but does not load is a wrong file, not a missing driver.
      std::error_code ec;
      if (path.find('/') != std::string::npos && std::filesystem::is_regular_file(path, ec))
        throw SensorUnavailable(std::string(e.what()) + ": " + path +
                                " exists but is not a loadable NVML library; pass the driver's libnvidia-ml.so.1");
      throw SensorUnavailable(std::string(e.what()) +
                              ": the NVIDIA management library is not installed (no NVIDIA driver here); if it lives "
                              "elsewhere, pass --nvml-library FILE or set DLENERGY_NVML_LIBRARY");
    }
  }
  template <typename Function>
  Function required(const char* name) const {
    auto f = lib_->function<Function>(name);
    if (!f) throw SensorUnavailable(lib_->path() + " does not export " + name + ": not an NVML library, or a driver older than 418");
    return f;
  }

  std::unique_ptr<DynamicLibrary> lib_;
  abi::InitFn init_ = nullptr;
  abi::ShutdownFn shutdown_ = nullptr;
  abi::CountFn count_ = nullptr;
  abi::HandleFn handle_ = nullptr;
  abi::PowerFn power_ = nullptr;
  abi::EnergyFn energy_ = nullptr;
  abi::NameFn name_ = nullptr;
  abi::ErrorStringFn error_string_ = nullptr;
};

}  // namespace

struct NvmlSensor::State {
  std::unique_ptr<NvmlLibrary> nvml;
  Clock clock;
  double sample_period_s = kNvmlSamplePeriodS;

  struct Gpu {
    std::string domain;
    std::string model;
    abi::Device device = nullptr;
    bool energy_counter = false;
    // Power integration (GPUs without an energy counter).
    double integrated_j = 0.0;
    double last_t_s = 0.0;
    double last_w = 0.0;
    bool has_sample = false;
  };
  std::vector<Gpu> gpus;

  std::mutex mutex;
  std::uint64_t failures = 0;
  std::string last_failure;

  unsigned long long read_energy_mj(const Gpu& g) const {
    unsigned long long mj = 0;
    const abi::Return rc = nvml->energy_mj(g.device, mj);
    if (rc != abi::kSuccess) throw SensorUnavailable("nvmlDeviceGetTotalEnergyConsumption(" + g.domain + ") failed: " + nvml->describe(rc));
    return mj;
  }

  // Caller holds `mutex`. Adds the trapezoid between the previous sample and this one.
  void sample_locked() {
    const double t = clock();
    for (auto& g : gpus) {
      if (g.energy_counter) continue;
      unsigned mw = 0;
      const abi::Return rc = nvml->power_mw(g.device, mw);
      if (rc != abi::kSuccess) throw SensorUnavailable("nvmlDeviceGetPowerUsage(" + g.domain + ") failed: " + nvml->describe(rc));
      const double w = static_cast<double>(mw) / 1000.0;
      if (g.has_sample) g.integrated_j += 0.5 * (g.last_w + w) * (t - g.last_t_s);
      g.last_t_s = t;
      g.last_w = w;
      g.has_sample = true;
    }
  }
};

namespace {

class NvmlWindow : public Window {
 public:
  explicit NvmlWindow(std::shared_ptr<NvmlSensor::State> state) : state_(std::move(state)) {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->sample_locked();
    for (const auto& g : state_->gpus) {
      start_mj_.push_back(g.energy_counter ? state_->read_energy_mj(g) : 0);
      start_j_.push_back(g.integrated_j);
    }
    failures_at_start_ = state_->failures;
    start_s_ = state_->clock();
  }

  Reading stop() override {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->sample_locked();
    Reading r;
    for (size_t i = 0; i < state_->gpus.size(); ++i) {
      const auto& g = state_->gpus[i];
      const double j = g.energy_counter ? static_cast<double>(state_->read_energy_mj(g) - start_mj_[i]) / 1000.0
                                        : g.integrated_j - start_j_[i];
      r.domains.push_back({g.domain, j});
      r.top_level.push_back(g.domain);
    }
    r.duration_s = state_->clock() - start_s_;
    if (state_->failures != failures_at_start_) {
      throw SensorUnavailable("nvml: " + std::to_string(state_->failures - failures_at_start_) +
                              " power sample(s) failed during the window (last: " + state_->last_failure +
                              "); the integrated energy would have gaps and is not reported");
    }
    return r;
  }

 private:
  std::shared_ptr<NvmlSensor::State> state_;
  std::vector<unsigned long long> start_mj_;
  std::vector<double> start_j_;
  std::uint64_t failures_at_start_ = 0;
  double start_s_ = 0.0;
};

}  // namespace

NvmlSensor::NvmlSensor(NvmlConfig config) : state_(std::make_shared<State>()) {
  state_->nvml = std::make_unique<NvmlLibrary>(config.library);
  state_->clock = config.clock ? config.clock : steady_clock_s();
  state_->sample_period_s = config.sample_period_s;
  const unsigned n = state_->nvml->count();
  if (n == 0) throw SensorUnavailable("NVML (" + config.library + ") sees no NVIDIA GPU");
  bool any_sampled = false;
  for (unsigned i = 0; i < n; ++i) {
    State::Gpu g;
    g.domain = "gpu-" + std::to_string(i);
    g.device = state_->nvml->device(i);
    g.model = state_->nvml->device_name(g.device);
    unsigned long long mj = 0;
    const abi::Return rc = config.force_power_sampling ? abi::kNotSupported : state_->nvml->energy_mj(g.device, mj);
    if (rc == abi::kSuccess) {
      g.energy_counter = true;
    } else if (rc == abi::kNotSupported) {
      unsigned mw = 0;
      const abi::Return prc = state_->nvml->power_mw(g.device, mw);
      if (prc != abi::kSuccess) {
        throw SensorUnavailable(g.domain + " (" + g.model + ") has neither an energy counter nor a power reading (" +
                                state_->nvml->describe(prc) + "); it cannot be measured");
      }
      any_sampled = true;
    } else if (rc == abi::kNoPermission) {
      throw PermissionDenied("NVML refused the energy counter of " + g.domain + ": " + state_->nvml->describe(rc) +
                             "; run as a user with access to /dev/nvidia*");
    } else {
      throw SensorUnavailable("nvmlDeviceGetTotalEnergyConsumption(" + g.domain + ") failed: " + state_->nvml->describe(rc));
    }
    state_->gpus.push_back(std::move(g));
  }
  if (any_sampled && config.background_sampling) {
    auto state = state_;
    sampler_ = std::make_unique<PeriodicThread>(config.sample_period_s, [state] {
      std::lock_guard<std::mutex> lock(state->mutex);
      try {
        state->sample_locked();
      } catch (const std::exception& e) {
        ++state->failures;
        state->last_failure = e.what();
      }
    });
  }
}

NvmlSensor::~NvmlSensor() { sampler_.reset(); }

std::vector<std::string> NvmlSensor::domains() const {
  std::vector<std::string> names;
  for (const auto& g : state_->gpus) names.push_back(g.domain);
  return names;
}

double NvmlSensor::resolution_j() const {
  // A power sample resolves 1 mW over one sample period.
  double worst = 0.0;
  for (const auto& g : state_->gpus)
    worst = std::max(worst, g.energy_counter ? kNvmlCounterResolutionJ : 1e-3 * state_->sample_period_s);
  return worst;
}

std::vector<bool> NvmlSensor::uses_energy_counter() const {
  std::vector<bool> out;
  for (const auto& g : state_->gpus) out.push_back(g.energy_counter);
  return out;
}

std::string NvmlSensor::assumptions() const {
  std::string sampled;
  for (const auto& g : state_->gpus)
    if (!g.energy_counter) sampled += (sampled.empty() ? "" : ", ") + g.domain;
  if (sampled.empty()) return {};
  std::ostringstream out;
  out << sampled << ": no energy counter; energy integrated from nvmlDeviceGetPowerUsage sampled every "
      << state_->sample_period_s << " s (trapezoidal rule); the driver updates that reading about every "
      << kNvmlUpdateIntervalS << " s";
  return out.str();
}

void NvmlSensor::sample() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->sample_locked();
}

std::unique_ptr<Window> NvmlSensor::start() { return std::make_unique<NvmlWindow>(state_); }

Probe probe_nvml(const SensorOptions& options) {
  try {
    NvmlConfig config;
    config.library = options.nvml_library;
    config.background_sampling = false;
    NvmlSensor sensor(config);
    const auto counters = sensor.uses_energy_counter();
    std::ostringstream note;
    note << counters.size() << " GPU(s): ";
    for (size_t i = 0; i < counters.size(); ++i)
      note << (i ? ", " : "") << "gpu-" << i << (counters[i] ? " energy counter" : " power sampling");
    return {true, note.str()};
  } catch (const Error& e) {
    return {false, e.what()};
  }
}

}  // namespace dle::sensors
