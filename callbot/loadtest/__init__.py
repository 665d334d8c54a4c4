"""Load tester: replays recorded calls through the simulated Asterisk (``callbot loadtest``)."""
