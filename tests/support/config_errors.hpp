// What the config parsers' tests share (ringcastd's and ringcast-bridge's):
// the source tree, for the shipped files; every error of a result as text;
// and the check behind their error tables: exactly one error, at the line
// given, naming the key, giving the reason.
#pragma once

#include <ringcast/core/config.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace ringcast::test {

inline std::filesystem::path source_root() {
    if (const char* root = std::getenv("RINGCAST_SOURCE_ROOT")) {
        return root;
    }
    return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
}

inline std::string all_errors(const std::vector<config_error>& errors) {
    std::string s;
    for (const config_error& e : errors) {
        s += e.to_string() + "\n";
    }
    return s;
}

struct error_case {
    std::string name; // the behaviour, as the test's name
    std::string text;
    uint32_t line;      // 0: the error has no position
    std::string key;    // full key the message must name
    std::string reason; // part of the message
};

inline void expect_one_error(const std::vector<config_error>& errors, const error_case& c, std::string_view file) {
    ASSERT_EQ(errors.size(), 1u) << all_errors(errors);
    const std::string e = errors[0].to_string();
    const std::string where = std::string(file) + (c.line == 0 ? ": " : ":" + std::to_string(c.line) + ":");
    EXPECT_TRUE(e.starts_with(where)) << e << "\nexpected it to start with " << where;
    EXPECT_NE(e.find(" " + c.key + ": "), std::string::npos) << e;
    EXPECT_NE(e.find(c.reason), std::string::npos) << e;
}

} // namespace ringcast::test
