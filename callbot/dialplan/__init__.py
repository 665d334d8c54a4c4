"""Dialplans: what the bot says and does, written by ops as YAML files.

* :mod:`~callbot.dialplan.model`: the file format as typed, frozen models (intents, slots
  and hooks in :mod:`~callbot.dialplan.intents`, field types in
  :mod:`~callbot.dialplan.fields`);
* :mod:`~callbot.dialplan.loader`: YAML -> :class:`Dialplan`, errors with file:line:col;
* :mod:`~callbot.dialplan.matcher`: caller words -> intent and confidence, offline;
* :mod:`~callbot.dialplan.engine`: the dialog of one call as a pure state machine.

Typical use by the call runner::

    dialplan = load_dialplan("dialplans/assurance-maladie.yaml")   # once, at start-up
    engine = DialogEngine(dialplan, {"caller_number": "0612345678", "call_id": call_id})
    for action in engine.start(): ...
    turn = engine.on_utterance("j'ai perdu ma carte vitale")
    turn.actions, turn.intent, turn.confidence

* :mod:`~callbot.dialplan.slots` and :mod:`~callbot.dialplan.validators`: typed slots;
* :mod:`~callbot.dialplan.hours`: business hours and public holidays;
* :mod:`~callbot.dialplan.hooks` (pure) and :mod:`~callbot.dialplan.backoffice` (HTTP):
  back-office answers, through the ``Fetch`` action and ``DialogEngine.on_hook_result``;
* :mod:`~callbot.dialplan.schema`: the JSON Schema of the format.
"""

from callbot.dialplan.actions import (
    Action,
    CallbackRequest,
    Ending,
    Fetch,
    Hangup,
    HookResult,
    Say,
    Transfer,
    TurnOutcome,
    TurnResult,
)
from callbot.dialplan.engine import DialogEngine, matcher_for
from callbot.dialplan.intents import Intent
from callbot.dialplan.loader import (
    Problem,
    find_problems,
    load_dialplan,
    load_dialplan_dir,
    parse_dialplan,
)
from callbot.dialplan.matcher import Decision, IntentMatcher, MatchResult, decide
from callbot.dialplan.model import Dialplan
from callbot.dialplan.states import DialogState

__all__ = [
    "Action",
    "CallbackRequest",
    "Decision",
    "DialogEngine",
    "DialogState",
    "Dialplan",
    "Ending",
    "Fetch",
    "Hangup",
    "HookResult",
    "Intent",
    "IntentMatcher",
    "MatchResult",
    "Problem",
    "Say",
    "Transfer",
    "TurnOutcome",
    "TurnResult",
    "decide",
    "find_problems",
    "load_dialplan",
    "load_dialplan_dir",
    "matcher_for",
    "parse_dialplan",
]
