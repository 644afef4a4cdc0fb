/// A whole DNS message. Section counts live in the arrays; the header's count fields are what the
/// decoder read and are rewritten by the encoder.
public struct DNSMessage: Equatable, Sendable {
    public var header: DNSHeader
    public var questions: [DNSQuestion]
    public var answers: [DNSRecord]
    public var authority: [DNSRecord]
    /// The additional section without the OPT record.
    public var additional: [DNSRecord]
    public var edns: EDNS?

    public init(header: DNSHeader = DNSHeader(), questions: [DNSQuestion] = [], answers: [DNSRecord] = [],
                authority: [DNSRecord] = [], additional: [DNSRecord] = [], edns: EDNS? = nil) {
        self.header = header
        self.questions = questions
        self.answers = answers
        self.authority = authority
        self.additional = additional
        self.edns = edns
    }

    /// The full response code: four header bits plus, with EDNS, eight more from the OPT record.
    /// Setting a code above 15 without EDNS adds an OPT record, since only it can carry the bits.
    public var rcode: DNSRcode {
        get { DNSRcode(rawValue: UInt16(edns?.extendedRcode ?? 0) << 4 | UInt16(header.rcodeLow)) }
        set {
            header.rcodeLow = UInt8(newValue.rawValue & 0x0f)
            let upper = UInt8(newValue.rawValue >> 4)
            if edns != nil {
                edns!.extendedRcode = upper
            } else if upper != 0 {
                edns = EDNS(extendedRcode: upper)
            }
        }
    }
}
