"""A simulated Asterisk, as library code: the tests, ``callbot simulate`` and the load
tester all drive calls through it.

Each peer speaks one wire protocol exactly as Asterisk does and enforces its limits;
all of them expose the same caller-side API (see :class:`callbot.simulator.recording.BotRecording`).
"""
