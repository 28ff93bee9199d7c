#include <gtest/gtest.h>
#include <cmath>

#include "core/errors.hpp"
#include "storage/hash.hpp"
#include "storage/network_configs.hpp"
#include "storage/number_format.hpp"
#include "storage/records.hpp"

namespace dle::storage {
namespace {

TEST(StableHash, MatchesFnv1a64ReferenceValues) {
  EXPECT_EQ(stable_hash(""), "cbf29ce484222325");
  EXPECT_EQ(stable_hash("a"), "af63dc4c8601ec8c");
  EXPECT_EQ(stable_hash("foobar"), "85944171f73967e8");
}

TEST(MeasurementKind, RoundTripsThroughText) {
  for (auto k : {MeasurementKind::kLayer, MeasurementKind::kNetwork, MeasurementKind::kNetworkLayer})
    EXPECT_EQ(kind_from_string(to_string(k)), k);
  EXPECT_EQ(to_string(MeasurementKind::kNetworkLayer), "network_layer");
  EXPECT_THROW(kind_from_string("layers"), StorageError);
}

TEST(ItemKey, IsDeterministicTextOfKindArchitectureIndexConfigAndRepeat) {
  MeasurementRecord m;
  m.kind = MeasurementKind::kNetworkLayer;
  m.architecture = "vgg16";
  m.layer_index = 3;
  m.config.type = "relu";
  m.config.set("batch_size", 8);
  m.config.set("input_size", 4096);
  m.repeat = 2;
  m.energy_j = 5;  // measured values are not part of the identity
  EXPECT_EQ(m.item_key(), "network_layer|vgg16|3|relu batch_size=8 input_size=4096|2");
  MeasurementRecord other = m;
  other.energy_j = 7;
  other.note = "x";
  EXPECT_EQ(other.item_key(), m.item_key());
  other.repeat = 3;
  EXPECT_NE(other.item_key(), m.item_key());
}

TEST(RoundTripText, IntegersPlainOthersShortestExact) {
  EXPECT_EQ(round_trip_text(6), "6");
  EXPECT_EQ(round_trip_text(-3), "-3");
  EXPECT_EQ(round_trip_text(0.1), "0.1");
  EXPECT_EQ(round_trip_text(436.09448804196), "436.09448804196");
  EXPECT_EQ(std::stod(round_trip_text(1.0 / 3.0)), 1.0 / 3.0);
  EXPECT_EQ(round_trip_text(std::nan("")), "nan");
}

TEST(NetworkConfigs, ZooNamesNormaliseAndUnknownNamesAreListed) {
  EXPECT_EQ(normalise_zoo_name("VGG16"), "vgg16");
  EXPECT_EQ(normalise_zoo_name("alexnet"), "alexnet");
  try {
    normalise_zoo_name("resnet50");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("resnet50"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("vgg13"), std::string::npos);
  }
}

TEST(NetworkConfigs, ConfigurableLayersUseTheSchemaOthersTheirParams) {
  const auto inferred = arch::infer(arch::zoo("alexnet"), 1);
  const auto conv = network_layer_config(inferred.layers[0], 16);
  EXPECT_EQ(conv.to_string(),
            "conv2d batch_size=16 image_size=224 kernel_size=11 in_channels=3 out_channels=64 stride=4 padding=2");
  EXPECT_EQ(network_layer_config(inferred.layers[13], 16).to_string(),
            "adaptiveavgpool2d batch_size=16 output_height=6 output_width=6");
  EXPECT_EQ(network_layer_config(inferred.layers[15], 16).to_string(), "dropout batch_size=16 p=0.5");
  EXPECT_EQ(network_config(16).to_string(), "network batch_size=16");
}

}  // namespace
}  // namespace dle::storage
