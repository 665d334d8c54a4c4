"""The ``callbot`` command line: one module per command group; :mod:`.main` parses."""
