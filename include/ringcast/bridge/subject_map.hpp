// NATS subjects to ringcast topics, for ringcast-bridge's [[forward]] rules.
//
// A rule is a NATS subject filter and a ringcast topic prefix. A subject the
// filter matches becomes a topic: the filter's leading literal tokens give
// way to the prefix's levels, the subject's other tokens follow as levels
// ('.' becomes '/'). With no prefix the subject maps token for token.
//   "md.>"      + "market"  : "md.eq.AAPL" -> "market/eq/AAPL"
//   "md.*.AAPL" + "aapl"    : "md.eq.AAPL" -> "aapl/eq/AAPL"
//   "core.feed" + ""        : "core.feed"  -> "core/feed"
// What has no faithful topic is refused, never bent into one: a token with
// '/', '+', '#', a NUL or white space, an empty token, a '$' first level, a
// topic over the length limit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ringcast {

struct forward_rule {
    std::string filter; // NATS subject filter: tokens split by '.', '*' one token, '>' the last ones
    std::string prefix; // ringcast topic levels the filter's literal head maps to; empty: none

    bool operator==(const forward_rule&) const = default;
};

// Why a rule is unusable, or "" when it is fine.
[[nodiscard]] std::string check_forward_rule(const forward_rule& rule);

enum class map_status : uint8_t {
    ok,
    no_match,  // the rule's filter does not match the subject
    bad_token, // an empty token, or one with '/', '+', '#', NUL or white space
    too_long,  // the topic would be over the length limit
    reserved,  // the topic would start with '$'
};

[[nodiscard]] std::string_view to_string(map_status s) noexcept;

// The topic `subject` maps to under `rule` (checked by check_forward_rule),
// into `out` (its old contents replaced). Allocates only if `out` must grow.
[[nodiscard]] map_status map_subject(const forward_rule& rule, std::string_view subject, std::string& out,
                                     size_t max_len = 255);

// The ringcast filter that receives everything `rule` forwards ("md.>" +
// "market" -> "market/#"), for docs and for subscribers' convenience.
[[nodiscard]] std::string topic_filter_of(const forward_rule& rule);

// Whether some subject matches both NATS filters (each valid).
[[nodiscard]] bool subjects_overlap(std::string_view a, std::string_view b) noexcept;

} // namespace ringcast
