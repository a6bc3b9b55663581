#include <ringcast/core/config_command.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ringcast {
namespace {

constexpr const char* usage = "Usage: prog -c FILE\n";

// A stream the code writes to and the test reads back.
struct capture {
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> f{std::tmpfile(), &std::fclose};
    std::string text() {
        std::fflush(f.get());
        std::rewind(f.get());
        std::string s;
        for (int c; (c = std::fgetc(f.get())) != EOF;) {
            s += static_cast<char>(c);
        }
        return s;
    }
};

struct run {
    std::optional<int> status;
    config_command cmd;
    std::string out, err;
};

run parse(std::vector<const char*> args) {
    args.insert(args.begin(), "prog");
    capture out, err;
    run r;
    r.status = parse_config_command("prog", static_cast<int>(args.size()), args.data(), usage, r.cmd, out.f.get(),
                                    err.f.get());
    r.out = out.text();
    r.err = err.text();
    return r;
}

TEST(config_command, reads_the_file_and_check) {
    const run r = parse({"--check", "-c", "a.toml"});
    EXPECT_EQ(r.status, std::nullopt);
    EXPECT_EQ(r.cmd.path, "a.toml");
    EXPECT_TRUE(r.cmd.check);
    EXPECT_EQ(parse({"--config", "b.toml"}).cmd.path, "b.toml");
    EXPECT_FALSE(parse({"--config", "b.toml"}).cmd.check);
}

TEST(config_command, help_prints_the_usage_and_exits_0) {
    const run r = parse({"-h"});
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.out, usage);
    EXPECT_EQ(r.err, "");
}

TEST(config_command, refuses_an_unknown_argument_with_the_usage) {
    const run r = parse({"-c", "a.toml", "--speed"});
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.err, std::string("prog: unknown argument '--speed'\n") + usage);
}

TEST(config_command, requires_a_file) {
    EXPECT_EQ(parse({}).status, 2);
    EXPECT_EQ(parse({"--check"}).err, std::string("prog: -c FILE.toml is required\n") + usage);
    // -c as the last word has no file: an unknown argument, not a crash.
    EXPECT_EQ(parse({"-c"}).status, 2);
}

TEST(config_command, prints_every_error_and_exits_1) {
    capture out, err;
    const std::vector<config_error> errors = {{"a.toml", 2, 1, "x: bad"}, {"a.toml", 0, 0, "y: missing"}};
    EXPECT_EQ(finish_config_check({"a.toml", true}, errors, out.f.get(), err.f.get()), 1);
    EXPECT_EQ(err.text(), "a.toml:2:1: x: bad\na.toml: y: missing\n");
    EXPECT_EQ(out.text(), "");
}

TEST(config_command, check_of_a_good_file_says_ok_and_exits_0) {
    capture out, err;
    EXPECT_EQ(finish_config_check({"a.toml", true}, {}, out.f.get(), err.f.get()), 0);
    EXPECT_EQ(out.text(), "a.toml: ok\n");
}

TEST(config_command, a_good_file_without_check_goes_on) {
    capture out, err;
    EXPECT_EQ(finish_config_check({"a.toml", false}, {}, out.f.get(), err.f.get()), std::nullopt);
    EXPECT_EQ(out.text() + err.text(), "");
}

} // namespace
} // namespace ringcast
