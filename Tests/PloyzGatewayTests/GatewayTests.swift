import Testing

/// Every gateway suite, run one after another: they start real servers and share two cores.
@Suite(.serialized) enum GatewayTests {}
