"""Media edges: servers that carry one call's audio between Asterisk and the pipeline."""
