#pragma once
// The layer-execution interface. dle_collect codes against it; the only implementation lives in the
// LibTorch plugin (src/collect/torch/, libdlenergy_torch.so), loaded with dlopen by plugin_loader.hpp, so
// that neither this header nor the dlenergy executable ever sees <torch/torch.h>.
//
// Both sides are built by the same compiler from the same headers (the plugin is part of this project), so
// C++ types may cross the boundary; kExecutorAbiVersion guards against a stale plugin from another build.
#include <cstdint>
#include <memory>
#include <string>

#include "architectures/architecture.hpp"
#include "core/errors.hpp"
#include "layers/layer_config.hpp"

namespace dle::collect {

// Bumped whenever Executor or Prepared change; the plugin refuses (returns nullptr) on a mismatch.
inline constexpr int kExecutorAbiVersion = 1;

// A failure while building or running a layer (LibTorch out of memory, an unsupported shape). The runner
// records it as a `skipped` measurement with this message as the note, instead of stopping the collection.
class ExecutionError : public Error {
 public:
  using Error::Error;
};

// One layer or network, built and given its input: each run_pass() is one forward pass, in eval mode under
// torch::NoGradGuard, on a float32 random input created once by prepare_*().
class Prepared {
 public:
  virtual ~Prepared() = default;
  virtual void run_pass() = 0;
  // Bytes actually held: input + output of one pass + weights (float32).
  virtual std::int64_t bytes_needed() const = 0;
};

class Executor {
 public:
  virtual ~Executor() = default;
  // Intra-op threads (at::set_num_threads). The inter-op pool is sized once, on the first call, to the same
  // number (LibTorch allows setting it only once per process).
  virtual void set_threads(int n) = 0;
  virtual int threads() const = 0;
  virtual int interop_threads() const = 0;
  virtual std::string libtorch_version() const = 0;  // "1.13.0"
  // What LibTorch reports about its parallel backend and BLAS (one line, from at::show_config()).
  virtual std::string blas_info() const = 0;
  // Throws ConfigError for an instance whose spec does not fit its input, ExecutionError for LibTorch failures.
  virtual std::unique_ptr<Prepared> prepare_layer(const layers::LayerInstance& instance) = 0;
  // The whole network as a torch::nn::Sequential (ReLU in place as specified, Dropout = identity in eval).
  virtual std::unique_ptr<Prepared> prepare_network(const arch::Architecture& architecture, std::int64_t batch) = 0;
};

}  // namespace dle::collect

// The plugin's one exported symbol. Returns nullptr when abi_version differs from the plugin's.
extern "C" dle::collect::Executor* dlenergy_torch_create(int abi_version);
