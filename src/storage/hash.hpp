#pragma once
// A stable, platform-independent text hash for identities that are stored in databases and files
// (run settings, imported files, training rows): the same bytes give the same hash on every machine and
// every build, unlike std::hash.
#include <string>

namespace dle::storage {

// FNV-1a 64-bit of the bytes of `text`, as 16 lower-case hex digits ("cbf29ce484222325" for "").
// Not cryptographic: it identifies, it does not authenticate.
std::string stable_hash(const std::string& text);

}  // namespace dle::storage
