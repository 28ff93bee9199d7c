#pragma once
// Summary statistics as free functions over plain vectors (google/benchmark style).
#include <vector>

namespace dle::stats {

double mean(const std::vector<double>& v);
double median(std::vector<double> v);
// Sample standard deviation (n - 1); 0 for fewer than two values.
double stddev(const std::vector<double>& v);
// Coefficient of variation = stddev / mean; 0 when the mean is 0.
double cv(const std::vector<double>& v);

}  // namespace dle::stats
