// The load generator's accounting, without DPDK: latency histogram, rate
// pacing, per-stream loss and reorder tracking, payload stamps, and the
// results it reports. Sized at start-up; nothing here allocates while a run
// is under way. Time is an argument (TSC ticks) so tests choose it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace ringcast {

// Log-linear histogram (HDR-style): values below 2^sub_bits are exact; above,
// each power-of-two range is split into 2^sub_bits buckets, so the relative
// error is at most 2^-sub_bits (about 0.8 % for sub_bits = 7). Values are
// nanoseconds; anything above max_value is clamped into the top bucket and
// counted in overflow().
class latency_histogram {
public:
    static constexpr unsigned sub_bits = 7;
    static constexpr uint64_t max_value = uint64_t{1} << 36; // ~68.7 s

    void record(uint64_t value) noexcept;
    void merge(const latency_histogram& other) noexcept;
    void reset() noexcept;

    [[nodiscard]] uint64_t count() const noexcept { return _count; }
    [[nodiscard]] uint64_t min() const noexcept { return _count == 0 ? 0 : _min; }
    [[nodiscard]] uint64_t max() const noexcept { return _max; }
    [[nodiscard]] uint64_t overflow() const noexcept { return _overflow; }
    [[nodiscard]] double mean() const noexcept;
    // The smallest recorded-bucket value v such that at least q (0..1) of the
    // values are <= v, reported as the bucket's upper edge (never below the
    // true value); 0 when empty. q = 1 gives max().
    [[nodiscard]] uint64_t percentile(double q) const noexcept;

    // Bucket index and its value range, exposed for tests.
    [[nodiscard]] static size_t bucket_of(uint64_t value) noexcept;
    [[nodiscard]] static uint64_t bucket_low(size_t bucket) noexcept;
    [[nodiscard]] static uint64_t bucket_high(size_t bucket) noexcept; // inclusive
    // 2^sub_bits exact buckets, then 2^sub_bits per power of two from
    // 2^sub_bits to 2^36, then one more: max_value starts its own range and is
    // the only value that lands there.
    static constexpr size_t bucket_count = (36 - sub_bits + 1) * (size_t{1} << sub_bits) + 1;

private:
    std::array<uint64_t, bucket_count> _buckets{};
    uint64_t _count = 0;
    uint64_t _min = UINT64_MAX;
    uint64_t _max = 0;
    uint64_t _sum = 0;
    uint64_t _overflow = 0;
};

// Paces a stream at `rate` messages per second of `hz` ticks: due(now) says
// how many messages should have left by `now` and not yet been taken. A
// stalled sender does not get to burst without bound: at most `max_burst`
// are due at once, and credit beyond that is dropped (counted in skipped()).
// rate 0 means "as fast as possible": due() always returns max_burst.
class pacer {
public:
    pacer() = default;
    pacer(uint64_t rate, uint64_t hz, uint64_t start, uint32_t max_burst) noexcept;

    [[nodiscard]] uint32_t due(uint64_t now) noexcept;
    void take(uint32_t n) noexcept; // n <= what due() returned
    [[nodiscard]] uint64_t sent() const noexcept { return _sent; }
    [[nodiscard]] uint64_t skipped() const noexcept { return _skipped; }

private:
    uint64_t _rate = 0;
    uint64_t _hz = 1;
    uint64_t _start = 0;
    uint32_t _max_burst = 32;
    uint64_t _sent = 0;    // messages taken
    uint64_t _skipped = 0; // messages whose slot passed while stalled
};

// One subscriber's view of one topic: MSG seqs should run 1, 2, 3, ...
// from the first one seen. A seq above the next expected is a gap (the
// missing ones count as lost until they arrive late, then as reordered); one
// below is a late arrival or a duplicate.
class stream_tracker {
public:
    void on_seq(uint64_t seq) noexcept;

    [[nodiscard]] uint64_t received() const noexcept { return _received; }
    [[nodiscard]] uint64_t lost() const noexcept { return _lost; } // missing now
    [[nodiscard]] uint64_t reordered() const noexcept { return _reordered; }
    [[nodiscard]] uint64_t duplicates() const noexcept { return _duplicates; }
    [[nodiscard]] uint64_t next_expected() const noexcept { return _next; }

private:
    // Late arrivals are told from duplicates with a bitmap of the last
    // `window` seqs below _next that were missing.
    static constexpr uint64_t window = 1024;
    std::array<uint64_t, window / 64> _missing{};
    uint64_t _next = 0; // 0: nothing seen yet
    uint64_t _received = 0;
    uint64_t _lost = 0;
    uint64_t _reordered = 0;
    uint64_t _duplicates = 0;
};

// What the load generator writes into each PUB payload (big-endian, first 20
// bytes; the rest is filler up to the message size).
struct payload_stamp {
    uint64_t tsc = 0;   // send time
    uint64_t seq = 0;   // publisher's own counter
    uint32_t topic = 0; // index of the topic
};
inline constexpr size_t payload_stamp_size = 20;
void write_stamp(std::span<std::byte> payload, const payload_stamp& s) noexcept; // payload.size() >= 20
[[nodiscard]] payload_stamp read_stamp(std::span<const std::byte> payload) noexcept;

// Message sizes: fixed, or the mix of the benchmark suite (70 % 64-512 B,
// 20 % 512 B-1 KB, 10 % 1 KB up to `max`), drawn from a fixed-seed
// generator so runs repeat. Sizes are payload bytes and never below 20.
class size_picker {
public:
    explicit size_picker(uint32_t fixed) noexcept : _fixed(fixed) {}
    static size_picker mix(uint32_t max, uint64_t seed = 1) noexcept;
    [[nodiscard]] uint32_t next() noexcept;

private:
    uint32_t _fixed = 64;
    uint32_t _max = 0; // 0: fixed
    uint64_t _state = 1;
};

// The figures one run reports (one object of results JSON).
struct run_result {
    std::string system = "ringcast";
    std::string scenario;
    std::string vdev;
    std::string machine;
    uint32_t payload_bytes = 0; // 0 for a size mix
    uint32_t topics = 0;
    uint32_t subscribers = 0; // per topic
    double duration_s = 0;
    uint64_t published = 0;
    uint64_t delivered = 0;
    uint64_t lost = 0;
    uint64_t reordered = 0;
    uint64_t duplicates = 0;
    double pub_msgs_per_s = 0;
    double delivered_msgs_per_s = 0;
    double p50_us = 0, p90_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
    double cpu_cores = 0; // cores the system under test used
    uint64_t rx_datagrams = 0;      // datagrams that carried MSG frames to the receiver
    double frames_per_datagram = 0; // MSG frames per such datagram, mean
    uint64_t rx_missed = 0;         // packets the receiver's port dropped (imissed + rx_nombuf)
    std::string latency = "every message"; // which messages the latency figures cover
};

// Fills the latency fields from a histogram of nanoseconds.
void set_latency(run_result& r, const latency_histogram& h) noexcept;
// One JSON object (no trailing newline); strings escaped; non-finite numbers null.
[[nodiscard]] std::string to_json(const run_result& r);

} // namespace ringcast
