// SHA-256 against the FIPS 180-4 example vectors (and the padding edges
// around 55, 56 and 64 bytes, checked against sha256sum), hex both ways,
// and the digest compare.
#include <ringcast/core/sha256.hpp>

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <string_view>

namespace ringcast {
namespace {

std::string hash_of(std::string_view s) {
    return to_hex(sha256(std::as_bytes(std::span(s.data(), s.size()))));
}

TEST(sha256, fips_180_4_examples) {
    EXPECT_EQ(hash_of(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(hash_of("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(hash_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    EXPECT_EQ(hash_of(std::string(1'000'000, 'a')),
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(sha256, padding_edges) {
    // A tail of 55 bytes leaves room for the length in one block, 56 does not.
    EXPECT_EQ(hash_of(std::string(55, 'x')), "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072");
    EXPECT_EQ(hash_of(std::string(56, 'x')), "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e");
    EXPECT_EQ(hash_of(std::string(64, 'x')), "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c");
    EXPECT_EQ(hash_of("s3cret"), "1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0");
}

TEST(sha256, hex_reads_back_either_case_and_refuses_the_rest) {
    const sha256_digest d = sha256(std::as_bytes(std::span("abc", 3)));
    EXPECT_EQ(digest_from_hex(to_hex(d)), d);
    std::string upper = to_hex(d);
    for (char& c : upper) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    EXPECT_EQ(digest_from_hex(upper), d);
    EXPECT_EQ(digest_from_hex(to_hex(d).substr(1)), std::nullopt);
    EXPECT_EQ(digest_from_hex(to_hex(d) + "0"), std::nullopt);
    EXPECT_EQ(digest_from_hex(std::string(63, '0') + "g"), std::nullopt);
}

TEST(sha256, digests_equal_sees_a_difference_anywhere) {
    const sha256_digest a = sha256(std::as_bytes(std::span("abc", 3)));
    EXPECT_TRUE(digests_equal(a, a));
    for (size_t i = 0; i < a.size(); ++i) {
        sha256_digest b = a;
        b[i] ^= std::byte{1};
        EXPECT_FALSE(digests_equal(a, b)) << i;
    }
}

} // namespace
} // namespace ringcast
