#include <ringcast/bridge/subject_map.hpp>

#include <gtest/gtest.h>

#include <string>

using namespace ringcast;

namespace {

struct mapping {
    const char* filter;
    const char* prefix;
    std::string subject;
    map_status status;
    const char* topic; // when ok
};

const mapping mappings[] = {
    // The literal head gives way to the prefix; the rest follows, '.' -> '/'.
    {"md.>", "market", "md.eq.AAPL", map_status::ok, "market/eq/AAPL"},
    {"md.>", "market", "md.x", map_status::ok, "market/x"},
    {"md.>", "nats/md", "md.eq.AAPL", map_status::ok, "nats/md/eq/AAPL"},
    {"md.*.AAPL", "aapl", "md.eq.AAPL", map_status::ok, "aapl/eq/AAPL"},
    {"md.eq.*", "eq", "md.eq.MSFT", map_status::ok, "eq/MSFT"},
    {"*.>", "all", "a.b.c", map_status::ok, "all/a/b/c"},
    {">", "all", "a", map_status::ok, "all/a"},
    {"core.feed", "core", "core.feed", map_status::ok, "core"},
    {"core.feed", "x/y", "core.feed", map_status::ok, "x/y"},
    // No prefix: token for token.
    {"core.feed", "", "core.feed", map_status::ok, "core/feed"},
    {"md.>", "", "md.eq.AAPL", map_status::ok, "md/eq/AAPL"},
    {">", "", "a.b", map_status::ok, "a/b"},
    // Characters NATS allows in a token and a topic level takes as they are.
    {"md.>", "m", "md.BRK-B.$x.a*b.c>d", map_status::ok, "m/BRK-B/$x/a*b/c>d"},
    {"md.>", "m", "md.\xc3\xa9t\xc3\xa9", map_status::ok, "m/\xc3\xa9t\xc3\xa9"},
    // Not matched by the filter.
    {"md.>", "m", "md", map_status::no_match, nullptr},
    {"md.>", "m", "mdx.a", map_status::no_match, nullptr},
    {"md.*", "m", "md.a.b", map_status::no_match, nullptr},
    {"md.*", "m", "md", map_status::no_match, nullptr},
    {"core.feed", "c", "core.feed.x", map_status::no_match, nullptr},
    {"core.feed", "c", "core", map_status::no_match, nullptr},
    {"a", "c", "", map_status::no_match, nullptr},
    // Tokens a topic level cannot be: refused, never bent.
    {"md.>", "m", "md.a/b", map_status::bad_token, nullptr},
    {"md.>", "m", "md.a+b", map_status::bad_token, nullptr},
    {"md.>", "m", "md.#", map_status::bad_token, nullptr},
    {"md.>", "m", "md.+", map_status::bad_token, nullptr},
    {"md.>", "m", "md..x", map_status::bad_token, nullptr},
    {"md.>", "m", "md.x.", map_status::bad_token, nullptr},
    {"md.>", "m", "md.a b", map_status::bad_token, nullptr},
    {"md.>", "m", "md.a\tb", map_status::bad_token, nullptr},
    {"md.>", "m", std::string("md.a\0b", 6), map_status::bad_token, nullptr},
    {"*.>", "m", ".a.b", map_status::bad_token, nullptr},
    // A '$' first level is RCP/1's own.
    {">", "", "$SYS.x", map_status::reserved, nullptr},
    {"*.x", "", "$a.x", map_status::reserved, nullptr},
    {">", "sys", "$SYS.x", map_status::ok, "sys/$SYS/x"},
    // The length limit (255) holds for the whole topic.
    {"md.>", "m", "md." + std::string(253, 'a'), map_status::ok, nullptr},
    {"md.>", "m", "md." + std::string(254, 'a'), map_status::too_long, nullptr},
    {">", "", std::string(255, 'a'), map_status::ok, nullptr},
    {">", "", std::string(256, 'a'), map_status::too_long, nullptr},
};

} // namespace

TEST(subject_map, mapsSubjectsToTopicsAndRefusesWhatHasNoFaithfulTopic) {
    std::string out = "left over";
    for (const mapping& m : mappings) {
        const forward_rule rule{m.filter, m.prefix};
        ASSERT_EQ(check_forward_rule(rule), "") << m.filter << " + " << m.prefix;
        const map_status st = map_subject(rule, m.subject, out);
        EXPECT_EQ(st, m.status) << m.filter << " + \"" << m.prefix << "\" on \"" << m.subject << "\": got "
                                << to_string(st);
        if (st == map_status::ok && m.topic != nullptr) {
            EXPECT_EQ(out, m.topic) << m.filter << " on " << m.subject;
        }
    }
}

TEST(subject_map, theLengthLimitIsAnArgument) {
    std::string out;
    const forward_rule rule{"md.>", "m"};
    EXPECT_EQ(map_subject(rule, "md.abc", out, 5), map_status::ok);
    EXPECT_EQ(out, "m/abc");
    EXPECT_EQ(map_subject(rule, "md.abcd", out, 5), map_status::too_long);
}

TEST(subject_map, refusesRulesWithNoUsableMapping) {
    struct bad {
        const char* filter;
        const char* prefix;
        const char* says;
    };
    const bad bads[] = {
        {"", "m", "empty"},
        {"md..x", "m", "token \"\""},
        {".md", "m", "token \"\""},
        {"md.", "m", "token \"\""},
        {"md.a/b", "m", "token \"a/b\""},
        {"md.a+", "m", "token \"a+\""},
        {"md.#", "m", "token \"#\""},
        {"md.a b", "m", "white space"},
        {"md.>.x", "m", "'>' must be the subject filter's last token"},
        {">.>", "m", "'>' must be"},
        {"md.>", "a/+", "topic_prefix \"a/+\" is not a ringcast topic (wildcard in topic)"},
        {"md.>", "a/#", "(wildcard in topic)"},
        {"md.>", "a//b", "(empty topic level)"},
        {"md.>", "a/", "(empty topic level)"},
        {"md.>", "$sys", "starts with '$'"},
        {"$SYS.>", "", "give a topic_prefix"},
    };
    for (const bad& b : bads) {
        const std::string why = check_forward_rule({b.filter, b.prefix});
        EXPECT_NE(why.find(b.says), std::string::npos) << b.filter << " + " << b.prefix << ": " << why;
    }
    EXPECT_NE(check_forward_rule({std::string(256, 'a'), "m"}), "");
    EXPECT_NE(check_forward_rule({"md.>", std::string(256, 'a')}), "");
    EXPECT_EQ(check_forward_rule({"$SYS.>", "sys"}), "") << "a prefix takes the '$' level away";
    EXPECT_EQ(check_forward_rule({"*.x", ""}), "") << "only some subjects map to '$' topics: those are counted";
}

TEST(subject_map, theTopicFilterOfARuleReceivesWhatItForwards) {
    EXPECT_EQ(topic_filter_of({"md.>", "market"}), "market/#");
    EXPECT_EQ(topic_filter_of({"md.*.AAPL", "aapl"}), "aapl/+/AAPL");
    EXPECT_EQ(topic_filter_of({"core.feed", "core"}), "core");
    EXPECT_EQ(topic_filter_of({"core.*", ""}), "core/+");
    EXPECT_EQ(topic_filter_of({">", ""}), "#");
}

TEST(subject_map, overlapIsWhetherOneSubjectMatchesBothFilters) {
    struct pair {
        const char* a;
        const char* b;
        bool overlap;
    };
    const pair pairs[] = {
        {"md.>", "md.eq.*", true},   {"md.>", "md", false},       {"md.>", "md.x", true},
        {"md.*", "md.x", true},      {"md.*", "md.x.y", false},   {"md.*", "*.x", true},
        {"md.a", "md.b", false},     {"a.b", "a.b", true},        {"a.b", "a.b.c", false},
        {">", "anything.at.all", true}, {"*", "a.b", false},      {"*.>", "a", false},
        {"a.*.c", "a.b.*", true},    {"a.*.c", "a.b.d", false},   {"x.>", "y.>", false},
    };
    for (const pair& p : pairs) {
        EXPECT_EQ(subjects_overlap(p.a, p.b), p.overlap) << p.a << " / " << p.b;
        EXPECT_EQ(subjects_overlap(p.b, p.a), p.overlap) << p.b << " / " << p.a << " (the other way)";
    }
}
