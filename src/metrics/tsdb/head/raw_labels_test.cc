#include "metrics/tsdb/head/raw_labels.h"

#include <set>

#include "gtest/gtest.h"

namespace sprout::metrics::tsdb {
namespace {

const Labels kUp = Labels::FromStrings({"__name__", "up", "instance", "a:9100", "job", "node"});

TEST(RawLabelsTest, WalksWhatPrometheusSends) {
  const std::string raw = EncodeRawLabels(kUp);
  // The first Label: 0a 0e | 0a 08 "__name__" 12 02 "up".
  EXPECT_EQ(raw.substr(0, 4), std::string("\x0a\x0e\x0a\x08", 4));
  std::vector<std::pair<std::string, std::string>> got;
  EXPECT_TRUE(ForEachRawLabel(raw, [&](std::string_view n, std::string_view v) {
    got.emplace_back(n, v);
    return true;
  }));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[1], (std::pair<std::string, std::string>("instance", "a:9100")));
  EXPECT_EQ(RawLabelsHash(raw), kUp.Hash());
  EXPECT_TRUE(RawLabelsEqual(raw, kUp));
  EXPECT_FALSE(RawLabelsEqual(raw, Labels::FromStrings({"__name__", "up"})));
  EXPECT_FALSE(RawLabelsEqual(EncodeRawLabels(Labels::FromStrings({"__name__", "up"})), kUp));
  EXPECT_EQ(RawLabelsHash(""), Labels().Hash());
}

TEST(RawLabelsTest, ProtobufRulesInsideALabel) {
  // value before name, an unknown varint field 3, a repeated name (the last wins).
  const std::string label = std::string("\x12\x01v\x18\x07\x0a\x01x\x0a\x01n", 11);
  const std::string raw = std::string("\x0a") + static_cast<char>(label.size()) + label;
  std::string name, value;
  EXPECT_TRUE(ForEachRawLabel(raw, [&](std::string_view n, std::string_view v) {
    name = n;
    value = v;
    return true;
  }));
  EXPECT_EQ(name, "n");
  EXPECT_EQ(value, "v");
  EXPECT_TRUE(RawLabelsEqual(raw, Labels::FromStrings({"n", "v"})));
}

TEST(RawLabelsTest, MalformedBytesAreRefused) {
  const std::string raw = EncodeRawLabels(kUp);
  for (size_t cut = 1; cut < raw.size(); ++cut) {
    const std::string_view prefix(raw.data(), cut);
    const bool whole =
        ForEachRawLabel(prefix, [](std::string_view, std::string_view) { return true; });
    // Only prefixes that end at a label boundary are valid.
    if (whole) {
      EXPECT_TRUE(cut == 16 || cut == 36) << cut;
    } else {
      EXPECT_FALSE(RawLabelsHash(prefix).has_value());
      EXPECT_FALSE(RawLabelsEqual(prefix, kUp));
    }
  }
  EXPECT_FALSE(ForEachRawLabel(std::string("\x12\x00", 2), [](auto, auto) { return true; }));
  EXPECT_FALSE(ForEachRawLabel(std::string("\x0a\x02\x1b\x00", 4),
                               [](auto, auto) { return true; }));  // a group inside a Label
}

TEST(RawLabelsTest, AddRawLabelsFeedsABuilder) {
  LabelsBuilder b;
  ASSERT_TRUE(AddRawLabels(EncodeRawLabels(kUp), b));
  EXPECT_EQ(b.Build(), kUp);
}

TEST(RawLabelsTest, SpanInATimeSeries) {
  const std::string labels = EncodeRawLabels(kUp);
  // TimeSeries: labels, then one sample (field 2: 09 <double> 10 <ts>).
  const std::string sample = std::string("\x12\x0b\x09\0\0\0\0\0\0\xf0\x3f\x10\x01", 13);
  const std::string timeseries = labels + sample;
  std::optional<std::string_view> span = RawLabelsSpan(timeseries);
  ASSERT_TRUE(span.has_value());
  EXPECT_EQ(*span, labels);
  EXPECT_EQ(RawLabelsSpan(sample), std::string_view());
  // Interleaved: a label after the sample.
  EXPECT_FALSE(RawLabelsSpan(labels + sample + EncodeRawLabels(Labels::FromStrings({"z", "1"})))
                   .has_value());
  EXPECT_FALSE(RawLabelsSpan(labels.substr(0, 5)).has_value());
}

// Label hashes that share their low bits (what a flooding sender would craft: they land in one
// probe sequence of a table indexed by those bits) are spread by the seeded mix.
TEST(RawLabelsTest, SeededHashSpreadsLabelHashesThatShareLowBits) {
  std::set<uint64_t> low_bits;
  for (uint64_t i = 0; i < 1000; ++i) {
    const uint64_t crafted = i << 32;  // the low 32 bits all zero
    EXPECT_EQ(SeededLabelsHash(crafted), SeededLabelsHash(crafted));  // stable in the process
    low_bits.insert(SeededLabelsHash(crafted) & 0xffff);
  }
  EXPECT_GT(low_bits.size(), 900u);
}

}  // namespace
}  // namespace sprout::metrics::tsdb
