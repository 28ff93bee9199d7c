#include "report/inspect_report.hpp"

#include <nlohmann/json.hpp>

#include "report/table.hpp"

namespace dle::report {

using nlohmann::json;

json layer_params_json(const layers::LayerSpec& spec) {
  json p = json::object();
  for (const auto& prm : layers::params(spec)) {
    if (prm.is_bool)
      p[prm.name] = prm.value != 0.0;
    else if (prm.is_integer)
      p[prm.name] = static_cast<long long>(prm.value);
    else
      p[prm.name] = prm.value;
  }
  return p;
}

json inspect_json(const arch::InferredArchitecture& a) {
  json j;
  j["architecture"] = a.name;
  j["batch_size"] = a.batch;
  j["input_shape"] = a.input;
  j["layers"] = json::array();
  for (const auto& l : a.layers) {
    j["layers"].push_back({{"index", l.index},
                           {"type", layers::type_name(l.spec)},
                           {"params", layer_params_json(l.spec)},
                           {"input_shape", l.input},
                           {"output_shape", l.output},
                           {"macs", l.counts.macs},
                           {"flops", l.counts.flops},
                           {"bytes", l.counts.bytes}});
  }
  j["total"] = {{"macs", a.total.macs}, {"flops", a.total.flops}, {"bytes", a.total.bytes},
                {"params", a.total.params}};
  return j;
}

namespace {
Table inspect_table(const arch::InferredArchitecture& a, bool grouped) {
  Table t({"index", "type", "params", "input_shape", "output_shape", "macs", "flops", "bytes"});
  t.align_right({0, 5, 6, 7});
  auto num = [&](long long v) { return grouped ? fmt_grouped(v) : fmt_int(v); };
  for (const auto& l : a.layers)
    t.add_row({std::to_string(l.index), layers::type_name(l.spec), layers::params_to_string(l.spec),
               layers::shape_to_string(l.input), layers::shape_to_string(l.output), num(l.counts.macs),
               num(l.counts.flops), num(l.counts.bytes)});
  t.add_row({"total", "", "", layers::shape_to_string(a.input),
             a.layers.empty() ? "" : layers::shape_to_string(a.layers.back().output), num(a.total.macs),
             num(a.total.flops), num(a.total.bytes)});
  return t;
}
}  // namespace

void write_inspect_table(std::ostream& out, const arch::InferredArchitecture& a) {
  out << a.name << " at batch size " << a.batch << " (input " << layers::shape_to_string(a.input)
      << " per sample; " << a.layers.size() << " layers; " << fmt_grouped(a.total.params) << " parameters)\n";
  inspect_table(a, true).write_text(out);
  out << "macs exclude bias adds; flops = 2*macs + bias adds (+1 per element for pooling/activations); bytes = "
         "(input + output) * batch * 4 + parameters * 4 (float32)\n";
}

void write_inspect_csv(std::ostream& out, const arch::InferredArchitecture& a) {
  inspect_table(a, false).write_csv(out);
}

}  // namespace dle::report
