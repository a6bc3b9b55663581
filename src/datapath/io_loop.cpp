#include <ringcast/datapath/io_loop.hpp>

#include <ringcast/core/tcp_conn.hpp>
#include <ringcast/core/tcp_wire.hpp>
#include <ringcast/core/topic.hpp>
#include <ringcast/datapath/broadcast.hpp>

#include <rte_ring_elem.h>

#include <algorithm>

namespace ringcast {

namespace {

// Lapsed sources handled per sweep; the rest wait for the next one.
constexpr uint32_t sweep_budget = 1024;
constexpr size_t lapsed_batch = 32;

std::span<std::byte> mbuf_span(rte_mbuf* m) noexcept {
    return {rte_pktmbuf_mtod(m, std::byte*), rte_pktmbuf_data_len(m)};
}

void flush_stage(item_stage& s, lcore_counters& c) noexcept {
    if (s.n == 0) {
        return;
    }
    const unsigned sent =
        rte_ring_enqueue_burst_elem(s.ring, s.items.data(), sizeof(ring_item), s.n, nullptr);
    for (unsigned i = sent; i < s.n; ++i) {
        rte_pktmbuf_free(s.items[i].m); // null for bye items: a no-op
    }
    c.count(drop::ring_full, s.n - sent);
    s.n = 0;
}

// Free slots on the fullest worker ring, after flushing what is staged. The
// io lcore is the rings' only producer, so room only grows until it enqueues
// again: a control item that must not be lost checks this first.
unsigned ring_room(io_state& io, lcore_counters& c) noexcept {
    unsigned room = UINT32_MAX;
    for (item_stage& s : io.to_worker) {
        flush_stage(s, c);
        room = std::min(room, rte_ring_free_count(s.ring));
    }
    return room;
}

void stage(item_stage& s, const ring_item& item, lcore_counters& c) noexcept {
    s.items[s.n++] = item;
    if (s.n == burst_size) {
        flush_stage(s, c);
    }
}

// One UDP datagram's worth of context while its frames are walked.
struct datagram {
    rte_mbuf* m;
    const port_info& port;
    reply_to from;
    source_record* source; // null when the lease table is full
    uint32_t off;          // of the UDP payload in the packet
    uint32_t len;
};

class io_step {
public:
    io_step(io_state& io, lcore_ctx& lc, uint64_t now) noexcept
        : _io(io), _lc(lc), _c(lc.counters), _now(now) {}

    void udp(datagram& d) noexcept;
    // Returns true when the datagram's mbuf itself went to a worker.
    bool frame(datagram& d, const frame_view& f, bool only_frame) noexcept;

private:
    // To the datagram's source, or onto its TCP-lite connection's stream.
    void reply(const datagram& d, op code, uint8_t flag_bits, uint64_t seq,
               std::span<const std::byte> payload = {}) noexcept {
        ringcast::reply(_lc, _io.replies, d.from, code, flag_bits, seq, {}, payload);
    }
    void err(const datagram& d, drop why, err_code code, uint64_t seq, std::string_view reason) noexcept;
    void hello(datagram& d, const frame_view& f) noexcept;
    // With authentication on, the identity the source is bound to; null when
    // it is not (answered with ERR here) and when authentication is off.
    [[nodiscard]] const identity* who(const datagram& d, const frame_view& f, bool& refused) noexcept;
    void deny(const datagram& d, const frame_view& f, std::string_view what) noexcept;
    bool sub(datagram& d, const frame_view& f, bool only_frame, const identity* id) noexcept;
    // The frame alone, as its own mbuf or a view onto the datagram's; null when the pool is empty.
    rte_mbuf* frame_mbuf(datagram& d, const frame_view& f, bool only_frame) noexcept;
    // The item for a worker, with what was learnt of the frame.
    static ring_item item_of(const datagram& d, rte_mbuf* m, const frame_view& f, uint64_t hash,
                             uint8_t group_len) noexcept;
    // To the worker that owns `hash`; returns whether the datagram's own mbuf
    // went. `group_len`: a SUB or UNSUB's filter_spec::group size.
    bool route(datagram& d, const frame_view& f, bool only_frame, uint64_t hash, uint8_t group_len = 0) noexcept;
    bool broadcast(datagram& d, const frame_view& f, bool only_frame, const filter_spec& filter) noexcept;

    io_state& _io;
    lcore_ctx& _lc;
    lcore_counters& _c;
    uint64_t _now;
};

void io_step::err(const datagram& d, drop why, err_code code, uint64_t seq,
                  std::string_view reason) noexcept {
    _c.count(why);
    // Never larger than what caused it: a spoofed source gains nothing by
    // sending small frames. The reason is cut to fit; below a header, no ERR.
    if (d.len < frame_header_size) {
        _c.count(drop::err_too_big);
        return;
    }
    if (d.source != nullptr && !d.source->err_bucket.allow(_now)) {
        _c.count(drop::err_rate_limited);
        return;
    }
    if (!_io.err_global.allow(_now)) {
        _c.count(drop::err_global_limited);
        return;
    }
    reason = reason.substr(0, std::min<size_t>(max_err_reason, d.len - frame_header_size));
    reply(d, op::err, static_cast<uint8_t>(code), seq, as_bytes(reason));
}

void io_step::hello(datagram& d, const frame_view& f) noexcept {
    const access_policy& p = *_io.policy;
    if (!p.required()) {
        reply(d, op::ack, 0, f.seq);
        return;
    }
    if (d.source == nullptr) {
        err(d, drop::limit, err_code::limit, f.seq, "too many sources");
        return;
    }
    const uint32_t id = p.authenticate(f.payload);
    if (id == no_identity) {
        // A wrong token ends what a right one began.
        d.source->identity = no_identity;
        d.source->identity_key = 0;
        err(d, drop::not_authorized, err_code::not_authorized, f.seq, "bad token");
        return;
    }
    d.source->identity = id;
    d.source->identity_key = p.at(id).key;
    _c.count(metric::hellos);
    _io.per_identity[id].hellos.add();
    reply(d, op::ack, 0, f.seq);
}

const identity* io_step::who(const datagram& d, const frame_view& f, bool& refused) noexcept {
    refused = false;
    if (!_io.policy->required()) {
        return nullptr;
    }
    if (d.source == nullptr || d.source->identity == no_identity) {
        refused = true;
        err(d, drop::not_authenticated, err_code::not_authorized, f.seq, "HELLO with a token first");
        return nullptr;
    }
    return &_io.policy->at(d.source->identity);
}

void io_step::deny(const datagram& d, const frame_view& f, std::string_view what) noexcept {
    _io.per_identity[d.source->identity].denied.add();
    err(d, drop::acl_denied, err_code::not_authorized, f.seq, what);
}

void io_step::udp(datagram& d) noexcept {
    const auto bytes = std::span<const std::byte>{rte_pktmbuf_mtod(d.m, const std::byte*), d.off + d.len};
    const auto dgram = bytes.subspan(d.off);
    for (size_t off = 0; off < dgram.size();) {
        const parse_result r = parse_frame(dgram, off);
        if (r.status != parse_status::ok) {
            // Ends the datagram; the whole frames before it stand.
            err(d, drop::malformed, to_err_code(r.status), r.err_seq, "malformed frame");
            break;
        }
        _c.count(metric::rx_frames);
        const bool only = off == 0 && r.frame.size == dgram.size();
        if (frame(d, r.frame, only)) {
            return;
        }
        off += r.frame.size;
    }
    rte_pktmbuf_free(d.m);
}

bool io_step::frame(datagram& d, const frame_view& f, bool only_frame) noexcept {
    switch (f.code) {
    case op::hello:
        hello(d, f);
        return false;
    case op::msg:
    case op::ack:
    case op::pong:
    case op::err:
        // Never answered: two appliances must not trade ERRs forever.
        _c.count(drop::unexpected_op);
        return false;
    default:
        break;
    }
    bool refused = false;
    const identity* id = who(d, f, refused);
    if (refused) {
        return false;
    }
    switch (f.code) {
    case op::ping:
        reply(d, op::pong, 0, f.seq, f.payload.first(std::min(f.payload.size(), max_ping_echo)));
        break;
    case op::sub:
    case op::unsub:
        return sub(d, f, only_frame, id);
    case op::pub: {
        _c.count(metric::pub_frames);
        const topic_check t = check_pub_topic(f.topic, _io.settings.topic_len);
        if (t != topic_check::ok) {
            err(d, drop::bad_topic, err_code::bad_topic, f.seq, to_string(t));
        } else if (f.qos() == 3) {
            err(d, drop::bad_flags, err_code::malformed, f.seq, "QoS 3 is not defined");
        } else if (f.size > _io.settings.max_pub_frame) {
            // Sequenced, it would be a gap no NACK can fill: every MSG of it
            // would exceed the MTU on the way out.
            err(d, drop::pub_too_big, err_code::limit, f.seq, "PUB larger than the MTU allows");
        } else if (id != nullptr && !id->may_publish(f.topic)) {
            deny(d, f, "may not publish there");
        } else {
            if (id != nullptr) {
                _io.per_identity[d.source->identity].pub_frames.add();
            }
            return route(d, f, only_frame, topic_hash(f.topic));
        }
        break;
    }
    case op::nack: {
        const topic_check t = check_pub_topic(f.topic, _io.settings.topic_len);
        if (t != topic_check::ok) {
            err(d, drop::bad_topic, err_code::bad_topic, f.seq, to_string(t));
        } else if (f.payload.size() != 4 || load_be<uint32_t>(f.payload, 0) == 0 ||
                   load_be<uint32_t>(f.payload, 0) > max_nack_count) {
            err(d, drop::bad_nack, err_code::malformed, f.seq, "NACK count must be 1..1024");
        } else if (id != nullptr && !id->may_subscribe(f.topic)) {
            deny(d, f, "may not read there");
        } else {
            return route(d, f, only_frame, topic_hash(f.topic));
        }
        break;
    }
    case op::bye:
        // Acknowledged only once every worker is sure to hear of it.
        if (ring_room(_io, _c) == 0) {
            err(d, drop::ring_full, err_code::overload, f.seq, "busy, retry BYE");
            break;
        }
        for (item_stage& s : _io.to_worker) {
            stage(s, ring_item{.src = d.from.ep, .kind = item_kind::bye}, _c);
        }
        if (d.source != nullptr) {
            d.source->has_subs = false;
        }
        reply(d, op::ack, 0, f.seq);
        break;
    default:
        break;
    }
    return false;
}

bool io_step::sub(datagram& d, const frame_view& f, bool only_frame, const identity* id) noexcept {
    filter_spec filter;
    const topic_check t = parse_filter(f.topic, _io.settings.topic_len, filter);
    if (t != topic_check::ok) {
        err(d, drop::bad_topic, err_code::bad_topic, f.seq, to_string(t));
        return false;
    }
    // UNSUB gives up what one holds, so it needs no right.
    if (id != nullptr && f.code == op::sub) {
        if (!id->may_subscribe(filter.filter)) {
            deny(d, f, "may not subscribe to that");
            return false;
        }
        _io.per_identity[d.source->identity].sub_frames.add();
    }
    if (d.source == nullptr) {
        err(d, drop::limit, err_code::limit, f.seq, "too many sources");
        return false;
    }
    if (filter.wildcard && ring_room(_io, _c) == 0) {
        // Every worker holds wildcard filters; all must have it before the ACK.
        err(d, drop::ring_full, err_code::overload, f.seq, "busy, retry");
        return false;
    }
    d.source->has_subs = d.source->has_subs || f.code == op::sub;
    // A shared group on an exact filter lives with that topic's owner.
    return filter.wildcard ? broadcast(d, f, only_frame, filter)
                           : route(d, f, only_frame, filter.hash, static_cast<uint8_t>(filter.group.size()));
}

rte_mbuf* io_step::frame_mbuf(datagram& d, const frame_view& f, bool only_frame) noexcept {
    rte_mbuf* view = d.m;
    if (!only_frame) {
        view = rte_pktmbuf_clone(d.m, _io.indirect);
        if (view == nullptr) {
            _c.count(drop::pool_empty);
            return nullptr;
        }
    }
    // Trim the view to exactly this frame.
    rte_pktmbuf_adj(view, static_cast<uint16_t>(d.off + f.offset));
    rte_pktmbuf_trim(view, static_cast<uint16_t>(rte_pktmbuf_pkt_len(view) - f.size));
    return view;
}

ring_item io_step::item_of(const datagram& d, rte_mbuf* m, const frame_view& f, uint64_t hash,
                           uint8_t group_len) noexcept {
    return ring_item{.m = m,
                     .hash = hash,
                     .src = d.from.ep,
                     .src_mac = d.from.mac,
                     .code = f.code,
                     .payload_len = static_cast<uint32_t>(f.payload.size()),
                     .flags = f.flags,
                     .topic_len = static_cast<uint8_t>(f.topic.size()),
                     .group_len = group_len,
                     .wildcard = false,
                     .identity = d.source != nullptr ? d.source->identity_key : 0};
}

bool io_step::route(datagram& d, const frame_view& f, bool only_frame, uint64_t hash, uint8_t group_len) noexcept {
    rte_mbuf* view = frame_mbuf(d, f, only_frame);
    if (view == nullptr) {
        return false;
    }
    stage(_io.to_worker[topic_owner(hash, static_cast<uint32_t>(_io.to_worker.size()))],
          item_of(d, view, f, hash, group_len), _c);
    return only_frame;
}

bool io_step::broadcast(datagram& d, const frame_view& f, bool only_frame, const filter_spec& filter) noexcept {
    rte_mbuf* view = frame_mbuf(d, f, only_frame);
    if (view == nullptr) {
        return false;
    }
    // One reference per worker; the caller checked every ring has room.
    broadcast_hold(view, static_cast<uint16_t>(_io.to_worker.size()));
    ring_item item = item_of(d, view, f, filter.hash, static_cast<uint8_t>(filter.group.size()));
    item.kind = item_kind::all_workers;
    item.wildcard = true;
    for (item_stage& s : _io.to_worker) {
        stage(s, item, _c);
    }
    return only_frame;
}

// A TCP segment while TCP-lite is not served: what no connection wants is
// answered with RST (RFC 9293 §3.10.7.1), under the global ERR budget, so
// a client is told at once and a SYN flood cannot make us a reflector.
// True when `m` went out as the RST.
bool refuse_tcp(io_state& io, lcore_ctx& lc, rte_mbuf* m, const packet_info& p, uint16_t port,
                uint64_t now) noexcept {
    lcore_counters& c = lc.counters;
    const auto frame = mbuf_span(m);
    tcp_segment_view seg;
    if (parse_tcp(std::span<const std::byte>(frame).subspan(p.payload_off, p.payload_len), seg) !=
            tcp_parse_status::ok ||
        tcp_checksum(p.src.ip, lc.ports[port].id.ipv4,
                     std::span<const std::byte>(frame).subspan(p.payload_off, p.payload_len)) != 0) {
        c.count(drop::tcp_bad_segment);
        return false;
    }
    c.count(drop::tcp_unserved);
    const std::optional<tcp_header> rst = reset_for(seg);
    if (!rst) {
        return false; // a RST is never answered
    }
    if (!io.err_global.allow(now)) {
        c.count(drop::err_global_limited);
        return false;
    }
    const size_t n = make_tcp_reply(frame, *rst);
    rte_pktmbuf_trim(m, static_cast<uint16_t>(rte_pktmbuf_data_len(m) - n));
    c.count(metric::tcp_resets);
    tx_push(lc.tx[port], m, c);
    return true;
}

} // namespace

uint16_t io_poll(io_state& io, lcore_ctx& lc, uint64_t now) noexcept {
    lcore_counters& c = lc.counters;
    io_step step(io, lc, now);
    uint16_t total = 0;
    for (const rx_queue& q : io.rx) {
        std::array<rte_mbuf*, burst_size> pkts;
        const uint16_t n = rte_eth_rx_burst(lc.ports[q.port].port_id, q.queue, pkts.data(), burst_size);
        if (n == 0) {
            continue;
        }
        total += n;
        c.count(metric::rx_packets, n);
        c.count(metric::rx_bursts);
        const port_info& port = lc.ports[q.port];
        for (rte_mbuf* m : std::span{pkts.data(), n}) {
            if (m->nb_segs != 1) {
                c.count(drop::rx_multi_seg);
                rte_pktmbuf_free(m);
                continue;
            }
            const packet_info p = classify(mbuf_span(m), port.id);
            switch (p.kind) {
            case packet_kind::arp_request:
                make_arp_reply(mbuf_span(m), port.id);
                c.count(metric::arp_replies);
                tx_push(lc.tx[q.port], m, c);
                break;
            case packet_kind::icmp_echo:
                make_icmp_echo_reply(mbuf_span(m));
                c.count(metric::icmp_replies);
                tx_push(lc.tx[q.port], m, c);
                break;
            case packet_kind::udp: {
                endpoint ep = p.src;
                ep.port_id = q.port;
                datagram d{.m = m,
                           .port = port,
                           .from = {ep, p.src_mac},
                           .source = io.leases.touch(ep, now),
                           .off = p.payload_off,
                           .len = p.payload_len};
                step.udp(d);
                break;
            }
            case packet_kind::tcp:
                if (io.tcp != nullptr &&
                    (p.dst_port == io.tcp->port() || (io.tcp->mqtt_port() != 0 && p.dst_port == io.tcp->mqtt_port()))) {
                    io.tcp->segment(io, lc, m, p, q.port, now);
                } else if (!refuse_tcp(io, lc, m, p, q.port, now)) {
                    rte_pktmbuf_free(m);
                }
                break;
            case packet_kind::arp_reply: // the appliance never asks
            case packet_kind::drop:
                c.count(p.kind == packet_kind::drop ? p.reason : drop::arp_ignored);
                rte_pktmbuf_free(m);
                break;
            }
        }
    }
    // Replies for TCP-lite streams before the items: a worker's answer to a
    // BYE must reach the inbox after them (see tcp_lite::act).
    tcp_flush(lc);
    for (item_stage& s : io.to_worker) {
        flush_stage(s, c);
    }
    return total;
}

void io_stream_frame(io_state& io, lcore_ctx& lc, uint64_t now, source_record& source, const reply_to& from,
                     rte_mbuf* m) noexcept {
    const std::span<const std::byte> bytes{rte_pktmbuf_mtod(m, const std::byte*), rte_pktmbuf_data_len(m)};
    const parse_result r = parse_frame(bytes, 0);
    io_step step(io, lc, now);
    datagram d{.m = m,
               .port = lc.ports[port_index(from.ep)],
               .from = from,
               .source = &source,
               .off = 0,
               .len = static_cast<uint32_t>(bytes.size())};
    // rcp_stream passed its header; the rest of the frame is checked here as a datagram's.
    if (r.status != parse_status::ok || !step.frame(d, r.frame, true)) {
        rte_pktmbuf_free(m);
    }
}

bool io_tell_workers(io_state& io, lcore_ctx& lc, const endpoint& ep, item_kind kind) noexcept {
    if (ring_room(io, lc.counters) == 0) {
        return false;
    }
    for (item_stage& s : io.to_worker) {
        stage(s, ring_item{.src = ep, .kind = kind}, lc.counters);
    }
    return true;
}

namespace {

// A policy the control thread published: sources bound again by key (an
// identity renamed, removed or given a new token loses its sources), the
// per-identity counters restarted, and the workers to be told. A scan of the
// lease table: a reload is rare and this is the control path.
void adopt_policy(io_state& io, const access_policy& next, uint64_t now) noexcept {
    io.policy = &next;
    io.leases.for_each([&](source_record& s) {
        s.identity = s.identity_key == 0 ? no_identity : next.find(s.identity_key);
        if (s.identity == no_identity) {
            s.identity_key = 0;
        }
    });
    io.leases.set_err_per_s(next.err_per_s);
    io.err_global = token_bucket(next.err_global_per_s, next.err_global_per_s, io.settings.hz, now);
    for (identity_counters& c : io.per_identity) {
        c.hellos.set(0);
        c.pub_frames.set(0);
        c.sub_frames.set(0);
        c.denied.set(0);
    }
    io.tell_workers = true;
}

} // namespace

void io_housekeeping(io_state& io, lcore_ctx& lc, uint64_t now) noexcept {
    if (now < io.next_sweep) {
        return;
    }
    io.next_sweep = now + io.settings.hz / 1000;
    if (io.link.latest != nullptr) {
        const access_policy* next = io.link.latest->load(std::memory_order_acquire);
        if (next != io.policy) {
            adopt_policy(io, *next, now);
        }
    }
    // Each worker hears of the policy after every item checked under the old
    // one; held is raised only then, so the old one outlives those items.
    if (io.tell_workers && ring_room(io, lc.counters) != 0) {
        for (item_stage& s : io.to_worker) {
            stage(s, ring_item{.src = {}, .kind = item_kind::policy}, lc.counters);
        }
        io.tell_workers = false;
        io.link.held.store(io.policy->generation(), std::memory_order_release);
    }
    // A lapsed source leaves the lease table for good, so its notice must
    // reach every worker: expire only as many as the rings have room for.
    const size_t room = std::min<size_t>(lapsed_batch, ring_room(io, lc.counters));
    std::array<endpoint, lapsed_batch> lapsed;
    const size_t n = io.leases.expire(now, sweep_budget, std::span{lapsed.data(), room});
    for (const endpoint& ep : std::span{lapsed.data(), n}) {
        lc.counters.count(metric::leases_expired);
        for (item_stage& s : io.to_worker) {
            stage(s, ring_item{.src = ep, .kind = item_kind::lapsed}, lc.counters);
        }
    }
    for (item_stage& s : io.to_worker) {
        flush_stage(s, lc.counters);
    }
}

} // namespace ringcast
