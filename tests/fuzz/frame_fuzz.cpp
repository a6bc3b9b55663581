// libFuzzer: one datagram walked frame by frame as the io lcore walks it
// (io_step::udp: parse_frame until the first frame that is not ok), each ok
// frame's topic checked as its op has it checked there (check_pub_topic for
// PUB and NACK, parse_filter for SUB and UNSUB), and each frame written
// back with write_frame to the same bytes.
#include "fuzz_check.hpp"

#include <ringcast/core/topic.hpp>
#include <ringcast/core/wire.hpp>

#include <algorithm>
#include <vector>

namespace {

using namespace ringcast;

void check_frame(std::span<const std::byte> dgram, size_t off, const frame_view& f) {
    const auto bytes = dgram.subspan(off);
    RC_FUZZ_CHECK(f.offset == off);
    RC_FUZZ_CHECK(f.size == frame_size(f.topic.size(), f.payload.size()) && f.size <= bytes.size());
    RC_FUZZ_CHECK(f.topic.data() == bytes.data() + frame_off::topic);
    RC_FUZZ_CHECK(f.payload.data() == f.topic.data() + f.topic.size());
    RC_FUZZ_CHECK(f.topic.size() == load_be<uint8_t>(bytes, frame_off::topic_len));
    RC_FUZZ_CHECK(f.payload.size() == load_be<uint32_t>(bytes, frame_off::payload_len));
    RC_FUZZ_CHECK(f.seq == load_be<uint64_t>(bytes, frame_off::seq));
    RC_FUZZ_CHECK(to_string(f.code) != "?" && f.qos() <= 3);
    RC_FUZZ_CHECK(f.topic_str().size() == f.topic.size());

    // The parts written back are the frame's bytes, and parse the same.
    std::vector<std::byte> out(f.size);
    RC_FUZZ_CHECK(write_frame(out, f.code, f.flags, f.seq, f.topic, f.payload) == f.size);
    RC_FUZZ_CHECK(std::ranges::equal(out, bytes.first(f.size)));
    const parse_result again = parse_frame(out, 0);
    RC_FUZZ_CHECK(again.status == parse_status::ok && again.frame.size == f.size && again.frame.seq == f.seq);
    // One byte less does not fit.
    RC_FUZZ_CHECK(write_frame(std::span(out).first(f.size - 1), f.code, f.flags, f.seq, f.topic, f.payload) == 0);
    // The worker's rewrite (PUB -> MSG) changes op, flags and seq only.
    rewrite_header(out, op::msg, f.flags | flags::replayed, ~f.seq);
    const parse_result msg = parse_frame(out, 0);
    RC_FUZZ_CHECK(msg.status == parse_status::ok && msg.frame.code == op::msg && msg.frame.seq == ~f.seq);
    RC_FUZZ_CHECK(std::ranges::equal(msg.frame.topic, f.topic) && std::ranges::equal(msg.frame.payload, f.payload));
}

// What io_step::frame looks at for each op, short of the lcore's tables.
void check_op(const frame_view& f) {
    switch (f.code) {
    case op::pub:
    case op::nack: {
        const topic_check t = check_pub_topic(f.topic, max_topic_len);
        if (t == topic_check::ok) {
            const uint64_t h = topic_hash(f.topic);
            RC_FUZZ_CHECK(topic_owner(h, 3) < 3 && topic_owner(h, 4) < 4);
            RC_FUZZ_CHECK(f.topic.size() <= max_topic_len);
        } else {
            RC_FUZZ_CHECK(!to_string(t).empty());
        }
        if (f.code == op::nack && f.payload.size() == 4) {
            (void)load_be<uint32_t>(f.payload, 0);
        }
        break;
    }
    case op::sub:
    case op::unsub: {
        filter_spec spec;
        const topic_check t = parse_filter(f.topic, max_topic_len, spec);
        if (t == topic_check::ok) {
            RC_FUZZ_CHECK(fuzz::within(spec.group, f.topic) && fuzz::within(spec.filter, f.topic));
            RC_FUZZ_CHECK(spec.wildcard || spec.hash == topic_hash(spec.filter));
        } else {
            RC_FUZZ_CHECK(!to_string(t).empty());
        }
        break;
    }
    case op::ping:
        RC_FUZZ_CHECK(f.payload.first(std::min(f.payload.size(), max_ping_echo)).size() <= max_ping_echo);
        break;
    case op::hello:
    case op::msg:
    case op::ack:
    case op::pong:
    case op::err:
    case op::bye:
        break;
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto dgram = fuzz::input(data, size);
    size_t frames = 0;
    for (size_t off = 0; off < dgram.size();) {
        const parse_result r = parse_frame(dgram, off);
        if (r.status != parse_status::ok) {
            // Ends the datagram with an ERR carrying the seq when 16 bytes came.
            RC_FUZZ_CHECK(to_err_code(r.status) != err_code::gap_lost);
            RC_FUZZ_CHECK(dgram.size() - off >= frame_header_size ||
                          (r.status == parse_status::truncated && r.err_seq == 0));
            break;
        }
        check_frame(dgram, off, r.frame);
        check_op(r.frame);
        RC_FUZZ_CHECK(r.frame.size >= frame_header_size); // the walk always moves on
        off += r.frame.size;
        ++frames;
    }
    RC_FUZZ_CHECK(frames <= dgram.size() / frame_header_size);
    return 0;
}
