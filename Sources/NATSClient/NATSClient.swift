// NATSClient module.
