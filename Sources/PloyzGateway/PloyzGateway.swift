// PloyzGateway module.
