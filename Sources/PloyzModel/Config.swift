import Foundation
import TOMLKit

/// A `host:port` listen address: `0.0.0.0:80`, `[::]:443`, `[fd00::1]:53`.
public struct ListenAddress: Hashable, Sendable, Codable, CustomStringConvertible {
    public let host: String
    public let port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `IPv4:port` or `[IPv6]:port`; the host must be a literal address.
    public static func parse(_ text: String) -> ListenAddress? {
        let host: String
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = String(text[text.index(after: text.startIndex)..<close])
            guard IPv6Address(host) != nil else { return nil }
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = String(text[..<colon])
            guard IPv4Address(host) != nil else { return nil }
            portText = text[text.index(after: colon)...]
        }
        guard portText.allSatisfy({ $0.isASCII && $0.isNumber }), let port = Int(portText), (1...65535).contains(port) else { return nil }
        return ListenAddress(host: host, port: port)
    }

    public var isIPv6: Bool { host.contains(":") }
    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

public enum LogLevel: String, Sendable, CaseIterable, Codable {
    case trace, debug, info, notice, warning, error, critical
}

/// Every setting of `ployzd`, with the defaults of the product page.
public struct PloyzConfig: Sendable, Equatable {
    public var clusterCIDR = IPv4CIDR(network: IPv4Address(10, 101, 0, 0), prefixLength: 16)
    public var subnetPrefixLength = 24
    public var gatewayListenAddr = ListenAddress(host: "0.0.0.0", port: 80)
    public var gatewayHTTPSListenAddr: ListenAddress?
    public var gatewayThreads = 2
    public var gatewayMetricsListenAddr: ListenAddress?
    public var dnsMetricsListenAddr: ListenAddress?
    public var dnsTTL = 5
    public var dnsUpstreams: [ListenAddress] = []
    public var zfsTransferPort = 4319
    public var dataDir = "/var/lib/ployz"
    public var runtimeDir = "/run/ployz"
    public var socketPathSetting: String?
    public var wireguardInterface = "wg0"
    public var wireguardPort = 51820
    public var natsPort = 4222
    public var natsClusterPort = 6222
    public var publicIP: String?
    /// The name this machine is published under (peers' `mesh status`, and
    /// `<name>.machine.ployz.internal`); unset uses the host name.
    public var machineName: String?
    /// `host` or `host:port` of a STUN server that tells the node its public address when
    /// `public_ip` is unset; unset asks none.
    public var stunServer: String?
    public var logLevel = LogLevel.info
    /// The Docker Engine API's unix socket; workloads run there.
    public var dockerSocket = "/var/run/docker.sock"

    public init() {}

    /// `socket_path`, defaulting to `<runtime_dir>/ployzd.sock`.
    public var socketPath: String { socketPathSetting ?? runtimeDir + "/ployzd.sock" }

    public static let defaultPath = "/etc/ployz/config.toml"
}

/// A configuration error: one line naming the source, the key, the value and what is allowed.
public struct ConfigError: Error, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Where a setting came from, used to name it in errors.
public enum ConfigSource: Sendable, Equatable {
    case file(String), environment, flag

    func label(for key: String) -> String {
        switch self {
        case .file(let path): "\(path): \(key)"
        case .environment: "PLOYZ_" + key.uppercased()
        case .flag: "--" + key.replacingOccurrences(of: "_", with: "-")
        }
    }
}

extension PloyzConfig {
    /// A raw setting before validation: TOML gives typed values, the environment and flags give text.
    enum Raw {
        case int(Int), text(String), list([String])
    }

    struct Field {
        let key: String
        let apply: (inout PloyzConfig, Raw) throws(FieldError) -> Void
    }

    struct FieldError: Error { let message: String }

    /// Every `config.toml` key. Each has a `PLOYZ_<KEY>` variable and a `--<key>` flag form.
    static let fields: [Field] = [
        Field(key: "cluster_cidr") { c, raw throws(FieldError) in
            let text = try raw.string()
            do { c.clusterCIDR = try IPv4CIDR.parse(text) } catch { throw FieldError(message: "\"\(text)\": \(error)") }
        },
        Field(key: "subnet_prefix_len") { c, raw throws(FieldError) in c.subnetPrefixLength = try raw.int(in: 1...30) },
        Field(key: "gateway_listen_addr") { c, raw throws(FieldError) in c.gatewayListenAddr = try raw.listen() },
        Field(key: "gateway_https_listen_addr") { c, raw throws(FieldError) in c.gatewayHTTPSListenAddr = try raw.optionalListen() },
        Field(key: "gateway_threads") { c, raw throws(FieldError) in c.gatewayThreads = try raw.int(in: 1...256) },
        Field(key: "gateway_metrics_listen_addr") { c, raw throws(FieldError) in c.gatewayMetricsListenAddr = try raw.optionalListen() },
        Field(key: "dns_metrics_listen_addr") { c, raw throws(FieldError) in c.dnsMetricsListenAddr = try raw.optionalListen() },
        Field(key: "dns_ttl") { c, raw throws(FieldError) in c.dnsTTL = try raw.int(in: 0...86400) },
        Field(key: "dns_upstreams") { c, raw throws(FieldError) in
            c.dnsUpstreams = try raw.strings().map { item throws(FieldError) in
                guard let address = ListenAddress.parse(item) else {
                    throw FieldError(message: "\"\(item)\": must be IP:PORT or [IPv6]:PORT, e.g. 1.1.1.1:53")
                }
                return address
            }
        },
        Field(key: "zfs_transfer_port") { c, raw throws(FieldError) in c.zfsTransferPort = try raw.int(in: 1...65535) },
        Field(key: "data_dir") { c, raw throws(FieldError) in c.dataDir = try raw.absolutePath() },
        Field(key: "runtime_dir") { c, raw throws(FieldError) in c.runtimeDir = try raw.absolutePath() },
        Field(key: "socket_path") { c, raw throws(FieldError) in c.socketPathSetting = try raw.absolutePath() },
        Field(key: "wireguard_interface") { c, raw throws(FieldError) in
            let name = try raw.string()
            guard (1...15).contains(name.utf8.count), name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
                throw FieldError(message: "\"\(name)\": must be 1-15 characters of letters, digits, '-', '_' or '.'")
            }
            c.wireguardInterface = name
        },
        Field(key: "wireguard_port") { c, raw throws(FieldError) in c.wireguardPort = try raw.int(in: 1...65535) },
        Field(key: "nats_port") { c, raw throws(FieldError) in c.natsPort = try raw.int(in: 1...65535) },
        Field(key: "nats_cluster_port") { c, raw throws(FieldError) in c.natsClusterPort = try raw.int(in: 1...65535) },
        Field(key: "public_ip") { c, raw throws(FieldError) in
            let text = try raw.string()
            guard text.isEmpty || IPv4Address(text) != nil || IPv6Address(text) != nil else {
                throw FieldError(message: "\"\(text)\": must be an IPv4 or IPv6 address")
            }
            c.publicIP = text.isEmpty ? nil : text
        },
        Field(key: "machine_name") { c, raw throws(FieldError) in
            let text = try raw.string()
            let ok = (1...63).contains(text.utf8.count) && text.first != "-" && text.last != "-"
                && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
            guard ok else {
                throw FieldError(message: "\"\(text)\": must be 1-63 letters, digits or '-', not starting or ending with '-' (a DNS label)")
            }
            c.machineName = text.lowercased()
        },
        Field(key: "stun_server") { c, raw throws(FieldError) in
            let text = try raw.string()
            guard !text.isEmpty else { c.stunServer = nil; return }
            guard STUNServerAddress(text) != nil else {
                throw FieldError(message: "\"\(text)\": must be HOST or HOST:PORT (an IPv4 address or a host name; port 1-65535)")
            }
            c.stunServer = text
        },
        Field(key: "docker_socket") { c, raw throws(FieldError) in c.dockerSocket = try raw.absolutePath() },
        Field(key: "log_level") { c, raw throws(FieldError) in
            let text = try raw.string()
            guard let level = LogLevel(rawValue: text.lowercased()) else {
                throw FieldError(message: "\"\(text)\": must be one of \(LogLevel.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            c.logLevel = level
        },
    ]

    static let fieldsByKey = Dictionary(uniqueKeysWithValues: fields.map { ($0.key, $0) })

    public static var keys: [String] { fields.map(\.key) }
}

extension PloyzConfig.Raw {
    typealias FieldError = PloyzConfig.FieldError

    func string() throws(FieldError) -> String {
        switch self {
        case .text(let s): return s
        case .int(let i): throw FieldError(message: "\(i): must be a string")
        case .list: throw FieldError(message: "must be a string, not an array")
        }
    }

    func int(in range: ClosedRange<Int>) throws(FieldError) -> Int {
        let value: Int
        switch self {
        case .int(let i): value = i
        case .text(let s):
            guard let i = Int(s.trimmingCharacters(in: .whitespaces)) else {
                throw FieldError(message: "\"\(s)\": must be a whole number \(range.lowerBound)-\(range.upperBound)")
            }
            value = i
        case .list: throw FieldError(message: "must be a number, not an array")
        }
        guard range.contains(value) else { throw FieldError(message: "\(value): must be \(range.lowerBound)-\(range.upperBound)") }
        return value
    }

    func listen() throws(FieldError) -> ListenAddress {
        let text = try string()
        guard let address = ListenAddress.parse(text) else {
            throw FieldError(message: "\"\(text)\": must be IP:PORT or [IPv6]:PORT with a port 1-65535, e.g. 0.0.0.0:80")
        }
        return address
    }

    /// An empty string unsets an optional address (useful to override a file from the environment).
    func optionalListen() throws(FieldError) -> ListenAddress? {
        if case .text(let s) = self, s.isEmpty { return nil }
        return try listen()
    }

    func strings() throws(FieldError) -> [String] {
        switch self {
        case .list(let items): return items
        case .text(let s): return s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        case .int(let i): throw FieldError(message: "\(i): must be a list of strings")
        }
    }

    func absolutePath() throws(FieldError) -> String {
        let text = try string()
        guard text.hasPrefix("/"), !text.contains("\0") else { throw FieldError(message: "\"\(text)\": must be an absolute path") }
        return text.count > 1 && text.hasSuffix("/") ? String(text.dropLast()) : text
    }
}

extension PloyzConfig {
    /// The result of loading: the configuration and warnings (unknown keys) to log.
    public struct Loaded: Sendable {
        public var config: PloyzConfig
        public var warnings: [String]
    }

    /// Builds the configuration with the precedence default < file < `PLOYZ_*` environment < flags.
    /// - Parameters:
    ///   - fileText: the TOML text, or nil when there is no file.
    ///   - filePath: the file's path, used in messages.
    ///   - environment: the process environment; only `PLOYZ_<KEY>` for known keys is read.
    ///   - flags: key (config spelling) to value, from command-line flags.
    public static func load(fileText: String?, filePath: String = defaultPath,
                            environment: [String: String] = [:], flags: [String: String] = [:]) throws(ConfigError) -> Loaded {
        var config = PloyzConfig()
        var warnings: [String] = []
        if let fileText {
            let table: TOMLTable
            do { table = try TOMLTable(string: fileText) } catch let error as TOMLParseError {
                throw ConfigError("\(filePath): line \(error.source.begin.line): \(error.description)")
            } catch {
                throw ConfigError("\(filePath): \(error)")
            }
            for key in table.keys.sorted() {
                guard let field = fieldsByKey[key] else {
                    warnings.append("\(filePath): unknown key \"\(key)\" ignored (known keys: \(keys.joined(separator: ", ")))")
                    continue
                }
                let raw: Raw
                let value = table[key]!
                if let i = value.int { raw = .int(i) }
                else if let s = value.string { raw = .text(s) }
                else if let a = value.array {
                    var items: [String] = []
                    for element in a {
                        guard let s = element.string else { throw ConfigError("\(filePath): \(key): must be an array of strings") }
                        items.append(s)
                    }
                    raw = .list(items)
                } else { throw ConfigError("\(filePath): \(key): unsupported value type \(value.type)") }
                try apply(field, raw, from: .file(filePath), to: &config)
            }
        }
        for field in fields {
            if let text = environment["PLOYZ_" + field.key.uppercased()] {
                try apply(field, .text(text), from: .environment, to: &config)
            }
        }
        for (key, text) in flags.sorted(by: { $0.key < $1.key }) {
            guard let field = fieldsByKey[key] else { throw ConfigError("--\(key): unknown setting") }
            try apply(field, .text(text), from: .flag, to: &config)
        }
        try config.validate()
        return Loaded(config: config, warnings: warnings)
    }

    private static func apply(_ field: Field, _ raw: Raw, from source: ConfigSource, to config: inout PloyzConfig) throws(ConfigError) {
        do { try field.apply(&config, raw) } catch {
            throw ConfigError("\(source.label(for: field.key)) \(error.message)")
        }
    }

    /// Checks that hold between fields.
    public func validate() throws(ConfigError) {
        guard subnetPrefixLength > clusterCIDR.prefixLength else {
            throw ConfigError("subnet_prefix_len \(subnetPrefixLength): must be longer than cluster_cidr's prefix /\(clusterCIDR.prefixLength) and at most 30")
        }
        guard subnetPrefixLength - clusterCIDR.prefixLength <= 16 else {
            throw ConfigError("subnet_prefix_len \(subnetPrefixLength): at most 65536 node subnets per cluster_cidr; use a prefix of /\(clusterCIDR.prefixLength + 16) or shorter")
        }
    }
}

/// A STUN server as `stun_server` names it: `host` (port 3478) or `host:port`; the host is an
/// IPv4 address or a DNS name.
public struct STUNServerAddress: Sendable, Equatable {
    public static let defaultPort = 3478
    public var host: String
    public var port: Int

    public init?(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let host = String(parts[0])
        let hostOK = IPv4Address(host) != nil
            || (!host.isEmpty && host.count <= 253 && host.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }
                && !host.hasPrefix("-") && !host.hasPrefix(".") && host.contains { $0.isLetter })
        guard hostOK else { return nil }
        var port = Self.defaultPort
        if parts.count == 2 {
            guard let value = Int(parts[1]), (1...65535).contains(value) else { return nil }
            port = value
        }
        self.host = host
        self.port = port
    }
}
