#include "collect/sampling.hpp"

#include <algorithm>
#include <cctype>
#include <random>
#include <set>

#include "architectures/architecture.hpp"
#include "core/errors.hpp"

namespace dle::collect {

namespace {

bool parse_int(const std::string& text, std::int64_t& out) {
  if (text.empty()) return false;
  std::size_t used = 0;
  try {
    out = std::stoll(text, &used);
  } catch (const std::exception&) {
    return false;
  }
  return used == text.size();
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::string cur;
  for (char ch : s) {
    if (ch == sep) {
      parts.push_back(cur);
      cur.clear();
    } else if (ch != ' ') {
      cur += ch;
    }
  }
  parts.push_back(cur);
  return parts;
}

// FNV-1a 64 of the type name, so each layer type draws from its own stream: adding a type to --layers does not
// change the configurations of the others.
std::uint64_t name_hash(const std::string& s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char ch : s) {
    h ^= ch;
    h *= 1099511628211ULL;
  }
  return h;
}

// Uniform integer in [0, n) by rejection, identical on every standard library (std::uniform_int_distribution
// is implementation-defined).
std::uint64_t uniform_below(std::mt19937_64& rng, std::uint64_t n) {
  // Values below 2^64 mod n would make the low residues more likely; drawing again removes the bias.
  const std::uint64_t threshold = (std::uint64_t{0} - n) % n;
  std::uint64_t x;
  do {
    x = rng();
  } while (x < threshold);
  return x % n;
}

// Per range, the optional value it samples (layers::optional_params), or nullptr for a schema parameter; looked
// up once per sample rather than once per draw.
std::vector<const layers::OptionalParam*> optional_of(const std::string& type, const std::vector<ParamRange>& ranges) {
  std::vector<const layers::OptionalParam*> out;
  for (const auto& r : ranges) out.push_back(layers::find_optional_param(type, r.name));
  return out;
}

layers::LayerConfig make_config(const std::string& type, const std::vector<ParamRange>& ranges,
                                const std::vector<const layers::OptionalParam*>& optional,
                                const std::vector<std::uint64_t>& index) {
  layers::LayerConfig cfg;
  cfg.type = type;
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    const std::int64_t v = ranges[i].at(index[i]);
    // An optional value at its default is left out: the configuration keeps the text it had before the value
    // existed (relu without inplace=0).
    if (optional[i] && v == optional[i]->default_value) continue;
    cfg.set(ranges[i].name, static_cast<double>(v));
  }
  return cfg;
}

void require_layer(const Collector& c) {
  if (c.kind != CollectorKind::kLayer)
    throw ConfigError("collector '" + c.name + "' measures whole networks and has no configurations to sample");
}

// Groups rejections by cause: the rule's text for broken rules, the message with its numbers elided otherwise.
std::string rejection_reason(const std::string& problem) {
  const auto open = problem.find("breaks rule `");
  if (open != std::string::npos) {
    const auto close = problem.find('`', open + 13);
    return problem.substr(0, close == std::string::npos ? problem.size() : close + 1);
  }
  std::string out;
  for (std::size_t i = 0; i < problem.size(); ++i) {
    if (std::isdigit(static_cast<unsigned char>(problem[i]))) {
      if (out.empty() || out.back() != 'N') out += 'N';
    } else {
      out += problem[i];
    }
  }
  return out;
}

std::string most_common(const std::map<std::string, std::uint64_t>& rejected) {
  std::string best;
  std::uint64_t n = 0;
  for (const auto& [k, v] : rejected)
    if (v > n) best = k, n = v;
  return n ? " (most frequent rejection, " + std::to_string(n) + " times: " + best + ")" : std::string();
}

}  // namespace

ParamRange parse_range(const std::string& name, const std::string& text) {
  const std::string forms = "use lo:hi, lo:hi:step, a comma list v1,v2,... or a single value";
  ParamRange r;
  r.name = name;
  if (text.find(',') != std::string::npos) {
    for (const auto& part : split(text, ',')) {
      std::int64_t v;
      if (!parse_int(part, v))
        throw ConfigError("range " + name + "=" + text + ": '" + part + "' is not an integer; " + forms);
      r.values.push_back(v);
    }
    std::set<std::int64_t> distinct(r.values.begin(), r.values.end());
    if (distinct.size() != r.values.size())
      throw ConfigError("range " + name + "=" + text + " lists a value twice; list each value once");
    return r;
  }
  const auto parts = split(text, ':');
  std::vector<std::int64_t> nums;
  for (const auto& part : parts) {
    std::int64_t v;
    if (!parse_int(part, v))
      throw ConfigError("range " + name + "=" + text + ": '" + part + "' is not an integer; " + forms);
    nums.push_back(v);
  }
  if (nums.size() == 1) {
    r.values = {nums[0]};
    return r;
  }
  if (nums.size() > 3) throw ConfigError("range " + name + "=" + text + " has too many parts; " + forms);
  r.lo = nums[0];
  r.hi = nums[1];
  if (nums.size() == 3) r.step = nums[2];
  if (r.hi < r.lo)
    throw ConfigError("range " + name + "=" + text + ": upper bound " + std::to_string(r.hi) + " is below lower bound " +
                      std::to_string(r.lo) + "; write lo:hi");
  if (r.step < 1) throw ConfigError("range " + name + "=" + text + ": step " + std::to_string(r.step) + " must be >= 1");
  return r;
}

void check_overrides(const std::vector<std::string>& overrides, const std::vector<std::string>& selected_types,
                     std::vector<std::string>& problems) {
  for (const auto& o : overrides) {
    const auto eq = o.find('=');
    if (eq == std::string::npos || eq == 0) {
      problems.push_back("--range '" + o + "' must look like name=lo:hi or type.name=lo:hi");
      continue;
    }
    const std::string key = o.substr(0, eq);
    const auto dot = key.find('.');
    const std::string type = dot == std::string::npos ? "" : key.substr(0, dot);
    const std::string param = dot == std::string::npos ? key : key.substr(dot + 1);
    bool matched = false;
    std::string known;
    for (const auto& t : selected_types) {
      if (!layers::is_configurable(t)) continue;
      if (!type.empty() && t != type) continue;
      std::vector<std::string> names = layers::config_params(t);
      for (const auto& o : layers::optional_params(t)) names.push_back(o.name);
      for (const auto& p : names) {
        if (p == param) matched = true;
        if (known.find(p) == std::string::npos) known += (known.empty() ? "" : ", ") + p;
      }
    }
    if (!matched)
      problems.push_back("--range " + o + ": no selected layer type" + (type.empty() ? "" : " named '" + type + "'") +
                         " has a parameter '" + param + "'" +
                         (known.empty() ? std::string() : "; parameters: " + known));
  }
}

std::vector<ParamRange> resolve_ranges(const Collector& c, const std::vector<std::string>& overrides,
                                       std::vector<std::string>& problems) {
  std::vector<ParamRange> ranges = c.ranges;
  // Untyped overrides first, then typed ones, so "conv2d.batch_size" wins over "batch_size".
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& o : overrides) {
      const auto eq = o.find('=');
      if (eq == std::string::npos || eq == 0) continue;  // reported by check_overrides
      const std::string key = o.substr(0, eq);
      const auto dot = key.find('.');
      if ((pass == 0) != (dot == std::string::npos)) continue;
      if (dot != std::string::npos && key.substr(0, dot) != c.name) continue;
      const std::string param = dot == std::string::npos ? key : key.substr(dot + 1);
      for (auto& r : ranges) {
        if (r.name != param) continue;
        try {
          r = parse_range(param, o.substr(eq + 1));
        } catch (const ConfigError& e) {
          problems.push_back(c.name + ": " + e.what());
          continue;
        }
        // Every schema parameter is a count of at least 1, but padding, which may be 0: a range reaching below
        // is refused here, by name and value, instead of being found draw by draw.
        const layers::OptionalParam* optional = layers::find_optional_param(c.name, param);
        const std::int64_t smallest = r.values.empty() ? r.lo : *std::min_element(r.values.begin(), r.values.end());
        const std::int64_t least = param == "padding" ? 0 : 1;
        if (!optional && r.size() > 0 && smallest < least)
          problems.push_back(c.name + ": range " + param + "=" + r.to_string() + " holds " + std::to_string(smallest) +
                             "; " + param + " must be >= " + std::to_string(least));
        if (optional) {
          std::string allowed;
          for (auto v : optional->allowed) allowed += (allowed.empty() ? "" : ", ") + std::to_string(v);
          for (std::uint64_t i = 0; i < r.size(); ++i)
            if (std::find(optional->allowed.begin(), optional->allowed.end(), r.at(i)) == optional->allowed.end()) {
              problems.push_back(c.name + ": range " + param + "=" + r.to_string() + " holds " +
                                 std::to_string(r.at(i)) + "; " + param + " takes " + allowed + " (" +
                                 optional->meaning + ")");
              break;
            }
        }
      }
    }
  }
  return ranges;
}

Sample sample_random(const Collector& c, const std::vector<ParamRange>& ranges, std::uint64_t count,
                     std::uint64_t seed) {
  require_layer(c);
  Sample s;
  for (const auto& r : ranges)
    if (r.size() == 0) throw ConfigError(c.name + ": range " + r.name + "=" + r.to_string() + " is empty");
  std::mt19937_64 rng(seed ^ name_hash(c.name));
  std::set<std::string> seen;
  // Enough draws that a plausible fraction of valid configurations is found; beyond that the ranges are too
  // narrow or the rules too strict for the count asked.
  const std::uint64_t max_draws = 1000 * count + 100000;
  std::vector<std::uint64_t> index(ranges.size());
  const auto optional = optional_of(c.name, ranges);
  // Nothing is drawn for an optional value fixed at its default, so that a type's stream of configurations
  // is the one it was before the value existed.
  std::vector<bool> fixed(ranges.size());
  for (std::size_t i = 0; i < ranges.size(); ++i) fixed[i] = fixed_at_default(c.name, ranges[i]);
  while (s.configs.size() < count) {
    if (s.draws >= max_draws) {
      throw ConfigError(c.name + ": found only " + std::to_string(s.configs.size()) + " distinct valid configurations of " +
                        std::to_string(count) + " asked in " + std::to_string(s.draws) +
                        " random draws; widen the ranges (--range) or ask for fewer (--configs)" +
                        most_common(s.rejected));
    }
    ++s.draws;
    for (std::size_t i = 0; i < ranges.size(); ++i) index[i] = fixed[i] ? 0 : uniform_below(rng, ranges[i].size());
    layers::LayerConfig cfg = make_config(c.name, ranges, optional, index);
    const auto problems = check_config(c, cfg);
    if (!problems.empty()) {
      ++s.rejected[rejection_reason(problems.front())];
      continue;
    }
    if (!seen.insert(cfg.to_string()).second) {
      ++s.rejected["duplicate of an earlier draw"];
      continue;
    }
    s.configs.push_back(std::move(cfg));
  }
  return s;
}

Sample sample_grid(const Collector& c, const std::vector<ParamRange>& ranges) {
  require_layer(c);
  Sample s;
  std::uint64_t points = 1;
  for (const auto& r : ranges) {
    if (r.size() == 0) throw ConfigError(c.name + ": range " + r.name + "=" + r.to_string() + " is empty");
    // Both factors stay <= kMaxGridPoints + 1, so the product cannot overflow.
    points = (r.size() > kMaxGridPoints) ? kMaxGridPoints + 1 : std::min(points * r.size(), kMaxGridPoints + 1);
  }
  if (points > kMaxGridPoints) {
    std::string sizes;
    for (const auto& r : ranges) sizes += (sizes.empty() ? "" : " x ") + std::to_string(r.size()) + " " + r.name;
    throw ConfigError(c.name + ": the grid has more than " + std::to_string(kMaxGridPoints) + " points (" + sizes +
                      "); give short value lists with --range name=v1,v2,... or name=lo:hi:step");
  }
  std::vector<std::uint64_t> index(ranges.size(), 0);
  const auto optional = optional_of(c.name, ranges);
  for (std::uint64_t p = 0; p < points; ++p) {
    ++s.draws;
    layers::LayerConfig cfg = make_config(c.name, ranges, optional, index);
    const auto problems = check_config(c, cfg);
    if (problems.empty()) {
      s.configs.push_back(std::move(cfg));
    } else {
      ++s.rejected[rejection_reason(problems.front())];
    }
    for (std::size_t i = ranges.size(); i-- > 0;) {  // odometer: last parameter fastest
      if (++index[i] < ranges[i].size()) break;
      index[i] = 0;
    }
  }
  // Explicit lists may repeat a point only if a list repeats a value, which parse_range refuses.
  return s;
}

Sample sample_from_architectures(const Collector& c, const std::vector<std::string>& architectures,
                                 const std::vector<std::int64_t>& batch_sizes) {
  require_layer(c);
  Sample s;
  std::set<std::string> seen;
  for (const auto& name : architectures) {
    const arch::Architecture a = arch::zoo(name);
    for (const auto batch : batch_sizes) {
      const auto inferred = arch::infer(a, batch);
      for (const auto& l : inferred.layers) {
        if (layers::type_name(l.spec) != c.name) continue;
        ++s.draws;
        layers::LayerConfig cfg = layers::to_config(layers::LayerInstance{l.spec, l.input, batch});
        if (!seen.insert(cfg.to_string()).second) {
          ++s.rejected["duplicate of an earlier layer"];
          continue;
        }
        s.configs.push_back(std::move(cfg));
      }
    }
  }
  return s;
}

}  // namespace dle::collect
