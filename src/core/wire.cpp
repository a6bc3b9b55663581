#include <ringcast/core/wire.hpp>

namespace ringcast {

parse_result parse_frame(std::span<const std::byte> dgram, size_t off) noexcept {
    parse_result r{};
    const size_t left = dgram.size() - off;
    if (left < frame_header_size) {
        r.status = parse_status::truncated;
        return r;
    }
    auto f = dgram.subspan(off);
    r.err_seq = load_be<uint64_t>(f, frame_off::seq);
    if (load_be<uint8_t>(f, frame_off::magic) != rcp_magic) {
        r.status = parse_status::bad_magic;
        return r;
    }
    const uint8_t ver_op = load_be<uint8_t>(f, frame_off::ver_op);
    if ((ver_op >> 4) != rcp_version) {
        r.status = parse_status::bad_version;
        return r;
    }
    const uint8_t code = ver_op & 0x0f;
    if (code < static_cast<uint8_t>(op::hello) || code > static_cast<uint8_t>(op::bye)) {
        r.status = parse_status::unknown_op;
        return r;
    }
    const size_t topic_len = load_be<uint8_t>(f, frame_off::topic_len);
    const uint32_t payload_len = load_be<uint32_t>(f, frame_off::payload_len);
    // Compare in 64 bits: a lying payload_len near 2^32 must not wrap.
    const uint64_t total = uint64_t{frame_header_size} + topic_len + payload_len;
    if (total > left) {
        r.status = parse_status::truncated;
        return r;
    }
    r.status = parse_status::ok;
    r.frame.code = static_cast<op>(code);
    r.frame.flags = load_be<uint8_t>(f, frame_off::flags);
    r.frame.seq = r.err_seq;
    r.frame.topic = f.subspan(frame_off::topic, topic_len);
    r.frame.payload = f.subspan(frame_off::topic + topic_len, payload_len);
    r.frame.offset = static_cast<uint32_t>(off);
    r.frame.size = static_cast<uint32_t>(total);
    return r;
}

size_t write_frame(std::span<std::byte> out, op code, uint8_t flag_bits, uint64_t seq,
                   std::span<const std::byte> topic, std::span<const std::byte> payload) noexcept {
    const size_t n = frame_size(topic.size(), payload.size());
    if (topic.size() > max_topic_len || payload.size() > UINT32_MAX || n > out.size()) {
        return 0;
    }
    out[frame_off::magic] = std::byte{rcp_magic};
    out[frame_off::topic_len] = std::byte(topic.size());
    store_be<uint32_t>(out, frame_off::payload_len, static_cast<uint32_t>(payload.size()));
    rewrite_header(out, code, flag_bits, seq);
    if (!topic.empty()) {
        std::memcpy(out.data() + frame_off::topic, topic.data(), topic.size());
    }
    if (!payload.empty()) {
        std::memcpy(out.data() + frame_off::topic + topic.size(), payload.data(), payload.size());
    }
    return n;
}

err_code to_err_code(parse_status s) noexcept {
    switch (s) {
    case parse_status::bad_version:
        return err_code::version;
    case parse_status::unknown_op:
        return err_code::unknown_op;
    case parse_status::ok:
    case parse_status::truncated:
    case parse_status::bad_magic:
        break;
    }
    return err_code::malformed;
}

std::string_view to_string(op code) noexcept {
    static constexpr std::array<std::string_view, 12> names = {"?",   "HELLO", "SUB",  "UNSUB", "PUB", "MSG",
                                                               "ACK", "NACK",  "PING", "PONG",  "ERR", "BYE"};
    const auto i = static_cast<size_t>(code);
    return i < names.size() ? names[i] : "?";
}

std::string_view to_string(err_code code) noexcept {
    static constexpr std::array<std::string_view, 9> names = {"?",         "MALFORMED",      "VERSION",
                                                              "BAD_TOPIC", "NOT_AUTHORIZED", "LIMIT",
                                                              "GAP_LOST",  "OVERLOAD",       "UNKNOWN_OP"};
    const auto i = static_cast<size_t>(code);
    return i < names.size() ? names[i] : "?";
}

} // namespace ringcast
