import ArgumentParser
import Foundation
import PloyzDaemon

// Usage errors exit 2 (the product's contract), not ArgumentParser's 64.
do {
    var command = try Ployzctl.parseAsRoot(GlobalOptions.movedToEnd(Array(CommandLine.arguments.dropFirst())))
    try command.run()
} catch let error as ControlError {
    FileHandle.standardError.write(Data("ployzctl: \(error.message)\n".utf8))
    exit(error.exitCode)
} catch let error as ExitCode {
    exit(error.rawValue)
} catch {
    let code = Ployzctl.exitCode(for: error)
    if code == .success {
        print(Ployzctl.fullMessage(for: error))
        exit(0)
    }
    if code == .validationFailure {
        FileHandle.standardError.write(Data((Ployzctl.fullMessage(for: error) + "\n").utf8))
        exit(2)
    }
    FileHandle.standardError.write(Data("ployzctl: \(error)\n".utf8))
    exit(1)
}
