// The UDP client against a fake appliance on 127.0.0.1 (a plain socket
// served by a thread), and the telemetry client against a fake DPDK
// telemetry socket in a temporary directory.
#include <ringcast/client.hpp>
#include <ringcast/telemetry_client.hpp>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

namespace ringcast {
namespace {

using namespace std::chrono_literals;

std::vector<std::byte> frame_bytes(op code, uint8_t flag_bits, uint64_t seq, std::string_view topic,
                                   std::string_view payload) {
    std::vector<std::byte> out(frame_size(topic.size(), payload.size()));
    EXPECT_EQ(write_frame(out, code, flag_bits, seq, as_bytes(topic), as_bytes(payload)), out.size());
    return out;
}

std::vector<std::byte> concat(std::initializer_list<std::vector<std::byte>> parts) {
    std::vector<std::byte> out;
    for (const auto& p : parts) {
        out.insert(out.end(), p.begin(), p.end());
    }
    return out;
}

struct received_frame {
    op code;
    uint8_t flags;
    uint64_t seq;
    std::string topic;
    std::string payload;
    size_t datagram;      // index of the datagram it came in
    size_t datagram_size; // that datagram's size
};

// Answers SUB/UNSUB/HELLO/BYE with ACK(seq), PING with PONG (same seq and
// payload), an unparseable datagram with ERR MALFORMED, and records every
// frame it parsed. What it does with a SUB can be scripted per filter.
class fake_server {
public:
    enum class sub_answer { ack, refuse, ignore };

    fake_server() {
        _fd = ::socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::bind(_fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
        socklen_t len = sizeof(sa);
        EXPECT_EQ(::getsockname(_fd, reinterpret_cast<sockaddr*>(&sa), &len), 0);
        _port = ntohs(sa.sin_port);
        _thread = std::thread([this] { run(); });
    }

    ~fake_server() {
        _stop = true;
        _thread.join();
        ::close(_fd);
    }

    uint16_t port() const { return _port; }

    void refuse(const std::string& filter, err_code code, const std::string& reason) {
        std::lock_guard lock(_mutex);
        _scripts[filter].answer = sub_answer::refuse;
        _scripts[filter].code = code;
        _scripts[filter].reason = reason;
    }

    void ignore(const std::string& filter) {
        std::lock_guard lock(_mutex);
        _scripts[filter].answer = sub_answer::ignore;
    }

    // A datagram sent to the client before the ACK of SUB `filter`.
    void send_before_ack(const std::string& filter, std::vector<std::byte> dgram) {
        std::lock_guard lock(_mutex);
        _scripts[filter].before = std::move(dgram);
    }

    // Frames that follow the ACK of SUB `filter` in the same datagram.
    void append_to_ack(const std::string& filter, std::vector<std::byte> frames) {
        std::lock_guard lock(_mutex);
        _scripts[filter].after = std::move(frames);
    }

    // Sends to the client last heard from.
    void send(std::span<const std::byte> dgram) {
        sockaddr_in to;
        {
            std::lock_guard lock(_mutex);
            to = _peer;
        }
        ASSERT_NE(to.sin_port, 0) << "no client heard from yet";
        ASSERT_EQ(::sendto(_fd, dgram.data(), dgram.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)),
                  static_cast<ssize_t>(dgram.size()));
    }

    // Port of the client last heard from (host order).
    uint16_t peer_port() {
        std::lock_guard lock(_mutex);
        return ntohs(_peer.sin_port);
    }

    // Waits until at least `n` frames arrived; returns all received so far.
    std::vector<received_frame> wait_frames(size_t n, std::chrono::milliseconds timeout = 2000ms) {
        std::unique_lock lock(_mutex);
        _arrived.wait_for(lock, timeout, [&] { return _frames.size() >= n; });
        return _frames;
    }

private:
    struct script {
        sub_answer answer = sub_answer::ack;
        err_code code{};
        std::string reason;
        std::vector<std::byte> before;
        std::vector<std::byte> after;
    };

    void run() {
        std::vector<std::byte> buf(65536);
        size_t datagrams = 0;
        while (!_stop) {
            pollfd p{_fd, POLLIN, 0};
            if (::poll(&p, 1, 20) <= 0) {
                continue;
            }
            sockaddr_in from{};
            socklen_t len = sizeof(from);
            const ssize_t n =
                ::recvfrom(_fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
            if (n < 0) {
                continue;
            }
            {
                std::lock_guard lock(_mutex);
                _peer = from;
            }
            const std::span<const std::byte> dgram(buf.data(), static_cast<size_t>(n));
            for (size_t off = 0; off < dgram.size();) {
                const parse_result r = parse_frame(dgram, off);
                if (r.status != parse_status::ok) {
                    reply(frame_bytes(op::err, static_cast<uint8_t>(to_err_code(r.status)), r.err_seq, {},
                                      "malformed"));
                    break;
                }
                off += r.frame.size;
                answer(r.frame, datagrams, dgram.size());
            }
            ++datagrams;
        }
    }

    void answer(const frame_view& f, size_t datagram, size_t datagram_size) {
        script s;
        {
            std::lock_guard lock(_mutex);
            _frames.push_back({f.code, f.flags, f.seq, std::string(f.topic_str()),
                               std::string(reinterpret_cast<const char*>(f.payload.data()), f.payload.size()),
                               datagram, datagram_size});
            if (auto it = _scripts.find(std::string(f.topic_str())); it != _scripts.end()) {
                s = it->second;
            }
        }
        _arrived.notify_all();
        switch (f.code) {
        case op::sub:
            if (!s.before.empty()) {
                reply(s.before);
            }
            if (s.answer == sub_answer::refuse) {
                reply(frame_bytes(op::err, static_cast<uint8_t>(s.code), f.seq, {}, s.reason));
            } else if (s.answer == sub_answer::ack) {
                reply(concat({frame_bytes(op::ack, 0, f.seq, {}, {}), s.after}));
            }
            break;
        case op::unsub:
        case op::hello:
        case op::bye:
            reply(frame_bytes(op::ack, 0, f.seq, {}, {}));
            break;
        case op::ping: {
            const std::string_view echo(reinterpret_cast<const char*>(f.payload.data()), f.payload.size());
            reply(frame_bytes(op::pong, 0, f.seq, {}, echo));
            break;
        }
        default:
            break;
        }
    }

    void reply(std::span<const std::byte> dgram) {
        const sockaddr_in to = _peer;
        ::sendto(_fd, dgram.data(), dgram.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof(to));
    }

    int _fd = -1;
    uint16_t _port = 0;
    std::atomic<bool> _stop{false};
    std::mutex _mutex;
    std::condition_variable _arrived;
    sockaddr_in _peer{};
    std::map<std::string, script> _scripts;
    std::vector<received_frame> _frames;
    std::thread _thread;
};

client_options with_lease(std::chrono::milliseconds lease) {
    client_options opt;
    opt.lease = lease;
    return opt;
}

std::vector<std::byte> msg(uint64_t seq, std::string_view topic, std::string_view payload) {
    return frame_bytes(op::msg, 0, seq, topic, payload);
}

TEST(client, subscribeSucceedsWhenTheServerAcksItsSeq) {
    fake_server server;
    client c("127.0.0.1", server.port());

    const request_result r = c.subscribe("prices/eu/+");

    EXPECT_TRUE(r.ok());
    EXPECT_GT(r.rtt.count(), 0);
    const auto frames = server.wait_frames(1);
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].code, op::sub);
    EXPECT_EQ(frames[0].topic, "prices/eu/+");
    EXPECT_EQ(frames[0].seq, c.last_seq());
}

TEST(client, subscribeReportsTheErrCodeAndReasonWhenRefused) {
    fake_server server;
    server.refuse("$bad", err_code::bad_topic, "starts with $");
    client c("127.0.0.1", server.port());

    const request_result r = c.subscribe("$bad");

    EXPECT_EQ(r.status, request_status::refused);
    EXPECT_EQ(r.code, err_code::bad_topic);
    EXPECT_EQ(r.payload, "starts with $");
}

TEST(client, subscribeTimesOutWhenNoReplyComes) {
    fake_server server;
    server.ignore("quiet");
    client c("127.0.0.1", server.port());

    const auto start = client::clock::now();
    const request_result r = c.subscribe("quiet", 100ms);

    EXPECT_EQ(r.status, request_status::timeout);
    EXPECT_GE(client::clock::now() - start, 100ms);
}

TEST(client, requestsUseFreshSeqsAndTheirAcks) {
    fake_server server;
    client c("127.0.0.1", server.port());

    EXPECT_TRUE(c.hello("secret").ok());
    EXPECT_TRUE(c.subscribe("a").ok());
    EXPECT_TRUE(c.unsubscribe("a").ok());
    EXPECT_TRUE(c.bye().ok());

    const auto frames = server.wait_frames(4);
    ASSERT_EQ(frames.size(), 4u);
    EXPECT_EQ(frames[0].code, op::hello);
    EXPECT_EQ(frames[0].payload, "secret");
    EXPECT_EQ(frames[1].code, op::sub);
    EXPECT_EQ(frames[2].code, op::unsub);
    EXPECT_EQ(frames[3].code, op::bye);
    for (size_t i = 1; i < frames.size(); ++i) {
        EXPECT_EQ(frames[i].seq, frames[i - 1].seq + 1);
    }
}

TEST(client, receivesEveryMsgOfOneDatagramInOrder) {
    fake_server server;
    client c("127.0.0.1", server.port());
    ASSERT_TRUE(c.subscribe("t").ok());

    server.send(concat({msg(7, "t", "one"), msg(8, "t", "two"), msg(9, "t", "three")}));

    for (auto [seq, payload] : {std::pair{7u, "one"}, std::pair{8u, "two"}, std::pair{9u, "three"}}) {
        const auto m = c.receive(1000ms);
        ASSERT_TRUE(m.has_value());
        EXPECT_EQ(m->code, op::msg);
        EXPECT_EQ(m->seq, seq);
        EXPECT_EQ(m->topic, "t");
        EXPECT_EQ(m->payload, payload);
    }
    EXPECT_FALSE(c.receive(50ms).has_value());
}

TEST(client, keepsMsgThatArrivesWhileSubscribeWaitsForItsAck) {
    fake_server server;
    server.send_before_ack("t", msg(1, "early", "first"));
    client c("127.0.0.1", server.port());

    ASSERT_TRUE(c.subscribe("t").ok());

    const auto m = c.receive(0ms);
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->topic, "early");
    EXPECT_EQ(m->payload, "first");
}

TEST(client, keepsFramesThatFollowTheAckInItsDatagram) {
    fake_server server;
    server.append_to_ack("t", concat({msg(1, "t", "a"), msg(2, "t", "b")}));
    client c("127.0.0.1", server.port());

    ASSERT_TRUE(c.subscribe("t").ok());

    const auto a = c.receive(0ms);
    const auto b = c.receive(0ms);
    ASSERT_TRUE(a.has_value());
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(a->payload, "a");
    EXPECT_EQ(b->payload, "b");
}

TEST(client, stopsReadingADatagramAtAMalformedFrame) {
    fake_server server;
    client c("127.0.0.1", server.port());
    ASSERT_TRUE(c.subscribe("t").ok());
    auto bad = msg(2, "t", "lies");
    bad[frame_off::magic] = std::byte{0};

    server.send(concat({msg(1, "t", "kept"), bad, msg(3, "t", "lost")}));

    const auto m = c.receive(1000ms);
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->payload, "kept");
    EXPECT_FALSE(c.receive(50ms).has_value());
}

TEST(client, pingReturnsTheEchoedPayload) {
    fake_server server;
    client c("127.0.0.1", server.port());

    const request_result r = c.ping(as_bytes("are you there"));

    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.payload, "are you there");
    EXPECT_GT(r.rtt.count(), 0);
}

TEST(client, reportsAServerThatIsNotListeningAsIoError) {
    // A port just released on loopback: the kernel answers ICMP port unreachable.
    uint16_t port;
    {
        fake_server gone;
        port = gone.port();
    }
    client c("127.0.0.1", port);

    const request_result r = c.ping(as_bytes("x"), 500ms);

    EXPECT_EQ(r.status, request_status::io_error);
    EXPECT_EQ(r.error, std::errc::connection_refused);
}

TEST(client, publishSendsOneWellFormedPubFrame) {
    fake_server server;
    client c("127.0.0.1", server.port());

    ASSERT_FALSE(c.publish("sensors/42/temp", as_bytes("21.5"), flags::retain));

    const auto frames = server.wait_frames(1);
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].code, op::pub);
    EXPECT_EQ(frames[0].flags, flags::retain);
    EXPECT_EQ(frames[0].seq, c.last_seq());
    EXPECT_EQ(frames[0].topic, "sensors/42/temp");
    EXPECT_EQ(frames[0].payload, "21.5");
    EXPECT_EQ(frames[0].datagram_size, frame_size(15, 4));
}

TEST(client, publishRefusesATopicLongerThan255Bytes) {
    fake_server server;
    client c("127.0.0.1", server.port());
    const std::string topic(256, 'a');
    const outgoing batch[] = {{"ok", as_bytes("x"), 0}, {topic, as_bytes("x"), 0}};

    EXPECT_EQ(c.publish(topic, as_bytes("x")), std::errc::invalid_argument);
    EXPECT_EQ(c.publish_batch(batch), std::errc::invalid_argument);
    EXPECT_TRUE(server.wait_frames(1, 100ms).empty());
}

TEST(client, publishBatchPacksFramesInOrderIntoDatagramsWithinTheLimit) {
    fake_server server;
    client c("127.0.0.1", server.port());
    const std::string payload(40, 'p');
    std::vector<outgoing> batch(100, outgoing{"batch/topic", as_bytes(payload), 0});
    const std::string big(2000, 'B');
    batch.push_back({"batch/big", as_bytes(big), 0});

    ASSERT_FALSE(c.publish_batch(batch));

    const auto frames = server.wait_frames(batch.size());
    ASSERT_EQ(frames.size(), batch.size());
    const size_t per_datagram = batch_datagram_limit / frame_size(11, 40);
    for (size_t i = 0; i < 100; ++i) {
        EXPECT_EQ(frames[i].code, op::pub);
        EXPECT_EQ(frames[i].seq, frames[0].seq + i);
        EXPECT_EQ(frames[i].datagram, i / per_datagram);
        EXPECT_LE(frames[i].datagram_size, batch_datagram_limit);
    }
    EXPECT_EQ(frames[100].payload, big);
    EXPECT_EQ(frames[100].datagram_size, frame_size(9, 2000));
}

TEST(client, keepaliveSendsPingOnlyAfterAThirdOfTheLease) {
    fake_server server;
    client c("127.0.0.1", server.port(), with_lease(30s));
    const auto t0 = client::clock::now();

    EXPECT_FALSE(c.keepalive(t0));
    EXPECT_FALSE(c.keepalive(t0 + 9s));
    EXPECT_TRUE(c.keepalive(t0 + 11s));
    EXPECT_FALSE(c.keepalive(t0 + 20s));
    EXPECT_TRUE(c.keepalive(t0 + 21s));

    const auto frames = server.wait_frames(2);
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[0].code, op::ping);
    EXPECT_EQ(frames[1].code, op::ping);
}

TEST(client, receiveSendsKeepalivePingsWhileItWaits) {
    fake_server server;
    client c("127.0.0.1", server.port(), with_lease(150ms));

    EXPECT_FALSE(c.receive(200ms).has_value()); // the PONGs are not messages

    const auto frames = server.wait_frames(1);
    ASSERT_FALSE(frames.empty());
    EXPECT_EQ(frames[0].code, op::ping);
}

TEST(client, receiveReturnsNothingWhenTheTimeoutPassesWithoutMessage) {
    fake_server server;
    client c("127.0.0.1", server.port());

    const auto start = client::clock::now();
    EXPECT_FALSE(c.receive(80ms).has_value());
    EXPECT_GE(client::clock::now() - start, 80ms);
}

TEST(client, receiveReturnsTheErrThatAnswersBadInput) {
    fake_server server;
    client c("127.0.0.1", server.port());
    const std::byte garbage[] = {std::byte{0xde}, std::byte{0xad}};

    ASSERT_FALSE(c.send_raw(garbage));

    const auto m = c.receive(1000ms);
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->code, op::err);
    EXPECT_EQ(m->error(), err_code::malformed);
    EXPECT_EQ(m->seq, 0u);
}

TEST(client, sendsFromTheLocalAddressAndPortItWasGiven) {
    fake_server server;
    uint16_t free_port;
    {
        fake_server probe; // a port nothing else holds once the probe is gone
        free_port = probe.port();
    }
    client_options opt;
    opt.local_addr = "127.0.0.1";
    opt.local_port = free_port;
    client c("127.0.0.1", server.port(), opt);

    ASSERT_TRUE(c.ping(as_bytes("x")).ok());

    EXPECT_EQ(server.peer_port(), free_port);
}

TEST(client, constructorNamesTheAddressThatDoesNotParse) {
    try {
        client c("192.0.2.300", 7700);
        FAIL() << "no exception";
    } catch (const std::system_error& e) {
        EXPECT_NE(std::string(e.what()).find("inet_pton(192.0.2.300)"), std::string::npos) << e.what();
    }
}

// Serves one connection the way DPDK's telemetry does: greeting, then one
// reply per command.
class fake_telemetry {
public:
    explicit fake_telemetry(std::function<std::string(const std::string&)> reply) : _reply(std::move(reply)) {
        char dir[] = "/tmp/ringcast_telemetry_XXXXXX";
        EXPECT_NE(::mkdtemp(dir), nullptr);
        _dir = dir;
        _path = _dir + "/dpdk_telemetry.v2";
        _fd = ::socket(AF_UNIX, SOCK_SEQPACKET, 0);
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        std::snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", _path.c_str());
        EXPECT_EQ(::bind(_fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
        EXPECT_EQ(::listen(_fd, 1), 0);
        _thread = std::thread([this] { run(); });
    }

    ~fake_telemetry() {
        _thread.join();
        ::close(_fd);
        std::filesystem::remove_all(_dir);
    }

    const std::string& path() const { return _path; }

private:
    void run() {
        pollfd p{_fd, POLLIN, 0};
        if (::poll(&p, 1, 2000) <= 0) {
            return;
        }
        const int conn = ::accept(_fd, nullptr, nullptr);
        const std::string greeting = R"({"version": "DPDK 22.11.5", "pid": 1, "max_output_len": 16384})";
        ::send(conn, greeting.data(), greeting.size(), 0);
        std::vector<char> buf(1024);
        for (;;) {
            pollfd c{conn, POLLIN, 0};
            if (::poll(&c, 1, 2000) <= 0) {
                break;
            }
            const ssize_t n = ::recv(conn, buf.data(), buf.size(), 0);
            if (n <= 0) {
                break;
            }
            const std::string out = _reply(std::string(buf.data(), static_cast<size_t>(n)));
            if (!out.empty()) {
                ::send(conn, out.data(), out.size(), MSG_NOSIGNAL);
            }
        }
        ::close(conn);
    }

    std::function<std::string(const std::string&)> _reply;
    std::string _dir;
    std::string _path;
    int _fd = -1;
    std::thread _thread;
};

TEST(telemetry_client, queryReturnsTheReplyAfterSkippingTheGreeting) {
    fake_telemetry server([](const std::string& cmd) { return R"({")" + cmd + R"(": {"rx_packets": 5}})"; });
    telemetry_client t(server.path());

    EXPECT_EQ(t.query("/ringcast/stats"), R"({"/ringcast/stats": {"rx_packets": 5}})");
    EXPECT_EQ(t.query("/ringcast/lcores"), R"({"/ringcast/lcores": {"rx_packets": 5}})");
}

TEST(telemetry_client, refusesAReplyLargerThanItsBuffer) {
    fake_telemetry server([](const std::string&) { return std::string(telemetry_max_reply + 1, ' '); });
    telemetry_client t(server.path());

    try {
        (void)t.query("/ringcast/stats");
        FAIL() << "no exception";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), std::errc::message_size);
    }
}

TEST(telemetry_client, givesUpWhenNoReplyComesInTime) {
    fake_telemetry server([](const std::string&) { return std::string(); });
    telemetry_client t(server.path(), 100ms);

    try {
        (void)t.query("/ringcast/stats");
        FAIL() << "no exception";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), std::errc::timed_out);
    }
}

TEST(telemetry_client, connectNamesTheMissingSocket) {
    try {
        telemetry_client t("/nonexistent/dpdk_telemetry.v2");
        FAIL() << "no exception";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
        EXPECT_NE(std::string(e.what()).find("connect(/nonexistent/dpdk_telemetry.v2)"), std::string::npos);
    }
}

TEST(telemetry_client, socketPathFollowsDpdkRuntimeDir) {
    const std::string p = telemetry_socket_path("ringcast");
    const std::string tail = "/dpdk/ringcast/dpdk_telemetry.v2";
    ASSERT_GT(p.size(), tail.size());
    EXPECT_EQ(p.substr(p.size() - tail.size()), tail);
    if (::getuid() == 0) {
        EXPECT_EQ(p, "/var/run" + tail);
    }
}

TEST(pretty_json, indentsNestingAndKeepsStringsIntact) {
    struct {
        std::string_view in;
        std::string_view out;
    } const cases[] = {
        {R"({})", "{}"},
        {R"({"a": [ ]})", "{\n  \"a\": []\n}"},
        {R"({"a":1,"b":[1,2]})", "{\n  \"a\": 1,\n  \"b\": [\n    1,\n    2\n  ]\n}"},
        {R"({"k": "x, {y}: \"z\" \\"})", "{\n  \"k\": \"x, {y}: \\\"z\\\" \\\\\"\n}"},
        {R"({"s": "a b"})", "{\n  \"s\": \"a b\"\n}"},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(pretty_json(c.in), c.out) << c.in;
    }
}

} // namespace
} // namespace ringcast
