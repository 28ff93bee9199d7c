#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "architectures/architecture.hpp"
#include "cli/commands.hpp"
#include "report/inspect_report.hpp"

namespace dle::cli {

namespace {
struct InspectOptions {
  std::string arch;
  std::string model;
  long long batch_size = 1;
  std::string format;
};

void run_inspect(const InspectOptions& o) {
  const arch::Architecture a = arch::resolve(o.arch, o.model);
  const auto inferred = arch::infer(a, o.batch_size);
  if (o.format == "json")
    std::cout << report::inspect_json(inferred).dump(2) << "\n";
  else if (o.format == "csv")
    report::write_inspect_csv(std::cout, inferred);
  else
    report::write_inspect_table(std::cout, inferred);
}
}  // namespace

void setup_inspect(CLI::App& app) {
  auto opts = std::make_shared<InspectOptions>();
  auto* sub = app.add_subcommand("inspect", "Show a network's layers, shapes, MACs and bytes moved.");
  add_network_flags(*sub, opts->arch, opts->model, opts->batch_size, "Batch size (>= 1)");
  add_format_option(*sub, opts->format, {"table", "json", "csv"});
  sub->callback([opts] { run_inspect(*opts); });
}

}  // namespace dle::cli
