#pragma once
// RFC 4180 CSV reading: comma separated, fields optionally in double quotes, "" inside quotes is one
// quote, quoted fields may hold commas and line breaks; LF or CRLF line ends; a UTF-8 byte-order mark is
// ignored. Each record remembers the line it starts on, so messages can say "file.csv:17".
#include <string>
#include <vector>

namespace dle::storage {

struct CsvRecord {
  std::size_t line = 0;  // 1-based line number where the record starts
  std::vector<std::string> fields;
};

// Parses the whole text. Blank lines are skipped. A quoted field left open at the end of the text, or text
// after a closing quote, is a ConfigError naming `source`:line.
std::vector<CsvRecord> parse_csv(const std::string& text, const std::string& source);

}  // namespace dle::storage
