// Topic names and filters (table cases in the spirit of Mosquitto's
// util_topic_test.c), the topic hash and the owning worker.
#include <ringcast/core/topic.hpp>
#include <ringcast/core/wire.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <string_view>
#include <vector>

using namespace std::string_view_literals;

static std::span<const std::byte> bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

struct pub_case {
    std::string text;
    size_t max_len;
    ringcast::topic_check want;
};

static std::vector<pub_case> pub_cases() {
    using ringcast::topic_check;
    return {
        {"a", 255, topic_check::ok},
        {"a/b/c", 255, topic_check::ok},
        {"sensors/building-1/floor_2/temp", 255, topic_check::ok},
        {" ", 255, topic_check::ok},
        {"a b/c d", 255, topic_check::ok},
        {"\xc3\xa4/\xc3\xb6/\xe2\x82\xac", 255, topic_check::ok}, // UTF-8
        {"a/$b", 255, topic_check::ok},                           // '$' only matters first
        {"a$", 255, topic_check::ok},
        {std::string(255, 'x'), 255, topic_check::ok},
        {std::string(256, 'x'), 255, topic_check::too_long},
        {"abcd", 4, topic_check::ok},
        {"abcde", 4, topic_check::too_long},
        {"a/b/c/d/e", 8, topic_check::too_long},
        {"", 255, topic_check::empty},
        {std::string("a\0b", 3), 255, topic_check::nul},
        {std::string("\0", 1), 255, topic_check::nul},
        {std::string("a/b\0", 4), 255, topic_check::nul},
        {"$SYS/broker", 255, topic_check::reserved},
        {"$", 255, topic_check::reserved},
        {"$share/g/a", 255, topic_check::reserved},
        {"+", 255, topic_check::wildcard},
        {"#", 255, topic_check::wildcard},
        {"a/+", 255, topic_check::wildcard},
        {"a/#", 255, topic_check::wildcard},
        {"+/b", 255, topic_check::wildcard},
        {"a+", 255, topic_check::wildcard},
        {"a/b#", 255, topic_check::wildcard},
        {"a/+/b", 255, topic_check::wildcard},
        {"a//b", 255, topic_check::empty_level},
        {"/a", 255, topic_check::empty_level},
        {"a/", 255, topic_check::empty_level},
        {"/", 255, topic_check::empty_level},
        {"//", 255, topic_check::empty_level},
    };
}

TEST(topic, checks_pub_topics) {
    for (const auto& c : pub_cases()) {
        SCOPED_TRACE("topic '" + c.text + "' (" + std::to_string(c.text.size()) + " bytes), max " +
                     std::to_string(c.max_len));
        EXPECT_EQ(ringcast::check_pub_topic(bytes_of(c.text), c.max_len), c.want)
            << ringcast::to_string(ringcast::check_pub_topic(bytes_of(c.text), c.max_len));
    }
}

struct filter_case {
    std::string text;
    size_t max_len;
    ringcast::topic_check want;
    bool wildcard; // checked when want == ok
};

static std::vector<filter_case> filter_cases() {
    using ringcast::topic_check;
    return {
        {"a", 255, topic_check::ok, false},
        {"a/b/c", 255, topic_check::ok, false},
        {"a/$b", 255, topic_check::ok, false},
        {std::string(255, 'f'), 255, topic_check::ok, false},
        {"+", 255, topic_check::ok, true},
        {"#", 255, topic_check::ok, true},
        {"a/+", 255, topic_check::ok, true},
        {"a/#", 255, topic_check::ok, true},
        {"+/+/#", 255, topic_check::ok, true},
        {"a/+/b", 255, topic_check::ok, true},
        {"+/a", 255, topic_check::ok, true},
        {"+/+", 255, topic_check::ok, true},
        {"a/+/+/#", 255, topic_check::ok, true},
        {"a/b/c/#", 255, topic_check::ok, true},
        {"a+", 255, topic_check::bad_wildcard, false},
        {"a/#/b", 255, topic_check::bad_wildcard, false},
        {"#a", 255, topic_check::bad_wildcard, false},
        {"a/b#", 255, topic_check::bad_wildcard, false},
        {"+a", 255, topic_check::bad_wildcard, false},
        {"a/b+/c", 255, topic_check::bad_wildcard, false},
        {"a/+b/c", 255, topic_check::bad_wildcard, false},
        {"++", 255, topic_check::bad_wildcard, false},
        {"##", 255, topic_check::bad_wildcard, false},
        {"+#", 255, topic_check::bad_wildcard, false},
        {"#/+", 255, topic_check::bad_wildcard, false},
        {"#/a", 255, topic_check::bad_wildcard, false},
        {"a//b", 255, topic_check::empty_level, false},
        {"/a", 255, topic_check::empty_level, false},
        {"a/", 255, topic_check::empty_level, false},
        {"/#", 255, topic_check::empty_level, false},
        {"+//#", 255, topic_check::empty_level, false},
        {"$share/g/a", 255, topic_check::ok, false},
        {"$share/g/#", 255, topic_check::ok, true},
        {"$share/g/a/+", 255, topic_check::ok, true},
        {"$share/g/+/b/#", 255, topic_check::ok, true},
        {"$share/grp-1/a/b/c", 255, topic_check::ok, false},
        {"$share/$g/a", 255, topic_check::ok, false}, // '$' only matters first
        {"$share/g/a", 10, topic_check::ok, false},   // max_len bounds the whole
        {"$share/g/ab", 10, topic_check::too_long, false},
        {"$share/g", 255, topic_check::bad_share, false},
        {"$share/g/", 255, topic_check::bad_share, false},
        {"$share//a", 255, topic_check::bad_share, false},
        {"$share/", 255, topic_check::bad_share, false},
        {"$share/g+/a", 255, topic_check::bad_share, false},
        {"$share/+/a", 255, topic_check::bad_share, false},
        {"$share/#/a", 255, topic_check::bad_share, false},
        {"$share/#", 255, topic_check::bad_share, false},
        {"$share/g/a+", 255, topic_check::bad_wildcard, false},
        {"$share/g/a/#/b", 255, topic_check::bad_wildcard, false},
        {"$share/g/a//b", 255, topic_check::empty_level, false},
        {"$share/g//a", 255, topic_check::empty_level, false},
        {"$share/g/a/", 255, topic_check::empty_level, false},
        {std::string("$share/g\0/a", 11), 255, topic_check::nul, false},
        {std::string("$share/g/a\0", 11), 255, topic_check::nul, false},
        {"$share/g/$SYS/x", 255, topic_check::reserved, false},
        {"$share/g/$share/h/a", 255, topic_check::reserved, false},
        {"$sharex/g/a", 255, topic_check::reserved, false},
        {"$share", 255, topic_check::reserved, false},
        {"$SHARE/g/a", 255, topic_check::reserved, false},
        {"$SYS/#", 255, topic_check::reserved, false},
        {"$SYS/x", 255, topic_check::reserved, false},
        {"$", 255, topic_check::reserved, false},
        {"", 255, topic_check::empty, false},
        {std::string(256, 'f'), 255, topic_check::too_long, false},
        {"a/+/#", 4, topic_check::too_long, false},
        {"a/#", 3, topic_check::ok, true},
        {std::string("a\0", 2), 255, topic_check::nul, false},
        {std::string("+/\0", 3), 255, topic_check::nul, false},
    };
}

TEST(topic, checks_filters) {
    for (const auto& c : filter_cases()) {
        SCOPED_TRACE("filter '" + c.text + "' (" + std::to_string(c.text.size()) + " bytes), max " +
                     std::to_string(c.max_len));
        ringcast::filter_spec spec;
        const auto got = ringcast::parse_filter(bytes_of(c.text), c.max_len, spec);
        EXPECT_EQ(got, c.want) << ringcast::to_string(got);
        if (c.want == ringcast::topic_check::ok) {
            EXPECT_EQ(spec.wildcard, c.wildcard);
        }
    }
}

struct match_case {
    std::string filter;
    std::string topic;
    bool want;
};

// MQTT 3.1.1 section 4.7 examples, then Mosquitto's and nats-server's kinds.
static std::vector<match_case> match_cases() {
    return {
        {"sport/tennis/player1/#", "sport/tennis/player1", true},
        {"sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
        {"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
        {"sport/tennis/#", "sport/tennis", true},
        {"sport/tennis/#", "sport/tennis/player1/ranking", true},
        {"sport/tennis/#", "sport/tennis2", false},
        {"sport/tennis/#", "sport", false},
        {"sport/tennis/#", "sport/badminton/x", false},
        {"sport/#", "sport", true},
        {"sport/+", "sport/tennis", true},
        {"sport/+", "sport/tennis/x", false},
        {"sport/+", "sport", false},
        {"sport/+/player1", "sport/tennis/player1", true},
        {"sport/+/player1", "sport/tennis/player2", false},
        {"+/tennis/#", "sport/tennis/player1", true},
        {"+/tennis/#", "sport/tennis", true},
        {"+/tennis/#", "sport/golf", false},
        {"#", "a", true},
        {"#", "a/b/c", true},
        {"#", "sport/tennis/player1/score/wimbledon", true},
        {"+", "a", true},
        {"+", "a/b", false},
        {"+/+", "a/b", true},
        {"+/+", "a", false},
        {"+/+", "a/b/c", false},
        {"+/+/+", "a/b/c", true},
        {"+/#", "a", true},
        {"+/#", "a/b/c", true},
        {"a/+/c", "a/b/c", true},
        {"a/+/c", "a/x/c", true},
        {"a/+/c", "a/b/d", false},
        {"a/+/c", "a/c", false},
        {"a/+/c", "a/b/c/d", false},
        {"a/+/+", "a/b/c", true},
        {"a/+/+", "a/b", false},
        {"a/+/#", "a/b", true},
        {"a/+/#", "a", false},
        {"A/B/+/#", "A/B/B/C", true},
        {"a/b/c", "a/b/c", true},
        {"a/b/c", "a/b/c/d", false},
        {"a/b/c", "a/b", false},
        {"a/b/c", "A/b/c", false},
        {"a/b", "a/bc", false},
        {"ab", "a", false},
        {"a", "ab", false},
        {"a/#", "ab", false},
        {"a/#", "b/a", false},
        {"foo/+/#", "fo2/bar/baz", false},
        {"foo/+/baz", "foo/bar/bar", false},
        {"a/$b/+", "a/$b/c", true},
        // A filter starting with a wildcard does not match a '$' topic.
        {"#", "$SYS/x", false},
        {"+/x", "$SYS/x", false},
        {"+", "$", false},
        {"$share/g/#", "a/b", true},
        {"$share/g/a/+", "a/b", true},
        {"$share/g/a/+", "a", false},
        {"$share/g/a/+", "g/a/b", false},
        {"$share/g/g", "g", true},
        {"$share/g/g", "$share/g/g", false},
    };
}

TEST(topic, matches_filters) {
    for (const auto& c : match_cases()) {
        SCOPED_TRACE("filter '" + c.filter + "' topic '" + c.topic + "'");
        ringcast::filter_spec spec;
        ASSERT_EQ(ringcast::parse_filter(bytes_of(c.filter), 255, spec), ringcast::topic_check::ok);
        EXPECT_EQ(ringcast::filter_matches(bytes_of(c.filter), bytes_of(c.topic)), c.want);
    }
}

TEST(topic, match_table_topics_are_valid_pub_topics_but_for_dollar_ones) {
    for (const auto& c : match_cases()) {
        if (c.topic[0] == '$') {
            continue;
        }
        SCOPED_TRACE(c.topic);
        EXPECT_EQ(ringcast::check_pub_topic(bytes_of(c.topic), 255), ringcast::topic_check::ok);
    }
}

TEST(topic, exact_filter_matches_only_itself) {
    for (const auto& c : pub_cases()) {
        if (c.want != ringcast::topic_check::ok) {
            continue;
        }
        SCOPED_TRACE(c.text);
        EXPECT_TRUE(ringcast::filter_matches(bytes_of(c.text), bytes_of(c.text)));
        EXPECT_FALSE(ringcast::filter_matches(bytes_of(c.text), bytes_of(c.text + "/x")));
        EXPECT_FALSE(ringcast::filter_matches(bytes_of(c.text + "/x"), bytes_of(c.text)));
    }
}

static std::string text_of(std::span<const std::byte> b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

TEST(topic, splits_share_filters) {
    struct split_case {
        std::string filter;
        std::string group;
        std::string inner;
        bool wildcard;
    };
    const std::vector<split_case> cases = {
        {"$share/g/a/+", "g", "a/+", true},         {"$share/workers/#", "workers", "#", true},
        {"$share/g/a", "g", "a", false},            {"$share/$g/a/b/c", "$g", "a/b/c", false},
        {"$share/g/share/x", "g", "share/x", false},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.filter);
        ringcast::filter_spec spec;
        ASSERT_EQ(ringcast::parse_filter(bytes_of(c.filter), 255, spec), ringcast::topic_check::ok);
        EXPECT_TRUE(spec.shared());
        EXPECT_EQ(text_of(spec.group), c.group);
        EXPECT_EQ(text_of(spec.filter), c.inner);
        EXPECT_EQ(spec.wildcard, c.wildcard);
        // The hash is the one PUBs on that topic route by, so the group lives with the topic's owner.
        EXPECT_EQ(spec.hash, c.wildcard ? 0 : ringcast::topic_hash(bytes_of(c.inner)));
        EXPECT_EQ(spec.filter.data(), bytes_of(c.filter).data() + (c.filter.size() - c.inner.size()));
    }
}

TEST(topic, plain_filters_do_not_split) {
    for (std::string_view f : {"a", "a/+", "#", "share/g/a", "a/$share/g/b"}) {
        SCOPED_TRACE(f);
        ringcast::filter_spec spec;
        ASSERT_EQ(ringcast::parse_filter(bytes_of(f), 255, spec), ringcast::topic_check::ok);
        EXPECT_FALSE(spec.shared());
        EXPECT_EQ(text_of(spec.filter), f);
        EXPECT_EQ(spec.filter.data(), bytes_of(f).data());
    }
}

TEST(topic, filter_spec_comes_back_from_its_parts) {
    for (std::string_view f : {"a/b", "a/+", "$share/g/a/b", "$share/group/#", "#"}) {
        SCOPED_TRACE(f);
        ringcast::filter_spec spec;
        ASSERT_EQ(ringcast::parse_filter(bytes_of(f), 255, spec), ringcast::topic_check::ok);
        const auto again = ringcast::filter_spec::of(bytes_of(f), spec.group.size(), spec.wildcard, spec.hash);
        EXPECT_EQ(text_of(again.group), text_of(spec.group));
        EXPECT_EQ(text_of(again.filter), text_of(spec.filter));
        EXPECT_EQ(again.filter.data(), spec.filter.data());
        EXPECT_EQ(again.wildcard, spec.wildcard);
        EXPECT_EQ(again.hash, spec.hash);
    }
}

TEST(topic, table_has_at_least_40_cases) {
    EXPECT_GE(filter_cases().size(), 40u);
    EXPECT_GE(match_cases().size(), 40u);
}

TEST(topic, every_valid_pub_topic_is_a_valid_filter_without_wildcard) {
    for (const auto& c : pub_cases()) {
        if (c.want != ringcast::topic_check::ok) {
            continue;
        }
        SCOPED_TRACE(c.text);
        ringcast::filter_spec spec;
        EXPECT_EQ(ringcast::parse_filter(bytes_of(c.text), c.max_len, spec), ringcast::topic_check::ok);
        EXPECT_FALSE(spec.wildcard);
        EXPECT_EQ(spec.hash, ringcast::topic_hash(bytes_of(c.text)));
    }
}

TEST(topic, names_every_check_result) {
    for (auto c : {ringcast::topic_check::ok, ringcast::topic_check::empty, ringcast::topic_check::too_long,
                   ringcast::topic_check::nul, ringcast::topic_check::reserved,
                   ringcast::topic_check::wildcard, ringcast::topic_check::bad_wildcard,
                   ringcast::topic_check::empty_level, ringcast::topic_check::bad_share}) {
        EXPECT_FALSE(ringcast::to_string(c).empty());
        EXPECT_LE(ringcast::to_string(c).size(), ringcast::max_err_reason); // fits an ERR reason
    }
    EXPECT_EQ(ringcast::to_string(ringcast::topic_check::bad_share), "bad $share/GROUP/FILTER");
    EXPECT_EQ(ringcast::to_string(ringcast::topic_check::ok), "ok");
}

TEST(topic, hash_is_deterministic) {
    const std::string t = "sensors/building-1/floor_2/temp";
    const uint64_t h = ringcast::topic_hash(bytes_of(t));
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(ringcast::topic_hash(bytes_of(t)), h);
    }
    const std::string copy = t;
    EXPECT_EQ(ringcast::topic_hash(bytes_of(copy)), h);
}

TEST(topic, hash_differs_for_similar_topics) {
    const std::vector<std::string_view> topics = {
        "a",
        "b",
        "ab",
        "ba",
        "a/b",
        "a/c",
        "b/a",
        "a/b/c",
        "a/b/d",
        "a/b/c/",
        "A/b/c",
        "sensor/1",
        "sensor/2",
        "sensor/10",
        "sensor/01",
        "12345678",
        "12345679",
        "22345678",
        "123456781",
        "123456782",
        "1234567812345678",
        "1234567812345679",
        "abcdefgh/ijklmnop",
        "abcdefgh/ijklmnoq",
        // Equal but for the length: the length seeds the hash.
        "a\0"sv,
        "a\0\0"sv,
        "\0"sv,
        "\0\0"sv,
        "\0\0\0\0\0\0\0\0"sv,
        "\0\0\0\0\0\0\0\0\0"sv,
    };
    std::set<uint64_t> hashes;
    std::set<uint32_t> high_halves;
    for (auto t : topics) {
        hashes.insert(ringcast::topic_hash(bytes_of(t)));
        high_halves.insert(static_cast<uint32_t>(ringcast::topic_hash(bytes_of(t)) >> 32));
    }
    EXPECT_EQ(hashes.size(), topics.size());
    EXPECT_EQ(high_halves.size(), topics.size());
}

TEST(topic, hash_is_the_same_at_any_address_and_alignment) {
    std::string pattern;
    for (int i = 0; i < 40; ++i) {
        pattern.push_back(static_cast<char>('a' + (i * 7) % 26));
    }
    alignas(16) std::array<char, 64> buf{};
    for (size_t len = 0; len <= pattern.size(); ++len) {
        const std::string original = pattern.substr(0, len);
        const uint64_t want = ringcast::topic_hash(bytes_of(original));
        for (size_t align = 0; align < 16; ++align) {
            buf.fill('\xEE'); // bytes around the topic must not matter
            std::memcpy(buf.data() + align, original.data(), len);
            EXPECT_EQ(ringcast::topic_hash(bytes_of({buf.data() + align, len})), want)
                << "len " << len << " align " << align;
        }
    }
}

TEST(topic, owner_is_within_range) {
    for (uint32_t n : {1u, 2u, 3u, 4u, 7u, 8u}) {
        for (int i = 0; i < 2000; ++i) {
            const std::string t = "dev/" + std::to_string(i);
            const uint64_t h = ringcast::topic_hash(bytes_of(t));
            EXPECT_LT(ringcast::topic_owner(h, n), n) << t << " n=" << n;
            EXPECT_EQ(ringcast::topic_owner(h, n), ringcast::topic_owner(h, n));
        }
        for (uint64_t h : {uint64_t{0}, ~uint64_t{0}, uint64_t{1} << 63, uint64_t{0xFFFFFFFF}}) {
            EXPECT_LT(ringcast::topic_owner(h, n), n) << h << " n=" << n;
        }
    }
}

TEST(topic, single_worker_owns_everything) {
    for (uint64_t h : {uint64_t{0}, uint64_t{12345}, ~uint64_t{0}}) {
        EXPECT_EQ(ringcast::topic_owner(h, 1), 0u);
    }
}

static void expect_even_spread(uint32_t n_workers, int n_topics) {
    std::vector<int> counts(n_workers, 0);
    for (int i = 0; i < n_topics; ++i) {
        const std::string t = "site/" + std::to_string(i % 100) + "/dev/" + std::to_string(i) + "/temp";
        ++counts[ringcast::topic_owner(ringcast::topic_hash(bytes_of(t)), n_workers)];
    }
    const double even = static_cast<double>(n_topics) / n_workers;
    for (uint32_t w = 0; w < n_workers; ++w) {
        EXPECT_GE(counts[w], even * 0.8) << "worker " << w << " of " << n_workers;
        EXPECT_LE(counts[w], even * 1.2) << "worker " << w << " of " << n_workers;
    }
}

TEST(topic, owner_spreads_10000_topics_over_4_workers) {
    expect_even_spread(4, 10000);
}

TEST(topic, owner_spreads_topics_over_non_power_of_two_workers) {
    expect_even_spread(3, 10000);
    expect_even_spread(7, 10000);
}

TEST(topic, owner_spreads_short_sequential_topics) {
    // Topics that differ only in a short numeric suffix, the usual naming.
    std::vector<int> counts(4, 0);
    for (int i = 0; i < 10000; ++i) {
        const std::string t = std::to_string(i);
        ++counts[ringcast::topic_owner(ringcast::topic_hash(bytes_of(t)), 4)];
    }
    for (int c : counts) {
        EXPECT_GE(c, 2000);
        EXPECT_LE(c, 3000);
    }
}
