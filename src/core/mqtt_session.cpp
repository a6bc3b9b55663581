#include <ringcast/core/mqtt_session.hpp>

#include <ringcast/core/topic.hpp>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace ringcast::mqtt {

session::session(const session_limits& limits) : _limits(limits) {
    if (limits.max_in_flight == 0 || limits.max_queued == 0 || limits.max_inbound_qos2 == 0) {
        throw std::invalid_argument("mqtt session: every limit must be at least 1");
    }
    _in_flight.reserve(limits.max_in_flight);
    _queue.resize(limits.max_queued);
    _inbound_qos2.reserve(limits.max_inbound_qos2);
}

in_flight_entry* session::find(uint16_t id) noexcept {
    const auto it = std::find_if(_in_flight.begin(), _in_flight.end(), [id](const in_flight_entry& e) { return e.id == id; });
    return it == _in_flight.end() ? nullptr : &*it;
}

void session::erase(uint16_t id) noexcept {
    std::erase_if(_in_flight, [&](const in_flight_entry& e) {
        if (e.id == id && e.unsent) {
            --_unsent;
        }
        return e.id == id;
    });
}

void session::mark_all_unsent() noexcept {
    for (in_flight_entry& e : _in_flight) {
        e.unsent = true;
    }
    _unsent = _in_flight.size();
}

void session::mark_unsent(uint16_t id) noexcept {
    if (in_flight_entry* e = find(id); e != nullptr && !e->unsent) {
        e->unsent = true;
        ++_unsent;
    }
}

// The next id not in flight, 1..65535 in turn (2.3.1: an id is reusable
// once its exchange is done). At most max_in_flight are in use, so a free
// one is found within max_in_flight + 1 steps.
uint16_t session::take_id() noexcept {
    for (;;) {
        const uint16_t id = _next_id;
        _next_id = _next_id == 0xFFFF ? 1 : static_cast<uint16_t>(_next_id + 1);
        if (find(id) == nullptr) {
            return id;
        }
    }
}

session::offer_result session::offer(msg_ref msg, uint8_t qos, bool connected) {
    offer_result r;
    // Order per topic holds only if nothing overtakes what is queued.
    if (connected && _queued_count == 0 && _in_flight.size() < _limits.max_in_flight) {
        r.send = true;
        r.id = take_id();
        _in_flight.push_back(in_flight_entry{r.id, qos, qos == 1 ? out_state::wait_puback : out_state::wait_pubrec, msg});
        return r;
    }
    if (_queued_count == _queue.size()) {
        r.dropped = _queue[_queue_head].msg;
        _queue_head = (_queue_head + 1) % _queue.size();
        --_queued_count;
    }
    _queue[(_queue_head + _queued_count) % _queue.size()] = queued_msg{msg, qos};
    ++_queued_count;
    return r;
}

std::optional<msg_ref> session::on_puback(uint16_t id) {
    const in_flight_entry* e = find(id);
    if (e == nullptr || e->state != out_state::wait_puback) {
        return std::nullopt;
    }
    const msg_ref m = e->msg;
    erase(id);
    return m;
}

std::optional<msg_ref> session::on_pubrec(uint16_t id) {
    in_flight_entry* e = find(id);
    if (e == nullptr || e->state != out_state::wait_pubrec) {
        return std::nullopt;
    }
    e->state = out_state::wait_pubcomp;
    return e->msg;
}

bool session::on_pubcomp(uint16_t id) {
    const in_flight_entry* e = find(id);
    if (e == nullptr || e->state != out_state::wait_pubcomp) {
        return false;
    }
    erase(id);
    return true;
}

std::optional<session::ready> session::next_queued() {
    if (_queued_count == 0 || _in_flight.size() >= _limits.max_in_flight) {
        return std::nullopt;
    }
    const queued_msg q = _queue[_queue_head];
    _queue_head = (_queue_head + 1) % _queue.size();
    --_queued_count;
    const uint16_t id = take_id();
    _in_flight.push_back(in_flight_entry{id, q.qos, q.qos == 1 ? out_state::wait_puback : out_state::wait_pubrec, q.msg});
    return ready{id, q.qos, q.msg};
}

session::inbound session::on_publish_qos2(uint16_t id) {
    if (std::find(_inbound_qos2.begin(), _inbound_qos2.end(), id) != _inbound_qos2.end()) {
        return inbound::duplicate;
    }
    if (_inbound_qos2.size() >= _limits.max_inbound_qos2) {
        return inbound::full;
    }
    _inbound_qos2.push_back(id);
    return inbound::fresh;
}

void session::on_pubrel(uint16_t id) { std::erase(_inbound_qos2, id); }

uint8_t check_client_id(std::string_view id, bool clean_session, size_t max_len) noexcept {
    if ((id.empty() && !clean_session) || id.size() > max_len) {
        return 2;
    }
    return 0;
}

subscription_set::subscription_set(size_t max_filters) : _max(max_filters) {
    _filters.reserve(max_filters);
}

subscription_set::add_result subscription_set::add(std::string_view filter, uint8_t qos) {
    auto it = std::find_if(_filters.begin(), _filters.end(), [&](const entry& e) { return e.view() == filter; });
    const bool fresh = it == _filters.end();
    if (fresh) {
        if (_filters.size() == _max || filter.size() > entry{}.text.size()) {
            return add_result::full;
        }
        it = _filters.emplace(_filters.end());
        std::memcpy(it->text.data(), filter.data(), filter.size());
        it->len = static_cast<uint8_t>(filter.size());
    }
    it->qos = qos; // a SUBSCRIBE of a filter held replaces its QoS (3.8.4-3)
    recount();
    return fresh ? add_result::added : add_result::updated;
}

bool subscription_set::remove(std::string_view filter) noexcept {
    const auto n = std::erase_if(_filters, [&](const entry& e) { return e.view() == filter; });
    recount();
    return n != 0;
}

void subscription_set::clear() noexcept {
    _filters.clear();
    recount();
}

void subscription_set::recount() noexcept {
    _low = 2;
    _high = 0;
    for (const entry& e : _filters) {
        _low = std::min(_low, e.qos);
        _high = std::max(_high, e.qos);
    }
}

std::optional<uint8_t> subscription_set::granted(std::span<const std::byte> topic) const noexcept {
    if (_filters.empty()) {
        return std::nullopt;
    }
    if (_low == _high) {
        return _high;
    }
    std::optional<uint8_t> best;
    for (const entry& e : _filters) {
        const std::string_view f = e.view();
        if (filter_matches({reinterpret_cast<const std::byte*>(f.data()), f.size()}, topic)) {
            best = std::max(best.value_or(0), e.qos);
        }
    }
    return best;
}

answer_queue::answer_queue(size_t capacity) : _ring(capacity) {
    if (capacity == 0) {
        throw std::invalid_argument("mqtt answer queue: the capacity must be at least 1");
    }
}

owed_answer* answer_queue::push(uint32_t serial, packet_type type, uint16_t id, uint64_t now_ms) noexcept {
    if (_n == _ring.size()) {
        return nullptr;
    }
    owed_answer& a = at(_n++);
    a = owed_answer{.serial = serial, .since_ms = static_cast<uint32_t>(now_ms), .id = id, .type = type};
    return &a;
}

owed_answer* answer_queue::find(uint32_t serial) noexcept {
    for (size_t i = 0; i < _n; ++i) {
        if (at(i).serial == serial) {
            return &at(i);
        }
    }
    return nullptr;
}

bool answer_queue::stalled(uint64_t now_ms, uint64_t timeout_ms) const noexcept {
    const owed_answer& head = _ring[_head];
    return _n != 0 && head.waiting != 0 && static_cast<uint32_t>(now_ms - head.since_ms) > timeout_ms;
}

} // namespace ringcast::mqtt
