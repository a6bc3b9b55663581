#include <ringcast/bridge/consumer_position.hpp>

#include <algorithm>

namespace ringcast {

uint64_t resume_point(const std::optional<consumer_state>& durable,
                      const std::optional<consumer_state>& marker) noexcept {
    if (durable) {
        // Acknowledgements retire in stream order, so the floor is where the
        // bridge's done messages end; a consumer made at a start seq with
        // none acknowledged yet resumes at that start.
        if (durable->start_seq == 0 && durable->ack_floor_stream == 0) {
            return 0;
        }
        return std::max(durable->start_seq, durable->ack_floor_stream + 1);
    }
    return marker ? marker->start_seq : 0;
}

bool marker_needs_rewrite(const std::optional<consumer_state>& durable, const std::optional<consumer_state>& marker,
                          uint64_t from) noexcept {
    return !marker || (durable && marker->start_seq != from);
}

std::string resume_marker_name(const std::string& durable) { return durable + "-resume"; }

bool delivery_sequence::next(uint64_t consumer_seq) noexcept {
    const bool in_order = consumer_seq <= _last + 1;
    _last = consumer_seq;
    return in_order;
}

} // namespace ringcast
