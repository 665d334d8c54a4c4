"""Utterances the bot did not understand, grouped into candidate new intents.

Offline and small: each distinct utterance becomes a TF-IDF vector of character 3-grams
taken inside words (robust to the inflections and Whisper's spelling slips: "changer",
"changement"), then average-linkage agglomerative clustering on cosine similarity merges
groups while they stay closer than ``threshold``. numpy only; the number of distinct
utterances is capped so the O(n²) matrix stays small (600 -> 1.4 MB).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from callbot.records.kpi import NOT_UNDERSTOOD
from callbot.records.model import StoredCall

DEFAULT_THRESHOLD = 0.25
"""Average cosine similarity above which two groups are merged."""
MAX_DISTINCT = 600

_STOP_WORDS = """a ai au aux avec bonjour c ca ce ces cette d dans de des du elle en est et etre euh
    faire fait il ils j je l la le les leur lui m ma mais me merci mes moi mon n ne nous
    on ou par pas peux plus pour pouvez qu que qui s sa se ses si son suis sur svp t ta te
    tes toi ton tu un une veux voudrais vous vos votre y oui non alors bien hum ben
    i im me my the to is it of and or in on for an be can do you your want would like
    please hello hi um uh yes no chez comment besoin voulais aimerais
aujourd hui allo"""
STOP_WORDS = frozenset(_STOP_WORDS.split())
_WORD = re.compile(r"[a-z0-9]+")
_PLACEHOLDER = re.compile(r"<[^>]*>")


@dataclass(frozen=True, slots=True)
class Cluster:
    label: str
    """The cluster's most telling words, as a name for a candidate intent."""
    count: int
    """Utterances in the cluster (repeats included)."""
    share: float
    """Fraction of all not-understood utterances."""
    examples: tuple[str, ...]
    """Most typical distinct utterances first (as stored: redacted)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def not_understood(calls: Iterable[StoredCall]) -> list[str]:
    """Recognised text of every turn the bot could not place (no match, clarify)."""
    return [
        turn.caller_text
        for call in calls
        for turn in call.turns
        if turn.outcome in NOT_UNDERSTOOD and turn.caller_text and turn.caller_text.strip()
    ]


def words(text: str) -> list[str]:
    """Lower-case, accent-free content words (stop words and placeholders removed)."""
    plain = unicodedata.normalize("NFKD", _PLACEHOLDER.sub(" ", text.lower()))
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    return [w for w in _WORD.findall(plain) if w not in STOP_WORDS]


def cluster_utterances(
    texts: Sequence[str],
    threshold: float = DEFAULT_THRESHOLD,
    min_count: int = 2,
    max_examples: int = 3,
) -> list[Cluster]:
    """Clusters of ``texts`` with at least ``min_count`` utterances, largest first."""
    keyed: dict[str, Counter[str]] = {}
    for text in texts:
        key = " ".join(words(text))
        if key:
            keyed.setdefault(key, Counter())[text.strip()] += 1
    keys = sorted(keyed, key=lambda k: -sum(keyed[k].values()))[:MAX_DISTINCT]
    if not keys:
        return []
    weights = np.array([sum(keyed[k].values()) for k in keys], dtype=np.float32)
    vectors = tfidf(keys)
    groups = agglomerate(vectors @ vectors.T, threshold)
    total = len(texts)
    clusters = []
    for members in groups:
        count = int(weights[members].sum())
        if count < min_count:
            continue
        centroid = vectors[members].mean(axis=0)
        typical = sorted(members, key=lambda i: (-weights[i], -float(vectors[i] @ centroid)))
        examples = [keyed[keys[i]].most_common(1)[0][0] for i in typical[:max_examples]]
        label = _label([keys[i] for i in members], [int(weights[i]) for i in members])
        clusters.append(Cluster(label, count, round(count / total, 4), tuple(examples)))
    return sorted(clusters, key=lambda c: (-c.count, c.label))


def tfidf(keys: Sequence[str]) -> npt.NDArray[np.float32]:
    """L2-normalised TF-IDF rows of character 3-grams inside words (`` ch``, ``cha``...)."""
    grams = [Counter(_grams(key)) for key in keys]
    vocabulary = {g: i for i, g in enumerate(sorted({g for c in grams for g in c}))}
    matrix = np.zeros((len(keys), len(vocabulary)), dtype=np.float32)
    for row, counts in enumerate(grams):
        for gram, n in counts.items():
            matrix[row, vocabulary[gram]] = 1.0 + math.log(n)
    documents = np.count_nonzero(matrix, axis=0)
    matrix *= np.log((1 + len(keys)) / (1 + documents)) + 1.0
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    normalised: npt.NDArray[np.float32] = matrix / np.maximum(norms, 1e-9)
    return normalised


def agglomerate(similarity: npt.NDArray[np.float32], threshold: float) -> list[list[int]]:
    """Average-linkage clustering: merge the closest pair while above ``threshold``."""
    sim = similarity.astype(np.float64, copy=True)
    np.fill_diagonal(sim, -np.inf)
    sizes = np.ones(len(sim))
    members: list[list[int]] = [[i] for i in range(len(sim))]
    while len(sim) > 1:
        flat = int(np.argmax(sim))
        i, j = divmod(flat, len(sim))
        if sim[i, j] < threshold:
            break
        merged = (sizes[i] * sim[i] + sizes[j] * sim[j]) / (sizes[i] + sizes[j])
        sim[i, :] = merged
        sim[:, i] = merged
        sim[i, i] = -np.inf
        sim[j, :] = -np.inf
        sim[:, j] = -np.inf
        sizes[i] += sizes[j]
        members[i] += members[j]
        members[j] = []
    return [group for group in members if group]


def _grams(key: str) -> Iterable[str]:
    for word in key.split():
        padded = f" {word} "
        yield from (padded[k : k + 3] for k in range(len(padded) - 2))


def _label(keys: Sequence[str], weights: Sequence[int], size: int = 3) -> str:
    counts: Counter[str] = Counter()
    for key, weight in zip(keys, weights, strict=True):
        for word in set(key.split()):
            if len(word) > 2:
                counts[word] += weight
    top = [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:size]]
    return " ".join(top) or keys[0]
