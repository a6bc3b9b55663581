#include <ringcast/client/loadgen.hpp>
#include <ringcast/core/wire.hpp>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string_view>
#include <type_traits>

namespace ringcast {

namespace {

constexpr size_t sub_count = size_t{1} << latency_histogram::sub_bits;

// A bucket's group is 0 for the exact values below 2^sub_bits, else 1 + the
// shift that brings the value into [2^sub_bits, 2^(sub_bits+1)).
constexpr size_t group_of(size_t bucket) noexcept {
    return bucket >> latency_histogram::sub_bits;
}

// The header's layout must end with max_value alone: it opens the group
// after the last full one.
constexpr size_t top_group =
    static_cast<size_t>(std::bit_width(latency_histogram::max_value)) - latency_histogram::sub_bits;
static_assert(latency_histogram::bucket_count == top_group * sub_count + 1);

} // namespace

size_t latency_histogram::bucket_of(uint64_t value) noexcept {
    value = std::min(value, max_value);
    if (value < sub_count) {
        return static_cast<size_t>(value);
    }
    const unsigned shift = static_cast<unsigned>(std::bit_width(value)) - 1 - sub_bits;
    return (size_t{shift} + 1) * sub_count + static_cast<size_t>((value >> shift) - sub_count);
}

uint64_t latency_histogram::bucket_low(size_t bucket) noexcept {
    const size_t g = group_of(bucket);
    const uint64_t s = bucket & (sub_count - 1);
    if (g == 0) {
        return s;
    }
    return (sub_count + s) << (g - 1);
}

uint64_t latency_histogram::bucket_high(size_t bucket) noexcept {
    const size_t g = group_of(bucket);
    if (g == 0) {
        return bucket_low(bucket);
    }
    // The last bucket's range runs past max_value, but nothing above it is stored.
    return std::min(bucket_low(bucket) + ((uint64_t{1} << (g - 1)) - 1), max_value);
}

void latency_histogram::record(uint64_t value) noexcept {
    if (value > max_value) {
        ++_overflow;
        value = max_value;
    }
    ++_buckets[bucket_of(value)];
    ++_count;
    // 2^36 ns a sample leaves room for 2^28 worst-case samples before _sum
    // wraps; at microsecond latencies that is ~10^15 of them.
    _sum += value;
    _min = std::min(_min, value);
    _max = std::max(_max, value);
}

void latency_histogram::merge(const latency_histogram& other) noexcept {
    for (size_t i = 0; i < bucket_count; ++i) {
        _buckets[i] += other._buckets[i];
    }
    _count += other._count;
    _sum += other._sum;
    _overflow += other._overflow;
    _min = std::min(_min, other._min);
    _max = std::max(_max, other._max);
}

void latency_histogram::reset() noexcept {
    *this = latency_histogram{};
}

double latency_histogram::mean() const noexcept {
    return _count == 0 ? 0.0 : static_cast<double>(_sum) / static_cast<double>(_count);
}

uint64_t latency_histogram::percentile(double q) const noexcept {
    if (_count == 0) {
        return 0;
    }
    if (!(q < 1.0)) { // also NaN
        return _max;
    }
    // The rank of the value asked for, 1-based: the ceil(q * n)-th smallest.
    const double want = std::ceil(std::max(q, 0.0) * static_cast<double>(_count));
    const uint64_t rank =
        std::clamp<uint64_t>(want < 1.0 ? 1 : static_cast<uint64_t>(want), uint64_t{1}, _count);
    uint64_t seen = 0;
    for (size_t i = 0; i < bucket_count; ++i) {
        seen += _buckets[i];
        if (seen >= rank) {
            return std::min(bucket_high(i), _max);
        }
    }
    return _max;
}

pacer::pacer(uint64_t rate, uint64_t hz, uint64_t start, uint32_t max_burst) noexcept
    : _rate(rate), _hz(hz == 0 ? 1 : hz), _start(start), _max_burst(max_burst) {}

uint32_t pacer::due(uint64_t now) noexcept {
    if (_rate == 0) {
        return _max_burst;
    }
    if (now <= _start) {
        return 0;
    }
    // An hour at 3 GHz times 10^9 msg/s is ~10^22: past 64 bits, so multiply
    // in 128. The quotient fits 64 bits for any rate <= hz.
    const unsigned __int128 slots = static_cast<unsigned __int128>(now - _start) * _rate / _hz;
    const uint64_t target = slots > UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(slots);
    // The schedule stands at sent + skipped: slots already used or given up.
    const uint64_t done = _sent + _skipped;
    if (target <= done) {
        return 0;
    }
    const uint64_t owed = target - done;
    if (owed > _max_burst) {
        // A stalled sender must not catch up in one burst; its lost slots
        // are given up so the rate after a stall is the configured one.
        _skipped += owed - _max_burst;
        return _max_burst;
    }
    return static_cast<uint32_t>(owed);
}

void pacer::take(uint32_t n) noexcept {
    _sent += n;
}

namespace {

// Sets (missing) or clears the bits of n consecutive seqs from `first` in a
// ring bitmap indexed by seq % (64 * bits.size()); n <= that size.
template <size_t Words>
void assign_bits(std::array<uint64_t, Words>& bits, uint64_t first, uint64_t n, bool missing) noexcept {
    constexpr uint64_t size = 64 * Words;
    uint64_t pos = first % size;
    while (n > 0) {
        const uint64_t bit = pos % 64;
        const uint64_t take = std::min<uint64_t>(n, 64 - bit);
        const uint64_t mask = (take == 64 ? ~uint64_t{0} : (uint64_t{1} << take) - 1) << bit;
        uint64_t& w = bits[pos / 64];
        w = missing ? (w | mask) : (w & ~mask);
        pos = (pos + take) % size;
        n -= take;
    }
}

} // namespace

void stream_tracker::on_seq(uint64_t seq) noexcept {
    if (_next == 0) {
        // Whatever came before the first seq seen is not ours to count.
        _next = seq + 1;
        ++_received;
        return;
    }
    if (seq >= _next) {
        const uint64_t gap = seq - _next;
        _lost += gap;
        // The window after this arrival is [seq + 1 - window, seq + 1); its
        // ring slots that held seqs now below it are reassigned here.
        const uint64_t marked = std::min(gap, window - 1);
        assign_bits(_missing, seq - marked, marked, true);
        assign_bits(_missing, seq, 1, false);
        _next = seq + 1;
        ++_received;
        return;
    }
    const bool in_window = _next - seq <= window;
    uint64_t& w = _missing[(seq % window) / 64];
    const uint64_t bit = uint64_t{1} << (seq % 64);
    if (in_window && (w & bit) != 0) {
        w &= ~bit;
        --_lost;
        ++_reordered;
        ++_received;
        return;
    }
    ++_duplicates;
}

void write_stamp(std::span<std::byte> payload, const payload_stamp& s) noexcept {
    store_be<uint64_t>(payload, 0, s.tsc);
    store_be<uint64_t>(payload, 8, s.seq);
    store_be<uint32_t>(payload, 16, s.topic);
}

payload_stamp read_stamp(std::span<const std::byte> payload) noexcept {
    return payload_stamp{
        .tsc = load_be<uint64_t>(payload, 0),
        .seq = load_be<uint64_t>(payload, 8),
        .topic = load_be<uint32_t>(payload, 16),
    };
}

namespace {

// splitmix64: one add and a few multiplies; any seed, 0 included, is fine.
uint64_t splitmix64(uint64_t& state) noexcept {
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// Uniform in [0, n) without a division (Lemire's multiply-shift).
uint64_t below(uint64_t x, uint64_t n) noexcept {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(x) * n) >> 64);
}

} // namespace

size_picker size_picker::mix(uint32_t max, uint64_t seed) noexcept {
    size_picker p(0);
    p._max = std::max<uint32_t>(max, payload_stamp_size);
    p._state = seed;
    return p;
}

uint32_t size_picker::next() noexcept {
    if (_max == 0) {
        return std::max<uint32_t>(_fixed, payload_stamp_size);
    }
    // The suite's mix: 70 % small, 20 % medium, 10 % large; a band past
    // _max shrinks to it.
    const uint64_t band = below(splitmix64(_state), 100);
    uint32_t lo = 1025;
    uint32_t hi = _max;
    if (band < 70) {
        lo = 64;
        hi = 512;
    } else if (band < 90) {
        lo = 513;
        hi = 1024;
    }
    hi = std::min(hi, _max);
    lo = std::min(lo, hi);
    const auto size = static_cast<uint32_t>(lo + below(splitmix64(_state), uint64_t{hi} - lo + 1));
    return std::max<uint32_t>(size, payload_stamp_size);
}

void set_latency(run_result& r, const latency_histogram& h) noexcept {
    constexpr double ns_per_us = 1000.0;
    r.p50_us = static_cast<double>(h.percentile(0.5)) / ns_per_us;
    r.p90_us = static_cast<double>(h.percentile(0.9)) / ns_per_us;
    r.p99_us = static_cast<double>(h.percentile(0.99)) / ns_per_us;
    r.p999_us = static_cast<double>(h.percentile(0.999)) / ns_per_us;
    r.max_us = static_cast<double>(h.max()) / ns_per_us;
}

namespace {

void put_string(std::string& out, std::string_view s) {
    out += '"';
    for (const char c : s) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        case '\b':
            out += "\\b";
            break;
        case '\f':
            out += "\\f";
            break;
        default:
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x",
                              static_cast<unsigned>(static_cast<unsigned char>(c)));
                out += buf;
            } else {
                out += c; // UTF-8 passes through as it is
            }
        }
    }
    out += '"';
}

void put_number(std::string& out, uint64_t v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

// Shortest text that reads back as the same double; JSON has no NaN or
// infinity, so those become null.
void put_number(std::string& out, double v) {
    if (!std::isfinite(v)) {
        out += "null";
        return;
    }
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

template <class T> void put_field(std::string& out, std::string_view key, const T& v) {
    if (out.size() > 1) {
        out += ',';
    }
    put_string(out, key);
    out += ':';
    if constexpr (std::is_same_v<T, std::string>) {
        put_string(out, v);
    } else if constexpr (std::is_same_v<T, double>) {
        put_number(out, v);
    } else {
        put_number(out, static_cast<uint64_t>(v));
    }
}

} // namespace

std::string to_json(const run_result& r) {
    std::string out = "{";
    put_field(out, "system", r.system);
    put_field(out, "scenario", r.scenario);
    put_field(out, "vdev", r.vdev);
    put_field(out, "machine", r.machine);
    put_field(out, "payload_bytes", r.payload_bytes);
    put_field(out, "topics", r.topics);
    put_field(out, "subscribers", r.subscribers);
    put_field(out, "duration_s", r.duration_s);
    put_field(out, "published", r.published);
    put_field(out, "delivered", r.delivered);
    put_field(out, "lost", r.lost);
    put_field(out, "reordered", r.reordered);
    put_field(out, "duplicates", r.duplicates);
    put_field(out, "pub_msgs_per_s", r.pub_msgs_per_s);
    put_field(out, "delivered_msgs_per_s", r.delivered_msgs_per_s);
    put_field(out, "p50_us", r.p50_us);
    put_field(out, "p90_us", r.p90_us);
    put_field(out, "p99_us", r.p99_us);
    put_field(out, "p999_us", r.p999_us);
    put_field(out, "max_us", r.max_us);
    put_field(out, "cpu_cores", r.cpu_cores);
    put_field(out, "rx_datagrams", r.rx_datagrams);
    put_field(out, "frames_per_datagram", r.frames_per_datagram);
    put_field(out, "rx_missed", r.rx_missed);
    put_field(out, "latency", r.latency);
    out += '}';
    return out;
}

} // namespace ringcast
