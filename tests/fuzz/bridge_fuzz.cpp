// libFuzzer: ringcast-bridge's parsers on any text. The whole input is a
// bridge config for parse_bridge_config, which must return its errors,
// never throw. Its first three lines are also a [[forward]] rule (subject
// filter, topic prefix) and a NATS subject: a rule check_forward_rule
// accepts maps a subject only onto a topic RCP/1 takes for PUB, and one
// that the rule's own ringcast filter (topic_filter_of) matches.
#include "fuzz_check.hpp"

#include <ringcast/bridge/bridge_config.hpp>
#include <ringcast/bridge/subject_map.hpp>
#include <ringcast/core/topic.hpp>

#include <span>
#include <string>
#include <string_view>

namespace {

using namespace ringcast;

constexpr std::string_view path = "fuzz.toml";
constexpr size_t max_topic = 255;

std::string_view next_line(std::string_view& s) {
    const size_t nl = s.find('\n');
    const std::string_view line = s.substr(0, nl);
    s.remove_prefix(nl == std::string_view::npos ? s.size() : nl + 1);
    return line;
}

std::span<const std::byte> bytes(std::string_view s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text = fuzz::text(fuzz::input(data, size));
    const bridge_config_result r = parse_bridge_config(text, path);
    for (const config_error& e : r.errors) {
        RC_FUZZ_CHECK(e.path == path && !e.message.empty());
        RC_FUZZ_CHECK(e.to_string().starts_with(path));
    }
    if (r.ok()) {
        RC_FUZZ_CHECK(!r.cfg.forward.empty());
        RC_FUZZ_CHECK(!r.cfg.jetstream || (r.cfg.forward.size() == 1 && r.cfg.appliance.qos != 0));
        for (const forward_rule& rule : r.cfg.forward) {
            RC_FUZZ_CHECK(check_forward_rule(rule).empty());
        }
    }

    std::string_view rest = text;
    const forward_rule rule{std::string(next_line(rest)), std::string(next_line(rest))};
    const std::string_view subject = next_line(rest);
    if (!check_forward_rule(rule).empty()) {
        return 0;
    }
    RC_FUZZ_CHECK(subjects_overlap(rule.filter, rule.filter));
    std::string topic;
    if (map_subject(rule, subject, topic, max_topic) != map_status::ok) {
        return 0;
    }
    RC_FUZZ_CHECK(check_pub_topic(bytes(topic), max_topic) == topic_check::ok);
    const std::string filter = topic_filter_of(rule);
    filter_spec spec;
    RC_FUZZ_CHECK(parse_filter(bytes(filter), 1024, spec) == topic_check::ok);
    RC_FUZZ_CHECK(filter_matches(spec.filter, bytes(topic)));
    return 0;
}
