// Identities and ACLs: filter coverage and the publish prefixes as tables of
// cases, HELLO's token lookup, keys that survive a reload only while the
// name and token do, and the policy's view of the config.
#include <ringcast/core/access_policy.hpp>

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace ringcast {
namespace {

std::span<const std::byte> bytes_of(std::string_view s) {
    return std::as_bytes(std::span(s.data(), s.size()));
}

struct cover_case {
    std::string_view pattern;
    std::string_view filter;
    bool covers;
};

TEST(access_policy, filter_covers_by_mqtt_rules) {
    const cover_case cases[] = {
        {"md/#", "md/a", true},
        {"md/#", "md/a/b/c", true},
        {"md/#", "md", true}, // '#' matches the parent too
        {"md/#", "md/+", true},
        {"md/#", "md/#", true},
        {"md/#", "md/+/x/#", true},
        {"md/#", "mdx/a", false},
        {"md/#", "ops/a", false},
        {"md/#", "+/a", false},
        {"md/#", "#", false},
        {"#", "#", true},
        {"#", "a/+/b", true},
        {"md/+", "md/a", true},
        {"md/+", "md/+", true},
        {"md/+", "md/a/b", false},
        {"md/+", "md", false},
        {"md/+", "md/#", false},
        {"md/+/q", "md/x/q", true},
        {"md/+/q", "md/+/q", true},
        {"md/+/q", "md/x/r", false},
        {"md/a", "md/a", true},
        {"md/a", "md/+", false},
        {"md/a", "md/ab", false},
        {"md/a", "md", false},
        {"+/+", "a/b", true},
        {"+/+", "+/#", false},
        {"+", "a", true},
        {"+", "a/b", false},
    };
    for (const cover_case& c : cases) {
        EXPECT_EQ(filter_covers(bytes_of(c.pattern), bytes_of(c.filter)), c.covers)
            << "pattern " << c.pattern << " filter " << c.filter;
    }
}

config with_identities() {
    config c;
    c.rcp.require_auth = true;
    c.rcp.err_per_s = 7;
    c.rcp.err_global_per_s = 70;
    c.limits.source_subscriptions = 5;
    c.limits.source_topics_per_s = 3;
    c.identities.push_back(identity_config{.name = "feed",
                                           .token_sha256 = sha256(bytes_of("feed-token")),
                                           .publish = {"md/"},
                                           .subscribe = {}});
    c.identities.push_back(identity_config{.name = "reader",
                                           .token_sha256 = sha256(bytes_of("reader-token")),
                                           .publish = {},
                                           .subscribe = {"md/#", "ops/+/status"}});
    c.identities.push_back(identity_config{
        .name = "admin", .token_sha256 = sha256(bytes_of("admin-token")), .publish = {""}, .subscribe = {"#"}});
    return c;
}

TEST(access_policy, authenticate_finds_the_identity_of_a_token) {
    const access_policy p(with_identities(), 1);
    EXPECT_TRUE(p.required());
    ASSERT_EQ(p.size(), 3u);
    EXPECT_EQ(p.authenticate(bytes_of("feed-token")), 0u);
    EXPECT_EQ(p.authenticate(bytes_of("reader-token")), 1u);
    EXPECT_EQ(p.authenticate(bytes_of("admin-token")), 2u);
    EXPECT_EQ(p.authenticate(bytes_of("feed-token ")), no_identity);
    EXPECT_EQ(p.authenticate(bytes_of("")), no_identity);
    EXPECT_EQ(p.authenticate(bytes_of("wrong")), no_identity);
}

struct acl_case {
    std::string_view identity;
    std::string_view op; // "pub" or "sub"
    std::string_view topic;
    bool allowed;
};

TEST(access_policy, acl_decisions) {
    const access_policy p(with_identities(), 1);
    const acl_case cases[] = {
        {"feed", "pub", "md/eurusd", true},
        {"feed", "pub", "md/", true}, // the prefix is bytes, not levels
        {"feed", "pub", "md", false},
        {"feed", "pub", "mdx/a", false},
        {"feed", "pub", "ops/deploy", false},
        {"feed", "sub", "md/#", false}, // a publisher only
        {"reader", "pub", "md/eurusd", false},
        {"reader", "sub", "md/eurusd", true},
        {"reader", "sub", "md/+/bid", true},
        {"reader", "sub", "md/#", true},
        {"reader", "sub", "ops/web/status", true},
        {"reader", "sub", "ops/+/status", true},
        {"reader", "sub", "ops/web/log", false},
        {"reader", "sub", "ops/#", false},
        {"reader", "sub", "#", false},
        {"reader", "sub", "+/eurusd", false},
        {"admin", "pub", "anything/at/all", true},
        {"admin", "sub", "#", true},
    };
    for (const acl_case& c : cases) {
        const uint32_t id = p.authenticate(bytes_of(std::string(c.identity) + "-token"));
        ASSERT_NE(id, no_identity) << c.identity;
        const bool got = c.op == "pub" ? p.at(id).may_publish(bytes_of(c.topic)) : p.at(id).may_subscribe(bytes_of(c.topic));
        EXPECT_EQ(got, c.allowed) << c.identity << " " << c.op << " " << c.topic;
    }
}

TEST(access_policy, keys_outlive_a_reload_while_name_and_token_stay) {
    const config before = with_identities();
    config after = before;
    after.identities[0].subscribe = {"md/#"};                       // ACL changed: same key
    after.identities[1].token_sha256 = sha256(bytes_of("rotated")); // token changed: new key
    after.identities[2].name = "root";                              // renamed: new key
    const access_policy a(before, 1);
    const access_policy b(after, 2);
    EXPECT_EQ(b.generation(), 2u);
    EXPECT_EQ(b.find(a.at(0).key), 0u);
    EXPECT_EQ(b.find(a.at(1).key), no_identity);
    EXPECT_EQ(b.find(a.at(2).key), no_identity);
    EXPECT_EQ(a.find(0), no_identity);
    EXPECT_TRUE(b.at(0).may_subscribe(bytes_of("md/x")));
}

TEST(access_policy, carries_the_reloadable_limits) {
    const access_policy p(with_identities(), 1);
    EXPECT_EQ(p.err_per_s, 7u);
    EXPECT_EQ(p.err_global_per_s, 70u);
    EXPECT_EQ(p.source_subscriptions, 5u);
    EXPECT_EQ(p.source_topics_per_s, 3u);
    const access_policy open(config{}, 1);
    EXPECT_FALSE(open.required());
    EXPECT_EQ(open.size(), 0u);
}

TEST(access_policy, restart_needed_names_what_a_reload_cannot_change) {
    const config a = with_identities();
    config b = a;
    EXPECT_EQ(restart_needed(a, b), "");
    b.path = "elsewhere.toml";
    EXPECT_EQ(restart_needed(a, b), "");
    b.limits.topics = 9;
    b.eal.memory_mb = 1024;
    EXPECT_EQ(restart_needed(a, b), "[eal], [limits]");
}

} // namespace
} // namespace ringcast
