#include <ringcast/core/sha256.hpp>

#include <bit>
#include <cstdint>
#include <cstring>

namespace ringcast {

namespace {

constexpr std::array<uint32_t, 64> round_constants = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

uint32_t load32(const std::byte* p) noexcept {
    return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

void compress(std::array<uint32_t, 8>& h, const std::byte* block) noexcept {
    std::array<uint32_t, 64> w;
    for (size_t i = 0; i < 16; ++i) {
        w[i] = load32(block + 4 * i);
    }
    for (size_t i = 16; i < 64; ++i) {
        const uint32_t s0 = std::rotr(w[i - 15], 7) ^ std::rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
        const uint32_t s1 = std::rotr(w[i - 2], 17) ^ std::rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    auto [a, b, c, d, e, f, g, k] = h;
    for (size_t i = 0; i < 64; ++i) {
        const uint32_t t1 = k + (std::rotr(e, 6) ^ std::rotr(e, 11) ^ std::rotr(e, 25)) + ((e & f) ^ (~e & g)) +
                            round_constants[i] + w[i];
        const uint32_t t2 = (std::rotr(a, 2) ^ std::rotr(a, 13) ^ std::rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        k = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    const std::array<uint32_t, 8> add = {a, b, c, d, e, f, g, k};
    for (size_t i = 0; i < 8; ++i) {
        h[i] += add[i];
    }
}

} // namespace

sha256_digest sha256(std::span<const std::byte> data) noexcept {
    std::array<uint32_t, 8> h = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    size_t off = 0;
    for (; data.size() - off >= 64; off += 64) {
        compress(h, data.data() + off);
    }
    // The tail, the 0x80 marker and the bit length: one block or two.
    std::array<std::byte, 128> last{};
    const size_t rest = data.size() - off;
    if (rest != 0) {
        std::memcpy(last.data(), data.data() + off, rest);
    }
    last[rest] = std::byte{0x80};
    const size_t blocks = rest < 56 ? 1 : 2;
    const uint64_t bits = uint64_t{data.size()} * 8;
    for (size_t i = 0; i < 8; ++i) {
        last[blocks * 64 - 1 - i] = static_cast<std::byte>(bits >> (8 * i));
    }
    for (size_t b = 0; b < blocks; ++b) {
        compress(h, last.data() + 64 * b);
    }
    sha256_digest out;
    for (size_t i = 0; i < 8; ++i) {
        for (size_t j = 0; j < 4; ++j) {
            out[4 * i + j] = static_cast<std::byte>(h[i] >> (24 - 8 * j));
        }
    }
    return out;
}

std::string to_hex(const sha256_digest& d) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s;
    s.reserve(64);
    for (const std::byte b : d) {
        s += digits[std::to_integer<unsigned>(b) >> 4];
        s += digits[std::to_integer<unsigned>(b) & 15];
    }
    return s;
}

std::optional<sha256_digest> digest_from_hex(std::string_view hex) noexcept {
    if (hex.size() != 64) {
        return std::nullopt;
    }
    const auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    };
    sha256_digest d;
    for (size_t i = 0; i < 32; ++i) {
        const int hi = nibble(hex[2 * i]);
        const int lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return std::nullopt;
        }
        d[i] = static_cast<std::byte>(hi << 4 | lo);
    }
    return d;
}

bool digests_equal(const sha256_digest& a, const sha256_digest& b) noexcept {
    // Every byte is looked at, whatever differs first.
    volatile unsigned diff = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        diff = diff | std::to_integer<unsigned>(a[i] ^ b[i]);
    }
    return diff == 0;
}

} // namespace ringcast
