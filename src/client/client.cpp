#include <ringcast/client/client.hpp>

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cerrno>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace ringcast {

namespace {

// Largest UDP payload over IPv4 and then some: one read never truncates a datagram.
constexpr size_t max_datagram = 65536;
// A fan-out that coalesces deliveries can outrun one reading thread for a
// while; a deeper kernel queue absorbs the burst (the kernel caps it at rmem_max).
constexpr int rcvbuf_bytes = 4 << 20;

std::system_error sys_error(int err, const std::string& what) {
    return {err, std::generic_category(), what};
}

std::error_code errno_code(int err) {
    return {err, std::generic_category()};
}

std::string endpoint_str(std::string_view addr, uint16_t port) {
    return std::string(addr.empty() ? "0.0.0.0" : addr) + ":" + std::to_string(port);
}

// An empty address is INADDR_ANY.
sockaddr_in to_sockaddr(std::string_view addr, uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    if (!addr.empty()) {
        const std::string s(addr);
        if (inet_pton(AF_INET, s.c_str(), &sa.sin_addr) != 1) {
            throw sys_error(EINVAL, "inet_pton(" + s + ")");
        }
    }
    return sa;
}

// Errors the kernel reports on a connected UDP socket after an ICMP reply or
// a route change: the server is unreachable now, the socket is fine.
bool is_network_error(int err) {
    return err == ECONNREFUSED || err == EHOSTUNREACH || err == ENETUNREACH || err == EHOSTDOWN ||
           err == ENETDOWN;
}

// Rounded up: a wait that ended just short of its deadline would poll again
// with 0 ms and spin until the deadline.
int poll_timeout_ms(client::clock::time_point deadline) {
    const auto left = deadline - client::clock::now();
    if (left <= client::clock::duration::zero()) {
        return 0;
    }
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    return static_cast<int>(std::min<int64_t>(ms, INT32_MAX));
}

std::string to_text(std::span<const std::byte> b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// What a failed request means to a call that returns an error_code.
std::error_code error_of(const request_result& r) {
    if (r.status == request_status::io_error) {
        return r.error;
    }
    return std::make_error_code(r.status == request_status::refused ? std::errc::permission_denied
                                                                    : std::errc::timed_out);
}

// A filter naming one topic: the messages a replay of it brings are that topic's.
bool is_exact_topic(std::string_view filter) {
    return filter.find_first_of("+#") == std::string_view::npos && !filter.starts_with('$');
}

} // namespace

client::client(std::string_view server_addr, uint16_t server_port, const client_options& opt)
    : _token(opt.token), _keepalive_interval(std::chrono::duration_cast<clock::duration>(opt.lease) / 3),
      _tracker(opt.repair),
      _rx(max_datagram) {
    if (opt.lease <= std::chrono::milliseconds::zero()) {
        throw sys_error(EINVAL, "client_options.lease " + std::to_string(opt.lease.count()) + " ms");
    }
    if (server_addr.empty()) {
        throw sys_error(EINVAL, "client: empty server address");
    }
    const sockaddr_in server = to_sockaddr(server_addr, server_port);
    const sockaddr_in local = to_sockaddr(opt.local_addr, opt.local_port);

    _fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (_fd < 0) {
        throw sys_error(errno, "socket(AF_INET, SOCK_DGRAM)");
    }
    try {
        if (::setsockopt(_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf_bytes, sizeof(rcvbuf_bytes)) != 0) {
            throw sys_error(errno, "setsockopt(SO_RCVBUF)");
        }
        if (!opt.local_addr.empty() || opt.local_port != 0) {
            if (::bind(_fd, reinterpret_cast<const sockaddr*>(&local), sizeof(local)) != 0) {
                throw sys_error(errno, "bind(" + endpoint_str(opt.local_addr, opt.local_port) + ")");
            }
        }
        if (::connect(_fd, reinterpret_cast<const sockaddr*>(&server), sizeof(server)) != 0) {
            throw sys_error(errno, "connect(" + endpoint_str(server_addr, server_port) + ")");
        }
    } catch (...) {
        ::close(_fd);
        throw;
    }
    _last_sent = clock::now();
}

client::~client() {
    ::close(_fd);
}

request_result client::hello(std::string_view token, std::chrono::milliseconds timeout) {
    request_result r = request_once(op::hello, {}, as_bytes(token), op::ack, timeout, 0, std::nullopt);
    if (token == _token) {
        _bound = r.ok();
    }
    return r;
}

std::optional<request_result> client::bind(std::chrono::milliseconds timeout) {
    if (_token.empty() || _bound) {
        return std::nullopt;
    }
    request_result r = hello(_token, timeout);
    if (r.ok()) {
        return std::nullopt;
    }
    return r;
}

request_result client::subscribe(std::string_view filter, std::chrono::milliseconds timeout) {
    return request(op::sub, filter, {}, op::ack, timeout);
}

request_result client::subscribe_replay(std::string_view filter, uint64_t from,
                                        std::chrono::milliseconds timeout) {
    request_result r = request(op::sub, filter, {}, op::ack, timeout, flags::replay, from);
    if (r.ok() && is_exact_topic(filter)) {
        // The replay that followed the ACK still waits in _inbox, not yet seen by the tracker.
        (void)_tracker.expect_from(filter, from, _repair_out);
        take_repair_output();
    }
    return r;
}

request_result client::unsubscribe(std::string_view filter, std::chrono::milliseconds timeout) {
    return request(op::unsub, filter, {}, op::ack, timeout);
}

request_result client::ping(std::span<const std::byte> payload, std::chrono::milliseconds timeout) {
    return request(op::ping, {}, payload, op::pong, timeout);
}

request_result client::bye(std::chrono::milliseconds timeout) {
    return request(op::bye, {}, {}, op::ack, timeout);
}

std::error_code client::publish(std::string_view topic, std::span<const std::byte> payload,
                                uint8_t flag_bits) {
    if (const auto h = bind()) {
        return error_of(*h);
    }
    return send_frame(op::pub, flag_bits, _next_seq++, topic, payload);
}

std::error_code client::publish_batch(std::span<const outgoing> pubs) {
    if (const auto h = bind()) {
        return error_of(*h);
    }
    // Checked up front so that a bad topic sends nothing rather than half a batch.
    for (const outgoing& p : pubs) {
        if (p.topic.size() > max_topic_len) {
            return std::make_error_code(std::errc::invalid_argument);
        }
    }
    size_t used = 0;
    for (const outgoing& p : pubs) {
        const size_t n = frame_size(p.topic.size(), p.payload.size());
        if (used > 0 && used + n > batch_datagram_limit) {
            if (auto ec = send_datagram({_tx.data(), used})) {
                return ec;
            }
            used = 0;
        }
        if (_tx.size() < used + n) {
            _tx.resize(std::max(used + n, batch_datagram_limit));
        }
        used += write_frame(std::span(_tx).subspan(used), op::pub, p.flags, _next_seq++, as_bytes(p.topic),
                            p.payload);
    }
    return used > 0 ? send_datagram({_tx.data(), used}) : std::error_code{};
}

publish_result client::publish_acked(std::string_view topic, std::span<const std::byte> payload, uint8_t qos,
                                     uint8_t flag_bits, const retry_policy& retry) {
    publish_result r;
    if ((qos != 1 && qos != 2) || topic.size() > max_topic_len) {
        r.status = request_status::io_error;
        r.error = std::make_error_code(std::errc::invalid_argument);
        return r;
    }
    if (auto h = bind()) {
        // Refused or unanswered as the HELLO was, so the caller reads why.
        static_cast<request_result&>(r) = std::move(*h);
        return r;
    }
    const auto bits = static_cast<uint8_t>((flag_bits & ~flags::qos_mask) | qos);
    const uint32_t attempts = std::max<uint32_t>(retry.attempts, 1);
    waiting w{_next_seq++, op::ack, clock::now(), std::nullopt};
    auto wait = retry.first_wait;
    for (r.attempts = 1;; ++r.attempts) {
        // The same seq each time: that is how the appliance knows a retry (QoS 2 dedup).
        if (auto ec = send_frame(op::pub, bits, w.seq, topic, payload)) {
            r.status = request_status::io_error;
            r.error = ec;
            return r;
        }
        if (wait_reply(w, clock::now() + wait)) {
            break;
        }
        if (r.attempts == attempts) {
            return r; // timeout
        }
        wait *= 2;
    }
    static_cast<request_result&>(r) = std::move(*w.result);
    if (r.ok()) {
        if (r.payload.size() == sizeof(uint64_t)) {
            r.topic_seq = load_be<uint64_t>(as_bytes(r.payload), 0);
        }
        r.payload.clear();
    }
    return r;
}

std::optional<message> client::receive(std::chrono::milliseconds timeout) {
    const auto deadline = clock::now() + timeout;
    while (_inbox.empty()) {
        keepalive(clock::now());
        // Wake for the next keep-alive too, so a long wait does not let the lease lapse.
        const bool got = read_datagram(std::min(deadline, _last_sent + _keepalive_interval), nullptr);
        if (!got && clock::now() >= deadline) {
            return std::nullopt;
        }
    }
    message m = std::move(_inbox.front());
    _inbox.pop_front();
    return m;
}

std::optional<message> client::receive_ordered(std::chrono::milliseconds timeout) {
    const auto deadline = clock::now() + timeout;
    for (;;) {
        repair_inbox();
        const auto now = clock::now();
        _tracker.poll(now, _repair_out);
        take_repair_output();
        if (!_ordered.empty()) {
            message m = std::move(_ordered.front());
            _ordered.pop_front();
            return m;
        }
        if (now >= deadline) {
            return std::nullopt;
        }
        keepalive(now);
        // Wake for the next keep-alive and the next NACK timeout too.
        auto wake = std::min(deadline, _last_sent + _keepalive_interval);
        if (const auto due = _tracker.next_due()) {
            wake = std::min(wake, *due);
        }
        (void)read_datagram(wake, nullptr);
    }
}

void client::give_up_gaps() {
    repair_inbox();
    _tracker.flush(_repair_out);
    take_repair_output();
}

void client::repair_inbox() {
    const auto now = clock::now();
    while (!_inbox.empty()) {
        message m = std::move(_inbox.front());
        _inbox.pop_front();
        if (m.code == op::msg) {
            _tracker.on_message(std::move(m), now, _repair_out);
        } else if (m.code == op::err && m.error() == err_code::gap_lost &&
                   m.payload.size() == sizeof(uint64_t)) {
            _tracker.on_gap_lost(m.topic, load_be<uint64_t>(as_bytes(m.payload), 0), _repair_out);
        } else {
            // After the messages released before it: arrival order is kept.
            take_repair_output();
            _ordered.push_back(std::move(m));
        }
    }
    take_repair_output();
}

void client::take_repair_output() {
    for (message& m : _repair_out.released) {
        _ordered.push_back(std::move(m));
    }
    _repair_out.released.clear();
    for (const nack_request& n : _repair_out.nacks) {
        std::array<std::byte, sizeof(uint32_t)> count;
        store_be<uint32_t>(count, 0, n.count);
        // A NACK that does not leave is sent again when its answer is overdue.
        (void)send_frame(op::nack, 0, n.seq, n.topic, count);
    }
    _repair_out.nacks.clear();
}

bool client::keepalive(clock::time_point now) {
    if (now - _last_sent < _keepalive_interval) {
        return false;
    }
    const std::error_code ec = send_frame(op::ping, 0, _next_seq++, {}, {});
    _last_sent = now;
    return !ec;
}

std::error_code client::send_raw(std::span<const std::byte> bytes) {
    for (;;) {
        if (::send(_fd, bytes.data(), bytes.size(), 0) >= 0) {
            return {};
        }
        if (errno != EINTR) {
            return errno_code(errno);
        }
    }
}

request_result client::request(op code, std::string_view topic, std::span<const std::byte> payload, op reply,
                               std::chrono::milliseconds timeout, uint8_t flag_bits,
                               std::optional<uint64_t> seq) {
    if (auto h = bind(timeout)) {
        return std::move(*h);
    }
    request_result r = request_once(code, topic, payload, reply, timeout, flag_bits, seq);
    if (!_token.empty() && r.status == request_status::refused && r.code == err_code::not_authorized && _bound) {
        // Our binding lapsed with the lease: HELLO again, then once more.
        _bound = false;
        if (auto h = bind(timeout)) {
            return std::move(*h);
        }
        r = request_once(code, topic, payload, reply, timeout, flag_bits, std::nullopt);
    }
    return r;
}

request_result client::request_once(op code, std::string_view topic, std::span<const std::byte> payload, op reply,
                                    std::chrono::milliseconds timeout, uint8_t flag_bits,
                                    std::optional<uint64_t> seq) {
    waiting w{seq ? *seq : _next_seq++, reply, clock::now(), std::nullopt};
    if (auto ec = send_frame(code, flag_bits, w.seq, topic, payload)) {
        request_result r;
        r.status = request_status::io_error;
        r.error = ec;
        return r;
    }
    if (!wait_reply(w, w.sent_at + timeout)) {
        return request_result{};
    }
    return std::move(*w.result);
}

bool client::wait_reply(waiting& w, clock::time_point deadline) {
    while (!w.result) {
        if (!read_datagram(deadline, &w) && !w.result && clock::now() >= deadline) {
            return false;
        }
    }
    return true;
}

std::error_code client::send_frame(op code, uint8_t flag_bits, uint64_t seq, std::string_view topic,
                                   std::span<const std::byte> payload) {
    if (topic.size() > max_topic_len) {
        return std::make_error_code(std::errc::invalid_argument);
    }
    const size_t n = frame_size(topic.size(), payload.size());
    if (_tx.size() < n) {
        _tx.resize(n);
    }
    (void)write_frame(_tx, code, flag_bits, seq, as_bytes(topic), payload);
    return send_datagram({_tx.data(), n});
}

std::error_code client::send_datagram(std::span<const std::byte> bytes) {
    std::error_code ec = send_raw(bytes);
    if (!ec) {
        _last_sent = clock::now();
    }
    return ec;
}

bool client::read_datagram(clock::time_point deadline, waiting* w) {
    pollfd p{_fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, poll_timeout_ms(deadline));
    if (ready < 0 && errno != EINTR) {
        throw sys_error(errno, "poll");
    }
    if (ready <= 0) {
        return false;
    }
    const ssize_t n = ::recv(_fd, _rx.data(), _rx.size(), MSG_DONTWAIT);
    if (n < 0) {
        if (is_network_error(errno)) {
            if (w != nullptr) {
                w->result = request_result{request_status::io_error, {}, {}, errno_code(errno), {}};
            }
            return false;
        }
        if (errno == EINTR || errno == EAGAIN) {
            return false;
        }
        throw sys_error(errno, "recv");
    }
    dispatch({_rx.data(), static_cast<size_t>(n)}, w);
    return true;
}

void client::dispatch(std::span<const std::byte> dgram, waiting* w) {
    for (size_t off = 0; off < dgram.size();) {
        const parse_result p = parse_frame(dgram, off);
        if (p.status != parse_status::ok) {
            // As the appliance does: a bad frame ends its datagram; earlier frames stand.
            return;
        }
        const frame_view& f = p.frame;
        off += f.size;
        if (w != nullptr && !w->result && f.seq == w->seq && (f.code == w->reply || f.code == op::err)) {
            request_result r;
            r.status = f.code == op::err ? request_status::refused : request_status::ok;
            r.code = f.code == op::err ? static_cast<err_code>(f.flags) : err_code{};
            r.payload = to_text(f.payload);
            r.rtt = clock::now() - w->sent_at;
            w->result = std::move(r);
            continue;
        }
        // PONGs nobody waits for answer keep-alives or late pings. Ops the
        // appliance never sends to a client are not passed on either.
        if (f.code == op::msg || f.code == op::err || f.code == op::ack) {
            _inbox.push_back(message{f.code, f.flags, f.seq, std::string(f.topic_str()), to_text(f.payload)});
        }
    }
}

} // namespace ringcast
