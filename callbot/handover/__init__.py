"""Warm transfer to human queues: the hand-over context, its summary, and its delivery."""

from callbot.handover.context import STATUSES, HandoverContext, HandoverTurn

__all__ = ["STATUSES", "HandoverContext", "HandoverTurn"]
