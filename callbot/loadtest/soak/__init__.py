"""A soak: many calls against a callbot in its own process, with crashes and database
outages on a schedule, then every call placed compared with the records stored.

What it does, in order:

* starts ``callbot serve`` as a child process (the server under test: its own CPU, its
  own event loop), with records in SQLite or in a throw-away PostgreSQL it also starts
  (:mod:`.server`);
* places ``calls`` calls from the recorded corpus, ``concurrency`` at a time, through the
  simulated Asterisk (chan_websocket, real-time pace), like :mod:`callbot.loadtest.runner`
  (:mod:`.run`);
* on a schedule, if asked: ``kill -9`` of the server, which comes back after
  ``restart_delay_s`` (what systemd's ``Restart=always`` does), and/or the database
  stopped for ``db_down_s`` (:mod:`.faults`);
* samples the server's RSS, open file descriptors and CPU all along (the pid changes
  after a restart);
* at the end, waits for the records to settle and compares: every call that reached the
  server must have exactly one record (a call the server never accepted, while it was
  down, is counted apart: on a real line Asterisk would have sent it to a human)
  (:mod:`.report`).

The report (JSON, and a PNG with p95 per tenth of the run, RSS and fds over time) says
the calls by outcome and failure reason, records lost (goal: 0), RSS and fds at the start
and the end, and p95 voice-to-voice per tenth of the run.
"""
