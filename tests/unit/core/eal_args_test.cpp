#include <ringcast/core/eal_args.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>

namespace ringcast {
namespace {

using args = std::vector<std::string>;

constexpr const char* meminfo_free = "MemTotal:        8000000 kB\n"
                                     "HugePages_Total:     512\n"
                                     "HugePages_Free:      512\n"
                                     "Hugepagesize:       2048 kB\n";
constexpr const char* meminfo_none_free = "HugePages_Total:     512\n"
                                          "HugePages_Free:        0\n";
constexpr const char* mounts_huge = "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n"
                                    "hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n";
constexpr const char* mounts_plain = "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n"
                                     "tmpfs /dev/hugepages tmpfs rw 0 0\n";

struct hugepage_case {
    const char* name;
    const char* meminfo;
    const char* mounts;
    uint64_t needed_mb;
    bool usable;
};

class hugepages_usable_test : public testing::TestWithParam<hugepage_case> {};

TEST_P(hugepages_usable_test, needs_enough_free_pages_and_a_hugetlbfs_mount) {
    EXPECT_EQ(hugepages_usable(GetParam().meminfo, GetParam().mounts, GetParam().needed_mb),
              GetParam().usable);
}

INSTANTIATE_TEST_SUITE_P(
    eal_args, hugepages_usable_test,
    testing::Values(
        hugepage_case{"usable_with_free_pages_and_mount", meminfo_free, mounts_huge, 512, true},
        hugepage_case{"usable_when_free_memory_is_exactly_enough", meminfo_free, mounts_huge, 1024, true},
        hugepage_case{"unusable_when_too_little_is_free", meminfo_free, mounts_huge, 1025, false},
        hugepage_case{"unusable_when_none_are_free", meminfo_none_free, mounts_huge, 64, false},
        hugepage_case{"unusable_without_hugetlbfs_mount", meminfo_free, mounts_plain, 64, false},
        hugepage_case{"unusable_without_hugepage_support", "MemTotal: 8000000 kB\n", mounts_huge, 64, false},
        hugepage_case{"unusable_when_files_are_empty", "", "", 64, false}),
    [](const testing::TestParamInfo<hugepage_case>& p) { return std::string(p.param.name); });

// A config as the test bed runs it: one vdev, one lcore for everything.
config testbed() {
    config cfg;
    cfg.eal.file_prefix = "rc-testbed";
    cfg.eal.vdevs = {"net_af_packet0,iface=rc0,qpairs=1"};
    cfg.ports = {port_config{.device = "net_af_packet0", .ipv4 = 0xc0000201}};
    return cfg;
}

// Whether `want` appears in `a` as consecutive arguments.
bool has_run(const args& a, const args& want) {
    return std::search(a.begin(), a.end(), want.begin(), want.end()) != a.end();
}

bool has(const args& a, const std::string& arg) {
    return std::find(a.begin(), a.end(), arg) != a.end();
}

TEST(eal_args, builds_the_whole_command_line_in_order) {
    config cfg = testbed();
    cfg.eal.args = {"--log-level=pmd.net.af_packet:debug"};
    EXPECT_EQ(build_eal_args(cfg, false, "ringcastd"),
              (args{"ringcastd", "-l", "0", "--main-lcore", "0", "--file-prefix", "rc-testbed", "--no-huge",
                    "-m", "512", "--vdev", "net_af_packet0,iface=rc0,qpairs=1", "--no-pci",
                    "--log-level=pmd.net.af_packet:debug"}));
}

TEST(eal_args, lists_the_sorted_union_of_main_io_and_worker_lcores) {
    config cfg = testbed();
    cfg.eal.main_lcore = 3;
    cfg.lcores.io = {3, 1};
    cfg.lcores.worker = {5, 2, 1};
    const args a = build_eal_args(cfg, false);
    EXPECT_TRUE(has_run(a, {"-l", "1,2,3,5"}));
    EXPECT_TRUE(has_run(a, {"--main-lcore", "3"}));
}

TEST(eal_args, falls_back_to_no_huge_when_hugepages_are_missing) {
    config cfg = testbed();
    cfg.eal.memory_mb = 256;
    const args a = build_eal_args(cfg, false);
    EXPECT_TRUE(has_run(a, {"--no-huge", "-m", "256"}));
    EXPECT_FALSE(has(a, "--huge-unlink"));
}

TEST(eal_args, unlinks_hugepage_files_when_hugepages_are_available) {
    const args a = build_eal_args(testbed(), true);
    EXPECT_TRUE(has_run(a, {"--huge-unlink", "-m", "512"}));
    EXPECT_FALSE(has(a, "--no-huge"));
}

TEST(eal_args, mode_off_ignores_available_hugepages) {
    config cfg = testbed();
    cfg.eal.hugepages = hugepage_mode::off;
    EXPECT_TRUE(has(build_eal_args(cfg, true), "--no-huge"));
}

TEST(eal_args, mode_on_uses_hugepages_when_available) {
    config cfg = testbed();
    cfg.eal.hugepages = hugepage_mode::on;
    EXPECT_TRUE(has(build_eal_args(cfg, true), "--huge-unlink"));
}

TEST(eal_args, mode_on_without_hugepages_throws_naming_the_key) {
    config cfg = testbed();
    cfg.eal.hugepages = hugepage_mode::on;
    try {
        (void)build_eal_args(cfg, false);
        FAIL() << "expected std::runtime_error";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("eal.hugepages"), std::string::npos) << e.what();
    }
}

TEST(eal_args, passes_no_pci_when_no_pci_device_is_allowed) {
    const args a = build_eal_args(testbed(), false);
    EXPECT_TRUE(has(a, "--no-pci"));
    EXPECT_FALSE(has(a, "-a"));
}

TEST(eal_args, allows_each_pci_device_and_then_omits_no_pci) {
    config cfg = testbed();
    cfg.eal.vdevs.clear();
    cfg.eal.allow = {"0000:01:00.0", "0000:01:00.1"};
    const args a = build_eal_args(cfg, false);
    EXPECT_TRUE(has_run(a, {"-a", "0000:01:00.0", "-a", "0000:01:00.1"}));
    EXPECT_FALSE(has(a, "--no-pci"));
    EXPECT_FALSE(has(a, "--vdev"));
}

TEST(eal_args, passes_one_vdev_option_per_virtual_device) {
    config cfg = testbed();
    cfg.eal.vdevs = {"net_null0", "net_null1"};
    EXPECT_TRUE(has_run(build_eal_args(cfg, false), {"--vdev", "net_null0", "--vdev", "net_null1"}));
}

} // namespace
} // namespace ringcast
