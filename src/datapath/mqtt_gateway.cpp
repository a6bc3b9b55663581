#include <ringcast/datapath/mqtt_gateway.hpp>

#include <ringcast/core/topic.hpp>
#include <ringcast/core/wire.hpp>
#include <ringcast/datapath/io_loop.hpp>
#include <ringcast/datapath/tcp_lite.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <utility>

namespace ringcast {

namespace {

using mqtt::close_reason;
using mqtt::packet_type;

// Sessions looked at per housekeeping call.
constexpr uint32_t session_slice = 256;

std::string_view text_of(std::span<const std::byte> b) noexcept {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

mqtt::keep_alive::clock::time_point at_ms(uint64_t ms) noexcept {
    return mqtt::keep_alive::clock::time_point(std::chrono::milliseconds(ms));
}

// The MSG frame an inbox item holds.
frame_view msg_of(const rte_mbuf* m, bool& ok) noexcept {
    const std::span<const std::byte> b{rte_pktmbuf_mtod(m, const std::byte*), rte_pktmbuf_data_len(m)};
    const parse_result r = parse_frame(b, 0);
    ok = r.status == parse_status::ok;
    return r.frame;
}

rte_mbuf* as_mbuf(mqtt::msg_ref ref) noexcept {
    return reinterpret_cast<rte_mbuf*>(static_cast<uintptr_t>(ref));
}

mqtt::msg_ref as_ref(rte_mbuf* m) noexcept {
    return static_cast<mqtt::msg_ref>(reinterpret_cast<uintptr_t>(m));
}

} // namespace

mqtt_settings mqtt_settings_for(const config& cfg) {
    const mqtt_config& m = cfg.mqtt;
    return mqtt_settings{.cfg = m,
                         .limits = mqtt::session_limits{.max_in_flight = static_cast<uint16_t>(m.max_in_flight),
                                                        .max_queued = m.max_queued,
                                                        .max_inbound_qos2 = static_cast<uint16_t>(m.max_unanswered)}};
}

mqtt_gateway::mqtt_gateway(const mqtt_settings& s, uint16_t io_index, rte_mempool* headers)
    : _s(s), _io_index(io_index), _headers(headers), _by_id(s.cfg.sessions) {
    _slots.reserve(s.cfg.sessions);
    _free.reserve(s.cfg.sessions);
    for (uint32_t i = 0; i < s.cfg.sessions; ++i) {
        _slots.emplace_back(s.limits, s.cfg.max_filters, s.cfg.max_unanswered);
    }
    for (uint32_t i = s.cfg.sessions; i-- > 0;) {
        _free.push_back(i);
    }
}

uint32_t mqtt_gateway::find(std::string_view client_id) const noexcept {
    return _by_id.find(topic_hash(as_bytes(client_id)), [&](uint32_t sid) {
        return _slots[sid].client_id() == client_id; // the index holds live sessions only
    });
}

void mqtt_gateway::release(mqtt::msg_ref ref) noexcept {
    rte_pktmbuf_free(as_mbuf(ref));
}

void mqtt_gateway::close(io_state& io, lcore_ctx& lc, tcp_lite& tcp, uint32_t link, mqtt_stat why,
                         uint64_t now) noexcept {
    lc.counters.count(why);
    if (const uint32_t sid = tcp.link(link).session; sid != no_id) {
        detach(io, lc, tcp, sid, why == mqtt_stat::keep_alive_expiries ? close_reason::keep_alive
                                                                       : close_reason::protocol_error, now);
    }
    tcp.finish(link);
}

bool mqtt_gateway::send_small(lcore_ctx& lc, tcp_lite& tcp, uint32_t link, std::span<const std::byte> bytes) noexcept {
    rte_mbuf* m = rte_pktmbuf_alloc(_headers);
    auto* p = m != nullptr ? rte_pktmbuf_append(m, static_cast<uint16_t>(bytes.size())) : nullptr;
    if (p == nullptr) {
        rte_pktmbuf_free(m);
        lc.counters.count(drop::pool_empty);
        return false;
    }
    std::memcpy(p, bytes.data(), bytes.size());
    const std::array pieces{tcp_piece{m, static_cast<uint32_t>(bytes.size()), 0}};
    return tcp.send(lc, link, pieces);
}

bool mqtt_gateway::send_publish(lcore_ctx& lc, tcp_lite& tcp, uint32_t sid, rte_mbuf* m, uint8_t qos, uint16_t id,
                                bool dup) noexcept {
    const slot& sl = _slots[sid];
    bool ok = false;
    const frame_view f = msg_of(m, ok);
    if (!ok || sl.link == no_id) {
        return false;
    }
    rte_mbuf* h = nullptr;
    if (qos == 0 && m == _shared_for) {
        // The same bytes for every QoS 0 subscriber of this message: one header for all of them.
        h = _shared_header;
        rte_mbuf_refcnt_update(h, 1);
    } else {
        h = rte_pktmbuf_alloc(_headers);
        const size_t room = mqtt::publish_header_size(f.topic.size());
        auto* p = h != nullptr ? rte_pktmbuf_append(h, static_cast<uint16_t>(room)) : nullptr;
        if (p == nullptr) {
            rte_pktmbuf_free(h);
            lc.counters.count(drop::pool_empty);
            return false;
        }
        // What a new subscription was sent of the past (its retained value) keeps the retain flag (3.3.1-8).
        const bool retained = (f.flags & flags::replayed) != 0;
        const size_t n = mqtt::encode_publish_header(text_of(f.topic), qos, dup, retained, id, f.payload.size(),
                                                     {reinterpret_cast<std::byte*>(p), room});
        rte_pktmbuf_trim(h, static_cast<uint16_t>(room - n));
        if (qos == 0) {
            end_of_burst();
            // Both held, so neither can be recycled into another message while the header stands for it.
            rte_mbuf_refcnt_update(m, 1);
            rte_mbuf_refcnt_update(h, 1);
            _shared_for = m;
            _shared_header = h;
        }
    }
    std::array<tcp_piece, 2> pieces{tcp_piece{h, rte_pktmbuf_data_len(h), 0}};
    size_t count = 1;
    if (!f.payload.empty()) {
        // The payload by reference: the shared frame, past its RCP/1 header and topic.
        rte_mbuf_refcnt_update(m, 1);
        pieces[count++] = tcp_piece{m, static_cast<uint32_t>(f.payload.size()),
                                    static_cast<uint32_t>(f.payload.data() - rte_pktmbuf_mtod(m, const std::byte*))};
    }
    if (!tcp.send(lc, sl.link, std::span{pieces.data(), count})) {
        lc.counters.count(mqtt_stat::not_sent);
        return false;
    }
    lc.counters.count(mqtt_stat::publish_out);
    return true;
}

rte_mbuf* mqtt_gateway::make_frame(lcore_ctx& lc, uint16_t port, op code, uint8_t flag_bits, uint64_t seq,
                                   std::string_view topic, std::span<const std::byte> payload) noexcept {
    const size_t len = frame_size(topic.size(), payload.size());
    rte_mbuf* m = rte_pktmbuf_alloc(lc.ports[port].rx_pool);
    auto* p = m != nullptr && len <= rte_pktmbuf_tailroom(m) ? rte_pktmbuf_append(m, static_cast<uint16_t>(len))
                                                              : nullptr;
    if (p == nullptr ||
        write_frame({reinterpret_cast<std::byte*>(p), len}, code, flag_bits, seq, as_bytes(topic), payload) == 0) {
        rte_pktmbuf_free(m);
        lc.counters.count(drop::pool_empty);
        return nullptr;
    }
    return m;
}

void mqtt_gateway::route_frame(io_state& io, lcore_ctx& lc, uint32_t sid, rte_mbuf* m, uint64_t now) noexcept {
    slot& sl = _slots[sid];
    io_stream_frame(io, lc, now, sl.source, reply_to{sl.source.ep, {}}, m);
}

void mqtt_gateway::route(io_state& io, lcore_ctx& lc, uint32_t sid, op code, uint8_t flag_bits, uint64_t seq,
                         std::string_view topic, std::span<const std::byte> payload, uint64_t now) noexcept {
    if (rte_mbuf* m = make_frame(lc, _slots[sid].port, code, flag_bits, seq, topic, payload)) {
        route_frame(io, lc, sid, m, now);
    }
}

mqtt::owed_answer* mqtt_gateway::owe(uint32_t sid, packet_type type, uint16_t id, uint64_t now) noexcept {
    if (++_serial == 0) {
        _serial = 1; // 0 is the seq of what wants no answer (the will)
    }
    return _slots[sid].answers.push(_serial, type, id, ms(now));
}

void mqtt_gateway::send_answers(lcore_ctx& lc, tcp_lite& tcp, uint32_t sid) noexcept {
    slot& sl = _slots[sid];
    sl.answers.pop_due([&](const mqtt::owed_answer& a) {
        std::array<std::byte, 4 + mqtt::max_filters_per_request> out;
        std::array<uint8_t, mqtt::max_filters_per_request> codes;
        for (size_t i = 0; i < a.n_codes; ++i) {
            codes[i] = a.code(i);
        }
        const size_t n = a.type == packet_type::suback
                             ? mqtt::encode_suback(a.id, std::span{codes.data(), a.n_codes}, out)
                             : mqtt::encode_packet_id(a.type, a.id, out);
        (void)send_small(lc, tcp, sl.link, std::span{out.data(), n});
    });
}

void mqtt_gateway::answered(lcore_ctx& lc, tcp_lite& tcp, uint32_t sid, uint64_t seq, bool refused) noexcept {
    slot& sl = _slots[sid];
    const auto serial = static_cast<uint32_t>(seq >> 8);
    mqtt::owed_answer* a = serial != 0 && sl.link != no_id ? sl.answers.find(serial) : nullptr;
    if (a == nullptr) {
        return; // the will's, or owed to a connection gone since
    }
    const auto index = static_cast<size_t>(seq & 0xff);
    if (refused && a->type == packet_type::suback && index < a->n_codes && a->code(index) != mqtt::suback_failure) {
        a->set_code(index, mqtt::suback_failure);
        lc.counters.count(mqtt_stat::subscribe_refused);
    }
    if (a->waiting != 0) {
        --a->waiting;
    }
    send_answers(lc, tcp, sid);
}

void mqtt_gateway::packet(io_state& io, lcore_ctx& lc, tcp_lite& tcp, uint32_t link, const mqtt::packet_view& p,
                          uint64_t now) noexcept {
    const uint32_t sid = tcp.link(link).session;
    if (p.header.type == packet_type::connect) {
        if (sid != no_id) {
            close(io, lc, tcp, link, mqtt_stat::protocol_errors, now); // a second CONNECT (3.1.0-2)
            return;
        }
        connect(io, lc, tcp, link, p, now);
        return;
    }
    if (sid == no_id) {
        close(io, lc, tcp, link, mqtt_stat::protocol_errors, now); // CONNECT comes first (3.1.0-1)
        return;
    }
    slot& sl = _slots[sid];
    sl.alive.on_packet(at_ms(ms(now)));
    uint16_t id = 0;
    std::array<std::byte, 4> out;
    switch (p.header.type) {
    case packet_type::publish:
        publish_in(io, lc, tcp, sid, p, now);
        return;
    case packet_type::puback:
    case packet_type::pubrec:
    case packet_type::pubrel:
    case packet_type::pubcomp:
        if (mqtt::parse_packet_id(p.body, id) != mqtt::decode_status::ok) {
            break;
        }
        if (p.header.type == packet_type::puback) {
            if (const auto done = sl.s.on_puback(id)) {
                release(*done);
            }
            drain_queue(lc, tcp, sid);
        } else if (p.header.type == packet_type::pubrec) {
            if (const auto done = sl.s.on_pubrec(id)) {
                release(*done);
            }
            if (!send_small(lc, tcp, link, std::span{out.data(), mqtt::encode_packet_id(packet_type::pubrel, id, out)})) {
                sl.s.mark_unsent(id); // PUBREL again from housekeeping
            }
        } else if (p.header.type == packet_type::pubcomp) {
            (void)sl.s.on_pubcomp(id);
            drain_queue(lc, tcp, sid);
        } else {
            sl.s.on_pubrel(id);
            (void)send_small(lc, tcp, link, std::span{out.data(), mqtt::encode_packet_id(packet_type::pubcomp, id, out)});
        }
        return;
    case packet_type::subscribe:
        subscribe(io, lc, tcp, sid, p, now);
        return;
    case packet_type::unsubscribe:
        unsubscribe(io, lc, tcp, sid, p, now);
        return;
    case packet_type::pingreq:
        if (p.header.remaining == 0) {
            (void)send_small(lc, tcp, link, std::span{out.data(), mqtt::encode_pingresp(out)});
            return;
        }
        break;
    case packet_type::disconnect:
        if (p.header.remaining == 0) {
            lc.counters.count(mqtt_stat::disconnects);
            detach(io, lc, tcp, sid, close_reason::disconnect, now); // the will is discarded (3.14.4-3)
            tcp.finish(link);
            return;
        }
        break;
    default:
        break; // what only a server sends
    }
    close(io, lc, tcp, link, mqtt_stat::protocol_errors, now);
}

void mqtt_gateway::connect(io_state& io, lcore_ctx& lc, tcp_lite& tcp, uint32_t link, const mqtt::packet_view& p,
                           uint64_t now) noexcept {
    std::array<std::byte, 4> out;
    const auto refuse = [&](mqtt::connack_code code) {
        (void)send_small(lc, tcp, link, std::span{out.data(), mqtt::encode_connack(false, code, out)});
        lc.counters.count(mqtt_stat::connects_refused);
        tcp.finish(link);
    };
    mqtt::connect_packet c;
    const mqtt::decode_status st = mqtt::parse_connect(p.body, c);
    if (st == mqtt::decode_status::bad_protocol) {
        refuse(mqtt::connack_code::bad_protocol);
        return;
    }
    if (st != mqtt::decode_status::ok) {
        close(io, lc, tcp, link, mqtt_stat::protocol_errors, now);
        return;
    }
    if (mqtt::check_client_id(c.client_id, c.clean_session, _s.cfg.client_id_max) != 0) {
        refuse(mqtt::connack_code::identifier_rejected);
        return;
    }
    // The password is an [[identity]]'s token; a user name, when given, must be its name.
    const access_policy& policy = *io.policy;
    uint32_t who = no_identity;
    if (policy.required()) {
        if (!c.has_password) {
            refuse(mqtt::connack_code::not_authorized);
            return;
        }
        who = policy.authenticate(c.password);
        if (who == no_identity || (c.has_username && c.username != policy.at(who).name)) {
            refuse(mqtt::connack_code::bad_credentials);
            return;
        }
    }
    const uint16_t port = port_index(tcp.link(link).from.ep);
    rte_mbuf* will = nullptr;
    if (c.will) {
        if (frame_size(c.will_topic.size(), c.will_payload.size()) > io.settings.max_pub_frame) {
            close(io, lc, tcp, link, mqtt_stat::too_large, now);
            return;
        }
        const auto will_flags = static_cast<uint8_t>(c.will_qos | (c.will_retain ? flags::retain : 0));
        will = make_frame(lc, port, op::pub, will_flags, 0, c.will_topic, c.will_payload);
        if (will == nullptr) {
            refuse(mqtt::connack_code::server_unavailable);
            return;
        }
    }
    // A zero-length id (clean session only) gets one of ours, never a client's.
    std::array<char, 32> made{};
    std::string_view client_id = c.client_id;
    if (client_id.empty()) {
        const int n = std::snprintf(made.data(), made.size(), "\x01rc-%u-%u", unsigned{_io_index}, ++_generated);
        client_id = {made.data(), static_cast<size_t>(n)};
    }
    uint32_t sid = find(client_id);
    if (sid != no_id && _slots[sid].link != no_id) {
        // Taken over (3.1.4-2): the old connection goes, its will with it.
        const uint32_t old = _slots[sid].link;
        lc.counters.count(mqtt_stat::takeovers);
        detach(io, lc, tcp, sid, close_reason::taken_over, now);
        tcp.finish(old);
        sid = find(client_id);
    }
    if (sid != no_id && c.clean_session) {
        discard(io, lc, sid); // clean session 1: nothing of the old one survives (3.1.2-6)
        sid = no_id;
    }
    const bool present = sid != no_id;
    if (!present) {
        if (_free.empty()) {
            rte_pktmbuf_free(will);
            refuse(mqtt::connack_code::server_unavailable);
            return;
        }
        sid = _free.back();
        _free.pop_back();
        slot& sl = _slots[sid];
        std::memcpy(sl.id.data(), client_id.data(), client_id.size());
        sl.id_len = static_cast<uint16_t>(client_id.size());
        sl.used = true;
        sl.notice_pending = false;
        sl.subs.clear();
        sl.source = source_record{.ep = mqtt_session_endpoint(sid, _io_index),
                                  .err_bucket = token_bucket(policy.err_per_s, policy.err_per_s, io.settings.hz, now)};
        _by_id.insert(topic_hash(as_bytes(client_id)), sid);
    }
    slot& sl = _slots[sid];
    sl.clean = c.clean_session;
    sl.link = link;
    sl.port = port;
    sl.answers.clear([](const mqtt::owed_answer&) {});
    sl.source.identity = who;
    sl.source.identity_key = who == no_identity ? 0 : policy.at(who).key;
    sl.will = will;
    sl.alive = mqtt::keep_alive(c.keep_alive_s, at_ms(ms(now)));
    tcp.link(link).session = sid;
    lc.counters.count(mqtt_stat::connects);
    if (present) {
        lc.counters.count(mqtt_stat::sessions_resumed);
    }
    (void)send_small(lc, tcp, link,
                     std::span{out.data(), mqtt::encode_connack(present, mqtt::connack_code::accepted, out)});
    if (present) {
        resume(lc, tcp, sid);
    }
}

void mqtt_gateway::publish_in(io_state& io, lcore_ctx& lc, tcp_lite& tcp, uint32_t sid, const mqtt::packet_view& p,
                              uint64_t now) noexcept {
    slot& sl = _slots[sid];
    const uint32_t link = sl.link;
    mqtt::publish_packet pk;
    if (mqtt::parse_publish(p.header.flags, p.body, pk) != mqtt::decode_status::ok) {
        close(io, lc, tcp, link, mqtt_stat::protocol_errors, now);
        return;
    }
    if (frame_size(pk.topic.size(), pk.payload.size()) > io.settings.max_pub_frame) {
        // Its MSG could not leave in one datagram: refused as RCP/1 refuses such a PUB.
        close(io, lc, tcp, link, mqtt_stat::too_large, now);
        return;
    }
    bool fresh = true;
    if (pk.qos == 2) {
        switch (sl.s.on_publish_qos2(pk.packet_id)) {
        case mqtt::session::inbound::fresh:
            break;
        case mqtt::session::inbound::duplicate:
            fresh = false; // delivered once already: PUBREC again (4.3.3)
            lc.counters.count(mqtt_stat::qos2_duplicates);
            break;
        case mqtt::session::inbound::full:
            close(io, lc, tcp, link, mqtt_stat::unanswered_full, now);
            return;
        }
    }
    mqtt::owed_answer* a = nullptr;
    if (pk.qos != 0) {
        a = owe(sid, pk.qos == 1 ? packet_type::puback : packet_type::pubrec, pk.packet_id, now);
        if (a == nullptr) {
            if (pk.qos == 2 && fresh) {
                sl.s.on_pubrel(pk.packet_id);
            }
            close(io, lc, tcp, link, mqtt_stat::unanswered_full, now);
            return;
        }
    }
    const access_policy& policy = *io.policy;
    // $ topics and what the identity may not publish are acknowledged and
    // dropped, as RCP/1 refuses them: the client is not left waiting.
    const bool refused = check_pub_topic(as_bytes(pk.topic), io.settings.topic_len) != topic_check::ok ||
                         (policy.required() && !policy.at(sl.source.identity).may_publish(as_bytes(pk.topic)));
    if (refused) {
        lc.counters.count(mqtt_stat::publish_refused);
    }
    if (fresh && !refused) {
        if (a != nullptr) {
            a->waiting = 1;
            a->qos2_fresh = pk.qos == 2;
        }
        lc.counters.count(mqtt_stat::publish_in);
        // Copied once into an RCP/1 PUB: its fan-out shares that copy by reference.
        route(io, lc, sid, op::pub, static_cast<uint8_t>(pk.qos | (pk.retain ? flags::retain : 0)),
              a != nullptr ? uint64_t{a->serial} << 8 : 0, pk.topic, pk.payload, now);
    }
    send_answers(lc, tcp, sid);
}

mqtt::owed_answer* mqtt_gateway::owe_request(io_state& io, lcore_ctx& lc, tcp_lite& tcp, uint32_t sid,
                                              packet_type type, uint16_t id, size_t n, uint64_t now) noexcept {
    if (n == 0 || n > mqtt::max_filters_per_request) {
        close(io, lc, tcp, _slots[sid].link, mqtt_stat::protocol_errors, now);
        return nullptr;
    }
    mqtt::owed_answer* a = owe(sid, type, id, now);
    if (a == nullptr) {
        close(io, lc, tcp, _slots[sid].link, mqtt_stat::unanswered_full, now);
    }
    return a;
}

void mqtt_gateway::subscribe(io_state& io, lcore_ctx& lc, tcp_lite& tcp, uint32_t sid, const mqtt::packet_view& p,
                             uint64_t now) noexcept {
    slot& sl = _slots[sid];
    mqtt::subscribe_packet pk;
    size_t n = 0;
    if (mqtt::parse_subscribe(p.body, pk) == mqtt::decode_status::ok) {
        pk.for_each_subscription([&](std::string_view, uint8_t) { ++n; });
    }
    mqtt::owed_answer* a = owe_request(io, lc, tcp, sid, packet_type::suback, pk.packet_id, n, now);
    if (a == nullptr) {
        return;
    }
    const access_policy& policy = *io.policy;
    pk.for_each_subscription([&](std::string_view text, uint8_t qos) {
        const size_t i = a->n_codes++;
        filter_spec f;
        const bool ok = parse_filter(as_bytes(text), io.settings.topic_len, f) == topic_check::ok &&
                        (!policy.required() || policy.at(sl.source.identity).may_subscribe(f.filter)) &&
                        sl.subs.add(text, qos) != mqtt::subscription_set::add_result::full;
        if (!ok) {
            a->set_code(i, mqtt::suback_failure);
            lc.counters.count(mqtt_stat::subscribe_refused);
            return;
        }
        a->set_code(i, qos); // every QoS is granted as asked
        ++a->waiting;
        route(io, lc, sid, op::sub, 0, uint64_t{a->serial} << 8 | i, text, {}, now);
    });
    send_answers(lc, tcp, sid);
}

void mqtt_gateway::unsubscribe(io_state& io, lcore_ctx& lc, tcp_lite& tcp, uint32_t sid, const mqtt::packet_view& p,
                               uint64_t now) noexcept {
    slot& sl = _slots[sid];
    mqtt::unsubscribe_packet pk;
    size_t n = 0;
    if (mqtt::parse_unsubscribe(p.body, pk) == mqtt::decode_status::ok) {
        pk.for_each_filter([&](std::string_view) { ++n; });
    }
    mqtt::owed_answer* a = owe_request(io, lc, tcp, sid, packet_type::unsuback, pk.packet_id, n, now);
    if (a == nullptr) {
        return;
    }
    size_t i = 0;
    pk.for_each_filter([&](std::string_view text) {
        if (!sl.subs.remove(text)) {
            return; // never held: nothing to undo (UNSUBACK all the same, 3.10.4-5)
        }
        ++a->waiting;
        route(io, lc, sid, op::unsub, 0, uint64_t{a->serial} << 8 | i++, text, {}, now);
    });
    send_answers(lc, tcp, sid);
}

void mqtt_gateway::deliver(lcore_ctx& lc, tcp_lite& tcp, uint32_t sid, rte_mbuf* m) noexcept {
    slot& sl = _slots[sid];
    bool ok = false;
    const frame_view f = msg_of(m, ok);
    const std::optional<uint8_t> granted = ok ? sl.subs.granted(f.topic) : std::nullopt;
    if (!granted) {
        lc.counters.count(drop::tcp_stale); // an UNSUBSCRIBE crossed it
        rte_pktmbuf_free(m);
        return;
    }
    // The lower of the publish's and the subscription's (3.8.4).
    const uint8_t qos = std::min(f.qos(), *granted);
    const bool connected = sl.link != no_id;
    if (qos == 0) {
        if (connected) {
            (void)send_publish(lc, tcp, sid, m, 0, 0, false);
        } else {
            lc.counters.count(mqtt_stat::offline_dropped);
        }
        rte_pktmbuf_free(m);
        return;
    }
    const bool goes_now = connected && sl.s.queued() == 0 && sl.s.in_flight().size() < _s.limits.max_in_flight;
    if (!goes_now && _queued >= _s.cfg.queued_total) {
        lc.counters.count(mqtt_stat::queue_full);
        rte_pktmbuf_free(m);
        return;
    }
    // The session keeps this reference until the client acknowledges.
    const size_t before = sl.s.queued();
    const mqtt::session::offer_result r = sl.s.offer(as_ref(m), qos, connected);
    if (r.dropped) {
        release(*r.dropped);
        lc.counters.count(mqtt_stat::queue_dropped);
    }
    _queued = _queued + sl.s.queued() - before;
    if (r.send && !send_publish(lc, tcp, sid, m, qos, r.id, false)) {
        sl.s.mark_unsent(r.id); // tried again from housekeeping
    }
}

void mqtt_gateway::resume(lcore_ctx& lc, tcp_lite& tcp, uint32_t sid) noexcept {
    // What was in flight goes again first, in its order (4.4): PUBLISH with DUP, or PUBREL.
    _slots[sid].s.mark_all_unsent();
    resend(lc, tcp, sid);
    drain_queue(lc, tcp, sid);
}

void mqtt_gateway::resend(lcore_ctx& lc, tcp_lite& tcp, uint32_t sid) noexcept {
    slot& sl = _slots[sid];
    sl.s.resend_unsent([&](const mqtt::in_flight_entry& e) {
        if (sl.link == no_id) {
            return false;
        }
        lc.counters.count(mqtt_stat::redelivered);
        if (e.state == mqtt::out_state::wait_pubcomp) {
            std::array<std::byte, 4> out;
            return send_small(lc, tcp, sl.link, std::span{out.data(), mqtt::encode_packet_id(packet_type::pubrel, e.id, out)});
        }
        return send_publish(lc, tcp, sid, as_mbuf(e.msg), e.qos, e.id, true);
    });
}

void mqtt_gateway::drain_queue(lcore_ctx& lc, tcp_lite& tcp, uint32_t sid) noexcept {
    slot& sl = _slots[sid];
    while (sl.link != no_id) {
        const auto r = sl.s.next_queued();
        if (!r) {
            return;
        }
        --_queued;
        if (!send_publish(lc, tcp, sid, as_mbuf(r->msg), r->qos, r->id, false)) {
            sl.s.mark_unsent(r->id); // tried again from housekeeping
        }
    }
}

void mqtt_gateway::detach(io_state& io, lcore_ctx& lc, tcp_lite& tcp, uint32_t sid, close_reason why,
                          uint64_t now) noexcept {
    slot& sl = _slots[sid];
    if (sl.link != no_id) {
        tcp.link(sl.link).session = no_id;
        sl.link = no_id;
    }
    if (sl.will != nullptr) {
        rte_mbuf* will = std::exchange(sl.will, nullptr);
        if (mqtt::will_due(why)) {
            lc.counters.count(mqtt_stat::wills_sent);
            route_frame(io, lc, sid, will, now);
        } else {
            rte_pktmbuf_free(will);
        }
    }
    // Answers owed to that connection go with it. A fresh QoS 2 PUB already
    // went to the workers: its id stays, so a resend is not delivered twice.
    sl.answers.clear([](const mqtt::owed_answer&) {});
    if (sl.clean) {
        discard(io, lc, sid);
    }
}

void mqtt_gateway::discard(io_state& io, lcore_ctx& lc, uint32_t sid) noexcept {
    slot& sl = _slots[sid];
    _queued -= sl.s.queued();
    sl.s.clear([&](mqtt::msg_ref ref) { release(ref); });
    sl.subs.clear();
    if (sl.will != nullptr) {
        rte_pktmbuf_free(std::exchange(sl.will, nullptr));
    }
    (void)_by_id.erase(topic_hash(as_bytes(sl.client_id())), [&](uint32_t s) { return s == sid; });
    // The slot is reused only once every worker has dropped what it held
    // for it: a new session's SUBs must not be overtaken by that notice.
    if (sl.source.has_subs && !io_tell_workers(io, lc, sl.source.ep, item_kind::lapsed)) {
        sl.notice_pending = true;
        return;
    }
    free_slot(sid);
}

void mqtt_gateway::free_slot(uint32_t sid) noexcept {
    slot& sl = _slots[sid];
    sl.used = false;
    sl.notice_pending = false;
    sl.source.has_subs = false;
    _free.push_back(sid);
}

void mqtt_gateway::ended(io_state& io, lcore_ctx& lc, tcp_lite& tcp, uint32_t link, close_reason why,
                         uint64_t now) noexcept {
    if (const uint32_t sid = tcp.link(link).session; sid != no_id) {
        detach(io, lc, tcp, sid, why, now);
    }
}

void mqtt_gateway::inbox(io_state& io, lcore_ctx& lc, tcp_lite& tcp, const endpoint& to, rte_mbuf* m,
                         uint64_t now) noexcept {
    (void)io;
    (void)now;
    const uint32_t sid = to.port;
    bool ok = false;
    const frame_view f = msg_of(m, ok);
    if (sid >= _slots.size() || !_slots[sid].live() || !ok) {
        lc.counters.count(drop::tcp_stale);
        rte_pktmbuf_free(m);
        return;
    }
    switch (f.code) {
    case op::msg:
        deliver(lc, tcp, sid, m);
        return;
    case op::ack:
    case op::err:
        answered(lc, tcp, sid, f.seq, f.code == op::err);
        break;
    default:
        break; // PONG and the like: nothing the client asked for
    }
    rte_pktmbuf_free(m);
}

void mqtt_gateway::housekeeping(io_state& io, lcore_ctx& lc, tcp_lite& tcp, uint64_t now) noexcept {
    const uint64_t now_ms = ms(now);
    const auto cap = static_cast<uint32_t>(_slots.size());
    for (uint32_t i = 0; i < std::min(session_slice, cap); ++i) {
        const uint32_t sid = _cursor;
        _cursor = sid + 1 == cap ? 0 : sid + 1;
        slot& sl = _slots[sid];
        if (sl.notice_pending) {
            if (io_tell_workers(io, lc, sl.source.ep, item_kind::lapsed)) {
                free_slot(sid);
            }
            continue;
        }
        if (!sl.used || sl.link == no_id) {
            continue;
        }
        if (sl.alive.expired(at_ms(now_ms))) {
            close(io, lc, tcp, sl.link, mqtt_stat::keep_alive_expiries, now);
            continue;
        }
        if (sl.s.has_unsent()) {
            resend(lc, tcp, sid); // what found no room on the connection (a pool, its send queue) before
        }
        if (sl.answers.stalled(now_ms, _s.cfg.ack_timeout_ms)) {
            // Lost on the way to a worker (a full ring, an empty pool): the
            // client sends it again on its next connection, so a QoS 2 id
            // not through is freed for that.
            sl.answers.clear([&](const mqtt::owed_answer& a) {
                if (a.qos2_fresh && a.waiting != 0) {
                    sl.s.on_pubrel(a.id);
                }
            });
            close(io, lc, tcp, sl.link, mqtt_stat::ack_timeouts, now);
        }
    }
    if (now_ms < _next_gauges) {
        return;
    }
    _next_gauges = now_ms + 100;
    uint64_t connected = 0, offline = 0, in_flight = 0;
    for (const slot& sl : _slots) {
        if (!sl.live()) {
            continue;
        }
        ++(sl.link != no_id ? connected : offline);
        in_flight += sl.s.in_flight().size();
    }
    lc.counters.set(mqtt_gauge::sessions_connected, connected);
    lc.counters.set(mqtt_gauge::sessions_offline, offline);
    lc.counters.set(mqtt_gauge::in_flight, in_flight);
    lc.counters.set(mqtt_gauge::queued, _queued);
}

void mqtt_gateway::end_of_burst() noexcept {
    if (_shared_for != nullptr) {
        rte_pktmbuf_free(std::exchange(_shared_for, nullptr));
        rte_pktmbuf_free(std::exchange(_shared_header, nullptr));
    }
}

void mqtt_gateway::drain() noexcept {
    end_of_burst();
    for (slot& sl : _slots) {
        sl.s.clear([&](mqtt::msg_ref ref) { release(ref); });
        if (sl.will != nullptr) {
            rte_pktmbuf_free(std::exchange(sl.will, nullptr));
        }
    }
    _queued = 0;
}

} // namespace ringcast
