// dlenergy validate: predicted vs measured energy of whole networks and of their layers measured alone.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>

#include "cli/commands.hpp"
#include "core/errors.hpp"
#include "estimate/predictor_files.hpp"
#include "estimate/validate.hpp"
#include "estimate/validate_report.hpp"
#include "predict/predictor_set.hpp"
#include "report/output_directory.hpp"
#include "storage/store.hpp"

namespace dle::cli {

namespace {
struct ValidateOptions {
  std::string db;
  std::string predictors;
  std::string format;
  std::string plots;
  std::string energy = "gross";
  std::string repeats = "median";
  std::string record;
};

void run_validate(const ValidateOptions& o) {
  if (!o.plots.empty()) report::prepare_plot_directory(o.plots, "--plots");
  const auto where = estimate::locate_predictors(o.predictors);
  auto predictors = predict::PredictorSet::load(where.path);
  const auto store = open_database_to_read(o.db);
  std::vector<storage::MeasurementRecord> ms;
  for (auto kind : {storage::MeasurementKind::kNetwork, storage::MeasurementKind::kNetworkLayer}) {
    storage::MeasurementFilter f;
    f.kind = kind;
    auto part = store.measurements(f);
    ms.insert(ms.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
  }
  estimate::ValidationOptions vo;
  vo.basis = o.energy == "net" ? estimate::EnergyBasis::kNet : estimate::EnergyBasis::kGross;
  vo.repeats = o.repeats == "mean" ? estimate::RepeatStatistic::kMean : estimate::RepeatStatistic::kMedian;
  const auto result = estimate::validate(ms, predictors, vo);

  estimate::ValidationContext ctx;
  ctx.db_path = o.db;
  ctx.predictors.path = where.path;
  ctx.predictors.found_by = where.found_by;
  ctx.predictors.source = predictors.source();
  ctx.basis = vo.basis;
  ctx.repeats = vo.repeats;
  // Nothing to compare is an error, not an empty report that exits 0 (a script would take it for a pass).
  if (result.networks.empty() && result.layers.empty())
    throw ConfigError("database '" + o.db +
                      "' holds no usable whole-network or layer-of-network measurements, so there is nothing to "
                      "validate; measure some with `dlenergy collect --architectures` or import the paper's with "
                      "`dlenergy import codecarbon`");
  if (o.format == "json")
    estimate::write_validation_json(std::cout, result, ctx);
  else
    estimate::write_validation_table(std::cout, result, ctx);
  if (!o.plots.empty())
    for (const auto& img : estimate::write_validation_plots(o.plots, result, ctx))
      std::cerr << "dlenergy: wrote " << img << "\n";
  if (!o.record.empty()) {
    // Read again under a lock and add the record to what is there now: another validate may have recorded meanwhile.
    const auto record = estimate::to_record(result, o.record);
    predict::PredictorSet::update(where.path, [&](predict::PredictorSet& set) { set.add_validation(record); });
    std::cerr << "dlenergy: recorded validation '" << o.record << "' (" << result.summary.n
              << " networks) in " << where.path << "; `dlenergy estimate` reports it\n";
  }
}
}  // namespace

void setup_validate(CLI::App& app) {
  auto opts = std::make_shared<ValidateOptions>();
  auto* sub = app.add_subcommand(
      "validate", "Compare predicted with measured energy of whole networks and of their layers measured alone.");
  sub->add_option("--db", opts->db, "Measurement database (from collect --architectures or import codecarbon)")
      ->required();
  sub->add_option("--predictors", opts->predictors,
                  "Predictor file from `dlenergy fit` (default: $DLENERGY_PREDICTORS, else the shipped "
                  "predictors/default.json)");
  add_format_option(*sub, opts->format, {"table", "json"});
  require_nonempty(
      sub->add_option("--plots", opts->plots, "Directory for predicted-vs-measured plots (PNG and SVG, via gnuplot)"));
  sub->add_option("--energy", opts->energy,
                  "Measured per-pass energy to compare: gross (window energy / passes) or net (idle subtracted)")
      ->check(CLI::IsMember({"gross", "net"}))
      ->capture_default_str();
  sub->add_option("--repeats", opts->repeats,
                  "How repeated windows of one network (or layer) and batch size are combined: median (robust to a "
                  "window hit by a counter wraparound) or mean")
      ->check(CLI::IsMember({"median", "mean"}))
      ->capture_default_str();
  sub->add_option("--record", opts->record,
                  "Store the whole-network result (overall and per batch-size range) in the predictor file under this "
                  "description, replacing an earlier record of the same description; `estimate` then reports it")
      ->check(
          [](const std::string& v) {
            const bool control = std::any_of(v.begin(), v.end(), [](char c) {
              return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
            });
            if (v.find_first_not_of(' ') == std::string::npos)
              return std::string("an empty description; say which measurements these are, e.g. \"my runs, 2026\"");
            if (control) return std::string("the description must be one line of text (estimate prints it on one line)");
            return std::string();
          },
          "one line of text");
  sub->callback([opts] { run_validate(*opts); });
}

}  // namespace dle::cli
