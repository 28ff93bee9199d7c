#pragma once
// A name -> entry registry used for sensors, collectors and predictors. Entries are added by explicit
// register_builtin_*() calls (self-registering statics vanish from static libraries). Looking up an
// unknown name is a ConfigError that lists every valid name.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/errors.hpp"

namespace dle {

template <typename Entry>
class Registry {
 public:
  explicit Registry(std::string what) : what_(std::move(what)) {}

  void add(const std::string& name, Entry entry) {
    if (entries_.count(name)) throw Error("internal: " + what_ + " '" + name + "' registered twice");
    order_.push_back(name);
    entries_.emplace(name, std::move(entry));
  }

  bool contains(const std::string& name) const { return entries_.count(name) != 0; }

  const Entry& get(const std::string& name) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) {
      throw ConfigError("unknown " + what_ + " '" + name + "'; valid names: " + names_joined());
    }
    return it->second;
  }

  // Names in registration order.
  const std::vector<std::string>& names() const { return order_; }

  std::string names_joined(const std::string& sep = ", ") const {
    std::string out;
    for (const auto& n : order_) out += (out.empty() ? "" : sep) + n;
    return out;
  }

 private:
  std::string what_;
  std::vector<std::string> order_;
  std::map<std::string, Entry> entries_;
};

}  // namespace dle
