#include "report/table.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace dle::report {
namespace {

Table sample() {
  Table t({"layer", "energy_j", "note"});
  t.align_right({1});
  t.add_row({"conv2d", "12.5", "predicted"});
  t.add_row({"dropout", "0", "0 J, by definition"});
  return t;
}

TEST(Table, TextGolden) {
  std::ostringstream o;
  sample().write_text(o);
  EXPECT_EQ(o.str(),
            "layer    energy_j  note\n"
            "-------  --------  ------------------\n"
            "conv2d       12.5  predicted\n"
            "dropout         0  0 J, by definition\n");
}

TEST(Table, CsvGoldenQuotesCommas) {
  std::ostringstream o;
  sample().write_csv(o);
  EXPECT_EQ(o.str(), "layer,energy_j,note\nconv2d,12.5,predicted\ndropout,0,\"0 J, by definition\"\n");
  EXPECT_EQ(csv_escape("a\"b"), "\"a\"\"b\"");
}

TEST(Table, MarkdownGolden) {
  std::ostringstream o;
  sample().write_markdown(o);
  EXPECT_EQ(o.str(),
            "| layer | energy_j | note |\n|---|---:|---|\n| conv2d | 12.5 | predicted |\n"
            "| dropout | 0 | 0 J, by definition |\n");
}

TEST(Table, RowWidthMustMatchHeader) { EXPECT_THROW(sample().add_row({"x"}), std::logic_error); }

TEST(Format, Numbers) {
  EXPECT_EQ(fmt_grouped(714188480), "714,188,480");
  EXPECT_EQ(fmt_grouped(-1234), "-1,234");
  EXPECT_EQ(fmt_grouped(12), "12");
  EXPECT_EQ(fmt_sig(0.000123456, 3), "0.000123");
  EXPECT_EQ(fmt_fixed(2.5, 2), "2.50");
  EXPECT_EQ(fmt_fixed(999999999999999.0, 1), "999999999999999.0");
  EXPECT_EQ(fmt_fixed(7.0397497866e302, 1), "7.04e+302");  // not 303 digits
  EXPECT_EQ(fmt_fixed(-1e16, 1), "-1e+16");
}

}  // namespace
}  // namespace dle::report
