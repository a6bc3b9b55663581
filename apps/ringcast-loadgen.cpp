// ringcast-loadgen: a DPDK load generator that speaks RCP/1. One publisher
// and topics x subscribers subscriber identities (distinct UDP source
// ports) on one port and one lcore: subscribe, publish at a rate or as fast
// as possible, receive, and report rates, loss, reordering and one-way
// latency (payloads carry the send TSC; sender and receiver share the clock).
// Every run is bounded by --duration and --count and ends by itself.
#include <ringcast/client/loadgen.hpp>
#include <ringcast/core/net.hpp>
#include <ringcast/core/wire.hpp>
#include <ringcast/datapath/port.hpp>
#include <ringcast/datapath/tx.hpp>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

using namespace ringcast;

namespace {

// Control frames and our PUBs wait for room in a full TX ring this many
// tries, then count as refused: the generator paces itself to its link.
constexpr unsigned tx_tries = 1000;
constexpr const char* usage = R"(Usage: ringcast-loadgen [EAL options] -- [options]

Target:
  --dst-ip ADDR        appliance address                    (default 192.0.2.1)
  --dst-port N         appliance UDP port                   (default 7700)
  --src-ip ADDR        our address: one the kernel does not hold (default 192.0.2.9)
  --src-port-base N    first subscriber source port; the publisher uses N-1 (default 20000)
  --port-id N          DPDK port                            (default 0)

Workload:
  --topics N           topics                               (default 1)
  --subscribers N      subscribers per topic                (default 1)
  --size BYTES         payload bytes, at least 20           (default 64)
  --size-mix MAX       70 % 64-512 B, 20 % 512 B-1 KB, 10 % up to MAX instead of --size
  --rate N             messages per second, 0 = as fast as possible (default 0)
  --batch N            PUB frames per datagram              (default 1)
  --duration S         seconds of publishing                (default 5)
  --count N            stop after N messages, 0 = no limit   (default 0)

Subscribers are UDP sources. TCP-lite subscribers need a TCP stack on this
side, which DPDK does not bring: kernel TCP clients measure it instead
(build/bench/peer_driver --system ringcast, scripts/bench-tcp.sh).

Output:
  --scenario NAME      scenario name in the results         (default "custom")
  --vdev-name NAME     vdev named in the results            (default: the port's driver)
  --json FILE          append the result as one JSON line
  --quiet              no progress line
  --sut-cores N        cores the system under test polls with, for the results (default 1)

Reference:
  --reflector          the peer echoes packets back (dpdk-testpmd --forward-mode=macswap):
                       no ARP, no SUB; every PUB that comes back counts as one delivery
)";

std::atomic<bool> g_stop{false};

void on_signal(int) {
    g_stop.store(true);
}

struct options {
    uint32_t dst_ip = 0xC0000201;
    uint16_t dst_port = 7700;
    uint32_t src_ip = 0xC0000209;
    uint16_t src_port_base = 20000;
    uint16_t port_id = 0;
    uint32_t topics = 1;
    uint32_t subscribers = 1;
    uint32_t size = 64;
    uint32_t size_mix = 0;
    uint64_t rate = 0;
    uint32_t batch = 1;
    double duration = 5;
    uint64_t count = 0;
    std::string scenario = "custom";
    std::string vdev_name;
    std::string json;
    bool quiet = false;
    bool reflector = false;
    double sut_cores = 1;
};

uint32_t parse_ip(const std::string& s) {
    in_addr a{};
    if (inet_pton(AF_INET, s.c_str(), &a) != 1) {
        throw std::invalid_argument("not an IPv4 address: " + s);
    }
    return ntohl(a.s_addr);
}

uint64_t parse_u64(const std::string& name, const std::string& v, uint64_t lo, uint64_t hi) {
    size_t used = 0;
    const uint64_t n = std::stoull(v, &used);
    if (used != v.size() || n < lo || n > hi) {
        throw std::invalid_argument(name + " must be " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " + v);
    }
    return n;
}

options parse_options(int argc, char** argv) {
    options o;
    for (int i = 0; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                throw std::invalid_argument(a + " needs a value");
            }
            return argv[++i];
        };
        if (a == "--dst-ip") {
            o.dst_ip = parse_ip(value());
        } else if (a == "--dst-port") {
            o.dst_port = static_cast<uint16_t>(parse_u64(a, value(), 1, 65535));
        } else if (a == "--src-ip") {
            o.src_ip = parse_ip(value());
        } else if (a == "--src-port-base") {
            o.src_port_base = static_cast<uint16_t>(parse_u64(a, value(), 2, 60000));
        } else if (a == "--port-id") {
            o.port_id = static_cast<uint16_t>(parse_u64(a, value(), 0, RTE_MAX_ETHPORTS - 1));
        } else if (a == "--topics") {
            o.topics = static_cast<uint32_t>(parse_u64(a, value(), 1, 100000));
        } else if (a == "--subscribers") {
            o.subscribers = static_cast<uint32_t>(parse_u64(a, value(), 0, 5000));
        } else if (a == "--size") {
            o.size = static_cast<uint32_t>(parse_u64(a, value(), payload_stamp_size, 1400));
        } else if (a == "--size-mix") {
            o.size_mix = static_cast<uint32_t>(parse_u64(a, value(), 1025, 1400));
        } else if (a == "--rate") {
            o.rate = parse_u64(a, value(), 0, 100'000'000);
        } else if (a == "--batch") {
            o.batch = static_cast<uint32_t>(parse_u64(a, value(), 1, 64));
        } else if (a == "--duration") {
            o.duration = std::stod(value());
            if (!(o.duration > 0 && o.duration <= 600)) {
                throw std::invalid_argument("--duration must be in (0, 600] seconds");
            }
        } else if (a == "--count") {
            o.count = parse_u64(a, value(), 0, UINT64_MAX);
        } else if (a == "--scenario") {
            o.scenario = value();
        } else if (a == "--vdev-name") {
            o.vdev_name = value();
        } else if (a == "--json") {
            o.json = value();
        } else if (a == "--quiet") {
            o.quiet = true;
        } else if (a == "--reflector") {
            o.reflector = true;
        } else if (a == "--sut-cores") {
            o.sut_cores = double(parse_u64(a, value(), 1, 1024));
        } else if (a == "-h" || a == "--help") {
            std::fputs(usage, stdout);
            std::exit(0);
        } else {
            throw std::invalid_argument("unknown option " + a);
        }
    }
    if (o.reflector) {
        o.subscribers = 1; // the reflector is the one receiver
    }
    if (uint64_t{o.topics} * o.subscribers + o.src_port_base > 65535) {
        throw std::invalid_argument("--topics x --subscribers does not fit in the UDP ports above --src-port-base");
    }
    return o;
}

class loadgen {
public:
    explicit loadgen(const options& o);
    ~loadgen();
    void run();

private:
    uint16_t publisher_port() const noexcept { return static_cast<uint16_t>(_o.src_port_base - 1); }
    uint32_t identities() const noexcept { return _o.topics * _o.subscribers; }

    // One datagram of frames from `src_port`, written by `fill` into the
    // payload area; queued for TX.
    template <class Fill>
    bool send(uint16_t src_port, size_t len, Fill&& fill);
    void flush_tx() { tx_flush(_tx, _counters, tx_tries); }
    void resolve_arp();
    void subscribe_all();
    void control_all(op code, uint64_t seq_base); // BYE or PING from every subscriber
    uint16_t publish(uint32_t n, uint64_t now);
    void receive(uint64_t now);
    void progress(uint64_t now);
    void on_datagram(const packet_info& p, std::span<const std::byte> dgram, uint64_t now);
    void on_msg(uint32_t id, const frame_view& f, uint64_t now);
    run_result report(uint64_t pub_ticks, uint64_t rx_ticks) const;

    options _o;
    uint64_t _hz = rte_get_tsc_hz();
    rte_mempool* _pool = nullptr;
    port_info _port;
    // Reflected PUBs come back addressed to the appliance (macswap swaps MACs only).
    port_identity _reflected;
    mac_addr _dst_mac{};
    bool _dst_known = false;
    std::vector<std::string> _topic_names;
    size_picker _sizes{64};
    tx_buffer _tx;
    lcore_counters _counters; // tx_full: what TX refused even after waiting
    std::vector<std::byte> _filler;

    // Accounting.
    std::vector<stream_tracker> _trackers; // per subscriber identity
    std::vector<uint8_t> _acked;           // per identity: SUB acknowledged
    latency_histogram _latency;
    uint64_t _published = 0;
    uint64_t _rx_msgs = 0;      // MSG frames (or reflected PUBs) received
    uint64_t _rx_datagrams = 0; // datagrams that carried them
    uint64_t _errs = 0;
    uint64_t _pub_seq = 0;
    uint32_t _next_topic = 0;
    // Progress.
    uint64_t _last_progress = 0;
    uint64_t _last_published = 0;
    uint64_t _last_delivered = 0;
    uint64_t _first_rx = 0;
    uint64_t _last_rx = 0;
};

loadgen::loadgen(const options& o) : _o(o), _trackers(identities()), _acked(identities(), 0) {
    std::array<char, RTE_ETH_NAME_MAX_LEN> name{};
    if (!rte_eth_dev_is_valid_port(_o.port_id) || rte_eth_dev_get_name_by_port(_o.port_id, name.data()) != 0) {
        throw std::runtime_error("port " + std::to_string(_o.port_id) + " does not exist (give a --vdev or -a)");
    }
    _pool = rte_pktmbuf_pool_create("lg_pool", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                    static_cast<int>(rte_socket_id()));
    if (_pool == nullptr) {
        throw std::runtime_error(std::string("rte_pktmbuf_pool_create: ") + rte_strerror(rte_errno));
    }
    // Our subscribers are many UDP ports: port 0 takes them all. The
    // appliance's UDP checksum is 0 and ours too.
    const port_config pc{.device = name.data(), .ipv4 = _o.src_ip, .verify_udp_checksum = false};
    _port = open_port(pc, 0, 1, 1, _pool);
    _reflected = _port.id;
    _reflected.ipv4 = _o.dst_ip;
    _tx = tx_buffer{.port_id = _port.port_id, .queue = 0};
    for (uint32_t t = 0; t < _o.topics; ++t) {
        _topic_names.push_back("lg/" + std::to_string(t));
    }
    _sizes = _o.size_mix != 0 ? size_picker::mix(_o.size_mix) : size_picker(_o.size);
    _filler.assign(1500, std::byte{'x'});
}

loadgen::~loadgen() {
    tx_discard(_tx);
    close_port(_port);
    rte_mempool_free(_pool);
}

template <class Fill>
bool loadgen::send(uint16_t src_port, size_t len, Fill&& fill) {
    rte_mbuf* m = rte_pktmbuf_alloc(_pool);
    if (m == nullptr) {
        return false;
    }
    auto* p = rte_pktmbuf_append(m, static_cast<uint16_t>(l2l4_len + len));
    std::span<std::byte> out{reinterpret_cast<std::byte*>(p), l2l4_len + len};
    write_udp_headers(out, _port.id.mac, _dst_mac, _o.src_ip, _o.dst_ip, src_port, _o.dst_port,
                      static_cast<uint16_t>(len));
    fill(out.subspan(l2l4_len));
    tx_push(_tx, m, _counters, tx_tries);
    return true;
}

void loadgen::resolve_arp() {
    const uint64_t deadline = rte_rdtsc() + 5 * _hz;
    uint64_t next_ask = 0;
    while (!_dst_known) {
        const uint64_t now = rte_rdtsc();
        if (now > deadline || g_stop.load()) {
            throw std::runtime_error("no ARP reply from the appliance within 5 s");
        }
        if (now >= next_ask) {
            next_ask = now + _hz / 10;
            rte_mbuf* m = rte_pktmbuf_alloc(_pool);
            if (m == nullptr) {
                throw std::runtime_error("mempool empty");
            }
            auto* p = reinterpret_cast<std::byte*>(rte_pktmbuf_append(m, eth_hdr_len + arp_len));
            make_arp_request(std::span{p, eth_hdr_len + arp_len}, _port.id, _o.dst_ip);
            tx_push(_tx, m, _counters, tx_tries);
            flush_tx();
        }
        receive(now);
    }
}

void loadgen::subscribe_all() {
    // SUB from every identity; resend what is not acknowledged, for 5 s.
    const uint64_t deadline = rte_rdtsc() + 5 * _hz;
    for (int round = 0;; ++round) {
        uint32_t missing = 0;
        for (uint32_t i = 0; i < identities(); ++i) {
            if (_acked[i] != 0) {
                continue;
            }
            ++missing;
            const auto& topic = _topic_names[i / _o.subscribers];
            (void)send(static_cast<uint16_t>(_o.src_port_base + i), frame_size(topic.size(), 0), [&](auto out) {
                (void)write_frame(out, op::sub, 0, i + 1, as_bytes(topic), {});
            });
            if (i % burst_size == burst_size - 1) {
                flush_tx();
                receive(rte_rdtsc());
            }
        }
        flush_tx();
        if (missing == 0) {
            return;
        }
        const uint64_t wait_until = rte_rdtsc() + _hz / 5;
        while (rte_rdtsc() < wait_until) {
            receive(rte_rdtsc());
        }
        if (rte_rdtsc() > deadline || g_stop.load()) {
            throw std::runtime_error(std::to_string(missing) + " SUBs not acknowledged within 5 s");
        }
    }
}

void loadgen::control_all(op code, uint64_t seq_base) {
    for (uint32_t i = 0; i < identities(); ++i) {
        (void)send(static_cast<uint16_t>(_o.src_port_base + i), frame_size(0, 0),
                   [&](auto out) { (void)write_frame(out, code, 0, seq_base + i, {}, {}); });
    }
    flush_tx();
}

uint16_t loadgen::publish(uint32_t n, uint64_t now) {
    uint16_t done = 0;
    while (done < n) {
        const uint32_t frames = std::min<uint32_t>(_o.batch, n - done);
        std::array<uint32_t, 64> sizes;
        std::array<uint32_t, 64> topics;
        size_t len = 0;
        for (uint32_t f = 0; f < frames; ++f) {
            sizes[f] = _sizes.next();
            topics[f] = _next_topic;
            _next_topic = _next_topic + 1 == _o.topics ? 0 : _next_topic + 1;
            len += frame_size(_topic_names[topics[f]].size(), sizes[f]);
        }
        if (l2l4_len + len > 1514) {
            break; // --batch with big payloads: fewer frames fit
        }
        const bool ok = send(publisher_port(), len, [&](std::span<std::byte> out) {
            size_t off = 0;
            for (uint32_t f = 0; f < frames; ++f) {
                const auto& topic = _topic_names[topics[f]];
                const size_t n_frame = frame_size(topic.size(), sizes[f]);
                auto frame = out.subspan(off, n_frame);
                (void)write_frame(frame, op::pub, 0, ++_pub_seq, as_bytes(topic),
                                  std::span{_filler.data(), sizes[f]});
                write_stamp(frame.subspan(frame_header_size + topic.size()),
                            payload_stamp{.tsc = now, .seq = _pub_seq, .topic = topics[f]});
                off += n_frame;
            }
        });
        if (!ok) {
            break;
        }
        done = static_cast<uint16_t>(done + frames);
    }
    _published += done;
    return done;
}

void loadgen::receive(uint64_t now) {
    for (uint16_t q = 0; q < _port.rx_queues; ++q) {
        std::array<rte_mbuf*, burst_size> pkts;
        const uint16_t n = rte_eth_rx_burst(_port.port_id, q, pkts.data(), burst_size);
        for (rte_mbuf* m : std::span{pkts.data(), n}) {
            std::span<std::byte> f{rte_pktmbuf_mtod(m, std::byte*), rte_pktmbuf_data_len(m)};
            const packet_info p = classify(f, _o.reflector ? _reflected : _port.id);
            if (p.kind == packet_kind::arp_reply && p.src.ip == _o.dst_ip) {
                _dst_mac = p.src_mac; // the appliance's
                _dst_known = true;
            } else if (p.kind == packet_kind::arp_request && !_o.reflector) {
                make_arp_reply(f, _port.id);
                tx_push(_tx, m, _counters, tx_tries);
                flush_tx();
                continue;
            } else if (p.kind == packet_kind::udp) {
                on_datagram(p, f.subspan(p.payload_off, p.payload_len), now);
            }
            rte_pktmbuf_free(m);
        }
    }
}

void loadgen::on_datagram(const packet_info& p, std::span<const std::byte> dgram, uint64_t now) {
    // Reflected: our own PUBs, MACs swapped, frames unchanged; their publisher
    // seq stands in for a topic seq (one stream, from 1).
    if (_o.reflector && p.src.port != publisher_port()) {
        return;
    }
    const uint32_t id = p.dst_port - _o.src_port_base;
    const bool ours = p.dst_port >= _o.src_port_base && id < identities();
    const uint64_t msgs_before = _rx_msgs;
    for (size_t off = 0; off < dgram.size();) {
        const parse_result r = parse_frame(dgram, off);
        if (r.status != parse_status::ok) {
            ++_errs;
            break;
        }
        off += r.frame.size;
        if (_o.reflector) {
            if (r.frame.code == op::pub) {
                on_msg(0, r.frame, now);
            }
        } else if (r.frame.code == op::ack && ours) {
            _acked[id] = 1;
        } else if (r.frame.code == op::err) {
            ++_errs;
        } else if (r.frame.code == op::msg && ours) {
            on_msg(id, r.frame, now);
        }
    }
    _rx_datagrams += _rx_msgs != msgs_before ? 1 : 0;
}

void loadgen::on_msg(uint32_t id, const frame_view& f, uint64_t now) {
    if (f.payload.size() < payload_stamp_size) {
        ++_errs;
        return;
    }
    ++_rx_msgs;
    _trackers[id].on_seq(f.seq);
    const payload_stamp s = read_stamp(f.payload);
    _latency.record(now > s.tsc ? (now - s.tsc) * 1'000'000'000 / _hz : 0);
    if (_first_rx == 0) {
        _first_rx = now;
    }
    _last_rx = now;
}

uint64_t delivered_of(const std::vector<stream_tracker>& ts) {
    uint64_t n = 0;
    for (const auto& t : ts) {
        n += t.received();
    }
    return n;
}

void loadgen::progress(uint64_t now) {
    if (_o.quiet || now - _last_progress < _hz) {
        return;
    }
    const double dt = double(now - _last_progress) / double(_hz);
    const uint64_t delivered = delivered_of(_trackers);
    std::fprintf(stderr, "  pub %10.0f msg/s   delivered %10.0f msg/s   p99 %8.1f us   errs %lu\n",
                 double(_published - _last_published) / dt, double(delivered - _last_delivered) / dt,
                 double(_latency.percentile(0.99)) / 1000.0, static_cast<unsigned long>(_errs));
    _last_progress = now;
    _last_published = _published;
    _last_delivered = delivered;
}

void loadgen::run() {
    // A memif peer may still be connecting: what was sent before the link
    // is up would be lost, and counted against the peer.
    for (const uint64_t deadline = rte_rdtsc() + 5 * _hz; rte_rdtsc() < deadline && !g_stop.load();) {
        rte_eth_link link{};
        if (rte_eth_link_get_nowait(_port.port_id, &link) == 0 && link.link_status == RTE_ETH_LINK_UP) {
            break;
        }
        rte_delay_ms(10);
    }
    if (_o.reflector) {
        _dst_mac = {0x02, 0, 0, 0, 0, 0x01}; // any: the reflector forwards whatever it gets
    } else {
        resolve_arp();
        subscribe_all();
    }
    const uint64_t start = rte_rdtsc();
    const uint64_t end = start + static_cast<uint64_t>(_o.duration * double(_hz));
    pacer pace(_o.rate, _hz, start, burst_size * _o.batch);
    _last_progress = start;
    uint64_t now = start;
    uint64_t keepalive = start + 10 * _hz; // well inside the default 30 s lease
    while (!g_stop.load(std::memory_order_relaxed) && now < end && (_o.count == 0 || _published < _o.count)) {
        uint32_t n = pace.due(now);
        if (_o.count != 0) {
            n = static_cast<uint32_t>(std::min<uint64_t>(n, _o.count - _published));
        }
        if (n != 0) {
            pace.take(publish(n, now));
            flush_tx();
        }
        receive(now);
        if (now >= keepalive && !_o.reflector) {
            control_all(op::ping, 1'000'000);
            keepalive = now + 10 * _hz;
        }
        progress(now);
        now = rte_rdtsc();
    }
    const uint64_t pub_end = now;
    // Drain: until every expected delivery arrived, or 500 ms without one.
    const uint64_t expected = _published * _o.subscribers;
    uint64_t quiet_since = rte_rdtsc();
    uint64_t seen = delivered_of(_trackers);
    while (seen < expected && rte_rdtsc() - quiet_since < _hz / 2 && !g_stop.load()) {
        receive(rte_rdtsc());
        if (const uint64_t d = delivered_of(_trackers); d != seen) {
            seen = d;
            quiet_since = rte_rdtsc();
        }
    }
    if (!_o.reflector) {
        control_all(op::bye, 2'000'000);
    }
    const uint64_t settle = rte_rdtsc() + _hz / 10;
    while (rte_rdtsc() < settle) {
        receive(rte_rdtsc());
    }
    const run_result r = report(pub_end - start, _last_rx > _first_rx ? _last_rx - start : pub_end - start);
    std::printf("\n%-22s %s\n", "scenario", r.scenario.c_str());
    std::printf("%-22s %s\n", "vdev", r.vdev.c_str());
    std::printf("%-22s %u topics x %u subscribers, payload %s B, batch %u\n", "shape", r.topics, r.subscribers,
                _o.size_mix != 0 ? "mix" : std::to_string(_o.size).c_str(), _o.batch);
    std::printf("%-22s %lu in %.3f s = %.0f msg/s (TX refused %lu)\n", "published",
                static_cast<unsigned long>(r.published), r.duration_s, r.pub_msgs_per_s,
                static_cast<unsigned long>(_counters.get(drop::tx_full)));
    std::printf("%-22s %lu of %lu = %.0f msg/s\n", "delivered", static_cast<unsigned long>(r.delivered),
                static_cast<unsigned long>(expected), r.delivered_msgs_per_s);
    std::printf("%-22s lost %lu, reordered %lu, duplicates %lu, ERR %lu\n", "per subscriber, summed",
                static_cast<unsigned long>(r.lost), static_cast<unsigned long>(r.reordered),
                static_cast<unsigned long>(r.duplicates), static_cast<unsigned long>(_errs));
    std::printf("%-22s %lu datagrams, %.2f frames each; port missed %lu\n", "received",
                static_cast<unsigned long>(r.rx_datagrams), r.frames_per_datagram,
                static_cast<unsigned long>(r.rx_missed));
    std::printf("%-22s p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f (%s)\n", "one-way latency (us)", r.p50_us,
                r.p90_us, r.p99_us, r.p999_us, r.max_us, r.latency.c_str());
    if (!_o.json.empty()) {
        std::ofstream out(_o.json, std::ios::app);
        out << to_json(r) << "\n";
        if (!out) {
            throw std::runtime_error("cannot write " + _o.json);
        }
    }
}

run_result loadgen::report(uint64_t pub_ticks, uint64_t rx_ticks) const {
    run_result r;
    r.scenario = _o.scenario;
    r.vdev = _o.vdev_name.empty() ? _port.driver : _o.vdev_name;
    if (_o.reflector) {
        r.system = "testpmd";
    }
    std::array<char, 256> host{};
    gethostname(host.data(), host.size() - 1);
    r.machine = std::string(host.data()) + ", " + std::to_string(sysconf(_SC_NPROCESSORS_ONLN)) + " cores";
    r.payload_bytes = _o.size_mix != 0 ? 0 : _o.size;
    r.topics = _o.topics;
    r.subscribers = _o.subscribers;
    r.duration_s = double(pub_ticks) / double(_hz);
    r.published = _published;
    for (const auto& t : _trackers) {
        r.delivered += t.received();
        r.lost += t.lost();
        r.reordered += t.reordered();
        r.duplicates += t.duplicates();
    }
    // Messages never seen at all by a subscriber (lost at the tail) count as lost too.
    const uint64_t expected = _published * _o.subscribers;
    if (expected > r.delivered + r.lost) {
        r.lost = expected - r.delivered;
    }
    r.pub_msgs_per_s = pub_ticks == 0 ? 0 : double(_published) * double(_hz) / double(pub_ticks);
    r.delivered_msgs_per_s = rx_ticks == 0 ? 0 : double(r.delivered) * double(_hz) / double(rx_ticks);
    r.cpu_cores = _o.sut_cores;
    r.rx_datagrams = _rx_datagrams;
    r.frames_per_datagram = _rx_datagrams == 0 ? 0 : double(_rx_msgs) / double(_rx_datagrams);
    rte_eth_stats st{};
    if (rte_eth_stats_get(_port.port_id, &st) == 0) {
        r.rx_missed = st.imissed + st.rx_nombuf;
    }
    set_latency(r, _latency);
    return r;
}

} // namespace

int main(int argc, char** argv) {
    const int eal = rte_eal_init(argc, argv);
    if (eal < 0) {
        std::fprintf(stderr, "ringcast-loadgen: rte_eal_init: %s\n%s", rte_strerror(rte_errno), usage);
        return 1;
    }
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    int rc = 0;
    try {
        const options o = parse_options(argc - eal - 1 > 0 ? argc - eal - 1 : 0, argv + eal + 1);
        loadgen lg(o);
        lg.run();
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "ringcast-loadgen: %s\n%s", e.what(), usage);
        rc = 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ringcast-loadgen: %s\n", e.what());
        rc = 1;
    }
    rte_eal_cleanup();
    return rc;
}
