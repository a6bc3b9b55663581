#include <ringcast/bridge/consumer_position.hpp>

#include <algorithm>
#include <limits>

namespace ringcast {

uint64_t resume_point(const consumer_state& c) noexcept {
    // Acknowledgements retire in stream order, so the floor is where the
    // bridge's done messages end; a consumer made at a start seq with none
    // acknowledged yet resumes at that start.
    if (c.start_seq == 0 && c.ack_floor_stream == 0) {
        return 0;
    }
    return std::max(c.start_seq, c.ack_floor_stream + 1);
}

std::string consumer_name(std::string_view durable, uint64_t generation) {
    return std::string(durable) + "-" + std::to_string(generation);
}

std::optional<uint64_t> consumer_generation(std::string_view durable, std::string_view name) noexcept {
    if (name.size() <= durable.size() + 1 || !name.starts_with(durable) || name[durable.size()] != '-') {
        return std::nullopt;
    }
    const std::string_view digits = name.substr(durable.size() + 1);
    if (digits.front() == '0') {
        return std::nullopt;
    }
    uint64_t n = 0;
    for (const char ch : digits) {
        if (ch < '0' || ch > '9') {
            return std::nullopt;
        }
        const auto d = static_cast<uint64_t>(ch - '0');
        if (n > (std::numeric_limits<uint64_t>::max() - d) / 10) {
            return std::nullopt;
        }
        n = n * 10 + d;
    }
    return n;
}

bool delivery_sequence::next(uint64_t consumer_seq) noexcept {
    const bool in_order = consumer_seq <= _last + 1;
    _last = consumer_seq;
    return in_order;
}

} // namespace ringcast
