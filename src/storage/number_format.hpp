#pragma once
// Numbers as text for files that are read back by programs (CSV export, notes): integers without a decimal
// point, other values with the fewest significant digits that read back to the same double, "nan"/"inf"
// for the non-finite ones.
#include <string>

namespace dle::storage {

std::string round_trip_text(double v);

}  // namespace dle::storage
