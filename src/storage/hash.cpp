#include "storage/hash.hpp"

#include <cstdint>
#include <cstdio>

namespace dle::storage {

std::string stable_hash(const std::string& text) {
  constexpr std::uint64_t kOffsetBasis = 0xcbf29ce484222325ULL;
  constexpr std::uint64_t kPrime = 0x100000001b3ULL;
  std::uint64_t h = kOffsetBasis;
  for (unsigned char c : text) {
    h ^= c;
    h *= kPrime;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace dle::storage
