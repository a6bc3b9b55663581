// The worker role: apply SUB/UNSUB/BYE to the topics this worker owns, and
// fan each PUB out to the topic's subscribers without copying it.
#include <ringcast/lcore.hpp>

#include <rte_ring_elem.h>

#include <algorithm>
#include <cstring>

namespace ringcast {

namespace {

// Deliveries bound for one port, built and queued a burst at a time.
struct port_batch {
    uint16_t n = 0;
    std::array<delivery_target, burst_size> targets;
    std::array<subscriber_record*, burst_size> subs;
};

class worker_step {
public:
    worker_step(worker_state& w, lcore_ctx& lc) noexcept : _w(w), _lc(lc), _c(lc.counters) {}

    void apply(const ring_item& item) noexcept;

private:
    void reply(const ring_item& item, op code, uint8_t flag_bits, uint64_t seq,
               std::span<const std::byte> payload = {}) noexcept {
        const reply_to to{{item.src_ip, item.src_port, item.port_id}, item.src_mac};
        send_frame(_lc.tx[item.port_id], _c, _w.headers, _lc.ports[item.port_id], to, code, flag_bits, seq,
                   {}, payload);
    }
    void publish(rte_mbuf* m, const frame_view& f, uint64_t hash) noexcept;
    void flush(rte_mbuf* frame, uint16_t port_id, port_batch& b) noexcept;
    void update_gauges() noexcept {
        _c.subscriptions.set(_w.table.subscriptions());
        _c.topics.set(_w.table.topics());
        _c.subscribers.set(_w.table.subscribers());
    }

    worker_state& _w;
    lcore_ctx& _lc;
    lcore_counters& _c;
};

void worker_step::apply(const ring_item& item) noexcept {
    const endpoint ep{item.src_ip, item.src_port, item.port_id};
    if (item.kind != item_kind::frame) {
        if (_w.table.remove_subscriber(ep) != 0) {
            update_gauges();
        }
        return;
    }
    rte_mbuf* m = item.m;
    // The io lcore parsed and validated this frame; the view holds exactly it.
    const auto bytes =
        std::span<const std::byte>{rte_pktmbuf_mtod(m, const std::byte*), rte_pktmbuf_data_len(m)};
    const frame_view f = parse_frame(bytes, 0).frame;
    switch (f.code) {
    case op::sub: {
        const sub_result r = _w.table.subscribe(f.topic, item.hash, ep, item.src_mac);
        if (r == sub_result::added || r == sub_result::exists) {
            reply(item, op::ack, 0, f.seq);
        } else {
            _c.count(drop::limit);
            reply(item, op::err, static_cast<uint8_t>(err_code::limit), f.seq,
                  as_bytes(r == sub_result::topic_limit ? "topic table full" : "subscription table full"));
        }
        update_gauges();
        break;
    }
    case op::unsub:
        // Idempotent: unsubscribing from what one does not hold is acknowledged too.
        (void)_w.table.unsubscribe(f.topic, item.hash, ep);
        update_gauges();
        reply(item, op::ack, 0, f.seq);
        break;
    case op::pub:
        publish(m, f, item.hash);
        break;
    default:
        break;
    }
    rte_pktmbuf_free(m);
}

void worker_step::flush(rte_mbuf* frame, uint16_t port_id, port_batch& b) noexcept {
    std::array<rte_mbuf*, burst_size> pkts;
    const port_info& port = _lc.ports[port_id];
    const uint16_t built =
        build_deliveries(port, _w.headers, frame, std::span{b.targets.data(), b.n}, pkts, _c);
    for (uint16_t i = 0; i < built; ++i) {
        tx_push(_lc.tx[port_id], pkts[i], _c);
        ++b.subs[i]->deliveries;
    }
    for (uint16_t i = built; i < b.n; ++i) {
        ++b.subs[i]->drops;
    }
    _c.count(metric::deliveries, built);
    _c.count(drop::pool_empty, b.n - built);
    b.n = 0;
}

void worker_step::publish(rte_mbuf* m, const frame_view& f, uint64_t hash) noexcept {
    const uint32_t tid = _w.table.find_topic(f.topic, hash);
    if (tid == no_id) {
        return; // nobody listens; the topic keeps no state
    }
    topic_record& t = _w.table.topic(tid);
    // The frame becomes the MSG in place, once, for every subscriber.
    rewrite_header({rte_pktmbuf_mtod(m, std::byte*), f.size}, op::msg, 0, ++t.seq);
    std::array<port_batch, max_ports> batches;
    uint16_t used = 0; // bit per port with targets, so only those are flushed
    _w.table.for_each_subscriber(tid, [&](subscriber_record& s) {
        port_batch& b = batches[s.ep.port_id];
        b.targets[b.n] = delivery_target{s.mac, s.ep.ip, s.ep.port};
        b.subs[b.n] = &s;
        used |= uint16_t(1u << s.ep.port_id);
        if (++b.n == burst_size) {
            flush(m, s.ep.port_id, b);
        }
    });
    for (uint16_t p = 0; used != 0; ++p, used >>= 1) {
        if ((used & 1) != 0 && batches[p].n != 0) {
            flush(m, p, batches[p]);
        }
    }
}

} // namespace

uint32_t worker_poll(worker_state& w, lcore_ctx& lc) noexcept {
    worker_step step(w, lc);
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

void worker_housekeeping(worker_state& w, lcore_ctx& lc, uint64_t now) noexcept {
    if (now < w.next_snapshot) {
        return;
    }
    w.next_snapshot = now + lc.hz;
    // Top topics by subscribers; readers retry while the version is odd or moved.
    topic_snapshot& s = w.snapshot;
    s.version.fetch_add(1, std::memory_order_acq_rel);
    std::atomic_thread_fence(std::memory_order_release);
    uint32_t n = 0;
    const auto& table = w.table;
    table.for_each_topic([&](uint32_t id) {
        const topic_record& t = table.topic(id);
        if (n == topic_snapshot::max_entries && t.n_subs <= s.top[n - 1].subscribers) {
            return;
        }
        topic_snapshot::entry e{.seq = t.seq, .subscribers = t.n_subs, .len = t.len, .name = {}};
        const auto name = table.topic_name(id);
        std::memcpy(e.name.data(), name.data(), name.size());
        uint32_t i = n < topic_snapshot::max_entries ? n++ : n - 1;
        // Insertion into the sorted top list.
        for (; i > 0 && s.top[i - 1].subscribers < e.subscribers; --i) {
            s.top[i] = s.top[i - 1];
        }
        s.top[i] = e;
    });
    s.n = n;
    std::atomic_thread_fence(std::memory_order_release);
    s.version.fetch_add(1, std::memory_order_release);
}

} // namespace ringcast
