import Foundation
import PloyzModel

extension DaemonArguments {
    /// Reads the config file (`--config`, else `PLOYZ_CONFIG`, else the default path) and applies
    /// environment and flags. A missing default file means all defaults; a missing file that was
    /// named explicitly is an error.
    public func loadConfig(environment: [String: String]) throws(ConfigError) -> PloyzConfig.Loaded {
        let explicit = configPath ?? environment["PLOYZ_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        let path = explicit ?? PloyzConfig.defaultPath
        var text: String?
        if FileManager.default.fileExists(atPath: path) {
            guard let data = FileManager.default.contents(atPath: path), let decoded = String(data: data, encoding: .utf8) else {
                throw ConfigError("\(path): cannot read the config file (is it UTF-8 text and readable?)")
            }
            text = decoded
        } else if explicit != nil {
            throw ConfigError("\(path): config file does not exist; create it or drop --config/PLOYZ_CONFIG to use the defaults")
        }
        return try PloyzConfig.load(fileText: text, filePath: path, environment: environment, flags: flags)
    }
}
