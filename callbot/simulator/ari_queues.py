"""The simulated human queues: what ``asterisk/extensions.conf`` and app_queue do with a
caller callbot continues into ``queue_context``.

The caller waits in :attr:`SimulatedQueues.queued` with music on hold.
:meth:`SimulatedQueues.agent_answers` makes an agent's phone answer: it inherits the
caller's ``_``/``__`` variables and runs the ``callbot-agent-screen`` subroutine, i.e.
enters ``Stasis(callbot,agent,<context id>)``; continuing it (``Return()``) bridges it with
the caller (:attr:`SimulatedQueues.queue_bridged`), hanging it up leaves the caller
queued. :meth:`SimulatedQueues.queue_timeout` runs the no-answer priority,
``Stasis(callbot,noanswer,<context id>,<QUEUESTATUS>)``.
"""

from __future__ import annotations

from callbot.errors import AriError
from callbot.simulator.ari_model import AriFailure, AriModel, SimChannel

SCREEN_CONTEXT = "callbot-agent-screen"
"""The shipped screening subroutine (``asterisk/extensions.conf``): ``s,1`` Stasis,
``s,2`` Return (callbot down), ``s,10(accept)`` Return (the agent accepted)."""
SCREEN_PRIORITIES = frozenset({1, 2, 10})
SCREEN_LABELS = {(SCREEN_CONTEXT, "s", "accept"): 10}


class SimulatedQueues:
    """app_queue and the agents' phones, over the channels of an :class:`AriModel`."""

    def __init__(self, model: AriModel, queue_context: str = "callbot-queues") -> None:
        self.model = model
        self.queue_context = queue_context
        self.queued: dict[str, str] = {}
        """Caller channel id -> queue name, while the caller waits for an agent."""
        self.queue_bridged: dict[str, str] = {}
        """Caller channel id -> the agent channel it was bridged with."""
        self.agent_of: dict[str, str] = {}
        """Agent channel id -> the caller channel it rings for."""
        self.abnormal_gosub_exits: list[str] = []
        """Agent channels whose screening subroutine Asterisk would end with ``Abnormal
        'Gosub(callbot-agent-screen,...)' exit`` (a continue to the wrong priority)."""
        model.on_destroyed.append(self._forget)

    def agent_answers(self, caller_id: str, agent: str = "1001") -> str:
        """An agent's phone answers for a queued caller; returns the agent channel id.

        As ``Local/<agent>@callbot-agents`` -> ``Dial(PJSIP/<agent>,,U(callbot-agent-screen
        ^${CALLBOT_CONTEXT_ID}))``: the phone inherits the caller's ``_``/``__`` variables,
        then its subroutine enters ``Stasis(callbot,agent,<context id>)``.
        """
        caller = self.model.channels[caller_id]
        if caller_id not in self.queued or caller.hung_up:
            raise AriError(f"caller {caller_id} is not queued")
        inherited = {_inherited(k): v for k, v in caller.variables.items() if k.startswith("_")}
        args = ("agent", inherited.get("__CALLBOT_CONTEXT_ID", ""))
        chan = self.model.channel_in_stasis(
            f"PJSIP/{agent}", args, context=SCREEN_CONTEXT, caller_number=caller.caller_number
        )
        chan.variables.update(inherited)
        self.agent_of[chan.id] = caller_id
        self.model.emit_channel("StasisStart", chan, args=list(args))
        return chan.id

    def queue_timeout(self, caller_id: str, status: str = "TIMEOUT") -> None:
        """Queue() gives up: the next priority runs ``Stasis(callbot,noanswer,<id>,<status>)``."""
        caller = self.model.channels[caller_id]
        if self.queued.pop(caller_id, None) is None or caller.hung_up:
            raise AriError(f"caller {caller_id} is not queued")
        context_id = caller.variables.get("__CALLBOT_CONTEXT_ID", "")
        args = ("noanswer", context_id, status)
        caller.variables["QUEUESTATUS"] = status
        caller.app, caller.subscribed_app = "callbot", "callbot"
        caller.app_data, caller.args = ",".join(("callbot", *args)), args
        caller.priority += 2
        self.model.emit_channel("StasisStart", caller, args=list(args))

    # ------------------------------------------------------------------ continue (REST)

    @staticmethod
    def label(context: str, exten: str, label: str) -> int:
        """``ast_findlabel_extension`` over the shipped screening subroutine."""
        found = SCREEN_LABELS.get((context, exten, label))
        if found is None:
            raise AriFailure(404, "Requested label can not be found")
        return found

    def agent_reenters_stasis(self, chan: SimChannel, priority: int) -> bool:
        """An agent's phone runs ``callbot-agent-screen`` from Dial's ``U()``: a subroutine on
        a channel with no PBX of its own. Continuing it makes ``stasis_app_exec`` run a
        nested PBX from the priority *before* the target (``ast_explicit_goto`` under
        AUTOLOOP): target 2 re-runs priority 1, ``Stasis()`` again; target 3 runs
        ``Return()`` inside the nested PBX and the subroutine ends abnormally. Only a target
        after a gap in the priorities (the ``accept`` label, 10) ends it cleanly: the nested
        PBX falls through at once and the subroutine's own loop runs ``Return()``.
        (Seen on Asterisk 23: ``res/res_stasis.c`` ``stasis_app_exec``, ``apps/app_stack.c``.)
        Returns True when the channel is back in Stasis."""
        if chan.id not in self.agent_of or chan.context != SCREEN_CONTEXT:
            return False
        nested_start = priority - 1
        if nested_start == 1:  # Stasis(callbot,agent,<id>) again
            self.abnormal_gosub_exits.append(chan.id)
            self.model.emit_channel("StasisEnd", chan)
            chan.priority = 1
            self.model.emit_channel("StasisStart", chan, args=list(chan.args))
            return True
        if nested_start in SCREEN_PRIORITIES:  # Return() inside the nested PBX
            self.abnormal_gosub_exits.append(chan.id)
        return False

    def after_continue(self, chan: SimChannel) -> None:
        """What the sample dialplan does next: queue the caller, or bridge an agent."""
        if chan.context == self.queue_context and chan.priority == 1:
            self.queued[chan.id] = chan.exten
            chan.moh = True  # Queue() plays the queue's musicclass while waiting
            return
        caller_id = self.agent_of.get(chan.id)
        if caller_id is not None and self.queued.pop(caller_id, None) is not None:
            self.queue_bridged[caller_id] = chan.id  # Return() -> Dial/Queue bridge
            self.model.channels[caller_id].moh = False

    def _forget(self, chan: SimChannel) -> None:
        """A caller hung up while queued leaves the queue."""
        self.queued.pop(chan.id, None)


def _inherited(name: str) -> str:
    """``__X`` stays ``__X`` on the child (inherited again); ``_X`` becomes ``X``."""
    return name if name.startswith("__") else name[1:]
