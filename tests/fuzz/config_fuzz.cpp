// libFuzzer: the config parser (core/config) on any text. parse_config must
// return its errors, never throw: an exception leaving it ends the run as a
// crash. What it accepts goes on as ringcastd takes it: settings for the
// lcores, the EAL command line and each port's TX limits.
#include "fuzz_check.hpp"

#include <ringcast/core/config.hpp>
#include <ringcast/core/eal_args.hpp>
#include <ringcast/core/net.hpp>
#include <ringcast/core/settings.hpp>
#include <ringcast/core/wire.hpp>

#include <string_view>

namespace {

using namespace ringcast;

constexpr std::string_view path = "fuzz.toml";
constexpr uint64_t tsc_hz = 2'100'000'000;

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const config_result r = parse_config(fuzz::text(fuzz::input(data, size)), path);
    RC_FUZZ_CHECK(r.cfg.path == path);
    for (const config_error& e : r.errors) {
        RC_FUZZ_CHECK(e.path == path && !e.message.empty());
        RC_FUZZ_CHECK(e.line > 0 || e.column == 0);
        RC_FUZZ_CHECK(e.to_string().starts_with(path));
    }
    if (!r.ok()) {
        return 0;
    }
    RC_FUZZ_CHECK(!r.cfg.ports.empty());
    const lcore_settings s = derive_settings(r.cfg, tsc_hz);
    (void)s;
    // With hugepages said to be there, no mode throws.
    const auto args = build_eal_args(r.cfg, true);
    RC_FUZZ_CHECK(!args.empty() && args[0] == "ringcastd");
    // A datagram holds at least one frame header: [tx] mtu's range keeps max_bytes from wrapping.
    RC_FUZZ_CHECK(r.cfg.tx.mtu >= ipv4_hdr_len + udp_hdr_len + frame_header_size);
    const coalesce_limits limits = tx_limits_for(r.cfg.tx, max_tx_segments, 2048);
    RC_FUZZ_CHECK(limits.max_bytes + ipv4_hdr_len + udp_hdr_len == r.cfg.tx.mtu);
    return 0;
}
