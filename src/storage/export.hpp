#pragma once
// Writers for `dlenergy export`: one row per measurement, CSV (header line first, RFC 4180 quoting) or JSON
// ({"measurements": [...]}). They take records; reading them from a store is the caller's job.
#include <ostream>
#include <string>
#include <vector>

#include "storage/records.hpp"

namespace dle::storage {

// The fixed columns, in order, before the configuration columns and the final "note" column.
const std::vector<std::string>& export_fixed_columns();

// Union of the configuration parameter names of `ms`, in schema order: the names of
// layers::config_params() for conv2d, maxpool2d, linear, relu, sigmoid, tanh, softmax (batch_size,
// image_size, kernel_size, in_channels, out_channels, stride, padding, input_size, output_size), then any
// other names (dropout's p, adaptiveavgpool2d's output_height, ...) in order of first appearance.
std::vector<std::string> export_config_columns(const std::vector<MeasurementRecord>& ms);

// CSV: fixed columns, configuration columns (empty where a measurement lacks the parameter), note. Numbers in
// shortest round-trip form; NaN (unknown) as "nan"; booleans as true/false.
void write_measurements_csv(std::ostream& out, const std::vector<MeasurementRecord>& ms);
// JSON: the same fields per measurement plus "config" (an object in schema order) and "domains"
// ([{"name", "energy_j"}]); NaN as null.
void write_measurements_json(std::ostream& out, const std::vector<MeasurementRecord>& ms);

}  // namespace dle::storage
