// The worker role: apply SUB/UNSUB/BYE to the topics this worker owns (and
// wildcard filters, which every worker holds), fan each PUB out without
// copying it, keep what retention asks for as mbuf references, and serve
// NACKs and replays from them.
#include <ringcast/core/topic.hpp>
#include <ringcast/datapath/lcore.hpp>

#include <rte_ring_elem.h>

#include <algorithm>
#include <cstring>

namespace ringcast {

namespace {

// Topic ids looked at per housekeeping call by the idle sweep.
constexpr uint32_t sweep_slice = 256;
constexpr uint64_t ppm = 1'000'000;

// Deliveries bound for one port, built and queued a burst at a time.
struct port_batch {
    uint16_t n = 0;
    std::array<delivery_target, burst_size> targets;
    std::array<subscriber_record*, burst_size> subs;
};

std::span<const std::byte> frame_bytes(rte_mbuf* m) noexcept {
    return {rte_pktmbuf_mtod(m, const std::byte*), rte_pktmbuf_data_len(m)};
}

void drop_last_value(worker_state& w, topic_record& t) noexcept {
    if (t.last_value != nullptr) {
        rte_pktmbuf_free(t.last_value);
        t.last_value = nullptr;
        --w.last_values;
    }
}

// Frees every mbuf the topic holds: its retained messages and RETAIN value.
void drop_history(worker_state& w, uint32_t tid) noexcept {
    w.retained.clear(tid, [](rte_mbuf* m) { rte_pktmbuf_free(m); });
    drop_last_value(w, w.table.topic(tid));
}

class worker_step {
public:
    worker_step(worker_state& w, lcore_ctx& lc, uint64_t now) noexcept
        : _w(w), _lc(lc), _c(lc.counters), _now(now) {}

    void apply(const ring_item& item) noexcept;

private:
    void reply(const ring_item& item, op code, uint8_t flag_bits, uint64_t seq,
               std::span<const std::byte> topic = {}, std::span<const std::byte> payload = {}) noexcept {
        const reply_to to{{item.src_ip, item.src_port, item.port_id}, item.src_mac};
        send_frame(_lc.tx[item.port_id], _c, _w.headers, _lc.ports[item.port_id], to, code, flag_bits, seq,
                   topic, payload);
    }
    void ack_with_seq(const ring_item& item, uint64_t pub_seq, uint64_t topic_seq) noexcept {
        std::array<std::byte, 8> p;
        store_be<uint64_t>(p, 0, topic_seq);
        reply(item, op::ack, 0, pub_seq, {}, p);
    }
    // Returns false when a table was full.
    bool subscribe(const ring_item& item, const frame_view& f) noexcept;
    // Returns true when retention kept `m`.
    bool publish(const ring_item& item, rte_mbuf* m, const frame_view& f) noexcept;
    void nack(const ring_item& item, const frame_view& f) noexcept;
    void finish_all_workers(const ring_item& item, const frame_view& f, bool ok) noexcept;

    uint32_t keep_for(std::span<const std::byte> topic) const noexcept;
    void replay(const ring_item& item, subscriber_record& s, uint32_t tid, uint64_t from, uint64_t to,
                bool for_nack) noexcept;
    bool send_replay(const ring_item& item, subscriber_record& s, rte_mbuf* frame, bool for_nack) noexcept;
    bool send_gap_lost(const ring_item& item, subscriber_record& s, uint64_t seq, std::span<const std::byte> topic,
                       uint64_t first_held) noexcept;
    bool repair_token(subscriber_record& s) noexcept;
    void retain(topic_record& t, rte_mbuf* m, const frame_view& f) noexcept;
    void init_buckets(subscriber_record& s) noexcept;

    // Whether the subscriber may take one more delivery (takes its token).
    bool under_cap(subscriber_record& s) noexcept {
        return _w.settings.delivery_rate == 0 || s.delivery_cap.allow(_now);
    }
    // under_cap, counting a refusal against the subscriber.
    bool admit(subscriber_record& s) noexcept;
    void deliver(rte_mbuf* frame, subscriber_record& s) noexcept;
    void flush(rte_mbuf* frame, uint16_t port_id, port_batch& b) noexcept;
    void update_gauges() noexcept {
        const sub_table& t = _w.table;
        _c.set(gauge::subscriptions, t.subscriptions());
        _c.set(gauge::filters, t.filters());
        _c.set(gauge::groups, t.groups());
        _c.set(gauge::topics, t.topics());
        _c.set(gauge::subscribers, t.subscribers());
        _c.set(gauge::retained, _w.retained.size());
        _c.set(gauge::last_values, _w.last_values);
    }

    worker_state& _w;
    lcore_ctx& _lc;
    lcore_counters& _c;
    uint64_t _now;
    std::array<port_batch, max_ports> _batches;
    uint16_t _used = 0; // bit per port with batched targets
};

void worker_step::apply(const ring_item& item) noexcept {
    const endpoint ep{item.src_ip, item.src_port, item.port_id};
    if (item.kind == item_kind::bye || item.kind == item_kind::lapsed) {
        if (_w.table.remove_subscriber(ep) != 0) {
            update_gauges();
        }
        return;
    }
    rte_mbuf* m = item.m;
    // The io lcore parsed and validated this frame; the view holds exactly it.
    const frame_view f = parse_frame(frame_bytes(m), 0).frame;
    bool kept = false;
    bool ok = true;
    switch (f.code) {
    case op::sub:
        ok = subscribe(item, f);
        break;
    case op::unsub:
        // Idempotent: unsubscribing from what one does not hold is acknowledged too.
        (void)_w.table.unsubscribe(f.topic, ep, _now);
        update_gauges();
        if (item.kind == item_kind::frame) {
            reply(item, op::ack, 0, f.seq);
        }
        break;
    case op::pub:
        kept = publish(item, m, f);
        break;
    case op::nack:
        nack(item, f);
        break;
    default:
        break;
    }
    if (item.kind == item_kind::all_workers) {
        finish_all_workers(item, f, ok);
    } else if (!kept) {
        rte_pktmbuf_free(m);
    }
}

void worker_step::finish_all_workers(const ring_item& item, const frame_view& f, bool ok) noexcept {
    rte_mbuf* m = item.m;
    if (!ok) {
        __atomic_fetch_or(&m->hash.usr, 1u, __ATOMIC_RELAXED);
    }
    // Every worker drops its reference once the filter is in place; the last
    // one answers for all of them. Acquire-release, so it sees every failure.
    if (__atomic_sub_fetch(&m->refcnt, 1, __ATOMIC_ACQ_REL) != 0) {
        return;
    }
    if (__atomic_load_n(&m->hash.usr, __ATOMIC_RELAXED) != 0) {
        reply(item, op::err, static_cast<uint8_t>(err_code::limit), f.seq, {}, as_bytes("filter table full"));
    } else {
        reply(item, op::ack, 0, f.seq);
    }
    rte_mbuf_refcnt_set(m, 1);
    rte_pktmbuf_free(m);
}

uint32_t worker_step::keep_for(std::span<const std::byte> topic) const noexcept {
    uint32_t keep = _w.settings.keep;
    size_t best = 0;
    for (const retention_prefix& p : _w.settings.keep_prefixes) {
        if (p.prefix.size() > best && p.prefix.size() <= topic.size() &&
            std::memcmp(p.prefix.data(), topic.data(), p.prefix.size()) == 0) {
            best = p.prefix.size();
            keep = p.keep;
        }
    }
    return _w.retained.capacity() == 0 ? 0 : keep;
}

void worker_step::init_buckets(subscriber_record& s) noexcept {
    const worker_settings& ws = _w.settings;
    s.delivery_cap = token_bucket(ws.delivery_rate, ws.delivery_burst, ws.hz, _now);
    s.repair = token_bucket(ws.nack_rate, ws.nack_burst, ws.hz, _now);
}

bool worker_step::subscribe(const ring_item& item, const frame_view& f) noexcept {
    const endpoint ep{item.src_ip, item.src_port, item.port_id};
    share_parts share{};
    const bool shared = split_share(f.topic, share);
    const auto inner = shared ? share.filter : f.topic;
    const sub_outcome o = _w.table.subscribe(f.topic, ep, item.src_mac, _now, keep_for(inner));
    update_gauges();
    if (o.result != sub_result::added && o.result != sub_result::exists) {
        _c.count(drop::limit);
        if (item.kind == item_kind::frame) {
            reply(item, op::err, static_cast<uint8_t>(err_code::limit), f.seq, {},
                  as_bytes(o.result == sub_result::topic_limit ? "topic table full" : "subscription table full"));
        }
        return false;
    }
    subscriber_record& s = _w.table.subscriber(o.subscriber);
    if (o.result == sub_result::added && s.n_subs == 1) {
        init_buckets(s);
    }
    if (item.kind == item_kind::frame) {
        reply(item, op::ack, 0, f.seq);
    }
    if (shared) {
        return true; // a group shares live traffic; history is for plain subscribers
    }
    const bool from_seq = (f.flags & flags::replay) != 0;
    const auto serve = [&](uint32_t tid) {
        topic_record& t = _w.table.topic(tid);
        if (from_seq) {
            replay(item, s, tid, f.seq, t.seq, false);
        } else if (o.result == sub_result::added && t.last_value != nullptr) {
            (void)send_replay(item, s, t.last_value, false);
        }
    };
    if (!o.wildcard) {
        serve(o.topic);
        return true;
    }
    // A wildcard's history: this worker's topics it matches (a scan, but a
    // SUB, not a message).
    if (from_seq || o.result == sub_result::added) {
        _w.table.for_each_topic([&](uint32_t tid) {
            if (filter_matches(inner, as_bytes(_w.table.topic_name(tid)))) {
                serve(tid);
            }
        });
    }
    return true;
}

void worker_step::replay(const ring_item& item, subscriber_record& s, uint32_t tid, uint64_t from, uint64_t to,
                         bool for_nack) noexcept {
    const topic_record& t = _w.table.topic(tid);
    const uint64_t first = _w.retained.held(tid) != 0 ? _w.retained.first_seq(tid) : t.seq + 1;
    from = std::max<uint64_t>(from, 1); // seqs start at 1: "from 0" is from the start
    // Part of what was asked for is gone for good: say so, with where history starts.
    if (from < first && from <= t.seq &&
        !send_gap_lost(item, s, from, as_bytes(_w.table.topic_name(tid)), first)) {
        return;
    }
    _w.retained.for_each_from(tid, std::max(from, first), [&](const retained_msg& r) {
        return r.seq <= to && send_replay(item, s, r.m, for_nack);
    });
}

// NACK service, replays and GAP_LOST answers share one budget per subscriber.
bool worker_step::repair_token(subscriber_record& s) noexcept {
    if (s.repair.allow(_now)) {
        return true;
    }
    _c.count(drop::nack_limited);
    ++s.stats.nack_limited;
    ++s.stats.drops;
    return false;
}

bool worker_step::send_gap_lost(const ring_item& item, subscriber_record& s, uint64_t seq,
                                std::span<const std::byte> topic, uint64_t first_held) noexcept {
    if (!repair_token(s)) {
        return false;
    }
    std::array<std::byte, 8> p;
    store_be<uint64_t>(p, 0, first_held);
    reply(item, op::err, static_cast<uint8_t>(err_code::gap_lost), seq, topic, p);
    _c.count(metric::gap_lost);
    return true;
}

bool worker_step::send_replay(const ring_item& item, subscriber_record& s, rte_mbuf* frame, bool for_nack) noexcept {
    if (!repair_token(s)) {
        return false;
    }
    const delivery_target to{item.src_mac, item.src_ip, item.src_port};
    rte_mbuf* p = build_replay(_lc.ports[item.port_id], _w.headers, _w.indirect, frame, to, _c);
    if (p == nullptr) {
        _c.count(drop::pool_empty);
        ++s.stats.drops;
        return false;
    }
    tx_push(_lc.tx[item.port_id], p, _c);
    _c.count(for_nack ? metric::retransmits : metric::replayed);
    ++(for_nack ? s.stats.nacks_served : s.stats.replayed);
    return true;
}

void worker_step::nack(const ring_item& item, const frame_view& f) noexcept {
    _c.count(metric::nacks);
    const uint32_t sid = _w.table.find_subscriber({item.src_ip, item.src_port, item.port_id});
    if (sid == no_id) {
        _c.count(drop::nack_unknown);
        return;
    }
    const uint32_t tid = _w.table.find_topic(f.topic, item.hash);
    const uint64_t count = load_be<uint32_t>(f.payload, 0); // 1..max_nack_count, checked by io
    subscriber_record& s = _w.table.subscriber(sid);
    if (tid == no_id) {
        // A topic this worker does not know (never published, or forgotten
        // when idle): nothing asked for is held.
        (void)send_gap_lost(item, s, f.seq, f.topic, f.seq + count);
        return;
    }
    replay(item, s, tid, f.seq, f.seq + count - 1, true);
}

bool worker_step::admit(subscriber_record& s) noexcept {
    if (under_cap(s)) {
        return true;
    }
    _c.count(drop::rate_capped);
    ++s.stats.rate_capped;
    ++s.stats.drops;
    return false;
}

void worker_step::deliver(rte_mbuf* frame, subscriber_record& s) noexcept {
    if (_w.settings.loss_ppm != 0) {
        // Deterministic: exactly loss_ppm in a million, evenly spread.
        _w.loss_credit += _w.settings.loss_ppm;
        if (_w.loss_credit >= ppm) {
            _w.loss_credit -= ppm;
            _c.count(drop::injected_loss);
            ++s.stats.injected_loss;
            ++s.stats.drops;
            return;
        }
    }
    port_batch& b = _batches[s.ep.port_id];
    b.targets[b.n] = delivery_target{s.mac, s.ep.ip, s.ep.port};
    b.subs[b.n] = &s;
    _used |= uint16_t(1u << s.ep.port_id);
    if (++b.n == burst_size) {
        flush(frame, s.ep.port_id, b);
    }
}

void worker_step::flush(rte_mbuf* frame, uint16_t port_id, port_batch& b) noexcept {
    std::array<rte_mbuf*, burst_size> pkts;
    const port_info& port = _lc.ports[port_id];
    const uint16_t built =
        build_deliveries(port, _w.headers, frame, std::span{b.targets.data(), b.n}, pkts, _c);
    for (uint16_t i = 0; i < built; ++i) {
        tx_push(_lc.tx[port_id], pkts[i], _c);
        ++b.subs[i]->stats.deliveries;
    }
    for (uint16_t i = built; i < b.n; ++i) {
        ++b.subs[i]->stats.drops;
    }
    _c.count(metric::deliveries, built);
    _c.count(drop::pool_empty, b.n - built);
    b.n = 0;
}

bool worker_step::publish(const ring_item& item, rte_mbuf* m, const frame_view& f) noexcept {
    const uint8_t qos = f.qos();
    const dedup_key key{{item.src_ip, item.src_port, item.port_id}, f.seq, item.hash};
    if (qos == 2) {
        if (const uint64_t first = _w.dedup.find(key, _now); first != 0) {
            // A retry of what was delivered: acknowledged again, not delivered.
            _c.count(metric::qos2_duplicates);
            ack_with_seq(item, f.seq, first);
            return false;
        }
    }
    const bool retain_flag = (f.flags & flags::retain) != 0;
    uint32_t tid = _w.table.find_topic(f.topic, item.hash);
    if (tid == no_id) {
        const uint32_t keep = keep_for(f.topic);
        if (qos == 0 && !retain_flag && keep == 0 && !_w.table.wildcard_match(f.topic)) {
            return false; // nobody listens and nothing is kept: the topic needs no state
        }
        tid = _w.table.ensure_topic(f.topic, item.hash, keep);
        if (tid == no_id) {
            _c.count(drop::limit);
            if (qos != 0) {
                reply(item, op::err, static_cast<uint8_t>(err_code::limit), f.seq, {}, as_bytes("topic table full"));
            }
            return false;
        }
        update_gauges();
    }
    topic_record& t = _w.table.topic(tid);
    t.last_active = _now;
    const uint64_t seq = ++t.seq;
    // The frame becomes the MSG in place, once, for every subscriber.
    rewrite_header({rte_pktmbuf_mtod(m, std::byte*), f.size}, op::msg, 0, seq);
    _w.table.for_each_target(
        tid, f.topic, [&](subscriber_record& s) {
            if (admit(s)) {
                deliver(m, s);
            }
        },
        [&](uint32_t group) {
            // One member per message; a capped member passes its turn on.
            if (subscriber_record* s = _w.table.pick(group, [&](subscriber_record& r) { return under_cap(r); })) {
                deliver(m, *s);
            } else {
                _c.count(drop::rate_capped);
            }
        });
    for (uint16_t p = 0; _used != 0; ++p, _used >>= 1) {
        if ((_used & 1) != 0 && _batches[p].n != 0) {
            flush(m, p, _batches[p]);
        }
    }
    if (qos != 0) {
        ack_with_seq(item, f.seq, seq);
        _c.count(metric::qos_acks);
        if (qos == 2 && _w.dedup.record(key, seq, _now)) {
            _c.count(metric::dedup_evicted);
        }
    }
    if (retain_flag) {
        retain(t, m, f);
    }
    if (t.keep == 0) {
        return false;
    }
    std::array<rte_mbuf*, 2> evicted;
    const retain_evictions e = _w.retained.push(tid, t.keep, seq, m, evicted);
    for (rte_mbuf* x : std::span{evicted.data(), e.n}) {
        rte_pktmbuf_free(x);
    }
    _c.count(metric::retain_evicted, e.by_cap);
    _c.set(gauge::retained, _w.retained.size());
    return true;
}

void worker_step::retain(topic_record& t, rte_mbuf* m, const frame_view& f) noexcept {
    drop_last_value(_w, t);
    // An empty RETAIN clears the value, as in MQTT.
    if (!f.payload.empty()) {
        if (_w.last_values >= _w.settings.last_values) {
            _c.count(drop::retain_full);
        } else {
            rte_mbuf_refcnt_update(m, 1);
            t.last_value = m;
            t.last_value_seq = t.seq;
            ++_w.last_values;
        }
    }
    _c.set(gauge::last_values, _w.last_values);
}

} // namespace

uint32_t worker_poll(worker_state& w, lcore_ctx& lc, uint64_t now) noexcept {
    worker_step step(w, lc, now);
    uint32_t total = 0;
    for (rte_ring* r : w.from_io) {
        // Drain what is there, a burst at a time: one datagram of many frames
        // stages many items, and a worker taking one burst per pass would
        // fall behind its io lcore. The ring's size bounds the work per pass.
        const unsigned budget = rte_ring_get_size(r);
        unsigned done = 0;
        while (done < budget) {
            std::array<ring_item, burst_size> items;
            const unsigned n =
                rte_ring_dequeue_burst_elem(r, items.data(), sizeof(ring_item), burst_size, nullptr);
            for (const ring_item& item : std::span{items.data(), n}) {
                step.apply(item);
            }
            done += n;
            if (n < burst_size) {
                break;
            }
        }
        total += done;
    }
    return total;
}

namespace {

// Forgets a slice of the topics nothing refers to any more: no subscriber,
// no group, no matching wildcard filter, no RETAIN value, and idle for
// topic_idle_s. Their retained messages go with them.
void sweep_idle_topics(worker_state& w, lcore_ctx& lc, uint64_t now) noexcept {
    sub_table& table = w.table;
    const uint32_t cap = table.topic_capacity();
    bool forgot = false;
    for (uint32_t i = 0; i < std::min(sweep_slice, cap); ++i) {
        const uint32_t id = w.sweep_cursor;
        w.sweep_cursor = id + 1 == cap ? 0 : id + 1;
        const topic_record& t = table.topic(id);
        // A topic some wildcard filter matches is kept too: its subscribers
        // follow its seq, which a new record would restart at 1.
        if (!t.live || table.topic_in_use(id) || t.last_value != nullptr ||
            now - t.last_active < w.settings.topic_idle_ticks ||
            table.wildcard_match(as_bytes(table.topic_name(id)))) {
            continue;
        }
        drop_history(w, id);
        table.forget_topic(id);
        forgot = true;
    }
    if (forgot) {
        lc.counters.set(gauge::topics, table.topics());
        lc.counters.set(gauge::retained, w.retained.size());
    }
}

template <class Snapshot, class Fill> void publish_snapshot(Snapshot& s, Fill&& fill) noexcept {
    // Readers retry while the version is odd or moved.
    s.version.fetch_add(1, std::memory_order_acq_rel);
    std::atomic_thread_fence(std::memory_order_release);
    s.n = fill();
    std::atomic_thread_fence(std::memory_order_release);
    s.version.fetch_add(1, std::memory_order_release);
}

// Keeps top[0..n) sorted by `key`, descending, at most N entries.
template <class Entry, size_t N, class Key>
void insert_top(std::array<Entry, N>& top, uint32_t& n, const Entry& e, Key&& key) noexcept {
    if (n == N && key(e) <= key(top[n - 1])) {
        return;
    }
    uint32_t i = n < N ? n++ : n - 1;
    for (; i > 0 && key(top[i - 1]) < key(e); --i) {
        top[i] = top[i - 1];
    }
    top[i] = e;
}

} // namespace

void worker_housekeeping(worker_state& w, lcore_ctx& lc, uint64_t now) noexcept {
    sweep_idle_topics(w, lc, now);
    if (now < w.next_snapshot) {
        return;
    }
    w.next_snapshot = now + lc.hz;
    const sub_table& table = w.table;
    publish_snapshot(w.snapshot, [&] {
        uint32_t n = 0;
        table.for_each_topic([&](uint32_t id) {
            const topic_record& t = table.topic(id);
            topic_snapshot::entry e{
                .seq = t.seq, .subscribers = t.n_subs, .retained = w.retained.held(id), .len = t.len, .name = {}};
            const auto name = table.topic_name(id);
            std::memcpy(e.name.data(), name.data(), name.size());
            insert_top(w.snapshot.top, n, e, [](const topic_snapshot::entry& x) { return x.subscribers; });
        });
        return n;
    });
    publish_snapshot(w.subscriber_top, [&] {
        uint32_t n = 0;
        table.for_each_subscriber_record([&](const subscriber_record& r) {
            const subscriber_snapshot::entry e{.ep = r.ep, .filters = r.n_subs, .stats = r.stats};
            insert_top(w.subscriber_top.top, n, e,
                       [](const subscriber_snapshot::entry& x) { return x.stats.deliveries; });
        });
        return n;
    });
}

void release_retained(worker_state& w) noexcept {
    sub_table& table = w.table;
    table.for_each_topic([&](uint32_t id) { drop_history(w, id); });
}

} // namespace ringcast
