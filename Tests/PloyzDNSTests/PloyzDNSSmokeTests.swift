import Testing
@testable import PloyzDNS

@Test func PloyzDNSModuleLinks() {
    #expect(Bool(true))
}
