#pragma once
// Plain tabular output shared by every command: aligned console tables, CSV (RFC 4180 quoting) and
// GitHub markdown. Writers take value objects; nothing here measures or computes.
#include <ostream>
#include <string>
#include <vector>

namespace dle::report {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void add_row(std::vector<std::string> row);  // must have as many cells as the header
  // Columns whose cells are right-aligned in the console (numbers); by index.
  void align_right(std::vector<size_t> columns) { right_ = std::move(columns); }

  void write_text(std::ostream& out) const;
  void write_csv(std::ostream& out) const;
  void write_markdown(std::ostream& out) const;

  const std::vector<std::string>& header() const { return header_; }
  const std::vector<std::vector<std::string>>& rows() const { return rows_; }

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<size_t> right_;
};

std::string csv_escape(const std::string& cell);

// Number formatting used across outputs.
std::string fmt_int(long long v);                  // 714188480
std::string fmt_grouped(long long v);              // 714,188,480
std::string fmt_sig(double v, int significant = 4);  // 0.01234, 1.235e+05
std::string fmt_fixed(double v, int decimals);   // 12.3; from 1e15 up as fmt_sig (7.04e+302)

}  // namespace dle::report
