import Foundation
import PloyzDaemon

// Everything is in PloyzDaemon; this only hands over the arguments and exits with its status.
let status = await Daemon.run(arguments: Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment)
exit(status)
