/// Compose's small value languages, as pure functions: nil means the text is not of the form.
enum ComposeValues {
    /// Compose's `$$` as `$`; nil when a lone `$` would start an interpolation, which Ployz does not do.
    static func unescapingDollars(_ text: String) -> String? {
        guard text.contains("$") else { return text }
        var result = ""
        var pendingDollar = false
        for character in text {
            if pendingDollar {
                guard character == "$" else { return nil }
                result.append("$")
                pendingDollar = false
            } else if character == "$" {
                pendingDollar = true
            } else {
                result.append(character)
            }
        }
        return pendingDollar ? nil : result
    }

    /// Seconds of a Go-style duration: `10s`, `1m30s`, `1.5h`, `500ms`, `250us`; `0` alone is zero.
    static func duration(_ text: String) -> Double? {
        if text == "0" { return 0 }
        let units: [String: Double] = ["h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9]
        var rest = Substring(text)
        var total = 0.0
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { !($0.isASCII && ($0.isNumber || $0 == ".")) }
            rest = rest.dropFirst(unit.count)
            guard let value = Double(number), let scale = units[String(unit)] else { return nil }
            total += value * scale
        }
        return total
    }

    /// Bytes of a size as Docker reads memory limits: `1024`, `512M`, `1g`, `256mb`, `1.5GiB`
    /// (binary multiples, case ignored).
    static func byteSize(_ text: String) -> Int64? {
        let lower = text.lowercased()
        let number = lower.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        var unit = lower.dropFirst(number.count)
        if unit.first == " " { unit = unit.dropFirst() }
        if unit.hasSuffix("b") { unit = unit.dropLast() }
        if unit.hasSuffix("i") && unit.count == 2 { unit = unit.dropLast() }
        let scales: [Substring: Double] = ["": 1, "k": 0x1p10, "m": 0x1p20, "g": 0x1p30, "t": 0x1p40, "p": 0x1p50]
        guard let value = Double(number), let scale = scales[unit] else { return nil }
        let bytes = value * scale
        return bytes < 9e18 ? Int64(bytes) : nil
    }

    /// Words of a command line as a shell splits it for simple quoting: blanks separate words;
    /// '...' keeps everything literally; "..." keeps blanks and reads \" \\ \$ \` as the character;
    /// a backslash outside quotes takes the next character literally. Nothing is expanded.
    /// Nil when a quote is left open or the line ends in a lone backslash.
    static func shellWords(_ line: String) -> [String]? {
        enum Quote { case none, single, double }
        var words: [String] = []
        var word = ""
        var inWord = false
        var quote = Quote.none
        var iterator = line.makeIterator()
        while let character = iterator.next() {
            switch (quote, character) {
            case (.none, " "), (.none, "\t"), (.none, "\n"):
                if inWord { words.append(word) }
                word = ""
                inWord = false
            case (.none, "'"):
                quote = .single
                inWord = true
            case (.none, "\""):
                quote = .double
                inWord = true
            case (.none, "\\"):
                guard let next = iterator.next() else { return nil }
                if next != "\n" { word.append(next) }
                inWord = true
            case (.single, "'"), (.double, "\""):
                quote = .none
            case (.double, "\\"):
                guard let next = iterator.next() else { return nil }
                if !"\"\\$`".contains(next) { word.append("\\") }
                word.append(next)
            default:
                word.append(character)
                inWord = true
            }
        }
        guard quote == .none else { return nil }
        if inWord { words.append(word) }
        return words
    }

    /// An `expose` entry: `8080` or `8080/tcp` or `53/udp`. Nil when not of that form; the port
    /// is not range-checked here.
    static func exposedPort(_ text: String) -> (port: Int, transport: String)? {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let transport = parts.count == 2 ? parts[1].lowercased() : "tcp"
        guard transport == "tcp" || transport == "udp", parts[0].allSatisfy({ $0.isASCII && $0.isNumber }),
              let port = Int(parts[0]) else { return nil }
        return (port, transport)
    }
}
