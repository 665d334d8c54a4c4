"""Ops tooling around dialplans: lint, held-out accuracy, conversation tests, text chat.

Everything here works against the engine's public API (:func:`load_dialplan`,
:func:`find_problems`, :class:`DialogEngine`, :func:`matcher_for`), so what the
tools report is what a call would do.

* :mod:`~callbot.dialplan.tooling.lint`: ``callbot dialplan check``;
* :mod:`~callbot.dialplan.tooling.asterisk_queues`: its ``--asterisk-dir`` queue check;
* :mod:`~callbot.dialplan.tooling.testset`: held-out phrasings per intent;
* :mod:`~callbot.dialplan.tooling.accuracy`: ``callbot dialplan accuracy``;
* :mod:`~callbot.dialplan.tooling.conversation`: ``callbot dialplan test``;
* :mod:`~callbot.dialplan.tooling.chat`: ``callbot chat``.
"""
