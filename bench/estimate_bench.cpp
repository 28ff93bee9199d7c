// Speed of the estimator, in process: VGG16 against the shipped default predictors. No benchmark shares
// anything between iterations (no cache): each one-shot iteration prepares the network from scratch.
//   BM_Vgg16EnergyJ            a prepared Estimator, total J at one batch size (batch-size sweeps)
//   BM_Vgg16EstimateResult     the per-layer result (rows, shares, notes) from a prepared Estimator
//   BM_Vgg16PrepareEstimator   building that Estimator: configurations plus the fast path's affine columns
//   BM_Vgg16EstimateOneShot    estimate(InferredArchitecture, ...): a network seen for the first time, per-layer
//                              result, as the CLI does
//   BM_Vgg16Infer              shape inference of VGG16
//   BM_Vgg16InferAndEstimate   infer + one-shot estimate: what an architecture search pays per new candidate
//   BM_LoadDefaultPredictors   reading and checking the predictor JSON file
// Goal (issue 6): <= 20 us per VGG16 estimate. Numbers and machine: docs/estimate.md.
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "architectures/architecture.hpp"
#include "estimate/estimate.hpp"
#include "estimate/predictor_files.hpp"
#include "predict/predictor_set.hpp"

namespace {

using namespace dle;

const predict::PredictorSet& predictors() {
  static const predict::PredictorSet p = predict::PredictorSet::load(estimate::locate_predictors("").path);
  return p;
}

void BM_Vgg16EnergyJ(benchmark::State& state) {
  const estimate::Estimator est(arch::zoo("vgg16"), predictors());
  const std::int64_t batch = state.range(0);
  for (auto _ : state) benchmark::DoNotOptimize(est.energy_j(batch));
}
BENCHMARK(BM_Vgg16EnergyJ)->Arg(1)->Arg(64);

void BM_Vgg16EstimateResult(benchmark::State& state) {
  const estimate::Estimator est(arch::zoo("vgg16"), predictors());
  for (auto _ : state) benchmark::DoNotOptimize(est.estimate(state.range(0)));
}
BENCHMARK(BM_Vgg16EstimateResult)->Arg(1)->Arg(64);

void BM_Vgg16PrepareEstimator(benchmark::State& state) {
  const auto inferred = arch::infer(arch::zoo("vgg16"), 1);
  for (auto _ : state) {
    const estimate::Estimator est(inferred, predictors());
    benchmark::DoNotOptimize(est.missing_types().size());
  }
}
BENCHMARK(BM_Vgg16PrepareEstimator);

void BM_Vgg16EstimateOneShot(benchmark::State& state) {
  const auto inferred = arch::infer(arch::zoo("vgg16"), state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(estimate::estimate(inferred, predictors()));
}
BENCHMARK(BM_Vgg16EstimateOneShot)->Arg(1)->Arg(64);

void BM_Vgg16Infer(benchmark::State& state) {
  const auto a = arch::zoo("vgg16");
  for (auto _ : state) benchmark::DoNotOptimize(arch::infer(a, 1));
}
BENCHMARK(BM_Vgg16Infer);

// What an architecture search pays per new candidate: shape inference, then the one-shot per-layer estimate.
void BM_Vgg16InferAndEstimate(benchmark::State& state) {
  const auto a = arch::zoo("vgg16");
  for (auto _ : state) benchmark::DoNotOptimize(estimate::estimate(arch::infer(a, state.range(0)), predictors()));
}
BENCHMARK(BM_Vgg16InferAndEstimate)->Arg(1);

void BM_LoadDefaultPredictors(benchmark::State& state) {
  const std::string path = estimate::locate_predictors("").path;
  for (auto _ : state) benchmark::DoNotOptimize(predict::PredictorSet::load(path));
}
BENCHMARK(BM_LoadDefaultPredictors);

}  // namespace

BENCHMARK_MAIN();
