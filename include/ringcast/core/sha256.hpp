// SHA-256 (FIPS 180-4), so the config can hold a token's digest rather than
// the token, and HELLO compares digests. Control path only (start-up and
// HELLO); a few hundred nanoseconds for a 255-byte token.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace ringcast {

using sha256_digest = std::array<std::byte, 32>;

[[nodiscard]] sha256_digest sha256(std::span<const std::byte> data) noexcept;

// Lower-case hex, as `sha256sum` prints it.
[[nodiscard]] std::string to_hex(const sha256_digest& d);
// 64 hex digits (either case), or nullopt.
[[nodiscard]] std::optional<sha256_digest> digest_from_hex(std::string_view hex) noexcept;

// Equal, in time that does not depend on where they differ.
[[nodiscard]] bool digests_equal(const sha256_digest& a, const sha256_digest& b) noexcept;

} // namespace ringcast
