#include <ringcast/datapath/repair.hpp>

#include <ringcast/datapath/fanout.hpp>

#include <algorithm>
#include <array>
#include <span>

namespace ringcast {

namespace {

// Retained frames gathered for one repair before they are sent: a NACK asks
// for at most max_nack_count; a wildcard SUB's history is sent in parts.
constexpr size_t max_repair_frames = max_nack_count;

// One subscriber's repair, from one worker's retention. Frames are gathered
// into datagrams like live deliveries (the worker's coalescer: repair runs
// between batches, never inside one), each flagged REPLAYED in a copy of its
// header, and leave when the repair is done.
class repairer {
public:
    repairer(worker_state& w, lcore_ctx& lc, uint64_t now, const reply_to& to, subscriber_record& s) noexcept
        : _w(w), _lc(lc), _now(now), _to(to), _s(s) {
        _w.plan.reset(_w.tx_limits);
    }
    ~repairer() { flush(); }
    repairer(const repairer&) = delete;
    repairer& operator=(const repairer&) = delete;

    // Topic seqs [from, to] of `tid`: GAP_LOST for the part that is gone,
    // then what is held, until the budget runs out.
    void replay(uint32_t tid, uint64_t from, uint64_t to, bool for_nack) noexcept;
    // One retained frame again, flagged REPLAYED; false when refused.
    bool send(rte_mbuf* frame, bool for_nack) noexcept;
    // ERR GAP_LOST: seq = the first asked for, payload = the first still held.
    bool gap_lost(uint64_t seq, std::span<const std::byte> topic, uint64_t first_held) noexcept;

private:
    bool take_token() noexcept;
    void send_to_stream(rte_mbuf* frame) noexcept;
    // Builds and queues what is gathered.
    void flush() noexcept;

    worker_state& _w;
    lcore_ctx& _lc;
    uint64_t _now;
    const reply_to& _to;
    subscriber_record& _s;
    std::array<rte_mbuf*, max_repair_frames> _frames;
    uint16_t _n = 0;
};

bool repairer::take_token() noexcept {
    if (_s.repair.allow(_now)) {
        return true;
    }
    _lc.counters.count(drop::nack_limited);
    ++_s.stats.nack_limited;
    ++_s.stats.drops;
    return false;
}

bool repairer::gap_lost(uint64_t seq, std::span<const std::byte> topic, uint64_t first_held) noexcept {
    if (!take_token()) {
        return false;
    }
    flush(); // what was gathered before it leaves before it
    std::array<std::byte, 8> p;
    store_be<uint64_t>(p, 0, first_held);
    reply(_lc, _w.headers, _to, op::err, static_cast<uint8_t>(err_code::gap_lost), seq, topic, p);
    _lc.counters.count(metric::gap_lost);
    return true;
}

bool repairer::send(rte_mbuf* frame, bool for_nack) noexcept {
    if (!take_token()) {
        return false;
    }
    const uint32_t size = rte_pktmbuf_data_len(frame);
    _lc.counters.count(for_nack ? metric::retransmits : metric::replayed);
    ++(for_nack ? _s.stats.nacks_served : _s.stats.replayed);
    if (is_tcp(_to.ep)) {
        send_to_stream(frame);
        return true;
    }
    if (_n == _frames.size() || !_w.plan.add(_s, _n, size, frame_header_size)) {
        flush();
        (void)_w.plan.add(_s, _n, size, frame_header_size); // an empty plan has room
    }
    _frames[_n++] = frame;
    return true;
}

void repairer::send_to_stream(rte_mbuf* frame) noexcept {
    // The shared frame is never written: a copy carries REPLAYED. Repair is
    // rare on a stream (nothing is lost in it); REPLAY is what uses this.
    const uint32_t size = rte_pktmbuf_data_len(frame);
    rte_mempool* pool = size <= uint32_t{rte_pktmbuf_data_room_size(_w.headers)} - RTE_PKTMBUF_HEADROOM
                            ? _w.headers
                            : _lc.ports[port_index(_to.ep)].rx_pool;
    rte_mbuf* copy = rte_pktmbuf_copy(frame, pool, 0, UINT32_MAX);
    if (copy == nullptr) {
        _lc.counters.count(drop::pool_empty);
        ++_s.stats.drops;
        return;
    }
    *rte_pktmbuf_mtod_offset(copy, uint8_t*, frame_off::flags) |= flags::replayed;
    tcp_send(_lc, _to.ep, copy);
}

void repairer::flush() noexcept {
    const coalescer& plan = _w.plan;
    const uint16_t port = _to.ep.port_id;
    const delivery_target target{_to.mac, _to.ep.ip, _to.ep.port};
    std::array<datagram_piece, max_datagram_frames> pieces;
    for (const planned_datagram& d : plan.datagrams()) {
        const auto frames = pieces_of(
            plan, d, [&](uint16_t msg) { return _frames[msg]; }, flags::replayed, pieces);
        rte_mbuf* p = build_datagram(_lc.ports[port], _w.headers, _w.indirect, target, frames, _lc.counters);
        if (p == nullptr) {
            _lc.counters.count(drop::pool_empty, frames.size());
            _s.stats.drops += frames.size();
            continue;
        }
        tx_push(_lc.tx[port], p, _lc.counters);
    }
    _w.plan.reset(_w.tx_limits);
    _n = 0;
}

void repairer::replay(uint32_t tid, uint64_t from, uint64_t to, bool for_nack) noexcept {
    const topic_record& t = _w.table.topic(tid);
    const uint64_t first = _w.retained.held(tid) != 0 ? _w.retained.first_seq(tid) : t.seq + 1;
    from = std::max<uint64_t>(from, 1); // seqs start at 1: "from 0" is from the start
    // Part of what was asked for is gone for good: say so, with where history starts.
    if (from < first && from <= t.seq && !gap_lost(from, as_bytes(_w.table.topic_name(tid)), first)) {
        return;
    }
    _w.retained.for_each_from(tid, std::max(from, first),
                              [&](const retained_msg& r) { return r.seq <= to && send(r.m, for_nack); });
}

} // namespace

void serve_history(worker_state& w, lcore_ctx& lc, uint64_t now, const reply_to& to, subscriber_record& s,
                   const sub_outcome& o, const filter_spec& filter,
                   std::optional<uint64_t> replay_from) noexcept {
    if (o.shared) {
        return; // a group shares live traffic; history is for plain subscribers
    }
    repairer r(w, lc, now, to, s);
    const auto serve = [&](uint32_t tid) {
        topic_record& t = w.table.topic(tid);
        if (replay_from) {
            r.replay(tid, *replay_from, t.seq, false);
        } else if (o.result == sub_result::added && t.last_value != nullptr) {
            (void)r.send(t.last_value, false);
        }
    };
    if (!o.wildcard) {
        serve(o.topic);
        return;
    }
    // A wildcard's history: this worker's topics it matches (a scan, but a
    // SUB, not a message).
    if (replay_from || o.result == sub_result::added) {
        w.table.for_each_topic([&](uint32_t tid) {
            if (filter_matches(filter.filter, as_bytes(w.table.topic_name(tid)))) {
                serve(tid);
            }
        });
    }
}

void serve_nack(worker_state& w, lcore_ctx& lc, uint64_t now, const ring_item& item,
                const frame_view& f) noexcept {
    lc.counters.count(metric::nacks);
    const uint32_t sid = w.table.find_subscriber(item.src);
    if (sid == no_id) {
        lc.counters.count(drop::nack_unknown);
        return;
    }
    const reply_to to{item.src, item.src_mac};
    repairer r(w, lc, now, to, w.table.subscriber(sid));
    const uint64_t count = load_be<uint32_t>(f.payload, 0);
    const uint32_t tid = w.table.find_topic(f.topic, item.hash);
    if (tid == no_id) {
        // A topic this worker does not know (never published, or forgotten
        // when idle): nothing asked for is held.
        (void)r.gap_lost(f.seq, f.topic, f.seq + count);
        return;
    }
    r.replay(tid, f.seq, f.seq + count - 1, true);
}

} // namespace ringcast
