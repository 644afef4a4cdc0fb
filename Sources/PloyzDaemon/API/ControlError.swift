import Foundation

/// An error the daemon reports: `{"code": "...", "message": "..."}`. Clients decide on `code`
/// (`ployzctl`'s exit code among them), never on the message, which is for people.
public struct ControlError: Error, Codable, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Codable, Sendable, CaseIterable {
        /// Bad input: a name, an argument, a state that does not allow the command.
        case usage
        /// The named thing does not exist.
        case notFound
        /// It exists already or conflicts with what exists.
        case conflict
        /// The command was valid but failed while running.
        case failed
        /// `mesh join`: the token was already used.
        case inviteUsed
        /// `mesh join`: the token's time is over.
        case inviteExpired
        /// `mesh join`: the network does not know the invite (revoked, or never issued).
        case inviteRevoked
        /// `mesh join`: the issuer never answered through the tunnel; a used or revoked token looks
        /// exactly like an unreachable issuer from the joining node.
        case inviteUnanswered
        /// Something this command needs is held by another one (another join) for longer than it waits.
        case busy

        /// `ployzctl`'s exit code: 2 for bad input (the command cannot succeed as given), 1 for a
        /// failure while running.
        public var exitCode: Int32 {
            switch self {
            case .usage, .notFound, .conflict, .inviteUsed, .inviteExpired, .inviteRevoked, .inviteUnanswered: 2
            case .failed, .busy: 1
            }
        }

        /// A code this side does not know (a newer daemon) reads as `failed`.
        public init(from decoder: Decoder) throws {
            self = Code(rawValue: try decoder.singleValueContainer().decode(String.self)) ?? .failed
        }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
    public var exitCode: Int32 { code.exitCode }
}
