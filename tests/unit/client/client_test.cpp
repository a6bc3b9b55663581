// The UDP client against a fake appliance on 127.0.0.1 (a plain socket
// served by a thread), the TCP client against a scripted TCP peer on
// 127.0.0.1, and the telemetry client against a fake DPDK telemetry socket
// in a temporary directory.
#include <ringcast/client/client.hpp>
#include <ringcast/client/telemetry_client.hpp>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
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

// A u64 as the 8 big-endian bytes of an ACK or GAP_LOST payload.
std::string u64_text(uint64_t v) {
    std::string out(sizeof(v), '\0');
    store_be<uint64_t>(std::as_writable_bytes(std::span(out)), 0, v);
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
// frame it parsed. What it does with a SUB can be scripted per filter; PUBs
// and NACKs of a topic get answers only when scripted.
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

    // QoS PUBs of `topic`: the first `ignore_first` go unanswered (as if lost),
    // the others get ACK(seq) with the u64 topic_seq as payload. A topic
    // refused with refuse() gets the ERR instead.
    void ack_pubs(const std::string& topic, uint64_t topic_seq, int ignore_first = 0) {
        std::lock_guard lock(_mutex);
        _scripts[topic].ack_pubs = true;
        _scripts[topic].topic_seq = topic_seq;
        _scripts[topic].pubs_to_ignore = ignore_first;
    }

    // NACKs of `topic` after the first `ignore_first` (as if rate-limited)
    // are answered as the appliance does, holding the messages from
    // first_held on: ERR GAP_LOST for the part below it, then each message
    // asked for as MSG|REPLAYED with payload "TOPIC SEQ", in one datagram.
    void serve_nacks(const std::string& topic, uint64_t first_held, int ignore_first = 0) {
        std::lock_guard lock(_mutex);
        _scripts[topic].serve_nacks = true;
        _scripts[topic].first_held = first_held;
        _scripts[topic].nacks_to_ignore = ignore_first;
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
        bool ack_pubs = false;
        uint64_t topic_seq = 0;
        int pubs_to_ignore = 0;
        bool serve_nacks = false;
        uint64_t first_held = 1;
        int nacks_to_ignore = 0;
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
        bool ignored = false; // a scripted PUB or NACK to leave unanswered
        {
            std::lock_guard lock(_mutex);
            _frames.push_back({f.code, f.flags, f.seq, std::string(f.topic_str()),
                               std::string(reinterpret_cast<const char*>(f.payload.data()), f.payload.size()),
                               datagram, datagram_size});
            if (auto it = _scripts.find(std::string(f.topic_str())); it != _scripts.end()) {
                if (f.code == op::pub || f.code == op::nack) {
                    int& left = f.code == op::pub ? it->second.pubs_to_ignore : it->second.nacks_to_ignore;
                    ignored = left > 0;
                    left -= ignored ? 1 : 0;
                }
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
        case op::pub:
            if (s.answer == sub_answer::refuse) {
                reply(frame_bytes(op::err, static_cast<uint8_t>(s.code), f.seq, {}, s.reason));
            } else if (s.ack_pubs && !ignored) {
                reply(frame_bytes(op::ack, 0, f.seq, {}, u64_text(s.topic_seq)));
            }
            break;
        case op::nack:
            if (s.serve_nacks && !ignored && f.payload.size() == sizeof(uint32_t)) {
                reply(nack_answer(f.topic_str(), f.seq, load_be<uint32_t>(f.payload, 0), s.first_held));
            }
            break;
        default:
            break;
        }
    }

    static std::vector<std::byte> nack_answer(std::string_view topic, uint64_t seq, uint32_t count,
                                              uint64_t first_held) {
        std::vector<std::byte> out;
        if (seq < first_held) {
            out = frame_bytes(op::err, static_cast<uint8_t>(err_code::gap_lost), seq, topic,
                              u64_text(first_held));
        }
        for (uint64_t s = std::max(seq, first_held); s < seq + count; ++s) {
            out = concat({out, frame_bytes(op::msg, flags::replayed, s, topic,
                                           std::string(topic) + " " + std::to_string(s))});
        }
        return out;
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

TEST(client, publishBatchSendsAGivenSeqAsItIsAndLeavesTheCounterAlone) {
    fake_server server;
    client c("127.0.0.1", server.port());
    const outgoing batch[] = {{"js/a", as_bytes("1"), flags::qos_mask & 2, 90001},
                              {"js/a", as_bytes("2"), 0},
                              {"js/a", as_bytes("3"), flags::qos_mask & 2, 90003}};

    ASSERT_FALSE(c.publish_batch(batch));

    const auto frames = server.wait_frames(3);
    ASSERT_EQ(frames.size(), 3u);
    EXPECT_EQ(frames[0].seq, 90001u);
    EXPECT_EQ(frames[0].flags, 2);
    EXPECT_EQ(frames[1].seq, 1u); // the counter's first, untouched by the given seqs
    EXPECT_EQ(frames[2].seq, 90003u);
    EXPECT_EQ(c.last_seq(), 1u);
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

TEST(client, publishAckedRetriesTheSameFrameUntilTheAckComes) {
    fake_server server;
    server.ack_pubs("orders", 42, 1); // the first PUB is "lost"
    client c("127.0.0.1", server.port());

    const publish_result r = c.publish_acked("orders", as_bytes("buy"), 1);

    ASSERT_TRUE(r.ok()) << static_cast<int>(r.status);
    EXPECT_EQ(r.attempts, 2u);
    EXPECT_EQ(r.topic_seq, 42u);
    EXPECT_GE(r.rtt, 50ms); // the first wait passed before the retry
    const auto frames = server.wait_frames(2);
    ASSERT_EQ(frames.size(), 2u);
    for (const auto& f : frames) {
        EXPECT_EQ(f.code, op::pub);
        EXPECT_EQ(f.flags, 1u);
        EXPECT_EQ(f.seq, c.last_seq());
        EXPECT_EQ(f.topic, "orders");
        EXPECT_EQ(f.payload, "buy");
    }
}

TEST(client, publishAckedReadsTheTopicSeqFromTheAckPayload) {
    fake_server server;
    server.ack_pubs("sensors/1", 0x0102030405060708);
    client c("127.0.0.1", server.port());

    const publish_result r = c.publish_acked("sensors/1", as_bytes("20.5"), 2, flags::retain | 1);

    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.attempts, 1u);
    EXPECT_EQ(r.topic_seq, 0x0102030405060708u);
    EXPECT_TRUE(r.payload.empty());
    const auto frames = server.wait_frames(1);
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].flags, flags::retain | 2); // the qos argument wins over the flags' QoS bits
}

TEST(client, publishAckedGivesUpAfterItsAttempts) {
    fake_server server; // never answers PUBs
    client c("127.0.0.1", server.port());
    const auto start = client::clock::now();

    const publish_result r = c.publish_acked("t", as_bytes("x"), 1, 0, retry_policy{10ms, 3});

    EXPECT_EQ(r.status, request_status::timeout);
    EXPECT_EQ(r.attempts, 3u);
    EXPECT_GE(client::clock::now() - start, 70ms); // 10 + 20 + 40
    const auto frames = server.wait_frames(3);
    ASSERT_EQ(frames.size(), 3u);
    EXPECT_EQ(frames[0].seq, frames[1].seq);
    EXPECT_EQ(frames[1].seq, frames[2].seq);
}

TEST(client, publishAckedStopsAtAnErrWithoutRetrying) {
    fake_server server;
    server.refuse("secret", err_code::not_authorized, "no");
    client c("127.0.0.1", server.port());

    const publish_result r = c.publish_acked("secret", as_bytes("x"), 2);

    EXPECT_EQ(r.status, request_status::refused);
    EXPECT_EQ(r.code, err_code::not_authorized);
    EXPECT_EQ(r.attempts, 1u);
}

TEST(client, publishAckedRefusesQosZeroWithoutSending) {
    fake_server server;
    client c("127.0.0.1", server.port());

    const publish_result r = c.publish_acked("t", as_bytes("x"), 0);

    EXPECT_EQ(r.status, request_status::io_error);
    EXPECT_EQ(r.error, std::errc::invalid_argument);
    EXPECT_TRUE(server.wait_frames(1, 100ms).empty());
}

// "SEQ PAYLOAD" of the next n messages receive_ordered gives, with a
// trailing " R" for the REPLAYED ones.
std::vector<std::string> ordered(client& c, size_t n) {
    std::vector<std::string> out;
    for (size_t i = 0; i < n; ++i) {
        const auto m = c.receive_ordered(2000ms);
        if (!m) {
            break;
        }
        EXPECT_EQ(m->code, op::msg);
        out.push_back(std::to_string(m->seq) + " " + m->payload + (m->replayed() ? " R" : ""));
    }
    return out;
}

using strings = std::vector<std::string>;

TEST(client, receiveOrderedNacksAGapAndDeliversTheRetransmissionInOrder) {
    fake_server server;
    server.serve_nacks("t", 1);
    client c("127.0.0.1", server.port());
    ASSERT_TRUE(c.subscribe("t").ok());

    server.send(concat({msg(1, "t", "t 1"), msg(2, "t", "t 2"), msg(5, "t", "t 5")}));

    EXPECT_EQ(ordered(c, 5), (strings{"1 t 1", "2 t 2", "3 t 3 R", "4 t 4 R", "5 t 5"}));
    const auto frames = server.wait_frames(2);
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[1].code, op::nack);
    EXPECT_EQ(frames[1].topic, "t");
    EXPECT_EQ(frames[1].seq, 3u);
    EXPECT_EQ(frames[1].payload, std::string("\0\0\0\2", 4)); // u32 count 2
    const gap_counters& n = c.repair_counters();
    EXPECT_EQ(n.delivered, 5u);
    EXPECT_EQ(n.repaired, 2u);
    EXPECT_EQ(n.nacks_sent, 1u);
    EXPECT_EQ(n.lost + n.duplicates, 0u);
}

TEST(client, receiveOrderedNacksAgainWhenTheAnswerDoesNotCome) {
    fake_server server;
    server.serve_nacks("t", 1, 1); // the first NACK is dropped, as a rate-limited one
    client_options opt;
    opt.repair.nack_timeout = 20ms;
    client c("127.0.0.1", server.port(), opt);
    ASSERT_TRUE(c.subscribe("t").ok());

    server.send(concat({msg(1, "t", "t 1"), msg(3, "t", "t 3")}));

    EXPECT_EQ(ordered(c, 3), (strings{"1 t 1", "2 t 2 R", "3 t 3"}));
    EXPECT_EQ(c.repair_counters().nacks_sent, 2u);
    const auto frames = server.wait_frames(3);
    ASSERT_EQ(frames.size(), 3u);
    EXPECT_EQ(frames[1].code, op::nack);
    EXPECT_EQ(frames[2].code, op::nack);
    EXPECT_EQ(frames[2].seq, 2u);
}

TEST(client, receiveOrderedCountsWhatGapLostSaysIsGone) {
    fake_server server;
    server.serve_nacks("t", 4); // 2 and 3 are no longer retained
    client c("127.0.0.1", server.port());
    ASSERT_TRUE(c.subscribe("t").ok());

    server.send(concat({msg(1, "t", "t 1"), msg(6, "t", "t 6")}));

    EXPECT_EQ(ordered(c, 4), (strings{"1 t 1", "4 t 4 R", "5 t 5 R", "6 t 6"}));
    EXPECT_FALSE(c.receive_ordered(50ms).has_value()); // GAP_LOST was taken in, not handed out
    EXPECT_EQ(c.repair_counters().lost, 2u);
    EXPECT_EQ(c.repair_counters().repaired, 2u);
}

TEST(client, subscribeReplaySendsTheStartSeqAndOrdersTheReplayBeforeLiveTraffic) {
    fake_server server;
    // As the appliance answers SUB REPLAY from 3 when it holds 5 on: ACK,
    // GAP_LOST, the retained messages (6 lost on the way), then live ones.
    server.append_to_ack(
        "t", concat({frame_bytes(op::err, static_cast<uint8_t>(err_code::gap_lost), 3, "t", u64_text(5)),
                     frame_bytes(op::msg, flags::replayed, 5, "t", "t 5"),
                     frame_bytes(op::msg, flags::replayed, 7, "t", "t 7"), msg(8, "t", "t 8")}));
    server.serve_nacks("t", 5);
    client c("127.0.0.1", server.port());

    ASSERT_TRUE(c.subscribe_replay("t", 3).ok());

    EXPECT_EQ(ordered(c, 4), (strings{"5 t 5 R", "6 t 6 R", "7 t 7 R", "8 t 8"}));
    const auto frames = server.wait_frames(2);
    ASSERT_GE(frames.size(), 2u);
    EXPECT_EQ(frames[0].code, op::sub);
    EXPECT_EQ(frames[0].flags, flags::replay);
    EXPECT_EQ(frames[0].seq, 3u);
    EXPECT_EQ(frames[1].code, op::nack);
    EXPECT_EQ(frames[1].seq, 6u);
    EXPECT_EQ(c.repair_counters().lost, 2u); // 3 and 4
    EXPECT_EQ(c.repair_counters().repaired, 1u);
}

TEST(client, receiveOrderedTakesARetainedValueWithoutNackingTheHistory) {
    fake_server server;
    server.serve_nacks("t", 1);
    client c("127.0.0.1", server.port());
    ASSERT_TRUE(c.subscribe("t").ok());

    server.send(concat({frame_bytes(op::msg, flags::replayed, 40, "t", "t 40"), msg(100, "t", "t 100")}));

    EXPECT_EQ(ordered(c, 2), (strings{"40 t 40 R", "100 t 100"}));
    EXPECT_FALSE(c.receive_ordered(50ms).has_value());
    EXPECT_EQ(c.repair_counters().nacks_sent, 0u);
    EXPECT_EQ(server.wait_frames(2, 50ms).size(), 1u); // the SUB alone
}

TEST(client, giveUpGapsReleasesWhatWasHeldBack) {
    fake_server server; // answers no NACK
    client c("127.0.0.1", server.port());
    ASSERT_TRUE(c.subscribe("t").ok());
    server.send(concat({msg(1, "t", "t 1"), msg(3, "t", "t 3")}));
    EXPECT_EQ(ordered(c, 1), (strings{"1 t 1"}));
    EXPECT_FALSE(c.receive_ordered(50ms).has_value());

    c.give_up_gaps();

    EXPECT_EQ(ordered(c, 1), (strings{"3 t 3"}));
    EXPECT_EQ(c.repair_counters().lost, 1u);
}

TEST(client, receiveOrderedHandsOutOtherErrsAsTheyCome) {
    fake_server server;
    client c("127.0.0.1", server.port());
    const std::byte garbage[] = {std::byte{0xde}, std::byte{0xad}};

    ASSERT_FALSE(c.send_raw(garbage));

    const auto m = c.receive_ordered(1000ms);
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->code, op::err);
    EXPECT_EQ(m->error(), err_code::malformed);
}

// ---- the TCP transport ----

// Accepts one TCP connection on 127.0.0.1 and runs `script` on it in a
// thread; the script owns the connection (closes or resets it) and the
// destructor waits for it.
class fake_tcp_server {
public:
    explicit fake_tcp_server(std::function<void(int)> script) : _script(std::move(script)) {
        _fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::bind(_fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
        EXPECT_EQ(::listen(_fd, 1), 0);
        socklen_t len = sizeof(sa);
        EXPECT_EQ(::getsockname(_fd, reinterpret_cast<sockaddr*>(&sa), &len), 0);
        _port = ntohs(sa.sin_port);
        _thread = std::thread([this] { run(); });
    }

    ~fake_tcp_server() {
        _thread.join();
        ::close(_fd);
    }

    uint16_t port() const { return _port; }

private:
    void run() {
        pollfd p{_fd, POLLIN, 0};
        if (::poll(&p, 1, 2000) <= 0) {
            ADD_FAILURE() << "no client connected";
            return;
        }
        const int conn = ::accept(_fd, nullptr, nullptr);
        ASSERT_GE(conn, 0);
        // Each write leaves as its own segment, so the client reads the cuts as made.
        const int one = 1;
        EXPECT_EQ(::setsockopt(conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
        _script(conn);
    }

    std::function<void(int)> _script;
    int _fd = -1;
    uint16_t _port = 0;
    std::thread _thread;
};

client_options over_tcp() {
    client_options opt;
    opt.transport = transport_kind::tcp;
    return opt;
}

// Exactly n bytes off a stream (2 s at most); fewer at EOF or timeout.
std::vector<std::byte> read_exact(int fd, size_t n) {
    std::vector<std::byte> out(n);
    size_t got = 0;
    while (got < n) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 2000) <= 0) {
            break;
        }
        const ssize_t r = ::recv(fd, out.data() + got, n - got, 0);
        if (r <= 0) {
            break;
        }
        got += static_cast<size_t>(r);
    }
    out.resize(got);
    return out;
}

// The next frame the client wrote; nullopt at EOF, timeout or a bad header.
std::optional<received_frame> read_frame(int fd) {
    std::vector<std::byte> bytes = read_exact(fd, frame_header_size);
    if (bytes.size() < frame_header_size) {
        return std::nullopt;
    }
    const size_t rest =
        load_be<uint8_t>(bytes, frame_off::topic_len) + load_be<uint32_t>(bytes, frame_off::payload_len);
    const std::vector<std::byte> tail = read_exact(fd, rest);
    bytes.insert(bytes.end(), tail.begin(), tail.end());
    const parse_result r = parse_frame(bytes, 0);
    if (r.status != parse_status::ok || r.frame.size != bytes.size()) {
        return std::nullopt;
    }
    const frame_view& f = r.frame;
    std::string topic(f.topic_str());
    std::string payload(reinterpret_cast<const char*>(f.payload.data()), f.payload.size());
    return received_frame{f.code, f.flags, f.seq, std::move(topic), std::move(payload), 0, bytes.size()};
}

void write_all(int fd, std::span<const std::byte> bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        ASSERT_GT(n, 0) << "send: " << std::strerror(errno);
        bytes = bytes.subspan(static_cast<size_t>(n));
    }
}

// Closes with SO_LINGER 0: the kernel sends RST, not FIN.
void reset(int fd) {
    const linger l{1, 0};
    EXPECT_EQ(::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)), 0);
    ::close(fd);
}

TEST(client_tcp, receivesMsgFramesCutAnywhereInOrderThenReportsTheClose) {
    const std::string big(20000, 'B');
    const std::vector<std::vector<std::byte>> msgs = {
        msg(1, "tcp/a", "one"),            // in 1-byte writes
        msg(2, "tcp/a", "two"),            // cut inside its header
        msg(3, "tcp/bb", "three, longer"), // cut inside its payload, its tail with 4 and the head of 5
        msg(4, "tcp/a", ""),               // a frame of header and topic only
        msg(5, "tcp/ccc", "five"),         // cut inside its topic, the rest with 6 in one write
        msg(6, "tcp/a", "six"),            // whole, after the rest of 5
        msg(7, "tcp/big", big),            // over three writes, the last with 8
        msg(8, "tcp/a", "eight"),          // whole, after the rest of 7
    };
    fake_tcp_server server([&](int conn) {
        const auto sub = read_frame(conn);
        ASSERT_TRUE(sub.has_value());
        EXPECT_EQ(sub->code, op::sub);
        write_all(conn, frame_bytes(op::ack, 0, sub->seq, {}, {}));
        // Apart in time, so that the client reads the pieces one by one.
        const auto piece = [&](std::span<const std::byte> b) {
            write_all(conn, b);
            std::this_thread::sleep_for(2ms);
        };
        for (const std::byte b : msgs[0]) {
            piece(std::span(&b, 1));
        }
        piece(std::span(msgs[1]).first(7));
        piece(std::span(msgs[1]).subspan(7));
        piece(std::span(msgs[2]).first(frame_header_size + 6 + 4));
        piece(concat({std::vector(msgs[2].begin() + frame_header_size + 6 + 4, msgs[2].end()), msgs[3],
                      std::vector(msgs[4].begin(), msgs[4].begin() + frame_header_size + 2)}));
        piece(concat({std::vector(msgs[4].begin() + frame_header_size + 2, msgs[4].end()), msgs[5]}));
        piece(std::span(msgs[6]).first(5000));
        piece(std::span(msgs[6]).subspan(5000, 10000));
        piece(concat({std::vector(msgs[6].begin() + 15000, msgs[6].end()), msgs[7]}));
        ::close(conn);
    });
    client c("127.0.0.1", server.port(), over_tcp());
    ASSERT_TRUE(c.subscribe("tcp/#").ok());

    for (const auto& want : msgs) {
        const auto w = parse_frame(want, 0).frame;
        const auto m = c.receive(2000ms);
        ASSERT_TRUE(m.has_value()) << "seq " << w.seq << ": " << c.close_reason().message();
        EXPECT_EQ(m->code, op::msg);
        EXPECT_EQ(m->seq, w.seq);
        EXPECT_EQ(m->topic, w.topic_str());
        EXPECT_EQ(m->payload, std::string(reinterpret_cast<const char*>(w.payload.data()), w.payload.size()));
    }
    const auto start = client::clock::now();
    EXPECT_FALSE(c.receive(5000ms).has_value());
    EXPECT_LT(client::clock::now() - start, 2000ms); // the end is news, not a wait
    EXPECT_TRUE(c.closed());
    EXPECT_EQ(c.close_reason(), client_errc::closed_by_server);
    const request_result r = c.ping(as_bytes("x"));
    EXPECT_EQ(r.status, request_status::closed);
    EXPECT_EQ(r.error, client_errc::closed_by_server);
}

TEST(client_tcp, requestFailsWithConnectionResetWhenTheServerResets) {
    fake_tcp_server server([](int conn) {
        EXPECT_TRUE(read_frame(conn).has_value());
        reset(conn);
    });
    client c("127.0.0.1", server.port(), over_tcp());

    const auto start = client::clock::now();
    const request_result r = c.subscribe("t", 5000ms);

    EXPECT_EQ(r.status, request_status::closed);
    EXPECT_EQ(r.error, std::errc::connection_reset);
    EXPECT_LT(client::clock::now() - start, 2000ms);
    EXPECT_TRUE(c.closed());
    EXPECT_EQ(c.close_reason(), std::errc::connection_reset);
    // Every later call fails the same way at once: no reconnect behind the caller's back.
    EXPECT_EQ(c.ping(as_bytes("x"), 5000ms).status, request_status::closed);
    EXPECT_EQ(c.publish("t", as_bytes("x")), std::errc::connection_reset);
    EXPECT_EQ(c.publish_acked("t", as_bytes("x"), 1).status, request_status::closed);
    EXPECT_FALSE(c.receive(5000ms).has_value());
    EXPECT_LT(client::clock::now() - start, 2000ms);
}

TEST(client_tcp, sharesHelloRequestsAndPublishingWithUdp) {
    std::vector<received_frame> frames; // complete once the server is gone
    {
        fake_tcp_server server([&](int conn) {
            while (const auto f = read_frame(conn)) {
                frames.push_back(*f);
                if (f->code == op::ping) {
                    write_all(conn, frame_bytes(op::pong, 0, f->seq, {}, f->payload));
                } else if (f->code == op::pub && (f->flags & flags::qos_mask) != 0) {
                    write_all(conn, frame_bytes(op::ack, 0, f->seq, {}, u64_text(77)));
                } else if (f->code != op::pub) {
                    write_all(conn, frame_bytes(op::ack, 0, f->seq, {}, {}));
                }
                if (f->code == op::bye) {
                    break;
                }
            }
            ::close(conn);
        });
        client_options opt = over_tcp();
        opt.token = "secret";
        client c("127.0.0.1", server.port(), opt);
        const std::string payload(100, 'p');
        const std::vector<outgoing> batch(50, outgoing{"batch", as_bytes(payload), 0});

        ASSERT_TRUE(c.subscribe("t").ok()); // HELLO first, as over UDP
        const request_result pong = c.ping(as_bytes("echo me"));
        ASSERT_TRUE(pong.ok());
        EXPECT_EQ(pong.payload, "echo me");
        ASSERT_FALSE(c.publish_batch(batch));
        const publish_result acked = c.publish_acked("q", as_bytes("x"), 2);
        ASSERT_TRUE(acked.ok());
        EXPECT_EQ(acked.topic_seq, 77u);
        ASSERT_TRUE(c.bye().ok());
    }

    // HELLO, SUB, PING, the 50 PUBs of the batch, the QoS 2 PUB, BYE: whole, in order, one seq counter.
    ASSERT_EQ(frames.size(), 55u);
    EXPECT_EQ(frames[0].code, op::hello);
    EXPECT_EQ(frames[0].payload, "secret");
    EXPECT_EQ(frames[1].code, op::sub);
    EXPECT_EQ(frames[2].code, op::ping);
    for (size_t i = 3; i < 53; ++i) {
        EXPECT_EQ(frames[i].code, op::pub);
        EXPECT_EQ(frames[i].topic, "batch");
        EXPECT_EQ(frames[i].payload, std::string(100, 'p'));
    }
    EXPECT_EQ(frames[53].code, op::pub);
    EXPECT_EQ(frames[53].flags & flags::qos_mask, 2);
    EXPECT_EQ(frames[54].code, op::bye);
    for (size_t i = 1; i < frames.size(); ++i) {
        EXPECT_EQ(frames[i].seq, frames[i - 1].seq + 1) << i;
    }
}

TEST(client_tcp, aStreamThatBreaksFramingClosesTheConnection) {
    fake_tcp_server server([](int conn) {
        const auto sub = read_frame(conn);
        ASSERT_TRUE(sub.has_value());
        auto bad = msg(2, "t", "lies");
        bad[frame_off::magic] = std::byte{0};
        // The frame before the break stands; nothing after it can be found again.
        write_all(conn, concat({frame_bytes(op::ack, 0, sub->seq, {}, {}), msg(1, "t", "kept"), bad,
                                msg(3, "t", "lost")}));
        (void)read_exact(conn, 1); // until the client hangs up
        ::close(conn);
    });
    client c("127.0.0.1", server.port(), over_tcp());

    ASSERT_TRUE(c.subscribe("t").ok());

    const auto m = c.receive(1000ms);
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->payload, "kept");
    EXPECT_FALSE(c.receive(1000ms).has_value());
    EXPECT_EQ(c.close_reason(), client_errc::broken_stream);
}

TEST(client_tcp, constructorNamesTheConnectThatWasRefused) {
    // Bound and not listening: the port is ours, and the kernel refuses a connect to it.
    const int held = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(held, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
    socklen_t len = sizeof(sa);
    ASSERT_EQ(::getsockname(held, reinterpret_cast<sockaddr*>(&sa), &len), 0);
    const uint16_t port = ntohs(sa.sin_port);
    try {
        client c("127.0.0.1", port, over_tcp());
        FAIL() << "no exception";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), std::errc::connection_refused);
        const std::string want = "connect(127.0.0.1:" + std::to_string(port) + ")";
        EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
    }
    ::close(held);
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
