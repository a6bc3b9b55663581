#include <ringcast/core/config_command.hpp>

namespace ringcast {

std::optional<int> parse_config_command(std::string_view prog, int argc, const char* const* argv,
                                        std::string_view usage, config_command& cmd, std::FILE* out,
                                        std::FILE* err) {
    const auto refuse = [&](const std::string& why) {
        std::fprintf(err, "%.*s: %s\n%.*s", static_cast<int>(prog.size()), prog.data(), why.c_str(),
                     static_cast<int>(usage.size()), usage.data());
        return 2;
    };
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if ((a == "-c" || a == "--config") && i + 1 < argc) {
            cmd.path = argv[++i];
        } else if (a == "--check") {
            cmd.check = true;
        } else if (a == "-h" || a == "--help") {
            std::fprintf(out, "%.*s", static_cast<int>(usage.size()), usage.data());
            return 0;
        } else {
            return refuse("unknown argument '" + std::string(a) + "'");
        }
    }
    if (cmd.path.empty()) {
        return refuse("-c FILE.toml is required");
    }
    return std::nullopt;
}

std::optional<int> finish_config_check(const config_command& cmd, std::span<const config_error> errors,
                                       std::FILE* out, std::FILE* err) {
    if (!errors.empty()) {
        for (const config_error& e : errors) {
            std::fprintf(err, "%s\n", e.to_string().c_str());
        }
        return 1;
    }
    if (cmd.check) {
        std::fprintf(out, "%s: ok\n", cmd.path.c_str());
        return 0;
    }
    return std::nullopt;
}

} // namespace ringcast
