#include <gtest/gtest.h>

#include "core/errors.hpp"
#include "storage/csv_reader.hpp"

namespace dle::storage {
namespace {

TEST(CsvReader, QuotedFieldsHoldCommasQuotesAndLineBreaks) {
  const std::string text =
      "a,b,c\n"
      "1,\"x,y\",3\n"
      "\"he said \"\"hi\"\"\",,\"two\nlines\"\r\n"
      "\n"
      "last,row,here";
  const auto rows = parse_csv(text, "t.csv");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].fields, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(rows[1].fields, (std::vector<std::string>{"1", "x,y", "3"}));
  EXPECT_EQ(rows[2].fields, (std::vector<std::string>{"he said \"hi\"", "", "two\nlines"}));
  EXPECT_EQ(rows[3].fields, (std::vector<std::string>{"last", "row", "here"}));
  EXPECT_EQ(rows[0].line, 1u);
  EXPECT_EQ(rows[1].line, 2u);
  EXPECT_EQ(rows[2].line, 3u);
  EXPECT_EQ(rows[3].line, 6u);  // line 4 ends the quoted field, line 5 is blank
}

TEST(CsvReader, ByteOrderMarkIsIgnoredAndTrailingEmptyFieldKept) {
  const auto rows = parse_csv("\xEF\xBB\xBFx,y\n1,\n", "t.csv");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].fields[0], "x");
  EXPECT_EQ(rows[1].fields, (std::vector<std::string>{"1", ""}));
}

TEST(CsvReader, UnclosedQuoteNamesFileAndLine) {
  try {
    parse_csv("a,b\n1,\"open\n2,3\n", "broken.csv");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("broken.csv:2"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dle::storage
