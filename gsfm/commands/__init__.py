"""One module per CLI command (see :mod:`gsfm.cli`)."""
