#include <ringcast/bridge/consumer_position.hpp>
#include <ringcast/bridge/forward_window.hpp>
#include <ringcast/bridge/nats_bridge.hpp>
#include <ringcast/bridge/subject_map.hpp>
#include <ringcast/client/client.hpp>

#include <nats/nats.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ringcast {

namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

void check(natsStatus s, const char* what) {
    if (s != NATS_OK) {
        throw std::runtime_error(std::string(what) + ": " + natsStatus_GetText(s) + " (" + nats_GetLastError(nullptr) +
                                 ")");
    }
}

std::span<const std::byte> payload_of(natsMsg* m) {
    return {reinterpret_cast<const std::byte*>(natsMsg_GetData(m)), static_cast<size_t>(natsMsg_GetDataLength(m))};
}

void relaxed_add(std::atomic<uint64_t>& c, uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }
void relaxed_set(std::atomic<uint64_t>& c, uint64_t v) { c.store(v, std::memory_order_relaxed); }

// A bridge restarted within a microsecond of the last start is not a case:
// core-mode seqs start from the clock, so a restart never repeats one that
// the QoS 2 dedup window still holds from the previous run.
uint64_t first_core_seq() {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::system_clock::now().time_since_epoch());
    return static_cast<uint64_t>(us.count()) * 1000;
}

} // namespace

struct nats_bridge::impl {
    struct queued {
        natsMsg* msg;
        size_t rule;
    };
    struct held {
        natsMsg* msg;
        std::string topic;
    };
    struct sub_ctx {
        impl* self;
        size_t rule;
        uint64_t generation; // JetStream: the consumer it reads; an older one's messages are dropped
    };

    bridge_config cfg;
    bridge_counters c;
    natsOptions* opts = nullptr;
    natsConnection* nc = nullptr;
    jsCtx* js = nullptr;
    std::vector<natsSubscription*> subs; // every one made, destroyed at the end (messages point at them)
    std::deque<sub_ctx> ctxs;
    std::unique_ptr<client> rcp;
    forward_window window;
    std::unordered_map<uint64_t, held> pending; // by PUB seq, while in the window
    uint64_t next_seq = first_core_seq();
    clock_type::time_point next_appliance_try{};
    clock_type::time_point next_resync_try{};
    delivery_sequence deliveries; // JetStream: the current consumer's
    uint64_t consumer_from = 0;   // JetStream: the stream seq the current consumer was made at
    std::string consumer;         // JetStream: the current consumer's name
    uint64_t consumer_generation_tried = 0;
    bool gap = false;             // JetStream: deliveries were skipped; the consumer goes back

    // One pass's working sets, kept so that a pass allocates nothing once warm.
    std::vector<queued> batch;
    std::vector<outgoing> out;
    std::vector<natsMsg*> sent_once;
    std::vector<std::string> topics; // QoS 0: out's topics point into it
    std::vector<uint64_t> retired, resend, given_up;
    std::string topic;

    std::mutex mu;
    std::deque<queued> queue;
    uint64_t generation = 0; // under mu
    int wake_fd = -1;
    std::atomic<bool> reconnected{false};
    // The closed callback is libnats's last call into this object, made on
    // its own thread after natsConnection_Close returns: waited for.
    std::mutex closed_mu;
    std::condition_variable closed_cv;
    bool closed = false;

    explicit impl(const bridge_config& config)
        : cfg(config),
          window(cfg.appliance.qos == 0 ? 1 : cfg.appliance.max_in_flight,
                 resend_policy{std::chrono::milliseconds(cfg.appliance.ack_timeout_ms), 2000ms,
                               cfg.jetstream ? 0 : cfg.appliance.attempts}) {
        wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (wake_fd < 0) {
            throw std::runtime_error("eventfd failed");
        }
        connect_appliance();
        connect_nats();
        if (cfg.jetstream) {
            first_resync();
        } else {
            for (size_t i = 0; i < cfg.forward.size(); ++i) {
                ctxs.push_back(sub_ctx{this, i, 0});
                natsSubscription* sub = nullptr;
                check(natsConnection_Subscribe(&sub, nc, cfg.forward[i].filter.c_str(), &on_msg, &ctxs.back()),
                      "natsConnection_Subscribe");
                subs.push_back(sub);
                check(natsSubscription_SetPendingLimits(sub, static_cast<int>(cfg.nats.pending_messages),
                                                        256 * 1024 * 1024),
                      "natsSubscription_SetPendingLimits");
            }
            check(natsConnection_Flush(nc), "natsConnection_Flush");
        }
    }

    ~impl() {
        // First nothing more from NATS, then what it had handed over.
        for (natsSubscription* s : subs) {
            natsSubscription_Unsubscribe(s);
        }
        if (nc != nullptr) {
            natsConnection_Close(nc);
            std::unique_lock lock(closed_mu);
            (void)closed_cv.wait_for(lock, 2s, [this] { return closed; });
        }
        for (auto& [seq, h] : pending) {
            natsMsg_Destroy(h.msg); // unacknowledged: JetStream delivers it again
        }
        {
            const std::lock_guard lock(mu);
            for (const queued& q : queue) {
                natsMsg_Destroy(q.msg);
            }
        }
        for (natsSubscription* s : subs) {
            natsSubscription_Destroy(s);
        }
        jsCtx_Destroy(js);
        natsConnection_Destroy(nc);
        natsOptions_Destroy(opts);
        if (wake_fd >= 0) {
            ::close(wake_fd);
        }
    }

    void wake() {
        const uint64_t one = 1;
        (void)!::write(wake_fd, &one, sizeof(one));
    }

    // NATS's threads: queue the message for the bridge thread.
    static void on_msg(natsConnection*, natsSubscription*, natsMsg* m, void* closure) {
        auto* ctx = static_cast<sub_ctx*>(closure);
        impl& self = *ctx->self;
        bool was_empty = false;
        {
            const std::lock_guard lock(self.mu);
            if (ctx->generation != self.generation) {
                natsMsg_Destroy(m); // a consumer moved since: all of it comes again from the new one
                return;
            }
            // JetStream is never dropped here: a message skipped would look
            // done once a later one retired. The consumer's max ack pending
            // bounds the queue instead.
            if (self.js == nullptr && self.queue.size() >= self.cfg.nats.pending_messages) {
                relaxed_add(self.c.nats_dropped);
                natsMsg_Destroy(m);
                return;
            }
            was_empty = self.queue.empty();
            self.queue.push_back(queued{m, ctx->rule});
            relaxed_set(self.c.queued, self.queue.size());
        }
        if (was_empty) {
            self.wake();
        }
    }
    static void on_disconnected(natsConnection*, void* closure) {
        relaxed_add(static_cast<impl*>(closure)->c.nats_disconnects);
    }
    static void on_closed(natsConnection*, void* closure) {
        auto* self = static_cast<impl*>(closure);
        const std::lock_guard lock(self->closed_mu);
        self->closed = true;
        self->closed_cv.notify_all();
    }
    static void on_reconnected(natsConnection*, void* closure) {
        auto* self = static_cast<impl*>(closure);
        relaxed_add(self->c.nats_reconnects);
        self->reconnected = true;
        self->wake();
    }

    void connect_nats() {
        check(natsOptions_Create(&opts), "natsOptions_Create");
        std::vector<const char*> urls;
        for (const std::string& s : cfg.nats.servers) {
            urls.push_back(s.c_str());
        }
        check(natsOptions_SetServers(opts, urls.data(), static_cast<int>(urls.size())), "natsOptions_SetServers");
        check(natsOptions_SetName(opts, cfg.nats.name.c_str()), "natsOptions_SetName");
        check(natsOptions_SetTimeout(opts, cfg.nats.connect_timeout_ms), "natsOptions_SetTimeout");
        check(natsOptions_SetMaxReconnect(opts, -1), "natsOptions_SetMaxReconnect"); // forever
        check(natsOptions_SetReconnectWait(opts, cfg.nats.reconnect_wait_ms), "natsOptions_SetReconnectWait");
        check(natsOptions_SetRetryOnFailedConnect(opts, true, nullptr, nullptr), "natsOptions_SetRetryOnFailedConnect");
        check(natsOptions_SetDisconnectedCB(opts, &on_disconnected, this), "natsOptions_SetDisconnectedCB");
        check(natsOptions_SetReconnectedCB(opts, &on_reconnected, this), "natsOptions_SetReconnectedCB");
        check(natsOptions_SetClosedCB(opts, &on_closed, this), "natsOptions_SetClosedCB");
        const natsStatus s = natsConnection_Connect(&nc, opts);
        // With retry on failed connect, NOT_YET_CONNECTED means it keeps trying in the background.
        if (s != NATS_NOT_YET_CONNECTED) {
            check(s, "natsConnection_Connect");
        }
        if (cfg.jetstream) {
            check(natsConnection_JetStream(&js, nc, nullptr), "natsConnection_JetStream");
        }
    }

    void connect_appliance() {
        client_options o;
        o.transport = cfg.appliance.transport == bridge_transport::tcp ? transport_kind::tcp : transport_kind::udp;
        o.local_port = cfg.appliance.local_port;
        o.lease = std::chrono::seconds(cfg.appliance.lease_s);
        o.token = cfg.appliance.token;
        rcp = std::make_unique<client>(cfg.appliance.address, cfg.appliance.port, o);
    }

    // TCP: a connection ringcastd closed is made again, no sooner than the
    // reconnect wait after the last try; what is in the window goes again
    // as it comes due.
    void keep_appliance(clock_type::time_point now) {
        if (!rcp->closed() || now < next_appliance_try) {
            return;
        }
        next_appliance_try = now + std::chrono::milliseconds(cfg.nats.reconnect_wait_ms);
        try {
            rcp.reset();
            connect_appliance();
            relaxed_add(c.appliance_reconnects);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "ringcast-bridge: reconnecting to ringcastd: %s\n", e.what());
        }
    }

    // JetStream: a consumer's state, or nothing when it does not exist.
    // Any other failure throws: not knowing where the bridge ended must
    // never mean starting over from jetstream.deliver.
    std::optional<consumer_state> lookup(const std::string& name) {
        jsConsumerInfo* ci = nullptr;
        jsErrCode jerr{};
        const natsStatus s = js_GetConsumerInfo(&ci, js, cfg.jetstream->stream.c_str(), name.c_str(), nullptr, &jerr);
        if (s != NATS_OK) {
            if (jerr == JSConsumerNotFoundErr) {
                return std::nullopt;
            }
            check(s, "js_GetConsumerInfo");
        }
        consumer_state st;
        if (ci->Config != nullptr && ci->Config->DeliverPolicy == js_DeliverByStartSequence) {
            st.start_seq = ci->Config->OptStartSeq;
        }
        st.ack_floor_stream = ci->AckFloor.Stream;
        jsConsumerInfo_Destroy(ci);
        return st;
    }

    void remove_consumer(const std::string& name) {
        jsErrCode jerr{};
        if (const natsStatus s = js_DeleteConsumer(js, cfg.jetstream->stream.c_str(), name.c_str(), nullptr, &jerr);
            s != NATS_OK && jerr != JSConsumerNotFoundErr) {
            check(s, "js_DeleteConsumer");
        }
    }

    // A durable push consumer from stream seq `from`, delivering to `deliver`.
    void add_consumer(const std::string& name, uint64_t from, const char* deliver) {
        const bridge_jetstream_config& j = *cfg.jetstream;
        jsConsumerConfig cc;
        jsConsumerConfig_Init(&cc);
        cc.Durable = name.c_str();
        cc.DeliverSubject = deliver;
        cc.FilterSubject = cfg.forward[0].filter.c_str();
        cc.AckPolicy = js_AckExplicit;
        cc.AckWait = static_cast<int64_t>(j.ack_wait_ms) * 1'000'000;
        cc.MaxAckPending = static_cast<int64_t>(cfg.appliance.max_in_flight) * 2;
        cc.DeliverPolicy = js_DeliverByStartSequence;
        cc.OptStartSeq = from;
        jsConsumerInfo* ci = nullptr;
        jsErrCode jerr{};
        check(js_AddConsumer(&ci, js, j.stream.c_str(), &cc, nullptr, &jerr), "js_AddConsumer");
        jsConsumerInfo_Destroy(ci);
    }

    // The stream seq jetstream.deliver means now, for a consumer never made.
    uint64_t deliver_policy_start() {
        const bridge_jetstream_config& j = *cfg.jetstream;
        jsStreamInfo* si = nullptr;
        jsErrCode jerr{};
        check(js_GetStreamInfo(&si, js, j.stream.c_str(), nullptr, &jerr), "js_GetStreamInfo");
        const bool work_queue = si->Config != nullptr && si->Config->Retention == js_WorkQueuePolicy;
        const uint64_t last = si->State.LastSeq;
        jsStreamInfo_Destroy(si);
        if (work_queue) {
            // Its consumers may not overlap, and the old and the new one do while the bridge moves.
            throw std::runtime_error("jetstream.stream " + j.stream + ": work-queue retention is not supported");
        }
        if (j.deliver == jetstream_deliver::all) {
            return 1;
        }
        if (j.deliver == jetstream_deliver::last) {
            natsMsg* m = nullptr;
            const natsStatus s = js_GetLastMsg(&m, js, j.stream.c_str(), cfg.forward[0].filter.c_str(), nullptr, &jerr);
            if (s == NATS_OK) {
                const uint64_t seq = natsMsg_GetSequence(m);
                natsMsg_Destroy(m);
                return seq;
            }
            if (jerr != JSNoMessageFoundErr) {
                check(s, "js_GetLastMsg");
            }
        }
        return last + 1;
    }

    // JetStream: the bridge's consumers on the stream (`<durable>-<n>`), by generation.
    std::vector<std::pair<uint64_t, std::string>> own_consumers() {
        const bridge_jetstream_config& j = *cfg.jetstream;
        jsConsumerNamesList* list = nullptr;
        jsErrCode jerr{};
        const natsStatus s = js_ConsumerNames(&list, js, j.stream.c_str(), nullptr, &jerr);
        std::vector<std::pair<uint64_t, std::string>> mine;
        if (s == NATS_NOT_FOUND && jerr == 0) {
            return mine; // the stream has no consumers
        }
        check(s, "js_ConsumerNames");
        for (int i = 0; i < list->Count; ++i) {
            if (const auto g = consumer_generation(j.durable, list->List[i])) {
                mine.emplace_back(*g, list->List[i]);
            }
        }
        jsConsumerNamesList_Destroy(list);
        std::sort(mine.begin(), mine.end());
        return mine;
    }

    // JetStream: moves the consumer to stream seq `from` (0: where the
    // newest of the bridge's consumers ends, see consumer_position), reads
    // it, and deletes the older ones. What the old one delivered and the
    // window holds comes again and is matched by seq; what it had queued is
    // dropped, as it comes again too.
    void resync(uint64_t from) {
        const bridge_jetstream_config& j = *cfg.jetstream;
        const std::vector<std::pair<uint64_t, std::string>> mine = own_consumers();
        const char* why = "the resume point";
        if (from == 0) {
            if (!mine.empty()) {
                const std::optional<consumer_state> last = lookup(mine.back().second);
                if (!last) {
                    throw std::runtime_error("consumer " + mine.back().second + " went while being read");
                }
                from = resume_point(*last);
                why = "where the last consumer ended";
            }
            if (from == 0) {
                from = deliver_policy_start();
                why = "a new consumer, jetstream.deliver";
            }
        }
        uint64_t gen = 0;
        {
            const std::lock_guard lock(mu);
            gen = ++generation;
            for (const queued& q : queue) {
                natsMsg_Destroy(q.msg);
            }
            queue.clear();
            relaxed_set(c.queued, 0);
        }
        if (!subs.empty()) {
            natsSubscription_Unsubscribe(subs.back());
        }
        // A generation is never tried twice: an add that timed out may still
        // take effect, and must not then rename what this one delivers to.
        consumer_generation_tried = std::max(consumer_generation_tried, mine.empty() ? 0 : mine.back().first) + 1;
        const std::string name = consumer_name(j.durable, consumer_generation_tried);
        std::fprintf(stderr, "ringcast-bridge: consumer %s from stream seq %llu (%s)\n", name.c_str(),
                     static_cast<unsigned long long>(from), why);
        const std::string deliver = "_INBOX.ringcast-bridge." + name + "." + std::to_string(next_seq);
        add_consumer(name, from, deliver.c_str());
        jsSubOptions so;
        jsSubOptions_Init(&so);
        so.Stream = j.stream.c_str();
        so.Consumer = name.c_str();
        so.ManualAck = true;
        ctxs.push_back(sub_ctx{this, 0, gen});
        natsSubscription* sub = nullptr;
        jsErrCode jerr{};
        check(js_Subscribe(&sub, js, cfg.forward[0].filter.c_str(), &on_msg, &ctxs.back(), nullptr, &so, &jerr),
              "js_Subscribe");
        subs.push_back(sub);
        consumer = name;
        deliveries.reset();
        consumer_from = from;
        gap = false;
        relaxed_add(c.resyncs);
        // The new consumer is the record now. An old one left by a failure
        // here goes at the next move (a restart picks the newest anyway).
        for (const auto& [g, old] : mine) {
            try {
                remove_consumer(old);
            } catch (const std::exception& e) {
                std::fprintf(stderr, "ringcast-bridge: deleting consumer %s: %s\n", old.c_str(), e.what());
            }
        }
    }

    // At start: the consumer, tried again for up to nats.connect_timeout_ms
    // (a cluster may still be electing leaders), then given up (thrown).
    void first_resync() {
        const auto until = clock_type::now() + std::chrono::milliseconds(cfg.nats.connect_timeout_ms);
        for (;;) {
            try {
                resync(0);
                return;
            } catch (const std::exception& e) {
                if (clock_type::now() >= until) {
                    throw;
                }
                std::fprintf(stderr, "ringcast-bridge: %s; trying again\n", e.what());
                std::this_thread::sleep_for(100ms);
            }
        }
    }

    // JetStream, each pass: after a gap, the consumer goes back to the
    // oldest stream seq not known to be in ringcastd; after a reconnect, it
    // is made again there only if the cluster lost it (a lost delivery shows
    // as a gap, or comes again after jetstream.ack_wait_ms).
    void keep_consumer(clock_type::time_point now) {
        if (now < next_resync_try) {
            return;
        }
        const bool reconnect = reconnected.exchange(false);
        if (!gap && !reconnect) {
            return;
        }
        try {
            if (gap || !lookup(consumer)) {
                gap = true; // until a move succeeds: a failed one may have left no subscription
                resync(std::max(consumer_from, window.resume_seq()));
            }
        } catch (const std::exception& e) {
            std::fprintf(stderr, "ringcast-bridge: %s; trying again\n", e.what());
            if (reconnect) {
                reconnected = true;
            }
            next_resync_try = now + std::chrono::milliseconds(cfg.nats.reconnect_wait_ms);
        }
    }

    void finish(uint64_t seq) {
        const auto it = pending.find(seq);
        if (it == pending.end()) {
            return;
        }
        if (js != nullptr) {
            (void)natsMsg_Ack(it->second.msg, nullptr);
        }
        natsMsg_Destroy(it->second.msg);
        pending.erase(it);
    }

    void retire() {
        for (const uint64_t s : retired) {
            finish(s);
        }
        if (js != nullptr && !retired.empty()) {
            relaxed_set(c.acked_stream_seq, window.resume_seq() - 1);
        }
        retired.clear();
    }

    // Takes what NATS queued and fills `out` with it, as far as the window has room.
    void forward_queued(clock_type::time_point now) {
        const size_t room = cfg.appliance.qos == 0 ? 1024 : cfg.appliance.max_in_flight - window.size();
        batch.clear();
        {
            const std::lock_guard lock(mu);
            while (!queue.empty() && batch.size() < room) {
                batch.push_back(queue.front());
                queue.pop_front();
            }
            relaxed_set(c.queued, queue.size());
        }
        topics.reserve(batch.size()); // never reallocated below: out's QoS 0 topics point into it
        const uint8_t qos = cfg.appliance.qos;
        for (size_t i = 0; i < batch.size(); ++i) {
            natsMsg* m = batch[i].msg;
            uint64_t seq = 0;
            if (js != nullptr) {
                jsMsgMetaData* meta = nullptr;
                if (natsMsg_GetMetaData(&meta, m) != NATS_OK) {
                    relaxed_add(c.received);
                    relaxed_add(c.unmappable); // no stream seq: nothing to order or resume it by
                    natsMsg_Destroy(m);
                    continue;
                }
                seq = meta->Sequence.Stream;
                const bool in_order = deliveries.next(meta->Sequence.Consumer);
                relaxed_set(c.lag, meta->NumPending);
                jsMsgMetaData_Destroy(meta);
                if (!in_order) {
                    // Deliveries before this one were lost: none after them
                    // may go first. All of them come again from the resume seq.
                    relaxed_add(c.delivery_gaps);
                    gap = true;
                    for (size_t k = i; k < batch.size(); ++k) {
                        natsMsg_Destroy(batch[k].msg);
                    }
                    break;
                }
            }
            relaxed_add(c.received);
            const map_status st = map_subject(cfg.forward[batch[i].rule], natsMsg_GetSubject(m), topic);
            if (st != map_status::ok) {
                relaxed_add(c.unmappable);
                if (js != nullptr) {
                    (void)natsMsg_Ack(m, nullptr); // nothing would ever take it
                }
                natsMsg_Destroy(m);
                continue;
            }
            if (js != nullptr) {
                uint64_t old = 0;
                const forward_window::seen s = window.redelivered(seq, seq, old);
                if (s != forward_window::seen::fresh) {
                    relaxed_add(c.redelivered);
                    if (s == forward_window::seen::retired) {
                        (void)natsMsg_Ack(m, nullptr);
                        natsMsg_Destroy(m);
                    } else {
                        held& h = pending.at(seq);
                        natsMsg_Destroy(h.msg);
                        h.msg = m; // acknowledged through the delivery that is current
                    }
                    continue;
                }
            } else if (qos != 0) {
                seq = next_seq++;
            }
            if (qos == 0) {
                topics.push_back(topic);
                out.push_back(outgoing{topics.back(), payload_of(m), 0, 0});
                sent_once.push_back(m);
                continue;
            }
            window.add(seq, seq, now);
            held& h = pending.emplace(seq, held{m, topic}).first->second;
            out.push_back(outgoing{h.topic, payload_of(m), qos, seq});
        }
    }

    void send(const std::vector<outgoing>& out, bool resend) {
        if (out.empty()) {
            return;
        }
        const std::error_code ec = rcp->publish_batch(out);
        relaxed_add(c.sent, out.size());
        if (resend) {
            relaxed_add(c.resent, out.size());
        }
        if (ec && cfg.appliance.qos == 0) {
            relaxed_add(c.send_failed, out.size()); // at most: the datagrams before the failure went
        } else if (!ec && cfg.appliance.qos == 0) {
            relaxed_add(c.forwarded, out.size());
        }
    }

    void read_replies() {
        while (auto m = rcp->receive(0ms)) {
            if (m->code == op::ack) {
                if (window.ack(m->seq, retired)) {
                    relaxed_add(c.forwarded);
                }
            } else if (m->code == op::err && pending.contains(m->seq)) {
                // Refused for good (ACL, a limit): resending would change nothing.
                if (window.ack(m->seq, retired)) {
                    relaxed_add(c.refused);
                }
            }
        }
    }

    void expire(clock_type::time_point now) {
        window.expire(now, resend, given_up, retired);
        for (const uint64_t s : given_up) {
            relaxed_add(c.given_up);
            const auto it = pending.find(s);
            if (it != pending.end()) {
                natsMsg_Destroy(it->second.msg);
                pending.erase(it);
            }
        }
        given_up.clear();
        retire();
        out.clear();
        for (const uint64_t s : resend) {
            const held& h = pending.at(s);
            out.push_back(outgoing{h.topic, payload_of(h.msg), cfg.appliance.qos, s});
        }
        resend.clear();
        send(out, true);
        out.clear();
    }

    // One pass: what came from NATS, the replies, resends, keep-alive; then
    // sleep until a descriptor is readable or a resend is due.
    void pass(bool draining) {
        const auto now = clock_type::now();
        keep_appliance(now);
        if (js != nullptr) {
            keep_consumer(now);
        }
        out.clear();
        sent_once.clear();
        topics.clear();
        if (!draining) {
            forward_queued(now);
        }
        send(out, false);
        relaxed_set(c.in_flight, window.size()); // before the replies: never 0 with a batch just sent
        for (natsMsg* m : sent_once) {
            natsMsg_Destroy(m);
        }
        read_replies();
        retire();
        expire(now);
        relaxed_set(c.in_flight, window.size());
        (void)rcp->keepalive(now);

        bool more = false;
        {
            const std::lock_guard lock(mu);
            more = !queue.empty() && (cfg.appliance.qos == 0 || !window.full());
        }
        if (more) {
            return;
        }
        pollfd fds[2] = {{wake_fd, POLLIN, 0}, {rcp->native_handle(), POLLIN, 0}};
        const nfds_t n = fds[1].fd >= 0 ? 2 : 1;
        const int wait_ms = window.empty() ? 100 : 5;
        if (::poll(fds, n, wait_ms) > 0 && (fds[0].revents & POLLIN) != 0) {
            uint64_t v = 0;
            (void)!::read(wake_fd, &v, sizeof(v));
        }
    }
};

nats_bridge::nats_bridge(const bridge_config& cfg) : _impl(std::make_unique<impl>(cfg)) {}
nats_bridge::~nats_bridge() = default;

const bridge_counters& nats_bridge::counters() const noexcept { return _impl->c; }

int nats_bridge::run(const std::atomic<bool>& stop, uint32_t drain_ms) {
    try {
        while (!stop.load(std::memory_order_relaxed)) {
            _impl->pass(false);
        }
        const auto until = clock_type::now() + std::chrono::milliseconds(drain_ms);
        while (!_impl->window.empty() && clock_type::now() < until) {
            _impl->pass(true);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ringcast-bridge: %s\n", e.what());
        return 1;
    }
    return 0;
}

} // namespace ringcast
