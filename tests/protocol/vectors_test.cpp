#include "protocol/codec.hpp"

#include "tests/support/packet_json.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>

namespace {

using namespace parley::protocol;
using json = nlohmann::ordered_json;

json load_vectors() {
    const char* dir = std::getenv("PARLEY_SOURCE_DIR");
    std::ifstream in(std::string(dir ? dir : ".") + "/tests/vectors/packets.json");
    EXPECT_TRUE(in.good()) << "tests/vectors/packets.json not found (PARLEY_SOURCE_DIR)";
    return in.good() ? json::parse(in) : json::object();
}

bytes from_hex(const std::string& hex) {
    bytes b;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) b.push_back(static_cast<std::uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
    return b;
}

TEST(Vectors, EveryVectorDecodesToItsFieldsAndReEncodesToItsBytes) {
    const json doc = load_vectors();
    ASSERT_GE(doc["vectors"].size(), 30u);
    std::set<std::string> kinds;
    for (const auto& v : doc["vectors"]) {
        const std::string name = v["name"];
        const bytes wire = from_hex(v["hex"]);
        auto decoded = decode_message(wire);
        ASSERT_TRUE(decoded.has_value()) << name << ": " << error_name(decoded.error());
        std::vector<packet> expected;
        for (const auto& pj : v["packets"]) expected.push_back(parley::testing::packet_from_json(pj));
        ASSERT_EQ(*decoded, expected) << name;
        for (const auto& p : expected) kinds.insert(std::string(kind_name(kind_of(p))));

        auto re = v["batch"].get<bool>() ? encode_batch(expected) : encode(expected.front());
        ASSERT_TRUE(re.has_value()) << name;
        EXPECT_EQ(*re, wire) << name << ": re-encoding differs";
    }
    EXPECT_EQ(kinds.size(), std::variant_size_v<packet>) << "every kind needs a vector";
}

TEST(Vectors, EveryErrorVectorFailsWithItsCode) {
    const json doc = load_vectors();
    std::set<std::string> seen;
    for (const auto& v : doc["errors"]) {
        const std::string expected = v["error"];
        auto r = decode_message(from_hex(v["hex"]));
        ASSERT_FALSE(r.has_value()) << v["name"];
        EXPECT_EQ(error_name(r.error()), expected) << v["name"];
        seen.insert(expected);
    }
    EXPECT_EQ(seen.size(), max_decode_error) << "every decode error needs a vector";
}

TEST(Vectors, JsonFormIsLossless) {
    const json doc = load_vectors();
    for (const auto& v : doc["vectors"])
        for (const auto& pj : v["packets"])
            EXPECT_EQ(parley::testing::packet_to_json(parley::testing::packet_from_json(pj)), pj) << v["name"];
}

}  // namespace
