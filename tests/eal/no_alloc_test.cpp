// No heap on the hot path, proven: malloc, calloc, realloc and every
// operator new are interposed and counted while the test thread runs the
// real loops (poll_once) over steady-state traffic: PUB fan-out to many
// subscribers, coalesced and lone deliveries, wildcard and shared-group
// matching, QoS 1 and 2 with their ACKs and a QoS 2 retry, retention, NACK
// retransmission, a SUB with REPLAY, PING and the ERR for a bad frame. The
// count must stay at zero. Building packets and reading the output (test
// code) happens with the count off.
#include <pipeline_fixture.hpp>

#include <cstdlib>
#include <new>

// Under AddressSanitizer (clang or gcc), ASan owns malloc and operator new.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RINGCAST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(RINGCAST_ASAN)
#define RINGCAST_ASAN 1
#endif

extern "C" {
#ifdef RINGCAST_ASAN
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void*, size_t),
                                              void (*free_hook)(const volatile void*));
#else
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void __libc_free(void*);
#endif
}

namespace {

// Only the test thread counts: EAL's own threads may allocate as they please.
thread_local bool g_counting = false;
thread_local size_t g_allocations = 0;

void note() noexcept {
    if (g_counting) {
        ++g_allocations;
    }
}

} // namespace

#ifdef RINGCAST_ASAN
// Interposing malloc here would hand ASan's pointers to glibc's free: count
// through ASan's allocation hook instead (every malloc, calloc, realloc and
// operator new reaches it). Installed before main, so before EAL's threads.
namespace {
void on_malloc(const volatile void*, size_t) {
    note();
}
void on_free(const volatile void*) {} // the runtime takes both hooks or none
[[maybe_unused]] const int hooks_installed = __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
} // namespace
#else
extern "C" void* malloc(size_t n) {
    note();
    return __libc_malloc(n);
}
extern "C" void* calloc(size_t n, size_t size) {
    note();
    return __libc_calloc(n, size);
}
extern "C" void* realloc(void* p, size_t n) {
    note();
    return __libc_realloc(p, n);
}
extern "C" void free(void* p) {
    __libc_free(p);
}

// operator new reaches malloc above, but an implementation may not: count it too.
void* operator new(size_t n) {
    note();
    if (void* p = __libc_malloc(n == 0 ? 1 : n)) {
        return p;
    }
    throw std::bad_alloc();
}
void* operator new[](size_t n) {
    return operator new(n);
}
void operator delete(void* p) noexcept {
    __libc_free(p);
}
void operator delete[](void* p) noexcept {
    __libc_free(p);
}
void operator delete(void* p, size_t) noexcept {
    __libc_free(p);
}
void operator delete[](void* p, size_t) noexcept {
    __libc_free(p);
}
#endif

namespace ringcast::testing {
namespace {

std::vector<uint8_t> nack(std::string_view topic, uint64_t first, uint32_t count) {
    const std::string p{char(count >> 24), char(count >> 16), char(count >> 8), char(count)};
    return rcp(uint8_t(op::nack), topic, p, first);
}

class no_alloc : public pipeline {
protected:
    // One pass of every lcore with the allocation count on.
    size_t counted_step(uint64_t now) {
        const size_t before = g_allocations;
        g_counting = true;
        for (const auto& lc : _app->lcores()) {
            poll_once(*lc, now, true);
        }
        g_counting = false;
        return g_allocations - before;
    }
};

TEST_F(no_alloc, steady_state_traffic_through_the_loops_allocates_nothing) {
    start({0, 1}, 2, 1024, [](config& c) {
        c.tx = tx_config{.coalesce = true, .mtu = 1500, .copy_below = 128};
        c.retention.keep = 64;
        c.retention.max_messages = 512;
        c.limits.topics = 256;
    });
    // Plain exact subscribers, a wildcard, a shared group; on both workers.
    for (uint16_t p = 5001; p <= 5040; ++p) {
        subscribe(p, p % 2 == 0 ? "md/a" : "md/b");
    }
    subscribe(5100, "md/#");
    subscribe(5101, "$share/g/md/a");
    subscribe(5102, "$share/g/md/a");
    drain();
    const std::string small(40, 's');
    const std::string large(300, 'L'); // referenced, copy_below is 128
    const auto traffic = [&](int round) {
        for (int i = 0; i < 8; ++i) {
            const uint64_t seq = uint64_t(round) * 100 + uint64_t(i);
            send(6000, rcp(4, "md/a", i % 2 == 0 ? small : large, seq));
            send(6000, rcp(4, "md/b", small, seq, 1));           // QoS 1
            send(6001, rcp(4, "md/a", small, seq, 2));           // QoS 2
            send(6001, rcp(4, "md/a", small, seq, 2));           // its retry: ACKed, not delivered
            send(6002, cat(rcp(4, "md/c", small, seq), rcp(4, "md/d", large, seq))); // one datagram, two frames
        }
        send(5001, rcp(8, "", "ping", 1));
        send(5002, nack("md/a", 1, 4));
        send(5003, rcp(uint8_t(op::sub), "md/a", "", 1, flags::replay)); // exists: history again
        send(5004, std::vector<uint8_t>{0xC5, 0x14, 0}); // truncated: ERR MALFORMED
    };
    // Warm up: the first pass over every path, and every pool's per-lcore cache.
    for (int round = 0; round < 3; ++round) {
        traffic(round);
        for (int i = 0; i < 4; ++i) {
            (void)counted_step(0);
        }
        drain();
    }
    size_t allocations = 0;
    uint64_t delivered = stat_of(metric::deliveries);
    for (int round = 3; round < 40; ++round) {
        traffic(round);
        for (int i = 0; i < 4; ++i) {
            allocations += counted_step(uint64_t(round) * 1000 + uint64_t(i));
        }
        drain();
    }
    delivered = stat_of(metric::deliveries) - delivered;
    EXPECT_EQ(allocations, 0u);
    // It did run the paths named above.
    EXPECT_GT(delivered, 37u * 8 * 20);
    EXPECT_GT(stat_of(metric::frames_referenced), 0u);
    EXPECT_GT(stat_of(metric::frames_copied), 0u);
    EXPECT_GT(stat_of(metric::retransmits), 0u);
    EXPECT_GT(stat_of(metric::replayed), 0u);
    EXPECT_GT(stat_of(metric::qos2_duplicates), 0u);
    EXPECT_GT(stat_of(metric::qos_acks), 0u);
    EXPECT_GT(drop_of(drop::malformed), 0u);
    EXPECT_GT(stat_of(metric::datagrams), 0u);
    // And that the counting works at all.
    const size_t before = g_allocations;
    g_counting = true;
    // Through volatile pointers: clang drops an unused new/delete or malloc/free pair.
    int* volatile probe = new int(1);
    void* volatile raw = std::malloc(16);
    g_counting = false;
    delete probe;
    std::free(raw);
    EXPECT_EQ(g_allocations - before, 2u);
}

} // namespace
} // namespace ringcast::testing

int main(int argc, char** argv) {
    return ringcast::testing::run_pipeline_tests(argc, argv, "no_alloc_test");
}
