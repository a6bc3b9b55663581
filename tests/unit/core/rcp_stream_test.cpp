// RCP/1 frames out of a byte stream: whole frames handed on in place,
// frames split anywhere (every cut of a stream, and byte by byte) put
// together in the bounded buffer, and a stream that breaks framing dead.
#include <ringcast/core/rcp_stream.hpp>

#include "stream_cuts.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringcast {
namespace {

std::vector<std::byte> frame_of(op code, std::string_view topic, std::string_view payload, uint64_t seq) {
    std::vector<std::byte> f(frame_size(topic.size(), payload.size()));
    EXPECT_EQ(write_frame(f, code, 0, seq, as_bytes(topic), as_bytes(payload)), f.size());
    return f;
}

struct seen {
    op code;
    uint64_t seq;
    std::string topic;
    std::string payload;
    bool operator==(const seen&) const = default;
};

// Feeds `stream` in pieces cut at `cuts` (ascending offsets); returns the frames.
std::vector<seen> feed_cut(rcp_stream& s, std::span<const std::byte> stream, const std::vector<size_t>& cuts,
                           stream_result* last = nullptr) {
    std::vector<seen> out;
    const stream_result r = test::feed_at_cuts(s, stream, cuts, [&](const frame_view& f) {
        out.push_back({f.code, f.seq, std::string(f.topic_str()),
                       std::string(reinterpret_cast<const char*>(f.payload.data()), f.payload.size())});
    });
    if (last != nullptr) {
        *last = r;
    }
    return out;
}

std::vector<std::byte> three_frames() {
    std::vector<std::byte> s;
    for (const auto& f : {frame_of(op::sub, "md/a", "", 1), frame_of(op::ping, "", "", 2),
                          frame_of(op::pub, "md/b", std::string(300, 'p'), 3)}) {
        s.insert(s.end(), f.begin(), f.end());
    }
    return s;
}

const std::vector<seen> three_seen = {
    {op::sub, 1, "md/a", ""}, {op::ping, 2, "", ""}, {op::pub, 3, "md/b", std::string(300, 'p')}};

TEST(rcp_stream, whole_frames_in_one_segment_are_handed_on_in_place) {
    rcp_stream s(1024);
    const auto bytes = three_frames();
    std::vector<const std::byte*> where;
    const stream_result r = s.feed(bytes, [&](const frame_view& f) { where.push_back(f.topic.data()); });
    EXPECT_EQ(r.status, stream_status::ok);
    ASSERT_EQ(where.size(), 3u);
    EXPECT_EQ(where[0], bytes.data() + 16); // no copy
    EXPECT_EQ(s.buffered(), 0u);
}

TEST(rcp_stream, a_stream_cut_anywhere_gives_the_same_frames) {
    const auto bytes = three_frames();
    for (size_t a = 1; a < bytes.size(); a += 7) {
        for (size_t b = a; b < bytes.size(); b += 13) {
            rcp_stream s(1024);
            std::vector<size_t> cuts{a};
            if (b != a) {
                cuts.push_back(b);
            }
            stream_result r;
            EXPECT_EQ(feed_cut(s, bytes, cuts, &r), three_seen) << a << " " << b;
            EXPECT_EQ(r.status, stream_status::ok);
            EXPECT_EQ(s.buffered(), 0u);
        }
    }
}

TEST(rcp_stream, byte_by_byte) {
    const auto bytes = three_frames();
    rcp_stream s(1024);
    EXPECT_EQ(feed_cut(s, bytes, test::every_byte(bytes.size())), three_seen);
}

TEST(rcp_stream, holds_a_partial_frame_until_the_rest_comes) {
    rcp_stream s(1024);
    const auto f = frame_of(op::pub, "t", "hello", 9);
    int n = 0;
    (void)s.feed(std::span(f).first(10), [&](const frame_view&) { ++n; });
    EXPECT_EQ(n, 0);
    EXPECT_EQ(s.buffered(), 10u);
    (void)s.feed(std::span(f).subspan(10), [&](const frame_view& v) {
        ++n;
        EXPECT_EQ(v.seq, 9u);
    });
    EXPECT_EQ(n, 1);
    EXPECT_EQ(s.buffered(), 0u);
}

TEST(rcp_stream, a_bad_header_kills_the_stream_with_its_reason) {
    auto bytes = three_frames();
    const size_t second = frame_size(4, 0);
    bytes[second] = std::byte{0xC4}; // the second frame's magic
    rcp_stream s(1024);
    stream_result r;
    const auto got = feed_cut(s, bytes, {second + 3}, &r); // split inside the bad header
    EXPECT_EQ(got, std::vector<seen>(three_seen.begin(), three_seen.begin() + 1));
    EXPECT_EQ(r.status, stream_status::bad_frame);
    EXPECT_EQ(r.frame_error, parse_status::bad_magic);
    EXPECT_TRUE(s.dead());
    // Nothing more is parsed.
    const auto good = frame_of(op::ping, "", "", 5);
    int n = 0;
    EXPECT_EQ(s.feed(good, [&](const frame_view&) { ++n; }).status, stream_status::bad_frame);
    EXPECT_EQ(n, 0);
}

TEST(rcp_stream, refuses_a_frame_longer_than_allowed_even_a_lying_one) {
    for (const uint32_t payload_len : {1000u, 0xffffffffu}) {
        auto f = frame_of(op::pub, "t", "x", 4);
        store_be<uint32_t>(f, frame_off::payload_len, payload_len);
        rcp_stream s(512);
        const stream_result r = s.feed(std::span(f).first(16), [](const frame_view&) {});
        EXPECT_EQ(r.status, stream_status::too_long) << payload_len;
        EXPECT_EQ(r.err_seq, 4u);
    }
    const auto unknown = [] {
        auto f = frame_of(op::ping, "", "", 6);
        f[frame_off::ver_op] = std::byte{0x1F};
        return f;
    }();
    rcp_stream s(512);
    const stream_result r = s.feed(unknown, [](const frame_view&) {});
    EXPECT_EQ(r.frame_error, parse_status::unknown_op);
    EXPECT_THROW(rcp_stream(8), std::invalid_argument);
}

TEST(rcp_stream, a_frame_of_exactly_the_limit_passes_split) {
    const auto f = frame_of(op::pub, "t", std::string(512 - 17, 'z'), 8);
    ASSERT_EQ(f.size(), 512u);
    rcp_stream s(512);
    EXPECT_EQ(feed_cut(s, f, {5, 16, 300}), (std::vector<seen>{{op::pub, 8, "t", std::string(495, 'z')}}));
}

} // namespace
} // namespace ringcast
