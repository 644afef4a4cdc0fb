// PloyzDNS module.
