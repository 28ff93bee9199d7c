#include "layers/spec_fields.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <functional>

#include "core/errors.hpp"

namespace dle::layers {

namespace {

// Integral doubles below this magnitude convert to int64 exactly and safely (2^63 would overflow).
constexpr double kIntegerLimit = 9223372036854775808.0;

// A number too large for any integer field ("1e23"), told apart from text that is not a number at all.
bool too_large_number(const std::string& text) {
  char* end = nullptr;
  const double d = std::strtod(text.c_str(), &end);
  return end != text.c_str() && *end == '\0' && std::isfinite(d) && std::fabs(d) >= kIntegerLimit;
}

bool parse_int(const std::string& text, std::int64_t& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || end == text.c_str() || *end != '\0') {
    // Accept integral numbers written as floats ("64.0"), as JSON writers sometimes do.
    char* fend = nullptr;
    const double d = std::strtod(text.c_str(), &fend);
    if (fend == text.c_str() || *fend != '\0' || !(std::fabs(d) < kIntegerLimit)) return false;  // cast is safe below
    if (d != static_cast<double>(static_cast<long long>(d))) return false;
    out = static_cast<std::int64_t>(d);
    return true;
  }
  out = v;
  return true;
}

bool parse_bool(const std::string& text, bool& out) {
  if (text == "true" || text == "True" || text == "1" || text == "yes") return out = true, true;
  if (text == "false" || text == "False" || text == "0" || text == "no") return out = false, true;
  return false;
}

bool parse_double(const std::string& text, double& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return end != text.c_str() && *end == '\0';
}

struct Field {
  FieldInfo info;
  // Sets the field on the spec; returns false when the text does not parse.
  std::function<bool(const std::string&, LayerSpec&)> set;
};

template <typename T>
Field int_field(const char* name, std::int64_t T::*member, bool required, const char* help) {
  return {{name, "integer", required, help}, [member](const std::string& text, LayerSpec& spec) {
            std::int64_t v;
            if (!parse_int(text, v)) return false;
            std::get<T>(spec).*member = v;
            return true;
          }};
}

template <typename T>
Field bool_field(const char* name, bool T::*member, const char* help) {
  return {{name, "boolean", false, help}, [member](const std::string& text, LayerSpec& spec) {
            bool v;
            if (!parse_bool(text, v)) return false;
            std::get<T>(spec).*member = v;
            return true;
          }};
}

struct TypeEntry {
  LayerSpec prototype;
  std::vector<Field> fields;
};

const std::map<std::string, TypeEntry>& table() {
  static const std::map<std::string, TypeEntry> t = [] {
    std::map<std::string, TypeEntry> m;
    m["conv2d"] = {Conv2dSpec{},
                   {int_field("in_channels", &Conv2dSpec::in_channels, true, "input channels"),
                    int_field("out_channels", &Conv2dSpec::out_channels, true, "output channels"),
                    int_field("kernel_size", &Conv2dSpec::kernel_size, true, "square kernel side"),
                    int_field("stride", &Conv2dSpec::stride, false, "default 1"),
                    int_field("padding", &Conv2dSpec::padding, false, "zero padding per side, default 0"),
                    int_field("groups", &Conv2dSpec::groups, false, "default 1"),
                    bool_field("bias", &Conv2dSpec::bias, "default true")}};
    m["maxpool2d"] = {MaxPool2dSpec{},
                      {int_field("kernel_size", &MaxPool2dSpec::kernel_size, true, "square window side"),
                       int_field("stride", &MaxPool2dSpec::stride, false, "default kernel_size"),
                       int_field("padding", &MaxPool2dSpec::padding, false, "default 0")}};
    Field output_size{{"output_size", "integer", false, "sets output_height and output_width"},
                      [](const std::string& text, LayerSpec& spec) {
                        std::int64_t v;
                        if (!parse_int(text, v)) return false;
                        auto& s = std::get<AdaptiveAvgPool2dSpec>(spec);
                        s.output_height = s.output_width = v;
                        return true;
                      }};
    m["adaptiveavgpool2d"] = {
        AdaptiveAvgPool2dSpec{},
        {output_size, int_field("output_height", &AdaptiveAvgPool2dSpec::output_height, false, "output rows"),
         int_field("output_width", &AdaptiveAvgPool2dSpec::output_width, false, "output columns")}};
    m["linear"] = {LinearSpec{},
                   {int_field("in_features", &LinearSpec::in_features, true, "input features"),
                    int_field("out_features", &LinearSpec::out_features, true, "output features"),
                    bool_field("bias", &LinearSpec::bias, "default true")}};
    m["relu"] = {ReLUSpec{}, {bool_field("inplace", &ReLUSpec::inplace, "default false")}};
    m["tanh"] = {TanhSpec{}, {}};
    m["sigmoid"] = {SigmoidSpec{}, {}};
    m["softmax"] = {SoftmaxSpec{}, {int_field("dim", &SoftmaxSpec::dim, false, "default 1 (features)")}};
    Field p{{"p", "number", false, "drop probability, default 0.5"}, [](const std::string& text, LayerSpec& spec) {
              double v;
              if (!parse_double(text, v)) return false;
              std::get<DropoutSpec>(spec).p = v;
              return true;
            }};
    m["dropout"] = {DropoutSpec{}, {p}};
    m["flatten"] = {FlattenSpec{}, {}};
    return m;
  }();
  return t;
}

const TypeEntry& entry(const std::string& type) {
  auto it = table().find(type);
  if (it == table().end()) {
    std::string names;
    for (const auto& n : type_names()) names += (names.empty() ? "" : ", ") + n;
    throw ConfigError("unknown layer type '" + type + "'; known types: " + names);
  }
  return it->second;
}

}  // namespace

const std::vector<FieldInfo>& fields_of(const std::string& type) {
  static std::map<std::string, std::vector<FieldInfo>> cache = [] {
    std::map<std::string, std::vector<FieldInfo>> c;
    for (const auto& [name, e] : table())
      for (const auto& f : e.fields) c[name].push_back(f.info);
    return c;
  }();
  entry(type);  // throws for unknown types
  return cache[type];
}

LayerSpec make_spec(const std::string& type, const std::map<std::string, std::string>& values,
                    const std::string& where, std::vector<std::string>& problems) {
  auto it = table().find(type);
  if (it == table().end()) {
    try {
      entry(type);
    } catch (const ConfigError& e) {
      problems.push_back(where + ": " + e.what());
    }
    return FlattenSpec{};
  }
  const TypeEntry& e = it->second;
  LayerSpec spec = e.prototype;
  const size_t before = problems.size();
  for (const auto& [key, text] : values) {
    const Field* field = nullptr;
    for (const auto& f : e.fields)
      if (f.info.name == key) field = &f;
    if (!field) {
      std::string valid;
      for (const auto& f : e.fields) valid += (valid.empty() ? "" : ", ") + f.info.name;
      problems.push_back(where + ": unknown field '" + key + "'" +
                         (valid.empty() ? " (this layer type takes no fields)" : "; valid fields: " + valid));
      continue;
    }
    if (!field->set(text, spec))
      problems.push_back(where + ": field " + key + ": '" + text + "' is " +
                         (field->info.kind == "integer" && too_large_number(text)
                              ? std::string("too large for an integer (at most 9223372036854775807)")
                              : field->info.kind == "integer" ? "not an integer"
                                                              : "not a " + field->info.kind));
  }
  // MaxPool2dSpec keeps stride 0 for "not given" (PyTorch's stride=None); a file that writes 0 means no stride.
  if (type == "maxpool2d" && values.count("stride") && std::get<MaxPool2dSpec>(spec).stride == 0)
    problems.push_back(where + ": field stride: 0 must be >= 1 (leave stride out for the default, kernel_size)");
  for (const auto& f : e.fields)
    if (f.info.required && !values.count(f.info.name))
      problems.push_back(where + ": missing required field " + f.info.name + " (" + f.info.help + ")");
  if (type == "adaptiveavgpool2d" && !values.count("output_size") &&
      !(values.count("output_height") && values.count("output_width")))
    problems.push_back(where + ": missing required field output_size (or output_height and output_width)");
  if (problems.size() == before)
    for (const auto& p : validate(spec)) problems.push_back(where + ": " + p);
  return spec;
}

}  // namespace dle::layers
