// PloyzStore module.
