// The docs against the code: docs/config.md names exactly the keys the
// parsers accept (ringcastd's and ringcast-bridge's), config/*.toml use only
// those, docs/operations.md explains every counter and drop reason, and
// docs/architecture.md places every module. The lists come from the code
// (known_config_keys, known_bridge_config_keys, drop_names, metric_names,
// the headers under include/ringcast/), never from a copy here.
#include <ringcast/bridge/bridge_config.hpp>
#include <ringcast/core/config.hpp>
#include <ringcast/core/counters.hpp>

#include <toml++/toml.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace ringcast {
namespace {

namespace fs = std::filesystem;

fs::path source_root() {
    if (const char* root = std::getenv("RINGCAST_SOURCE_ROOT")) {
        return root;
    }
    return fs::path(__FILE__).parent_path().parent_path().parent_path();
}

std::string read_text(const fs::path& p) {
    std::ifstream in(p);
    if (!in) {
        ADD_FAILURE() << "cannot read " << p;
        return {};
    }
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string_view trim(std::string_view s) {
    const size_t b = s.find_first_not_of(" \t");
    if (b == std::string_view::npos) {
        return {};
    }
    return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// The cells of a Markdown table row "| a | b |".
std::vector<std::string_view> cells(std::string_view row) {
    std::vector<std::string_view> out;
    row = trim(row);
    if (row.starts_with('|')) {
        row.remove_prefix(1);
    }
    if (row.ends_with('|')) {
        row.remove_suffix(1);
    }
    while (true) {
        const size_t bar = row.find('|');
        out.push_back(trim(row.substr(0, bar)));
        if (bar == std::string_view::npos) {
            return out;
        }
        row.remove_prefix(bar + 1);
    }
}

struct doc_key {
    std::string key; // the first cell, backticks removed
    size_t line = 0;
};

// The first cell of every row of every table whose header's first cell is
// `header`: docs/config.md's key tables ("key" for ringcastd's, "bridge key"
// for ringcast-bridge's). Other tables (examples, commands) are skipped.
std::vector<doc_key> key_table_rows(std::string_view text, std::string_view header = "key") {
    std::vector<doc_key> out;
    bool in_table = false;
    bool key_table = false;
    size_t line_no = 0;
    while (!text.empty()) {
        const size_t nl = text.find('\n');
        const std::string_view line = trim(text.substr(0, nl));
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        ++line_no;
        if (!line.starts_with('|')) {
            in_table = false;
            continue;
        }
        const auto row = cells(line);
        if (!in_table) {
            in_table = true;
            key_table = row.front() == header;
            continue;
        }
        if (!key_table || row.front().starts_with("---") || row.front().starts_with(":-")) {
            continue;
        }
        std::string_view k = row.front();
        if (k.size() >= 2 && k.front() == '`' && k.back() == '`') {
            k = k.substr(1, k.size() - 2);
        }
        out.push_back(doc_key{std::string(k), line_no});
    }
    return out;
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

// "table.key" for every value in a TOML document; [[port]] tables count as
// "port", whatever their index, as known_config_keys() names them. A table
// that is itself a key in `known` (retention.prefixes, whose keys are topic
// prefixes) is one value.
void flatten(const toml::table& t, const std::string& prefix, std::vector<std::string>& out,
             const std::vector<std::string>& known) {
    for (const auto& [k, node] : t) {
        const std::string name = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
        if (const toml::table* sub = node.as_table(); sub != nullptr && !contains(known, name)) {
            flatten(*sub, name, out, known);
        } else if (const toml::array* a = node.as_array();
                   a != nullptr && !a->empty() && a->is_array_of_tables()) {
            for (const toml::node& e : *a) {
                flatten(*e.as_table(), name, out, known);
            }
        } else {
            out.push_back(name);
        }
    }
}

std::vector<std::string> keys_used_in(const fs::path& file, const std::vector<std::string>& known) {
    std::vector<std::string> used;
    flatten(toml::parse_file(file.string()), "", used, known);
    return used;
}

bool is_bridge_config(const fs::path& p) { return p.filename().string().starts_with("bridge"); }

// ringcastd's examples: config/*.toml but ringcast-bridge's (bridge*.toml).
std::vector<fs::path> example_configs() {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(source_root() / "config")) {
        if (e.path().extension() == ".toml" && !is_bridge_config(e.path())) {
            files.push_back(e.path());
        }
    }
    std::sort(files.begin(), files.end());
    return files;
}

TEST(docs, known_config_keys_are_table_dot_key_without_duplicates) {
    const auto keys = known_config_keys();
    ASSERT_FALSE(keys.empty());
    EXPECT_TRUE(contains(keys, "eal.main_lcore"));
    EXPECT_TRUE(contains(keys, "port.device"));
    EXPECT_TRUE(contains(keys, "limits.topic_len"));
    // Table names are not keys.
    EXPECT_FALSE(contains(keys, "eal"));
    EXPECT_FALSE(contains(keys, "port"));
    const std::set<std::string> distinct(keys.begin(), keys.end());
    EXPECT_EQ(distinct.size(), keys.size());
    for (const std::string& k : keys) {
        EXPECT_EQ(std::count(k.begin(), k.end(), '.'), 1) << k;
    }
}

TEST(docs, config_md_has_a_row_for_every_parsed_key) {
    const auto rows = key_table_rows(read_text(source_root() / "docs/config.md"));
    for (const std::string& k : known_config_keys()) {
        const bool found =
            std::any_of(rows.begin(), rows.end(), [&](const doc_key& r) { return r.key == k; });
        EXPECT_TRUE(found) << "docs/config.md: no row for `" << k << "` in a key table";
    }
}

TEST(docs, config_md_names_only_parsed_keys) {
    const auto known = known_config_keys();
    const auto rows = key_table_rows(read_text(source_root() / "docs/config.md"));
    ASSERT_FALSE(rows.empty()) << "docs/config.md: no key table (header `| key | ...`)";
    for (const doc_key& r : rows) {
        EXPECT_TRUE(contains(known, r.key))
            << "docs/config.md:" << r.line << ": `" << r.key << "` is not a key ringcastd parses";
    }
}

TEST(docs, example_configs_use_only_parsed_keys) {
    const auto known = known_config_keys();
    const auto files = example_configs();
    ASSERT_FALSE(files.empty());
    for (const fs::path& f : files) {
        std::vector<std::string> used;
        try {
            used = keys_used_in(f, known);
        } catch (const toml::parse_error& e) {
            ADD_FAILURE() << f << ": " << e.description();
            continue;
        }
        for (const std::string& k : used) {
            EXPECT_TRUE(contains(known, k)) << f.filename().string() << ": `" << k << "` is not parsed";
        }
    }
}

// README.md promises that config/testbed.toml lists every key.
TEST(docs, testbed_toml_lists_every_parsed_key) {
    const std::vector<std::string> used =
        keys_used_in(source_root() / "config/testbed.toml", known_config_keys());
    for (const std::string& k : known_config_keys()) {
        EXPECT_TRUE(contains(used, k)) << "config/testbed.toml: `" << k << "` missing";
    }
}

TEST(docs, config_md_has_a_row_for_every_bridge_key_and_no_other) {
    const auto known = known_bridge_config_keys();
    const auto rows = key_table_rows(read_text(source_root() / "docs/config.md"), "bridge key");
    ASSERT_FALSE(rows.empty()) << "docs/config.md: no ringcast-bridge key table (header `| bridge key | ...`)";
    for (const std::string& k : known) {
        const bool found = std::any_of(rows.begin(), rows.end(), [&](const doc_key& r) { return r.key == k; });
        EXPECT_TRUE(found) << "docs/config.md: no row for bridge key `" << k << "`";
    }
    for (const doc_key& r : rows) {
        EXPECT_TRUE(contains(known, r.key))
            << "docs/config.md:" << r.line << ": `" << r.key << "` is not a key ringcast-bridge parses";
    }
}

// config/bridge.toml promises every key with its default.
TEST(docs, bridge_toml_lists_every_bridge_key_and_no_other) {
    const auto known = known_bridge_config_keys();
    const std::vector<std::string> used = keys_used_in(source_root() / "config/bridge.toml", known);
    for (const std::string& k : known) {
        EXPECT_TRUE(contains(used, k)) << "config/bridge.toml: `" << k << "` missing";
    }
    for (const std::string& k : used) {
        EXPECT_TRUE(contains(known, k)) << "config/bridge.toml: `" << k << "` is not parsed";
    }
}

// Each reason has a row in the meaning table ("| `name` |") and a line in
// the list of what to do when it rises ("- `name`:").
TEST(docs, operations_md_explains_every_drop_reason) {
    const std::string text = read_text(source_root() / "docs/operations.md");
    for (const std::string_view name : drop_names) {
        const std::string quoted = "`" + std::string(name) + "`";
        EXPECT_TRUE(text.find("| " + quoted + " |") != std::string::npos)
            << "docs/operations.md: no table row for drop reason " << quoted;
        EXPECT_TRUE(text.find("- " + quoted + ":") != std::string::npos)
            << "docs/operations.md: no \"- " << quoted << ":\" line on what to do when it rises";
    }
}

TEST(docs, operations_md_explains_every_metric) {
    const std::string text = read_text(source_root() / "docs/operations.md");
    for (const std::string_view name : metric_names) {
        const std::string row = "| `" + std::string(name) + "` |";
        EXPECT_TRUE(text.find(row) != std::string::npos) << "docs/operations.md: no table row " << row;
    }
}

// Every header of every library has its row: "| `core/wire` |", or a row
// naming it with another ("| `client/telemetry_client`, `client/json` |").
TEST(docs, architecture_md_places_every_module) {
    const std::string text = read_text(source_root() / "docs/architecture.md");
    size_t modules = 0;
    for (const char* lib : {"core", "client", "datapath", "control", "bridge"}) {
        for (const auto& e : fs::directory_iterator(source_root() / "include/ringcast" / lib)) {
            if (e.path().extension() != ".hpp") {
                continue;
            }
            ++modules;
            const std::string name = "`" + std::string(lib) + "/" + e.path().stem().string() + "`";
            const bool has_row = text.find("| " + name + " |") != std::string::npos ||
                                 text.find("| " + name + ", ") != std::string::npos ||
                                 text.find(", " + name + " |") != std::string::npos;
            EXPECT_TRUE(has_row) << "docs/architecture.md: no table row for " << name;
        }
    }
    EXPECT_GE(modules, 30u); // the headers were found at all
}

} // namespace
} // namespace ringcast
