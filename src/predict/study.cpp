#include "predict/study.hpp"

#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/errors.hpp"
#include "predict/evaluation.hpp"
#include "report/output_directory.hpp"

extern char** environ;

namespace dle::predict {

std::vector<ModelSpec> study_candidates() {
  std::vector<ModelSpec> out;
  for (const auto& fs : study_feature_sets())
    for (int model = 0; model < 4; ++model)
      for (auto criterion : {Criterion::kAbsolute, Criterion::kRelative, Criterion::kLog}) {
        ModelSpec s;
        s.feature_set = fs;
        s.criterion = criterion;
        s.nonnegative = model == 1;
        s.polynomial = model == 2 ? Polynomial::kInteraction : model == 3 ? Polynomial::kFull : Polynomial::kNone;
        s.standard_scaler = model >= 2;
        out.push_back(s);
        if (criterion == Criterion::kLog) {  // the same per unit of work (model.hpp)
          s.per_work = true;
          out.push_back(s);
        }
      }
  return out;
}

StudyResult run_study(const TrainingSet& set, const StudySettings& settings) {
  StudyResult r;
  r.type = set.type;
  r.rows = set.configs.size();
  const Split split = split_rows(r.rows, settings.seed);
  std::vector<std::size_t> cv_rows = split.train;
  cv_rows.insert(cv_rows.end(), split.validation.begin(), split.validation.end());
  r.cv_rows = cv_rows.size();
  r.test_rows = split.test.size();
  const std::size_t folds = std::min(settings.folds, cv_rows.size());
  if (folds < 2)
    throw FitError(set.type + ": " + std::to_string(r.rows) + " configurations are too few for cross-validation; measure more");

  std::vector<ModelSpec> candidates = settings.candidates.empty() ? study_candidates() : settings.candidates;
  // A feature set naming a parameter the type does not have (log1p(stride) for linear) does not apply to it.
  candidates.erase(std::remove_if(candidates.begin(), candidates.end(),
                                  [&](const ModelSpec& spec) {
                                    try {
                                      FeatureExtractor(set.type, expand_feature_set(set.type, spec.feature_set));
                                      return false;
                                    } catch (const ConfigError&) {
                                      return true;
                                    }
                                  }),
                   candidates.end());
  const RecipeEntry* entry = settings.recipe ? settings.recipe->find(set.type) : nullptr;
  const std::vector<ModelSpec> recipe_specs = entry ? entry->specs() : std::vector<ModelSpec>{};
  for (const auto& spec : recipe_specs)
    if (std::find(candidates.begin(), candidates.end(), spec) == candidates.end()) candidates.push_back(spec);

  std::vector<std::vector<double>> cv_predictions(candidates.size());
  std::vector<std::vector<double>> test_predictions(candidates.size());
  for (std::size_t c = 0; c < candidates.size(); ++c) {
    StudyRow row;
    row.spec = candidates[c];
    try {
      const FeatureExtractor fx(set.type, model_columns(set.type, row.spec));
      const Matrix raw = fx.extract(set.configs);
      auto cv = cross_validate(set.type, row.spec, raw, set.energy_j, cv_rows, folds);
      row.cv = cv.metrics;
      cv_predictions[c] = std::move(cv.predicted_j);
      const LayerPredictor model = LayerPredictor::fit(set.type, row.spec, raw.select_rows(cv_rows), select(set.energy_j, cv_rows));
      if (!split.test.empty()) {
        test_predictions[c] = model.predict_j(raw.select_rows(split.test));
        row.test = compute_metrics(select(set.energy_j, split.test), test_predictions[c]);
      }
    } catch (const Error& e) {
      row.error = e.what();
    }
    r.ranked.push_back(std::move(row));
  }
  // The recipe's model, or of its alternatives the one fit would keep (choose_model: the lowest cross-validated
  // MAPE among those whose 0/1 features have enough rows).
  std::vector<std::size_t> recipe_rows;
  std::vector<double> recipe_cv;
  std::vector<std::string> recipe_shortfalls;
  for (const auto& spec : recipe_specs) {
    const auto it = std::find(candidates.begin(), candidates.end(), spec);
    recipe_rows.push_back(static_cast<std::size_t>(it - candidates.begin()));
    recipe_cv.push_back(r.ranked[recipe_rows.back()].cv.mape_pct);
    recipe_shortfalls.push_back(indicator_shortfall(set, spec));
  }
  if (!recipe_rows.empty()) r.ranked[recipe_rows[choose_model(recipe_cv, recipe_shortfalls)]].chosen = true;
  // Rank by CV MAPE; keep the candidate index to find the plotted model's predictions.
  std::vector<std::size_t> order(candidates.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto key = [&](std::size_t i) {
    const double m = r.ranked[i].cv.mape_pct;
    return std::isfinite(m) ? m : std::numeric_limits<double>::infinity();
  };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return key(a) < key(b); });
  std::vector<StudyRow> ranked;
  for (auto i : order) ranked.push_back(r.ranked[i]);

  std::size_t plotted = order.front();
  for (std::size_t i = 0; i < candidates.size(); ++i)
    if (r.ranked[i].chosen && r.ranked[i].error.empty()) plotted = i;
  r.ranked = std::move(ranked);
  if (!cv_predictions[plotted].empty()) {
    r.plotted_model = candidates[plotted].describe();
    r.measured_j = select(set.energy_j, cv_rows);
    r.predicted_j = cv_predictions[plotted];
    r.is_test.assign(cv_rows.size(), false);
    const auto test_measured = select(set.energy_j, split.test);
    r.measured_j.insert(r.measured_j.end(), test_measured.begin(), test_measured.end());
    r.predicted_j.insert(r.predicted_j.end(), test_predictions[plotted].begin(), test_predictions[plotted].end());
    r.is_test.insert(r.is_test.end(), test_measured.size(), true);
  }
  return r;
}

namespace {

std::string gnuplot_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

void run_gnuplot(const std::string& script) {
  pid_t pid = 0;
  std::vector<char*> argv = {const_cast<char*>("gnuplot"), const_cast<char*>(script.c_str()), nullptr};
  const int rc = posix_spawnp(&pid, "gnuplot", nullptr, nullptr, argv.data(), environ);
  if (rc == ENOENT)
    throw ConfigError("--plots needs gnuplot, which is not on PATH: install it (Debian: apt-get install gnuplot-nox) "
                      "or leave out --plots");
  if (rc != 0) throw ConfigError(std::string("cannot start gnuplot: ") + std::strerror(rc));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw ConfigError("gnuplot failed on " + script + " (exit status " +
                      std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + "); run it by hand to see why");
}

}  // namespace

std::vector<std::string> write_study_plot(const StudyResult& result, const std::string& dir, const std::string& provenance) {
  namespace fs = std::filesystem;
  report::prepare_output_directory(dir, "--plots");
  if (result.measured_j.empty()) throw FitError(result.type + ": no predictions to plot (every model failed to fit)");
  const fs::path base = fs::path(dir) / result.type;
  const std::string dat = base.string() + ".dat", gp = base.string() + ".gp";
  const std::string png = base.string() + ".png", svg = base.string() + ".svg";
  double lo = std::numeric_limits<double>::infinity(), hi = 0.0;
  {
    std::ofstream out(dat);
    if (!out) throw StorageError("cannot write " + dat);
    out << "# measured_j predicted_j set(0 = cross-validation, out of fold; 1 = held-out test)\n";
    out.precision(10);
    for (std::size_t i = 0; i < result.measured_j.size(); ++i) {
      const double m = result.measured_j[i], p = result.predicted_j[i];
      out << m << " " << p << " " << (result.is_test[i] ? 1 : 0) << "\n";
      if (m > 0) lo = std::min(lo, m), hi = std::max(hi, m);
      if (p > 0) lo = std::min(lo, p), hi = std::max(hi, p);
    }
  }
  if (!(hi > 0.0)) throw FitError(result.type + ": no positive energies to plot on log axes");
  lo /= 2.0;
  hi *= 2.0;
  {
    std::ofstream out(gp);
    if (!out) throw StorageError("cannot write " + gp);
    const std::string title = result.type + ": predicted vs measured energy per forward pass\n" + result.plotted_model;
    out << "# predicted vs measured, written by dlenergy analyze\n"
        << "set logscale xy\n"
        << "set xrange [" << lo << ":" << hi << "]\nset yrange [" << lo << ":" << hi << "]\n"
        << "set xlabel " << gnuplot_quote("energy per pass (J), " + provenance) << "\n"
        << "set ylabel \"predicted energy per pass (J)\"\n"
        << "set title " << gnuplot_quote(title) << " noenhanced\n"
        << "set key top left\nset grid\n"
        << "set style fill transparent solid 0.35 noborder\n"
        << "plot_it = \"plot [" << lo << ":" << hi << "] '+' using 1:(0.9*$1):(1.1*$1) with filledcurves lc rgb '#66aa66' title '+-10 %', "
        << "x with lines lc rgb '#228822' title 'y = x', "
        << "'" << dat << "' using 1:($3 == 0 ? $2 : 1/0) with points pt 7 ps 0.5 lc rgb '#3366cc' title 'cross-validation (out of fold)', "
        << "'" << dat << "' using 1:($3 == 1 ? $2 : 1/0) with points pt 9 ps 0.8 lc rgb '#cc3333' title 'held-out test'\"\n"
        << "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) { set terminal pngcairo size 900,700 } else { set terminal png size 900,700 }\n"
        << "set output " << gnuplot_quote(png) << "\n"
        << "eval plot_it\n"
        << "set terminal svg size 900,700 dynamic\n"
        << "set output " << gnuplot_quote(svg) << "\n"
        << "eval plot_it\n"
        << "unset output\n";
  }
  run_gnuplot(gp);
  return {png, svg};
}

}  // namespace dle::predict
