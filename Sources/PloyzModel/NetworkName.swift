/// Validates mesh network names: they become directory names and interface-facing labels.
public enum NetworkName {
    public static let maxLength = 63

    /// Returns nil when valid, else a one-line reason naming what is allowed.
    public static func problem(with name: String) -> String? {
        if name.isEmpty { return "network name is empty; use 1-\(maxLength) characters of a-z, 0-9 and '-'" }
        if name.utf8.count > maxLength { return "network name \"\(name.prefix(20))…\" is \(name.utf8.count) characters; at most \(maxLength) allowed" }
        if name.contains("/") { return "network name \"\(name)\" contains '/'; use a-z, 0-9 and '-'" }
        let allowed = name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }
        if !allowed || name.hasPrefix("-") || name.hasSuffix("-") {
            return "network name \"\(name)\" is not allowed; use a-z, 0-9 and '-', not starting or ending with '-'"
        }
        return nil
    }

    public static func isValid(_ name: String) -> Bool { problem(with: name) == nil }
}
