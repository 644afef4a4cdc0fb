import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Chooses and reaches the WireGuard implementation: the kernel module when it exists, else wireguard-go.
public enum WireGuardBackend {
    public static let userspaceExecutable = "/usr/bin/wireguard-go"

    /// `.kernel` when `ip link add <probe> type wireguard` works (the probe is deleted again),
    /// `.userspace` otherwise.
    public static func detect() -> WireGuardBackendKind {
        let probe = "ployzprobe" + String(UInt16.random(in: .min ... .max), radix: 16)
        guard (try? Link.createKernelWireGuard(probe)) != nil else { return .userspace }
        try? Link.delete(probe)
        return .kernel
    }

    /// How to start wireguard-go for `interface` in the foreground. The daemon spawns it detached
    /// and supervises it; wireguard-go then creates the TUN device and its UAPI socket.
    public static func userspaceCommand(interface: String) -> (executable: String, arguments: [String], environment: [String: String]) {
        (userspaceExecutable, ["-f", interface], ["WG_PROCESS_FOREGROUND": "1", "LOG_LEVEL": "error"])
    }

    /// Waits until the interface's UAPI socket accepts connections, polling every 20 ms.
    public static func waitForUAPISocket(
        interface: String, runDirectory: String = "/var/run/wireguard", timeout: Duration
    ) async throws {
        let path = UAPIClient.socketPath(interface: interface, runDirectory: runDirectory)
        let deadline = ContinuousClock.now + timeout
        while true {
            if let fd = try? UAPISocket.connect(path: path, timeout: .seconds(1)) {
                close(fd)
                return
            }
            guard ContinuousClock.now < deadline else { throw WireGuardError.socketTimeout(path: path, timeout: timeout) }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The control for `interface` on the given backend.
    public static func control(
        kind: WireGuardBackendKind, interface: String, runDirectory: String = "/var/run/wireguard"
    ) -> any WireGuardControl {
        switch kind {
        case .kernel: KernelControl(interface: interface)
        case .userspace: UAPIClient(socketPath: UAPIClient.socketPath(interface: interface, runDirectory: runDirectory))
        }
    }
}
