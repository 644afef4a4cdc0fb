import Testing
@testable import NATSClient

@Test func NATSClientModuleLinks() {
    #expect(Bool(true))
}
