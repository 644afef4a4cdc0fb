import Yams

/// A YAML node of the file together with where it sits (key path and line), so that every
/// error can name both. Reading a value of the wrong shape throws a `ComposeError`.
struct ComposeNode {
    let node: Node
    let file: String
    /// Dotted key path; list items as `routes[0]`.
    let path: String
    /// The line of the key this value belongs to (of the item itself inside a list).
    let line: Int

    func error(_ kind: ComposeError.Kind, _ message: String) -> ComposeError {
        ComposeError(kind: kind, file: file, line: line, path: path, message: message)
    }

    func unsupported(_ why: String) -> ComposeError {
        error(.unsupported, "not supported by Ployz (\(why))")
    }

    var isNull: Bool {
        if case .scalar = node { return node.tag.rawValue == Tag.Name.null.rawValue }
        return false
    }

    var isMapping: Bool { node.mapping != nil }
    var isSequence: Bool { node.sequence != nil }

    /// What the node is, for messages: "a mapping", "a list" or "a single value".
    var shape: String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar, .alias: return isNull ? "nothing" : "a single value"
        }
    }

    /// A mapping's entries in file order, `<<` merges applied (keys written here win). Keys must be
    /// single values.
    func entries() throws -> [(key: String, value: ComposeNode)] {
        guard let mapping = node.mapping else { throw error(.invalid, "must be a mapping of keys to values, found \(shape)") }
        var own: [(key: String, value: ComposeNode)] = []
        var merged: [(key: String, value: ComposeNode)] = []
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let scalar) = keyNode else {
                throw error(.invalid, "keys must be single values, found \(ComposeNode(node: keyNode, file: file, path: path, line: line).shape)")
            }
            let keyLine = scalar.mark?.line ?? line
            if keyNode.tag.rawValue == Tag.Name.merge.rawValue {
                let source = ComposeNode(node: valueNode, file: file, path: path, line: keyLine)
                let sources = source.isSequence ? try source.items() : [source]
                for each in sources { merged += try each.entries() }
                continue
            }
            own.append((scalar.string, child(scalar.string, valueNode, line: keyLine)))
        }
        let ownKeys = Set(own.map(\.key))
        var seen = Set<String>()
        let fromMerges = merged.filter { !ownKeys.contains($0.key) && seen.insert($0.key).inserted }
        return own + fromMerges
    }

    /// A list's items.
    func items() throws -> [ComposeNode] {
        guard let sequence = node.sequence else { throw error(.invalid, "must be a list, found \(shape)") }
        return sequence.enumerated().map { index, item in
            ComposeNode(node: item, file: file, path: "\(path)[\(index)]", line: item.mark?.line ?? line)
        }
    }

    /// A single value as its text, Compose's `$$` read as `$`. Numbers and booleans give their text.
    func text() throws -> String {
        guard case .scalar(let scalar) = node, !isNull else { throw error(.invalid, "must be a single value, found \(shape)") }
        guard let text = ComposeValues.unescapingDollars(scalar.string) else {
            throw error(.unsupported, "variable interpolation is not supported by Ployz; write the value itself, or $$ for a literal $")
        }
        return text
    }

    /// A whole number within `range`.
    func int(in range: ClosedRange<Int>) throws -> Int {
        let text = try text()
        guard let value = Int(text), range.contains(value) else {
            throw error(.invalid, "\"\(text)\" is not allowed; use a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    func bool() throws -> Bool {
        switch try text().lowercased() {
        case "true": return true
        case "false": return false
        case let other: throw error(.invalid, "\"\(other)\" is not allowed; use true or false")
        }
    }

    /// A duration in Compose's form (`10s`, `1m30s`, `500ms`), in seconds.
    func duration() throws -> Double {
        let text = try text()
        guard let seconds = ComposeValues.duration(text) else {
            throw error(.invalid, "duration \"\(text)\" is not allowed; use a number with a unit, like 10s, 1m30s or 500ms")
        }
        return seconds
    }

    /// A single value, or a list of single values.
    func texts() throws -> [String] {
        isSequence ? try items().map { try $0.text() } : [try text()]
    }

    /// Either a mapping of names to single values, or a list of `NAME=VALUE` (`=VALUE` optional
    /// when `valueRequired` is false, the value then empty): Compose's form of environment and labels.
    func keyValues(valueRequired: Bool) throws -> [String: String] {
        var result: [String: String] = [:]
        if isSequence {
            for item in try items() {
                let entry = try item.text()
                let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = String(parts[0])
                guard !key.isEmpty else { throw item.error(.invalid, "\"\(entry)\" has no name; write NAME=VALUE") }
                guard parts.count == 2 || !valueRequired else {
                    throw item.error(.invalid, "\"\(entry)\" has no value; write \(entry)=VALUE (Ployz does not take values from the deploying shell)")
                }
                guard result.updateValue(parts.count == 2 ? String(parts[1]) : "", forKey: key) == nil else {
                    throw item.error(.invalid, "\(key) is given twice")
                }
            }
        } else {
            for (key, value) in try entries() {
                guard !key.isEmpty, !key.contains("=") else { throw value.error(.invalid, "\"\(key)\" is not allowed as a name; it must be non-empty and hold no '='") }
                if value.isNull && !valueRequired {
                    result[key] = ""
                } else if value.isNull {
                    throw value.error(.invalid, "has no value; write \(key): VALUE (Ployz does not take values from the deploying shell)")
                } else {
                    result[key] = try value.text()
                }
            }
        }
        return result
    }

    private func child(_ key: String, _ node: Node, line: Int) -> ComposeNode {
        ComposeNode(node: node, file: file, path: path.isEmpty ? key : "\(path).\(key)", line: line)
    }
}
