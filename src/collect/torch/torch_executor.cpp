// The LibTorch implementation of collect::Executor, built as the dlopen plugin libdlenergy_torch.so. This is
// the only translation unit in dlenergy that includes <torch/torch.h>.
#include <torch/torch.h>
#include <torch/version.h>

#include <ATen/Parallel.h>
#include <ATen/Version.h>

#include <dlfcn.h>

#include <algorithm>
#include <sstream>

#include "architectures/architecture.hpp"
#include "collect/executor.hpp"
#include "core/errors.hpp"
#include "layers/layer_spec.hpp"

namespace dle::collect {
namespace {

using namespace dle::layers;

constexpr std::int64_t kFloatBytes = 4;  // float32

// The one place where LibTorch modules are built from plain layer specs.
torch::nn::AnyModule build_module(const LayerSpec& spec) {
  return std::visit(
      [](const auto& s) -> torch::nn::AnyModule {
        using T = std::decay_t<decltype(s)>;
        namespace nn = torch::nn;
        if constexpr (std::is_same_v<T, Conv2dSpec>) {
          return nn::AnyModule(nn::Conv2d(nn::Conv2dOptions(s.in_channels, s.out_channels, s.kernel_size)
                                              .stride(s.stride)
                                              .padding(s.padding)
                                              .groups(s.groups)
                                              .bias(s.bias)));
        } else if constexpr (std::is_same_v<T, MaxPool2dSpec>) {
          return nn::AnyModule(
              nn::MaxPool2d(nn::MaxPool2dOptions(s.kernel_size).stride(s.effective_stride()).padding(s.padding)));
        } else if constexpr (std::is_same_v<T, AdaptiveAvgPool2dSpec>) {
          return nn::AnyModule(nn::AdaptiveAvgPool2d(
              nn::AdaptiveAvgPool2dOptions(std::vector<std::int64_t>{s.output_height, s.output_width})));
        } else if constexpr (std::is_same_v<T, LinearSpec>) {
          return nn::AnyModule(nn::Linear(nn::LinearOptions(s.in_features, s.out_features).bias(s.bias)));
        } else if constexpr (std::is_same_v<T, ReLUSpec>) {
          return nn::AnyModule(nn::ReLU(nn::ReLUOptions().inplace(s.inplace)));
        } else if constexpr (std::is_same_v<T, TanhSpec>) {
          return nn::AnyModule(nn::Tanh());
        } else if constexpr (std::is_same_v<T, SigmoidSpec>) {
          return nn::AnyModule(nn::Sigmoid());
        } else if constexpr (std::is_same_v<T, SoftmaxSpec>) {
          return nn::AnyModule(nn::Softmax(nn::SoftmaxOptions(s.dim)));
        } else if constexpr (std::is_same_v<T, DropoutSpec>) {
          return nn::AnyModule(nn::Dropout(nn::DropoutOptions(s.p)));  // identity in eval mode
        } else {
          static_assert(std::is_same_v<T, FlattenSpec>, "every LayerSpec alternative needs a module");
          return nn::AnyModule(nn::Flatten());
        }
      },
      spec);
}

// First line of a LibTorch error, without its C++ backtrace.
std::string torch_message(const c10::Error& e) {
  std::string m = e.what_without_backtrace();
  const auto nl = m.find('\n');
  return nl == std::string::npos ? m : m.substr(0, nl);
}

std::vector<std::int64_t> batched(std::int64_t batch, const Shape& per_sample) {
  std::vector<std::int64_t> s{batch};
  s.insert(s.end(), per_sample.begin(), per_sample.end());
  return s;
}

// OpenBLAS (LibTorch's BLAS on Debian, behind libblas.so.3) keeps its own thread pool, which
// at::set_num_threads does not reach: Linear layers ran on every core with --threads 1, and the pool's threads
// spin after each call, which the estimated sensor counted during the following layers (AlexNet at batch 1:
// the whole network at 15 W of CPU time while each layer alone took 7.5 W except Linear). Its own setter is
// looked up in the BLAS library LibTorch loaded; null when that BLAS is not OpenBLAS.
using OpenBlasSetThreads = void (*)(int);
using OpenBlasGetThreads = int (*)();
void* loaded_blas() {
  for (const char* name : {"libblas.so.3", "libopenblas.so.0"})
    if (void* h = dlopen(name, RTLD_NOW | RTLD_NOLOAD)) return h;
  return nullptr;
}
OpenBlasSetThreads openblas_setter() {
  void* h = loaded_blas();
  return h ? reinterpret_cast<OpenBlasSetThreads>(dlsym(h, "openblas_set_num_threads")) : nullptr;
}
OpenBlasGetThreads openblas_getter() {
  void* h = loaded_blas();
  return h ? reinterpret_cast<OpenBlasGetThreads>(dlsym(h, "openblas_get_num_threads")) : nullptr;
}

class TorchPrepared : public Prepared {
 public:
  TorchPrepared(torch::nn::Sequential module, const Shape& input, std::int64_t batch, std::int64_t bytes)
      : module_(std::move(module)), bytes_(bytes) {
    torch::NoGradGuard no_grad;
    module_->eval();
    torch::manual_seed(0);  // the same input for the same shape, run after run
    input_ = torch::randn(batched(batch, input), torch::dtype(torch::kFloat32));
  }

  void run_pass() override {
    try {
      torch::NoGradGuard no_grad;
      torch::Tensor out = module_->forward(input_);
      (void)out;
    } catch (const c10::Error& e) {
      throw ExecutionError("libtorch forward pass failed: " + torch_message(e));
    }
  }

  std::int64_t bytes_needed() const override { return bytes_; }

 private:
  torch::nn::Sequential module_;
  torch::Tensor input_;
  std::int64_t bytes_ = 0;
};

class TorchExecutor : public Executor {
 public:
  void set_threads(int n) override {
    if (n < 1) throw ConfigError("threads " + std::to_string(n) + " must be >= 1");
    at::set_num_threads(n);
    if (OpenBlasSetThreads set = openblas_setter()) set(n);
    if (!interop_set_) {
      // LibTorch accepts this once per process and only before inter-op work started.
      try {
        at::set_num_interop_threads(n);
      } catch (const c10::Error&) {
      }
      interop_set_ = true;
    }
  }
  int threads() const override { return at::get_num_threads(); }
  int interop_threads() const override { return at::get_num_interop_threads(); }
  std::string libtorch_version() const override { return TORCH_VERSION; }

  std::string blas_info() const override {
    // show_config() is a multi-line build summary; keep the lines naming the math libraries and threading,
    // and from its "Build settings" line only the BLAS/LAPACK/oneDNN/OpenMP entries (not the compiler flags).
    std::istringstream in(at::show_config());
    std::string line, out;
    auto add = [&out](const std::string& item) { out += (out.empty() ? "" : "; ") + item; };
    while (std::getline(in, line)) {
      const auto first = line.find_first_not_of(" -");
      if (first == std::string::npos) continue;
      line = line.substr(first);
      if (line.rfind("Build settings:", 0) == 0) {
        std::istringstream settings(line.substr(15));
        std::string entry;
        while (std::getline(settings, entry, ',')) {
          const auto b = entry.find_first_not_of(' ');
          if (b == std::string::npos) continue;
          entry = entry.substr(b);
          for (const char* key : {"BLAS_INFO=", "LAPACK_INFO=", "USE_MKLDNN=", "USE_OPENMP="})
            if (entry.rfind(key, 0) == 0) add(entry);
        }
      } else if (line.find("BLAS") != std::string::npos || line.find("MKL") != std::string::npos ||
                 line.find("OpenMP") != std::string::npos) {
        add(line);
      }
    }
    if (OpenBlasGetThreads get = openblas_getter()) add("OpenBLAS threads " + std::to_string(get()));
    return out.empty() ? "unknown" : out;
  }

  std::unique_ptr<Prepared> prepare_layer(const LayerInstance& inst) override {
    std::vector<std::string> problems = validate(inst.spec);
    if (problems.empty()) problems = check_input(inst.spec, inst.input);
    if (!problems.empty()) {
      for (auto& p : problems) p = type_name(inst.spec) + ": " + p;
      throw ConfigError(problems);
    }
    const Counts c = counts(inst.spec, inst.input, inst.batch, kFloatBytes);
    try {
      torch::nn::Sequential seq;
      seq->push_back(build_module(inst.spec));
      return std::make_unique<TorchPrepared>(std::move(seq), inst.input, inst.batch, c.bytes);
    } catch (const c10::Error& e) {
      throw ExecutionError("libtorch could not build " + type_name(inst.spec) + " (" + params_to_string(inst.spec) +
                           ") on input " + shape_to_string(inst.input) + " x batch " + std::to_string(inst.batch) +
                           ": " + torch_message(e));
    }
  }

  std::unique_ptr<Prepared> prepare_network(const arch::Architecture& a, std::int64_t batch) override {
    const arch::InferredArchitecture inferred = arch::infer(a, batch);  // throws ConfigError on bad shapes
    std::int64_t largest_activation = batch * elements(a.input);
    for (const auto& l : inferred.layers) largest_activation = std::max(largest_activation, batch * elements(l.output));
    const std::int64_t bytes = (batch * elements(a.input) + largest_activation + inferred.total.params) * kFloatBytes;
    try {
      torch::nn::Sequential seq;
      for (const auto& spec : a.layers) seq->push_back(build_module(spec));
      return std::make_unique<TorchPrepared>(std::move(seq), a.input, batch, bytes);
    } catch (const c10::Error& e) {
      throw ExecutionError("libtorch could not build network " + a.name + " at batch " + std::to_string(batch) + ": " +
                           torch_message(e));
    }
  }

 private:
  bool interop_set_ = false;
};

}  // namespace
}  // namespace dle::collect

extern "C" __attribute__((visibility("default"))) dle::collect::Executor* dlenergy_torch_create(int abi_version) {
  if (abi_version != dle::collect::kExecutorAbiVersion) return nullptr;
  return new dle::collect::TorchExecutor();
}
