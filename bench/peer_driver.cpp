// peer_driver: the workload shapes of ringcast-loadgen, driven over kernel
// TCP against a broker (NATS, Redis pub/sub, Mosquitto, or ringcastd's
// TCP-lite speaking RCP/1) so the results table can put them side by side:
// on loopback (scripts/bench-peers.sh) or across the test bed's veth
// (scripts/bench-tcp.sh). No client libraries: each protocol is spoken
// here, minimally.
//
// One publisher connection and subscribers x topics subscriber connections
// (each its own socket), all served by one thread with epoll. Every payload
// starts with the loadgen stamp (send time = CLOCK_MONOTONIC ns, per-topic
// seq, topic index), so one-way latency is taken on receipt; driver and
// broker share the clock. The run publishes for --count messages or
// --duration seconds, then drains until every expected delivery arrived or
// the subscribers fell silent for 2 s, and reports one results object.
// Every phase has a deadline; a protocol error ends the run with exit 1.
#include "driver_common.hpp"

#include <ringcast/client/loadgen.hpp>
#include <ringcast/core/wire.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

using namespace ringcast;
using bench::now_ns;
using bench::own_cpu_s;
using bench::parse_number;
using bench::process_cpu_s;
using bench::to_number;

namespace {

constexpr const char* usage = R"(Usage: peer_driver --system nats|redis|mosquitto|ringcast [options]

Target:
  --system NAME        nats, redis, mosquitto or ringcast (RCP/1 over TCP-lite)
                                                                (required)
  --host ADDR          broker IPv4 address                     (default 127.0.0.1)
  --port N             broker TCP port    (default 4222, 6379, 1883 or 7700)
  --broker-pid PID     read the broker's CPU use from /proc/PID/stat
                       (utime + stime over the measured interval; ringcastd
                       polls through the drain too, so over the publishing)

Workload:
  --topics N           topics                                   (default 1)
  --subscribers N      subscriber connections per topic         (default 1)
  --payload BYTES      payload bytes, at least 20               (default 64)
  --size-mix MAX       70 % 64-512 B, 20 % 512 B-1 KB, 10 % up to MAX instead of --payload
  --rate N             messages per second, 0 = as fast as possible (default 0)
  --count N            publish N messages                       (default 100000
  --duration S         or publish for S seconds instead          unless --duration)
  --window N|auto      at most N deliveries due and not yet received, so the
                       broker's queues and the drain stay bounded; auto
                       follows the broker: about 100 ms of its deliveries;
                       0 = no limit                             (default auto)
  --timeout S          deadline for connecting, for publishing and for
                       draining, each                           (default 30)

Output:
  --scenario NAME      scenario name in the results             (default "custom")
  --machine TEXT       machine description in the results       (default: host, cores)
  --json FILE          append the result as one JSON line (else print it)
  --quiet              no summary line on stderr
)";

// What the brief of the peer comparison fixes: a run ends when the
// subscribers have been silent this long after publishing stopped.
constexpr uint64_t drain_silence_ns = 2'000'000'000;
// The publisher's user-space buffer: bounded, so a slow broker pushes back
// through TCP instead of growing it. Refilled in batches of at most
// pub_batch_bytes between reads of the subscribers, so a stamp is never
// older than one batch when its bytes reach the socket.
constexpr size_t pub_buffer_bytes = 256 * 1024;
constexpr size_t pub_batch_bytes = 64 * 1024;
// At most this many messages are due at once when paced: a stalled loop
// gives up the slots it missed (the achieved rate is what gets reported).
constexpr uint32_t paced_max_burst = 256;
// One recv() reads at most this much; a connection gets a few per wakeup so
// one busy socket cannot starve the others.
constexpr size_t read_chunk = 256 * 1024;
constexpr int reads_per_wakeup = 4;
// Connections in their handshake at once: beyond the broker's accept
// backlog a SYN is dropped and the connect stalls a second.
constexpr size_t max_handshakes = 256;
// MQTT keep-alive we announce; we send PINGREQ at half of it.
constexpr uint16_t mqtt_keepalive_s = 60;
// --window auto: in flight at most twice what the broker delivered in the
// last auto_span_ns, so the queue settles near 100 ms once the broker is
// the bottleneck, whatever its speed. A fixed window cannot do both: NATS
// needs ~400 k deliveries queued at 1-to-100 to coalesce its writes fully,
// and that is 7 s of work for Mosquitto here. Never below auto_min_window
// (nor one message).
constexpr uint64_t auto_span_ns = 50'000'000;
constexpr uint64_t auto_step_ns = 10'000'000;
constexpr uint64_t auto_min_window = 4096;
// A window held shut this long without a delivery writes the missing ones
// off (a broker that drops silently would stall the publisher otherwise).
constexpr uint64_t window_stall_ns = 1'000'000'000;

enum class system_kind { nats, redis, mosquitto, ringcast };

struct options {
    system_kind system = system_kind::nats;
    std::string system_name;
    std::string host = "127.0.0.1";
    uint16_t port = 0;
    int broker_pid = 0;
    uint32_t topics = 1;
    uint32_t subscribers = 1;
    uint32_t payload = 64;
    uint32_t size_mix = 0;
    uint64_t rate = 0;
    uint64_t count = 0;
    double duration_s = 0;
    uint64_t window = 0; // deliveries in flight, 0: no limit
    bool auto_window = true;
    double timeout_s = 30;
    std::string scenario = "custom";
    std::string machine;
    std::string json;
    bool quiet = false;
};

struct protocol_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

uint64_t seconds_to_ns(double s) noexcept {
    return static_cast<uint64_t>(s * 1e9);
}

std::string seconds_text(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", s);
    return buf;
}

// Prints the bytes of a protocol line for an error message: printable ASCII
// as it is, the rest escaped, at most 80 of them.
std::string printable(std::string_view s) {
    std::string out;
    for (const char c : s.substr(0, 80)) {
        if (c >= 0x20 && c < 0x7f) {
            out += c;
        } else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(static_cast<unsigned char>(c)));
            out += buf;
        }
    }
    return s.size() > 80 ? out + "..." : out;
}

// A number on the wire: a protocol error when it is not one.
template <class T> T wire_number(std::string_view what, std::string_view text) {
    T v{};
    if (!to_number(text, v)) {
        throw protocol_error(std::string(what) + ": not a number: '" + printable(text) + "'");
    }
    return v;
}

options parse_options(int argc, char** argv) {
    options o;
    bool have_count = false;
    bool have_duration = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto value = [&]() -> std::string_view {
            if (i + 1 >= argc) {
                throw std::invalid_argument(std::string(a) + " needs a value");
            }
            return argv[++i];
        };
        if (a == "-h" || a == "--help") {
            std::fputs(usage, stdout);
            std::exit(0);
        } else if (a == "--system") {
            o.system_name = value();
            if (o.system_name == "nats") {
                o.system = system_kind::nats;
            } else if (o.system_name == "redis") {
                o.system = system_kind::redis;
            } else if (o.system_name == "mosquitto") {
                o.system = system_kind::mosquitto;
            } else if (o.system_name == "ringcast") {
                o.system = system_kind::ringcast;
            } else {
                throw std::invalid_argument("--system: want nats, redis, mosquitto or ringcast, not '" +
                                            o.system_name + "'");
            }
        } else if (a == "--host") {
            o.host = value();
        } else if (a == "--port") {
            o.port = parse_number<uint16_t>(a, value());
        } else if (a == "--broker-pid") {
            o.broker_pid = parse_number<int>(a, value());
        } else if (a == "--topics") {
            o.topics = parse_number<uint32_t>(a, value());
        } else if (a == "--subscribers") {
            o.subscribers = parse_number<uint32_t>(a, value());
        } else if (a == "--payload") {
            o.payload = parse_number<uint32_t>(a, value());
        } else if (a == "--size-mix") {
            o.size_mix = parse_number<uint32_t>(a, value());
        } else if (a == "--rate") {
            o.rate = parse_number<uint64_t>(a, value());
        } else if (a == "--count") {
            o.count = parse_number<uint64_t>(a, value());
            have_count = true;
        } else if (a == "--duration") {
            o.duration_s = parse_number<double>(a, value());
            have_duration = true;
        } else if (a == "--window") {
            const std::string_view v = value();
            o.auto_window = v == "auto";
            o.window = o.auto_window ? 0 : parse_number<uint64_t>(a, v);
        } else if (a == "--timeout") {
            o.timeout_s = parse_number<double>(a, value());
        } else if (a == "--scenario") {
            o.scenario = value();
        } else if (a == "--machine") {
            o.machine = value();
        } else if (a == "--json") {
            o.json = value();
        } else if (a == "--quiet") {
            o.quiet = true;
        } else {
            throw std::invalid_argument("unknown option '" + std::string(a) + "'");
        }
    }
    if (o.system_name.empty()) {
        throw std::invalid_argument("--system is required");
    }
    if (have_count && have_duration) {
        throw std::invalid_argument("give --count or --duration, not both");
    }
    if (!have_count && !have_duration) {
        o.count = 100000;
    }
    if (have_count && o.count == 0) {
        throw std::invalid_argument("--count: must be at least 1");
    }
    if (have_duration && !(o.duration_s > 0 && o.duration_s <= 3600)) {
        throw std::invalid_argument("--duration: want 0 < S <= 3600");
    }
    if (!(o.timeout_s > 0 && o.timeout_s <= 3600)) {
        throw std::invalid_argument("--timeout: want 0 < S <= 3600");
    }
    if (o.topics == 0 || o.subscribers == 0) {
        throw std::invalid_argument("--topics and --subscribers: at least 1");
    }
    if (uint64_t{o.topics} * o.subscribers > 100000) {
        throw std::invalid_argument("topics x subscribers: at most 100000 connections");
    }
    const uint32_t largest = o.size_mix != 0 ? o.size_mix : o.payload;
    if (largest < payload_stamp_size || largest > 1024 * 1024) {
        throw std::invalid_argument("--payload / --size-mix: want 20 to 1048576 bytes");
    }
    if (o.size_mix != 0 && o.size_mix < 1024) {
        throw std::invalid_argument("--size-mix: MAX is at least 1024");
    }
    if (o.port == 0) {
        switch (o.system) {
        case system_kind::nats:
            o.port = 4222;
            break;
        case system_kind::redis:
            o.port = 6379;
            break;
        case system_kind::mosquitto:
            o.port = 1883;
            break;
        case system_kind::ringcast:
            o.port = 7700;
            break;
        }
    }
    return o;
}

void put_be16(std::string& out, uint16_t v) {
    out += static_cast<char>(v >> 8);
    out += static_cast<char>(v & 0xff);
}

// MQTT "remaining length": 7 bits a byte, low group first, at most 4
// bytes. Returns the end of what it wrote.
char* put_mqtt_length(char* p, uint32_t n) noexcept {
    do {
        uint8_t b = n % 128;
        n /= 128;
        if (n > 0) {
            b |= 0x80;
        }
        *p++ = static_cast<char>(b);
    } while (n > 0);
    return p;
}

void put_mqtt_length(std::string& out, uint32_t n) {
    char buf[4];
    out.append(buf, put_mqtt_length(buf, n));
}

// ---- RCP/1 (ringcast): 16-byte header, topic, payload; see core/wire.hpp.
// Writes a header for a frame whose topic and payload follow at p + 16;
// returns p + 16.
char* put_rcp_header(char* p, op code, uint64_t seq, size_t topic_len, uint32_t payload_len) noexcept {
    const std::span<std::byte> h(reinterpret_cast<std::byte*>(p), frame_header_size);
    h[frame_off::magic] = std::byte{rcp_magic};
    h[frame_off::ver_op] = std::byte((rcp_version << 4) | static_cast<uint8_t>(code));
    h[frame_off::flags] = std::byte{0}; // QoS 0
    h[frame_off::topic_len] = std::byte(static_cast<uint8_t>(topic_len));
    store_be<uint32_t>(h, frame_off::payload_len, payload_len);
    store_be<uint64_t>(h, frame_off::seq, seq);
    return p + frame_header_size;
}

std::string rcp_frame(op code, uint64_t seq, std::string_view topic) {
    std::string f(frame_header_size, '\0');
    put_rcp_header(f.data(), code, seq, topic.size(), 0);
    f += topic;
    return f;
}

// ---- RESP (Redis): just what pub/sub needs: arrays of up to 4 scalars.
struct resp_value {
    char type = 0;        // '+', '-', ':', '$', '*'
    std::string_view str; // simple string, error or bulk
    int64_t integer = 0;  // ':' value, or '$' / '*' length
};

struct resp_reply {
    resp_value top;
    std::array<resp_value, 4> items{};
    size_t n_items = 0;
};

// One RESP line (without CRLF) from data at pos; npos when incomplete.
size_t resp_line(std::string_view data, size_t pos, std::string_view& line) {
    const size_t end = data.find("\r\n", pos);
    if (end == std::string_view::npos) {
        return std::string_view::npos;
    }
    line = data.substr(pos, end - pos);
    return end + 2;
}

// A scalar at pos; npos when incomplete. Throws on anything malformed.
size_t resp_scalar(std::string_view data, size_t pos, resp_value& v) {
    std::string_view line;
    const size_t next = resp_line(data, pos, line);
    if (next == std::string_view::npos) {
        return next;
    }
    if (line.empty()) {
        throw protocol_error("empty RESP line");
    }
    v.type = line[0];
    const std::string_view rest = line.substr(1);
    switch (v.type) {
    case '+':
    case '-':
        v.str = rest;
        return next;
    case ':':
        v.integer = wire_number<int64_t>("RESP integer", rest);
        return next;
    case '$': {
        v.integer = wire_number<int64_t>("RESP bulk length", rest);
        if (v.integer < 0) {
            v.str = {};
            return next;
        }
        const size_t len = static_cast<size_t>(v.integer);
        if (data.size() < next + len + 2) {
            return std::string_view::npos;
        }
        if (data.substr(next + len, 2) != "\r\n") {
            throw protocol_error("bulk string not followed by CRLF");
        }
        v.str = data.substr(next, len);
        return next + len + 2;
    }
    case '*':
        v.integer = wire_number<int64_t>("RESP array length", rest);
        return next;
    default:
        throw protocol_error("unexpected RESP line '" + printable(line) + "'");
    }
}

// One reply at pos: a scalar or a flat array of at most 4; npos when
// incomplete.
size_t resp_parse(std::string_view data, size_t pos, resp_reply& r) {
    size_t next = resp_scalar(data, pos, r.top);
    if (next == std::string_view::npos || r.top.type != '*') {
        return next;
    }
    if (r.top.integer < 0 || r.top.integer > static_cast<int64_t>(r.items.size())) {
        throw protocol_error("unexpected array of " + std::to_string(r.top.integer) + " elements");
    }
    r.n_items = static_cast<size_t>(r.top.integer);
    for (size_t i = 0; i < r.n_items; ++i) {
        next = resp_scalar(data, next, r.items[i]);
        if (next == std::string_view::npos) {
            return next;
        }
        if (r.items[i].type == '*') {
            throw protocol_error("unexpected nested array");
        }
    }
    return next;
}

// ---- connections

enum class role { publisher, subscriber };
enum class phase { connecting, greeting, ready, closed };

struct connection {
    int fd = -1;
    role kind = role::subscriber;
    uint32_t index = 0; // subscriber number, for messages
    uint32_t topic = 0;
    phase state = phase::connecting;
    bool want_out = false;
    std::string partial; // bytes of an incomplete message
    std::string out;     // control bytes not yet written (handshake, PONG)
    stream_tracker tracker;
    uint64_t received = 0;
};

// What a run reports: the common results object and the driver's own
// figures, which go into the same JSON line after it.
struct peer_result {
    run_result common;
    double driver_cpu_cores = 0; // about 1 while publishing: the loop busy-polls then
    uint64_t disconnected = 0;   // subscribers the broker cut off
    uint64_t written_off = 0;    // deliveries given up with the window held shut
    uint64_t window_peak = 0;    // the largest window --window auto reached
    uint64_t redis_receivers = 0; // sum of the PUBLISH replies (Redis only)
};

class driver {
public:
    explicit driver(options o);
    ~driver();
    driver(const driver&) = delete;
    driver& operator=(const driver&) = delete;

    peer_result run();

private:
    std::string name(const connection& c) const;
    void open(connection& c);
    void start_greeting(connection& c);
    void watch(connection& c, bool want_out);
    void send_control(connection& c, std::string_view bytes);
    void flush_control(connection& c);
    void on_event(connection& c, uint32_t events);
    void on_readable(connection& c);
    void on_closed(connection& c, const char* why);
    size_t consume(connection& c, std::string_view data, uint64_t now);
    size_t consume_nats(connection& c, std::string_view data, uint64_t now);
    size_t consume_redis(connection& c, std::string_view data, uint64_t now);
    size_t consume_mqtt(connection& c, std::string_view data, uint64_t now);
    size_t consume_rcp(connection& c, std::string_view data, uint64_t now);
    void became_ready(connection& c);
    void on_delivery(connection& c, std::string_view payload, uint64_t now);
    void poll_once(int timeout_ms);
    void connect_all();
    void fill_publisher(uint64_t now);
    void flush_publisher();
    void keep_alive(uint64_t now);
    void adapt_window(uint64_t now);
    [[nodiscard]] uint64_t in_flight() const noexcept {
        return _expected_alive > _delivered ? _expected_alive - _delivered : 0;
    }
    void say_bye();

    options _o;
    int _epoll = -1;
    std::vector<connection> _conns; // [0] the publisher, then the subscribers
    std::vector<char> _scratch;
    size_t _ready = 0;
    size_t _greeting = 0;

    // Publishing.
    std::vector<std::string> _topic_names;
    std::string _pub_filler; // payload template
    std::vector<char> _pub_buf;
    size_t _pub_head = 0;
    size_t _pub_tail = 0;
    std::vector<uint64_t> _topic_seq; // messages published per topic
    std::vector<uint32_t> _alive;     // subscribers still connected per topic
    size_picker _sizes{64};
    pacer _pacer;
    uint32_t _next_topic = 0;
    uint64_t _published = 0;
    uint64_t _window = 0; // deliveries in flight at most, 0: no limit
    uint64_t _window_peak = 0;
    // --window auto: (time, deliveries) every auto_step_ns, the last
    // auto_span_ns of them.
    std::array<std::pair<uint64_t, uint64_t>, auto_span_ns / auto_step_ns + 1> _samples{};
    size_t _n_samples = 0;

    // Receiving.
    latency_histogram _latency;
    uint64_t _delivered = 0;
    uint64_t _expected_alive = 0; // deliveries due to subscribers still connected
    uint64_t _disconnected = 0;
    uint64_t _written_off = 0;
    uint64_t _redis_receivers = 0; // sum of PUBLISH replies
    uint64_t _first_rx = 0;
    uint64_t _last_rx = 0;
    uint64_t _last_ping = 0;
};

driver::driver(options o) : _o(std::move(o)) {
    _scratch.resize(read_chunk + (_o.size_mix != 0 ? _o.size_mix : _o.payload) + 4096);
    _pub_buf.resize(pub_buffer_bytes);
    _topic_seq.assign(_o.topics, 0);
    _alive.assign(_o.topics, _o.subscribers);
    if (_o.size_mix != 0) {
        _sizes = size_picker::mix(_o.size_mix);
    } else {
        _sizes = size_picker(_o.payload);
    }
    _pub_filler.assign(_o.size_mix != 0 ? _o.size_mix : _o.payload, 'x');

    // Sockets: one per connection, plus a few; raise the soft limit to the hard one.
    const uint64_t want = uint64_t{_o.topics} * _o.subscribers + 64;
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
        rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, want);
        setrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < want) {
            throw std::runtime_error("need " + std::to_string(want) + " file descriptors, the limit is " +
                                     std::to_string(rl.rlim_cur));
        }
    }
    _epoll = epoll_create1(EPOLL_CLOEXEC);
    if (_epoll < 0) {
        throw std::system_error(errno, std::generic_category(), "epoll_create1");
    }
    _conns.resize(1 + size_t{_o.topics} * _o.subscribers);
    _conns[0].kind = role::publisher;
    for (size_t i = 1; i < _conns.size(); ++i) {
        _conns[i].index = static_cast<uint32_t>(i - 1);
        _conns[i].topic = static_cast<uint32_t>((i - 1) / _o.subscribers);
    }
    // NATS subjects are split by '.', MQTT topics by '/'; Redis channels
    // are flat strings.
    _topic_names.reserve(_o.topics);
    for (uint32_t t = 0; t < _o.topics; ++t) {
        _topic_names.push_back((_o.system == system_kind::nats ? "rc.bench." : "rc/bench/") + std::to_string(t));
    }
}

driver::~driver() {
    for (connection& c : _conns) {
        if (c.fd >= 0) {
            close(c.fd);
        }
    }
    if (_epoll >= 0) {
        close(_epoll);
    }
}

std::string driver::name(const connection& c) const {
    if (c.kind == role::publisher) {
        return _o.system_name + ": publisher";
    }
    return _o.system_name + ": subscriber " + std::to_string(c.index);
}

void driver::open(connection& c) {
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
        throw std::system_error(errno, std::generic_category(), name(c) + ": socket");
    }
    const int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(_o.port);
    if (inet_pton(AF_INET, _o.host.c_str(), &sa.sin_addr) != 1) {
        throw std::invalid_argument("--host: not an IPv4 address: '" + _o.host + "'");
    }
    if (connect(c.fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0 && errno != EINPROGRESS) {
        throw std::system_error(errno, std::generic_category(),
                                name(c) + ": connect " + _o.host + ":" + std::to_string(_o.port));
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.ptr = &c;
    if (epoll_ctl(_epoll, EPOLL_CTL_ADD, c.fd, &ev) != 0) {
        throw std::system_error(errno, std::generic_category(), "epoll_ctl(ADD)");
    }
    c.want_out = true;
    c.state = phase::connecting;
    ++_greeting;
}

void driver::watch(connection& c, bool want_out) {
    if (c.want_out == want_out || c.state == phase::closed) {
        return;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | (want_out ? EPOLLOUT : 0u);
    ev.data.ptr = &c;
    if (epoll_ctl(_epoll, EPOLL_CTL_MOD, c.fd, &ev) != 0) {
        throw std::system_error(errno, std::generic_category(), "epoll_ctl(MOD)");
    }
    c.want_out = want_out;
}

void driver::send_control(connection& c, std::string_view bytes) {
    c.out.append(bytes);
    flush_control(c);
}

void driver::flush_control(connection& c) {
    while (!c.out.empty()) {
        const ssize_t n = send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN) {
                break;
            }
            throw std::system_error(errno, std::generic_category(), name(c) + ": send");
        }
        c.out.erase(0, static_cast<size_t>(n));
    }
    watch(c, !c.out.empty() || (c.kind == role::publisher && _pub_head < _pub_tail));
}

// The first bytes each protocol wants from a client. NATS speaks first
// (INFO); we answer it in consume_nats.
void driver::start_greeting(connection& c) {
    c.state = phase::greeting;
    switch (_o.system) {
    case system_kind::nats:
        break;
    case system_kind::redis:
        if (c.kind == role::publisher) {
            send_control(c, "*1\r\n$4\r\nPING\r\n");
        } else {
            const std::string t = _topic_names[c.topic];
            send_control(c, "*2\r\n$9\r\nSUBSCRIBE\r\n$" + std::to_string(t.size()) + "\r\n" + t + "\r\n");
        }
        break;
    case system_kind::mosquitto: {
        // CONNECT: protocol "MQTT" level 4 (3.1.1), clean session, keep-alive,
        // a client id unique to this process and connection.
        const std::string id = "rc-peer-" + std::to_string(getpid()) + "-" +
                               (c.kind == role::publisher ? std::string("pub") : std::to_string(c.index));
        std::string body;
        put_be16(body, 4);
        body += "MQTT";
        body += static_cast<char>(4);
        body += static_cast<char>(0x02);
        put_be16(body, mqtt_keepalive_s);
        put_be16(body, static_cast<uint16_t>(id.size()));
        body += id;
        std::string pkt(1, static_cast<char>(0x10));
        put_mqtt_length(pkt, static_cast<uint32_t>(body.size()));
        send_control(c, pkt + body);
        break;
    }
    case system_kind::ringcast:
        // No HELLO (the bench's appliance runs without authentication).
        // A subscriber is ready at its SUB's ACK, which ringcastd sends once
        // the filter is active on every worker; the publisher at a PONG,
        // which proves the connection reached the appliance's loop.
        if (c.kind == role::publisher) {
            send_control(c, rcp_frame(op::ping, 1, {}));
        } else {
            send_control(c, rcp_frame(op::sub, uint64_t{c.index} + 1, _topic_names[c.topic]));
        }
        break;
    }
}

void driver::became_ready(connection& c) {
    if (c.state == phase::greeting) {
        c.state = phase::ready;
        --_greeting;
        ++_ready;
    }
}

void driver::on_closed(connection& c, const char* why) {
    if (c.kind == role::publisher) {
        throw protocol_error(name(c) + ": the broker closed the connection (" + why + ")");
    }
    if (c.state != phase::ready) {
        throw protocol_error(name(c) + ": the broker closed the connection during the handshake (" + why + ")");
    }
    // A broker may cut a subscriber it finds too slow (Redis's output
    // buffer limit, NATS's slow consumer): loss, not a protocol error.
    epoll_ctl(_epoll, EPOLL_CTL_DEL, c.fd, nullptr);
    close(c.fd);
    c.fd = -1;
    c.state = phase::closed;
    --_ready;
    ++_disconnected;
    --_alive[c.topic];
    _expected_alive -= _topic_seq[c.topic] - c.received;
    std::fprintf(stderr, "%s: disconnected by the broker (%s) after %llu messages\n", name(c).c_str(), why,
                 static_cast<unsigned long long>(c.received));
}

void driver::on_event(connection& c, uint32_t events) {
    if (c.state == phase::closed) {
        return;
    }
    if (c.state == phase::connecting) {
        if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0) {
            return;
        }
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            throw std::system_error(err, std::generic_category(),
                                    name(c) + ": connect " + _o.host + ":" + std::to_string(_o.port));
        }
        watch(c, false);
        start_greeting(c);
        return;
    }
    if ((events & EPOLLOUT) != 0) {
        if (c.kind == role::publisher) {
            flush_publisher();
        }
        flush_control(c);
    }
    if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) {
        on_readable(c);
    }
}

void driver::on_readable(connection& c) {
    for (int i = 0; i < reads_per_wakeup && c.state != phase::closed; ++i) {
        const size_t have = c.partial.size();
        std::memcpy(_scratch.data(), c.partial.data(), have);
        const size_t room = std::min(read_chunk, _scratch.size() - have);
        const ssize_t n = recv(c.fd, _scratch.data() + have, room, 0);
        if (n == 0) {
            on_closed(c, "end of stream");
            return;
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN) {
                return;
            }
            if (errno == ECONNRESET) {
                on_closed(c, "reset");
                return;
            }
            throw std::system_error(errno, std::generic_category(), name(c) + ": recv");
        }
        // One clock read per recv: every message in it had arrived by now.
        const uint64_t now = now_ns();
        const std::string_view data(_scratch.data(), have + static_cast<size_t>(n));
        const size_t used = consume(c, data, now);
        if (data.size() - used > _scratch.size() - read_chunk) {
            throw protocol_error(name(c) + ": a message larger than any we publish");
        }
        c.partial.assign(data.substr(used));
        if (static_cast<size_t>(n) < room) {
            return;
        }
    }
}

size_t driver::consume(connection& c, std::string_view data, uint64_t now) {
    switch (_o.system) {
    case system_kind::nats:
        return consume_nats(c, data, now);
    case system_kind::redis:
        return consume_redis(c, data, now);
    case system_kind::mosquitto:
        return consume_mqtt(c, data, now);
    case system_kind::ringcast:
        return consume_rcp(c, data, now);
    }
    return 0;
}

// RCP/1 frames back to back in the stream: ACK (of the SUB), PONG (of the
// publisher's PING), MSG, ERR. A frame cut by the read waits in
// c.partial; parse_frame calls it truncated, which in a stream is only
// "not all here yet" (a length no frame of ours has ends the run through
// on_readable's size check).
size_t driver::consume_rcp(connection& c, std::string_view data, uint64_t now) {
    const std::span<const std::byte> bytes = ringcast::as_bytes(data);
    size_t pos = 0;
    while (pos < bytes.size()) {
        const parse_result r = parse_frame(bytes, pos);
        if (r.status == parse_status::truncated) {
            return pos;
        }
        if (r.status != parse_status::ok) {
            throw protocol_error(name(c) + ": a stream that breaks RCP/1 framing (" +
                                 std::string(to_string(to_err_code(r.status))) + ")");
        }
        const frame_view& f = r.frame;
        pos += f.size;
        switch (f.code) {
        case op::msg:
            if (c.kind != role::subscriber) {
                throw protocol_error(name(c) + ": MSG on a connection with no subscription");
            }
            on_delivery(c, {reinterpret_cast<const char*>(f.payload.data()), f.payload.size()}, now);
            break;
        case op::ack:
            if (c.kind != role::subscriber || f.seq != uint64_t{c.index} + 1) {
                throw protocol_error(name(c) + ": ACK of seq " + std::to_string(f.seq) + ", not of our SUB");
            }
            became_ready(c);
            break;
        case op::pong:
            became_ready(c);
            break;
        case op::ping:
            send_control(c, rcp_frame(op::pong, f.seq, {}));
            break;
        case op::err:
            throw protocol_error(name(c) + ": ERR " + std::string(to_string(static_cast<err_code>(f.flags))) +
                                 " for seq " + std::to_string(f.seq) + ": " +
                                 printable({reinterpret_cast<const char*>(f.payload.data()), f.payload.size()}));
        default:
            throw protocol_error(name(c) + ": unexpected " + std::string(to_string(f.code)));
        }
    }
    return pos;
}

// NATS text protocol: INFO, MSG, PING, PONG, +OK, -ERR lines; MSG carries
// "MSG <subject> <sid> [reply-to] <bytes>" and then the payload and CRLF.
size_t driver::consume_nats(connection& c, std::string_view data, uint64_t now) {
    size_t pos = 0;
    for (;;) {
        const size_t eol = data.find("\r\n", pos);
        if (eol == std::string_view::npos) {
            return pos;
        }
        const std::string_view line = data.substr(pos, eol - pos);
        if (line.starts_with("MSG ")) {
            const size_t sp = line.rfind(' ');
            const auto len = wire_number<size_t>("nats: MSG size", line.substr(sp + 1));
            const size_t body = eol + 2;
            if (data.size() < body + len + 2) {
                return pos;
            }
            if (data.substr(body + len, 2) != "\r\n") {
                throw protocol_error(name(c) + ": MSG payload not followed by CRLF");
            }
            if (c.kind != role::subscriber) {
                throw protocol_error(name(c) + ": MSG on a connection with no subscription");
            }
            on_delivery(c, data.substr(body, len), now);
            pos = body + len + 2;
            continue;
        }
        pos = eol + 2;
        if (line == "PING") {
            send_control(c, "PONG\r\n");
        } else if (line == "PONG") {
            became_ready(c); // the PING after CONNECT (and SUB) came back: all processed
        } else if (line.starts_with("INFO ")) {
            if (c.state == phase::greeting) {
                std::string hello = "CONNECT {\"verbose\":false,\"pedantic\":false}\r\n";
                if (c.kind == role::subscriber) {
                    hello += "SUB " + _topic_names[c.topic] + " 1\r\n";
                }
                hello += "PING\r\n";
                send_control(c, hello);
            }
            // Later INFOs announce cluster changes: nothing for us.
        } else if (line == "+OK") {
            // verbose is off, but +OK is harmless
        } else if (line.starts_with("-ERR")) {
            throw protocol_error(name(c) + ": server error: " + printable(line));
        } else {
            throw protocol_error(name(c) + ": unexpected line '" + printable(line) + "'");
        }
    }
}

// RESP2: subscribers get ["subscribe", channel, n] then ["message", channel,
// payload]; the publisher gets +PONG and one :receivers per PUBLISH.
size_t driver::consume_redis(connection& c, std::string_view data, uint64_t now) {
    size_t pos = 0;
    resp_reply r;
    for (;;) {
        size_t next = 0;
        try {
            next = resp_parse(data, pos, r);
        } catch (const protocol_error& e) {
            throw protocol_error(name(c) + ": " + e.what());
        }
        if (next == std::string_view::npos) {
            return pos;
        }
        pos = next;
        if (r.top.type == '-') {
            throw protocol_error(name(c) + ": server error: " + printable(r.top.str));
        }
        if (c.kind == role::publisher) {
            if (r.top.type == ':') {
                _redis_receivers += static_cast<uint64_t>(std::max<int64_t>(r.top.integer, 0));
            } else if (r.top.type == '+' && r.top.str == "PONG") {
                became_ready(c);
            } else {
                throw protocol_error(name(c) + ": unexpected reply of type '" + std::string(1, r.top.type) + "'");
            }
            continue;
        }
        if (r.top.type != '*' || r.n_items != 3 || r.items[0].type != '$') {
            throw protocol_error(name(c) + ": unexpected reply of type '" + std::string(1, r.top.type) +
                                 "' where a pub/sub push was due");
        }
        const std::string_view kind = r.items[0].str;
        if (kind == "message" && r.items[2].type == '$') {
            on_delivery(c, r.items[2].str, now);
        } else if (kind == "subscribe" && r.items[1].str == _topic_names[c.topic]) {
            became_ready(c);
        } else {
            throw protocol_error(name(c) + ": unexpected push '" + printable(kind) + "'");
        }
    }
}

// MQTT 3.1.1: CONNACK, SUBACK, PUBLISH (QoS 0) and PINGRESP from the broker.
size_t driver::consume_mqtt(connection& c, std::string_view data, uint64_t now) {
    size_t pos = 0;
    for (;;) {
        if (data.size() - pos < 2) {
            return pos;
        }
        const auto type = static_cast<uint8_t>(data[pos]);
        uint32_t len = 0;
        size_t p = pos + 1;
        for (unsigned shift = 0;; shift += 7) {
            if (p >= data.size()) {
                return pos;
            }
            if (shift > 21) {
                throw protocol_error(name(c) + ": malformed MQTT remaining length");
            }
            const auto b = static_cast<uint8_t>(data[p++]);
            len |= static_cast<uint32_t>(b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                break;
            }
        }
        if (data.size() - p < len) {
            return pos;
        }
        const std::string_view body = data.substr(p, len);
        pos = p + len;
        switch (type >> 4) {
        case 2: // CONNACK: flags, return code
            if (len != 2 || body[1] != 0) {
                throw protocol_error(name(c) + ": CONNACK refused, return code " +
                                     std::to_string(len == 2 ? static_cast<uint8_t>(body[1]) : 255));
            }
            if (c.kind == role::publisher) {
                became_ready(c);
            } else {
                const std::string t = _topic_names[c.topic];
                std::string sub(1, static_cast<char>(0x82));
                put_mqtt_length(sub, static_cast<uint32_t>(2 + 2 + t.size() + 1));
                put_be16(sub, 1); // packet id
                put_be16(sub, static_cast<uint16_t>(t.size()));
                sub += t;
                sub += static_cast<char>(0); // requested QoS 0
                send_control(c, sub);
            }
            break;
        case 9: // SUBACK: packet id, one granted QoS per filter
            if (len != 3 || static_cast<uint8_t>(body[2]) > 2) {
                throw protocol_error(name(c) + ": SUBACK refused the subscription");
            }
            became_ready(c);
            break;
        case 3: { // PUBLISH: topic, [packet id when QoS > 0], payload
            if (((type >> 1) & 3) != 0) {
                throw protocol_error(name(c) + ": PUBLISH with QoS > 0 on a QoS 0 subscription");
            }
            if (len < 2) {
                throw protocol_error(name(c) + ": PUBLISH too short");
            }
            const size_t tlen = (size_t{static_cast<uint8_t>(body[0])} << 8) | static_cast<uint8_t>(body[1]);
            if (len < 2 + tlen || c.kind != role::subscriber) {
                throw protocol_error(name(c) + ": malformed or unexpected PUBLISH");
            }
            on_delivery(c, body.substr(2 + tlen), now);
            break;
        }
        case 13: // PINGRESP
            break;
        default:
            throw protocol_error(name(c) + ": unexpected MQTT packet type " + std::to_string(type >> 4));
        }
    }
}

void driver::on_delivery(connection& c, std::string_view payload, uint64_t now) {
    if (payload.size() < payload_stamp_size) {
        throw protocol_error(name(c) + ": a payload of " + std::to_string(payload.size()) + " bytes, not ours");
    }
    const payload_stamp s = read_stamp(std::as_bytes(std::span(payload.data(), payload.size())));
    if (s.topic != c.topic) {
        throw protocol_error(name(c) + ": a message of topic " + std::to_string(s.topic) + " on topic " +
                             std::to_string(c.topic));
    }
    _latency.record(now > s.tsc ? now - s.tsc : 0);
    const uint64_t before = c.tracker.received();
    c.tracker.on_seq(s.seq);
    if (c.tracker.received() != before) {
        ++c.received;
        ++_delivered;
    }
    if (_first_rx == 0) {
        _first_rx = now;
    }
    _last_rx = now;
}

void driver::poll_once(int timeout_ms) {
    std::array<epoll_event, 256> events;
    const int n = epoll_wait(_epoll, events.data(), static_cast<int>(events.size()), timeout_ms);
    if (n < 0) {
        if (errno == EINTR) {
            return;
        }
        throw std::system_error(errno, std::generic_category(), "epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
        on_event(*static_cast<connection*>(events[i].data.ptr), events[i].events);
    }
}

// Subscribers first, then the publisher; at most max_handshakes at a time.
// Each is ready once the broker confirmed its subscription (NATS: PONG
// after SUB; Redis: the subscribe push; MQTT: SUBACK).
void driver::connect_all() {
    const uint64_t deadline = now_ns() + seconds_to_ns(_o.timeout_s);
    size_t next = 1;
    bool publisher_opened = false;
    while (_ready < _conns.size()) {
        while (_greeting < max_handshakes && (next < _conns.size() || !publisher_opened)) {
            if (next < _conns.size()) {
                open(_conns[next++]);
            } else {
                open(_conns[0]);
                publisher_opened = true;
            }
        }
        if (now_ns() > deadline) {
            throw protocol_error(_o.system_name + ": only " + std::to_string(_ready) + " of " +
                                 std::to_string(_conns.size()) + " connections ready after " +
                                 seconds_text(_o.timeout_s) + " s");
        }
        poll_once(10);
    }
}

// Appends what is due (pacer, --count, window) to the publisher's buffer,
// at most one batch, while less than a batch is waiting for the socket.
void driver::fill_publisher(uint64_t now) {
    if (_pub_tail - _pub_head >= pub_batch_bytes) {
        return;
    }
    uint32_t due = _pacer.due(now);
    if (_o.count != 0) {
        due = static_cast<uint32_t>(std::min<uint64_t>(due, _o.count - _published));
    }
    if (_window != 0) {
        // Deliveries in flight, not messages: one message is `subscribers`
        // deliveries, and a window in messages would let a 1-to-1000 run
        // queue a thousand times more in the broker than a 1-to-1 run. At
        // least one message may go, whatever the fan-out.
        const uint64_t flying = in_flight();
        const uint64_t room = flying >= _window ? 0 : (_window - flying + _o.subscribers - 1) / _o.subscribers;
        due = static_cast<uint32_t>(std::min<uint64_t>(due, room));
    }
    if (_pub_head > 0) {
        std::memmove(_pub_buf.data(), _pub_buf.data() + _pub_head, _pub_tail - _pub_head);
        _pub_tail -= _pub_head;
        _pub_head = 0;
    }
    // Protocol bytes around a payload: at most 64 besides the topic.
    const size_t largest = 64 + _topic_names.back().size() + _pub_filler.size();
    const size_t batch_end = std::min(pub_buffer_bytes, _pub_tail + pub_batch_bytes);
    uint32_t taken = 0;
    while (taken < due && _pub_tail + largest <= batch_end) {
        const uint32_t t = _next_topic;
        _next_topic = _next_topic + 1 == _o.topics ? 0 : _next_topic + 1;
        const uint32_t size = _sizes.next();
        const std::string& topic = _topic_names[t];
        char* p = _pub_buf.data() + _pub_tail;
        const auto put = [&p](std::string_view s) {
            std::memcpy(p, s.data(), s.size());
            p += s.size();
        };
        switch (_o.system) {
        case system_kind::nats: // PUB <subject> <bytes>\r\n<payload>\r\n
            p += std::snprintf(p, 64 + topic.size(), "PUB %s %u\r\n", topic.c_str(), size);
            break;
        case system_kind::redis: // PUBLISH channel payload, as a RESP array of bulk strings
            p += std::snprintf(p, 64 + topic.size(), "*3\r\n$7\r\nPUBLISH\r\n$%zu\r\n%s\r\n$%u\r\n", topic.size(),
                               topic.c_str(), size);
            break;
        case system_kind::mosquitto: // PUBLISH, QoS 0, no retain: topic, payload
            *p++ = static_cast<char>(0x30);
            p = put_mqtt_length(p, static_cast<uint32_t>(2 + topic.size() + size));
            *p++ = static_cast<char>(topic.size() >> 8);
            *p++ = static_cast<char>(topic.size() & 0xff);
            put(topic);
            break;
        case system_kind::ringcast: // PUB, QoS 0, seq = our own counter; topic, payload
            p = put_rcp_header(p, op::pub, _published + 1, topic.size(), size);
            put(topic);
            break;
        }
        std::memcpy(p, _pub_filler.data(), size);
        write_stamp(std::as_writable_bytes(std::span(p, size)),
                    payload_stamp{.tsc = now, .seq = ++_topic_seq[t], .topic = t});
        p += size;
        if (_o.system == system_kind::nats || _o.system == system_kind::redis) {
            put("\r\n");
        }
        _pub_tail = static_cast<size_t>(p - _pub_buf.data());
        _expected_alive += _alive[t];
        ++_published;
        ++taken;
    }
    _pacer.take(taken);
}

// One send() carries every message the buffer holds; what the socket does
// not take waits for EPOLLOUT.
void driver::flush_publisher() {
    connection& c = _conns[0];
    while (_pub_head < _pub_tail) {
        const ssize_t n = send(c.fd, _pub_buf.data() + _pub_head, _pub_tail - _pub_head, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN) {
                break;
            }
            throw std::system_error(errno, std::generic_category(), name(c) + ": send");
        }
        _pub_head += static_cast<size_t>(n);
    }
    if (_pub_head == _pub_tail) {
        _pub_head = _pub_tail = 0;
    }
    watch(c, _pub_head < _pub_tail || !c.out.empty());
}

void driver::adapt_window(uint64_t now) {
    if (!_o.auto_window) {
        return;
    }
    const size_t last = (_n_samples + _samples.size() - 1) % _samples.size();
    if (_n_samples != 0 && now - _samples[last].first < auto_step_ns) {
        return;
    }
    _samples[_n_samples % _samples.size()] = {now, _delivered};
    ++_n_samples;
    const auto& oldest = _n_samples < _samples.size() ? _samples[0] : _samples[_n_samples % _samples.size()];
    const uint64_t span = now - oldest.first;
    if (span == 0) {
        return;
    }
    const auto recent = static_cast<uint64_t>(2.0 * static_cast<double>(_delivered - oldest.second) *
                                              static_cast<double>(auto_span_ns) / static_cast<double>(span));
    _window = std::max(recent, auto_min_window);
    _window_peak = std::max(_window_peak, _window);
}

// MQTT brokers drop a client silent for 1.5 keep-alives; NATS, Redis and
// ringcast over TCP need nothing from us (NATS PINGs us, and we answer; a
// TCP-lite connection has no lease).
void driver::keep_alive(uint64_t now) {
    if (_o.system != system_kind::mosquitto) {
        return;
    }
    if (now - _last_ping < uint64_t{mqtt_keepalive_s} * 1'000'000'000 / 2) {
        return;
    }
    _last_ping = now;
    for (connection& c : _conns) {
        if (c.state == phase::ready) {
            send_control(c, std::string_view("\xc0\x00", 2));
        }
    }
}

// MQTT clients say DISCONNECT before they close, or the broker logs a
// broken connection; NATS, Redis and ringcast take a plain close (a
// TCP-lite connection's end drops its subscriptions).
void driver::say_bye() {
    if (_o.system != system_kind::mosquitto) {
        return;
    }
    for (connection& c : _conns) {
        if (c.state == phase::ready && c.out.empty()) {
            (void)send(c.fd, "\xe0\x00", 2, MSG_NOSIGNAL | MSG_DONTWAIT);
        }
    }
}

peer_result driver::run() {
    connect_all();
    _last_ping = now_ns();

    const double broker_cpu_start = _o.broker_pid != 0 ? process_cpu_s(_o.broker_pid) : 0;
    const double own_cpu_start = own_cpu_s();
    const uint64_t start = now_ns();
    const double pub_s_max = _o.duration_s > 0 ? std::min(_o.duration_s, _o.timeout_s) : _o.timeout_s;
    const uint64_t pub_deadline = start + seconds_to_ns(pub_s_max);
    _pacer = pacer(_o.rate, 1'000'000'000, start, _o.rate != 0 ? paced_max_burst : 4096);
    uint64_t window_shut_since = 0;
    _window = _o.auto_window ? auto_min_window : _o.window;
    _window_peak = _window;

    // Publish. The loop busy-polls: a paced 100 k/s stream wants a message
    // every 10 us, finer than epoll's millisecond timeout.
    while ((_o.count == 0 || _published < _o.count) && now_ns() < pub_deadline) {
        const uint64_t now = now_ns();
        keep_alive(now);
        adapt_window(now);
        fill_publisher(now);
        flush_publisher();
        // A broker that drops silently would hold the window shut for good:
        // after a second without a delivery, the missing ones are lost.
        if (_window != 0 && in_flight() >= _window) {
            if (window_shut_since == 0) {
                window_shut_since = now;
            } else if (now - std::max(window_shut_since, _last_rx) > window_stall_ns) {
                _written_off += in_flight();
                _expected_alive = _delivered;
                window_shut_since = 0;
                std::fprintf(stderr, "%s: no delivery for 1 s with the window full: %llu deliveries written off\n",
                             _o.system_name.c_str(), static_cast<unsigned long long>(_written_off));
            }
        } else {
            window_shut_since = 0;
        }
        poll_once(0);
    }
    // The last bytes still have to reach the socket.
    const uint64_t flush_deadline = now_ns() + seconds_to_ns(_o.timeout_s);
    while (_pub_head < _pub_tail) {
        if (now_ns() > flush_deadline) {
            throw protocol_error(name(_conns[0]) + ": the broker took no bytes for " +
                                 seconds_text(_o.timeout_s) + " s");
        }
        flush_publisher();
        poll_once(1);
    }
    const uint64_t pub_end = now_ns();
    // ringcastd polls: it burns its core through the drain's 2 s of
    // silence as well, so its share is taken over the publishing alone.
    const bool broker_polls = _o.system == system_kind::ringcast;
    const double broker_cpu_pub =
        _o.broker_pid != 0 && broker_polls ? process_cpu_s(_o.broker_pid) - broker_cpu_start : 0;

    // Drain: until every connected subscriber has everything, 2 s of
    // silence, or the deadline.
    const uint64_t drain_deadline = pub_end + seconds_to_ns(_o.timeout_s);
    for (;;) {
        const uint64_t now = now_ns();
        if (_delivered >= _expected_alive || now >= drain_deadline ||
            now - std::max(pub_end, _last_rx) >= drain_silence_ns) {
            break;
        }
        keep_alive(now);
        poll_once(20);
    }
    const double own_cpu = own_cpu_s() - own_cpu_start;
    const double broker_cpu = _o.broker_pid != 0 ? process_cpu_s(_o.broker_pid) - broker_cpu_start : 0;
    say_bye();

    peer_result pr;
    run_result& r = pr.common;
    r.system = _o.system_name;
    r.scenario = _o.scenario;
    r.machine = _o.machine;
    if (r.machine.empty()) {
        std::array<char, 256> host{};
        gethostname(host.data(), host.size() - 1);
        r.machine = std::string(host.data()) + ", " + std::to_string(sysconf(_SC_NPROCESSORS_ONLN)) + " cores";
    }
    r.payload_bytes = _o.size_mix != 0 ? 0 : _o.payload;
    r.topics = _o.topics;
    r.subscribers = _o.subscribers;
    r.published = _published;
    for (size_t i = 1; i < _conns.size(); ++i) {
        const stream_tracker& t = _conns[i].tracker;
        r.delivered += t.received();
        r.reordered += t.reordered();
        r.duplicates += t.duplicates();
    }
    // Lost: every delivery that never came, the tail and whatever went to
    // a subscriber the broker cut off included.
    const uint64_t expected = _published * _o.subscribers;
    r.lost = expected > r.delivered ? expected - r.delivered : 0;
    // The measured interval runs from the first send to the last receipt.
    // A broker that sleeps is idle after its last delivery, so its CPU time
    // read at the end of the drain is what it spent inside that interval;
    // a polling one (ringcastd) was measured over the publishing above.
    const uint64_t last = std::max(_last_rx, pub_end);
    r.duration_s = static_cast<double>(last - start) / 1e9;
    const double pub_s = static_cast<double>(pub_end - start) / 1e9;
    r.pub_msgs_per_s = pub_s > 0 ? static_cast<double>(_published) / pub_s : 0;
    r.delivered_msgs_per_s = r.duration_s > 0 ? static_cast<double>(r.delivered) / r.duration_s : 0;
    if (broker_polls) {
        r.cpu_cores = pub_s > 0 ? broker_cpu_pub / pub_s : 0;
    } else {
        r.cpu_cores = r.duration_s > 0 ? broker_cpu / r.duration_s : 0;
    }
    set_latency(r, _latency);
    pr.driver_cpu_cores = r.duration_s > 0 ? own_cpu / r.duration_s : 0;
    pr.disconnected = _disconnected;
    pr.written_off = _written_off;
    pr.window_peak = _window_peak;
    pr.redis_receivers = _redis_receivers;

    if (!_o.quiet) {
        std::fprintf(stderr,
                     "%s %s: published %llu (%.0f/s), delivered %llu (%.0f/s), lost %llu, "
                     "p50 %.1f us, p99 %.1f us, p99.9 %.1f us, broker %.2f cores, driver %.2f cores\n",
                     r.system.c_str(), r.scenario.c_str(), static_cast<unsigned long long>(r.published),
                     r.pub_msgs_per_s, static_cast<unsigned long long>(r.delivered), r.delivered_msgs_per_s,
                     static_cast<unsigned long long>(r.lost), r.p50_us, r.p99_us, r.p999_us, r.cpu_cores,
                     pr.driver_cpu_cores);
    }
    return pr;
}

// The common object, then the driver's own fields before its closing brace.
std::string peer_json(const peer_result& pr, const options& o) {
    std::string out = ringcast::to_json(pr.common);
    out.pop_back();
    char buf[512];
    const std::string window = o.auto_window ? "\"auto\"" : std::to_string(o.window);
    std::snprintf(buf, sizeof buf,
                  ",\"rate_target_msgs_per_s\":%llu,\"window\":%s,\"window_peak\":%llu,"
                  "\"driver_cpu_cores\":%.3f,\"disconnected\":%llu,\"written_off\":%llu",
                  static_cast<unsigned long long>(o.rate), window.c_str(),
                  static_cast<unsigned long long>(pr.window_peak), pr.driver_cpu_cores,
                  static_cast<unsigned long long>(pr.disconnected), static_cast<unsigned long long>(pr.written_off));
    out += buf;
    if (o.system == system_kind::redis) {
        out += ",\"redis_receivers\":" + std::to_string(pr.redis_receivers);
    }
    out += '}';
    return out;
}

} // namespace

int main(int argc, char** argv) {
    try {
        const options o = parse_options(argc, argv);
        driver d(o);
        const std::string line = peer_json(d.run(), o);
        if (o.json.empty()) {
            std::printf("%s\n", line.c_str());
        } else {
            std::ofstream out(o.json, std::ios::app);
            out << line << "\n";
            if (!out) {
                throw std::runtime_error("cannot write " + o.json);
            }
        }
        return 0;
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "peer_driver: %s\n%s", e.what(), usage);
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "peer_driver: %s\n", e.what());
        return 1;
    }
}
