#include "report/table.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace dle::report {

void Table::add_row(std::vector<std::string> row) {
  if (row.size() != header_.size())
    throw std::logic_error("internal: table row has " + std::to_string(row.size()) + " cells, header has " +
                           std::to_string(header_.size()));
  rows_.push_back(std::move(row));
}

void Table::write_text(std::ostream& out) const {
  std::vector<size_t> width(header_.size());
  for (size_t c = 0; c < header_.size(); ++c) width[c] = header_[c].size();
  for (const auto& r : rows_)
    for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (size_t c = 0; c < cells.size(); ++c) {
      const bool right = std::find(right_.begin(), right_.end(), c) != right_.end();
      const std::string pad(width[c] - cells[c].size(), ' ');
      s += right ? pad + cells[c] : cells[c] + (c + 1 < cells.size() ? pad : "");
      if (c + 1 < cells.size()) s += "  ";
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out << s << '\n';
  };
  line(header_);
  std::vector<std::string> rule;
  for (size_t w : width) rule.emplace_back(w, '-');
  line(rule);
  for (const auto& r : rows_) line(r);
}

std::string csv_escape(const std::string& cell) {
  if (cell.find_first_of(",\"\n\r") == std::string::npos) return cell;
  std::string out = "\"";
  for (char ch : cell) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

void Table::write_csv(std::ostream& out) const {
  auto line = [&](const std::vector<std::string>& cells) {
    for (size_t c = 0; c < cells.size(); ++c) out << (c ? "," : "") << csv_escape(cells[c]);
    out << '\n';
  };
  line(header_);
  for (const auto& r : rows_) line(r);
}

void Table::write_markdown(std::ostream& out) const {
  auto line = [&](const std::vector<std::string>& cells) {
    out << '|';
    for (const auto& c : cells) {
      std::string esc;
      for (char ch : c) esc += ch == '|' ? std::string("\\|") : std::string(1, ch);
      out << ' ' << esc << " |";
    }
    out << '\n';
  };
  line(header_);
  out << '|';
  for (size_t c = 0; c < header_.size(); ++c)
    out << (std::find(right_.begin(), right_.end(), c) != right_.end() ? "---:|" : "---|");
  out << '\n';
  for (const auto& r : rows_) line(r);
}

std::string fmt_int(long long v) { return std::to_string(v); }

std::string fmt_grouped(long long v) {
  std::string digits = std::to_string(v < 0 ? -v : v);
  std::string out;
  int n = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it, ++n) {
    if (n && n % 3 == 0) out += ',';
    out += *it;
  }
  if (v < 0) out += '-';
  return std::string(out.rbegin(), out.rend());
}

std::string fmt_sig(double v, int significant) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", significant, v);
  return buf;
}

std::string fmt_fixed(double v, int decimals) {
  char buf[64];
  // Beyond 1e15 fixed notation is digits no one reads (a MAPE of 7e302 % is 303 of them): scientific, 4 digits.
  if (std::fabs(v) >= 1e15) return fmt_sig(v, 4);
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

}  // namespace dle::report
