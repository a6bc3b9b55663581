// libFuzzer: RCP/1 frames out of a TCP-lite byte stream (core/rcp_stream).
// The first input byte seeds where the rest is cut into segments; whatever
// the cuts, the frames that come out are the same, in the same order, as
// from the whole stream fed at once, and so is the verdict. Each frame is
// one parse_frame accepts, within the limit.
#include "fuzz_check.hpp"

#include <ringcast/core/rcp_stream.hpp>

#include <string>
#include <vector>

namespace {

using namespace ringcast;

constexpr size_t max_frame = 1024;

struct run {
    std::vector<std::string> frames; // each frame's bytes
    stream_result verdict;
};

run feed(std::span<const std::byte> stream, uint8_t seed) {
    rcp_stream s(max_frame);
    run out;
    out.verdict = fuzz::feed_pieces(s, stream, seed, 97, [&](const frame_view& f) {
        RC_FUZZ_CHECK(f.size <= max_frame && f.size == frame_size(f.topic.size(), f.payload.size()));
        // The frame's bytes: header up to the topic, then topic and payload.
        const std::byte* start = f.topic.data() - frame_off::topic;
        RC_FUZZ_CHECK(parse_frame(std::span(start, f.size), 0).status == parse_status::ok);
        out.frames.emplace_back(reinterpret_cast<const char*>(start), f.size);
    });
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) {
        return 0;
    }
    const auto stream = fuzz::input(data + 1, size - 1);
    const run whole = feed(stream, 0);
    const run cut = feed(stream, data[0] == 0 ? 1 : data[0]);
    RC_FUZZ_CHECK(whole.frames == cut.frames);
    RC_FUZZ_CHECK(whole.verdict.status == cut.verdict.status && whole.verdict.frame_error == cut.verdict.frame_error);
    return 0;
}
