import Testing
@testable import WireGuard

@Test func WireGuardModuleLinks() {
    #expect(Bool(true))
}
