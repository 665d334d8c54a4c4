"""Match what a caller said to one of a dialplan's intents, offline and in a few ms.

The method is a "soft TF-IDF" (Cohen, Ravikumar & Fienberg, 2003), chosen because
speech recognition gets whole words wrong ("mou de passe", "boîte vacale") more
often than it reorders them:

* both sides are reduced to the words that matter (:mod:`callbot.dialplan.normalize`:
  no fillers, spelled letters joined, numbers spelled); politeness and closing words
  ("merci", "thanks") stay, weighing :data:`WEAK_WEIGHT` of a word;
* every caller word is compared with every word of the dialplan's vocabulary with
  rapidfuzz's edit-distance ratio (C++, one ``cdist`` call), and by sound
  (:mod:`callbot.dialplan.phonetic`: "conseillé" is "conseiller", "sans" is "cent"),
  so a misrecognised word still counts, in proportion to its similarity; a French
  word the recogniser glued to its article ("lattestation") counts as the word, and
  two words it split from a dialplan word ("pass word", "wi-fi") as that word;
* words are weighted by how few intents use them, learned from the dialplan's own
  examples when it loads: "vitale", in three intents, weighs less than "perte", in one;
  "carte", in ten, hardly counts;
* an example's *coverage* is the weighted share of its words that the caller said
  (its square root, :data:`COVERAGE_POWER`, enters the score);
  an intent's *precision* is the weighted share of the caller's words that the
  intent's examples explain (a word no intent knows counts against every intent, so
  "ma voiture est en panne" is not the broken-laptop intent). An example's score is
  the harmonic mean (F1) of the two, in [0, 1]: 1.0 when the caller said exactly its
  content words. An intent's score is its best example's, with :data:`SECOND_WEIGHT`
  of it taken from its second best: an intent that says the caller's words in several
  examples is likelier than one that says them once;
* an intent's *negative examples* (phrasings that sound like it but are another
  request) hold it back: when one of them fits the caller better than the intent's
  own examples, the intent's score is scaled down by that fit.

The **confidence** is the best score, lowered when the runner-up comes close
(:func:`confidence`): two intents explaining the words equally well is a question to
ask, not an answer to give. The dialplan's ``matching.high`` and ``low`` apply to it.

Building the index is done once per dialplan; matching costs one ``cdist`` plus a few
numpy gathers (p95 well under 5 ms for 300 intents of 8 examples on one core:
``benchmarks/matcher.py``).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz
from rapidfuzz.process import cdist

from callbot.dialplan.normalize import base_language, matching_words, weak_words
from callbot.dialplan.phonetic import phonetic_key

WORD_CUTOFF = 0.75
"""Least similarity (0-1) for two words of 4 letters or more to count as the same word."""

MID_WORD_LENGTH = 5
MID_WORD_CUTOFF = 0.85
"""Words of 4 or 5 letters need this similarity: a letter more or less ("tiket"), not
another letter ("temps" is not "teams"); a word that begins the other ("lock",
"locked") is one of its forms."""

SHORT_WORD_CUTOFF = 0.66
"""Words of 3 letters or less count only if they have the same length and differ by at
most one letter ("mou"/"mot"); anything looser matches half the dictionary."""

SOUND_SIMILARITY = 0.9
"""Similarity of two words of 4 letters or more that sound the same ("conseillé")."""

STEM_LETTERS = 4
"""Words that share their first letters are forms of one word, for a known word's
look-alikes."""

CANDIDATES_PER_WORD = 3
"""Vocabulary words a caller word may stand for (the most similar ones)."""

MAX_CALLER_WORDS = 32
"""Content words of an utterance beyond this are ignored (a caller reading a letter)."""

WEAK_WEIGHT = 0.3
"""Weight of a politeness or closing word ("merci") relative to a topic word."""

IDF_POWER = 2.0
"""Exponent of the inverse intent frequency: above 1, words that name one topic weigh
more against words many intents share than plain IDF would make them."""

COVERAGE_POWER = 0.5
"""Coverage enters the score as its square root: a caller rarely says all the words of
one example, and saying half of them is more than half the evidence."""

SECOND_WEIGHT = 0.2
"""Share of an intent's score that its second-best example gives: an intent whose
examples say the caller's words again and again ("mot de passe" in eight of them) beats
one that says them once, in passing."""

TIE_POWER = 5.0
"""How close the runner-up must come before it lowers the confidence (see
:func:`confidence`): at 5, a runner-up at half the best score costs 3 %, at 90 % of
it, 59 %."""

_ELIDED = re.compile(r"^(?:qu|[cdjlmnst])(?=[aeiouyh]\w{3,}$)")
"""A French article or pronoun glued to the next word when the apostrophe was lost."""


class Decision(enum.StrEnum):
    ACCEPT = "accept"
    CLARIFY = "clarify"
    REJECT = "reject"


def decide(confidence: float, *, high: float, low: float) -> Decision:
    """Accept at ``high`` or more, ask "did you mean...?" from ``low``, else reject."""
    if confidence >= high:
        return Decision.ACCEPT
    if confidence >= low:
        return Decision.CLARIFY
    return Decision.REJECT


def confidence(best: float, runner_up: float) -> float:
    """The best score, lowered as the runner-up comes close to it: ``best * (1 -
    (runner_up / best) ** TIE_POWER)``. An exact example with no rival keeps 1.0; two
    intents tied give 0."""
    if best <= 0:
        return 0.0
    closeness = min(runner_up / best, 1.0)
    return float(best * (1.0 - closeness**TIE_POWER))


@dataclass(frozen=True, slots=True)
class MatchResult:
    intent: str | None
    """Best intent id, ``None`` when nothing scored above zero."""
    confidence: float
    """How sure the match is, in [0, 1] (:func:`confidence`)."""
    runner_up: str | None = None
    runner_up_confidence: float = 0.0
    """The runner-up's own score (not lowered by the best)."""
    score: float = 0.0
    """The best intent's score before the runner-up lowered it."""


_NO_MATCH = MatchResult(intent=None, confidence=0.0)


class IntentMatcher:
    """Index of a dialplan's examples; :meth:`match` is pure and thread-safe."""

    def __init__(
        self,
        examples: Mapping[str, Sequence[str]],
        language: str,
        negatives: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        """``examples`` and ``negatives`` (phrasings that are *not* the intent) by intent id."""
        self.language = language
        self._lang = base_language(language)
        self._intent_ids = list(examples)
        n = len(self._intent_ids)
        per_intent = [self._phrases(texts) for texts in examples.values()]
        negative = [self._phrases((negatives or {}).get(i, ())) for i in self._intent_ids]
        self._held_back = np.array([k for k, group in enumerate(negative) if group], dtype=np.intp)
        """Intents that have negative examples: group ``n + j`` holds those of the j-th."""
        negative = [group for group in negative if group]
        self._vocab = sorted({w for group in (*per_intent, *negative) for ws in group for w in ws})
        self._known = set(self._vocab)
        index = {w: i for i, w in enumerate(self._vocab)}
        pad = len(self._vocab)  # index of an always-zero column
        self._idf = _idf(per_intent, index, weak_words(language))
        self._oov_weight = float(self._idf[:pad].max()) if pad else 1.0
        self._vocab_len = np.array([len(w) for w in self._vocab])
        self._short_words = np.flatnonzero(self._vocab_len <= 3)
        self._stems = np.array([w[:STEM_LETTERS] for w in self._vocab])
        self._by_sound: dict[str, list[int]] = {}
        for i, word in enumerate(self._vocab):
            if len(word) > 3:
                self._by_sound.setdefault(phonetic_key(word, self._lang), []).append(i)

        # examples of intent k are group k; the negative examples, groups n + j
        flat = [(k, ws) for k, group in enumerate((*per_intent, *negative)) for ws in group]
        width = max((len(ws) for _, ws in flat), default=1)
        self._example_group = np.array([k for k, _ in flat], dtype=np.intp)
        self._example_idx = np.full((len(flat), width), pad, dtype=np.intp)
        for row, (_, ws) in enumerate(flat):
            self._example_idx[row, : len(ws)] = [index[w] for w in ws]
        self._example_w = self._idf[self._example_idx]
        self._example_wsum = np.maximum(self._example_w.sum(axis=1), 1e-9)
        self._groups = n + len(negative)
        self._group_sizes = np.bincount(self._example_group, minlength=self._groups)

        # word x group incidence: which intents (and negative groups) use each word
        self._word_groups = np.zeros((pad + 1, self._groups), dtype=np.float32)
        for row, (k, _) in enumerate(flat):
            self._word_groups[self._example_idx[row], k] = 1.0
        self._word_groups[pad] = 0.0

    @property
    def intent_ids(self) -> tuple[str, ...]:
        return tuple(self._intent_ids)

    def match(self, text: str) -> MatchResult:
        """Best and second-best intent for ``text`` with their confidence."""
        said = matching_words(text, self.language, self._known)
        words = [self._unglued(w) for w in said]
        words = list(dict.fromkeys(words))[:MAX_CALLER_WORDS]
        if not words or not self._vocab or not len(self._example_group):
            return _NO_MATCH
        sim = self._similarity(words)
        best_per_word = sim.max(axis=0)
        hit = np.flatnonzero(best_per_word)  # the few vocabulary words the caller said
        if not hit.size:
            return _NO_MATCH
        coverage = (best_per_word[self._example_idx] * self._example_w).sum(axis=1)
        coverage /= self._example_wsum

        best_word = sim.argmax(axis=1)
        caller_w = np.where(sim.max(axis=1) > 0, self._idf[best_word], self._oov_weight)
        # best similarity of each caller word to any word of each group: caller word x group
        explained = (sim[:, hit, None] * self._word_groups[hit][None, :, :]).max(axis=1)
        precision = (caller_w[:, None] * explained).sum(axis=0) / caller_w.sum()

        p = precision[self._example_group]
        coverage = coverage**COVERAGE_POWER
        total = p + coverage
        f1 = np.divide(2 * p * coverage, total, out=np.zeros_like(total), where=total > 0)
        group_scores = self._group_scores(f1.astype(np.float32))
        n = len(self._intent_ids)
        scores = group_scores[:n]
        if self._held_back.size:
            own, against = scores[self._held_back], group_scores[n:]
            scores[self._held_back] = np.where(against >= own, own * (1.0 - against), own)
        return self._top_two(scores)

    def _group_scores(self, f1: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Each group's best example's F1, and :data:`SECOND_WEIGHT` of its second best
        (a group of one example counts it twice)."""
        best = np.zeros(self._groups, dtype=np.float32)
        np.maximum.at(best, self._example_group, f1)
        at_best = f1 >= best[self._example_group]
        ties = np.bincount(self._example_group, weights=at_best, minlength=self._groups)
        second = np.zeros(self._groups, dtype=np.float32)
        np.maximum.at(second, self._example_group, np.where(at_best, 0.0, f1))
        second = np.where((ties > 1) | (self._group_sizes < 2), best, second)
        return (1.0 - SECOND_WEIGHT) * best + SECOND_WEIGHT * second

    def _phrases(self, texts: Sequence[str]) -> list[tuple[str, ...]]:
        return [words for text in texts if (words := matching_words(text, self.language))]

    def _unglued(self, word: str) -> str:
        """``lattestation`` -> ``attestation`` when only the latter is a dialplan word."""
        if self._lang != "fr" or word in self._known:
            return word
        rest = _ELIDED.sub("", word)
        return rest if rest in self._known else word

    def _similarity(self, words: Sequence[str]) -> npt.NDArray[np.float32]:
        """Caller word x vocabulary word similarity in [0, 1], plus a zero pad column.

        Pairs under the cutoffs are 0; so are all but each caller word's few best
        candidates, which bounds the work of :meth:`match` and stops one vague word
        from half-matching the whole vocabulary.
        """
        sim = np.zeros((len(words), len(self._vocab) + 1), dtype=np.float32)
        lengths = np.array([len(w) for w in words])
        long_rows = np.flatnonzero(lengths > 3)
        short_rows = np.flatnonzero(lengths <= 3)
        if long_rows.size:
            long_words = [w for w in words if len(w) > 3]
            ratios = self._ratios(long_words, WORD_CUTOFF)
            pair_len = np.minimum(lengths[long_rows, None], self._vocab_len[None, :])
            loose = (pair_len <= MID_WORD_LENGTH) & (ratios > 0) & (ratios < MID_WORD_CUTOFF)
            for row, col in zip(*np.nonzero(loose), strict=True):
                word, known = long_words[row], self._vocab[col]
                if not (known.startswith(word) or word.startswith(known)):  # "lock", "locked"
                    ratios[row, col] = 0.0
            sim[long_rows, :-1] = ratios
            sim[np.ix_(long_rows, self._short_words)] = 0.0
            for row, word in zip(long_rows.tolist(), long_words, strict=True):
                same_sound = self._by_sound.get(phonetic_key(word, self._lang))
                if same_sound:
                    sim[row, same_sound] = np.maximum(sim[row, same_sound], SOUND_SIMILARITY)
        if short_rows.size:
            ratios = self._ratios([w for w in words if len(w) <= 3], SHORT_WORD_CUTOFF)
            same_length = lengths[short_rows, None] == self._vocab_len[None, :]
            sim[short_rows, :-1] = ratios * same_length
        for row in np.flatnonzero(sim.max(axis=1) >= 1.0).tolist():
            # a word of the dialplan means itself and its own forms, not its look-alikes
            # ("maternité" is not "paternité"; "remboursé" is still "remboursement")
            other_stem = self._stems != words[row][:STEM_LETTERS]
            sim[row, :-1][other_stem] = 0.0
        crowded = np.flatnonzero(np.count_nonzero(sim, axis=1) > CANDIDATES_PER_WORD)
        if crowded.size:
            rows = sim[crowded]
            k = CANDIDATES_PER_WORD
            kth_best = -np.partition(-rows, k - 1, axis=1)[:, k - 1 : k]
            rows[rows < kth_best] = 0.0  # ties with the k-th best stay
            sim[crowded] = rows
        return sim

    def _ratios(self, words: Sequence[str], cutoff: float) -> npt.NDArray[np.float32]:
        """rapidfuzz's normalised Indel similarity in [0, 1]; 0 under ``cutoff``."""
        percent = cdist(
            words,
            self._vocab,
            scorer=fuzz.ratio,
            dtype=np.float32,
            workers=1,
            score_cutoff=cutoff * 100,
        )
        return (percent / 100.0).astype(np.float32, copy=False)

    def _top_two(self, scores: npt.NDArray[np.float32]) -> MatchResult:
        order = np.argsort(-scores, kind="stable")
        best = int(order[0])
        top = float(scores[best])
        if top <= 0:
            return _NO_MATCH
        second = int(order[1]) if len(order) > 1 and scores[order[1]] > 0 else None
        runner_up = float(scores[second]) if second is not None else 0.0
        return MatchResult(
            self._intent_ids[best],
            round(confidence(top, runner_up), 4),
            self._intent_ids[second] if second is not None else None,
            round(runner_up, 4),
            round(top, 4),
        )


def _idf(
    per_intent: list[list[tuple[str, ...]]], index: dict[str, int], weak: frozenset[str]
) -> npt.NDArray[np.float32]:
    """Weight of each vocabulary word: smoothed inverse intent frequency to the power
    :data:`IDF_POWER`, times :data:`WEAK_WEIGHT` for weak words; 0 for the pad column.
    Words only negative examples use count as used by no intent."""
    df = np.zeros(len(index) + 1)
    for exs in per_intent:
        for w in {w for ws in exs for w in ws}:
            df[index[w]] += 1
    n = len(per_intent)
    idf = (np.log((n + 1) / (df + 1)) + 1.0) ** IDF_POWER
    for word, i in index.items():
        if word in weak:
            idf[i] *= WEAK_WEIGHT
    idf[-1] = 0.0
    return idf.astype(np.float32)
