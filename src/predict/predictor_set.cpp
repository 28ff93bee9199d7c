#include "predict/predictor_set.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/errors.hpp"
#include "predict/model.hpp"

namespace dle::predict {

namespace {

using nlohmann::json;
using ordered = nlohmann::ordered_json;  // written in a readable key order; read back with json

constexpr int kSchemaVersion = 1;

ordered number_or_null(double v) { return std::isfinite(v) ? ordered(v) : ordered(nullptr); }

ordered metrics_json(const Metrics& m) {
  return ordered{{"n", m.n},
              {"r2", number_or_null(m.r2)},
              {"mse", number_or_null(m.mse_j2)},
              {"mape_pct", number_or_null(m.mape_pct)},
              {"within_10pct_share", number_or_null(m.within_10pct_share)}};
}

// model.target: what the fitted function predicts (ModelSpec::per_work).
constexpr const char* kTargetEnergy = "energy";
constexpr const char* kTargetPerWork = "energy_per_work";

ordered predictor_json(const LayerPredictor& p) {
  const auto& s = p.state();
  ordered j;
  j["features"] = s.features;
  j["model"] = {{"kind", s.spec.model_name()},
                {"feature_set", s.spec.feature_set},
                {"criterion", to_string(s.spec.criterion)},
                {"polynomial", {{"degree", s.spec.polynomial == Polynomial::kNone ? 1 : 2},
                                {"expansion", to_string(s.spec.polynomial)}}},
                {"scaler", s.spec.standard_scaler ? "standard" : "none"},
                {"intercept", s.spec.intercept},
                {"nonnegative", s.spec.nonnegative},
                {"target_scaler", s.spec.minmax_target ? "minmax" : "none"},
                {"target", s.spec.per_work ? kTargetPerWork : kTargetEnergy}};
  j["expanded_features"] = p.expanded_features();
  j["coefficients"] = s.coefficients;
  j["intercept"] = s.intercept;
  if (s.spec.standard_scaler) j["scaler"] = {{"mean", s.scaler_mean}, {"scale", s.scaler_scale}};
  if (s.spec.minmax_target) j["target_scaler"] = {{"min", s.target_min}, {"max", s.target_max}};
  ordered metrics = ordered::object();
  for (const auto& [name, m] : s.metrics) metrics[name] = metrics_json(m);
  j["metrics"] = metrics;
  j["training"] = {{"rows", s.training.rows},
                   {"fit_rows", s.training.fit_rows},
                   {"test_rows", s.training.test_rows},
                   {"energy_min_j", s.training.energy_min_j},
                   {"energy_max_j", s.training.energy_max_j},
                   {"data_hash", s.training.data_hash}};
  if (!s.training.feature_ranges.empty()) {
    ordered ranges = ordered::array();
    for (const auto& [lo, hi] : s.training.feature_ranges) ranges.push_back(ordered::array({lo, hi}));
    j["training"]["feature_ranges"] = ranges;  // [min, max] per entry of "features"
  }
  return j;
}

// Reading: every access checked, every problem phrased with its JSON path.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const std::string& where, const std::string& what) const {
    throw FitError("predictor file " + file_ + ": " + where + " " + what +
                   "; the file is corrupted or was not written by `dlenergy fit`: refit it");
  }
  const json& at(const json& obj, const std::string& key, const std::string& where) const {
    if (!obj.is_object()) fail(where, "is not an object");
    auto it = obj.find(key);
    if (it == obj.end()) fail(where + "." + key, "is missing");
    return *it;
  }
  double number(const json& obj, const std::string& key, const std::string& where) const {
    const json& v = at(obj, key, where);
    if (!v.is_number()) fail(where + "." + key, "must be a number");
    return v.get<double>();
  }
  double number_or_nan(const json& obj, const std::string& key, const std::string& where) const {
    const json& v = at(obj, key, where);
    if (v.is_null()) return std::numeric_limits<double>::quiet_NaN();
    if (!v.is_number()) fail(where + "." + key, "must be a number or null");
    return v.get<double>();
  }
  std::string text(const json& obj, const std::string& key, const std::string& where) const {
    const json& v = at(obj, key, where);
    if (!v.is_string()) fail(where + "." + key, "must be a string");
    return v.get<std::string>();
  }
  bool boolean(const json& obj, const std::string& key, const std::string& where) const {
    const json& v = at(obj, key, where);
    if (!v.is_boolean()) fail(where + "." + key, "must be true or false");
    return v.get<bool>();
  }
  std::size_t count(const json& obj, const std::string& key, const std::string& where) const {
    const json& v = at(obj, key, where);
    if (!v.is_number_unsigned()) fail(where + "." + key, "must be a non-negative integer");
    return v.get<std::size_t>();
  }
  std::vector<double> numbers(const json& obj, const std::string& key, const std::string& where) const {
    const json& v = at(obj, key, where);
    if (!v.is_array()) fail(where + "." + key, "must be an array of numbers");
    std::vector<double> out;
    for (const auto& x : v) {
      if (!x.is_number()) fail(where + "." + key, "must hold only numbers");
      out.push_back(x.get<double>());
    }
    return out;
  }
  std::vector<std::string> texts(const json& obj, const std::string& key, const std::string& where) const {
    const json& v = at(obj, key, where);
    if (!v.is_array()) fail(where + "." + key, "must be an array of strings");
    std::vector<std::string> out;
    for (const auto& x : v) {
      if (!x.is_string()) fail(where + "." + key, "must hold only strings");
      out.push_back(x.get<std::string>());
    }
    return out;
  }

  Metrics metrics(const json& m, const std::string& where) const {
    Metrics out;
    out.n = count(m, "n", where);
    out.r2 = number_or_nan(m, "r2", where);
    out.mse_j2 = number_or_nan(m, "mse", where);
    out.mape_pct = number_or_nan(m, "mape_pct", where);
    out.within_10pct_share = number_or_nan(m, "within_10pct_share", where);
    return out;
  }

  LayerPredictor predictor(const std::string& type, const json& j) const {
    const std::string where = "predictors." + type;
    LayerPredictor::State s;
    s.type = type;
    s.features = texts(j, "features", where);
    const json& m = at(j, "model", where);
    const std::string mw = where + ".model";
    try {
      s.spec.feature_set = text(m, "feature_set", mw);
      s.spec.criterion = criterion_from_string(text(m, "criterion", mw));
      const json& poly = at(m, "polynomial", mw);
      s.spec.polynomial = polynomial_from_string(text(poly, "expansion", mw + ".polynomial"));
      const std::string scaler = text(m, "scaler", mw);
      if (scaler != "standard" && scaler != "none") fail(mw + ".scaler", "must be \"standard\" or \"none\"");
      s.spec.standard_scaler = scaler == "standard";
      s.spec.intercept = boolean(m, "intercept", mw);
      s.spec.nonnegative = boolean(m, "nonnegative", mw);
      const std::string target = text(m, "target_scaler", mw);
      if (target != "minmax" && target != "none") fail(mw + ".target_scaler", "must be \"minmax\" or \"none\"");
      s.spec.minmax_target = target == "minmax";
      if (m.contains("target")) {  // files written before per-work models predict energy
        const std::string what = text(m, "target", mw);
        if (what != kTargetEnergy && what != kTargetPerWork)
          fail(mw + ".target", std::string("must be \"") + kTargetEnergy + "\" or \"" + kTargetPerWork + "\"");
        s.spec.per_work = what == kTargetPerWork;
      }
    } catch (const ConfigError& e) {
      fail(mw, std::string("is invalid: ") + e.what());
    }
    s.coefficients = numbers(j, "coefficients", where);
    s.intercept = number(j, "intercept", where);
    if (s.spec.standard_scaler) {
      const json& sc = at(j, "scaler", where);
      s.scaler_mean = numbers(sc, "mean", where + ".scaler");
      s.scaler_scale = numbers(sc, "scale", where + ".scaler");
    }
    if (s.spec.minmax_target) {
      const json& t = at(j, "target_scaler", where);
      s.target_min = number(t, "min", where + ".target_scaler");
      s.target_max = number(t, "max", where + ".target_scaler");
    }
    if (j.contains("metrics")) {
      const json& ms = at(j, "metrics", where);
      if (!ms.is_object()) fail(where + ".metrics", "must be an object");
      for (auto it = ms.begin(); it != ms.end(); ++it) s.metrics[it.key()] = metrics(it.value(), where + ".metrics." + it.key());
    }
    if (j.contains("training")) {
      const json& t = at(j, "training", where);
      const std::string tw = where + ".training";
      s.training.rows = count(t, "rows", tw);
      s.training.fit_rows = count(t, "fit_rows", tw);
      s.training.test_rows = count(t, "test_rows", tw);
      s.training.energy_min_j = number(t, "energy_min_j", tw);
      s.training.energy_max_j = number(t, "energy_max_j", tw);
      s.training.data_hash = text(t, "data_hash", tw);
      if (t.contains("feature_ranges")) {
        const json& r = at(t, "feature_ranges", tw);
        if (!r.is_array()) fail(tw + ".feature_ranges", "must be an array of [min, max] pairs");
        for (const auto& pair : r) {
          if (!pair.is_array() || pair.size() != 2 || !pair[0].is_number() || !pair[1].is_number() ||
              !(pair[0].get<double>() <= pair[1].get<double>()))
            fail(tw + ".feature_ranges", "must hold [min, max] pairs of numbers with min <= max");
          s.training.feature_ranges.emplace_back(pair[0].get<double>(), pair[1].get<double>());
        }
      }
    }
    std::optional<LayerPredictor> built;
    try {
      built.emplace(std::move(s));
    } catch (const ConfigError& e) {
      fail(where, std::string("is inconsistent: ") + e.what());
    }
    // The fields the writer derives from the model must agree with it: a file edited in one place and not the
    // other describes two different models, and the reader will not guess which one was meant.
    const auto& spec = built->state().spec;
    if (m.contains("kind") && !(m["kind"].is_string() && m["kind"].get<std::string>() == spec.model_name()))
      fail(mw + ".kind", "is " + m["kind"].dump() + " but the model's fields describe \"" + spec.model_name() + "\"");
    const json& poly = at(m, "polynomial", mw);
    const int degree = spec.polynomial == Polynomial::kNone ? 1 : 2;
    if (poly.contains("degree") && !(poly["degree"].is_number_integer() && poly["degree"].get<int>() == degree))
      fail(mw + ".polynomial.degree", "is " + poly["degree"].dump() + " but expansion \"" +
                                          to_string(spec.polynomial) + "\" has degree " + std::to_string(degree));
    if (j.contains("expanded_features") && texts(j, "expanded_features", where) != built->expanded_features())
      fail(where + ".expanded_features", "does not match features and model.polynomial (expected " +
                                             std::to_string(built->expanded_features().size()) + " names: " +
                                             json(built->expanded_features()).dump() + ")");
    return std::move(*built);
  }

 private:
  std::string file_;
};

}  // namespace

struct PredictorSet::Impl {
  PredictorSource source;
  std::map<std::string, std::shared_ptr<const LayerPredictor>> predictors;
  std::vector<ValidationRecord> validations;
};

const ValidationRecord::Range* ValidationRecord::range_of(std::int64_t batch) const {
  for (const auto& r : ranges)
    if (batch >= r.batch_min && batch <= r.batch_max) return &r;
  return nullptr;
}

const std::vector<ValidationRecord>& PredictorSet::validations() const { return impl_->validations; }

void PredictorSet::add_validation(ValidationRecord record) {
  auto& v = impl_->validations;
  v.erase(std::remove_if(v.begin(), v.end(),
                         [&](const ValidationRecord& r) { return r.description == record.description; }),
          v.end());
  v.push_back(std::move(record));
}

PredictorSet::PredictorSet() : impl_(std::make_unique<Impl>()) {}
PredictorSet::PredictorSet(PredictorSet&&) noexcept = default;
PredictorSet& PredictorSet::operator=(PredictorSet&&) noexcept = default;
PredictorSet::~PredictorSet() = default;

const PredictorSource& PredictorSet::source() const { return impl_->source; }
void PredictorSet::set_source(PredictorSource source) { impl_->source = std::move(source); }

bool PredictorSet::has(const std::string& layer_type) const { return impl_->predictors.count(layer_type) != 0; }

std::vector<std::string> PredictorSet::types() const {
  std::vector<std::string> out;
  for (const auto& [t, p] : impl_->predictors) out.push_back(t);
  return out;
}

std::shared_ptr<const LayerPredictor> PredictorSet::get(const std::string& layer_type) const {
  auto it = impl_->predictors.find(layer_type);
  if (it == impl_->predictors.end()) {
    std::string list;
    for (const auto& t : types()) list += (list.empty() ? "" : ", ") + t;
    throw ConfigError("no energy predictor for layer type '" + layer_type + "'; this predictor file covers: " +
                      (list.empty() ? std::string("nothing") : list) +
                      " (fit one with `dlenergy fit`, or allow missing predictors)");
  }
  return it->second;
}

double PredictorSet::predict_j(const layers::LayerConfig& config) const { return get(config.type)->predict_j(config); }

std::string PredictorSet::model_summary(const std::string& layer_type) const { return get(layer_type)->summary(); }

void PredictorSet::put(const std::string& layer_type, std::shared_ptr<const LayerPredictor> predictor) {
  if (!predictor || predictor->type() != layer_type)
    throw Error("internal: predictor for '" + layer_type + "' given a " + (predictor ? predictor->type() : "null") + " model");
  impl_->predictors[layer_type] = std::move(predictor);
}

std::string PredictorSet::to_json_text() const {
  ordered j;
  j["schema_version"] = kSchemaVersion;
  const auto& s = impl_->source;
  j["source"] = {{"description", s.description}, {"cpu_model", s.cpu_model}, {"cores", s.cores},
                 {"sensor", s.sensor},           {"estimated", s.estimated}, {"data_hash", s.data_hash},
                 {"created_at", s.created_at},   {"recipe", s.recipe}};
  ordered preds = ordered::object();
  for (const auto& [t, p] : impl_->predictors) preds[t] = predictor_json(*p);
  j["predictors"] = preds;
  if (!impl_->validations.empty()) {
    ordered vs = ordered::array();
    for (const auto& v : impl_->validations) {
      ordered ranges = ordered::array();
      for (const auto& r : v.ranges)
        ranges.push_back({{"batch_size_min", r.batch_min},
                          {"batch_size_max", r.batch_max},
                          {"networks", r.networks},
                          {"mape_pct", r.mape_pct},
                          {"mean_signed_error_pct", r.mean_signed_error_pct},
                          {"within_10pct_share", r.within_10pct_share}});
      vs.push_back({{"description", v.description},
                    {"sensor", v.sensor},
                    {"estimated", v.estimated},
                    {"recorded_at", v.recorded_at},
                    {"networks", v.networks},
                    {"mape_pct", v.mape_pct},
                    {"within_10pct_share", v.within_10pct_share},
                    {"batch_ranges", ranges}});
    }
    j["validations"] = vs;
  }
  return j.dump(2) + "\n";
}

void PredictorSet::save(const std::string& given) const {
  namespace fs = std::filesystem;
  const std::string text = to_json_text();
  std::error_code ec;
  if (fs::is_directory(given, ec))
    throw ConfigError("predictor file " + given + " is a directory; give a file name (e.g. " + given + "/predictors.json)");
  // A link is followed: its target is what the user means by the file (the link stays a link).
  const std::string path = fs::is_symlink(fs::symlink_status(given, ec)) ? fs::weakly_canonical(given, ec).string() : given;
  const auto status = fs::status(path, ec);
  if (fs::exists(status) && !fs::is_regular_file(status))
    throw ConfigError("predictor file " + given + " exists and is not a regular file (a device or a socket?); give "
                      "the name of a file to write");
  // Write beside the target and rename, so a failure never leaves half a predictor file; the name is the
  // process's own, so two writers never share a temporary file.
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const auto fail = [&](const std::string& message) {
    std::filesystem::remove(tmp, ec);  // never leave the half-written file behind
    throw StorageError(message);
  };
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw StorageError("cannot write predictor file " + path + ": check that its directory exists and is writable");
    out << text;
    out.flush();
    if (!out) fail("writing predictor file " + path + " failed (disk full?); it was left as it was");
  }
  if (fs::exists(status)) fs::permissions(tmp, status.permissions(), ec);  // keep the file's mode (e.g. 600)
  std::filesystem::rename(tmp, path, ec);
  if (ec) fail("cannot move " + tmp + " to " + path + ": " + ec.message() + "; " + path + " was left as it was");
}

void PredictorSet::update(const std::string& path, const std::function<void(PredictorSet&)>& change) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path target = fs::is_symlink(fs::symlink_status(path, ec)) ? fs::weakly_canonical(path, ec) : fs::path(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw StorageError("cannot open the directory of predictor file " + path + " to lock it: " + std::strerror(errno));
  while (::flock(fd, LOCK_EX) != 0 && errno == EINTR) {
  }
  try {
    PredictorSet set = load(path);
    change(set);
    set.save(path);
  } catch (...) {
    ::close(fd);  // closing releases the lock
    throw;
  }
  ::close(fd);
}

PredictorSet PredictorSet::parse(const std::string& text, const std::string& origin) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    throw FitError("predictor file " + origin + " is not valid JSON (" + e.what() +
                   "); it is corrupted or truncated: refit it with `dlenergy fit`");
  } catch (const json::exception& e) {  // out_of_range 406: a number literal beyond a double's range
    throw FitError("predictor file " + origin + " holds a value it cannot read (" + e.what() +
                   "); a number beyond about 1.8e308 is not a double: correct it or refit the file with `dlenergy fit`");
  }
  Reader r(origin);
  if (!j.is_object()) r.fail("the top level", "is not a JSON object");
  const json& version = r.at(j, "schema_version", "the top level");
  if (!version.is_number_integer())
    r.fail("schema_version", "must be an integer");
  if (version.get<long long>() != kSchemaVersion)
    throw FitError("predictor file " + origin + " has schema_version " + version.dump() + "; this dlenergy reads version " +
                   std::to_string(kSchemaVersion) + ": refit it with this dlenergy's `dlenergy fit`, or use the "
                   "dlenergy that wrote it");
  PredictorSet set;
  const json& src = r.at(j, "source", "the top level");
  PredictorSource s;
  s.description = r.text(src, "description", "source");
  s.cpu_model = r.text(src, "cpu_model", "source");
  const json& cores = r.at(src, "cores", "source");
  if (!cores.is_number_integer() || cores.get<long long>() < 0 || cores.get<long long>() > 1000000)
    r.fail("source.cores", "must be a whole number of cores >= 0 (0 = unknown)");
  s.cores = cores.get<int>();
  s.sensor = r.text(src, "sensor", "source");
  s.estimated = r.boolean(src, "estimated", "source");
  s.data_hash = r.text(src, "data_hash", "source");
  s.created_at = r.text(src, "created_at", "source");
  s.recipe = r.text(src, "recipe", "source");
  set.set_source(std::move(s));
  const json& preds = r.at(j, "predictors", "the top level");
  if (!preds.is_object()) r.fail("predictors", "must be an object keyed by layer type");
  for (auto it = preds.begin(); it != preds.end(); ++it) {
    if (!layers::is_configurable(it.key()))
      r.fail("predictors." + it.key(), "names a layer type without a measurement schema");
    set.put(it.key(), std::make_shared<const LayerPredictor>(r.predictor(it.key(), it.value())));
  }
  if (j.contains("validations")) {
    const json& vs = j.at("validations");
    if (!vs.is_array()) r.fail("validations", "must be an array");
    for (std::size_t i = 0; i < vs.size(); ++i) {
      const std::string where = "validations[" + std::to_string(i) + "]";
      const json& v = vs[i];
      if (!v.is_object()) r.fail(where, "must be an object");
      ValidationRecord rec;
      rec.description = r.text(v, "description", where);
      rec.sensor = r.text(v, "sensor", where);
      rec.estimated = r.boolean(v, "estimated", where);
      rec.recorded_at = r.text(v, "recorded_at", where);
      const auto count = [&](const json& obj, const std::string& key, const std::string& w) {
        const json& n = r.at(obj, key, w);
        if (!n.is_number_unsigned() && !(n.is_number_integer() && n.get<long long>() >= 0))
          r.fail(w + "." + key, "must be a whole number >= 0");
        return n.get<std::size_t>();
      };
      rec.networks = count(v, "networks", where);
      rec.mape_pct = r.number(v, "mape_pct", where);
      rec.within_10pct_share = r.number(v, "within_10pct_share", where);
      const json& ranges = r.at(v, "batch_ranges", where);
      if (!ranges.is_array()) r.fail(where + ".batch_ranges", "must be an array");
      for (std::size_t k = 0; k < ranges.size(); ++k) {
        const std::string rw = where + ".batch_ranges[" + std::to_string(k) + "]";
        ValidationRecord::Range range;
        range.batch_min = static_cast<std::int64_t>(count(ranges[k], "batch_size_min", rw));
        range.batch_max = static_cast<std::int64_t>(count(ranges[k], "batch_size_max", rw));
        if (range.batch_min < 1 || range.batch_max < range.batch_min)
          r.fail(rw, "needs 1 <= batch_size_min <= batch_size_max");
        range.networks = count(ranges[k], "networks", rw);
        range.mape_pct = r.number(ranges[k], "mape_pct", rw);
        range.mean_signed_error_pct = r.number(ranges[k], "mean_signed_error_pct", rw);
        range.within_10pct_share = r.number(ranges[k], "within_10pct_share", rw);
        rec.ranges.push_back(range);
      }
      set.add_validation(std::move(rec));
    }
  }
  return set;
}

PredictorSet PredictorSet::load(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw ConfigError("predictor file " + path + " does not exist; create one with `dlenergy fit --db FILE --out " + path + "`");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("cannot read predictor file " + path + ": check its permissions");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), path);
}

}  // namespace dle::predict
