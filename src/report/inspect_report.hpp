#pragma once
// Writers for `dlenergy inspect`: one row per layer and totals, as a console table, CSV or JSON.
#include <nlohmann/json_fwd.hpp>
#include <ostream>

#include "architectures/architecture.hpp"

namespace dle::report {

nlohmann::json inspect_json(const arch::InferredArchitecture& a);
void write_inspect_table(std::ostream& out, const arch::InferredArchitecture& a);
void write_inspect_csv(std::ostream& out, const arch::InferredArchitecture& a);
nlohmann::json layer_params_json(const layers::LayerSpec& spec);

}  // namespace dle::report
