// SYN cookies (RFC 4987 §3.6): the listener keeps no state for a SYN. Its
// SYN-ACK's initial sequence number is the cookie, and the connection is made
// only when the final ACK returns it (ack - 1) intact and young enough, so a
// SYN flood costs no memory.
//
// The 32 bits, high to low:
//   [31..28] the coarse time counter, modulo 16
//   [27..26] the MSS index (cookie_mss_table)
//   [25..22] the peer's window scale: 0 when its SYN had no option, else shift + 1
//   [21..0]  a keyed hash (SipHash-2-4 of the secret) over the 4-tuple, the
//            peer's ISN, the full counter and the bits above
// Window scale cannot be recovered from the final ACK, so the cookie carries
// it: a connection made from a cookie scales both ways exactly as the SYN
// asked. Timestamps, where Linux hides those bits, are ignored by TCP-lite.
// Owned by whichever lcore answers SYNs; the secret is shared read-only.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

namespace ringcast {

// What the SYN-ACK may promise: the largest entry not above the peer's MSS.
// 536 is the RFC 9293 default, 1220 an IPv6-tunnelled path, 1440 and 1460
// Ethernet with and without a little encapsulation (Linux's table is alike).
inline constexpr std::array<uint16_t, 4> cookie_mss_table = {536, 1220, 1440, 1460};

// The connection a cookie stands for, from the peer's side first.
struct tcp_tuple {
    uint32_t peer_ip = 0; // host order
    uint32_t local_ip = 0;
    uint16_t peer_port = 0;
    uint16_t local_port = 0;

    friend bool operator==(const tcp_tuple&, const tcp_tuple&) = default;
};

struct syn_cookie_secret {
    uint64_t k0 = 0;
    uint64_t k1 = 0;
};

// What the SYN carried, as recovered from its cookie.
struct cookie_fields {
    uint16_t mss = 0;         // a cookie_mss_table entry
    bool has_wscale = false;  // the SYN carried window scale
    uint8_t wscale = 0;       // its shift, when it did
};

// The cookie for a SYN from `t` with sequence number `peer_isn`, its MSS
// option (0: none, taken as 536) and window scale, at time `counter`.
[[nodiscard]] uint32_t make_syn_cookie(const syn_cookie_secret& key, const tcp_tuple& t, uint32_t peer_isn,
                                       uint16_t peer_mss, bool has_wscale, uint8_t wscale,
                                       uint32_t counter) noexcept;

// Checks the final ACK of a handshake: `ack` is its acknowledgement number,
// `seq` its sequence number (the peer's ISN + 1). Valid when the hash holds
// and the cookie was made at most `max_age` counter steps before `counter`
// (max_age below 16: the counter travels modulo 16).
[[nodiscard]] std::optional<cookie_fields> check_syn_cookie(const syn_cookie_secret& key, const tcp_tuple& t,
                                                            uint32_t ack, uint32_t seq, uint32_t counter,
                                                            uint32_t max_age) noexcept;

// SipHash-2-4 of three 64-bit words under `key` (exposed for its test).
[[nodiscard]] uint64_t keyed_hash3(const syn_cookie_secret& key, uint64_t a, uint64_t b, uint64_t c) noexcept;

} // namespace ringcast
