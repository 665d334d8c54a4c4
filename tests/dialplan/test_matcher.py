"""Matching: held-out phrasings (never in the dialplans) with speech-recognition slips."""

from __future__ import annotations

import pytest

from callbot.dialplan import Decision, Dialplan, IntentMatcher, decide, matcher_for
from callbot.dialplan.matcher import TIE_POWER, confidence

# Phrasings written apart from the dialplan examples, with the slips Whisper makes on
# phone audio: missing accents or letters ("atestation", "vitalle"), homophones
# ("conseillé"), plural/singular and gender mismatches.
HELD_OUT_FR = {
    "attestation_droits": [
        "oui bonjour c'est pour avoir une attestation de mes droits",
        "il me faudrait une attestation d'assurance maladie pour la mutuelle",
        "je dois donner un justificatif à mon patron",
        "une atestation de droit s'il vous plaît",
        "je voudrais recevoir mon attestation de droits par courrier",
    ],
    "carte_vitale_perdue": [
        "bonjour j'ai égaré ma carte vitale",
        "on m'a piqué mon sac avec la carte vitale dedans",
        "ma carte vitalle ne fonctionne plus chez le pharmacien",
        "je voudrais une nouvelle carte vital",
        "j'ai perdu ma carte",
    ],
    "suivi_remboursement": [
        "je n'ai toujours pas été remboursé pour mon rendez-vous chez le kiné",
        "où en est le remboursement de ma consultation",
        "ma pharmacie ne m'a pas été remboursée",
        "je voudrais suivre mes remboursement",
        "j'ai envoyé une feuille de soin il y a deux mois et rien",
    ],
    "indemnites_journalieres": [
        "mes indemnités journalière ne sont pas versées",
        "je suis en arrêt de travail depuis trois semaines et je n'ai rien touché",
        "c'est pour le paiement de mes indemnités",
        "je suis en arrêt maladie quand est-ce que je serai payé",
    ],
    "changement_adresse": [
        "je viens de déménager à Lyon",
        "je souhaite modifier mon adresse",
        "c'est pour un changement d'adresse",
        "j'ai une nouvelle adresse",
    ],
    "changement_rib": [
        "je voudrais modifier mon rib",
        "j'ai ouvert un compte dans une nouvelle banque",
        "changement de coordonnées bancaire",
        "il faut que je vous envoie mon nouveau rib",
    ],
    "compte_ameli_mot_de_passe": [
        "j'ai perdu mon mot de passe pour le site ameli",
        "je n'arrive pas à me connecter sur amélie",
        "mon compte amélie est bloqué depuis hier",
        "je voudrais me créer un compte sur ameli",
        "mot de passe oublié",
    ],
    "carte_europeenne": [
        "je pars au Portugal cet été il me faut la carte européenne",
        "comment avoir la carte européenne d'assurance maladie",
        "je vais voyager en Allemagne comment je fais pour être couvert",
        "c'est pour la carte européenne",
    ],
    "medecin_traitant": [
        "je veux changer de médecin traitant",
        "mon docteur traitant a pris sa retraite",
        "comment on déclare un médecin traitant",
        "je n'ai plus de médecin traitant",
    ],
    "conseiller": [
        "je veux parler à quelqu'un",
        "passez-moi un conseiller",
        "je voudrais avoir un conseillé au téléphone",
        "je veux un humain",
        "un agent s'il vous plaît",
    ],
    "reclamation": [
        "je voudrais déposer une réclamation",
        "je ne suis pas d'accord avec votre décision",
        "je veux faire une réclamation pour un remboursement refusé",
        "je souhaite contester",
    ],
    "au_revoir": [
        "merci au revoir",
        "bon ben merci beaucoup au revoir",
        "merci pour tout au revoir",
        "bonne journée madame",
    ],
}

OUT_OF_DOMAIN_FR = [
    "quel temps fait-il à Paris demain",
    "je voudrais commander une pizza",
    "salut tout le monde",
    "euh",
    "allô allô",
    "ma voiture est en panne sur l'autoroute",
    "est-ce que vous vendez des chaussures",
    "des fouineurs ont mangé notre système téléphonique",
]

HELD_OUT_EN = {
    "password_reset": ["hi uh I forgot my pass word", "I need to reset my passwort"],
    "account_locked": ["my account got locked out", "it says my account is disabled"],
    "vpn": ["the VPN is not working", "vpn won't connect"],
    "teams": ["teams meeting problem", "teams crashes all the time"],
    "printer": ["my printer is not printing", "printer jammed"],
    "agent": ["can I speak to someone please", "get me a human"],
    "goodbye": ["bye bye", "thanks goodbye"],
}

OUT_OF_DOMAIN_EN = ["I want to order a pizza", "what is the weather like", "my cat is sick"]


def accuracy(matcher: IntentMatcher, cases: dict[str, list[str]]) -> tuple[float, list[str]]:
    misses = []
    total = 0
    for intent, texts in cases.items():
        for text in texts:
            total += 1
            result = matcher.match(text)
            if result.intent != intent:
                misses.append(f"{text!r}: {result.intent} ({result.confidence:.2f})")
    return 1 - len(misses) / total, misses


class TestHeldOut:
    def test_french_top1(self, assurance: Dialplan) -> None:
        score, misses = accuracy(matcher_for(assurance), HELD_OUT_FR)
        assert score >= 0.9, misses

    def test_french_mostly_answered_without_clarification(self, assurance: Dialplan) -> None:
        matcher = matcher_for(assurance)
        high = assurance.matching.high
        results = [(i, matcher.match(t)) for i, ts in HELD_OUT_FR.items() for t in ts]
        accepted = [r for i, r in results if r.intent == i and r.confidence >= high]
        assert len(accepted) >= len(results) // 2

    def test_french_out_of_domain_never_accepted(self, assurance: Dialplan) -> None:
        matcher = matcher_for(assurance)
        scores = [matcher.match(t).confidence for t in OUT_OF_DOMAIN_FR]
        assert max(scores) < assurance.matching.high
        assert sum(s < assurance.matching.low for s in scores) >= len(scores) - 2

    def test_english(self, helpdesk: Dialplan) -> None:
        matcher = matcher_for(helpdesk)
        score, misses = accuracy(matcher, HELD_OUT_EN)
        assert score >= 0.9, misses
        for text in OUT_OF_DOMAIN_EN:
            assert matcher.match(text).confidence < helpdesk.matching.low, text


class TestMatcher:
    def test_exact_example_is_certain(self, assurance: Dialplan) -> None:
        result = matcher_for(assurance).match("J'AI PERDU MA CARTE VITALE !")
        assert result.intent == "carte_vitale_perdue" and result.score > 0.9
        assert result.runner_up is not None
        assert 0 < result.runner_up_confidence < 0.6
        expected = confidence(result.score, result.runner_up_confidence)
        assert result.confidence == pytest.approx(expected, abs=1e-3)
        assert result.confidence >= assurance.matching.high
        alone = IntentMatcher({"a": ["carte vitale perdue"], "b": ["autre chose"]}, "fr")
        assert alone.match("carte vitale perdue").confidence == 1.0

    def test_an_intent_saying_the_words_twice_beats_one_saying_them_once(self) -> None:
        matcher = IntentMatcher(
            {
                "password": ["mot de passe oublié", "mon mot de passe a expiré"],
                "locked": ["trop d'erreurs de mot de passe", "compte verrouillé"],
            },
            "fr",
        )
        result = matcher.match("mon mot de passe est périmé")
        assert result.intent == "password" and result.runner_up_confidence < result.score

    def test_typo_still_matches(self) -> None:
        matcher = IntentMatcher(
            {"vitale": ["carte vitale perdue"], "rib": ["changer mon rib"]}, "fr"
        )
        assert matcher.match("carte vital perdu").intent == "vitale"
        assert matcher.match("changer mon rip").intent == "rib"  # 3 letters, one differs

    def test_short_words_need_same_length(self) -> None:
        matcher = IntentMatcher({"rib": ["rib"]}, "fr-FR")
        assert matcher.match("ribs").intent is None

    def test_four_letter_words_differ_by_more_than_a_letter(self) -> None:
        matcher = IntentMatcher({"teams": ["teams plante"], "other": ["autre chose"]}, "fr")
        assert matcher.match("quel temps").intent is None  # "temps" is not "teams"
        assert matcher.match("team plante").intent == "teams"  # a letter less

    def test_forms_of_a_short_word(self) -> None:
        matcher = IntentMatcher({"locked": ["account locked"], "reset": ["reset it"]}, "en")
        assert matcher.match("I lock myself out").intent == "locked"

    def test_split_compound(self, helpdesk: Dialplan) -> None:
        result = matcher_for(helpdesk).match("I forgot my pass word")
        assert result.intent == "password_reset"
        assert result.confidence >= helpdesk.matching.high

    def test_same_sound_matches(self) -> None:
        matcher = IntentMatcher(
            {"agent": ["parler à un conseiller"], "aide": ["une aide financière"]}, "fr"
        )
        assert matcher.match("un conseillez").intent == "agent"
        result = matcher.match("cent pour cent")  # no such word: no sound-alike either
        assert result.intent is None

    def test_known_word_is_not_its_look_alike(self) -> None:
        matcher = IntentMatcher(
            {"mere": ["congé de maternité"], "pere": ["congé de paternité"]}, "fr"
        )
        result = matcher.match("mes indemnités de maternité")
        assert result.intent == "mere" and result.runner_up_confidence < 0.8

    def test_distinguishing_word_outweighs_shared_words(self) -> None:
        examples = {
            "perte": ["perte de carte vitale"],
            "maj": ["mise à jour de la carte vitale"],
            "commande": ["commande de carte vitale"],
            "photo": ["photo pour la carte vitale"],
        }
        result = IntentMatcher(examples, "fr").match("ma carte vitale la perte")
        assert result.intent == "perte" and result.confidence > 0.8

    def test_acronyms_and_spelled_letters(self, assurance: Dialplan) -> None:
        matcher = matcher_for(assurance)
        for said in ("renouvellement de ma C2S", "ma c 2 s", "ma c deux s", "la c s s"):
            assert matcher.match(said).intent == "complementaire_sante_solidaire", said
        assert matcher.match("je suis en a l d").intent == "ald"
        assert matcher.match("le r i b").intent == "changement_rib"

    def test_glued_article(self, assurance: Dialplan) -> None:
        result = matcher_for(assurance).match("lattestation de droit")
        assert result.intent == "attestation_droits"
        assert result.confidence >= assurance.matching.high

    def test_closing_words_weigh_little_but_count(self, assurance: Dialplan) -> None:
        matcher = matcher_for(assurance)
        assert matcher.match("c'est tout merci").intent == "au_revoir"
        with_topic = matcher.match("merci, c'est pour mon attestation de droits")
        assert with_topic.intent == "attestation_droits"

    def test_negative_example_holds_an_intent_back(self) -> None:
        examples = {
            "appli": ["utiliser mon téléphone à la place de ma carte vitale"],
            "fraude": ["une autre personne utilise ma carte"],
        }
        said = "quelqu'un utilise ma carte vitale à ma place"
        assert IntentMatcher(examples, "fr").match(said).intent == "appli"
        negatives = {"appli": ["quelqu'un utilise ma carte vitale à ma place"]}
        held_back = IntentMatcher(examples, "fr", negatives).match(said)
        assert held_back.intent == "fraude"
        kept = IntentMatcher(examples, "fr", negatives).match("la carte vitale sur mon téléphone")
        assert kept.intent == "appli"

    def test_nothing_meaningful(self, assurance: Dialplan) -> None:
        for text in ("", "euh", "oui bonjour", "?!"):
            result = matcher_for(assurance).match(text)
            assert (result.intent, result.confidence) == (None, 0.0)

    def test_confidence_in_unit_range(self, assurance: Dialplan) -> None:
        matcher = matcher_for(assurance)
        for texts in HELD_OUT_FR.values():
            for text in texts:
                assert 0.0 <= matcher.match(text).confidence <= 1.0

    def test_empty_index(self) -> None:
        assert IntentMatcher({}, "fr-FR").match("carte vitale").intent is None

    @pytest.mark.parametrize(
        ("best", "runner_up", "expected"),
        [(1.0, 0.0, 1.0), (0.8, 0.4, 0.8 * (1 - 0.5**TIE_POWER)), (0.6, 0.6, 0.0), (0.0, 0.0, 0.0)],
    )
    def test_confidence_drops_as_the_runner_up_comes_close(
        self, best: float, runner_up: float, expected: float
    ) -> None:
        assert confidence(best, runner_up) == pytest.approx(expected)

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (0.9, Decision.ACCEPT),
            (0.65, Decision.ACCEPT),
            (0.5, Decision.CLARIFY),
            (0.45, Decision.CLARIFY),
            (0.2, Decision.REJECT),
        ],
    )
    def test_decide(self, value: float, expected: Decision) -> None:
        assert decide(value, high=0.65, low=0.45) is expected
