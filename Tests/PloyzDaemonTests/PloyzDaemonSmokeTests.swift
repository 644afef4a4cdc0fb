import Testing
@testable import PloyzDaemon

@Test func PloyzDaemonModuleLinks() {
    #expect(Bool(true))
}
