import NIOSSL
import PloyzModel

/// A parsed certificate chain and key, ready to hand to a TLS handshake.
public struct ServingCertificate: Sendable {
    /// Leaf first.
    public let chain: [NIOSSLCertificate]
    public let key: NIOSSLPrivateKey

    /// Parses a PEM chain (leaf first) and PEM private key.
    public init(chainPEM: String, keyPEM: String) throws {
        let chain = try NIOSSLCertificate.fromPEMBytes(Array(chainPEM.utf8))
        guard !chain.isEmpty else { throw CertificateError.emptyChain }
        self.chain = chain
        self.key = try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem)
    }

    /// Reads a PEM chain file and PEM key file.
    public init(paths: StaticCertificatePaths) throws {
        let chain = try NIOSSLCertificate.fromPEMFile(paths.certificatePath)
        guard !chain.isEmpty else { throw CertificateError.emptyChain }
        self.chain = chain
        self.key = try NIOSSLPrivateKey(file: paths.keyPath, format: .pem)
    }

    var override: NIOSSLContextConfigurationOverride {
        var override = NIOSSLContextConfigurationOverride()
        override.certificateChain = chain.map { .certificate($0) }
        override.privateKey = .privateKey(key)
        return override
    }
}

/// Why a certificate could not be used.
public enum CertificateError: Error, CustomStringConvertible {
    case emptyChain
    case unknownServerName(String?)

    public var description: String {
        switch self {
        case .emptyChain: "certificate PEM holds no certificate"
        case .unknownServerName(let name): "no certificate for server name \(name ?? "(none sent)") and no static certificate configured"
        }
    }
}

/// The store's certificates by hostname, plus the static fallback: what SNI selects from.
public struct CertificateSet: Sendable {
    private var exact: [String: ServingCertificate] = [:]
    /// Key: the suffix after `*.`.
    private var wildcard: [String: ServingCertificate] = [:]
    /// The static certificate for names no record matches; nil fails those handshakes.
    public let fallback: ServingCertificate?
    /// Hostnames whose records could not be parsed, with the reason, for logging.
    public private(set) var rejected: [(hostname: String, reason: String)] = []

    /// No store certificates yet: only the fallback (if any) is served.
    public init(fallback: ServingCertificate? = nil) {
        self.fallback = fallback
    }

    /// Parses every certificate record of the snapshot; unparsable records are skipped and listed in `rejected`.
    public init(records: some Collection<CertificateRecord>, fallback: ServingCertificate?) {
        self.fallback = fallback
        for record in records.sorted(by: { $0.hostname < $1.hostname }) {
            let hostname = record.hostname.lowercased()
            do {
                let certificate = try ServingCertificate(chainPEM: record.certificatePEM, keyPEM: record.privateKeyPEM)
                if hostname.hasPrefix("*.") {
                    wildcard[String(hostname.dropFirst(2))] = certificate
                } else {
                    exact[hostname] = certificate
                }
            } catch {
                rejected.append((hostname, "\(error)"))
            }
        }
    }

    /// The certificate for an SNI name: exact hostname, then the longest matching wildcard, then the fallback.
    public func certificate(forServerName serverName: String?) -> ServingCertificate? {
        guard var name = serverName?.lowercased(), !name.isEmpty else { return fallback }
        if name.hasSuffix(".") { name.removeLast() }
        if let certificate = exact[name] { return certificate }
        var rest = Substring(name)
        while let dot = rest.firstIndex(of: ".") {
            rest = rest[rest.index(after: dot)...]
            if let certificate = wildcard[String(rest)] { return certificate }
        }
        return fallback
    }

    /// Number of store certificates held.
    public var count: Int { exact.count + wildcard.count }
}
