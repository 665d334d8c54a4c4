"""Template summaries: French by default, English for en-* dialplans, always short."""

from __future__ import annotations

from callbot.handover.summary import REQUEST_MAX_CHARS, SummaryFacts, identity_checks, summarize


def facts(**kw: object) -> SummaryFacts:
    base: dict[str, object] = {
        "language": "fr-FR",
        "topics": ("le remboursement",),
        "identity_checks": (),
        "last_request": None,
        "reason": "hors périmètre",
    }
    base.update(kw)
    return SummaryFacts(**base)  # type: ignore[arg-type]


def test_french_minimal() -> None:
    assert summarize(facts()) == (
        "Appel au sujet de : le remboursement; identité non vérifiée. Transfert : hors périmètre."
    )


def test_identity_checks_named_once_in_order() -> None:
    assert identity_checks(["motif", "nir", "date_naissance", "NIR"]) == (
        "NIR",
        "date de naissance",
    )
    text = summarize(facts(identity_checks=("NIR",)))
    assert "identité vérifiée (NIR)" in text


def test_long_request_is_cut_and_two_sentences_at_most() -> None:
    text = summarize(facts(last_request="mot " * 100))
    quoted = text.split("« ")[1].split(" »")[0]
    assert len(quoted) <= REQUEST_MAX_CHARS and quoted.endswith("…")
    assert text.count(". ") + 1 <= 2


def test_english() -> None:
    text = summarize(facts(language="en-US", identity_checks=("NIR",), last_request="help"))
    assert text == (
        "Call about le remboursement; identity checked (social security number); "
        'the caller asks "help". Transferred: hors périmètre.'
    )


def test_english_names_every_identity_check() -> None:
    checks = identity_checks(["numero_allocataire", "numero_fiscal", "date_de_naissance"])
    text = summarize(facts(language="en-GB", identity_checks=checks))
    assert "(benefit claim number, tax number, date of birth)" in text
