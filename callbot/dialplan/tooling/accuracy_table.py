"""The text tables of ``callbot dialplan accuracy``: per dialplan, per intent, the misses."""

from __future__ import annotations

from collections.abc import Sequence

from callbot.dialplan import Decision
from callbot.dialplan.tooling.accuracy import TARGETS, AccuracyReport, Outcome, Shares, Targets

_SHARES_HEADER = (
    f"{'phrases':>7} {'top-1':>6} {'right':>6} {'WRONG':>6} {'confirm':>7} {'fallback':>8}"
)


def _shares(s: Shares) -> str:
    return (
        f"{s.count:>7} {s.top1:>6.1%} {s.right:>6.1%} {s.wrong:>6.1%} "
        f"{s.confirm:>7.1%} {s.fallback:>8.1%}"
    )


def format_table(reports: Sequence[AccuracyReport], targets: Targets = TARGETS) -> str:
    """One line per dialplan and variant, then the targets it misses."""
    header = (
        f"{'dialplan':<22} {'set':<5} {'intents':>7} {_SHARES_HEADER} {'oos-rej':>7} "
        f"{'p50 ms':>6} {'p95 ms':>6}  targets"
    )
    lines = [header, "-" * len(header)]
    for r in reports:
        misses = r.shares.misses(targets)
        lines.append(
            f"{r.name:<22} {r.variant:<5} {r.intents:>7} {_shares(r.shares)} "
            f"{r.out_of_scope_rejected:>7.1%} {r.latency_ms(0.5):>6.2f} "
            f"{r.latency_ms(0.95):>6.2f}  {'; '.join(misses) if misses else 'met'}"
        )
    lines.append(
        f"targets: wrong <= {targets.max_wrong:.0%}, right >= {targets.min_right:.0%}, "
        f"confirm <= {targets.max_confirm:.0%}, top-1 >= {targets.min_top1:.0%}; "
        "out of scope never answered"
    )
    return "\n".join(lines)


def format_intents(report: AccuracyReport) -> str:
    """One line per intent of one report: where its phrasings end."""
    header = f"{'intent':<32} {_SHARES_HEADER}"
    lines = [f"== {report.name} ({report.variant})", header, "-" * len(header)]
    for intent, shares in report.per_intent().items():
        lines.append(f"{intent:<32} {_shares(shares)}")
    return "\n".join(lines)


def format_misses(report: AccuracyReport) -> str:
    """Every phrasing not answered right, with its position in the test set, then the
    confusion counts."""
    lines = []
    for r in report.in_scope:
        if r.outcome is not Outcome.RIGHT:
            lines.append(
                f"{r.case.line}: {r.case.text!r}: {r.outcome.value}: expected "
                f"{r.case.expected}, got {r.intent or '(none)'} ({r.confidence:.2f})"
            )
    for r in report.out_of_scope:
        if r.decision is Decision.ACCEPT:
            lines.append(f"{r.case.line}: {r.case.text!r}: out of scope, answered {r.intent}")
    confusions = report.confusions()
    if confusions:
        lines.append("confusions (expected -> got: count):")
        lines += [f"  {e} -> {g}: {n}" for e, g, n in confusions]
    return "\n".join(lines)
