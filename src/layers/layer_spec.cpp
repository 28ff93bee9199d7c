#include "layers/layer_spec.hpp"

#include <cmath>
#include <functional>
#include <sstream>

#include "core/checked_int.hpp"
#include "core/errors.hpp"
#include "layers/spec_fields.hpp"

namespace dle::layers {

namespace {

std::string fmt(const std::string& field, std::int64_t value, const std::string& rule) {
  return field + " " + std::to_string(value) + " " + rule;
}

// Output length of a sliding window along one axis (PyTorch's floor formula, dilation 1).
std::int64_t window_out(std::int64_t in, std::int64_t kernel, std::int64_t stride, std::int64_t padding) {
  return (in + 2 * padding - kernel) / stride + 1;
}

// Appends a problem per spatial axis (height, width) of a CxHxW input that a square window does not fit.
void window_fits(std::int64_t kernel, std::int64_t padding, const Shape& in, std::vector<std::string>& p) {
  for (int axis = 1; axis <= 2; ++axis) {
    if (kernel > in[axis] + 2 * padding)
      p.push_back("kernel_size " + std::to_string(kernel) + " is larger than the padded input " +
                  std::to_string(in[axis] + 2 * padding) + " (" + (axis == 1 ? "height " : "width ") +
                  std::to_string(in[axis]) + " + 2*padding " + std::to_string(padding) + ")");
  }
}

// Counts as the per-type rules compute them: every product checked for overflow (see Counts::overflow).
struct CheckedCounts {
  CheckedInt macs, flops, ops, bytes, params;
};

// elements() with every product checked.
CheckedInt checked_elements(const Shape& s) {
  CheckedInt n = 1;
  for (auto d : s) n = n * d;
  return n;
}

// ---- per-type behaviour, one struct per spec (no chains of type checks) ----

template <typename T>
struct Ops;

template <>
struct Ops<Conv2dSpec> {
  static constexpr const char* kName = "conv2d";
  static std::vector<std::string> validate(const Conv2dSpec& s) {
    std::vector<std::string> p;
    if (s.in_channels < 1) p.push_back(fmt("in_channels", s.in_channels, "must be >= 1"));
    if (s.out_channels < 1) p.push_back(fmt("out_channels", s.out_channels, "must be >= 1"));
    if (s.kernel_size < 1) p.push_back(fmt("kernel_size", s.kernel_size, "must be >= 1"));
    if (s.stride < 1) p.push_back(fmt("stride", s.stride, "must be >= 1"));
    if (s.padding < 0) p.push_back(fmt("padding", s.padding, "must be >= 0"));
    if (s.groups < 1) {
      p.push_back(fmt("groups", s.groups, "must be >= 1"));
    } else {
      if (s.in_channels >= 1 && s.in_channels % s.groups != 0)
        p.push_back("in_channels " + std::to_string(s.in_channels) + " is not divisible by groups " +
                    std::to_string(s.groups));
      if (s.out_channels >= 1 && s.out_channels % s.groups != 0)
        p.push_back("out_channels " + std::to_string(s.out_channels) + " is not divisible by groups " +
                    std::to_string(s.groups));
    }
    return p;
  }
  static std::vector<std::string> check_input(const Conv2dSpec& s, const Shape& in) {
    if (in.size() != 3) return {"expects an input of shape CxHxW, got " + shape_to_string(in)};
    std::vector<std::string> p;
    if (in[0] != s.in_channels)
      p.push_back("in_channels " + std::to_string(s.in_channels) + " does not match the input's " +
                  std::to_string(in[0]) + " channels (input " + shape_to_string(in) + ")");
    window_fits(s.kernel_size, s.padding, in, p);
    return p;
  }
  static Shape output(const Conv2dSpec& s, const Shape& in) {
    return {s.out_channels, window_out(in[1], s.kernel_size, s.stride, s.padding),
            window_out(in[2], s.kernel_size, s.stride, s.padding)};
  }
  // elements(output(s, in)) without building the shape (counting runs for every layer an estimate prepares).
  static CheckedInt output_elements(const Conv2dSpec& s, const Shape& in) {
    return CheckedInt(s.out_channels) * window_out(in[1], s.kernel_size, s.stride, s.padding) *
           window_out(in[2], s.kernel_size, s.stride, s.padding);
  }
  static CheckedCounts counts(const Conv2dSpec& s, const Shape& in, CheckedInt batch, CheckedInt eb) {
    const CheckedInt out_elems = output_elements(s, in);
    const CheckedInt window = CheckedInt(s.in_channels / s.groups) * s.kernel_size * s.kernel_size;
    CheckedCounts c;
    c.params = CheckedInt(s.out_channels) * window + (s.bias ? s.out_channels : 0);
    c.macs = batch * out_elems * window;
    c.flops = CheckedInt(2) * c.macs + (s.bias ? batch * out_elems : CheckedInt(0));
    c.ops = c.macs;
    c.bytes = (batch * (checked_elements(in) + out_elems) + c.params) * eb;
    return c;
  }
  static bool zero_work(const Conv2dSpec&, const Shape&) { return false; }
};

template <>
struct Ops<MaxPool2dSpec> {
  static constexpr const char* kName = "maxpool2d";
  static std::vector<std::string> validate(const MaxPool2dSpec& s) {
    std::vector<std::string> p;
    if (s.kernel_size < 1) p.push_back(fmt("kernel_size", s.kernel_size, "must be >= 1"));
    if (s.stride < 0) p.push_back(fmt("stride", s.stride, "must be >= 1 (or 0 for 'equal to kernel_size')"));
    if (s.padding < 0) p.push_back(fmt("padding", s.padding, "must be >= 0"));
    // PyTorch: "pad should be at most half of effective kernel size".
    if (s.kernel_size >= 1 && s.padding > s.kernel_size / 2)
      p.push_back("padding " + std::to_string(s.padding) + " must be at most half of kernel_size " +
                  std::to_string(s.kernel_size) + " (PyTorch rejects larger padding)");
    return p;
  }
  static std::vector<std::string> check_input(const MaxPool2dSpec& s, const Shape& in) {
    if (in.size() != 3) return {"expects an input of shape CxHxW, got " + shape_to_string(in)};
    std::vector<std::string> p;
    window_fits(s.kernel_size, s.padding, in, p);
    return p;
  }
  static Shape output(const MaxPool2dSpec& s, const Shape& in) {
    const auto st = s.effective_stride();
    return {in[0], window_out(in[1], s.kernel_size, st, s.padding), window_out(in[2], s.kernel_size, st, s.padding)};
  }
  static CheckedInt output_elements(const MaxPool2dSpec& s, const Shape& in) {
    const auto st = s.effective_stride();
    return CheckedInt(in[0]) * window_out(in[1], s.kernel_size, st, s.padding) *
           window_out(in[2], s.kernel_size, st, s.padding);
  }
  static CheckedCounts counts(const MaxPool2dSpec& s, const Shape& in, CheckedInt batch, CheckedInt eb) {
    const CheckedInt out_elems = output_elements(s, in);
    CheckedCounts c;
    c.ops = batch * out_elems * s.kernel_size * s.kernel_size;
    c.flops = c.ops;
    c.bytes = batch * (checked_elements(in) + out_elems) * eb;
    return c;
  }
  static bool zero_work(const MaxPool2dSpec&, const Shape&) { return false; }
};

template <>
struct Ops<AdaptiveAvgPool2dSpec> {
  static constexpr const char* kName = "adaptiveavgpool2d";
  static std::vector<std::string> validate(const AdaptiveAvgPool2dSpec& s) {
    std::vector<std::string> p;
    if (s.output_height < 1) p.push_back(fmt("output_height", s.output_height, "must be >= 1"));
    if (s.output_width < 1) p.push_back(fmt("output_width", s.output_width, "must be >= 1"));
    return p;
  }
  static std::vector<std::string> check_input(const AdaptiveAvgPool2dSpec&, const Shape& in) {
    if (in.size() != 3) return {"expects an input of shape CxHxW, got " + shape_to_string(in)};
    return {};
  }
  static Shape output(const AdaptiveAvgPool2dSpec& s, const Shape& in) {
    return {in[0], s.output_height, s.output_width};
  }
  // Each output element averages a window of at most ceil(H/oh) x ceil(W/ow) inputs; we count one op per
  // input element visited (windows may overlap by one when H is not a multiple of oh).
  static CheckedInt output_elements(const AdaptiveAvgPool2dSpec& s, const Shape& in) {
    return CheckedInt(in[0]) * s.output_height * s.output_width;
  }
  static CheckedCounts counts(const AdaptiveAvgPool2dSpec& s, const Shape& in, CheckedInt batch, CheckedInt eb) {
    const CheckedInt out_elems = output_elements(s, in);
    const std::int64_t wh = (in[1] + s.output_height - 1) / s.output_height;
    const std::int64_t ww = (in[2] + s.output_width - 1) / s.output_width;
    CheckedCounts c;
    c.ops = batch * out_elems * wh * ww;
    c.flops = c.ops;
    c.bytes = batch * (checked_elements(in) + out_elems) * eb;
    return c;
  }
  static bool zero_work(const AdaptiveAvgPool2dSpec& s, const Shape& in) {
    return in.size() == 3 && in[1] == s.output_height && in[2] == s.output_width;
  }
};

template <>
struct Ops<LinearSpec> {
  static constexpr const char* kName = "linear";
  static std::vector<std::string> validate(const LinearSpec& s) {
    std::vector<std::string> p;
    if (s.in_features < 1) p.push_back(fmt("in_features", s.in_features, "must be >= 1"));
    if (s.out_features < 1) p.push_back(fmt("out_features", s.out_features, "must be >= 1"));
    return p;
  }
  static std::vector<std::string> check_input(const LinearSpec& s, const Shape& in) {
    if (in.size() != 1)
      return {"expects a flat input of " + std::to_string(s.in_features) + " features, got " + shape_to_string(in) +
              " (add a flatten layer before it)"};
    if (in[0] != s.in_features)
      return {"in_features " + std::to_string(s.in_features) + " does not match the input's " +
              std::to_string(in[0]) + " features"};
    return {};
  }
  static Shape output(const LinearSpec& s, const Shape&) { return {s.out_features}; }
  static CheckedInt output_elements(const LinearSpec& s, const Shape&) { return s.out_features; }
  static CheckedCounts counts(const LinearSpec& s, const Shape& in, CheckedInt batch, CheckedInt eb) {
    CheckedCounts c;
    c.params = CheckedInt(s.in_features) * s.out_features + (s.bias ? s.out_features : 0);
    c.macs = batch * s.in_features * s.out_features;
    c.flops = CheckedInt(2) * c.macs + (s.bias ? batch * s.out_features : CheckedInt(0));
    c.ops = c.macs;
    c.bytes = (batch * (checked_elements(in) + s.out_features) + c.params) * eb;
    return c;
  }
  static bool zero_work(const LinearSpec&, const Shape&) { return false; }
};

// Element-wise layers share their shape and counting rules.
template <typename T, const char* Name>
struct ElementwiseOps {
  static constexpr const char* kName = Name;
  static std::vector<std::string> validate(const T&) { return {}; }
  static std::vector<std::string> check_input(const T&, const Shape& in) {
    if (in.empty()) return {"expects a non-empty input shape"};
    return {};
  }
  static Shape output(const T&, const Shape& in) { return in; }
  static CheckedInt output_elements(const T&, const Shape& in) { return checked_elements(in); }
  static CheckedCounts counts(const T&, const Shape& in, CheckedInt batch, CheckedInt eb) {
    CheckedCounts c;
    c.ops = batch * checked_elements(in);
    c.flops = c.ops;
    c.bytes = CheckedInt(2) * c.ops * eb;
    return c;
  }
  static bool zero_work(const T&, const Shape&) { return false; }
};

constexpr char kReluName[] = "relu";
constexpr char kTanhName[] = "tanh";
constexpr char kSigmoidName[] = "sigmoid";
template <>
struct Ops<ReLUSpec> : ElementwiseOps<ReLUSpec, kReluName> {
  // In place, ReLU writes over its input: it reads and writes the same tensor, so bytes are the same.
};
template <>
struct Ops<TanhSpec> : ElementwiseOps<TanhSpec, kTanhName> {};
template <>
struct Ops<SigmoidSpec> : ElementwiseOps<SigmoidSpec, kSigmoidName> {};

template <>
struct Ops<SoftmaxSpec> {
  static constexpr const char* kName = "softmax";
  static std::vector<std::string> validate(const SoftmaxSpec& s) {
    if (s.dim < 0) return {fmt("dim", s.dim, "must be >= 0 (dimension of the batched tensor; 1 = features)")};
    return {};
  }
  static std::vector<std::string> check_input(const SoftmaxSpec& s, const Shape& in) {
    if (in.empty()) return {"expects a non-empty input shape"};
    if (s.dim > static_cast<std::int64_t>(in.size()))
      return {"dim " + std::to_string(s.dim) + " is out of range for a batched input of " +
              std::to_string(in.size() + 1) + " dimensions"};
    return {};
  }
  static Shape output(const SoftmaxSpec&, const Shape& in) { return in; }
  static CheckedInt output_elements(const SoftmaxSpec&, const Shape& in) { return checked_elements(in); }
  // exp, sum and divide per element: counted as one op per element (like the other activations).
  static CheckedCounts counts(const SoftmaxSpec&, const Shape& in, CheckedInt batch, CheckedInt eb) {
    CheckedCounts c;
    c.ops = batch * checked_elements(in);
    c.flops = CheckedInt(3) * c.ops;
    c.bytes = CheckedInt(2) * c.ops * eb;
    return c;
  }
  static bool zero_work(const SoftmaxSpec&, const Shape&) { return false; }
};

template <>
struct Ops<DropoutSpec> {
  static constexpr const char* kName = "dropout";
  static std::vector<std::string> validate(const DropoutSpec& s) {
    if (!(s.p >= 0.0 && s.p < 1.0)) {
      std::ostringstream o;
      o << "p " << s.p << " must be in [0, 1)";
      return {o.str()};
    }
    return {};
  }
  static std::vector<std::string> check_input(const DropoutSpec&, const Shape& in) {
    if (in.empty()) return {"expects a non-empty input shape"};
    return {};
  }
  static Shape output(const DropoutSpec&, const Shape& in) { return in; }
  static CheckedInt output_elements(const DropoutSpec&, const Shape& in) { return checked_elements(in); }
  static CheckedCounts counts(const DropoutSpec&, const Shape&, CheckedInt, CheckedInt) { return {}; }
  static bool zero_work(const DropoutSpec&, const Shape&) { return true; }
};

template <>
struct Ops<FlattenSpec> {
  static constexpr const char* kName = "flatten";
  static std::vector<std::string> validate(const FlattenSpec&) { return {}; }
  static std::vector<std::string> check_input(const FlattenSpec&, const Shape& in) {
    if (in.empty()) return {"expects a non-empty input shape"};
    return {};
  }
  static Shape output(const FlattenSpec&, const Shape& in) { return {elements(in)}; }
  static CheckedInt output_elements(const FlattenSpec&, const Shape& in) { return checked_elements(in); }
  static CheckedCounts counts(const FlattenSpec&, const Shape&, CheckedInt, CheckedInt) { return {}; }
  static bool zero_work(const FlattenSpec&, const Shape&) { return true; }
};

template <typename F>
auto dispatch(const LayerSpec& spec, F&& f) {
  return std::visit([&](const auto& s) { return f(s, Ops<std::decay_t<decltype(s)>>{}); }, spec);
}

template <std::size_t... I>
std::vector<std::string> all_names(std::index_sequence<I...>) {
  return {Ops<std::variant_alternative_t<I, LayerSpec>>::kName...};
}

}  // namespace

std::string shape_to_string(const Shape& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "x" : "") + std::to_string(s[i]);
  return out.empty() ? "()" : out;
}

std::int64_t elements(const Shape& s) {
  std::int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

std::string type_name(const LayerSpec& spec) {
  return dispatch(spec, [](const auto&, auto ops) { return std::string(decltype(ops)::kName); });
}

const std::vector<std::string>& type_names() {
  static const std::vector<std::string> names = all_names(std::make_index_sequence<std::variant_size_v<LayerSpec>>{});
  return names;
}

std::vector<std::string> validate(const LayerSpec& spec) {
  return dispatch(spec, [](const auto& s, auto ops) { return decltype(ops)::validate(s); });
}

std::vector<std::string> check_input(const LayerSpec& spec, const Shape& input) {
  return dispatch(spec, [&](const auto& s, auto ops) { return decltype(ops)::check_input(s, input); });
}

Shape output_shape(const LayerSpec& spec, const Shape& input) {
  auto problems = validate(spec);
  if (problems.empty()) problems = check_input(spec, input);
  if (!problems.empty()) {
    for (auto& p : problems) p = type_name(spec) + ": " + p;
    throw ConfigError(problems);
  }
  return output_shape_of_valid(spec, input);
}

Shape output_shape_of_valid(const LayerSpec& spec, const Shape& input) {
  return dispatch(spec, [&](const auto& s, auto ops) { return decltype(ops)::output(s, input); });
}

Counts counts(const LayerSpec& spec, const Shape& input, std::int64_t batch, std::int64_t element_bytes) {
  output_shape(spec, input);  // validates
  return counts_of_valid(spec, input, batch, element_bytes);
}

Counts counts_of_valid(const LayerSpec& spec, const Shape& input, std::int64_t batch, std::int64_t element_bytes) {
  return dispatch(spec, [&](const auto& s, auto ops) {
    using O = decltype(ops);
    const CheckedCounts k = O::counts(s, input, batch, element_bytes);
    const CheckedInt inputs = CheckedInt(batch) * checked_elements(input);
    const CheckedInt outputs = CheckedInt(batch) * O::output_elements(s, input);
    Counts c;
    c.macs = k.macs.value();
    c.flops = k.flops.value();
    c.ops = k.ops.value();
    c.bytes = k.bytes.value();
    c.params = k.params.value();
    c.inputs = inputs.value();
    c.outputs = outputs.value();
    c.overflow = k.macs.overflowed() || k.flops.overflowed() || k.ops.overflowed() || k.bytes.overflowed() ||
                 k.params.overflowed() || inputs.overflowed() || outputs.overflowed();
    return c;
  });
}

bool is_zero_work(const LayerSpec& spec, const Shape& input) {
  return dispatch(spec, [&](const auto& s, auto ops) { return decltype(ops)::zero_work(s, input); });
}

std::string zero_work_reason(const LayerSpec& spec, const Shape& input) {
  if (!is_zero_work(spec, input)) return "";
  const std::string t = type_name(spec);
  if (t == "dropout") return "identity at inference (eval mode): 0 J by definition";
  if (t == "flatten") return "a view of its input, no arithmetic: 0 J by definition";
  return "output size equals input size (1x1 windows), no arithmetic: 0 J by definition";
}

std::vector<Param> params(const LayerSpec& spec) {
  return std::visit(
      [](const auto& s) -> std::vector<Param> {
        using T = std::decay_t<decltype(s)>;
        auto i = [](const char* n, std::int64_t v) { return Param{n, static_cast<double>(v), false, true}; };
        auto b = [](const char* n, bool v) { return Param{n, v ? 1.0 : 0.0, true, true}; };
        if constexpr (std::is_same_v<T, Conv2dSpec>) {
          return {i("in_channels", s.in_channels), i("out_channels", s.out_channels), i("kernel_size", s.kernel_size),
                  i("stride", s.stride),           i("padding", s.padding),           i("groups", s.groups),
                  b("bias", s.bias)};
        } else if constexpr (std::is_same_v<T, MaxPool2dSpec>) {
          return {i("kernel_size", s.kernel_size), i("stride", s.effective_stride()), i("padding", s.padding)};
        } else if constexpr (std::is_same_v<T, AdaptiveAvgPool2dSpec>) {
          return {i("output_height", s.output_height), i("output_width", s.output_width)};
        } else if constexpr (std::is_same_v<T, LinearSpec>) {
          return {i("in_features", s.in_features), i("out_features", s.out_features), b("bias", s.bias)};
        } else if constexpr (std::is_same_v<T, ReLUSpec>) {
          return {b("inplace", s.inplace)};
        } else if constexpr (std::is_same_v<T, SoftmaxSpec>) {
          return {i("dim", s.dim)};
        } else if constexpr (std::is_same_v<T, DropoutSpec>) {
          return {Param{"p", s.p, false, false}};
        } else {
          return {};
        }
      },
      spec);
}

std::string params_to_string(const LayerSpec& spec) {
  std::ostringstream out;
  bool first = true;
  for (const auto& p : params(spec)) {
    out << (first ? "" : " ") << p.name << "=";
    if (p.is_bool)
      out << (p.value != 0.0 ? "true" : "false");
    else if (p.is_integer)
      out << static_cast<std::int64_t>(p.value);
    else
      out << p.value;
    first = false;
  }
  return out.str();
}

}  // namespace dle::layers
