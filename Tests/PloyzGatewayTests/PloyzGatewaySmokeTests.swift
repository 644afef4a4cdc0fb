import Testing
@testable import PloyzGateway

@Test func PloyzGatewayModuleLinks() {
    #expect(Bool(true))
}
