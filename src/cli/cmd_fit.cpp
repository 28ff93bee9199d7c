// dlenergy fit: one energy predictor per layer type, written as a versioned predictor file.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <algorithm>
#include <cmath>
#include <iostream>

#include "cli/commands.hpp"
#include "core/errors.hpp"
#include "predict/recipes.hpp"
#include "predict/training_data.hpp"
#include "report/table.hpp"
#include "storage/store.hpp"

namespace dle::cli {

namespace {

struct FitOptions {
  TrainingDataFlags data;
  std::string out;
  std::string recipe = "default";
  std::string description;
};

std::string pct(double v) { return std::isfinite(v) ? report::fmt_fixed(v, 1) : "-"; }
std::string share_pct(double v) { return std::isfinite(v) ? report::fmt_fixed(100.0 * v, 1) : "-"; }
std::string r2(double v) { return std::isfinite(v) ? report::fmt_fixed(v, 4) : "-"; }

void run_fit(const FitOptions& o) {
  refuse_directory_as_file(o.out, "--out");
  refuse_overwriting_input(o.out, "--out", o.data.db, "--db");
  // The predictor file replaces its path by a rename: a device there (--out /dev/null) would be replaced.
  std::error_code ec;
  if (const auto st = std::filesystem::status(o.out, ec); std::filesystem::exists(st) && !std::filesystem::is_regular_file(st))
    throw ConfigError("--out " + o.out + " exists and is not a regular file (a device?); give the name of a file");
  const predict::Recipe& recipe = predict::recipes().get(o.recipe);
  predict::DatabaseTrainingData data = load_training_data(o.data, "fit");
  std::map<std::string, predict::TrainingSet>& sets = data.sets;
  predict::PredictorSource& source = data.source;
  std::vector<std::string>& notes = data.notes;
  if (!o.description.empty()) source.description = o.description;
  // Without --layers every type in the data is fitted that can be; one with too little data is left out with a
  // warning. A type named with --layers must be fitted.
  predict::FitOutcome fitted = predict::fit_recipe(recipe, sets, source, o.data.layers.empty());
  for (const auto& n : fitted.notes) {
    // With --layers, the recipe's other types were left out on purpose: no note for them.
    const std::string type = n.substr(0, n.find(':'));
    const auto& layers = o.data.layers;
    if (layers.empty() || std::find(layers.begin(), layers.end(), type) != layers.end()) notes.push_back(n);
  }
  fitted.predictors.save(o.out);

  const auto& src = fitted.predictors.source();
  std::cout << "recipe: " << recipe.name << " (" << recipe.description << ")\n"
            << "training energies: " << predict::energy_provenance(src) << " on " << src.cpu_model
            << (src.cores > 0 ? ", " + std::to_string(src.cores) + " cores" : std::string()) << "\n"
            << "data: " << src.description << ", hash " << src.data_hash << "\n\n";
  report::Table t({"type", "rows", "fit_rows", "model", "test_r2", "test_mape_pct", "test_within_10pct_pct",
                   "cv_r2", "cv_mape_pct"});
  t.align_right({1, 2, 4, 5, 6, 7, 8});
  for (const auto& type : fitted.predictors.types()) {
    const auto p = fitted.predictors.get(type);
    const auto& m = p->state().metrics;
    const predict::Metrics none;
    const auto& test = m.count("test") ? m.at("test") : none;
    const auto& cv = m.count("cv") ? m.at("cv") : none;
    t.add_row({type, std::to_string(p->state().training.rows), std::to_string(p->state().training.fit_rows),
               p->spec().describe(), r2(test.r2), pct(test.mape_pct), share_pct(test.within_10pct_share), r2(cv.r2),
               pct(cv.mape_pct)});
  }
  t.write_text(std::cout);
  for (const auto& n : notes) std::cout << "note: " << n << "\n";
  for (const auto& w : fitted.warnings) std::cerr << "dlenergy: warning: " << w << "\n";
  std::cout << "\nwrote " << o.out << " (" << fitted.predictors.types().size()
            << " predictors; energies per forward pass in J, from " << predict::energy_provenance(src) << " data)\n";
}

}  // namespace

void add_training_data_flags(CLI::App& sub, TrainingDataFlags& f, const std::string& purpose) {
  auto* db = sub.add_option("--db", f.db, "Database of measurements (from collect or import)");
  auto* ts = sub.add_option("--training-sets", f.training_sets,
                            "Directory of the paper's training sets (<layer>.csv, cpu_energy in kWh per pass) "
                            "instead of a database");
  db->excludes(ts);
  sub.add_option("--layers", f.layers, "Layer types to " + purpose + " (comma-separated; default: all in the data)")
      ->delimiter(',');
  sub.add_option("--repeats", f.repeats, "Combine the repeats of a configuration by their mean or median")
      ->check(CLI::IsMember({"mean", "median"}))
      ->capture_default_str();
  sub.add_flag("--include-network-layers", f.include_network_layers,
               "Also " + purpose + " layers measured at real networks' shapes (kind network_layer)");
}

predict::DatabaseTrainingData load_training_data(const TrainingDataFlags& f, const std::string& command) {
  if (f.db.empty() && f.training_sets.empty())
    throw UsageError(command + " needs its training data: give --db FILE or --training-sets DIR");
  if (f.training_sets.empty()) {
    const storage::Store store = open_database_to_read(f.db);
    auto data = predict::load_training_data(
        store, {f.layers, f.include_network_layers, predict::repeat_reduction_from_string(f.repeats)});
    for (const auto& t : f.layers)
      if (!data.sets.count(t)) throw ConfigError("--layers " + t + ": the data holds no ok " + t + " measurements");
    return data;
  }
  predict::DatabaseTrainingData data;
  data.sets = predict::load_paper_training_sets(f.training_sets);
  data.source = predict::paper_training_sets_source(f.training_sets);
  if (!f.layers.empty()) {
    std::map<std::string, predict::TrainingSet> kept;
    for (const auto& t : f.layers) {
      auto it = data.sets.find(t);
      if (it == data.sets.end()) throw ConfigError("--layers " + t + ": no " + t + ".csv in " + f.training_sets);
      kept.emplace(t, std::move(it->second));
    }
    data.sets = std::move(kept);
  }
  return data;
}

void setup_fit(CLI::App& app) {
  auto o = std::make_shared<FitOptions>();
  auto* sub = app.add_subcommand("fit", "Fit one energy predictor per layer type and write a predictor file.");
  add_training_data_flags(*sub, o->data, "train on");
  require_nonempty(sub->add_option("--out", o->out, "Predictor file to write (JSON)")->required());
  sub->add_option("--recipe", o->recipe, "Models to fit: default (chosen on relative error) or paper (Getzner et al. 2023)")
      ->check(CLI::IsMember({"default", "paper"}))
      ->capture_default_str();
  sub->add_option("--description", o->description,
                  "Where the training data came from, recorded in the file (default: the database path and its runs)");
  sub->callback([o] { run_fit(*o); });
}

}  // namespace dle::cli
