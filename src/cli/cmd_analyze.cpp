// dlenergy analyze: the feature-set study. For each layer type, every feature set x model x criterion is
// cross-validated and ranked by MAPE; the recipe's choice is marked.
#include <CLI/CLI.hpp>
#include <cmath>
#include <iostream>
#include <algorithm>
#include <map>

#include "cli/commands.hpp"
#include "core/errors.hpp"
#include "predict/recipes.hpp"
#include "predict/study.hpp"
#include "predict/training_data.hpp"
#include "report/output_directory.hpp"
#include "report/table.hpp"

namespace dle::cli {

namespace {

struct AnalyzeOptions {
  TrainingDataFlags data;
  std::string format;
  std::string plots;
  std::string recipe = "default";
  std::size_t folds = 10;
  std::uint32_t seed = 1234;
  std::size_t top = 0;
};

// Fixed decimals, but a diverging model's 1e19 % stays readable.
std::string num(double v, int decimals) {
  if (!std::isfinite(v)) return "-";
  return std::fabs(v) < 1e6 ? report::fmt_fixed(v, decimals) : report::fmt_sig(v, 3);
}

std::vector<std::string> header(bool with_type) {
  std::vector<std::string> h;
  if (with_type) h = {"type", "energies", "sensor"};
  for (const char* c : {"rank", "chosen", "features", "model", "criterion", "cv_mape_pct", "cv_within_10pct_pct",
                        "cv_r2", "test_mape_pct", "test_within_10pct_pct", "test_r2"})
    h.emplace_back(c);
  return h;
}

// A candidate that could not be fitted has no rank: "failed" (the note under the table says why).
std::vector<std::string> row(const predict::StudyRow& r, std::size_t rank) {
  return {r.error.empty() ? std::to_string(rank) : "failed",
          r.chosen ? "*" : "",
          r.spec.feature_set,
          r.spec.model_name(),
          predict::to_string(r.spec.criterion),
          num(r.cv.mape_pct, 1),
          num(100.0 * r.cv.within_10pct_share, 1),
          num(r.cv.r2, 4),
          num(r.test.mape_pct, 1),
          num(100.0 * r.test.within_10pct_share, 1),
          num(r.test.r2, 4)};
}

void run_analyze(const AnalyzeOptions& o) {
  if (!o.plots.empty()) report::prepare_plot_directory(o.plots, "--plots");
  const predict::Recipe& recipe = predict::recipes().get(o.recipe);
  predict::DatabaseTrainingData data = load_training_data(o.data, "analyze");
  const std::map<std::string, predict::TrainingSet>& sets = data.sets;
  const predict::PredictorSource& source = data.source;
  const std::vector<std::string>& notes = data.notes;
  if (sets.empty()) throw ConfigError("no layer measurements to analyse: the data holds no ok measurements of kind layer");
  const std::string provenance = predict::energy_provenance(source);

  predict::StudySettings settings;
  settings.folds = o.folds;
  settings.seed = o.seed;
  settings.recipe = &recipe;

  const bool csv = o.format == "csv";
  report::Table all(header(true));
  if (!csv) {
    std::cout << "Feature-set study: energies per forward pass " << provenance << " on " << source.cpu_model << "\n"
              << "data: " << source.description << "\n"
              << "protocol: seed " << o.seed << ", 90 % cross-validated in " << o.folds
              << " folds (out-of-fold MAPE ranks the models), 10 % held out as test; '*' = the " << recipe.name
              << " recipe's choice\n";
    for (const auto& n : notes) std::cout << "note: " << n << "\n";
  }
  std::size_t fitted_anywhere = 0;
  std::string why_not;  // the first failure, for the error when nothing could be fitted
  for (const auto& [type, set] : sets) {
    const predict::StudyResult result = predict::run_study(set, settings);
    std::size_t failed = 0;
    for (const auto& r : result.ranked)
      if (!r.error.empty()) {
        if (why_not.empty()) why_not = r.error;
        ++failed;
      }
    fitted_anywhere += result.ranked.size() - failed;
    report::Table t(header(false));
    t.align_right({0, 5, 6, 7, 8, 9, 10});
    for (std::size_t i = 0; i < result.ranked.size(); ++i) {
      const auto& r = result.ranked[i];
      if (o.top && i >= o.top && !r.chosen) continue;
      auto cells = row(r, i + 1);
      t.add_row(cells);
      cells.insert(cells.begin(), {type, source.estimated ? "estimated" : "measured", source.sensor});
      all.add_row(cells);
    }
    if (!csv) {
      const std::string heading = type + ": " + std::to_string(result.rows) + " configurations (" +
                                  std::to_string(result.cv_rows) + " cross-validated, " +
                                  std::to_string(result.test_rows) + " test), energies " + provenance;
      if (o.format == "markdown") {
        std::cout << "\n### " << heading << "\n\n";
        t.write_markdown(std::cout);
      } else {
        std::cout << "\n" << heading << "\n";
        t.write_text(std::cout);
      }
      for (const auto& r : result.ranked)
        if (r.chosen && !r.error.empty()) std::cout << "note: the recipe's model failed: " << r.error << "\n";
      if (failed > 0) {
        // Why, by reason (the most frequent first, at most three shown); the candidate's own name is taken out of
        // its message, so that one reason shared by many candidates is counted once.
        std::map<std::string, std::size_t> reasons;
        for (const auto& r : result.ranked) {
          if (r.error.empty()) continue;
          std::string why = r.error;
          const std::string name = r.spec.describe();
          if (const auto at = why.find(name); at != std::string::npos) why.replace(at, name.size(), "the model");
          ++reasons[why];
        }
        std::vector<std::pair<std::size_t, std::string>> by_count;
        for (const auto& [why, n] : reasons) by_count.emplace_back(n, why);
        std::stable_sort(by_count.begin(), by_count.end(), [](const auto& x, const auto& y) { return x.first > y.first; });
        std::cout << "note: " << failed << " of " << result.ranked.size()
                  << " candidates could not be fitted and are not ranked (\"failed\"):";
        for (std::size_t k = 0; k < by_count.size() && k < 3; ++k)
          std::cout << (k ? ";" : "") << " " << by_count[k].first << " x " << by_count[k].second;
        if (by_count.size() > 3) std::cout << "; and " << (by_count.size() - 3) << " other reasons";
        std::cout << "\n";
      }
    }
    if (!o.plots.empty() && failed < result.ranked.size()) {
      const auto files = predict::write_study_plot(result, o.plots, provenance);
      if (!csv) std::cout << "plot: " << files[0] << ", " << files[1] << " (" << result.plotted_model << ")\n";
    }
  }
  if (csv) all.write_csv(std::cout);
  // A study in which nothing could be fitted is not a result, whatever the table shows.
  if (fitted_anywhere == 0)
    throw ConfigError("no candidate model could be fitted for any layer type; the first reason: " + why_not);
}

}  // namespace

void setup_analyze(CLI::App& app) {
  auto o = std::make_shared<AnalyzeOptions>();
  auto* sub = app.add_subcommand(
      "analyze", "Compare feature sets, models and fitting criteria per layer type by cross-validated error.");
  add_training_data_flags(*sub, o->data, "study");
  add_format_option(*sub, o->format, {"table", "markdown", "csv"});
  require_nonempty(sub->add_option("--plots", o->plots, "Write predicted-vs-measured plots (PNG and SVG, via gnuplot) into DIR"));
  whole_in_range(sub->add_option("--folds", o->folds, "Cross-validation folds")->capture_default_str(), 2, 1000);
  whole_in_range(sub->add_option("--seed", o->seed, "Seed of the shuffle before the 90/10 split (numpy RandomState compatible)")
                     ->capture_default_str(),
                 0, 4294967295LL);
  sub->add_option("--recipe", o->recipe, "Recipe whose choice is marked: default or paper")
      ->check(CLI::IsMember({"default", "paper"}))
      ->capture_default_str();
  whole_in_range(sub->add_option("--top", o->top, "Show only the best N models per type (the chosen one always; 0 = all)")
                     ->capture_default_str(),
                 0, 1'000'000);
  sub->callback([o] { run_analyze(*o); });
}

}  // namespace dle::cli
