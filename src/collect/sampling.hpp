#pragma once
// Configuration sampling for layer collectors: random (seeded, reproducible), grid, and the distinct
// configurations of the zoo's real layers. Every sampler returns distinct configurations (a configuration's
// text is part of its measurement key) and counts the rejections per broken rule.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "collect/collectors.hpp"
#include "layers/layer_config.hpp"

namespace dle::collect {

// Parses a range value for parameter `name`: "lo:hi", "lo:hi:step", "v1,v2,..." or "v". ConfigError naming
// the text and the accepted forms.
ParamRange parse_range(const std::string& name, const std::string& text);

// The collector's default ranges with user overrides applied. An override is "param=RANGE" (every selected
// type that has the parameter) or "type.param=RANGE" (that type only). Overrides are matched against
// `selected_types`; one that matches no selected type is a ConfigError. Problems are appended, not thrown.
std::vector<ParamRange> resolve_ranges(const Collector& c, const std::vector<std::string>& overrides,
                                       std::vector<std::string>& problems);
// Checks that every override names a parameter of at least one selected type ("problems" as above).
void check_overrides(const std::vector<std::string>& overrides, const std::vector<std::string>& selected_types,
                     std::vector<std::string>& problems);

struct Sample {
  std::vector<layers::LayerConfig> configs;
  std::map<std::string, std::uint64_t> rejected;  // "<type>: breaks rule `<text>`" (or the problem) -> count
  std::uint64_t draws = 0;                       // random: draws made; grid: points visited
};

// `count` distinct valid configurations, drawn uniformly per parameter from `ranges` with an mt19937_64 seeded
// from (seed, type name): the same seed gives the same list on every platform (no std distributions).
// ConfigError when the ranges admit fewer valid configurations than asked for.
Sample sample_random(const Collector& c, const std::vector<ParamRange>& ranges, std::uint64_t count,
                     std::uint64_t seed);

// Every valid point of the Cartesian product of the ranges, in odometer order (last parameter fastest).
// ConfigError when the product has more than kMaxGridPoints points.
inline constexpr std::uint64_t kMaxGridPoints = 1'000'000;
Sample sample_grid(const Collector& c, const std::vector<ParamRange>& ranges);

// The distinct configurations of the layers of type c.name in the given zoo networks, at each batch size, in
// network order.
Sample sample_from_architectures(const Collector& c, const std::vector<std::string>& architectures,
                                 const std::vector<std::int64_t>& batch_sizes);

}  // namespace dle::collect
