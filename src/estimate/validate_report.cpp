#include "estimate/validate_report.hpp"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "core/errors.hpp"
#include "report/output_directory.hpp"
#include "report/table.hpp"

extern char** environ;

namespace dle::estimate {

using json = nlohmann::ordered_json;
namespace fs = std::filesystem;

namespace {

std::string basis_text(EnergyBasis b) {
  return b == EnergyBasis::kNet ? "net (idle baseline subtracted)" : "gross (energy_per_pass_j)";
}

std::string repeats_text(RepeatStatistic s) { return s == RepeatStatistic::kMean ? "mean" : "median"; }

std::string num(double v, int sig = 4) { return std::isnan(v) ? "n/a" : report::fmt_sig(v, sig); }
std::string signed_pct(double v) {
  if (std::isnan(v)) return "n/a";
  return (v >= 0 ? "+" : "") + report::fmt_fixed(v, 1) + " %";
}
std::string pct(double v) { return std::isnan(v) ? "n/a" : report::fmt_fixed(v, 1) + " %"; }

json metrics_json(const Metrics& m) {
  auto j_or_null = [](double v) -> json { return std::isnan(v) ? json(nullptr) : json(v); };
  return {{"n", m.n},
          {"r2", j_or_null(m.r2)},
          {"mape_pct", j_or_null(m.mape_pct)},
          {"within_10pct_share", j_or_null(m.within_10pct_share)},
          {"mean_signed_error_pct", j_or_null(m.mean_signed_error_pct)},
          {"max_abs_error_pct", j_or_null(m.max_abs_error_pct)}};
}

std::string measured_label(const ValidationResult& r) {
  std::string s;
  for (const auto& x : r.sensors) s += (s.empty() ? "" : ", ") + x;
  if (s.empty()) s = "none";
  return s + (r.any_estimated ? " (some energies ESTIMATED, not measured)" : "");
}

void write_metrics_table(std::ostream& out, const std::string& key,
                         const std::vector<std::pair<std::string, Metrics>>& ms) {
  report::Table t({key, "n", "r2", "mape_pct", "within_10pct", "mean_signed_error_pct", "max_abs_error_pct"});
  t.align_right({1, 2, 3, 4, 5, 6});
  for (const auto& [name, m] : ms)
    t.add_row({name, std::to_string(m.n), num(m.r2), pct(m.mape_pct), pct(100.0 * m.within_10pct_share),
               signed_pct(m.mean_signed_error_pct), pct(m.max_abs_error_pct)});
  t.write_text(out);
}

void write_metrics_table(std::ostream& out, const std::string& key, const std::map<std::string, Metrics>& ms) {
  write_metrics_table(out, key, std::vector<std::pair<std::string, Metrics>>(ms.begin(), ms.end()));
}

std::string range_label(const BatchRange& b) { return std::to_string(b.lo) + "-" + std::to_string(b.hi); }

}  // namespace

void write_validation_table(std::ostream& out, const ValidationResult& r, const ValidationContext& c) {
  out << "validation: " << provenance_label(c.predictors.source) << " vs measured energy per forward pass\n";
  out << "predictors: " << c.predictors.path << " (" << c.predictors.found_by << "); fitted on "
      << (c.predictors.source.cpu_model.empty() ? "unknown CPU" : c.predictors.source.cpu_model) << ", sensor "
      << c.predictors.source.sensor << "\n";
  out << "database:   " << c.db_path << " (" << r.measurements_used << " measurements used; sensor "
      << measured_label(r) << "; energy " << basis_text(c.basis) << ")\n\n";

  out << "whole networks (measured: " << repeats_text(c.repeats) << " of the repeats)\n";
  if (r.networks.empty()) {
    out << "  no whole-network measurements (kind network) in the database\n";
  } else {
    report::Table t({"architecture", "batch_size", "repeats", "measured_j", "predicted_j", "error_pct"});
    t.align_right({1, 2, 3, 4, 5});
    for (const auto& n : r.networks)
      t.add_row({n.architecture, std::to_string(n.batch), std::to_string(n.repeats), num(n.measured_j),
                 num(n.predicted_j) + (n.complete ? "" : " (incomplete)"), signed_pct(n.error_pct)});
    t.write_text(out);
    out << "\nper architecture\n";
    write_metrics_table(out, "architecture", r.architectures);
    out << "\nper batch-size range\n";
    std::vector<std::pair<std::string, Metrics>> ranges;
    for (const auto& b : r.batch_ranges) ranges.emplace_back(range_label(b), b.metrics);
    write_metrics_table(out, "batch_size", ranges);
    out << "\nsummary: R2 " << num(r.summary.r2) << ", MAPE " << pct(r.summary.mape_pct) << ", within +-10 %: "
        << pct(100.0 * r.summary.within_10pct_share) << " of " << r.summary.n << " network/batch-size pairs\n";
  }
  out << "\nlayers of networks measured alone, per type\n";
  if (r.layer_types.empty())
    out << "  no layer-of-network measurements (kind network_layer) in the database\n";
  else
    write_metrics_table(out, "type", r.layer_types);
  if (!r.layer_types_extrapolated.empty()) {
    // The types with extrapolated layers, split by the estimate's label.
    out << "\nthe same, inside vs outside the ranges the predictors were trained on (types with layers outside)\n";
    std::vector<std::pair<std::string, Metrics>> split;
    for (const auto& [type, m] : r.layer_types_extrapolated) {
      const auto in = r.layer_types_inside.find(type);
      if (in != r.layer_types_inside.end()) split.emplace_back(type + " inside", in->second);
      split.emplace_back(type + " extrapolated", m);
    }
    write_metrics_table(out, "type", split);
  }
  if (!r.zero_work_types.empty()) {
    out << "0 J by definition (not predicted), measured alone:";
    std::string sep = " ";
    for (const auto& [type, z] : r.zero_work_types) {
      out << sep << type << " " << num(z.mean_measured_j * 1e3) << " mJ on average (n = " << z.n;
      if (z.max_share_pct > 0) out << ", at most " << pct(z.max_share_pct) << " of its network";
      out << ")";
      sep = "; ";
    }
    out << "\n";
  }

  out << "\nadditivity: sum of the layers measured alone vs the whole network\n";
  if (r.additivity.empty()) {
    out << "  needs both kinds (network and network_layer) at the same architecture and batch size\n";
  } else {
    report::Table t({"architecture", "batch_size", "network_j", "layers_sum_j", "layers", "difference_pct",
                     "predicted_j"});
    t.align_right({1, 2, 3, 4, 5, 6});
    for (const auto& a : r.additivity)
      t.add_row({a.architecture, std::to_string(a.batch), num(a.network_j), num(a.layers_sum_j),
                 std::to_string(a.layers_measured) + "/" + std::to_string(a.layers_expected),
                 signed_pct(a.difference_pct), num(a.predicted_j)});
    t.write_text(out);
  }
  if (!r.skipped.empty()) {
    out << "\nnot compared:\n";
    for (const auto& s : r.skipped) out << "  - " << s << "\n";
  }
}

void write_validation_json(std::ostream& out, const ValidationResult& r, const ValidationContext& c) {
  json j;
  j["networks"] = json::array();
  for (const auto& n : r.networks)
    j["networks"].push_back({{"architecture", n.architecture},
                             {"batch_size", n.batch},
                             {"repeats", n.repeats},
                             {"measured_j", n.measured_j},
                             {"predicted_j", n.predicted_j},
                             {"error_pct", n.error_pct},
                             {"complete", n.complete}});
  j["architectures"] = json::object();
  for (const auto& [name, m] : r.architectures) j["architectures"][name] = metrics_json(m);
  j["batch_ranges"] = json::array();
  for (const auto& b : r.batch_ranges) {
    json m = {{"batch_size_min", b.lo}, {"batch_size_max", b.hi}};
    m.update(metrics_json(b.metrics));
    j["batch_ranges"].push_back(m);
  }
  j["layer_types"] = json::object();
  for (const auto& [type, m] : r.layer_types) j["layer_types"][type] = metrics_json(m);
  j["layer_types_inside"] = json::object();
  for (const auto& [type, m] : r.layer_types_inside) j["layer_types_inside"][type] = metrics_json(m);
  j["layer_types_extrapolated"] = json::object();
  for (const auto& [type, m] : r.layer_types_extrapolated) j["layer_types_extrapolated"][type] = metrics_json(m);
  j["zero_work_types"] = json::object();
  for (const auto& [type, z] : r.zero_work_types)
    j["zero_work_types"][type] = {{"n", z.n}, {"mean_measured_j", z.mean_measured_j}, {"max_share_pct", z.max_share_pct}};
  j["layers"] = json::array();
  for (const auto& l : r.layers)
    j["layers"].push_back({{"architecture", l.architecture},
                           {"layer_index", l.layer_index},
                           {"type", l.type},
                           {"batch_size", l.batch},
                           {"repeats", l.repeats},
                           {"measured_j", l.measured_j},
                           {"predicted_j", l.predicted_j},
                           {"error_pct", l.error_pct},
                           {"status", l.status},
                           {"extrapolated", l.extrapolated}});
  j["additivity"] = json::array();
  for (const auto& a : r.additivity)
    j["additivity"].push_back({{"architecture", a.architecture},
                               {"batch_size", a.batch},
                               {"network_j", a.network_j},
                               {"layers_sum_j", a.layers_sum_j},
                               {"layers_measured", a.layers_measured},
                               {"layers_expected", a.layers_expected},
                               {"difference_pct", a.difference_pct},
                               {"predicted_j", a.predicted_j}});
  j["summary"] = metrics_json(r.summary);
  j["predictors"] = {{"file", c.predictors.path},
                     {"found_by", c.predictors.found_by},
                     {"cpu_model", c.predictors.source.cpu_model},
                     {"sensor", c.predictors.source.sensor},
                     {"estimated", c.predictors.source.estimated},
                     {"recipe", c.predictors.source.recipe},
                     {"description", c.predictors.source.description}};
  j["database"] = {{"file", c.db_path},
                   {"measurements_used", r.measurements_used},
                   {"sensors", r.sensors},
                   {"any_estimated", r.any_estimated},
                   {"energy", c.basis == EnergyBasis::kNet ? "net" : "gross"},
                   {"repeats", repeats_text(c.repeats)}};
  j["skipped"] = r.skipped;
  out << j.dump(2) << "\n";
}

namespace {


void run_gnuplot(const std::string& script) {
  pid_t pid = 0;
  std::string prog = "gnuplot";
  std::vector<char*> argv = {prog.data(), const_cast<char*>(script.c_str()), nullptr};
  if (::posix_spawnp(&pid, "gnuplot", nullptr, nullptr, argv.data(), environ) != 0)
    throw ConfigError("could not start gnuplot for " + script + "; install gnuplot (Debian: gnuplot-nox) or leave out --plots");
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw StorageError("gnuplot failed on " + script + " (exit status " + std::to_string(WEXITSTATUS(status)) +
                       "); run `gnuplot " + script + "` to see why");
}

// One data block per series (gnuplot "index"), columns: measured_j predicted_j.
void write_plot(const fs::path& dir, const std::string& stem, const std::string& title,
                const std::map<std::string, std::vector<std::pair<double, double>>>& series,
                std::vector<std::string>& images) {
  const fs::path dat = dir / (stem + ".dat");
  const fs::path gp = dir / (stem + ".gp");
  double lo = 1e300, hi = 0.0;
  {
    std::ofstream d(dat);
    if (!d) throw StorageError("cannot write " + dat.string() + "; check that the directory is writable");
    for (const auto& [name, pts] : series) {
      d << "# " << name << "\n";
      for (const auto& [m, p] : pts) {
        d << report::fmt_sig(m, 10) << " " << report::fmt_sig(p, 10) << "\n";
        lo = std::min({lo, m, p});
        hi = std::max({hi, m, p});
      }
      d << "\n\n";
    }
  }
  lo = lo / 1.5;
  hi = hi * 1.5;
  std::ofstream g(gp);
  if (!g) throw StorageError("cannot write " + gp.string() + "; check that the directory is writable");
  auto plot_cmd = [&](std::ostream& o) {
    o << "set title '" << title << "' noenhanced\n"
      << "set xlabel 'measured energy per forward pass (J)'\nset ylabel 'predicted energy per forward pass (J)'\n"
      << "set logscale xy\nset grid\nset key top left noenhanced\nset size square\n"
      << "set xrange [" << lo << ":" << hi << "]\nset yrange [" << lo << ":" << hi << "]\n"
      << "plot x title 'predicted = measured' lc rgb 'black', 1.1*x title '+-10 %' dt 2 lc rgb 'gray', "
         "0.9*x notitle dt 2 lc rgb 'gray'";
    int i = 0;
    for (const auto& s : series)
      o << ", '" << dat.string() << "' index " << i++ << " using 1:2 with points pt 7 ps 1.2 title '"
        << s.first << "'";
    o << "\n";
  };
  g << "# predicted vs measured (dlenergy validate); rerun with: gnuplot " << gp.string() << "\n";
  g << "set terminal pngcairo size 900,900\nset output '" << (dir / (stem + ".png")).string() << "'\n";
  plot_cmd(g);
  g << "set terminal svg size 900,900\nset output '" << (dir / (stem + ".svg")).string() << "'\n";
  plot_cmd(g);
  g.close();
  run_gnuplot(gp.string());
  images.push_back((dir / (stem + ".png")).string());
  images.push_back((dir / (stem + ".svg")).string());
}

}  // namespace

std::vector<std::string> write_validation_plots(const std::string& dir, const ValidationResult& r,
                                                const ValidationContext& c) {
  report::prepare_plot_directory(dir, "--plots");
  const fs::path d = fs::absolute(dir);
  // gnuplot strings are single-quoted in the script.
  if (d.string().find('\'') != std::string::npos)
    throw ConfigError("plot directory '" + dir + "' contains a single quote, which gnuplot scripts cannot hold; choose another");
  const std::string what = provenance_label(c.predictors.source);
  std::vector<std::string> images;
  std::map<std::string, std::vector<std::pair<double, double>>> nets, layer_series;
  for (const auto& n : r.networks) nets[n.architecture].emplace_back(n.measured_j, n.predicted_j);
  for (const auto& l : r.layers)
    if (l.predicted_j > 0.0) layer_series[l.type].emplace_back(l.measured_j, l.predicted_j);
  if (!nets.empty())
    write_plot(d, "networks", "whole networks: " + what + " vs measured (MAPE " + pct(r.summary.mape_pct) + ")", nets,
               images);
  if (!layer_series.empty())
    write_plot(d, "layers", "layers of networks measured alone: " + what + " vs measured", layer_series, images);
  return images;
}

}  // namespace dle::estimate
