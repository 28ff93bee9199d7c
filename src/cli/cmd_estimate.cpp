// dlenergy estimate: a network's predicted energy per forward pass, layer by layer, without running it.
// Loads no LibTorch: an architecture, a predictor JSON file and arithmetic.
#include <CLI/CLI.hpp>
#include <iostream>
#include <optional>

#include "architectures/architecture.hpp"
#include "cli/commands.hpp"
#include "estimate/estimate.hpp"
#include "estimate/estimate_report.hpp"
#include "estimate/predictor_files.hpp"
#include "predict/predictor_set.hpp"

namespace dle::cli {

namespace {
struct EstimateOptions {
  std::string arch;
  std::string model;
  long long batch_size = 1;
  std::string predictors;
  long long images = 0;
  std::optional<double> carbon_intensity;
  bool allow_missing = false;
  std::string format;
};

void run_estimate(const EstimateOptions& o) {
  const arch::Architecture a = arch::resolve(o.arch, o.model);
  const auto inferred = arch::infer(a, o.batch_size);
  const auto where = estimate::locate_predictors(o.predictors);
  const auto predictors = predict::PredictorSet::load(where.path);

  estimate::EstimateOptions eo;
  eo.images = o.images;
  eo.carbon_g_per_kwh = o.carbon_intensity;
  eo.allow_missing = o.allow_missing;
  const auto result = estimate::estimate(inferred, predictors, eo);
  if (!result.complete()) {
    std::cerr << "dlenergy: warning: " << a.name << ": no energy for layers of type(s)";
    for (const auto& t : result.missing_types) std::cerr << " " << t;
    std::cerr << " (marked 'not estimated'; " << where.path << " covers";
    for (const auto& t : predictors.types()) std::cerr << " " << t;
    std::cerr << "); the total leaves them out\n";
  }
  // The table carries its warnings itself; JSON and CSV readers get them on stderr too.
  if (o.format != "table")
    for (const auto& w : result.warnings) std::cerr << "dlenergy: warning: " << w << "\n";
  const auto info = estimate::describe_predictors(predictors, where.path, where.found_by, result);
  if (o.format == "json")
    estimate::write_estimate_json(std::cout, result, info);
  else if (o.format == "csv")
    estimate::write_estimate_csv(std::cout, result, info);
  else
    estimate::write_estimate_table(std::cout, result, info);
}
}  // namespace

void setup_estimate(CLI::App& app) {
  auto opts = std::make_shared<EstimateOptions>();
  auto* sub = app.add_subcommand(
      "estimate", "Predict a network's energy per forward pass, layer by layer, from per-layer predictors.");
  add_network_flags(*sub, opts->arch, opts->model, opts->batch_size, "Batch size of one forward pass (>= 1)");
  sub->add_option("--predictors", opts->predictors,
                  "Predictor file from `dlenergy fit` (default: $DLENERGY_PREDICTORS, else the shipped "
                  "predictors/default.json)");
  whole_in_range(sub->add_option("--images", opts->images,
                                 "Also report the energy for this many images (full passes plus one last, smaller pass)"),
                 1, 1LL << 50);
  finite_in_range(sub->add_option("--carbon-intensity", opts->carbon_intensity,
                                  "Grid carbon intensity in g CO2 per kWh; adds grams of CO2"),
                  0.0, 1e5);
  sub->add_flag("--allow-missing", opts->allow_missing,
                "Estimate the other layers when a layer type has no predictor; mark those rows 'not estimated'");
  add_format_option(*sub, opts->format, {"table", "json", "csv"});
  sub->callback([opts] { run_estimate(*opts); });
}

}  // namespace dle::cli
