// nats_driver: a NATS publisher for ringcast-bridge's tests and benchmark,
// on the official NATS C client.
//
//   nats_driver pub --servers URL[,URL...] --subject S --count N [--size B] [--js] [--first K]
//       publishes N messages whose payloads begin with their number (K, K+1,
//       ...; 10 digits) padded to B bytes; --js publishes each through
//       JetStream and waits for its PubAck, again after a failure (a node
//       that died), so every one is stored. Prints "published N".
//   nats_driver stream --servers URLS --name NAME --subject S [--replicas R]
//       makes the JetStream stream NAME over subject filter S (file storage,
//       R replicas); an existing one is fine. Fails while JetStream has no
//       leader yet: callers retry.
//   nats_driver consumer --servers URLS --name STREAM --subject S --op list|info|delete|add [--consumer C] [--first K]
//       the stream's consumers as a bridge left them, or as a server that
//       lost track of them would: list prints their names, one a line;
//       info prints C's "absent" or "start=K ack_floor=F"; delete removes
//       C (absent is fine); add makes C a pull durable on S from stream seq K.
//   nats_driver lat --servers URLS --subject S --ringcast ADDR:PORT --topic T
//                   [--count N] [--rate R] [--size B]
//       publishes N messages at R per second carrying their send time, and
//       receives each from NATS (a subscription of its own) and from
//       ringcastd (an RCP/1 subscription over UDP to the topic the bridge
//       maps S to). Prints p50/p99/max of both, in microseconds.
#include <ringcast/client/client.hpp>

#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "nats_driver: %s\n", what.c_str());
    std::exit(1);
}

void check(natsStatus s, const char* what) {
    if (s != NATS_OK) {
        die(std::string(what) + ": " + natsStatus_GetText(s));
    }
}

struct args {
    std::string mode, servers, subject, ringcast, topic, name, consumer, op;
    uint64_t count = 1000, first = 1, rate = 10000, replicas = 1;
    size_t size = 64;
    bool js = false;
    bool async = false; // --js --async: JetStream publishes with PubAcks outstanding
    bool paced = false; // --rate given
};

args parse(int argc, char** argv) {
    if (argc < 2) {
        die("usage: nats_driver pub|lat --servers URLS --subject S ...");
    }
    args a;
    a.mode = argv[1];
    for (int i = 2; i < argc; ++i) {
        const std::string k = argv[i];
        const auto val = [&]() -> std::string {
            if (i + 1 >= argc) {
                die(k + " needs a value");
            }
            return argv[++i];
        };
        if (k == "--servers") {
            a.servers = val();
        } else if (k == "--subject") {
            a.subject = val();
        } else if (k == "--count") {
            a.count = std::stoull(val());
        } else if (k == "--first") {
            a.first = std::stoull(val());
        } else if (k == "--size") {
            a.size = std::stoull(val());
        } else if (k == "--rate") {
            a.rate = std::stoull(val());
            a.paced = true;
        } else if (k == "--ringcast") {
            a.ringcast = val();
        } else if (k == "--topic") {
            a.topic = val();
        } else if (k == "--name") {
            a.name = val();
        } else if (k == "--consumer") {
            a.consumer = val();
        } else if (k == "--op") {
            a.op = val();
        } else if (k == "--replicas") {
            a.replicas = std::stoull(val());
        } else if (k == "--js") {
            a.js = true;
        } else if (k == "--async") {
            a.async = true;
        } else {
            die("unknown argument " + k);
        }
    }
    if (a.servers.empty() || a.subject.empty() || ((a.mode == "stream" || a.mode == "consumer") && a.name.empty())) {
        die("--servers and --subject are required");
    }
    return a;
}

natsConnection* connect(const std::string& servers) {
    natsOptions* o = nullptr;
    check(natsOptions_Create(&o), "natsOptions_Create");
    std::vector<std::string> urls;
    for (size_t p = 0; p <= servers.size();) {
        const size_t c = std::min(servers.find(',', p), servers.size());
        urls.push_back(servers.substr(p, c - p));
        p = c + 1;
    }
    std::vector<const char*> ptrs;
    for (const auto& u : urls) {
        ptrs.push_back(u.c_str());
    }
    check(natsOptions_SetServers(o, ptrs.data(), static_cast<int>(ptrs.size())), "natsOptions_SetServers");
    check(natsOptions_SetMaxReconnect(o, -1), "natsOptions_SetMaxReconnect");
    check(natsOptions_SetReconnectWait(o, 100), "natsOptions_SetReconnectWait");
    natsConnection* nc = nullptr;
    check(natsConnection_Connect(&nc, o), "natsConnection_Connect");
    natsOptions_Destroy(o);
    return nc;
}

std::string payload(uint64_t n, size_t size) {
    char head[16];
    std::snprintf(head, sizeof(head), "%010llu", static_cast<unsigned long long>(n));
    std::string p(head);
    if (p.size() < size) {
        p.append(size - p.size(), 'x');
    }
    return p;
}

int stream(const args& a) {
    natsConnection* nc = connect(a.servers);
    jsCtx* js = nullptr;
    check(natsConnection_JetStream(&js, nc, nullptr), "natsConnection_JetStream");
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = a.name.c_str();
    const char* subjects[] = {a.subject.c_str()};
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Replicas = static_cast<int64_t>(a.replicas);
    jsStreamInfo* si = nullptr;
    jsErrCode jerr{};
    const natsStatus s = js_AddStream(&si, js, &cfg, nullptr, &jerr);
    if (s != NATS_OK && jerr != JSStreamNameExistErr) {
        die(std::string("js_AddStream: ") + natsStatus_GetText(s) + " (" + std::to_string(jerr) + ")");
    }
    jsStreamInfo_Destroy(si);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    std::printf("stream %s ready\n", a.name.c_str());
    return 0;
}

int consumer(const args& a) {
    natsConnection* nc = connect(a.servers);
    jsCtx* js = nullptr;
    check(natsConnection_JetStream(&js, nc, nullptr), "natsConnection_JetStream");
    jsErrCode jerr{};
    natsStatus s = NATS_OK;
    if (a.op == "list") {
        jsConsumerNamesList* list = nullptr;
        s = js_ConsumerNames(&list, js, a.name.c_str(), nullptr, &jerr);
        if (s == NATS_OK) {
            std::vector<std::string> names(list->List, list->List + list->Count);
            std::sort(names.begin(), names.end());
            for (const std::string& n : names) {
                std::printf("%s\n", n.c_str());
            }
            jsConsumerNamesList_Destroy(list);
        } else if (s == NATS_NOT_FOUND && jerr == 0) {
            s = NATS_OK; // none
        }
    } else if (a.op == "info") {
        jsConsumerInfo* ci = nullptr;
        s = js_GetConsumerInfo(&ci, js, a.name.c_str(), a.consumer.c_str(), nullptr, &jerr);
        if (s == NATS_OK) {
            const bool by_seq = ci->Config->DeliverPolicy == js_DeliverByStartSequence;
            std::printf("start=%llu ack_floor=%llu\n", static_cast<unsigned long long>(by_seq ? ci->Config->OptStartSeq : 0),
                        static_cast<unsigned long long>(ci->AckFloor.Stream));
            jsConsumerInfo_Destroy(ci);
        } else if (jerr == JSConsumerNotFoundErr) {
            std::printf("absent\n");
            s = NATS_OK;
        }
    } else if (a.op == "delete") {
        s = js_DeleteConsumer(js, a.name.c_str(), a.consumer.c_str(), nullptr, &jerr);
        if (jerr == JSConsumerNotFoundErr) {
            s = NATS_OK;
        }
    } else if (a.op == "add") {
        jsConsumerConfig cc;
        jsConsumerConfig_Init(&cc);
        cc.Durable = a.consumer.c_str();
        cc.FilterSubject = a.subject.c_str();
        cc.AckPolicy = js_AckExplicit;
        cc.DeliverPolicy = js_DeliverByStartSequence;
        cc.OptStartSeq = a.first;
        jsConsumerInfo* ci = nullptr;
        s = js_AddConsumer(&ci, js, a.name.c_str(), &cc, nullptr, &jerr);
        jsConsumerInfo_Destroy(ci);
    } else {
        die("--op must be list, info, delete or add");
    }
    if (s != NATS_OK) {
        die("consumer " + a.op + ": " + natsStatus_GetText(s) + " (" + std::to_string(jerr) + ")");
    }
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    return 0;
}

void on_async_error(jsCtx*, jsPubAckErr* pae, void* closure) {
    static_cast<std::atomic<uint64_t>*>(closure)->fetch_add(1);
    (void)pae;
}

int pub(const args& a) {
    natsConnection* nc = connect(a.servers);
    jsCtx* js = nullptr;
    std::atomic<uint64_t> async_errors{0};
    if (a.js) {
        jsOptions jo;
        jsOptions_Init(&jo);
        jo.Wait = 2000;
        jo.PublishAsync.MaxPending = 4096;
        jo.PublishAsync.ErrHandler = &on_async_error;
        jo.PublishAsync.ErrHandlerClosure = &async_errors;
        check(natsConnection_JetStream(&js, nc, &jo), "natsConnection_JetStream");
    }
    uint64_t retries = 0;
    const auto gap = std::chrono::nanoseconds(1'000'000'000 / std::max<uint64_t>(a.rate, 1));
    auto next = std::chrono::steady_clock::now();
    for (uint64_t i = 0; i < a.count; ++i) {
        if (a.paced) {
            std::this_thread::sleep_until(next);
            next += gap;
        }
        const std::string p = payload(a.first + i, a.size);
        if (js == nullptr) {
            check(natsConnection_Publish(nc, a.subject.c_str(), p.data(), static_cast<int>(p.size())),
                  "natsConnection_Publish");
            continue;
        }
        if (a.async) {
            check(js_PublishAsync(js, a.subject.c_str(), p.data(), static_cast<int>(p.size()), nullptr),
                  "js_PublishAsync");
            continue;
        }
        // Until stored: a node dying mid-stream costs a retry, never a message
        // (the stream's duplicate window keys on Nats-Msg-Id, so a retry of one
        // that was stored after all is not stored twice).
        const std::string id = "m" + std::to_string(a.first + i);
        for (;;) {
            jsPubOptions po;
            jsPubOptions_Init(&po);
            po.MsgId = id.c_str();
            jsPubAck* ack = nullptr;
            jsErrCode jerr{};
            if (js_Publish(&ack, js, a.subject.c_str(), p.data(), static_cast<int>(p.size()), &po, &jerr) ==
                NATS_OK) {
                jsPubAck_Destroy(ack);
                break;
            }
            ++retries;
            std::this_thread::sleep_for(50ms);
        }
    }
    if (js != nullptr && a.async) {
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MaxWait = 60000;
        check(js_PublishAsyncComplete(js, &po), "js_PublishAsyncComplete");
        if (async_errors.load() != 0) {
            die(std::to_string(async_errors.load()) + " asynchronous publishes failed");
        }
    }
    check(natsConnection_FlushTimeout(nc, 10000), "natsConnection_Flush");
    std::printf("published %llu retries %llu\n", static_cast<unsigned long long>(a.count),
                static_cast<unsigned long long>(retries));
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    return 0;
}

uint64_t now_ns() {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
            .count());
}

struct samples {
    std::mutex mu;
    std::vector<uint64_t> ns;
    void add(uint64_t sent) {
        const uint64_t d = now_ns() - sent;
        const std::lock_guard lock(mu);
        ns.push_back(d);
    }
};

void on_nats(natsConnection*, natsSubscription*, natsMsg* m, void* closure) {
    uint64_t sent = 0;
    if (natsMsg_GetDataLength(m) >= 8) {
        std::memcpy(&sent, natsMsg_GetData(m), 8);
        static_cast<samples*>(closure)->add(sent);
    }
    natsMsg_Destroy(m);
}

void report(const char* name, std::vector<uint64_t> v, uint64_t sent) {
    if (v.empty()) {
        std::printf("%s: received 0 of %llu\n", name, static_cast<unsigned long long>(sent));
        return;
    }
    std::sort(v.begin(), v.end());
    const auto at = [&](double q) { return static_cast<double>(v[static_cast<size_t>(q * (v.size() - 1))]) / 1e3; };
    std::printf("%s: received %zu of %llu  p50 %.1f us  p99 %.1f us  max %.1f us\n", name, v.size(),
                static_cast<unsigned long long>(sent), at(0.5), at(0.99), at(1.0));
}

int lat(const args& a) {
    if (a.ringcast.empty() || a.topic.empty()) {
        die("lat needs --ringcast ADDR:PORT and --topic T");
    }
    const size_t colon = a.ringcast.rfind(':');
    ringcast::client rc(a.ringcast.substr(0, colon), static_cast<uint16_t>(std::stoi(a.ringcast.substr(colon + 1))));
    if (!rc.subscribe(a.topic).ok()) {
        die("ringcastd did not ACK the SUB to " + a.topic);
    }
    natsConnection* nc = connect(a.servers);
    samples from_nats, from_ringcast;
    natsSubscription* sub = nullptr;
    check(natsConnection_Subscribe(&sub, nc, a.subject.c_str(), &on_nats, &from_nats), "natsConnection_Subscribe");
    check(natsConnection_Flush(nc), "natsConnection_Flush");
    std::atomic<bool> done{false};
    std::thread reader([&] {
        while (!done) {
            if (auto m = rc.receive(20ms); m && m->code == ringcast::op::msg && m->payload.size() >= 8) {
                uint64_t sent = 0;
                std::memcpy(&sent, m->payload.data(), 8);
                from_ringcast.add(sent);
            }
        }
    });
    std::this_thread::sleep_for(200ms);
    std::string p(std::max<size_t>(a.size, 8), 'x');
    const auto gap = std::chrono::nanoseconds(1'000'000'000 / std::max<uint64_t>(a.rate, 1));
    auto next = std::chrono::steady_clock::now();
    for (uint64_t i = 0; i < a.count; ++i) {
        std::this_thread::sleep_until(next);
        next += gap;
        const uint64_t t = now_ns();
        std::memcpy(p.data(), &t, 8);
        check(natsConnection_Publish(nc, a.subject.c_str(), p.data(), static_cast<int>(p.size())),
              "natsConnection_Publish");
    }
    (void)natsConnection_Flush(nc);
    std::this_thread::sleep_for(1s);
    done = true;
    reader.join();
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(nc);
    const std::lock_guard l1(from_nats.mu), l2(from_ringcast.mu);
    report("nats subscriber", from_nats.ns, a.count);
    report("ringcast subscriber (via bridge)", from_ringcast.ns, a.count);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    const args a = parse(argc, argv);
    if (a.mode == "pub") {
        return pub(a);
    }
    if (a.mode == "stream") {
        return stream(a);
    }
    if (a.mode == "consumer") {
        return consumer(a);
    }
    if (a.mode == "lat") {
        return lat(a);
    }
    die("unknown mode " + a.mode);
}
