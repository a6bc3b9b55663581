#include <ringcast/client/client.hpp>

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cerrno>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace ringcast {

namespace {

// Largest UDP payload over IPv4 and then some: one read never truncates a
// datagram. Also the longest frame taken from a TCP stream: the appliance
// sends nothing over TCP that it could not send in a datagram.
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

// recv errors that end a TCP connection; others on a stream mean a bug.
bool ends_connection(int err) {
    return err == ECONNRESET || err == ETIMEDOUT || err == EPIPE || err == ENOTCONN || is_network_error(err);
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

// A TCP connect that gives up after `timeout`: a blocking one to a host
// that drops SYNs would wait minutes. Non-blocking for the handshake only.
void connect_within(int fd, const sockaddr_in& server, std::chrono::milliseconds timeout,
                    const std::string& what) {
    const int fl = ::fcntl(fd, F_GETFL);
    if (fl < 0 || ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
        throw sys_error(errno, "fcntl(O_NONBLOCK)");
    }
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&server), sizeof(server)) != 0) {
        if (errno != EINPROGRESS) {
            throw sys_error(errno, what);
        }
        const auto deadline = client::clock::now() + timeout;
        pollfd p{fd, POLLOUT, 0};
        int ready = 0;
        do {
            ready = ::poll(&p, 1, poll_timeout_ms(deadline));
        } while (ready < 0 && errno == EINTR);
        if (ready < 0) {
            throw sys_error(errno, "poll");
        }
        if (ready == 0) {
            throw sys_error(ETIMEDOUT, what);
        }
        int err = 0;
        socklen_t len = sizeof(err);
        if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
            throw sys_error(errno, "getsockopt(SO_ERROR)");
        }
        if (err != 0) {
            throw sys_error(err, what);
        }
    }
    if (::fcntl(fd, F_SETFL, fl) != 0) {
        throw sys_error(errno, "fcntl");
    }
}

class client_error_category final : public std::error_category {
public:
    [[nodiscard]] const char* name() const noexcept override { return "ringcast.client"; }
    [[nodiscard]] std::string message(int v) const override {
        switch (static_cast<client_errc>(v)) {
        case client_errc::closed_by_server:
            return "connection closed by the appliance";
        case client_errc::broken_stream:
            return "the appliance's byte stream broke RCP/1 framing";
        }
        return "ringcast client error " + std::to_string(v);
    }
};

// What a failed request means to a call that returns an error_code.
std::error_code error_of(const request_result& r) {
    if (r.status == request_status::io_error || r.status == request_status::closed) {
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

const std::error_category& client_category() noexcept {
    static const client_error_category category;
    return category;
}

std::error_code make_error_code(client_errc e) noexcept {
    return {static_cast<int>(e), client_category()};
}

client::client(std::string_view server_addr, uint16_t server_port, const client_options& opt)
    : _transport(opt.transport), _token(opt.token),
      _keepalive_interval(std::chrono::duration_cast<clock::duration>(opt.lease) / 3), _tracker(opt.repair),
      _rx(max_datagram) {
    const bool tcp = _transport == transport_kind::tcp;
    if (opt.lease <= std::chrono::milliseconds::zero()) {
        throw sys_error(EINVAL, "client_options.lease " + std::to_string(opt.lease.count()) + " ms");
    }
    if (tcp && opt.connect_timeout <= std::chrono::milliseconds::zero()) {
        throw sys_error(EINVAL, "client_options.connect_timeout " +
                                    std::to_string(opt.connect_timeout.count()) + " ms");
    }
    if (server_addr.empty()) {
        throw sys_error(EINVAL, "client: empty server address");
    }
    const sockaddr_in server = to_sockaddr(server_addr, server_port);
    const sockaddr_in local = to_sockaddr(opt.local_addr, opt.local_port);

    _fd = ::socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
    if (_fd < 0) {
        throw sys_error(errno, tcp ? "socket(AF_INET, SOCK_STREAM)" : "socket(AF_INET, SOCK_DGRAM)");
    }
    try {
        if (::setsockopt(_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf_bytes, sizeof(rcvbuf_bytes)) != 0) {
            throw sys_error(errno, "setsockopt(SO_RCVBUF)");
        }
        // A request is one small frame waiting for its reply: Nagle would hold it back.
        const int one = 1;
        if (tcp && ::setsockopt(_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) {
            throw sys_error(errno, "setsockopt(TCP_NODELAY)");
        }
        if (!opt.local_addr.empty() || opt.local_port != 0) {
            if (::bind(_fd, reinterpret_cast<const sockaddr*>(&local), sizeof(local)) != 0) {
                throw sys_error(errno, "bind(" + endpoint_str(opt.local_addr, opt.local_port) + ")");
            }
        }
        const std::string what = "connect(" + endpoint_str(server_addr, server_port) + ")";
        if (tcp) {
            connect_within(_fd, server, opt.connect_timeout, what);
            _stream.emplace(max_datagram);
        } else if (::connect(_fd, reinterpret_cast<const sockaddr*>(&server), sizeof(server)) != 0) {
            throw sys_error(errno, what);
        }
    } catch (...) {
        ::close(_fd);
        throw;
    }
    _last_sent = clock::now();
}

client::~client() {
    if (_fd >= 0) {
        ::close(_fd);
    }
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
        const uint64_t seq = p.seq != 0 ? p.seq : _next_seq++;
        used += write_frame(std::span(_tx).subspan(used), op::pub, p.flags, seq, as_bytes(p.topic), p.payload);
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
            static_cast<request_result&>(r) = failed(ec);
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
        if (closed()) {
            return std::nullopt;
        }
        keepalive(clock::now());
        // Wake for the next keep-alive too, so a long wait does not let the lease lapse.
        const bool got = read_input(std::min(deadline, _last_sent + _keepalive_interval), nullptr);
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
        if (now >= deadline || closed()) {
            return std::nullopt;
        }
        keepalive(now);
        // Wake for the next keep-alive and the next NACK timeout too.
        auto wake = std::min(deadline, _last_sent + _keepalive_interval);
        if (const auto due = _tracker.next_due()) {
            wake = std::min(wake, *due);
        }
        (void)read_input(wake, nullptr);
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
    if (closed()) {
        return _close_reason;
    }
    if (_transport == transport_kind::udp) {
        for (;;) {
            if (::send(_fd, bytes.data(), bytes.size(), 0) >= 0) {
                return {};
            }
            if (errno != EINTR) {
                return errno_code(errno);
            }
        }
    }
    // The kernel may take part of it; the rest follows, so the frames go whole.
    // MSG_NOSIGNAL: a connection the appliance ended is an error here, not a SIGPIPE.
    while (!bytes.empty()) {
        const ssize_t n = ::send(_fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n >= 0) {
            bytes = bytes.subspan(static_cast<size_t>(n));
            continue;
        }
        if (errno == EINTR) {
            continue;
        }
        // Part of the stream may have gone: nothing can follow it. What the
        // appliance sent before the end still waits in the kernel: keep it.
        const std::error_code ec = errno_code(errno);
        drain_stream();
        close_connection(ec, nullptr);
        return _close_reason;
    }
    return {};
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
        return failed(ec);
    }
    if (!wait_reply(w, w.sent_at + timeout)) {
        return request_result{};
    }
    return std::move(*w.result);
}

bool client::wait_reply(waiting& w, clock::time_point deadline) {
    while (!w.result) {
        if (!read_input(deadline, &w) && !w.result && clock::now() >= deadline) {
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

request_result client::failed(std::error_code ec) const {
    request_result r;
    r.status = closed() ? request_status::closed : request_status::io_error;
    r.error = ec;
    return r;
}

bool client::read_input(clock::time_point deadline, waiting* w) {
    if (closed()) {
        close_connection(_close_reason, w);
        return false;
    }
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
        if (errno == EINTR || errno == EAGAIN) {
            return false;
        }
        if (_transport == transport_kind::tcp && ends_connection(errno)) {
            close_connection(errno_code(errno), w);
            return false;
        }
        if (_transport == transport_kind::udp && is_network_error(errno)) {
            if (w != nullptr) {
                w->result = failed(errno_code(errno));
            }
            return false;
        }
        throw sys_error(errno, "recv");
    }
    const std::span<const std::byte> got(_rx.data(), static_cast<size_t>(n));
    if (_transport == transport_kind::udp) {
        read_datagram(got, w);
        return true;
    }
    if (n == 0) {
        close_connection(client_errc::closed_by_server, w);
        return false;
    }
    read_stream(got, w);
    return true;
}

void client::read_datagram(std::span<const std::byte> dgram, waiting* w) {
    for (size_t off = 0; off < dgram.size();) {
        const parse_result p = parse_frame(dgram, off);
        if (p.status != parse_status::ok) {
            // As the appliance does: a bad frame ends its datagram; earlier frames stand.
            return;
        }
        off += p.frame.size;
        on_frame(p.frame, w);
    }
}

void client::read_stream(std::span<const std::byte> bytes, waiting* w) {
    // on_frame allocates and feed is noexcept: running out of memory ends
    // the program here, as it would almost anywhere in a client.
    const stream_result r = _stream->feed(bytes, [&](const frame_view& f) { on_frame(f, w); });
    if (r.status != stream_status::ok) {
        // Where the next frame starts is lost for good: the connection is useless.
        close_connection(client_errc::broken_stream, w);
    }
}

void client::drain_stream() {
    while (!closed()) {
        const ssize_t n = ::recv(_fd, _rx.data(), _rx.size(), MSG_DONTWAIT);
        if (n <= 0) {
            return; // nothing more now, or the end: the caller says which error ended it
        }
        read_stream({_rx.data(), static_cast<size_t>(n)}, nullptr);
    }
}

void client::close_connection(std::error_code why, waiting* w) {
    if (!closed()) {
        _close_reason = why;
        ::close(_fd);
        _fd = -1;
    }
    if (w != nullptr && !w->result) {
        w->result = failed(_close_reason);
    }
}

void client::on_frame(const frame_view& f, waiting* w) {
    if (w != nullptr && !w->result && f.seq == w->seq && (f.code == w->reply || f.code == op::err)) {
        request_result r;
        r.status = f.code == op::err ? request_status::refused : request_status::ok;
        r.code = f.code == op::err ? static_cast<err_code>(f.flags) : err_code{};
        r.payload = to_text(f.payload);
        r.rtt = clock::now() - w->sent_at;
        w->result = std::move(r);
        return;
    }
    // PONGs nobody waits for answer keep-alives or late pings. Ops the
    // appliance never sends to a client are not passed on either.
    if (f.code == op::msg || f.code == op::err || f.code == op::ack) {
        _inbox.push_back(message{f.code, f.flags, f.seq, std::string(f.topic_str()), to_text(f.payload)});
    }
}

} // namespace ringcast
