// The wildcard filter trie: references and node accounting, refusal when the
// nodes run out, MQTT matching cases, and a randomized cross-check against
// the reference matcher filter_matches.
#include <ringcast/core/filter_trie.hpp>
#include <ringcast/core/topic.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

using ringcast::filter_trie;
using ringcast::no_id;

static std::span<const std::byte> bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

static uint32_t acquire(filter_trie& t, std::string_view f) {
    return t.acquire(bytes_of(f));
}

static uint32_t find(const filter_trie& t, std::string_view f) {
    return t.find(bytes_of(f));
}

// Every node reported for the topic, in report order, repeats kept.
static std::vector<uint32_t> reported(const filter_trie& t, std::string_view topic) {
    std::vector<uint32_t> out;
    t.match(bytes_of(topic), [&](uint32_t node) { out.push_back(node); });
    return out;
}

static std::set<uint32_t> matched(const filter_trie& t, std::string_view topic) {
    const auto r = reported(t, topic);
    return {r.begin(), r.end()};
}

TEST(filter_trie, starts_with_only_the_root) {
    filter_trie t(64, 16);
    EXPECT_EQ(t.capacity(), 64u);
    EXPECT_EQ(t.nodes_in_use(), 1u);
    EXPECT_TRUE(t.empty());
    EXPECT_TRUE(reported(t, "a").empty());
    EXPECT_EQ(find(t, "a"), no_id);
    EXPECT_EQ(find(t, "#"), no_id);
}

TEST(filter_trie, refuses_a_trie_without_room_for_the_root) {
    EXPECT_THROW(filter_trie(0, 16), std::invalid_argument);
}

TEST(filter_trie, a_trie_of_only_the_root_refuses_every_filter) {
    filter_trie t(1, 16);
    EXPECT_EQ(acquire(t, "a"), no_id);
    EXPECT_EQ(acquire(t, "#"), no_id);
    EXPECT_EQ(t.nodes_in_use(), 1u);
    EXPECT_TRUE(t.empty());
}

TEST(filter_trie, adds_one_node_per_new_level) {
    filter_trie t(64, 16);
    const uint32_t abc = acquire(t, "a/b/c");
    ASSERT_NE(abc, no_id);
    EXPECT_EQ(t.nodes_in_use(), 4u); // root, a, a/b, a/b/c
    const uint32_t abd = acquire(t, "a/b/d");
    EXPECT_EQ(t.nodes_in_use(), 5u);
    const uint32_t aplus = acquire(t, "a/+");
    EXPECT_EQ(t.nodes_in_use(), 6u);
    const uint32_t ahash = acquire(t, "a/#");
    EXPECT_EQ(t.nodes_in_use(), 7u);
    const uint32_t a = acquire(t, "a"); // an existing node becomes terminal
    EXPECT_EQ(t.nodes_in_use(), 7u);
    EXPECT_FALSE(t.empty());

    const std::set<uint32_t> ids = {abc, abd, aplus, ahash, a};
    EXPECT_EQ(ids.size(), 5u);
    EXPECT_FALSE(ids.contains(no_id));
    EXPECT_EQ(find(t, "a/b/c"), abc);
    EXPECT_EQ(find(t, "a/b/d"), abd);
    EXPECT_EQ(find(t, "a/+"), aplus);
    EXPECT_EQ(find(t, "a/#"), ahash);
    EXPECT_EQ(find(t, "a"), a);
    // Prefixes and neighbours that no filter ends at.
    EXPECT_EQ(find(t, "a/b"), no_id);
    EXPECT_EQ(find(t, "a/b/e"), no_id);
    EXPECT_EQ(find(t, "a/b/c/d"), no_id);
    EXPECT_EQ(find(t, "+"), no_id);
    EXPECT_EQ(find(t, "b"), no_id);
    EXPECT_EQ(find(t, ""), no_id);
}

TEST(filter_trie, counts_references_on_a_filter) {
    filter_trie t(64, 16);
    const uint32_t id = acquire(t, "x/+/z");
    EXPECT_EQ(acquire(t, "x/+/z"), id);
    EXPECT_EQ(acquire(t, "x/+/z"), id);
    EXPECT_EQ(t.nodes_in_use(), 4u);
    t.release(id);
    t.release(id);
    EXPECT_EQ(find(t, "x/+/z"), id);
    EXPECT_EQ(matched(t, "x/y/z"), std::set<uint32_t>{id});
    EXPECT_FALSE(t.empty());
    t.release(id);
    EXPECT_EQ(find(t, "x/+/z"), no_id);
    EXPECT_TRUE(reported(t, "x/y/z").empty());
    EXPECT_EQ(t.nodes_in_use(), 1u);
    EXPECT_TRUE(t.empty());
}

TEST(filter_trie, release_keeps_nodes_other_filters_need) {
    filter_trie t(64, 16);
    const uint32_t ab = acquire(t, "a/b");
    const uint32_t abc = acquire(t, "a/b/c");
    const uint32_t abh = acquire(t, "a/b/#");
    EXPECT_EQ(t.nodes_in_use(), 5u);
    t.release(abc);
    EXPECT_EQ(t.nodes_in_use(), 4u);
    t.release(ab);
    EXPECT_EQ(t.nodes_in_use(), 4u); // a/b still leads to a/b/#
    EXPECT_EQ(find(t, "a/b"), no_id);
    EXPECT_EQ(find(t, "a/b/#"), abh);
    EXPECT_EQ(matched(t, "a/b"), std::set<uint32_t>{abh});
    t.release(abh);
    EXPECT_EQ(t.nodes_in_use(), 1u);
}

TEST(filter_trie, ignores_release_of_a_node_holding_no_reference) {
    filter_trie t(64, 16);
    const uint32_t id = acquire(t, "a/b");
    const uint32_t a = acquire(t, "a");
    t.release(a);
    t.release(a); // already dropped: a stays, as a/b needs it
    EXPECT_EQ(find(t, "a/b"), id);
    EXPECT_EQ(t.nodes_in_use(), 3u);
    t.release(0);     // the root
    t.release(12345); // out of range
    t.release(no_id);
    EXPECT_EQ(find(t, "a/b"), id);
    EXPECT_EQ(matched(t, "a/b"), std::set<uint32_t>{id});
    EXPECT_EQ(t.nodes_in_use(), 3u);
}

TEST(filter_trie, keeps_node_ids_while_held) {
    filter_trie t(256, 16);
    const uint32_t kept = acquire(t, "md/+/AAPL");
    for (int round = 0; round < 3; ++round) {
        std::vector<uint32_t> others;
        for (int i = 0; i < 40; ++i) {
            others.push_back(acquire(t, "md/v" + std::to_string(i) + "/#"));
            ASSERT_NE(others.back(), no_id);
        }
        for (uint32_t o : others) {
            t.release(o);
        }
        EXPECT_EQ(find(t, "md/+/AAPL"), kept);
        EXPECT_EQ(matched(t, "md/v3/AAPL"), std::set<uint32_t>{kept});
    }
    EXPECT_EQ(t.nodes_in_use(), 4u);
}

TEST(filter_trie, refuses_when_nodes_run_out_and_changes_nothing) {
    filter_trie t(5, 16);
    const uint32_t ab = acquire(t, "a/b");
    ASSERT_NE(ab, no_id);
    EXPECT_EQ(t.nodes_in_use(), 3u);

    EXPECT_EQ(acquire(t, "c/d/e"), no_id);   // needs 3, 2 free
    EXPECT_EQ(acquire(t, "a/x/y/z"), no_id); // shares a, needs 3
    EXPECT_EQ(t.nodes_in_use(), 3u);
    EXPECT_EQ(find(t, "c/d/e"), no_id);
    EXPECT_EQ(find(t, "a/x/y/z"), no_id);
    EXPECT_EQ(matched(t, "a/b"), std::set<uint32_t>{ab});
    EXPECT_TRUE(reported(t, "c/d/e").empty());
    EXPECT_TRUE(reported(t, "a/x/y/z").empty());

    const uint32_t abcd = acquire(t, "a/b/c/#"); // shares a/b, needs exactly 2
    ASSERT_NE(abcd, no_id);
    EXPECT_EQ(t.nodes_in_use(), 5u);
    EXPECT_EQ(acquire(t, "+"), no_id);
    EXPECT_EQ(acquire(t, "#"), no_id);
    EXPECT_EQ(acquire(t, "a/b"), ab);         // a new reference needs no node
    const uint32_t abc = acquire(t, "a/b/c"); // nor does an inner node
    ASSERT_NE(abc, no_id);
    EXPECT_EQ(find(t, "a/b/c"), abc);
    EXPECT_EQ(t.nodes_in_use(), 5u);
    EXPECT_EQ(matched(t, "a/b/c/d"), std::set<uint32_t>{abcd});
    EXPECT_EQ(matched(t, "a/b"), std::set<uint32_t>{ab});
}

TEST(filter_trie, refuses_a_level_longer_than_the_limit) {
    filter_trie t(64, 4);
    EXPECT_EQ(acquire(t, "abcde"), no_id);
    EXPECT_EQ(acquire(t, "a/+/abcde"), no_id); // checked before anything is added
    EXPECT_EQ(t.nodes_in_use(), 1u);
    const uint32_t id = acquire(t, "abcd/+/wxyz");
    ASSERT_NE(id, no_id);
    EXPECT_EQ(matched(t, "abcd/q/wxyz"), std::set<uint32_t>{id});
    EXPECT_TRUE(reported(t, "abcd/q/wxyz0").empty());
}

TEST(filter_trie, refuses_hash_before_the_last_level) {
    filter_trie t(64, 16);
    EXPECT_EQ(acquire(t, "a/#/b"), no_id);
    EXPECT_EQ(acquire(t, "#/b"), no_id);
    EXPECT_EQ(t.nodes_in_use(), 1u);
}

TEST(filter_trie, hash_matches_the_parent_and_everything_below) {
    filter_trie t(64, 16);
    const uint32_t id = acquire(t, "a/#");
    for (std::string_view topic : {"a", "a/b", "a/b/c", "a/b/c/d/e/f"}) {
        SCOPED_TRACE(topic);
        EXPECT_EQ(reported(t, topic), std::vector<uint32_t>{id});
    }
    for (std::string_view topic : {"b", "ab", "b/a", "x/a/b"}) {
        SCOPED_TRACE(topic);
        EXPECT_TRUE(reported(t, topic).empty());
    }
}

TEST(filter_trie, hash_alone_matches_everything) {
    filter_trie t(64, 16);
    const uint32_t id = acquire(t, "#");
    for (std::string_view topic : {"a", "b/c", "sport/tennis/player1/score/wimbledon", " "}) {
        SCOPED_TRACE(topic);
        EXPECT_EQ(reported(t, topic), std::vector<uint32_t>{id});
    }
}

TEST(filter_trie, plus_matches_exactly_one_level) {
    filter_trie t(64, 16);
    const uint32_t plus = acquire(t, "+");
    const uint32_t plus2 = acquire(t, "+/+");
    EXPECT_EQ(matched(t, "a"), std::set<uint32_t>{plus});
    EXPECT_EQ(matched(t, "a/b"), std::set<uint32_t>{plus2});
    EXPECT_TRUE(reported(t, "a/b/c").empty());
}

TEST(filter_trie, compares_level_bytes_exactly) {
    filter_trie t(64, 16);
    const uint32_t a = acquire(t, "x/a");
    const uint32_t ab = acquire(t, "x/ab");
    const uint32_t ya = acquire(t, "y/a"); // the same level under another parent
    EXPECT_EQ(matched(t, "x/a"), std::set<uint32_t>{a});
    EXPECT_EQ(matched(t, "x/ab"), std::set<uint32_t>{ab});
    EXPECT_EQ(matched(t, "y/a"), std::set<uint32_t>{ya});
    EXPECT_TRUE(reported(t, "x/abc").empty());
    EXPECT_TRUE(reported(t, "x/A").empty());
    EXPECT_TRUE(reported(t, "y/ab").empty());
    EXPECT_TRUE(reported(t, "z/a").empty());
}

TEST(filter_trie, matches_the_mqtt_examples) {
    filter_trie t(256, 32);
    const std::vector<std::string> filters = {
        "sport/tennis/player1/#", // 0
        "sport/tennis/#",         // 1
        "sport/+",                // 2
        "#",                      // 3
        "+/+",                    // 4
        "sport/+/player1",        // 5
        "a/+/c",                  // 6
        "+/tennis/#",             // 7
        "sport/tennis/player1",   // 8
        "+",                      // 9
        "sport/#",                // 10
    };
    std::vector<uint32_t> id;
    for (const auto& f : filters) {
        id.push_back(acquire(t, f));
        ASSERT_NE(id.back(), no_id) << f;
    }
    auto ids = [&](std::initializer_list<int> which) {
        std::set<uint32_t> out;
        for (int i : which) {
            out.insert(id[i]);
        }
        return out;
    };
    EXPECT_EQ(matched(t, "sport/tennis/player1"), ids({0, 1, 3, 5, 7, 8, 10}));
    EXPECT_EQ(matched(t, "sport/tennis/player1/ranking"), ids({0, 1, 3, 7, 10}));
    EXPECT_EQ(matched(t, "sport/tennis"), ids({1, 2, 3, 4, 7, 10}));
    EXPECT_EQ(matched(t, "sport"), ids({3, 9, 10}));
    EXPECT_EQ(matched(t, "sport/tennis/x"), ids({1, 3, 7, 10}));
    EXPECT_EQ(matched(t, "a/b/c"), ids({3, 6}));
    EXPECT_EQ(matched(t, "a/b/d"), ids({3}));
    EXPECT_EQ(matched(t, "a/b"), ids({3, 4}));
    EXPECT_EQ(matched(t, "golf/tennis"), ids({3, 4, 7}));
}

TEST(filter_trie, reports_each_filter_once_where_paths_overlap) {
    filter_trie t(256, 16);
    const std::vector<std::string> filters = {"#",     "+/#", "a/#", "+/+/#", "a/+/#", "+/b/#",
                                              "a/b/#", "a/b", "+/b", "a/+",   "+/+",   "a/b/+/#"};
    std::set<uint32_t> all;
    for (const auto& f : filters) {
        all.insert(acquire(t, f));
    }
    ASSERT_EQ(all.size(), filters.size());
    // "a/b" reaches the nodes a, +, a/b, a/+, +/b, +/+ and every one of
    // them has a '#' child: many paths, each filter still reported once.
    std::vector<uint32_t> got = reported(t, "a/b");
    std::sort(got.begin(), got.end());
    std::set<uint32_t> want = all;
    want.erase(find(t, "a/b/+/#"));
    EXPECT_EQ(got, std::vector<uint32_t>(want.begin(), want.end()));
}

TEST(filter_trie, ignores_a_topic_beyond_the_wire_limit) {
    filter_trie t(64, 16);
    (void)acquire(t, "#");
    EXPECT_EQ(reported(t, std::string(255, 'x')).size(), 1u);
    EXPECT_TRUE(reported(t, std::string(256, 'x')).empty());
}

TEST(filter_trie, matches_the_deepest_topic) {
    // 128 one-byte levels fill the 255 bytes the wire allows.
    std::string exact = "a";
    std::string plus = "+";
    std::string mixed = "a";
    for (int i = 1; i < 128; ++i) {
        exact += "/a";
        plus += "/+";
        mixed += i % 2 ? "/+" : "/a";
    }
    ASSERT_EQ(exact.size(), 255u);
    filter_trie t(1024, 16);
    const std::set<uint32_t> want = {acquire(t, exact), acquire(t, plus), acquire(t, mixed),
                                     acquire(t, exact.substr(0, 253) + "/#"), acquire(t, "a/+/#")};
    ASSERT_FALSE(want.contains(no_id));
    const auto got = reported(t, exact);
    EXPECT_EQ(got.size(), want.size());
    EXPECT_EQ(std::set<uint32_t>(got.begin(), got.end()), want);
}

// Random filters over a small alphabet, so that levels, '+' and '#' overlap
// a lot; checked against filter_matches on every held filter.
TEST(filter_trie, agrees_with_the_reference_matcher_on_random_filters) {
    std::mt19937 rng(20240605);
    const std::vector<std::string> letters = {"a", "b", "c", "dd"};
    const std::vector<std::string> topic_letters = {"a", "b", "c", "dd", "e"};
    auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };

    auto random_filter = [&] {
        const size_t levels = 1 + pick(5);
        std::string f;
        for (size_t i = 0; i < levels; ++i) {
            f += i == 0 ? "" : "/";
            const size_t r = pick(20);
            if (i + 1 == levels && r < 3) {
                f += "#";
            } else if (r < 8) {
                f += "+";
            } else {
                f += letters[pick(letters.size())];
            }
        }
        return f;
    };
    auto random_topic = [&] {
        const size_t levels = 1 + pick(6);
        std::string s;
        for (size_t i = 0; i < levels; ++i) {
            s += (i == 0 ? "" : "/") + topic_letters[pick(topic_letters.size())];
        }
        return s;
    };

    filter_trie t(4096, 8);
    std::map<std::string, std::pair<uint32_t, int>> held; // filter -> node, references
    auto check = [&](int topics) {
        // Distinct filters end at distinct nodes.
        std::set<uint32_t> nodes;
        for (const auto& [f, h] : held) {
            nodes.insert(h.first);
            ASSERT_EQ(find(t, f), h.first) << f;
        }
        ASSERT_EQ(nodes.size(), held.size());
        for (int i = 0; i < topics; ++i) {
            const std::string topic = random_topic();
            SCOPED_TRACE(topic);
            std::vector<uint32_t> got = reported(t, topic);
            std::sort(got.begin(), got.end());
            ASSERT_EQ(std::adjacent_find(got.begin(), got.end()), got.end()) << "a node reported twice";
            std::vector<uint32_t> want;
            for (const auto& [f, h] : held) {
                if (ringcast::filter_matches(bytes_of(f), bytes_of(topic))) {
                    want.push_back(h.first);
                }
            }
            std::sort(want.begin(), want.end());
            ASSERT_EQ(got, want);
        }
    };

    for (int i = 0; i < 400; ++i) {
        const std::string f = random_filter();
        ringcast::filter_spec spec;
        ASSERT_EQ(ringcast::parse_filter(bytes_of(f), 255, spec), ringcast::topic_check::ok) << f;
        const uint32_t id = acquire(t, f);
        ASSERT_NE(id, no_id) << f;
        auto& h = held[f];
        if (h.second != 0) {
            ASSERT_EQ(h.first, id) << f;
        }
        h = {id, h.second + 1};
    }
    ASSERT_GT(held.size(), 200u); // enough distinct filters to mean something
    check(3000);

    // Drop about half the references, then check again.
    for (auto it = held.begin(); it != held.end();) {
        if (pick(2) == 0) {
            t.release(it->second.first);
            if (--it->second.second == 0) {
                it = held.erase(it);
                continue;
            }
        }
        ++it;
    }
    check(3000);

    for (const auto& [f, h] : held) {
        for (int r = 0; r < h.second; ++r) {
            t.release(h.first);
        }
    }
    held.clear();
    EXPECT_TRUE(t.empty());
    EXPECT_EQ(t.nodes_in_use(), 1u);
    check(100);
}

TEST(filter_trie, text_gives_back_the_filter_a_node_stands_for) {
    ringcast::filter_trie t(64, 32);
    for (const char* f : {"a/+/c", "a/#", "#", "+", "x/y/z/+/#", "a/b"}) {
        const std::string_view filter(f);
        const uint32_t node = t.acquire(std::as_bytes(std::span(filter.data(), filter.size())));
        ASSERT_NE(node, ringcast::no_id) << f;
        std::array<std::byte, 255> out;
        const size_t n = t.text(node, out);
        EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(out.data()), n), filter);
    }
}
