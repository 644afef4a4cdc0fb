import Testing
@testable import PloyzStore

@Test func PloyzStoreModuleLinks() {
    #expect(Bool(true))
}
