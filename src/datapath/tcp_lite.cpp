#include <ringcast/datapath/tcp_lite.hpp>

#include <ringcast/core/tcp_wire.hpp>
#include <ringcast/datapath/io_loop.hpp>

#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_ring_elem.h>

#include <algorithm>
#include <cstring>

namespace ringcast {

namespace {

// Timers fired per poll; the rest wait for the next one.
constexpr uint32_t timer_budget = 64;
// Connections looked at per housekeeping call for idleness.
constexpr uint32_t idle_slice = 256;
// A cookie's counter steps every 8 s and is accepted for two steps: a
// handshake has 8 to 24 s to complete.
constexpr uint64_t cookie_step_ms = 8000;
constexpr uint32_t cookie_max_age = 2;
// Ethernet and IPv4 before the TCP header.
constexpr size_t l3_end = 14 + ipv4_hdr_len;

std::span<std::byte> mbuf_span(rte_mbuf* m) noexcept {
    return {rte_pktmbuf_mtod(m, std::byte*), rte_pktmbuf_data_len(m)};
}

void free_ref(void* buf) noexcept {
    rte_pktmbuf_free(static_cast<rte_mbuf*>(buf));
}

uint64_t timer_data(uint32_t id, tcp_timer k) noexcept {
    return uint64_t{id} << 2 | static_cast<uint64_t>(k);
}

// The TCP checksum of a packet whose TCP header starts at l3_end, over every
// segment of its chain, in the byte order it is stored in.
uint16_t segment_checksum(const rte_mbuf* head, const rte_ipv4_hdr* ip) noexcept {
    uint32_t sum = rte_ipv4_phdr_cksum(ip, 0);
    size_t done = 0; // bytes summed so far: a piece at an odd offset sums byte-swapped
    uint32_t skip = l3_end;
    for (const rte_mbuf* m = head; m != nullptr; m = m->next) {
        const uint32_t len = m->data_len - skip;
        uint16_t part = rte_raw_cksum(rte_pktmbuf_mtod_offset(m, const void*, skip), len);
        if (done % 2 != 0) {
            part = static_cast<uint16_t>(part << 8 | part >> 8);
        }
        sum += part;
        done += len;
        skip = 0;
    }
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

} // namespace

tcp_lite_settings tcp_settings_for(const config& cfg, uint64_t hz) {
    const tcp_lite_config& t = cfg.tcp;
    tcp_lite_settings s;
    // The MSS our segments may carry within the MTU: IPv4 and TCP headers less.
    s.conn.mss = static_cast<uint16_t>(std::min<uint32_t>(cfg.tx.mtu - 40, 65535));
    s.conn.rcv_buf = t.receive_buffer;
    s.conn.snd_queue = t.send_queue;
    s.conn.rto_initial_ms = t.rto_initial_ms;
    s.conn.max_retries = t.max_retries;
    s.conn.delayed_ack_ms = t.delayed_ack_ms;
    s.conn.time_wait_ms = t.time_wait_ms;
    s.table = tcp_table_limits{.connections = t.connections, .time_wait = t.time_wait};
    s.port = t.port;
    s.queue_entries = t.queue_entries;
    s.slow = t.slow_consumer;
    s.idle_ms = uint64_t{t.idle_timeout_s} * 1000;
    s.max_frame = cfg.tx.mtu - static_cast<uint32_t>(ipv4_hdr_len + udp_hdr_len);
    s.copy_below = cfg.tx.copy_below;
    s.loss_ppm = cfg.debug.inject_loss_ppm;
    // Held segments are receive mbufs: a sixteenth of the pool, the rest for new traffic.
    s.max_held = cfg.mempool.mbufs / 16;
    s.ticks_per_ms = std::max<uint64_t>(1, hz / 1000);
    s.mqtt_s = mqtt_settings_for(cfg);
    s.mqtt_s.ticks_per_ms = s.ticks_per_ms;
    return s;
}

tcp_lite::tcp_lite(const tcp_lite_settings& s, uint16_t io_index, rte_ring* inbox, rte_mempool* headers,
                   rte_mempool* indirect, uint64_t now)
    : _s(s), _params(make_tcp_params(s.conn)), _io_index(io_index), _inbox(inbox), _headers(headers),
      _indirect(indirect), _table(s.table), _queues(s.queue_entries),
      _wheel(s.table.connections * static_cast<uint32_t>(tcp_timer_kinds), 4096, now / s.ticks_per_ms) {
    _links.reserve(s.table.connections);
    // An MQTT packet buffer only where MQTT is served.
    const size_t max_packet = s.mqtt_s.cfg.enabled ? s.mqtt_s.cfg.max_packet : mqtt::max_fixed_header;
    for (uint32_t i = 0; i < s.table.connections; ++i) {
        _links.emplace_back(s.max_frame, max_packet);
    }
    _dirty.reserve(s.table.connections);
    _notices.reserve(s.table.connections);
    _finished.reserve(s.table.connections);
    if (s.mqtt_s.cfg.enabled) {
        _mqtt = std::make_unique<mqtt_gateway>(s.mqtt_s, io_index, headers);
    }
    // The secret only has to be unguessable from outside and live as long as
    // the process: the TSC at start-up, mixed, will do for cookies.
    const uint64_t seed = rte_rdtsc();
    _secret = syn_cookie_secret{seed * 0x9e3779b97f4a7c15ULL ^ 0x6a09e667f3bcc908ULL,
                                (seed ^ reinterpret_cast<uintptr_t>(this)) * 0xbf58476d1ce4e5b9ULL};
}

uint32_t tcp_lite::cookie_counter(uint64_t now_ms) const noexcept {
    return static_cast<uint32_t>(now_ms / cookie_step_ms);
}

void tcp_lite::send_rst(io_state& io, lcore_ctx& lc, rte_mbuf* m, const tcp_segment_view& seg, uint16_t port,
                        drop why, uint64_t now) noexcept {
    lcore_counters& c = lc.counters;
    c.count(why);
    const std::optional<tcp_header> rst = reset_for(seg);
    // Never answered: a RST. Rate-limited: a flood must not make us a reflector.
    if (!rst || !io.err_global.allow(now)) {
        if (rst) {
            c.count(drop::err_global_limited);
        }
        rte_pktmbuf_free(m);
        return;
    }
    const size_t n = make_tcp_reply(mbuf_span(m), *rst);
    rte_pktmbuf_trim(m, static_cast<uint16_t>(rte_pktmbuf_data_len(m) - n));
    c.count(metric::tcp_resets);
    tx_push(lc.tx[port], m, c);
}

void tcp_lite::segment(io_state& io, lcore_ctx& lc, rte_mbuf* m, const packet_info& p, uint16_t port,
                       uint64_t now) noexcept {
    lcore_counters& c = lc.counters;
    const auto bytes = std::span<const std::byte>(mbuf_span(m)).subspan(p.payload_off, p.payload_len);
    tcp_segment_view seg;
    const uint32_t local_ip = lc.ports[port].id.ipv4;
    // Address 0 is no peer's: MQTT sessions' endpoints use it (mqtt_session_endpoint).
    if (p.src.ip == 0 || parse_tcp(bytes, seg) != tcp_parse_status::ok ||
        tcp_checksum(p.src.ip, local_ip, bytes) != 0) {
        c.count(drop::tcp_bad_segment);
        rte_pktmbuf_free(m);
        return;
    }
    const tcp_tuple t{.peer_ip = p.src.ip, .local_ip = local_ip, .peer_port = p.src.port, .local_port = p.dst_port};
    const uint32_t id = _table.find(t);
    if (id == no_id) {
        listen(io, lc, m, seg, t, p, port, now);
        return;
    }
    c.count(tcp_stat::segments_in);
    tcp_link& l = _links[id];
    l.last_heard = ms(now);
    _table.conn(id).on_segment(seg, ms(now), _acts);
    if (_acts.closed && _acts.reason == tcp_close_reason::reused) {
        // A new SYN ended TIME_WAIT: the old one goes, the SYN is answered.
        act(io, lc, id, nullptr, nullptr, now);
        listen(io, lc, m, seg, t, p, port, now);
        return;
    }
    const bool beyond_hole = _acts.beyond_hole;
    act(io, lc, id, m, &seg, now);
    if (beyond_hole && l.live && hold(l, m, seg.hdr.seq, p)) {
        return;
    }
    rte_pktmbuf_free(m); // frames routed on hold their own views
    if (l.live && l.n_held != 0) {
        replay_held(io, lc, id, now);
    }
    close_finished(io, lc, now);
}

bool tcp_lite::hold(tcp_link& l, rte_mbuf* m, uint32_t seq, const packet_info& p) noexcept {
    if (_held >= _s.max_held || l.n_held == l.held.size()) {
        return false;
    }
    size_t at = 0;
    while (at < l.n_held && seq_lt(l.held[at].seq, seq)) {
        ++at;
    }
    if (at < l.n_held && l.held[at].seq == seq) {
        return false; // the same segment again
    }
    std::move_backward(l.held.begin() + at, l.held.begin() + l.n_held, l.held.begin() + l.n_held + 1);
    l.held[at] = held_segment{m, seq, static_cast<uint16_t>(p.payload_off), static_cast<uint16_t>(p.payload_len)};
    ++l.n_held;
    ++_held;
    return true;
}

void tcp_lite::replay_held(io_state& io, lcore_ctx& lc, uint32_t id, uint64_t now) noexcept {
    tcp_link& l = _links[id];
    while (l.live && l.n_held != 0 && seq_leq(l.held[0].seq, _table.conn(id).rcv_nxt())) {
        const held_segment h = l.held[0];
        std::move(l.held.begin() + 1, l.held.begin() + l.n_held, l.held.begin());
        --l.n_held;
        --_held;
        tcp_segment_view seg;
        // Parsed and checked when it came; the bytes have not moved since.
        if (parse_tcp(std::span<const std::byte>(mbuf_span(h.m)).subspan(h.off, h.len), seg) == tcp_parse_status::ok) {
            lc.counters.count(tcp_stat::out_of_order_kept);
            _table.conn(id).on_segment(seg, ms(now), _acts);
            act(io, lc, id, h.m, &seg, now);
        }
        rte_pktmbuf_free(h.m);
    }
}

void tcp_lite::free_held(tcp_link& l) noexcept {
    for (const held_segment& h : std::span{l.held.data(), l.n_held}) {
        rte_pktmbuf_free(h.m);
    }
    _held -= l.n_held;
    l.n_held = 0;
}

void tcp_lite::listen(io_state& io, lcore_ctx& lc, rte_mbuf* m, const tcp_segment_view& seg, const tcp_tuple& t,
                      const packet_info& p, uint16_t port, uint64_t now) noexcept {
    const tcp_header& h = seg.hdr;
    const uint64_t now_ms = ms(now);
    if (h.has(tcp_flags::syn) && !h.has(tcp_flags::ack) && !h.has(tcp_flags::rst)) {
        // No state for a SYN: the SYN-ACK's sequence number is the cookie.
        const tcp_header syn_ack = syn_ack_for(_params, seg, t, _secret, cookie_counter(now_ms));
        // Our options may outgrow the SYN's (a SYN without any is 54 bytes).
        const size_t need = l3_end + tcp_header_size(syn_ack);
        if (const size_t have = rte_pktmbuf_data_len(m);
            have < need && rte_pktmbuf_append(m, static_cast<uint16_t>(need - have)) == nullptr) {
            lc.counters.count(drop::pool_empty);
            rte_pktmbuf_free(m);
            return;
        }
        const size_t n = make_tcp_reply(mbuf_span(m), syn_ack);
        rte_pktmbuf_trim(m, static_cast<uint16_t>(rte_pktmbuf_data_len(m) - n));
        lc.counters.count(tcp_stat::syns);
        tx_push(lc.tx[port], m, lc.counters);
        return;
    }
    if (h.has(tcp_flags::rst)) {
        lc.counters.count(drop::tcp_no_connection);
        rte_pktmbuf_free(m);
        return;
    }
    if (h.has(tcp_flags::ack) && !h.has(tcp_flags::syn)) {
        if (const auto syn = accept_cookie(seg, t, _secret, cookie_counter(now_ms), cookie_max_age)) {
            open(io, lc, m, seg, t, *syn, p, port, now);
            return;
        }
        send_rst(io, lc, m, seg, port, drop::tcp_bad_cookie, now);
        return;
    }
    send_rst(io, lc, m, seg, port, drop::tcp_no_connection, now);
}

void tcp_lite::open(io_state& io, lcore_ctx& lc, rte_mbuf* m, const tcp_segment_view& seg, const tcp_tuple& t,
                    const cookie_fields& syn, const packet_info& p, uint16_t port, uint64_t now) noexcept {
    uint32_t evicted = no_id;
    const uint32_t id = _table.insert(t, evicted);
    if (evicted != no_id) {
        lc.counters.count(tcp_stat::time_wait_evicted);
        release(io, lc, evicted, false, now);
    }
    if (id == no_id) {
        send_rst(io, lc, m, seg, port, drop::tcp_table_full, now);
        return;
    }
    tcp_link& l = _links[id];
    l.queue = send_queue{};
    l.stream.reset();
    const endpoint ep = tcp_endpoint(t.peer_ip, t.peer_port, port, _io_index);
    l.source = source_record{.ep = ep,
                             .err_bucket = token_bucket(io.policy->err_per_s, io.policy->err_per_s,
                                                        io.settings.hz, now)};
    l.from = reply_to{ep, p.src_mac};
    l.timers = {};
    l.last_heard = ms(now);
    l.byes_pending = 0;
    l.broken = false;
    l.ending = false;
    l.dirty = false;
    l.in_time_wait = false;
    l.seen = {};
    l.mqtt = _mqtt != nullptr && t.local_port == mqtt_port();
    l.session = no_id;
    l.packets.reset();
    l.live = true;
    lc.counters.count(tcp_stat::established);
    lc.counters.count(tcp_stat::segments_in);
    _table.conn(id).open(_params, t, seg, syn, ms(now), _acts);
    act(io, lc, id, m, &seg, now);
    rte_pktmbuf_free(m);
}

void tcp_lite::deliver(io_state& io, lcore_ctx& lc, uint32_t id, rte_mbuf* m, const tcp_segment_view& seg,
                       uint64_t now) noexcept {
    tcp_link& l = _links[id];
    const auto data = seg.payload.subspan(_acts.deliver_off, _acts.deliver_len);
    lc.counters.count(tcp_stat::bytes_in, data.size());
    if (l.broken) {
        // Framing is lost: what follows is read and ignored until the close.
        _table.conn(id).consumed(_acts.deliver_len, ms(now), _acts);
        return;
    }
    if (l.mqtt) {
        const mqtt::stream_verdict v = l.packets.feed(data, [&](const mqtt::packet_view& p) {
            if (!l.broken) { // a packet before may have ended it
                _mqtt->packet(io, lc, *this, id, p, now);
            }
        });
        if (!v.ok() && !l.broken) {
            // The end below (act) leaves the session, as for a protocol error.
            lc.counters.count(v.status == mqtt::decode_status::too_long ? mqtt_stat::too_large
                                                                        : mqtt_stat::protocol_errors);
            l.broken = true;
        }
        _table.conn(id).consumed(_acts.deliver_len, ms(now), _acts);
        return;
    }
    const std::byte* base = rte_pktmbuf_mtod(m, const std::byte*);
    const stream_result r = l.stream.feed(data, [&](const frame_view& f) {
        const std::byte* at = f.topic.data() - frame_off::topic;
        rte_mbuf* frame = nullptr;
        if (at >= base && at < base + rte_pktmbuf_data_len(m)) {
            // Whole in this segment: a view on it, no copy.
            frame = rte_pktmbuf_clone(m, _indirect);
            if (frame != nullptr) {
                rte_pktmbuf_adj(frame, static_cast<uint16_t>(at - base));
                rte_pktmbuf_trim(frame, static_cast<uint16_t>(rte_pktmbuf_data_len(frame) - f.size));
            }
        } else {
            // Reassembled from several segments: copied once more, into a buffer of its own.
            frame = rte_pktmbuf_alloc(lc.ports[port_index(l.from.ep)].rx_pool);
            auto* p = frame != nullptr ? rte_pktmbuf_append(frame, static_cast<uint16_t>(f.size)) : nullptr;
            if (p == nullptr) {
                rte_pktmbuf_free(frame);
                frame = nullptr;
            } else {
                std::memcpy(p, at, f.size);
            }
        }
        if (frame == nullptr) {
            lc.counters.count(drop::pool_empty);
            return;
        }
        lc.counters.count(metric::rx_frames);
        io_stream_frame(io, lc, now, l.source, l.from, frame);
    });
    tcp_conn& c = _table.conn(id);
    if (r.status != stream_status::ok) {
        // The stream lost its framing: ERR behind the replies already on
        // their way (the same stage), then the end as for the peer's FIN.
        lc.counters.count(drop::malformed);
        const std::string_view why = r.status == stream_status::too_long ? "frame too long" : "malformed frame";
        const err_code code = r.status == stream_status::too_long ? err_code::limit : to_err_code(r.frame_error);
        rte_mbuf* err = rte_pktmbuf_alloc(_headers);
        const size_t len = frame_size(0, why.size());
        auto* p = err != nullptr ? rte_pktmbuf_append(err, static_cast<uint16_t>(len)) : nullptr;
        if (p != nullptr) {
            (void)write_frame({reinterpret_cast<std::byte*>(p), len}, op::err, static_cast<uint8_t>(code),
                              r.err_seq, {}, as_bytes(why));
            tcp_send(lc, l.from.ep, err);
        } else {
            rte_pktmbuf_free(err);
            lc.counters.count(drop::pool_empty);
        }
        l.broken = true;
    }
    // Everything is parsed at once: only a split frame's bytes stay held.
    c.consumed(_acts.deliver_len, ms(now), _acts);
}

void tcp_lite::act(io_state& io, lcore_ctx& lc, uint32_t id, rte_mbuf* m, const tcp_segment_view* seg,
                   uint64_t now) noexcept {
    lcore_counters& c = lc.counters;
    tcp_link& l = _links[id];
    tcp_conn& conn = _table.conn(id);
    if (_acts.acked != 0) {
        _queues.release(l.queue, _acts.acked, free_ref);
        c.count(tcp_stat::bytes_out, _acts.acked);
    }
    if (_acts.deliver_len != 0 && seg != nullptr && m != nullptr) {
        deliver(io, lc, id, m, *seg, now);
    }
    const bool peer_fin = _acts.peer_fin;
    while (true) {
        for (size_t k = 0; k < tcp_timer_kinds; ++k) {
            const tcp_timer_request& r = _acts.timers[k];
            if (r.what == tcp_timer_request::op::none) {
                continue;
            }
            _wheel.cancel(l.timers[k]);
            l.timers[k] = r.what == tcp_timer_request::op::arm
                              ? _wheel.arm(r.at, timer_data(id, static_cast<tcp_timer>(k)))
                              : timer_handle{};
        }
        for (const tcp_out_segment& s : std::span{_acts.segments.data(), _acts.n_segments}) {
            if (s.data_len != 0 && _s.loss_ppm != 0 && (_loss_credit += _s.loss_ppm) >= 1'000'000) {
                _loss_credit -= 1'000'000;
                c.count(drop::injected_loss); // the timer or the peer's duplicate ACKs bring it back
                continue;
            }
            if (rte_mbuf* pkt = build(lc, id, s)) {
                c.count(tcp_stat::segments_out);
                tx_push(lc.tx[port_index(l.from.ep)], pkt, c);
            }
        }
        const bool more = _acts.more;
        const bool closed = _acts.closed;
        const tcp_close_reason reason = _acts.reason;
        _acts.clear();
        if (closed) {
            count_stats(c, l);
            c.count(reason == tcp_close_reason::normal          ? tcp_stat::closed
                    : reason == tcp_close_reason::reset_by_peer ? tcp_stat::resets_received
                                                                : tcp_stat::aborted);
            release(io, lc, id, true, now);
            return;
        }
        if (!more) {
            break;
        }
        conn.poll_send(ms(now), _acts);
    }
    count_stats(c, l);
    if (conn.state() == tcp_state::time_wait && !l.in_time_wait) {
        l.in_time_wait = true;
        release_queue(l);
        free_held(l);
        if (const uint32_t old = _table.entered_time_wait(id); old != no_id) {
            c.count(tcp_stat::time_wait_evicted);
            release(io, lc, old, false, now);
        }
    }
    if ((peer_fin || l.broken) && !l.ending && l.mqtt) {
        // An MQTT session outlives its connection: the gateway decides what
        // stays. Nothing to wait for before our FIN.
        l.ending = true;
        _mqtt->ended(io, lc, *this, id, l.broken ? mqtt::close_reason::protocol_error : mqtt::close_reason::network,
                     now);
        conn.close(ms(now), _acts);
        act(io, lc, id, nullptr, nullptr, now);
        return;
    }
    if ((peer_fin || l.broken) && !l.ending) {
        // The peer has said all it will, or its stream lost framing. Its
        // subscriptions go; our FIN follows once every worker has answered
        // what came before (their answers and our ERR reach the inbox first).
        l.ending = true;
        l.source.has_subs = false;
        const auto n_workers = static_cast<uint8_t>(io.to_worker.size());
        if (io_tell_workers(io, lc, l.from.ep, item_kind::bye)) {
            l.byes_pending = n_workers;
        } else {
            conn.close(ms(now), _acts);
            act(io, lc, id, nullptr, nullptr, now);
        }
    }
}

void tcp_lite::count_stats(lcore_counters& c, tcp_link& l) noexcept {
    // The connection counts for itself; the lcore's totals take the difference.
    const tcp_conn_stats& s = _table.conn(static_cast<uint32_t>(&l - _links.data())).stats();
    c.count(tcp_stat::retransmits, s.retransmits - l.seen.retransmits);
    c.count(tcp_stat::fast_retransmits, s.fast_retransmits - l.seen.fast_retransmits);
    c.count(tcp_stat::timeouts, s.timeouts - l.seen.timeouts);
    c.count(tcp_stat::zero_window_probes, s.zero_window_probes - l.seen.zero_window_probes);
    c.count(tcp_stat::out_of_order, s.out_of_order - l.seen.out_of_order);
    c.count(tcp_stat::challenge_acks, s.challenge_acks - l.seen.challenge_acks);
    l.seen = s;
}

rte_mbuf* tcp_lite::build(lcore_ctx& lc, uint32_t id, const tcp_out_segment& s) noexcept {
    tcp_link& l = _links[id];
    const port_info& port = lc.ports[port_index(l.from.ep)];
    const size_t hdr_len = l3_end + tcp_header_size(s.hdr);
    // Copied bytes go into the first segment: a header mbuf when they fit, else a receive one.
    rte_mempool* pool = hdr_len + s.data_len <= size_t{rte_pktmbuf_data_room_size(_headers)} - RTE_PKTMBUF_HEADROOM
                            ? _headers
                            : port.rx_pool;
    rte_mbuf* head = rte_pktmbuf_alloc(pool);
    if (head == nullptr) {
        lc.counters.count(drop::pool_empty);
        return nullptr;
    }
    auto* h = reinterpret_cast<std::byte*>(rte_pktmbuf_append(head, static_cast<uint16_t>(hdr_len)));
    (void)write_tcp_headers({h, hdr_len}, port.id.mac, l.from.mac, port.id.ipv4, l.from.ep.ip, s.hdr, s.data_len);
    rte_mbuf* tail = head;
    bool ok = true;
    _queues.gather(l.queue, s.data_off, s.data_len, [&](void* buf, uint32_t from, uint32_t n) {
        if (!ok) {
            return;
        }
        auto* f = static_cast<rte_mbuf*>(buf);
        const bool by_ref = n >= _s.copy_below && port.multi_seg_tx && head->nb_segs < port.tx_max_segments;
        if (by_ref) {
            // Large pieces ride by reference: an indirect mbuf on the queued frame.
            rte_mbuf* v = rte_pktmbuf_clone(f, _indirect);
            if (v == nullptr) {
                ok = false;
                return;
            }
            rte_pktmbuf_adj(v, static_cast<uint16_t>(from));
            rte_pktmbuf_trim(v, static_cast<uint16_t>(rte_pktmbuf_data_len(v) - n));
            tail->next = v;
            tail = v;
            ++head->nb_segs;
            head->pkt_len += n;
            return;
        }
        if (rte_pktmbuf_tailroom(tail) < n || !RTE_MBUF_DIRECT(tail)) {
            rte_mbuf* more = rte_pktmbuf_alloc(port.rx_pool);
            if (more == nullptr || head->nb_segs >= port.tx_max_segments) {
                rte_pktmbuf_free(more);
                ok = false;
                return;
            }
            tail->next = more;
            tail = more;
            ++head->nb_segs;
        }
        std::memcpy(rte_pktmbuf_mtod_offset(tail, std::byte*, rte_pktmbuf_data_len(tail)),
                    rte_pktmbuf_mtod_offset(f, const std::byte*, from), n);
        tail->data_len = static_cast<uint16_t>(tail->data_len + n);
        head->pkt_len += n;
    });
    if (!ok) {
        lc.counters.count(drop::pool_empty);
        rte_pktmbuf_free(head);
        return nullptr;
    }
    // No vdev here offers TCP checksum offload: software, over the whole chain.
    auto* ip = rte_pktmbuf_mtod_offset(head, rte_ipv4_hdr*, 14);
    auto* th = rte_pktmbuf_mtod_offset(head, rte_tcp_hdr*, l3_end);
    th->cksum = 0;
    th->cksum = segment_checksum(head, ip);
    return head;
}

void tcp_lite::queue(io_state& io, lcore_ctx& lc, const tcp_item& item, uint64_t now) noexcept {
    lcore_counters& c = lc.counters;
    const endpoint& ep = item.to;
    if (is_mqtt_session(ep)) {
        if (_mqtt != nullptr && item.m != nullptr) {
            _mqtt->inbox(io, lc, *this, ep, item.m, now);
        } else if (item.m != nullptr) {
            c.count(drop::tcp_stale);
            rte_pktmbuf_free(item.m);
        }
        return;
    }
    const uint16_t port = port_index(ep);
    const uint32_t id =
        port < lc.ports.size()
            ? _table.find(tcp_tuple{.peer_ip = ep.ip, .local_ip = lc.ports[port].id.ipv4, .peer_port = ep.port,
                                    .local_port = _s.port})
            : no_id;
    if (id == no_id || !_links[id].live) {
        if (item.m != nullptr) {
            c.count(drop::tcp_stale);
            rte_pktmbuf_free(item.m);
        }
        return;
    }
    tcp_link& l = _links[id];
    tcp_conn& conn = _table.conn(id);
    if (item.m == nullptr) {
        // A worker has handled the BYE of a peer that sent its FIN.
        if (l.byes_pending != 0 && --l.byes_pending == 0) {
            conn.close(ms(now), _acts);
            act(io, lc, id, nullptr, nullptr, now);
        }
        return;
    }
    const uint32_t len = rte_pktmbuf_data_len(item.m);
    if (const std::optional<drop> why = refusal(id, len, 1)) {
        rte_pktmbuf_free(item.m);
        if (*why == drop::tcp_slow_consumer && _s.slow == slow_consumer_policy::close) {
            c.count(tcp_stat::slow_consumer_closes);
            conn.abort(ms(now), _acts);
            act(io, lc, id, nullptr, nullptr, now);
        } else {
            c.count(*why);
        }
        return;
    }
    const std::array piece{tcp_piece{item.m, len, 0}};
    enqueue(id, piece);
}

void tcp_lite::mark_dirty(uint32_t id) noexcept {
    if (!_links[id].dirty) {
        _links[id].dirty = true;
        _dirty.push_back(id);
    }
}

std::optional<drop> tcp_lite::refusal(uint32_t id, uint32_t len, size_t entries) noexcept {
    const tcp_conn& conn = _table.conn(id);
    const tcp_state st = conn.state();
    if (!_links[id].live || (st != tcp_state::established && st != tcp_state::close_wait)) {
        return drop::tcp_stale;
    }
    if (len > _params.cfg.snd_queue - std::min(_params.cfg.snd_queue, conn.queued())) {
        return drop::tcp_slow_consumer;
    }
    if (_queues.available() < entries) {
        return drop::tcp_queue_full;
    }
    return std::nullopt;
}

void tcp_lite::enqueue(uint32_t id, std::span<const tcp_piece> pieces) noexcept {
    uint32_t len = 0;
    for (const tcp_piece& p : pieces) {
        (void)_queues.push(_links[id].queue, p.m, p.len, p.skip); // refusal() checked the room
        len += p.len;
    }
    (void)_table.conn(id).send(len);
    mark_dirty(id);
}

bool tcp_lite::send(lcore_ctx& lc, uint32_t id, std::span<const tcp_piece> pieces) noexcept {
    uint32_t len = 0;
    for (const tcp_piece& p : pieces) {
        len += p.len;
    }
    if (const std::optional<drop> why = refusal(id, len, pieces.size())) {
        lc.counters.count(*why);
        for (const tcp_piece& p : pieces) {
            rte_pktmbuf_free(p.m);
        }
        return false;
    }
    enqueue(id, pieces);
    return true;
}

void tcp_lite::finish(uint32_t id) noexcept {
    tcp_link& l = _links[id];
    if (l.live && !l.broken) {
        l.broken = true;
        _finished.push_back(id);
    }
}

void tcp_lite::close_finished(io_state& io, lcore_ctx& lc, uint64_t now) noexcept {
    // Closed here, never inside another connection's act(): its actions are one shared buffer.
    for (size_t i = 0; i < _finished.size(); ++i) {
        const uint32_t id = _finished[i];
        if (_links[id].live && !_links[id].ending) {
            act(io, lc, id, nullptr, nullptr, now);
        }
    }
    _finished.clear();
}

uint32_t tcp_lite::poll(io_state& io, lcore_ctx& lc, uint64_t now) noexcept {
    uint32_t work = 0;
    // Bounded: the ring's size per pass, as a worker drains its rings.
    const unsigned budget = rte_ring_get_size(_inbox);
    for (unsigned done = 0, n = burst_size; done < budget && n == burst_size; done += n) {
        n = rte_ring_dequeue_burst_elem(_inbox, _burst.data(), sizeof(tcp_item), burst_size, nullptr);
        for (const tcp_item& item : std::span{_burst.data(), n}) {
            queue(io, lc, item, now);
        }
        work += n;
    }
    if (_mqtt != nullptr) {
        _mqtt->end_of_burst();
    }
    close_finished(io, lc, now);
    for (const uint32_t id : _dirty) {
        _links[id].dirty = false;
        if (_links[id].live) {
            _table.conn(id).poll_send(ms(now), _acts);
            act(io, lc, id, nullptr, nullptr, now);
        }
    }
    _dirty.clear();
    work += _wheel.advance(ms(now), timer_budget, [&](uint64_t data, uint64_t) {
        const auto id = static_cast<uint32_t>(data >> 2);
        const auto k = static_cast<tcp_timer>(data & 3);
        _links[id].timers[static_cast<size_t>(k)] = timer_handle{};
        if (_links[id].live) {
            _table.conn(id).on_timer(k, ms(now), _acts);
            act(io, lc, id, nullptr, nullptr, now);
        }
    });
    return work;
}

void tcp_lite::release_queue(tcp_link& l) noexcept {
    _queues.clear(l.queue, free_ref);
}

void tcp_lite::release(io_state& io, lcore_ctx& lc, uint32_t id, bool erase, uint64_t now) noexcept {
    tcp_link& l = _links[id];
    release_queue(l);
    free_held(l);
    for (timer_handle& h : l.timers) {
        _wheel.cancel(h);
        h = {};
    }
    l.stream.reset();
    if (l.mqtt) {
        _mqtt->ended(io, lc, *this, id, mqtt::close_reason::network, now);
    } else if (l.source.has_subs && !io_tell_workers(io, lc, l.from.ep, item_kind::lapsed)) {
        _notices.push_back(l.from.ep); // at most one per connection slot
    }
    l.source.has_subs = false;
    l.live = false;
    if (erase) {
        _table.erase(id);
    }
}

void tcp_lite::housekeeping(io_state& io, lcore_ctx& lc, uint64_t now) noexcept {
    const uint64_t now_ms = ms(now);
    if (now_ms == _last_housekeeping) {
        return; // a slice a millisecond is enough
    }
    _last_housekeeping = now_ms;
    while (!_notices.empty() && io_tell_workers(io, lc, _notices.back(), item_kind::lapsed)) {
        _notices.pop_back();
    }
    if (_mqtt != nullptr) {
        _mqtt->housekeeping(io, lc, *this, now);
        close_finished(io, lc, now);
    }
    const auto cap = static_cast<uint32_t>(_links.size());
    std::array<uint64_t, tcp_state_count> states{};
    for (uint32_t i = 0; i < std::min(idle_slice, cap); ++i) {
        const uint32_t id = _idle_cursor;
        _idle_cursor = id + 1 == cap ? 0 : id + 1;
        tcp_link& l = _links[id];
        if (!l.live || _s.idle_ms == 0 || now_ms - l.last_heard < _s.idle_ms) {
            continue;
        }
        tcp_conn& conn = _table.conn(id);
        if (conn.state() == tcp_state::established || conn.state() == tcp_state::close_wait) {
            lc.counters.count(tcp_stat::idle_closes);
            l.last_heard = now_ms; // once; the FIN's own retries end it if the peer is gone
            conn.close(now_ms, _acts);
            act(io, lc, id, nullptr, nullptr, now);
        }
    }
    // Connections by state, for /ringcast/tcp: a scan at most ten times a second.
    if (now_ms < _next_gauges) {
        return;
    }
    _next_gauges = now_ms + 100;
    for (uint32_t id = 0; id < cap; ++id) {
        if (_links[id].live) {
            ++states[static_cast<size_t>(_table.conn(id).state())];
        }
    }
    for (size_t s = 0; s < tcp_state_count; ++s) {
        lc.counters.tcp_states[s].set(states[s]);
    }
}

void tcp_lite::drain() noexcept {
    if (_mqtt != nullptr) {
        _mqtt->drain();
    }
    for (tcp_link& l : _links) {
        release_queue(l);
        free_held(l);
        l.live = false;
    }
    tcp_item item;
    while (rte_ring_dequeue_elem(_inbox, &item, sizeof(item)) == 0) {
        rte_pktmbuf_free(item.m);
    }
}

} // namespace ringcast
