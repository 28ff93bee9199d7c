#pragma once
// Joules inside the program. kWh appears only at the CodeCarbon boundary, through these constants.
namespace dle::units {

inline constexpr double kJoulesPerKwh = 3.6e6;
inline constexpr double kJoulesPerWh = 3600.0;
inline constexpr double kMicrojoulesPerJoule = 1e6;

constexpr double kwh_to_j(double kwh) { return kwh * kJoulesPerKwh; }
constexpr double j_to_kwh(double j) { return j / kJoulesPerKwh; }
constexpr double j_to_wh(double j) { return j / kJoulesPerWh; }
constexpr double uj_to_j(double uj) { return uj / kMicrojoulesPerJoule; }

// Grams of CO2 for an energy at a grid carbon intensity given in g/kWh.
constexpr double co2_grams(double energy_j, double grams_per_kwh) { return j_to_kwh(energy_j) * grams_per_kwh; }

}  // namespace dle::units
