import Testing
import PloyzModel
@testable import PloyzDaemon

@Suite struct AddressConflictTests {
    @Test func parsesProcNetRoute() {
        let text = """
            Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
            eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
            eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
            """
        let routes = HostRoute.parse(procNetRoute: text)
        #expect(routes == [
            HostRoute(interface: "eth0", destination: IPv4CIDR("0.0.0.0/0")!),
            HostRoute(interface: "eth0", destination: IPv4CIDR("192.0.2.0/24")!),
        ])
    }

    let cidr = IPv4CIDR("10.101.0.0/16")!

    @Test func routedRangeOnAnotherInterfaceConflicts() {
        let routes = [HostRoute(interface: "eth1", destination: IPv4CIDR("10.101.7.0/24")!)]
        let problem = AddressConflicts.problem(with: cidr, network: "a", routes: routes, ownInterfaces: ["wg0", "ployz0"], otherNetworks: [])
        #expect(problem?.contains("10.101.7.0/24") == true)
        #expect(problem?.contains("eth1") == true)
    }

    @Test func defaultRouteAndOwnInterfaceDoNotConflict() {
        let routes = [HostRoute(interface: "eth0", destination: IPv4CIDR("0.0.0.0/0")!),
                      HostRoute(interface: "wg0", destination: cidr),
                      HostRoute(interface: "ployz0", destination: IPv4CIDR("10.101.0.0/24")!),
                      HostRoute(interface: "eth0", destination: IPv4CIDR("192.168.1.0/24")!)]
        #expect(AddressConflicts.problem(with: cidr, network: "a", routes: routes, ownInterfaces: ["wg0", "ployz0"], otherNetworks: []) == nil)
    }

    @Test func otherNetworkWithOverlappingDifferentCIDRConflicts() {
        let others = [(name: "b", cidr: IPv4CIDR("10.101.128.0/17")!)]
        let problem = AddressConflicts.problem(with: cidr, network: "a", routes: [], ownInterfaces: ["wg0", "ployz0"], otherNetworks: others)
        #expect(problem?.contains("network \"b\"") == true)
    }

    @Test func otherNetworkWithTheSameCIDRIsFine() {
        let others = [(name: "b", cidr: cidr), (name: "c", cidr: IPv4CIDR("10.200.0.0/16")!)]
        #expect(AddressConflicts.problem(with: cidr, network: "a", routes: [], ownInterfaces: ["wg0", "ployz0"], otherNetworks: others) == nil)
    }
}
