/// Chooses node subnets inside `cluster_cidr`. Pure: the store's create-if-absent claim is what
/// makes a choice final, so callers retry with the next candidate when a claim loses a race.
public enum SubnetAllocation {
    public struct Exhausted: Error, CustomStringConvertible {
        public let cidr: IPv4CIDR
        public let prefixLength: Int
        public var description: String {
            "cluster_cidr \(cidr) is full: all \(cidr.subnetCount(prefixLength: prefixLength)) /\(prefixLength) subnets are taken; widen cluster_cidr or lengthen subnet_prefix_len"
        }
    }

    /// Candidate subnets in allocation order, skipping taken ones. `start` spreads concurrent
    /// allocators across the range so that they rarely race for the same subnet.
    public static func candidates(in cidr: IPv4CIDR, prefixLength: Int, taken: Set<IPv4CIDR>, start: Int = 0) -> [IPv4CIDR] {
        let count = cidr.subnetCount(prefixLength: prefixLength)
        guard count > 0 else { return [] }
        var result: [IPv4CIDR] = []
        for offset in 0..<count {
            let subnet = cidr.subnet((start + offset) % count, prefixLength: prefixLength)!
            if !taken.contains(where: { $0.overlaps(subnet) }) { result.append(subnet) }
        }
        return result
    }

    /// The first free subnet, or `Exhausted`.
    public static func first(in cidr: IPv4CIDR, prefixLength: Int, taken: Set<IPv4CIDR>, start: Int = 0) throws(Exhausted) -> IPv4CIDR {
        let count = cidr.subnetCount(prefixLength: prefixLength)
        for offset in 0..<count {
            let subnet = cidr.subnet((start + offset) % count, prefixLength: prefixLength)!
            if !taken.contains(where: { $0.overlaps(subnet) }) { return subnet }
        }
        throw Exhausted(cidr: cidr, prefixLength: prefixLength)
    }
}

extension IPv4CIDR {
    /// The node's own address on its workload bridge (`.1`).
    public var nodeAddress: IPv4Address { host(1)! }
    /// The DNS sidecar's address on the bridge (`.2`).
    public var dnsAddress: IPv4Address { host(2)! }
}
