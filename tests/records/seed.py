"""Call records for tests and demos: journal dicts exactly as ``CallJournal.to_dict()``.

:func:`journal` builds one call by hand; :func:`seeded_journals` a plausible week of a
health-insurance hotline (deterministic for a seed): busy office hours, quiet nights, a
few transfers, hang-ups, surveys and utterances the bot did not understand.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

PARIS = dt.timezone(dt.timedelta(hours=1))  # November: CET, no DST
START = dt.datetime(2026, 11, 2, tzinfo=PARIS)  # a Monday

INTENTS = (
    "suivi_remboursement",
    "attestation_droits",
    "carte_vitale_perdue",
    "compte_ameli_mot_de_passe",
    "changement_rib",
    "indemnites_journalieres",
    "medecin_traitant",
    "carte_europeenne",
)
NOT_UNDERSTOOD = {
    "adresse": (
        "je voudrais changer mon adresse postale",
        "changement d'adresse",
        "j'ai déménagé il faut changer l'adresse",
        "mon adresse a changé",
    ),
    "rdv": (
        "je veux un rendez-vous à l'accueil",
        "prendre rendez-vous à l'agence",
        "un rendez-vous avec un conseiller à l'agence",
    ),
    "cure": (
        "c'est pour une cure thermale",
        "remboursement de ma cure thermale",
        "la prise en charge d'une cure",
    ),
    "lunettes": (
        "mes lunettes sont cassées",
        "lunettes pour mon fils",
    ),
}
NOISE = ("euh", "allô", "il fait beau aujourd'hui")


def turn(
    index: int,
    text: str | None,
    outcome: str,
    intent: str | None = None,
    confidence: float | None = None,
    latency_ms: float | None = 700.0,
    asr_s: float | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "index": index,
        "caller_text": text,
        "dtmf": extra.get("dtmf"),
        "intent": intent,
        "confidence": confidence,
        "bot_text": extra.get("bot_text", ["D'accord."]),
        "caller_ended_at_s": 10.0,
        "asr_s": asr_s
        if asr_s is not None
        else (None if latency_ms is None else latency_ms / 2500),
        "first_audio_at_s": None if latency_ms is None else 10.0 + latency_ms / 1000.0,
        "barged_in": extra.get("barged_in", False),
        "outcome": outcome,
        "slots": extra.get("slots", []),
        "hook_status": extra.get("hook_status"),
        "server_latency_ms": latency_ms,
        "answered": extra.get("answered"),
    }


def journal(
    call_id: str,
    started_at: float,
    outcome: str = "answered",
    detail: str = "goodbye",
    turns: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "call_id": call_id,
        "transport": extra.get("transport", "chan_websocket"),
        "format": "ulaw",
        "dialplan": "assurance-maladie",
        "dialplan_version": 1,
        "voice": "fr_FR-siwis-medium",
        "started_at": started_at,
        "duration_s": extra.get("duration_s", 42.0),
        "greeting_ms": extra.get("greeting_ms", 350.0),
        "outcome": outcome,
        "outcome_detail": detail,
        "hung_up_by": extra.get("hung_up_by"),
        "transfer_queue": extra.get("transfer_queue"),
        "callback_queue": extra.get("callback_queue"),
        "survey_score": extra.get("survey_score"),
        "turns": turns or [],
        "errors": extra.get("errors", []),
        # A journal's record token and revision (CallJournal.snapshot); none: a one-off.
        **{key: extra[key] for key in ("record_token", "revision") if key in extra},
    }


def seeded_journals(
    days: int = 7, seed: int = 6, start: dt.datetime = START
) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    calls = []
    for day in range(days):
        for hour in range(24):
            busy = 9 <= hour < 12 or 14 <= hour < 17
            mean = (14 if busy else 5 if 8 <= hour < 20 else 1) * (0.6 if day >= 5 else 1.0)
            for _ in range(_poisson(rng, mean)):
                moment = start + dt.timedelta(days=day, hours=hour, seconds=rng.uniform(0, 3599))
                calls.append(_call(rng, f"seed-{len(calls):05d}", moment.timestamp()))
    return calls


def _call(rng: random.Random, call_id: str, started_at: float) -> dict[str, Any]:
    if rng.random() < 0.02:
        return journal(call_id, started_at, "failed", "asr overloaded", greeting_ms=None)
    turns: list[dict[str, Any]] = []
    latency = lambda: round(rng.lognormvariate(6.55, 0.25), 1)  # noqa: E731  ~700 ms
    if rng.random() < 0.28:
        theme = rng.choice(list(NOT_UNDERSTOOD))
        text = rng.choice(NOT_UNDERSTOOD[theme] if rng.random() < 0.85 else NOISE)
        turns.append(turn(len(turns) + 1, text, "no_match", latency_ms=latency()))
    if rng.random() < 0.1:
        turns.append(
            turn(len(turns) + 1, "carte", "clarify", "carte_vitale_perdue", 0.5, latency())
        )
    intent = rng.choices(INTENTS, weights=(9, 7, 6, 5, 3, 3, 2, 1))[0]
    roll = rng.random()
    if turns and roll < 0.35:
        again = rng.choice(NOT_UNDERSTOOD[rng.choice(list(NOT_UNDERSTOOD))])
        turns.append(turn(len(turns) + 1, again, "no_match", latency_ms=latency()))
        return journal(
            call_id, started_at, "transferred", "no match", turns, transfer_queue="conseillers"
        )
    turns.append(turn(len(turns) + 1, intent.replace("_", " "), "matched", intent, 0.9, latency()))
    if roll < 0.12:
        return journal(call_id, started_at, "hung_up_by_caller", "", turns)
    if roll < 0.27:
        reason = rng.choice(["intent conseiller", "caller asked", "slot nir invalid", "error"])
        return journal(
            call_id, started_at, "transferred", reason, turns, transfer_queue="conseillers"
        )
    score = rng.choices((1, 2, 3, 4, 5), weights=(1, 1, 2, 5, 6))[0] if rng.random() < 0.5 else None
    if score is not None:
        turns.append(turn(len(turns) + 1, str(score), "survey", latency_ms=latency()))
    greeting_ms = round(rng.lognormvariate(5.9, 0.2), 1)  # ~365 ms
    return journal(
        call_id,
        started_at,
        "answered",
        "goodbye",
        turns,
        survey_score=score,
        greeting_ms=greeting_ms,
    )


def _poisson(rng: random.Random, mean: float) -> int:
    count, limit, product = 0, pow(2.718281828459045, -mean), rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count
