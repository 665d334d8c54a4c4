"""The composition root: builds a running callbot from its settings (service, ARI
bridge, ``serve`` and ``simulate`` entry points). Nothing below imports it."""
