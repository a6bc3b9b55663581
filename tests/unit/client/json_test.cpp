// parse_json on good and bad documents, table style: what the CLI reads from
// the DPDK telemetry socket must come out exact (u64 counters), and bad
// input must fail with the offset of the fault, never crash.
#include <ringcast/client/json.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace ringcast {
namespace {

TEST(json, shouldReadATelemetryReplyWithNestedDictionaries) {
    const json_value v = parse_json(R"({"/ringcast/stats": {"rx_packets": 12, "deliveries": 34,
        "drops": {"runt": 0, "malformed": 2}, "mempools": {"rc_hdr": {"size": 16383, "in_use": 5}}}})");
    const json_value& st = v["/ringcast/stats"];
    ASSERT_TRUE(st.is_object());
    EXPECT_EQ(st["rx_packets"].as_u64(), 12u);
    EXPECT_EQ(st["deliveries"].as_u64(), 34u);
    EXPECT_EQ(st["drops"]["malformed"].as_u64(), 2u);
    EXPECT_EQ(st["mempools"]["rc_hdr"]["in_use"].as_u64(), 5u);
    // Members keep document order.
    ASSERT_EQ(st["drops"].size(), 2u);
    EXPECT_EQ(st["drops"].key(0), "runt");
    EXPECT_EQ(st["drops"].key(1), "malformed");
    EXPECT_EQ(st["drops"].at(1).as_u64(), 2u);
}

TEST(json, shouldKeepU64CountersExactBeyondADouble) {
    EXPECT_EQ(parse_json("18446744073709551615").as_u64(), UINT64_MAX);
    EXPECT_EQ(parse_json("9007199254740993").as_u64(), 9007199254740993u); // 2^53 + 1
    EXPECT_EQ(parse_json("0").as_u64(7), 0u);
}

TEST(json, shouldGiveTheFallbackForWhatIsNotAnUnsignedInteger) {
    struct row {
        std::string_view text;
        uint64_t want;
    };
    const row rows[] = {
        {"-1", 99},    {"1.5", 99},  {"1e3", 99},  {"18446744073709551616", 99}, // one past u64
        {"\"7\"", 99}, {"true", 99}, {"null", 99}, {"[]", 99},
    };
    for (const auto& r : rows) {
        EXPECT_EQ(parse_json(r.text).as_u64(99), r.want) << r.text;
    }
}

TEST(json, shouldReadEveryKindOfValue) {
    const json_value v = parse_json(R"( [null, true, false, -2.5e1, "s", [], {}] )");
    ASSERT_TRUE(v.is_array());
    ASSERT_EQ(v.size(), 7u);
    EXPECT_TRUE(v.at(0).is_null());
    EXPECT_TRUE(v.at(1).as_bool());
    EXPECT_FALSE(v.at(2).as_bool(true));
    EXPECT_EQ(v.at(2).type(), json_value::kind::boolean);
    EXPECT_DOUBLE_EQ(v.at(3).as_double(), -25.0);
    EXPECT_EQ(v.at(4).as_string(), "s");
    EXPECT_TRUE(v.at(5).is_array());
    EXPECT_EQ(v.at(5).size(), 0u);
    EXPECT_TRUE(v.at(6).is_object());
    EXPECT_EQ(v.at(6).size(), 0u);
}

TEST(json, shouldDecodeEscapesToUtf8) {
    struct row {
        std::string_view text;
        std::string_view want;
    };
    const row rows[] = {
        {R"("a\"b\\c\/d")", "a\"b\\c/d"},
        {R"("\b\f\n\r\t")", "\b\f\n\r\t"},
        {R"("\u0041")", "A"},
        {R"("\u00e9")", "\xc3\xa9"},
        {R"("\u20AC")", "\xe2\x82\xac"},
        {R"("\ud83d\ude00")", "\xf0\x9f\x98\x80"}, // surrogate pair
        {"\"caf\xc3\xa9\"", "caf\xc3\xa9"},        // raw UTF-8 passes through
    };
    for (const auto& r : rows) {
        EXPECT_EQ(parse_json(r.text).as_string(), r.want) << r.text;
    }
}

TEST(json, shouldRefuseBadDocumentsWithTheOffsetOfTheFault) {
    struct row {
        std::string_view text;
        size_t offset;
    };
    const row rows[] = {
        {"", 0},          {"   ", 3},         {"{", 1},
        {"{\"a\" 1}", 5}, {"{\"a\":1,}", 7},  {"{a:1}", 1},
        {"[1,]", 3},      {"[1 2]", 3},       {"01", 0},
        {"1.", 2},        {".5", 0},          {"-", 1},
        {"1e", 2},        {"tru", 0},         {"nul", 0},
        {"\"abc", 4},     {"\"a\nb\"", 2},    {R"("\x")", 1},
        {R"("\u12")", 3}, {R"("\ud83d")", 7}, {R"("\ude00")", 7},
        {"{} x", 3},      {"1 2", 2},
    };
    for (const auto& r : rows) {
        try {
            (void)parse_json(r.text);
            ADD_FAILURE() << "accepted: " << r.text;
        } catch (const json_error& e) {
            EXPECT_EQ(e.offset(), r.offset) << r.text << ": " << e.what();
            EXPECT_NE(std::string(e.what()).find("JSON offset"), std::string::npos);
        }
    }
}

TEST(json, shouldRefuseNestingBeyondTheLimitWithoutExhaustingTheStack) {
    const std::string ok = std::string(json_max_depth, '[') + std::string(json_max_depth, ']');
    EXPECT_TRUE(parse_json(ok).is_array());
    const std::string deep(100000, '[');
    EXPECT_THROW((void)parse_json(deep), json_error);
}

TEST(json, shouldAnswerLookupsOnAnythingWithoutThrowing) {
    const json_value v = parse_json(R"({"a": 1, "a": 2, "s": "x"})");
    EXPECT_EQ(v["a"].as_u64(), 1u); // the first of duplicate names
    EXPECT_EQ(v.find("missing"), nullptr);
    EXPECT_TRUE(v["missing"]["deeper"].is_null());
    EXPECT_EQ(v["s"]["x"].as_u64(5), 5u);
    EXPECT_EQ(v["a"].as_string(), "");
    EXPECT_EQ(v["s"].find("x"), nullptr);
}

TEST(json, shouldReadDpdkNullForAnUnknownCommand) {
    const json_value v = parse_json(R"({"/no/such":null})");
    ASSERT_NE(v.find("/no/such"), nullptr);
    EXPECT_TRUE(v["/no/such"].is_null());
}

} // namespace
} // namespace ringcast
