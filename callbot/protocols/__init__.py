"""Sans-I/O cores of the external protocols (bytes or text in, typed events out)."""
