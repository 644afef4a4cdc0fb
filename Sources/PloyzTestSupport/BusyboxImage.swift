import Foundation

/// The test image: a root filesystem of Debian's `busybox-static` (no CMD: containers give their
/// `command`), enough for a web service (`httpd`), its healthcheck (`wget`) and scripted output.
public enum BusyboxImage {
    /// The reference tests and the demo import it as.
    public static let reference = "ployz-test:1"
    /// Applets linked next to `/bin/busybox`.
    public static let applets = ["sh", "httpd", "wget", "sleep", "cat", "echo", "env", "nc", "ls", "ps", "kill", "true", "false",
                                 "printf", "date", "hostname", "ip", "ping", "nslookup", "mkdir", "rm", "grep", "head"]

    /// Writes the rootfs tar to `tarPath` (for `importImage`). Throws when busybox is missing.
    public static func makeRootfsTar(at tarPath: String, busybox: String = "/bin/busybox") throws {
        guard FileManager.default.isExecutableFile(atPath: busybox) else {
            throw Command.Failure(description: "\(busybox) not found: install Debian's busybox-static (scripts/deps.sh)")
        }
        let staging = tarPath + ".rootfs"
        try? FileManager.default.removeItem(atPath: staging)
        defer { try? FileManager.default.removeItem(atPath: staging) }
        let files = FileManager.default
        for folder in ["bin", "tmp", "etc", "proc", "sys", "dev"] {
            try files.createDirectory(atPath: "\(staging)/\(folder)", withIntermediateDirectories: true)
        }
        try files.setAttributes([.posixPermissions: 0o1777], ofItemAtPath: "\(staging)/tmp")
        try files.copyItem(atPath: busybox, toPath: "\(staging)/bin/busybox")
        for applet in applets {
            try files.createSymbolicLink(atPath: "\(staging)/bin/\(applet)", withDestinationPath: "busybox")
        }
        try Data("root:x:0:0:root:/:/bin/sh\n".utf8).write(to: URL(fileURLWithPath: "\(staging)/etc/passwd"))
        try Data("root:x:0:\n".utf8).write(to: URL(fileURLWithPath: "\(staging)/etc/group"))
        try Command.run(["tar", "--numeric-owner", "-C", staging, "-cf", tarPath, "."])
    }
}
