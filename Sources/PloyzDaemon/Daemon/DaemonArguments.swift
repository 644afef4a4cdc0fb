import PloyzModel

/// `ployzd`'s command line: `--config PATH` and one flag per config key (`--data-dir PATH`,
/// `--zfs-transfer-port=4319`, ...). Parsed by hand because the flags mirror the config keys.
public struct DaemonArguments: Equatable, Sendable {
    public var configPath: String?
    /// Config key (underscore spelling) to value.
    public var flags: [String: String] = [:]
    public var help = false
    public var version = false

    public static let usage = """
        usage: ployzd [--config PATH] [--<config-key> VALUE]...
          --config PATH   config file (default \(PloyzConfig.defaultPath), or PLOYZ_CONFIG)
          every config.toml key is also a flag, e.g. --data-dir, --socket-path, --zfs-transfer-port
          precedence: defaults < config file < PLOYZ_<KEY> environment < flags
        """

    /// Parses the arguments after the program name.
    public static func parse(_ arguments: [String]) throws(ConfigError) -> DaemonArguments {
        var result = DaemonArguments()
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "-h" || argument == "--help" { result.help = true; continue }
            if argument == "--version" { result.version = true; continue }
            guard argument.hasPrefix("--"), argument.count > 2 else {
                throw ConfigError("unexpected argument \"\(argument)\"; ployzd takes only --config PATH and --<config-key> VALUE flags")
            }
            var name = String(argument.dropFirst(2))
            var value: String?
            if let equals = name.firstIndex(of: "=") {
                value = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            let key = name.replacingOccurrences(of: "-", with: "_")
            guard key == "config" || PloyzConfig.keys.contains(key) else {
                throw ConfigError("unknown flag --\(name); known: --config, \(PloyzConfig.keys.map { "--" + $0.replacingOccurrences(of: "_", with: "-") }.joined(separator: ", "))")
            }
            if value == nil {
                guard index < arguments.count else { throw ConfigError("--\(name) needs a value") }
                value = arguments[index]
                index += 1
            }
            if key == "config" { result.configPath = value } else { result.flags[key] = value }
        }
        return result
    }
}
