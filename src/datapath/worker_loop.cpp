#include <ringcast/datapath/worker_loop.hpp>

#include <ringcast/datapath/broadcast.hpp>
#include <ringcast/datapath/fanout.hpp>
#include <ringcast/datapath/repair.hpp>
#include <ringcast/datapath/ring_item.hpp>

#include <rte_ring_elem.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <type_traits>

namespace ringcast {

namespace {

// Topic ids looked at per housekeeping call by the idle sweep.
constexpr uint32_t sweep_slice = 256;
// Ids looked at per housekeeping call by each telemetry list's scan: as the
// idle sweep, so a pass costs the loop a few microseconds at most, however
// large the tables.
constexpr uint32_t snapshot_slice = sweep_slice;

// A PUB on its way through the batch: sequenced into its topic, then
// delivered, then finished. Trivial on purpose: a batch's array of them is
// not zeroed (its frame_view is rebuilt from the item where needed).
struct sequenced_pub {
    const ring_item* item;
    uint32_t tid;       // no_id: a QoS 2 retry, acknowledged and not delivered
    uint64_t topic_seq; // the seq it got (for a retry: the one the first copy got)
    uint64_t pub_seq;   // the publisher's, which the MSG rewrite overwrote in the frame
    bool kept;          // retention or RETAIN takes a reference in finish()
    bool sent;          // the received mbuf itself went out (in place): finish() must not free it
    uint32_t targets;   // deliveries planned
};
static_assert(std::is_trivially_default_constructible_v<sequenced_pub>);

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

// One worker_poll: the worker's state, its lcore's TX and counters, the time.
class worker_pass {
public:
    worker_pass(worker_state& w, lcore_ctx& lc, uint64_t now) noexcept
        : _w(w), _lc(lc), _c(lc.counters), _now(now) {}

    // SUB, UNSUB, NACK, BYE or a lapsed lease; frees the item's mbuf.
    void apply_control(const ring_item& item) noexcept;
    // Dedup, topic record, seq and the MSG rewrite for each PUB; a PUB that
    // goes no further (nobody listens, table full) is answered and freed here.
    [[nodiscard]] std::span<sequenced_pub> sequence(std::span<const ring_item> pubs,
                                                    std::span<sequenced_pub> out) noexcept;
    // Each PUB's targets (target_planner) gathered into datagrams
    // (coalescer), built and queued.
    void emit(std::span<sequenced_pub> pubs) noexcept;
    // QoS ACKs, RETAIN values and retention; our reference goes (or stays retained).
    void finish(std::span<const sequenced_pub> pubs) noexcept;
    // Builds and queues every datagram of the plan. `whole`: the plan holds
    // every delivery of the batch, so a count of one is the message's only one.
    void send_plan(std::span<sequenced_pub> pubs, bool whole) noexcept;
    void send_datagram(subscriber_record& s, std::span<const datagram_piece> pieces) noexcept;
    void send_in_place(subscriber_record& s, rte_mbuf* m) noexcept;

private:
    static reply_to source_of(const ring_item& item) noexcept { return {item.src, item.src_mac}; }
    void reply(const ring_item& item, op code, uint8_t flag_bits, uint64_t seq,
               std::span<const std::byte> payload = {}) noexcept {
        ringcast::reply(_lc, _w.headers, source_of(item), code, flag_bits, seq, {}, payload);
    }
    void ack_with_seq(const ring_item& item, uint64_t pub_seq, uint64_t topic_seq) noexcept {
        std::array<std::byte, 8> p;
        store_be<uint64_t>(p, 0, topic_seq);
        reply(item, op::ack, 0, pub_seq, p);
    }
    // Returns false when a table was full or a cap refused it.
    bool subscribe(const ring_item& item, const frame_view& f) noexcept;
    // Whether the source may take one more subscription (and topic, when the
    // filter makes one); refused ones are answered here.
    bool within_caps(const ring_item& item, const frame_view& f, const filter_spec& filter) noexcept;
    // A topic table full: frees the oldest topic nobody needs; false when none.
    bool reclaim_topic() noexcept;
    // The io lcore adopted a new policy: so does the worker, and drops what it no longer allows.
    void adopt_policy() noexcept;
    // A PUB with RETAIN: `m` becomes the topic's value, or clears it when empty.
    void retain(topic_record& t, rte_mbuf* m, bool has_payload) noexcept;
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
};

void worker_pass::apply_control(const ring_item& item) noexcept {
    if (item.kind == item_kind::policy) {
        adopt_policy();
        return;
    }
    if (item.kind == item_kind::bye || item.kind == item_kind::lapsed) {
        if (_w.table.remove_subscriber(item.src) != 0) {
            update_gauges();
        }
        if (item.kind == item_kind::bye && is_tcp(item.src)) {
            tcp_send(_lc, item.src, nullptr); // after everything sent to it: its FIN may follow
        }
        return;
    }
    const frame_view f = frame_of(item);
    bool ok = true;
    switch (f.code) {
    case op::sub:
        ok = subscribe(item, f);
        break;
    case op::unsub:
        // Idempotent: unsubscribing from what one does not hold is acknowledged too.
        (void)_w.table.unsubscribe(filter_of(item, f), item.src, _now);
        update_gauges();
        if (item.kind == item_kind::frame) {
            reply(item, op::ack, 0, f.seq);
        }
        break;
    case op::nack:
        serve_nack(_w, _lc, _now, item, f);
        break;
    default:
        break;
    }
    if (item.kind != item_kind::all_workers) {
        rte_pktmbuf_free(item.m);
        return;
    }
    // The worker that drops the last reference answers for all of them.
    if (const broadcast_outcome b = broadcast_release(item.m, ok); b.last) {
        if (b.failed) {
            reply(item, op::err, static_cast<uint8_t>(err_code::limit), f.seq, as_bytes("filter table full"));
        } else {
            reply(item, op::ack, 0, f.seq);
        }
        broadcast_free(item.m);
    }
}

bool worker_pass::within_caps(const ring_item& item, const frame_view& f, const filter_spec& filter) noexcept {
    const access_policy& p = *_w.policy;
    const uint32_t sid = _w.table.find_subscriber(item.src);
    if (sid == no_id || _w.table.holds(filter, item.src)) {
        return true; // a new source starts within its caps; a repeated SUB takes nothing
    }
    subscriber_record& s = _w.table.subscriber(sid);
    const char* refused = nullptr;
    if (p.source_subscriptions != 0 && s.n_subs >= p.source_subscriptions) {
        refused = "too many subscriptions";
    } else if (p.source_topics_per_s != 0 && !filter.wildcard &&
               _w.table.find_topic(filter.filter, filter.hash) == no_id && !s.new_topics.allow(_now)) {
        refused = "new topics too fast";
    }
    if (refused == nullptr) {
        return true;
    }
    _c.count(drop::source_limit);
    if (item.kind == item_kind::frame) {
        reply(item, op::err, static_cast<uint8_t>(err_code::limit), f.seq, as_bytes(std::string_view(refused)));
    }
    return false;
}

bool worker_pass::reclaim_topic() noexcept {
    // A few looked at per attempt, so a table full of topics that must stay
    // costs a SUB little; those go to the back of the line.
    constexpr uint32_t reclaim_budget = 16;
    sub_table& table = _w.table;
    const auto unheld = [&](uint32_t tid) {
        // Not one this pass touched: a PUB earlier in the batch still refers to it.
        const topic_record& t = table.topic(tid);
        return t.last_active != _now && t.last_value == nullptr && _w.retained.held(tid) == 0;
    };
    uint32_t id = table.oldest_unused(reclaim_budget, [&](uint32_t tid) {
        return unheld(tid) && !table.wildcard_match(as_bytes(table.topic_name(tid)));
    });
    if (id == no_id) {
        // Only topics wildcard filters match are left: one goes rather than
        // a newcomer being refused (one broad filter would otherwise let
        // anyone pin the table). Its seq starts again at 1, which wildcard
        // subscribers see as the topic's restart.
        id = table.oldest_unused(reclaim_budget, unheld);
    }
    if (id == no_id) {
        return false;
    }
    table.forget_topic(id);
    _c.count(metric::topics_reclaimed);
    return true;
}

bool worker_pass::subscribe(const ring_item& item, const frame_view& f) noexcept {
    const filter_spec filter = filter_of(item, f);
    if (!within_caps(item, f, filter)) {
        return false;
    }
    const uint32_t keep = filter.wildcard ? 0 : _w.settings.keep.keep_for(filter.filter);
    sub_outcome o = _w.table.subscribe(filter, item.src, item.src_mac, _now, keep);
    if (o.result == sub_result::topic_limit && reclaim_topic()) {
        o = _w.table.subscribe(filter, item.src, item.src_mac, _now, keep);
    }
    update_gauges();
    if (o.result != sub_result::added && o.result != sub_result::exists) {
        _c.count(drop::limit);
        if (item.kind == item_kind::frame) {
            reply(item, op::err, static_cast<uint8_t>(err_code::limit), f.seq,
                  as_bytes(o.result == sub_result::topic_limit ? "topic table full"
                                                               : "subscription table full"));
        }
        return false;
    }
    subscriber_record& s = _w.table.subscriber(o.subscriber);
    if (o.result == sub_result::added && s.n_subs == 1) {
        s.delivery_cap = _w.planner.delivery_cap(_now);
        s.repair = repair_budget(_w.settings, _now);
        const uint32_t rate = _w.policy->source_topics_per_s;
        s.new_topics = token_bucket(rate, rate, _w.settings.hz, _now);
        (void)s.new_topics.allow(_now); // what this SUB made, if anything
    }
    s.identity = item.identity;
    if (item.kind == item_kind::frame) {
        reply(item, op::ack, 0, f.seq);
    }
    const bool replay = (f.flags & flags::replay) != 0;
    serve_history(_w, _lc, _now, source_of(item), s, o, filter, replay ? std::optional(f.seq) : std::nullopt);
    return true;
}

void worker_pass::adopt_policy() noexcept {
    if (_w.link.latest == nullptr) {
        return;
    }
    const access_policy& p = *_w.link.latest->load(std::memory_order_acquire);
    _w.policy = &p;
    sub_table& table = _w.table;
    uint64_t revoked = 0;
    // The whole table at once: a reload is rare, and what it no longer
    // allows must not be served a moment longer.
    for (uint32_t sid = 0; sid < table.subscriber_capacity(); ++sid) {
        subscriber_record& s = table.subscriber(sid);
        if (s.n_subs == 0) {
            continue;
        }
        s.new_topics = token_bucket(p.source_topics_per_s, p.source_topics_per_s, _w.settings.hz, _now);
        if (!p.required()) {
            continue;
        }
        const uint32_t id = s.identity == 0 ? no_identity : p.find(s.identity);
        if (id == no_identity) {
            const endpoint ep = s.ep;
            revoked += table.remove_subscriber(ep);
            continue;
        }
        const identity& who = p.at(id);
        revoked += table.prune_subscriber(sid, [&](std::span<const std::byte> filter) {
            return who.may_subscribe(filter);
        });
    }
    _c.count(metric::acl_revoked, revoked);
    update_gauges();
    _w.link.held.store(p.generation(), std::memory_order_release);
}

std::span<sequenced_pub> worker_pass::sequence(std::span<const ring_item> pubs,
                                               std::span<sequenced_pub> out) noexcept {
    size_t n = 0;
    for (const ring_item& item : pubs) {
        const frame_view f = frame_of(item);
        const uint8_t qos = f.qos();
        const dedup_key key{item.src, f.seq, item.hash};
        if (qos == 2) {
            if (const uint64_t first = _w.dedup.find(key, _now); first != 0) {
                // A retry of what was delivered: acknowledged again, not delivered.
                _c.count(metric::qos2_duplicates);
                out[n++] = sequenced_pub{&item, no_id, first, f.seq, false, false, 0};
                continue;
            }
        }
        uint32_t tid = _w.table.find_topic(f.topic, item.hash);
        if (tid == no_id) {
            const uint32_t keep = _w.settings.keep.keep_for(f.topic);
            const bool retain_flag = (f.flags & flags::retain) != 0;
            if (qos == 0 && !retain_flag && keep == 0 && !_w.table.wildcard_match(f.topic)) {
                rte_pktmbuf_free(item.m); // nobody listens and nothing is kept: the topic needs no state
                continue;
            }
            tid = _w.table.ensure_topic(f.topic, item.hash, keep);
            if (tid == no_id && reclaim_topic()) {
                tid = _w.table.ensure_topic(f.topic, item.hash, keep);
            }
            if (tid == no_id) {
                _c.count(drop::limit);
                if (qos != 0) {
                    reply(item, op::err, static_cast<uint8_t>(err_code::limit), f.seq,
                          as_bytes("topic table full"));
                }
                rte_pktmbuf_free(item.m);
                continue;
            }
            update_gauges();
        }
        _w.table.touch_topic(tid, _now);
        topic_record& t = _w.table.topic(tid);
        const uint64_t seq = ++t.seq;
        // The frame becomes the MSG in place, once, for every subscriber.
        rewrite_header({rte_pktmbuf_mtod(item.m, std::byte*), f.size}, op::msg, f.flags & flags::qos_mask, seq);
        // Recorded now, so a retry later in this same batch is caught.
        if (qos == 2 && _w.dedup.record(key, seq, _now)) {
            _c.count(metric::dedup_evicted);
        }
        const bool kept = t.keep != 0 || (f.flags & flags::retain) != 0;
        out[n++] = sequenced_pub{&item, tid, seq, f.seq, kept, false, 0};
    }
    return out.first(n);
}

void worker_pass::emit(std::span<sequenced_pub> pubs) noexcept {
    coalescer& plan = _w.plan;
    plan.reset(_w.tx_limits);
    bool whole = true; // the plan holds the whole batch (not sent in parts)
    for (size_t i = 0; i < pubs.size(); ++i) {
        sequenced_pub& p = pubs[i];
        if (p.tid == no_id) {
            continue;
        }
        const frame_view f = frame_of(*p.item);
        const auto msg = static_cast<uint16_t>(i);
        _w.planner.plan(_w.table, p.tid, f.topic, _now, _c, [&](subscriber_record& s) {
            ++p.targets;
            if (is_tcp(s.ep)) {
                // Onto its stream by reference: its io lcore queues it until ACKed.
                rte_mbuf_refcnt_update(p.item->m, 1);
                tcp_send(_lc, s.ep, p.item->m);
                _c.count(metric::deliveries);
                ++s.stats.deliveries;
                return;
            }
            if (!plan.add(s, msg, f.size)) {
                send_plan(pubs, false);
                whole = false;
                plan.reset(_w.tx_limits);
                (void)plan.add(s, msg, f.size); // an empty plan has room
            }
        });
    }
    send_plan(pubs, whole);
}

void worker_pass::send_plan(std::span<sequenced_pub> pubs, bool whole) noexcept {
    const coalescer& plan = _w.plan;
    // Lone frames go through one fanout_batch per frame: a header chained
    // to the frame each, one refcount update for all of them. Datagrams leave in plan order, so
    // the batch is flushed before any other datagram and at a new frame.
    fanout_batch lone(_lc.ports, _lc.tx, _w.headers, _c);
    rte_mbuf* lone_frame = nullptr;
    const auto flush_lone = [&] {
        if (lone_frame != nullptr) {
            lone.flush(lone_frame);
            lone_frame = nullptr;
        }
    };
    for (const planned_datagram& d : plan.datagrams()) {
        subscriber_record& s = *d.to;
        sequenced_pub& p = pubs[plan.frame(d.first_frame).msg];
        rte_mbuf* m = p.item->m;
        if (d.n_frames == 1) {
            // In place: the one delivery of a frame that came alone in its
            // datagram, kept by nobody, leaves in the received mbuf itself.
            if (whole && p.targets == 1 && !p.kept && RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1 &&
                rte_pktmbuf_headroom(m) >= l2l4_len) {
                flush_lone();
                send_in_place(s, m);
                p.sent = true;
                continue;
            }
            // Alone in its datagram a frame is never copied (the copy
            // threshold is about coalesced ones): a header chained to it.
            if (m != lone_frame) {
                flush_lone();
                lone_frame = m;
            }
            lone.add(m, s);
            continue;
        }
        flush_lone();
        std::array<datagram_piece, max_datagram_frames> pieces;
        send_datagram(s, pieces_of(
                             plan, d, [&](uint16_t msg) { return pubs[msg].item->m; }, 0, pieces));
    }
    flush_lone();
}

void worker_pass::send_datagram(subscriber_record& s, std::span<const datagram_piece> pieces) noexcept {
    const uint16_t port = s.ep.port_id;
    rte_mbuf* pkt = build_datagram(_lc.ports[port], _w.headers, _w.indirect,
                                   delivery_target{s.mac, s.ep.ip, s.ep.port}, pieces, _c);
    const auto frames = static_cast<uint32_t>(pieces.size());
    if (pkt == nullptr) {
        _c.count(drop::pool_empty, frames);
        s.stats.drops += frames;
        return;
    }
    tx_push(_lc.tx[port], pkt, _c);
    _c.count_datagrams(frames);
    s.stats.deliveries += frames;
}

void worker_pass::send_in_place(subscriber_record& s, rte_mbuf* m) noexcept {
    const auto flen = static_cast<uint16_t>(rte_pktmbuf_data_len(m));
    auto* h = reinterpret_cast<std::byte*>(rte_pktmbuf_prepend(m, l2l4_len));
    const port_info& port = _lc.ports[s.ep.port_id];
    write_udp_headers({h, l2l4_len}, port.id.mac, s.mac, port.id.ipv4, s.ep.ip, port.id.udp_port, s.ep.port,
                      flen);
    tx_push(_lc.tx[s.ep.port_id], m, _c);
    _c.count(metric::in_place);
    _c.count_datagrams(1);
    ++s.stats.deliveries;
}

void worker_pass::finish(std::span<const sequenced_pub> pubs) noexcept {
    for (const sequenced_pub& p : pubs) {
        const ring_item& item = *p.item;
        if (p.sent) {
            // Gone out in place: nothing kept it, so all that is left is the ACK.
            if ((item.flags & flags::qos_mask) != 0) {
                ack_with_seq(item, p.pub_seq, p.topic_seq);
                _c.count(metric::qos_acks);
            }
            continue;
        }
        if (p.tid == no_id) {
            ack_with_seq(item, p.pub_seq, p.topic_seq);
            rte_pktmbuf_free(item.m);
            continue;
        }
        if ((item.flags & flags::qos_mask) != 0) {
            ack_with_seq(item, p.pub_seq, p.topic_seq);
            _c.count(metric::qos_acks);
        }
        topic_record& t = _w.table.topic(p.tid);
        if ((item.flags & flags::retain) != 0) {
            retain(t, item.m, item.payload_len != 0);
        }
        if (t.keep == 0) {
            rte_pktmbuf_free(item.m);
            continue;
        }
        // Retention takes our reference: the deliveries hold their own.
        std::array<rte_mbuf*, 2> evicted;
        const retain_evictions e = _w.retained.push(p.tid, t.keep, p.topic_seq, item.m, evicted);
        for (rte_mbuf* x : std::span{evicted.data(), e.n}) {
            rte_pktmbuf_free(x);
        }
        _c.count(metric::retain_evicted, e.by_cap);
        _c.set(gauge::retained, _w.retained.size());
    }
}

void worker_pass::retain(topic_record& t, rte_mbuf* m, bool has_payload) noexcept {
    drop_last_value(_w, t);
    // An empty RETAIN clears the value, as in MQTT.
    if (has_payload) {
        if (_w.last_values >= _w.settings.last_values) {
            _c.count(drop::retain_full);
        } else {
            rte_mbuf_refcnt_update(m, 1);
            t.last_value = m;
            ++_w.last_values;
        }
    }
    _c.set(gauge::last_values, _w.last_values);
}

// Items of the burst in ring order: a run of PUBs goes through the batch
// steps together, every other item is applied on its own, so each source's
// order is kept.
void apply_burst(worker_pass& pass, std::span<const ring_item> items) noexcept {
    const auto is_pub = [](const ring_item& i) { return i.kind == item_kind::frame && i.code == op::pub; };
    while (!items.empty()) {
        if (!is_pub(items.front())) {
            pass.apply_control(items.front());
            items = items.subspan(1);
            continue;
        }
        const size_t run =
            static_cast<size_t>(std::find_if_not(items.begin(), items.end(), is_pub) - items.begin());
        std::array<sequenced_pub, burst_size> seq;
        const auto pubs = pass.sequence(items.first(run), seq);
        pass.emit(pubs);
        pass.finish(pubs);
        items = items.subspan(run);
    }
}

} // namespace

uint32_t worker_poll(worker_state& w, lcore_ctx& lc, uint64_t now) noexcept {
    worker_pass pass(w, lc, now);
    uint32_t total = 0;
    for (rte_ring* r : w.from_io) {
        // Drain what is there, a burst at a time: one datagram of many frames
        // stages many items, and a worker taking one burst per pass would
        // fall behind its io lcore. The ring's size bounds the work per pass.
        const unsigned budget = rte_ring_get_size(r);
        for (unsigned done = 0, n = burst_size; done < budget && n == burst_size; done += n) {
            n = rte_ring_dequeue_burst_elem(r, w.burst.data(), sizeof(ring_item), burst_size, nullptr);
            apply_burst(pass, std::span{w.burst.data(), n});
            total += n;
        }
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

// A slice of each telemetry list's scan; a list that went round starts again a second later.
void advance_snapshots(worker_state& w, uint64_t now, uint64_t hz) noexcept {
    const sub_table& table = w.table;
    if (now >= w.next_topic_round &&
        w.topics.step(table.topic_capacity(), snapshot_slice, [&](uint32_t id, auto& top) {
            const topic_record& t = table.topic(id);
            if (!t.live) {
                return;
            }
            topic_entry e{.seq = t.seq,
                          .subscribers = t.n_subs,
                          .retained = w.retained.held(id),
                          .len = t.len,
                          .name = {}};
            const auto name = table.topic_name(id);
            std::memcpy(e.name.data(), name.data(), name.size());
            top.offer(e, [](const topic_entry& x) { return x.subscribers; });
        })) {
        w.next_topic_round = now + hz;
    }
    if (now >= w.next_subscriber_round &&
        w.subscribers.step(table.subscriber_capacity(), snapshot_slice, [&](uint32_t id, auto& top) {
            const subscriber_record& r = table.subscriber(id);
            if (r.n_subs != 0) {
                top.offer(subscriber_entry{.ep = r.ep, .filters = r.n_subs, .stats = r.stats, .identity = r.identity},
                          [](const subscriber_entry& x) { return x.stats.deliveries; });
            }
        })) {
        w.next_subscriber_round = now + hz;
    }
}

} // namespace

void worker_housekeeping(worker_state& w, lcore_ctx& lc, uint64_t now) noexcept {
    sweep_idle_topics(w, lc, now);
    advance_snapshots(w, now, lc.hz);
}

void release_retained(worker_state& w) noexcept {
    w.table.for_each_topic([&](uint32_t id) { drop_history(w, id); });
}

} // namespace ringcast
