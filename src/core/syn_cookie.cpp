#include <ringcast/core/syn_cookie.hpp>
#include <ringcast/core/tcp_wire.hpp>

#include <algorithm>
#include <bit>

namespace ringcast {

namespace {

constexpr uint32_t counter_bits = 4;
constexpr uint32_t counter_mod = 1u << counter_bits;
constexpr uint32_t counter_shift = 28;
constexpr uint32_t mss_shift = 26;
constexpr uint32_t wscale_shift = 22;
constexpr uint32_t hash_mask = (1u << wscale_shift) - 1;

// One SipRound (Aumasson and Bernstein, "SipHash: a fast short-input PRF").
struct sip_state {
    uint64_t v0, v1, v2, v3;

    void round() noexcept {
        v0 += v1;
        v1 = std::rotl(v1, 13) ^ v0;
        v0 = std::rotl(v0, 32);
        v2 += v3;
        v3 = std::rotl(v3, 16) ^ v2;
        v0 += v3;
        v3 = std::rotl(v3, 21) ^ v0;
        v2 += v1;
        v1 = std::rotl(v1, 17) ^ v2;
        v2 = std::rotl(v2, 32);
    }

    void absorb(uint64_t m) noexcept {
        v3 ^= m;
        round();
        round();
        v0 ^= m;
    }
};

uint32_t mss_index(uint16_t peer_mss) noexcept {
    // No option means the RFC default, the table's first entry.
    uint32_t i = 0;
    while (i + 1 < cookie_mss_table.size() && cookie_mss_table[i + 1] <= peer_mss) {
        ++i;
    }
    return i;
}

// The hash bits of a cookie whose other bits are `meta`, made at `counter`.
uint32_t cookie_hash(const syn_cookie_secret& key, const tcp_tuple& t, uint32_t peer_isn, uint32_t counter,
                     uint32_t meta) noexcept {
    const uint64_t ips = (uint64_t{t.peer_ip} << 32) | t.local_ip;
    const uint64_t ports_isn = (uint64_t{t.peer_port} << 48) | (uint64_t{t.local_port} << 32) | peer_isn;
    const uint64_t when = (uint64_t{counter} << 32) | meta;
    return static_cast<uint32_t>(keyed_hash3(key, ips, ports_isn, when)) & hash_mask;
}

} // namespace

uint64_t keyed_hash3(const syn_cookie_secret& key, uint64_t a, uint64_t b, uint64_t c) noexcept {
    // The initial constants spell "somepseudorandomlygeneratedbytes".
    sip_state s{key.k0 ^ 0x736f6d6570736575ULL, key.k1 ^ 0x646f72616e646f6dULL,
                key.k0 ^ 0x6c7967656e657261ULL, key.k1 ^ 0x7465646279746573ULL};
    s.absorb(a);
    s.absorb(b);
    s.absorb(c);
    s.absorb(uint64_t{24} << 56); // the length byte, no tail
    s.v2 ^= 0xff;
    for (int i = 0; i < 4; ++i) {
        s.round();
    }
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

uint32_t make_syn_cookie(const syn_cookie_secret& key, const tcp_tuple& t, uint32_t peer_isn, uint16_t peer_mss,
                         bool has_wscale, uint8_t wscale, uint32_t counter) noexcept {
    const uint32_t ws = has_wscale ? uint32_t{std::min(wscale, tcp_max_wscale)} + 1 : 0;
    const uint32_t meta =
        ((counter % counter_mod) << counter_shift) | (mss_index(peer_mss) << mss_shift) | (ws << wscale_shift);
    return meta | cookie_hash(key, t, peer_isn, counter, meta);
}

std::optional<cookie_fields> check_syn_cookie(const syn_cookie_secret& key, const tcp_tuple& t, uint32_t ack,
                                              uint32_t seq, uint32_t counter, uint32_t max_age) noexcept {
    const uint32_t cookie = ack - 1;
    const uint32_t meta = cookie & ~hash_mask;
    // The full counter the cookie was made at: the latest one not after
    // `counter` with the same low bits.
    const uint32_t age = (counter - (cookie >> counter_shift)) % counter_mod;
    if (age > max_age) {
        return std::nullopt;
    }
    const uint32_t ws = (cookie >> wscale_shift) & 0xf;
    if (ws > uint32_t{tcp_max_wscale} + 1) {
        return std::nullopt; // never made: the hash would fail too, this says why
    }
    if (cookie_hash(key, t, seq - 1, counter - age, meta) != (cookie & hash_mask)) {
        return std::nullopt;
    }
    cookie_fields f;
    f.mss = cookie_mss_table[(cookie >> mss_shift) & 0x3];
    f.has_wscale = ws != 0;
    f.wscale = ws != 0 ? static_cast<uint8_t>(ws - 1) : 0;
    return f;
}

} // namespace ringcast
