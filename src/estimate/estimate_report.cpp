#include "estimate/estimate_report.hpp"

#include <nlohmann/json.hpp>

#include "report/table.hpp"

namespace dle::estimate {

using json = nlohmann::ordered_json;

PredictorsInfo describe_predictors(const predict::PredictorSet& predictors, const std::string& path,
                                   const std::string& found_by, const EstimateResult& result) {
  PredictorsInfo p;
  p.path = path;
  p.found_by = found_by;
  p.source = predictors.source();
  for (const auto& l : result.layers)
    if (l.status == LayerStatus::kPredicted && p.models.count(l.type) == 0)
      p.models[l.type] = predictors.model_summary(l.type);
  p.validations = predictors.validations();
  return p;
}

std::string validation_text(const predict::ValidationRecord& v, std::int64_t batch) {
  std::string out = v.description + " (" + (v.sensor.empty() ? std::string("unknown sensor") : v.sensor) +
                    (v.estimated ? ", ESTIMATED energies" : "") + ", " + std::to_string(v.networks) +
                    (v.networks == 1 ? " network" : " networks") + "): MAPE " + report::fmt_fixed(v.mape_pct, 1) + " %";
  if (const auto* r = v.range_of(batch)) {
    out += "; at batch sizes " + std::to_string(r->batch_min) + "-" + std::to_string(r->batch_max) + ": MAPE " +
           report::fmt_fixed(r->mape_pct, 1) + " %, mean signed error " + (r->mean_signed_error_pct >= 0 ? "+" : "") +
           report::fmt_fixed(r->mean_signed_error_pct, 1) + " % (" + std::to_string(r->networks) +
           (r->networks == 1 ? " network)" : " networks)");
  } else {
    out += "; none measured in the batch-size range of " + std::to_string(batch);
  }
  return out;
}

std::string provenance_label(const predict::PredictorSource& source) {
  return source.estimated ? "predicted (from estimated training data)" : "predicted";
}

namespace {

std::string hardware_line(const predict::PredictorSource& s) {
  std::string out = s.cpu_model.empty() ? "unknown CPU" : s.cpu_model;
  if (s.cores > 0) out += ", " + std::to_string(s.cores) + (s.cores == 1 ? " core" : " cores");
  out += "; sensor " + (s.sensor.empty() ? std::string("unknown") : s.sensor);
  if (s.estimated) out += " (ESTIMATED energies, not measured)";
  return out;
}

// Breaks `text` at spaces into lines of at most `width` characters, continuation lines indented by `indent`.
std::string wrap(const std::string& text, std::size_t width, std::size_t indent) {
  std::string out, line;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    const std::string word = text.substr(start, end - start);
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      out += line + "\n" + std::string(indent, ' ');
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
    start = end + 1;
  }
  return out + line;
}

std::string pct(double share) { return report::fmt_fixed(100.0 * share, 1) + " %"; }

json predictors_json(const PredictorsInfo& p, std::int64_t batch) {
  json models = json::object();
  for (const auto& [t, m] : p.models) models[t] = m;
  json validations = json::array();
  for (const auto& v : p.validations) {
    const auto* r = v.range_of(batch);
    validations.push_back(
        {{"description", v.description},
         {"sensor", v.sensor},
         {"estimated", v.estimated},
         {"recorded_at", v.recorded_at},
         {"networks", v.networks},
         {"mape_pct", v.mape_pct},
         {"within_10pct_share", v.within_10pct_share},
         {"batch_range", r ? json{{"batch_size_min", r->batch_min},
                                  {"batch_size_max", r->batch_max},
                                  {"networks", r->networks},
                                  {"mape_pct", r->mape_pct},
                                  {"mean_signed_error_pct", r->mean_signed_error_pct},
                                  {"within_10pct_share", r->within_10pct_share}}
                           : json(nullptr)}});
  }
  return {{"file", p.path},
          {"found_by", p.found_by},
          {"description", p.source.description},
          {"cpu_model", p.source.cpu_model},
          {"cores", p.source.cores},
          {"sensor", p.source.sensor},
          {"estimated", p.source.estimated},
          {"recipe", p.source.recipe},
          {"created_at", p.source.created_at},
          {"data_hash", p.source.data_hash},
          {"models", models},
          {"validations", validations}};
}

}  // namespace

void write_estimate_table(std::ostream& out, const EstimateResult& r, const PredictorsInfo& p) {
  const std::string label = provenance_label(p.source);
  out << r.architecture << " at batch size " << r.batch << ": " << label << " energy of one forward pass\n";
  out << "predictors: " << p.path << " (" << p.found_by;
  if (!p.source.recipe.empty()) out << ", recipe " << p.source.recipe;
  out << ")\n";
  if (!p.source.description.empty()) out << "  trained on: " << wrap(p.source.description, 100, 14) << "\n";
  out << "  valid for:  " << hardware_line(p.source) << "\n";
  for (const auto& v : p.validations) out << "  validated:  " << wrap(validation_text(v, r.batch), 100, 14) << "\n";
  report::Table t({"index", "type", "macs", "energy_j", "share", "status"});
  t.align_right({0, 2, 3, 4});
  for (const auto& l : r.layers) {
    const bool has_energy = l.status != LayerStatus::kNotEstimated;
    t.add_row({std::to_string(l.index), l.type, report::fmt_grouped(l.macs),
               has_energy ? report::fmt_sig(l.energy_j, 4) : "-", has_energy ? pct(l.share) : "-",
               l.status == LayerStatus::kPredicted && l.note.empty() ? to_string(l.status)
               : l.status == LayerStatus::kPredicted                  ? "predicted: " + l.note
                                                                      : l.note});
  }
  t.add_row({"total", "", report::fmt_grouped(r.macs), report::fmt_sig(r.energy_j, 4), pct(r.energy_j > 0 ? 1.0 : 0.0),
             r.complete() ? label : label + ", INCOMPLETE"});
  t.write_text(out);
  out << "total (" << label << ", per forward pass of " << r.batch << (r.batch == 1 ? " image" : " images")
      << "): " << report::fmt_sig(r.energy_j, 4) << " J = " << report::fmt_sig(r.energy_wh, 4) << " Wh";
  if (r.co2_g) out << " = " << report::fmt_sig(*r.co2_g, 4) << " g CO2 at " << report::fmt_sig(*r.carbon_g_per_kwh, 4) << " g/kWh";
  out << "\n";
  if (r.images) {
    const auto& im = *r.images;
    out << "for " << im.images << " images (" << label << "): " << report::fmt_sig(im.energy_j, 4) << " J = "
        << report::fmt_sig(im.energy_wh, 4) << " Wh";
    if (im.co2_g) out << " = " << report::fmt_sig(*im.co2_g, 4) << " g CO2";
    out << "; " << im.full_passes << " passes at batch size " << r.batch;
    if (im.last_batch > 0) out << " + 1 pass at batch size " << im.last_batch;
    out << "\n";
  }
  for (const auto& w : r.warnings) out << "warning: " << w << "\n";
  if (!r.complete()) {
    out << "INCOMPLETE: no energy for the not-estimated layers (types:";
    for (const auto& m : r.missing_types) out << " " << m;
    out << "); the total leaves them out\n";
  }
}

void write_estimate_csv(std::ostream& out, const EstimateResult& r, const PredictorsInfo& p) {
  const std::string label = provenance_label(p.source);
  out << "# " << r.architecture << " batch_size=" << r.batch << ": " << label << " energy per forward pass\n";
  out << "# predictors: " << p.path << " (" << p.found_by << "); " << hardware_line(p.source) << "\n";
  for (const auto& v : p.validations) out << "# validated: " << validation_text(v, r.batch) << "\n";
  report::Table t({"index", "type", "macs", "energy_j", "share", "status", "note"});
  auto num = [](double v) { return report::fmt_sig(v, 10); };
  for (const auto& l : r.layers) {
    const bool has_energy = l.status != LayerStatus::kNotEstimated;
    t.add_row({std::to_string(l.index), l.type, report::fmt_int(l.macs), has_energy ? num(l.energy_j) : "",
               has_energy ? num(l.share) : "", to_string(l.status), l.note});
  }
  // The total's and the images' extra figures go in the note as key=value pairs joined by ';', so the file stays
  // one table: energy_wh, then co2_g and carbon_intensity_g_per_kwh when an intensity was given.
  std::string total_note = "energy_wh=" + num(r.energy_wh);
  if (r.co2_g) total_note += ";co2_g=" + num(*r.co2_g) + ";carbon_intensity_g_per_kwh=" + num(*r.carbon_g_per_kwh);
  const std::string status = r.complete() ? label : label + " (incomplete)";
  t.add_row({"total", "", report::fmt_int(r.macs), num(r.energy_j), r.energy_j > 0 ? "1" : "0", status, total_note});
  if (r.images) {
    const auto& im = *r.images;
    std::string note = "images=" + std::to_string(im.images) + ";passes=" + std::to_string(im.passes) +
                       ";last_batch_size=" + std::to_string(im.last_batch) + ";energy_wh=" + num(im.energy_wh);
    if (im.co2_g) note += ";co2_g=" + num(*im.co2_g);
    t.add_row({"images", "", "", num(im.energy_j), "", status, note});
  }
  t.write_csv(out);
}

void write_estimate_json(std::ostream& out, const EstimateResult& r, const PredictorsInfo& p) {
  json j;
  j["architecture"] = r.architecture;
  j["batch_size"] = r.batch;
  j["predictors"] = predictors_json(p, r.batch);
  j["layers"] = json::array();
  for (const auto& l : r.layers) {
    const bool has_energy = l.status != LayerStatus::kNotEstimated;
    json row = {{"index", l.index},
                {"type", l.type},
                {"macs", l.macs},
                {"energy_j", has_energy ? json(l.energy_j) : json(nullptr)},
                {"share", has_energy ? json(l.share) : json(nullptr)},
                {"status", to_string(l.status)}};
    row["note"] = l.note;  // "" when there is nothing to say: every row has every key
    row["extrapolated"] = l.extrapolated;
    j["layers"].push_back(std::move(row));
  }
  j["total"] = {{"energy_j", r.energy_j},
                {"energy_wh", r.energy_wh},
                {"macs", r.macs},
                {"provenance", provenance_label(p.source)},
                {"complete", r.complete()}};
  if (!r.complete()) j["total"]["not_estimated_types"] = r.missing_types;
  if (!r.warnings.empty()) j["warnings"] = r.warnings;
  if (r.co2_g) j["total"]["co2_g"] = *r.co2_g;
  if (r.carbon_g_per_kwh) j["carbon_intensity_g_per_kwh"] = *r.carbon_g_per_kwh;
  if (r.images) {
    const auto& im = *r.images;
    j["images"] = {{"images", im.images},         {"passes", im.passes},       {"full_passes", im.full_passes},
                   {"last_batch_size", im.last_batch}, {"energy_j", im.energy_j}, {"energy_wh", im.energy_wh}};
    if (im.co2_g) j["images"]["co2_g"] = *im.co2_g;
  }
  out << j.dump(2) << "\n";
}

}  // namespace dle::estimate
