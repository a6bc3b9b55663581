#include <ringcast/core/eal_args.hpp>

#include <charconv>
#include <fstream>
#include <iterator>
#include <set>
#include <stdexcept>

namespace ringcast {

namespace {

// The whitespace-separated field `index` (from 0) of `line`, or "".
std::string_view field(std::string_view line, size_t index) {
    constexpr std::string_view blanks = " \t";
    size_t start = line.find_first_not_of(blanks);
    for (size_t i = 0; i < index && start != std::string_view::npos; ++i) {
        start = line.find_first_not_of(blanks, line.find_first_of(blanks, start));
    }
    if (start == std::string_view::npos) {
        return {};
    }
    const size_t end = line.find_first_of(blanks, start);
    return line.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
}

// Calls `f(line)` for each line of `text` until it returns true.
template <class F> bool any_line(std::string_view text, F f) {
    while (!text.empty()) {
        const size_t nl = text.find('\n');
        if (f(text.substr(0, nl))) {
            return true;
        }
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    }
    return false;
}

std::string read_proc(const char* path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string lcore_list(const config& cfg) {
    std::set<uint32_t> ids{cfg.eal.main_lcore};
    ids.insert(cfg.lcores.io.begin(), cfg.lcores.io.end());
    ids.insert(cfg.lcores.worker.begin(), cfg.lcores.worker.end());
    std::string list;
    for (const uint32_t id : ids) {
        list += (list.empty() ? "" : ",") + std::to_string(id);
    }
    return list;
}

} // namespace

bool hugepages_usable(std::string_view meminfo, std::string_view mounts, uint64_t needed_mb) {
    // Free hugepage memory = HugePages_Free x Hugepagesize (kB).
    auto value = [&](std::string_view key) {
        uint64_t n = 0;
        any_line(meminfo, [&](std::string_view line) {
            const std::string_view v = field(line, 1);
            return field(line, 0) == key &&
                   std::from_chars(v.data(), v.data() + v.size(), n).ec == std::errc{};
        });
        return n;
    };
    const uint64_t free_kb = value("HugePages_Free:") * value("Hugepagesize:");
    const bool mounted =
        any_line(mounts, [](std::string_view line) { return field(line, 2) == "hugetlbfs"; });
    return mounted && free_kb > 0 && free_kb >= needed_mb * 1024;
}

bool hugepages_usable(uint64_t needed_mb) {
    return hugepages_usable(read_proc("/proc/meminfo"), read_proc("/proc/mounts"), needed_mb);
}

std::vector<std::string> build_eal_args(const config& cfg, bool hugepages_available, std::string_view argv0) {
    const eal_config& e = cfg.eal;
    if (e.hugepages == hugepage_mode::on && !hugepages_available) {
        throw std::runtime_error("eal.hugepages = \"on\", but no free hugepages or no hugetlbfs mount "
                                 "(reserve them with scripts/hugepages.sh, or set \"auto\")");
    }
    const bool huge =
        e.hugepages == hugepage_mode::on || (e.hugepages == hugepage_mode::automatic && hugepages_available);

    std::vector<std::string> args{std::string(argv0)};
    const auto add = [&args](std::initializer_list<std::string> more) { args.insert(args.end(), more); };
    add({"-l", lcore_list(cfg)});
    add({"--main-lcore", std::to_string(e.main_lcore)});
    add({"--file-prefix", e.file_prefix});
    // --huge-unlink: no rtemap file is left in hugetlbfs after exit.
    add({huge ? "--huge-unlink" : "--no-huge", "-m", std::to_string(e.memory_mb)});
    for (const std::string& vdev : e.vdevs) {
        add({"--vdev", vdev});
    }
    for (const std::string& pci : e.allow) {
        add({"-a", pci});
    }
    if (e.allow.empty()) {
        // Without it EAL probes every PCI device bound to a DPDK driver.
        add({"--no-pci"});
    }
    args.insert(args.end(), e.args.begin(), e.args.end());
    return args;
}

} // namespace ringcast
