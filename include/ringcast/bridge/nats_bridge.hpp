// ringcast-bridge's engine: NATS subscriptions (core, or one JetStream
// durable consumer) in, RCP/1 PUBs to ringcastd out, on the official NATS C
// client and ringcast's own client library. One thread runs it (run());
// NATS's callbacks only queue messages for that thread and wake it.
//
// Core NATS mode: every [[forward]] subject filter is a subscription. At
// QoS 0 the PUBs leave in batches and are not acknowledged; at QoS 1 or 2
// each is resent until ringcastd ACKs it, and dropped and counted after
// appliance.attempts sends: a loss is counted here, never silent.
//
// JetStream mode: a durable push consumer with explicit acks. A NATS
// message is acknowledged once ringcastd has ACKed its PUB, whose seq is the
// message's stream seq, so a resend after a lost ACK, or after a restart
// from the same UDP source port, is absorbed by the QoS 2 dedup window. At
// start-up, after deliveries were lost on the way (a gap in the consumer
// seqs), and when a reconnect finds the consumer gone, the consumer is made
// again (as the next generation, `<durable>-<n>`) from the oldest stream seq
// not known to be in ringcastd, so delivery resumes in order with no gap
// (bridge/consumer_position).
#pragma once

#include <ringcast/bridge/bridge_config.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace ringcast {

// Read by the stats socket's thread while run() writes them.
struct bridge_counters {
    std::atomic<uint64_t> received{0};        // NATS messages taken from the subscriptions
    std::atomic<uint64_t> forwarded{0};       // ACKed by ringcastd (QoS 1, 2), or sent (QoS 0)
    std::atomic<uint64_t> sent{0};            // PUB frames sent, resends included
    std::atomic<uint64_t> resent{0};          // PUBs sent again for want of an ACK
    std::atomic<uint64_t> refused{0};         // PUBs ringcastd answered with ERR (ACL, limits)
    std::atomic<uint64_t> unmappable{0};      // subjects with no ringcast topic (subject_map)
    std::atomic<uint64_t> given_up{0};        // core mode: unACKed after appliance.attempts sends
    std::atomic<uint64_t> send_failed{0};     // QoS 0 PUBs the kernel refused to send
    std::atomic<uint64_t> nats_dropped{0};    // core mode: dropped, nats.pending_messages waiting already
    std::atomic<uint64_t> redelivered{0};     // JetStream: messages delivered again that were already sent
    std::atomic<uint64_t> resyncs{0};         // JetStream: the consumer made again at the resume seq
    std::atomic<uint64_t> delivery_gaps{0};   // JetStream: deliveries found skipped (the consumer then goes back)
    std::atomic<uint64_t> nats_disconnects{0};
    std::atomic<uint64_t> nats_reconnects{0};
    std::atomic<uint64_t> appliance_reconnects{0}; // TCP: the connection to ringcastd made again
    std::atomic<uint64_t> in_flight{0};       // gauge: PUBs waiting for their ACK
    std::atomic<uint64_t> queued{0};          // gauge: NATS messages waiting for the bridge thread
    std::atomic<uint64_t> lag{0};             // gauge, JetStream: messages the consumer has yet to deliver
    std::atomic<uint64_t> acked_stream_seq{0}; // gauge, JetStream: all stream seqs below the resume point are done
};

class nats_bridge {
public:
    // Connects to NATS (any server of the list) and to ringcastd, and sets
    // up the subscriptions or the consumer. Throws std::runtime_error saying
    // what failed.
    explicit nats_bridge(const bridge_config& cfg);
    ~nats_bridge();
    nats_bridge(const nats_bridge&) = delete;
    nats_bridge& operator=(const nats_bridge&) = delete;

    // Forwards until `stop` is set, then waits up to `drain_ms` for the ACKs
    // of what is in flight. Returns 0, or 1 after an error it could not get
    // past (said on stderr).
    int run(const std::atomic<bool>& stop, uint32_t drain_ms = 2000);

    [[nodiscard]] const bridge_counters& counters() const noexcept;

private:
    struct impl;
    std::unique_ptr<impl> _impl;
};

} // namespace ringcast
