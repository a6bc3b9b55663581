// mqtt_driver: MQTT 3.1.1 fan-out through any broker, driven by stock
// libmosquitto clients, so what a broker is measured with is what its users
// run (scripts/bench-mqtt.sh compares ringcastd, Mosquitto and NATS).
//
// One publisher and --subscribers subscribers on one topic, each client its
// own TCP connection, all served by this one thread: poll() on every socket,
// with libmosquitto's loop_read / loop_write / loop_misc called for the
// ready ones. Every payload starts with a stamp (CLOCK_MONOTONIC ns, seq),
// so one-way latency is taken on receipt; driver and broker share nothing
// but the clock. Publishing starts once every subscriber has its SUBACK;
// the run then drains until every delivery arrived or none came for 2 s,
// and prints one JSON object. Exit 0: complete; 1: a connection failed or
// deliveries are missing (the JSON still comes); 2: bad usage.
#include "driver_common.hpp"

#include <ringcast/client/loadgen.hpp>
#include <ringcast/core/wire.hpp>

#include <mosquitto.h>

#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

using namespace ringcast;
using bench::now_ns;
using bench::own_cpu_s;
using bench::parse_number;
using bench::process_cpu_s;

namespace {

constexpr const char* usage = R"(Usage: mqtt_driver [options]

Broker:
  --host ADDR          broker address                          (default 127.0.0.1)
  --port N             broker TCP port                         (default 1883)
  --bind ADDR          local address every client binds to     (default: any)
  --broker-pid PID     report the broker's CPU seconds over the run, from
                       /proc/PID/stat (utime + stime)

Workload:
  --subscribers N      subscriber clients, one connection each (default 1)
  --qos 0|1            QoS of the subscriptions and the publishes (default 0)
  --size BYTES         payload bytes, at least 16               (default 64)
  --count N            messages to publish                      (default 20000)
  --rate R             messages per second, 0 = as fast as the
                       socket (QoS 0) or the PUBACK window (QoS 1) allows
                                                                (default 0)
  --topic T            topic published and subscribed           (default bench/t)
  --timeout S          deadline for the whole run               (default 60)
  -h, --help           this text
)";

// The run ends when the subscribers have been silent this long after
// publishing stopped (what the peer comparison fixes, too).
constexpr uint64_t drain_silence_ns = 2'000'000'000;
// QoS 1 publishes awaiting their PUBACK at most: enough that a round trip
// does not bound throughput. libmosquitto gets the same limit, so it never
// holds a publish back in its own queue.
constexpr uint32_t qos1_window = 1000;
// Messages published per turn of the loop at most, so the subscribers are
// read between bursts; a paced run that stalled gives up the slots beyond.
constexpr uint32_t publish_burst = 64;
// Packets one client handles per wakeup at most, so one busy connection
// cannot starve the others.
constexpr int packets_per_wakeup = 256;
// libmosquitto's keep-alive work (PINGREQ, the broker's silence) wants a
// call about once a second.
constexpr uint64_t misc_interval_ns = 500'000'000;
constexpr int keepalive_s = 60;
// The stamp: send time (CLOCK_MONOTONIC ns) and seq, big-endian.
constexpr size_t stamp_size = 16;

struct options {
    std::string host = "127.0.0.1";
    uint16_t port = 1883;
    std::string bind;
    int broker_pid = 0;
    uint32_t subscribers = 1;
    int qos = 0;
    uint32_t size = 64;
    uint64_t count = 20000;
    uint64_t rate = 0;
    std::string topic = "bench/t";
    double timeout_s = 60;
};

options parse_options(int argc, char** argv) {
    options o;
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
        } else if (a == "--host") {
            o.host = value();
        } else if (a == "--port") {
            o.port = parse_number<uint16_t>(a, value());
        } else if (a == "--bind") {
            o.bind = value();
        } else if (a == "--broker-pid") {
            o.broker_pid = parse_number<int>(a, value());
        } else if (a == "--subscribers") {
            o.subscribers = parse_number<uint32_t>(a, value());
        } else if (a == "--qos") {
            o.qos = parse_number<int>(a, value());
        } else if (a == "--size") {
            o.size = parse_number<uint32_t>(a, value());
        } else if (a == "--count") {
            o.count = parse_number<uint64_t>(a, value());
        } else if (a == "--rate") {
            o.rate = parse_number<uint64_t>(a, value());
        } else if (a == "--topic") {
            o.topic = value();
        } else if (a == "--timeout") {
            o.timeout_s = parse_number<double>(a, value());
        } else {
            throw std::invalid_argument("unknown option '" + std::string(a) + "'");
        }
    }
    if (o.host.empty() || o.port == 0) {
        throw std::invalid_argument("--host and --port: want an address and a port");
    }
    if (o.subscribers == 0 || o.subscribers > 10000) {
        throw std::invalid_argument("--subscribers: want 1 to 10000");
    }
    if (o.qos != 0 && o.qos != 1) {
        throw std::invalid_argument("--qos: want 0 or 1");
    }
    if (o.size < stamp_size || o.size > 1024 * 1024) {
        throw std::invalid_argument("--size: want 16 to 1048576 bytes");
    }
    if (o.count == 0) {
        throw std::invalid_argument("--count: must be at least 1");
    }
    if (!(o.timeout_s > 0 && o.timeout_s <= 3600)) {
        throw std::invalid_argument("--timeout: want 0 < S <= 3600");
    }
    if (mosquitto_pub_topic_check(o.topic.c_str()) != MOSQ_ERR_SUCCESS) {
        throw std::invalid_argument("--topic: not a topic one can publish to: '" + o.topic + "'");
    }
    if (o.broker_pid != 0) {
        try {
            (void)process_cpu_s(o.broker_pid);
        } catch (const std::runtime_error& e) {
            throw std::invalid_argument(std::string("--broker-pid: ") + e.what());
        }
    }
    return o;
}

class driver;

struct client {
    driver* owner = nullptr;
    mosquitto* mosq = nullptr;
    std::string name; // "publisher" or "subscriber N", for messages
    bool subscriber = false;
    uint64_t events = 0; // callbacks so far: whether a loop_read made progress
    stream_tracker tracker;
};

// What a run reports.
struct result {
    uint64_t published = 0;
    uint64_t acked = 0; // on_publish: PUBACKs (QoS 1), messages written (QoS 0)
    uint64_t expected = 0;
    uint64_t delivered = 0; // first arrivals, duplicates not counted
    uint64_t duplicates = 0;
    uint64_t reordered = 0;
    double publish_s = 0;
    double deliveries_per_s = 0;
    std::optional<double> broker_cpu_s;
    double driver_cpu_s = 0; // near the run's length: the driver, not the broker, set the pace
    uint64_t p50_ns = 0;
    uint64_t p99_ns = 0;
    uint64_t max_ns = 0;
    std::string error; // the first failure; empty when none
};

class driver {
public:
    explicit driver(options o);
    ~driver();
    driver(const driver&) = delete;
    driver& operator=(const driver&) = delete;

    result run();

private:
    static void on_connect(mosquitto* m, void* obj, int rc);
    static void on_subscribe(mosquitto* m, void* obj, int mid, int n, const int* granted);
    static void on_message(mosquitto* m, void* obj, const mosquitto_message* msg);
    static void on_publish(mosquitto* m, void* obj, int mid);
    static void on_disconnect(mosquitto* m, void* obj, int rc);

    void fail(const std::string& why);
    void open(client& c);
    void read(client& c);
    void turn(int timeout_ms);
    [[nodiscard]] bool publish_due(uint64_t now);
    [[nodiscard]] bool all_ready() const noexcept { return _ready == _clients.size(); }
    [[nodiscard]] uint64_t delivered() const noexcept;

    options _o;
    uint64_t _deadline = 0;
    std::vector<client> _clients; // [0] the publisher, then the subscribers
    std::vector<pollfd> _fds;
    size_t _ready = 0; // the publisher at its CONNACK, a subscriber at its SUBACK
    bool _closing = false;
    std::string _error;
    uint64_t _last_misc = 0;

    // Publishing.
    std::vector<std::byte> _payload;
    pacer _pacer;
    uint64_t _published = 0;
    uint64_t _acked = 0;
    uint64_t _first_pub = 0;

    // Receiving.
    latency_histogram _latency;
    uint64_t _last_rx = 0;
};

driver::driver(options o) : _o(std::move(o)) {
    _payload.assign(_o.size, std::byte{'x'});
    // Three descriptors a client (its socket and libmosquitto's socket
    // pair), plus a few; raise the soft limit to the hard one if need be.
    const uint64_t want = 3 * (uint64_t{_o.subscribers} + 1) + 64;
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
        rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, want);
        setrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < want) {
            throw std::runtime_error("need " + std::to_string(want) + " file descriptors, the limit is " +
                                     std::to_string(rl.rlim_cur));
        }
    }
    mosquitto_lib_init();
    // The vector is never resized again: libmosquitto holds pointers into it.
    _clients.resize(1 + size_t{_o.subscribers});
    _fds.resize(_clients.size());
    for (size_t i = 0; i < _clients.size(); ++i) {
        client& c = _clients[i];
        c.owner = this;
        c.subscriber = i != 0;
        c.name = c.subscriber ? "subscriber " + std::to_string(i - 1) : std::string("publisher");
        // Letters and digits, at most 23: what every 3.1.1 broker must take.
        const std::string id =
            "rcm" + std::to_string(getpid()) + (c.subscriber ? "s" + std::to_string(i - 1) : "p");
        c.mosq = mosquitto_new(id.c_str(), true, &c);
        if (c.mosq == nullptr) {
            throw std::runtime_error("mosquitto_new: " + std::string(std::strerror(errno)));
        }
        mosquitto_int_option(c.mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
        mosquitto_int_option(c.mosq, MOSQ_OPT_TCP_NODELAY, 1);
        if (!c.subscriber) {
            mosquitto_int_option(c.mosq, MOSQ_OPT_SEND_MAXIMUM, static_cast<int>(qos1_window));
        }
        mosquitto_connect_callback_set(c.mosq, on_connect);
        mosquitto_subscribe_callback_set(c.mosq, on_subscribe);
        mosquitto_message_callback_set(c.mosq, on_message);
        mosquitto_publish_callback_set(c.mosq, on_publish);
        mosquitto_disconnect_callback_set(c.mosq, on_disconnect);
    }
}

driver::~driver() {
    for (client& c : _clients) {
        if (c.mosq != nullptr) {
            mosquitto_destroy(c.mosq);
        }
    }
    mosquitto_lib_cleanup();
}

void driver::fail(const std::string& why) {
    std::fprintf(stderr, "mqtt_driver: %s\n", why.c_str());
    if (_error.empty()) {
        _error = why;
    }
}

void driver::on_connect(mosquitto* m, void* obj, int rc) {
    client& c = *static_cast<client*>(obj);
    ++c.events;
    if (rc != 0) {
        c.owner->fail(c.name + ": CONNACK " + std::to_string(rc) + ": " + mosquitto_connack_string(rc));
        return;
    }
    if (!c.subscriber) {
        ++c.owner->_ready;
        return;
    }
    const int s = mosquitto_subscribe(m, nullptr, c.owner->_o.topic.c_str(), c.owner->_o.qos);
    if (s != MOSQ_ERR_SUCCESS) {
        c.owner->fail(c.name + ": SUBSCRIBE: " + mosquitto_strerror(s));
    }
}

void driver::on_subscribe(mosquitto*, void* obj, int, int n, const int* granted) {
    client& c = *static_cast<client*>(obj);
    ++c.events;
    // 0x80 is the broker's refusal.
    if (n != 1 || granted[0] > 2) {
        c.owner->fail(c.name + ": the broker refused the subscription");
        return;
    }
    if (granted[0] != c.owner->_o.qos) {
        c.owner->fail(c.name + ": granted QoS " + std::to_string(granted[0]) + ", not " +
                      std::to_string(c.owner->_o.qos));
        return;
    }
    ++c.owner->_ready;
}

void driver::on_message(mosquitto*, void* obj, const mosquitto_message* msg) {
    const uint64_t now = now_ns();
    client& c = *static_cast<client*>(obj);
    driver& d = *c.owner;
    ++c.events;
    // A message retained by someone earlier arrives with the SUBACK: not ours.
    if (msg->retain) {
        return;
    }
    if (msg->payloadlen < static_cast<int>(stamp_size)) {
        d.fail(c.name + ": a delivery of " + std::to_string(msg->payloadlen) +
               " bytes, shorter than the stamp");
        return;
    }
    const std::span<const std::byte> p(static_cast<const std::byte*>(msg->payload), stamp_size);
    const uint64_t sent = load_be<uint64_t>(p, 0);
    const uint64_t seq = load_be<uint64_t>(p, 8);
    if (seq == 0 || seq > d._published) {
        d.fail(c.name + ": seq " + std::to_string(seq) +
               " was never published (someone else's on the topic?)");
        return;
    }
    const uint64_t before = c.tracker.received();
    c.tracker.on_seq(seq);
    if (c.tracker.received() != before) {
        d._latency.record(now > sent ? now - sent : 0);
    }
    d._last_rx = now;
}

void driver::on_publish(mosquitto*, void* obj, int) {
    client& c = *static_cast<client*>(obj);
    ++c.events;
    ++c.owner->_acked;
}

// Unless we are saying goodbye, a connection lost.
void driver::on_disconnect(mosquitto*, void* obj, int rc) {
    client& c = *static_cast<client*>(obj);
    ++c.events;
    if (!c.owner->_closing) {
        c.owner->fail(c.name + ": connection lost: " + mosquitto_strerror(rc));
    }
}

// A blocking TCP connect (the broker answers or refuses at once on the
// bench's links); CONNECT goes out with it, CONNACK comes through turn().
void driver::open(client& c) {
    const int rc = mosquitto_connect_bind(c.mosq, _o.host.c_str(), _o.port, keepalive_s,
                                          _o.bind.empty() ? nullptr : _o.bind.c_str());
    if (rc != MOSQ_ERR_SUCCESS) {
        const std::string why = rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc);
        fail(c.name + ": connect to " + _o.host + ":" + std::to_string(_o.port) + ": " + why);
    }
}

// loop_read handles one packet a call, and says nothing when the socket
// ran dry: a call without a callback ends the round. A failure closes the
// connection and reaches on_disconnect.
void driver::read(client& c) {
    for (int i = 0; i < packets_per_wakeup && mosquitto_socket(c.mosq) >= 0; ++i) {
        const uint64_t before = c.events;
        if (mosquitto_loop_read(c.mosq, 1) != MOSQ_ERR_SUCCESS || c.events == before) {
            return;
        }
    }
}

void driver::turn(int timeout_ms) {
    for (size_t i = 0; i < _clients.size(); ++i) {
        mosquitto* m = _clients[i].mosq;
        // A closed connection's -1 is one poll() skips.
        _fds[i].fd = mosquitto_socket(m);
        _fds[i].events = static_cast<short>(POLLIN | (mosquitto_want_write(m) ? POLLOUT : 0));
        _fds[i].revents = 0;
    }
    if (poll(_fds.data(), _fds.size(), timeout_ms) < 0 && errno != EINTR) {
        throw std::system_error(errno, std::generic_category(), "poll");
    }
    for (size_t i = 0; i < _clients.size(); ++i) {
        client& c = _clients[i];
        if ((_fds[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
            read(c);
        }
        if ((_fds[i].revents & POLLOUT) != 0 && mosquitto_socket(c.mosq) >= 0) {
            (void)mosquitto_loop_write(c.mosq, 1); // a failure reaches on_disconnect
        }
    }
    const uint64_t now = now_ns();
    if (now - _last_misc >= misc_interval_ns) {
        _last_misc = now;
        for (client& c : _clients) {
            if (mosquitto_socket(c.mosq) >= 0) {
                (void)mosquitto_loop_misc(c.mosq); // a failure reaches on_disconnect
            }
        }
    }
}

// Publishes what the pacer, --count and the QoS 1 window allow, while the
// socket takes it: bytes still held in libmosquitto mean TCP pushes back.
// Returns whether the window or the socket held it back.
bool driver::publish_due(uint64_t now) {
    mosquitto* m = _clients[0].mosq;
    if (mosquitto_want_write(m)) {
        return true;
    }
    uint64_t due = std::min<uint64_t>(_pacer.due(now), _o.count - _published);
    if (_o.qos == 1) {
        const uint64_t flying = _published - std::min(_acked, _published);
        if (flying >= qos1_window) {
            return true;
        }
        due = std::min<uint64_t>(due, qos1_window - flying);
    }
    uint32_t taken = 0;
    while (taken < due && !mosquitto_want_write(m)) {
        const uint64_t t = now_ns();
        store_be<uint64_t>(_payload, 0, t);
        store_be<uint64_t>(_payload, 8, _published + 1);
        const int rc = mosquitto_publish(m, nullptr, _o.topic.c_str(), static_cast<int>(_payload.size()),
                                         _payload.data(), _o.qos, false);
        if (rc != MOSQ_ERR_SUCCESS) {
            fail("publisher: PUBLISH: " + std::string(mosquitto_strerror(rc)));
            break;
        }
        if (_published == 0) {
            _first_pub = t;
        }
        ++_published;
        ++taken;
    }
    _pacer.take(taken);
    return mosquitto_want_write(m);
}

uint64_t driver::delivered() const noexcept {
    uint64_t n = 0;
    for (size_t i = 1; i < _clients.size(); ++i) {
        n += _clients[i].tracker.received();
    }
    return n;
}

result driver::run() {
    _deadline = now_ns() + static_cast<uint64_t>(_o.timeout_s * 1e9);
    const auto past_deadline = [this] { return now_ns() >= _deadline; };

    // Subscribers first, then the publisher; each is ready at its SUBACK
    // (CONNACK for the publisher).
    for (size_t i = 1; i <= _clients.size() && _error.empty(); ++i) {
        open(_clients[i % _clients.size()]);
    }
    while (_error.empty() && !all_ready() && !past_deadline()) {
        turn(10);
    }
    if (_error.empty() && !all_ready()) {
        fail("only " + std::to_string(_ready) + " of " + std::to_string(_clients.size()) +
             " clients ready before the deadline");
    }

    // A broker gone by the end fails the run, and its CPU is unknown.
    const auto broker_cpu_now = [this]() -> std::optional<double> {
        if (_o.broker_pid == 0) {
            return std::nullopt;
        }
        try {
            return process_cpu_s(_o.broker_pid);
        } catch (const std::runtime_error& e) {
            fail(std::string("broker: ") + e.what());
            return std::nullopt;
        }
    };
    const std::optional<double> broker_cpu_start = broker_cpu_now();
    const double own_cpu_start = own_cpu_s();
    _pacer = pacer(_o.rate, 1'000'000'000, now_ns(), publish_burst);
    // Publish. A paced run busy-polls: 100 k/s wants a message every 10 us,
    // finer than poll()'s millisecond timeout. An unpaced one held back by
    // the window or the socket sleeps until a PUBACK or room wakes it, so
    // driver_cpu_s says how busy the driver was.
    while (_error.empty() && _published < _o.count) {
        if (past_deadline()) {
            fail("published " + std::to_string(_published) + " of " + std::to_string(_o.count) +
                 " before the deadline");
            break;
        }
        const bool held = publish_due(now_ns());
        turn(held && _o.rate == 0 ? 1 : 0);
    }
    // The last publishes still have to leave libmosquitto.
    while (_error.empty() && mosquitto_want_write(_clients[0].mosq) && !past_deadline()) {
        turn(1);
    }
    const uint64_t pub_end = now_ns();

    // Drain: until every delivery (and every PUBACK) is in, 2 s without a
    // delivery, or the deadline.
    const uint64_t expected = _published * _o.subscribers;
    while (!past_deadline()) {
        const uint64_t now = now_ns();
        if ((delivered() >= expected && (_o.qos == 0 || _acked >= _published)) ||
            now - std::max(pub_end, _last_rx) >= drain_silence_ns) {
            break;
        }
        turn(20);
    }
    // A broker that sleeps when idle has spent, by now, what the run cost it.
    const std::optional<double> broker_cpu_end = broker_cpu_now();
    const std::optional<double> broker_cpu = broker_cpu_start && broker_cpu_end
                                                 ? std::optional<double>(*broker_cpu_end - *broker_cpu_start)
                                                 : std::nullopt;
    const double own_cpu = own_cpu_s() - own_cpu_start;

    _closing = true;
    for (client& c : _clients) {
        if (mosquitto_socket(c.mosq) >= 0) {
            mosquitto_disconnect(c.mosq);
        }
    }

    result r;
    r.published = _published;
    r.acked = _acked;
    r.expected = expected;
    for (size_t i = 1; i < _clients.size(); ++i) {
        const stream_tracker& t = _clients[i].tracker;
        r.delivered += t.received();
        r.duplicates += t.duplicates();
        r.reordered += t.reordered();
    }
    if (_published != 0) {
        r.publish_s = static_cast<double>(pub_end - _first_pub) / 1e9;
        // From the first publish to the last delivery.
        const double span_s = static_cast<double>(std::max(_last_rx, _first_pub) - _first_pub) / 1e9;
        r.deliveries_per_s = span_s > 0 ? static_cast<double>(r.delivered) / span_s : 0;
    }
    r.broker_cpu_s = broker_cpu;
    r.driver_cpu_s = own_cpu;
    r.p50_ns = _latency.percentile(0.50);
    r.p99_ns = _latency.percentile(0.99);
    r.max_ns = _latency.max();
    r.error = _error;
    if (r.error.empty() && r.delivered < r.expected) {
        r.error = "delivered " + std::to_string(r.delivered) + " of " + std::to_string(r.expected);
    } else if (r.error.empty() && _o.qos == 1 && r.acked < r.published) {
        r.error = "PUBACKs for " + std::to_string(r.acked) + " of " + std::to_string(r.published);
    }
    return r;
}

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (const char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
            out += buf;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string to_json(const result& r, const options& o) {
    const auto ull = [](uint64_t v) { return static_cast<unsigned long long>(v); };
    const auto us = [](uint64_t ns) { return static_cast<double>(ns) / 1e3; };
    char buf[1024];
    std::snprintf(buf, sizeof buf,
                  "{\"system_port\":%u,\"subscribers\":%u,\"qos\":%d,\"size\":%u,\"rate\":%llu,"
                  "\"published\":%llu,\"acked\":%llu,\"expected\":%llu,\"delivered\":%llu,"
                  "\"duplicates\":%llu,\"reordered\":%llu,\"publish_s\":%.6f,\"deliveries_per_s\":%.1f,",
                  o.port, o.subscribers, o.qos, o.size, ull(o.rate), ull(r.published), ull(r.acked),
                  ull(r.expected), ull(r.delivered), ull(r.duplicates), ull(r.reordered), r.publish_s,
                  r.deliveries_per_s);
    std::string out = buf;
    if (r.broker_cpu_s) {
        const double per_cpu_s = *r.broker_cpu_s > 0 ? static_cast<double>(r.delivered) / *r.broker_cpu_s : 0;
        std::snprintf(buf, sizeof buf, "\"broker_cpu_s\":%.3f,\"deliveries_per_broker_cpu_s\":%.1f,",
                      *r.broker_cpu_s, per_cpu_s);
        out += buf;
    } else {
        out += "\"broker_cpu_s\":null,\"deliveries_per_broker_cpu_s\":null,";
    }
    std::snprintf(buf, sizeof buf, "\"driver_cpu_s\":%.3f,", r.driver_cpu_s);
    out += buf;
    std::snprintf(buf, sizeof buf, "\"latency_us\":{\"p50\":%.1f,\"p99\":%.1f,\"max\":%.1f}", us(r.p50_ns),
                  us(r.p99_ns), us(r.max_ns));
    out += buf;
    if (!r.error.empty()) {
        out += ",\"error\":" + json_string(r.error);
    }
    return out + "}";
}

} // namespace

int main(int argc, char** argv) {
    options o;
    try {
        o = parse_options(argc, argv);
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "mqtt_driver: %s\n%s", e.what(), usage);
        return 2;
    }
    try {
        driver d(o);
        const result r = d.run();
        std::printf("%s\n", to_json(r, o).c_str());
        return r.error.empty() ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mqtt_driver: %s\n", e.what());
        return 1;
    }
}
