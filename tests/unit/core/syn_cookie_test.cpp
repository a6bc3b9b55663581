// SYN cookies: a cookie made for a SYN comes back valid from its final ACK,
// with the MSS and window scale the SYN carried, and anything else (another
// secret, another tuple or ISN, an old counter, a flipped bit) fails.
#include <ringcast/core/syn_cookie.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <set>

using ringcast::check_syn_cookie;
using ringcast::make_syn_cookie;
using ringcast::syn_cookie_secret;
using ringcast::tcp_tuple;

static constexpr syn_cookie_secret secret{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
static constexpr tcp_tuple tuple{.peer_ip = 0xC0000242, .local_ip = 0xC0000201, .peer_port = 40001,
                                 .local_port = 7700};
static constexpr uint32_t peer_isn = 0xdeadbeef;
static constexpr uint32_t max_age = 2;

// The final ACK's numbers for a cookie: ack = cookie + 1, seq = peer ISN + 1.
static auto check(uint32_t cookie, uint32_t counter, const syn_cookie_secret& key = secret,
                  const tcp_tuple& t = tuple, uint32_t isn = peer_isn) {
    return check_syn_cookie(key, t, cookie + 1, isn + 1, counter, max_age);
}

TEST(syn_cookie, a_cookie_is_valid_with_what_the_syn_carried) {
    const uint32_t c = make_syn_cookie(secret, tuple, peer_isn, 1460, true, 7, 100);
    const auto f = check(c, 100);
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(f->mss, 1460);
    EXPECT_TRUE(f->has_wscale);
    EXPECT_EQ(f->wscale, 7);
}

TEST(syn_cookie, remembers_a_syn_without_window_scale) {
    const uint32_t c = make_syn_cookie(secret, tuple, peer_isn, 1460, false, 0, 100);
    const auto f = check(c, 100);
    ASSERT_TRUE(f.has_value());
    EXPECT_FALSE(f->has_wscale);
}

TEST(syn_cookie, round_trips_every_mss_index_and_window_scale) {
    struct mss_case {
        uint16_t sent;
        uint16_t back;
    };
    // The largest table entry not above what the SYN offered; none means 536.
    for (const auto& m : {mss_case{0, 536}, mss_case{536, 536}, mss_case{1219, 536}, mss_case{1220, 1220},
                          mss_case{1400, 1220}, mss_case{1440, 1440}, mss_case{1460, 1460},
                          mss_case{9000, 1460}}) {
        for (uint8_t ws = 0; ws <= 14; ++ws) {
            const uint32_t c = make_syn_cookie(secret, tuple, peer_isn, m.sent, true, ws, 7);
            const auto f = check(c, 7);
            ASSERT_TRUE(f.has_value()) << m.sent << " " << int(ws);
            EXPECT_EQ(f->mss, m.back) << m.sent;
            EXPECT_EQ(f->wscale, ws);
        }
    }
}

TEST(syn_cookie, holds_for_max_age_counter_steps_then_fails) {
    const uint32_t c = make_syn_cookie(secret, tuple, peer_isn, 1460, true, 7, 100);
    EXPECT_TRUE(check(c, 101).has_value());
    EXPECT_TRUE(check(c, 102).has_value());
    EXPECT_FALSE(check(c, 103).has_value());
    EXPECT_FALSE(check(c, 99).has_value()) << "made after now: 15 steps old modulo 16";
    EXPECT_FALSE(check(c, 116).has_value()) << "16 steps later the low bits match again; the hash does not";
    EXPECT_FALSE(check(c, 117).has_value());
}

TEST(syn_cookie, holds_across_the_counter_wrapping) {
    const uint32_t c = make_syn_cookie(secret, tuple, peer_isn, 1460, true, 7, UINT32_MAX);
    EXPECT_TRUE(check(c, UINT32_MAX).has_value());
    EXPECT_TRUE(check(c, 0).has_value());
    EXPECT_TRUE(check(c, 1).has_value());
    EXPECT_FALSE(check(c, 2).has_value());
}

TEST(syn_cookie, fails_under_another_secret_tuple_or_isn) {
    const uint32_t c = make_syn_cookie(secret, tuple, peer_isn, 1460, true, 7, 100);
    EXPECT_FALSE(check(c, 100, syn_cookie_secret{secret.k0 ^ 1, secret.k1}).has_value());
    EXPECT_FALSE(check(c, 100, syn_cookie_secret{secret.k0, secret.k1 ^ (1ULL << 63)}).has_value());
    tcp_tuple t[4] = {tuple, tuple, tuple, tuple};
    t[0].peer_ip ^= 1;
    t[1].local_ip ^= 0x100;
    t[2].peer_port ^= 1;
    t[3].local_port ^= 1;
    for (int i = 0; i < 4; ++i) {
        EXPECT_FALSE(check(c, 100, secret, t[i]).has_value()) << "field " << i;
    }
    EXPECT_FALSE(check(c, 100, secret, tuple, peer_isn + 1).has_value());
}

TEST(syn_cookie, fails_with_any_bit_flipped) {
    const uint32_t c = make_syn_cookie(secret, tuple, peer_isn, 1460, true, 7, 100);
    for (int bit = 0; bit < 32; ++bit) {
        EXPECT_FALSE(check(c ^ (1u << bit), 100).has_value()) << "bit " << bit;
    }
}

TEST(syn_cookie, random_acks_pass_about_once_in_four_million) {
    // 22 hash bits: of 2^16 forged ACKs, next to none should pass.
    const uint32_t c = make_syn_cookie(secret, tuple, peer_isn, 1460, true, 7, 100);
    int passed = 0;
    uint32_t x = 12345;
    for (int i = 0; i < 65536; ++i) {
        x = x * 1664525u + 1013904223u;
        if (x != c) {
            passed += check(x, 100).has_value() ? 1 : 0;
        }
    }
    EXPECT_LE(passed, 2);
}

TEST(syn_cookie, cookies_differ_per_tuple) {
    std::set<uint32_t> seen;
    for (uint16_t port = 40000; port < 40100; ++port) {
        tcp_tuple t = tuple;
        t.peer_port = port;
        seen.insert(make_syn_cookie(secret, t, peer_isn, 1460, true, 7, 100));
    }
    EXPECT_EQ(seen.size(), 100u);
}

TEST(syn_cookie, keyed_hash_depends_on_every_input) {
    const uint64_t h = ringcast::keyed_hash3(secret, 1, 2, 3);
    EXPECT_EQ(h, ringcast::keyed_hash3(secret, 1, 2, 3));
    EXPECT_NE(h, ringcast::keyed_hash3(secret, 2, 1, 3));
    EXPECT_NE(h, ringcast::keyed_hash3(secret, 1, 2, 4));
    EXPECT_NE(h, ringcast::keyed_hash3(syn_cookie_secret{1, 2}, 1, 2, 3));
}
