#include "predict/features.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>

#include "core/errors.hpp"

namespace dle::predict {

namespace {

using layers::Counts;

// The paper's `macs` column, per type (checked against every row of its training sets): Conv2d and Linear
// count the bias as one more MAC per output element (= our FLOPs - MACs), MaxPool2d half the window
// comparisons rounded down, activations one per element.
const std::map<std::string, std::function<double(const Counts&)>>& paper_macs_table() {
  static const std::map<std::string, std::function<double(const Counts&)>> t = {
      {"conv2d", [](const Counts& c) { return static_cast<double>(c.flops - c.macs); }},
      {"linear", [](const Counts& c) { return static_cast<double>(c.flops - c.macs); }},
      {"maxpool2d", [](const Counts& c) { return static_cast<double>(c.ops / 2); }},
      {"relu", [](const Counts& c) { return static_cast<double>(c.ops); }},
      {"sigmoid", [](const Counts& c) { return static_cast<double>(c.ops); }},
      {"tanh", [](const Counts& c) { return static_cast<double>(c.ops); }},
      {"softmax", [](const Counts& c) { return static_cast<double>(c.ops); }},
  };
  return t;
}

struct GroupDef {
  FeatureInfo info;
  std::function<std::vector<std::string>(const std::string& type)> columns;
};

const std::vector<GroupDef>& group_defs() {
  static const std::vector<GroupDef> g = {
      {{"base", "every schema parameter of the type (layers::config_params), batch_size first"},
       [](const std::string& t) { return layers::config_params(t); }},
      {{"log1p", "log1p of every schema parameter"},
       [](const std::string& t) {
         std::vector<std::string> out;
         for (const auto& p : layers::config_params(t)) out.push_back("log1p(" + p + ")");
         return out;
       }},
      {{"macs", "the layer's work: MACs (conv2d, linear), comparisons (maxpool2d), elements (activations)"},
       [](const std::string&) { return std::vector<std::string>{"macs"}; }},
      {{"log1p_macs", "log1p(macs)"}, [](const std::string&) { return std::vector<std::string>{"log1p(macs)"}; }},
      {{"bytes", "bytes moved: input + output + weights, float32"},
       [](const std::string&) { return std::vector<std::string>{"bytes"}; }},
      {{"log1p_bytes", "log1p(bytes)"}, [](const std::string&) { return std::vector<std::string>{"log1p(bytes)"}; }},
      {{"batch_size", "the batch size alone"}, [](const std::string&) { return std::vector<std::string>{"batch_size"}; }},
      {{"paper_macs", "the paper's macs column (bias counted as a MAC; maxpool2d comparisons / 2)"},
       [](const std::string&) { return std::vector<std::string>{"paper_macs"}; }},
      {{"log1p_io", "log1p(inputs) and log1p(outputs): input and output elements of the batch"},
       [](const std::string&) { return std::vector<std::string>{"log1p(inputs)", "log1p(outputs)"}; }},
      {{"fresh", "fresh_outputs: output elements written to freshly mapped memory (0 in place)"},
       [](const std::string&) { return std::vector<std::string>{"fresh_outputs"}; }},
      {{"traffic", "traffic: bytes through write-allocate caches (in place 8, out of place 12 per activation element)"},
       [](const std::string&) { return std::vector<std::string>{"traffic"}; }},
      {{"log1p_stride", "log1p(stride) (conv2d, maxpool2d)"},
       [](const std::string&) { return std::vector<std::string>{"log1p(stride)"}; }},
      {{"log1p_kernel", "log1p(kernel_size) (conv2d, maxpool2d)"},
       [](const std::string&) { return std::vector<std::string>{"log1p(kernel_size)"}; }},
      {{"log1p_blocked_macs",
        "log1p(blocked_macs) (conv2d): MACs with channels rounded up to 16-float SIMD blocks"},
       [](const std::string&) { return std::vector<std::string>{"log1p(blocked_macs)"}; }},
      {{"narrow_input",
        "narrow_input (conv2d): 1 for fewer than 16 input channels (direct first-layer kernels), else 0"},
       [](const std::string&) { return std::vector<std::string>{"narrow_input"}; }},
      {{"aligned_rows",
        "aligned_rows (linear): 1 for weight rows a multiple of 4 KiB long (one L1 cache set per column), else 0"},
       [](const std::string&) { return std::vector<std::string>{"aligned_rows"}; }},
  };
  return g;
}

std::string group_names() {
  std::string out;
  for (const auto& g : group_defs()) out += (out.empty() ? "" : ", ") + g.info.name;
  return out;
}

}  // namespace

double blocked_macs(const layers::LayerConfig& config, const layers::Counts& counts) {
  const auto block = [](double channels) { return std::ceil(channels / kSimdBlockChannels) * kSimdBlockChannels; };
  const double in = config.get("in_channels");
  const double out = config.get("out_channels");
  const double in_blocked = in < kSimdBlockChannels ? in : block(in);
  return static_cast<double>(counts.ops) * (in_blocked / in) * (block(out) / out);
}

double narrow_input(const layers::LayerConfig& config) {
  return config.get("in_channels") < kSimdBlockChannels ? 1.0 : 0.0;
}

double aligned_rows(const layers::LayerConfig& config) {
  return std::fmod(config.get("input_size") * 4.0, kCacheSetPeriodBytes) == 0.0 ? 1.0 : 0.0;
}

double traffic_bytes(const layers::LayerConfig& config, const layers::Counts& counts) {
  const double rfo = layers::writes_in_place(config) ? 0.0 : 4.0 * static_cast<double>(counts.outputs);
  return static_cast<double>(counts.bytes) + rfo;
}

// A derived quantity: a column computed from a configuration and its counts, for the types it applies to. Adding one
// is one row in derived_table() (and a group in group_defs() to use it in feature sets).
struct DerivedQuantity {
  FeatureInfo info;
  bool (*applies)(const std::string& type);
  double (*value)(const std::string& type, const layers::LayerConfig& config, const layers::Counts& counts);
  const char* scope;  // for messages: "" (every type) or the type it applies to
  const char* (*unit)(const std::string& type);  // what one unit of it is, for messages ("" for 0/1 flags)
};

namespace {

bool any_type(const std::string&) { return true; }
bool conv2d_only(const std::string& t) { return t == "conv2d"; }
bool linear_only(const std::string& t) { return t == "linear"; }
bool has_paper_macs(const std::string& t) { return paper_macs_table().count(t) > 0; }

// Units, for the texts that show a feature's value (an extrapolation note): a count of work is in the type's own
// unit, which layers::Counts::ops counts.
const char* work_unit(const std::string& t) {
  if (t == "conv2d" || t == "linear") return "MACs";
  if (t == "maxpool2d") return "comparisons";
  return "elements";
}
const char* in_bytes(const std::string&) { return "bytes"; }
const char* in_elements(const std::string&) { return "elements"; }
const char* in_macs(const std::string&) { return "MACs"; }
const char* no_unit(const std::string&) { return ""; }

const std::vector<DerivedQuantity>& derived_table() {
  static const std::vector<DerivedQuantity> d = {
      {{"macs", "layers::Counts::ops: MACs for conv2d and linear (no bias), window comparisons for maxpool2d, "
                "elements for relu/sigmoid/tanh/softmax"},
       any_type, [](const std::string&, const layers::LayerConfig&, const Counts& c) { return double(c.ops); }, "", work_unit},
      {{"bytes", "layers::Counts::bytes: (input + output elements) * 4 + weights * 4"},
       any_type, [](const std::string&, const layers::LayerConfig&, const Counts& c) { return double(c.bytes); }, "", in_bytes},
      {{"paper_macs", "the paper's macs column: conv2d/linear MACs + one per output element (bias), maxpool2d "
                      "floor(comparisons / 2), activations elements"},
       has_paper_macs,
       [](const std::string& t, const layers::LayerConfig&, const Counts& c) { return paper_macs_table().at(t)(c); },
       "", work_unit},
      {{"inputs", "layers::Counts::inputs: input elements of the whole batch"},
       any_type, [](const std::string&, const layers::LayerConfig&, const Counts& c) { return double(c.inputs); }, "", in_elements},
      {{"outputs", "layers::Counts::outputs: output elements of the whole batch"},
       any_type, [](const std::string&, const layers::LayerConfig&, const Counts& c) { return double(c.outputs); }, "", in_elements},
      {{"fresh_outputs", "output elements when the layer writes a new buffer of more than 32 MiB (fresh mmap'd pages, "
                         "zero-filled by the kernel on every pass); 0 for smaller outputs and in-place layers"},
       any_type,
       [](const std::string&, const layers::LayerConfig& config, const Counts& c) {
         const double out = static_cast<double>(c.outputs);
         return (!layers::writes_in_place(config) && out * 4.0 > kFreshBufferBytes) ? out : 0.0;
       },
       "", in_elements},
      {{"traffic", "bytes through write-allocate caches: bytes, plus 4 per output element (read for ownership) when the "
                   "layer writes a new buffer; 8 bytes per element for an in-place activation, 12 out of place"},
       any_type,
       [](const std::string&, const layers::LayerConfig& config, const Counts& c) { return traffic_bytes(config, c); },
       "", in_bytes},
      {{"blocked_macs", "conv2d only: MACs with out_channels, and in_channels of 16 or more, rounded up to a multiple of "
                        "16 (the float32 lanes of an AVX-512 register, oneDNN's nChw16c layout); fewer than 16 input "
                        "channels are read unpadded by the direct first-layer kernels"},
       conv2d_only,
       [](const std::string&, const layers::LayerConfig& config, const Counts& c) { return blocked_macs(config, c); },
       "conv2d", in_macs},
      {{"narrow_input", "conv2d only: 1 when in_channels < 16 (the input goes to oneDNN's direct first-layer kernels, "
                        "a different speed regime: an image's 3 channels), else 0"},
       conv2d_only,
       [](const std::string&, const layers::LayerConfig& config, const Counts&) { return narrow_input(config); },
       "conv2d", no_unit},
      {{"aligned_rows", "linear only: 1 when a weight row (input_size x 4 bytes) is a multiple of 4 KiB, the period of "
                        "an L1 cache's set index, so that one column of every row falls in the same cache set; else 0"},
       linear_only,
       [](const std::string&, const layers::LayerConfig& config, const Counts&) { return aligned_rows(config); },
       "linear", no_unit},
  };
  return d;
}

// "macs, bytes, ..., blocked_macs (conv2d), narrow_input (conv2d), aligned_rows (linear)" for messages.
std::string derived_names() {
  std::string out;
  for (const auto& q : derived_table())
    out += (out.empty() ? "" : ", ") + q.info.name + (*q.scope ? std::string(" (") + q.scope + ")" : "");
  return out;
}

}  // namespace

const std::vector<FeatureInfo>& derived_quantities() {
  static const std::vector<FeatureInfo> d = [] {
    std::vector<FeatureInfo> v;
    for (const auto& q : derived_table()) v.push_back(q.info);
    return v;
  }();
  return d;
}

std::string feature_unit(const std::string& type, const std::string& column) {
  static const std::string kLog = "log1p(";
  std::string inner = column;
  if (inner.size() > kLog.size() && inner.compare(0, kLog.size(), kLog) == 0 && inner.back() == ')')
    inner = inner.substr(kLog.size(), inner.size() - kLog.size() - 1);
  for (const auto& q : derived_table())
    if (q.info.name == inner && q.applies(type)) return q.unit(type);
  return layers::param_unit(type, inner);
}

const std::vector<FeatureInfo>& feature_groups() {
  static const std::vector<FeatureInfo> out = [] {
    std::vector<FeatureInfo> v;
    for (const auto& g : group_defs()) v.push_back(g.info);
    return v;
  }();
  return out;
}

const std::vector<std::string>& study_feature_sets() {
  static const std::vector<std::string> s = {"macs",       "macs+bytes",      "macs+batch_size",  "base",
                                             "log1p",      "base+log1p",      "log1p+macs",       "base+log1p+macs",
                                             "log1p+log1p_macs", "log1p_macs+log1p_bytes", "log1p_macs+log1p_io",
                                             "macs+fresh", "traffic+fresh",
                                             "log1p_macs+log1p_io+log1p_stride",
                                             "log1p_blocked_macs+log1p_io+log1p_stride",
                                             "log1p_blocked_macs+log1p_io+log1p_stride+narrow_input",
                                             "log1p_macs+log1p_io+log1p_kernel+log1p_stride"};
  return s;
}

std::vector<std::string> expand_feature_set(const std::string& type, const std::string& feature_set) {
  layers::config_params(type);  // ConfigError for types without a schema
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= feature_set.size()) {
    const std::size_t plus = feature_set.find('+', start);
    const std::string name = feature_set.substr(start, plus == std::string::npos ? std::string::npos : plus - start);
    auto it = std::find_if(group_defs().begin(), group_defs().end(), [&](const GroupDef& g) { return g.info.name == name; });
    if (it == group_defs().end())
      throw ConfigError("feature set '" + feature_set + "': unknown feature group '" + name +
                        "'; valid groups: " + group_names() + " (join them with '+')");
    for (const auto& c : it->columns(type))
      if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
    if (plus == std::string::npos) break;
    start = plus + 1;
  }
  return out;
}

FeatureExtractor::FeatureExtractor(std::string type, std::vector<std::string> columns)
    : type_(std::move(type)), columns_(std::move(columns)) {
  const auto& params = layers::config_params(type_);
  std::vector<std::string> problems;
  for (const auto& name : columns_) {
    Source s;
    std::string inner = name;
    if (name.size() > 7 && name.compare(0, 6, "log1p(") == 0 && name.back() == ')') {
      s.log1p = true;
      inner = name.substr(6, name.size() - 7);
    }
    const auto derived = std::find_if(derived_table().begin(), derived_table().end(),
                                      [&](const DerivedQuantity& q) { return q.info.name == inner; });
    if (std::find(params.begin(), params.end(), inner) != params.end()) {
      s.param = inner;
    } else if (derived != derived_table().end() && derived->applies(type_)) {
      s.derived = &*derived;
    } else {
      std::string valid;
      for (const auto& p : params) valid += p + ", ";
      problems.push_back(type_ + ": unknown feature '" + name + "'; features are " + valid + derived_names() +
                         " or log1p(<one of them>)");
      continue;
    }
    if (s.derived) needs_counts_ = true;
    sources_.push_back(std::move(s));
  }
  if (!problems.empty()) throw ConfigError(problems);
}

void FeatureExtractor::extract(const layers::LayerConfig& config, double* out) const {
  Counts counts;
  if (needs_counts_) counts = layers::config_counts(config);
  extract(config, counts, out);
}

void FeatureExtractor::extract(const layers::LayerConfig& config, const Counts& counts, double* out) const {
  for (std::size_t i = 0; i < sources_.size(); ++i) {
    const Source& s = sources_[i];
    const double v = s.derived ? s.derived->value(type_, config, counts) : config.get(s.param);
    out[i] = s.log1p ? std::log1p(v) : v;
  }
}

Matrix FeatureExtractor::extract(const std::vector<layers::LayerConfig>& configs) const {
  Matrix m(configs.size(), columns_.size());
  for (std::size_t r = 0; r < configs.size(); ++r) extract(configs[r], m.values.data() + r * m.cols);
  return m;
}

std::string to_string(Polynomial p) {
  switch (p) {
    case Polynomial::kNone: return "none";
    case Polynomial::kInteraction: return "interaction";
    case Polynomial::kFull: return "full";
  }
  return "none";
}

Polynomial polynomial_from_string(const std::string& s) {
  if (s == "none") return Polynomial::kNone;
  if (s == "interaction") return Polynomial::kInteraction;
  if (s == "full") return Polynomial::kFull;
  throw ConfigError("unknown polynomial expansion '" + s + "'; valid: none, interaction, full");
}

std::size_t polynomial_size(std::size_t n, Polynomial p) {
  switch (p) {
    case Polynomial::kNone: return n;
    case Polynomial::kInteraction: return n + n * (n - (n > 0 ? 1 : 0)) / 2;
    case Polynomial::kFull: return n + n * (n + 1) / 2;
  }
  return n;
}

std::vector<std::string> polynomial_names(const std::vector<std::string>& names, Polynomial p) {
  std::vector<std::string> out = names;
  if (p == Polynomial::kNone) return out;
  for (std::size_t i = 0; i < names.size(); ++i)
    for (std::size_t j = (p == Polynomial::kFull ? i : i + 1); j < names.size(); ++j)
      out.push_back(i == j ? names[i] + "^2" : names[i] + " " + names[j]);
  return out;
}

void polynomial_expand(const double* in, std::size_t n, Polynomial p, double* out) {
  std::copy(in, in + n, out);
  if (p == Polynomial::kNone) return;
  std::size_t k = n;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = (p == Polynomial::kFull ? i : i + 1); j < n; ++j) out[k++] = in[i] * in[j];
}

Matrix polynomial_expand(const Matrix& x, Polynomial p) {
  Matrix out(x.rows, polynomial_size(x.cols, p));
  for (std::size_t r = 0; r < x.rows; ++r) polynomial_expand(x.row(r), x.cols, p, out.values.data() + r * out.cols);
  return out;
}

}  // namespace dle::predict
