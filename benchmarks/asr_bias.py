"""Recognition bias toward a dialplan's words (``asr.bias``): off, prompt, hotwords.

Two measures, each decoded with bias off, ``prompt`` and ``hotwords``
(:mod:`callbot.speech.bias`), after a G.711 mu-law round trip as on the phone line:

* **real prompts**: the French Asterisk prompts of ``asr_window.py`` (real speech that
  has nothing to do with the dialplan): the bias must not make them worse (WER);
* **dialplan phrasings**: sentences that carry the dialplan's rare words ("BitLocker",
  "C2S", "carte Vitale"): French acronyms spelled by the real recorded letters and
  digits of the same Asterisk voice; French sentences synthesised by espeak-ng (robotic,
  and hard for Whisper base: a comparison between modes, not a figure for real calls);
  English sentences for the English helpdesk said by the project's Piper voice
  (``en_US-joe-medium``, neural). Reported: keyword hit rate (the keyword's letters as
  consecutive words of the transcript, so "C 2 S" counts for "C2S") and WER.

    nice -n 19 .venv/bin/python benchmarks/asr_bias.py --files 60 \\
        --configs off,prompt:300,hotwords:300,prompt:100,hotwords:100 \\
        --out benchmarks/results/asr-bias.json"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from asr_window import SOUNDS, corpus, words, write_report
from rapidfuzz.distance import Levenshtein

from callbot.audio.convert import decode, encode, resample
from callbot.audio.formats import ULAW_8K
from callbot.audio.wavfile import read_wav
from callbot.dialplan import Decision, Dialplan, decide, load_dialplan, matcher_for
from callbot.loadtest.build import espeak
from callbot.speech.asr import WhisperAsr
from callbot.speech.bias import IntentWords, Vocabulary, build_vocabulary
from callbot.speech.settings import AsrSettings

RATE_HZ = 16_000
BATCH = 8
"""Utterances decoded together (``asr.max_batch``): faster, same text."""
GAP_S = 0.12
"""Silence between two spelled letters (a caller spelling "C, 2, S")."""


@dataclass(frozen=True, slots=True)
class Phrase:
    dialplan: str
    text: str
    keywords: tuple[str, ...]
    spelled: str | None = None
    """Letters and digits to assemble from the real recordings; None: synthesised."""
    intents: str = ""
    """The intents that answer it (space-separated); empty for a spelled acronym."""

    @property
    def kind(self) -> str:
        if self.spelled is not None:
            return "spelled"
        return "piper" if self.dialplan.endswith("-en") else "espeak"


SENTENCES = """
HD | mon ordinateur me demande la clé BitLocker | BitLocker | bitlocker
HD | je veux signaler un mail d'hameçonnage | hameçonnage | hameconnage
HD | je ne peux pas rejoindre la réunion Teams | Teams | teams
HD | le VPN ne se connecte plus depuis chez moi | VPN | vpn
HD | Outlook ne synchronise plus mes courriels | Outlook | office365
HD | je n'ai plus accès à mes fichiers OneDrive | OneDrive | office365
HD | l'application Authenticator ne m'envoie pas le code | Authenticator | double_authentification
HD | il me faut une habilitation sur l'application métier | habilitation | droits_application
HD | comment enrôler mon smartphone dans Intune | enrôler; Intune | smartphone
HD | je voudrais une licence Visio | Visio | logiciel
AM | j'ai perdu ma carte Vitale hier | carte Vitale | carte_vitale_perdue
AM | je voudrais des informations sur l'AME | AME | aide_medicale_etat
AM | comment demander la C2S | C2S | complementaire_sante_solidaire
AM | je n'arrive pas à me connecter à mon compte ameli | ameli | compte_ameli_mot_de_passe
AM | il me faut la CEAM pour partir en Espagne | CEAM | carte_europeenne
AM | je veux changer mon RIB | RIB | changement_rib
AM | comment ouvrir mon DMP | DMP | mon_espace_sante
AM | le médecin ne fait pas le tiers payant | tiers payant | tiers_payant
AM | pourquoi on m'a retiré une franchise médicale | franchise | participation_forfaitaire
AM | je suis en affection de longue durée | affection de longue durée | ald
AM | où en sont mes indemnités journalières | indemnités | indemnites indemnites_journalieres
AM | je dois faire une déclaration de grossesse | grossesse | maternite
EN | my laptop is asking for the BitLocker recovery key | BitLocker | bitlocker
EN | I want to report a phishing email | phishing | phishing
EN | I can't join the Teams meeting | Teams | teams
EN | the VPN keeps disconnecting from home | VPN | vpn
EN | Outlook won't sync my emails | Outlook | office365
EN | I can't open my OneDrive files | OneDrive | office365
EN | the Authenticator app doesn't send me a code | Authenticator | mfa
EN | I need a Visio license | Visio | software_install
EN | how do I enrol my phone in Intune | Intune | smartphone_enrolment
EN | my MFA prompt never arrives | MFA | mfa
EN | I need Adobe Acrobat on my PC | Adobe Acrobat; PC | software_install
EN | the Wi-Fi drops all the time | Wi-Fi | wifi_network
"""
"""Sentences that carry the dialplans' rare words: dialplan (:data:`DIALPLANS`) | text |
keywords | intents that answer it. French ones are said by espeak-ng (robotic), English
ones by Piper."""

DIALPLANS = {"HD": "helpdesk-fr", "AM": "assurance-maladie", "EN": "helpdesk-en"}

SPELLED = {
    "assurance-maladie": ("C2S", "CSS", "AME", "RIB", "DMP", "ALD", "CEAM", "CMU", "NIR", "IJ"),
    "helpdesk-fr": ("VPN", "PC"),
}
"""Acronyms spelled by the real recorded letters and digits of the Asterisk voice."""


def all_phrases() -> list[Phrase]:
    spelled = [Phrase(d, a, (a,), a) for d, acronyms in SPELLED.items() for a in acronyms]
    said = []
    for line in SENTENCES.strip().splitlines():
        code, text, keywords, intents = (part.strip() for part in line.split("|"))
        said.append(Phrase(DIALPLANS[code], text, tuple(keywords.split("; ")), intents=intents))
    return spelled + said


def phone_line(pcm: np.ndarray, rate_hz: int) -> np.ndarray:
    """Through the telephone codec, at the pipeline's 16 kHz."""
    line = decode(ULAW_8K, encode(ULAW_8K, resample(pcm, rate_hz, 8000)))
    return resample(line, 8000, RATE_HZ)


def recorded(name: str) -> np.ndarray:
    pcm, rate = read_wav(SOUNDS / f"{name}.wav")
    return resample(pcm, rate, RATE_HZ)


def spell(letters: str) -> np.ndarray:
    """``letters`` said one by one by the real recorded voice."""
    gap = np.zeros(int(GAP_S * RATE_HZ), dtype=np.int16)
    parts: list[np.ndarray] = []
    for char in letters.lower():
        folder = "digits" if char.isdigit() else "letters"
        parts += [recorded(f"{folder}/{char}"), gap]
    return np.concatenate(parts[:-1])


def audio_of(phrase: Phrase, piper: object) -> np.ndarray:
    if phrase.spelled is not None:
        return phone_line(spell(phrase.spelled), RATE_HZ)
    if phrase.kind == "piper":
        chunks = list(piper.synthesize(phrase.text))  # type: ignore[attr-defined]
        pcm = np.concatenate([c.audio_int16_array for c in chunks])
        return phone_line(pcm, chunks[0].sample_rate)
    return phone_line(espeak(phrase.text, "fr", 120, RATE_HZ), RATE_HZ)


def hit(keyword: str, transcript: str) -> bool:
    """The keyword's letters as one or more consecutive words of the transcript."""
    target, said = "".join(words(keyword)), words(transcript)
    return any(
        "".join(said[i:j]) == target
        for i in range(len(said))
        for j in range(i + 1, min(len(said), i + 6) + 1)
    )


def load_piper() -> object:
    from piper import PiperVoice

    return PiperVoice.load(Path("models/voices/en_US-joe-medium/en_US-joe-medium.onnx"))


def vocabulary(plan: Dialplan) -> Vocabulary:
    intents = (IntentWords(i.label, i.examples) for i in plan.intents)
    return build_vocabulary(intents, plan.language)


def understood(plan: Dialplan, rows: list[tuple[Phrase, str]]) -> tuple[int, int]:
    """Transcripts the dialplan answers with a right intent (directly, and at all as its
    best guess), through its own matcher and thresholds."""
    matcher = matcher_for(plan)
    right = top1 = 0
    for phrase, said in rows:
        result = matcher.match(said)
        hit = result.intent in phrase.intents.split()
        top1 += hit
        decision = decide(result.confidence, high=plan.matching.high, low=plan.matching.low)
        right += hit and decision is Decision.ACCEPT
    return right, top1


async def recognise(asr: WhisperAsr, audio: list[np.ndarray], language: str) -> list[str]:
    """Eight at a time, decoded in batches (the text is the same as one by one)."""
    said: list[str] = []
    for first in range(0, len(audio), BATCH):
        group = audio[first : first + BATCH]
        done = await asyncio.gather(*(asr.transcribe(pcm, language) for pcm in group))
        said += [t.text for t in done]
    return said


def wer(pairs: list[tuple[str, str]]) -> float:
    errors = sum(Levenshtein.distance(words(ref), words(hyp)) for ref, hyp in pairs)
    return round(100 * errors / max(1, sum(len(words(ref)) for ref, _ in pairs)), 1)


async def run(
    files: int, configs: list[tuple[str, int]], dialplans: list[str], out: Path | None
) -> dict:
    prompts = [(phone_line(*read_wav(path)), text) for path, text in corpus(files)]
    piper = load_piper()
    phrases = [(p, audio_of(p, piper)) for p in all_phrases() if p.dialplan in dialplans]
    plans = {name: load_dialplan(Path("dialplans") / f"{name}.yaml") for name in dialplans}
    vocabularies = {name: vocabulary(plan) for name, plan in plans.items()}
    french = [name for name in dialplans if vocabularies[name].language == "fr"]
    results: dict[str, dict] = {}
    transcripts: dict[str, dict[str, str]] = {}
    changed: dict[str, dict[str, str]] = {}
    """Real prompts whose transcript a bias changed: reference, then each config's."""
    plain: list[str] = []
    for mode, max_chars in configs:
        config = mode if mode == "off" else f"{mode} {max_chars}"
        settings = AsrSettings(
            model_dir=Path("models/whisper-base"),
            bias=mode,
            bias_max_chars=max_chars,
            max_batch=BATCH,
            max_pending=BATCH,
            timeout_s=600.0,  # a busy machine is slow, not wrong
        )
        asr = WhisperAsr.load(settings)
        asr.warm_up()
        for name in french if mode != "off" else french[:1]:
            key = f"{config} ({name})" if mode != "off" else "off"
            asr.use_vocabulary(vocabularies[name])
            said = await recognise(asr, [pcm for pcm, _ in prompts], "fr")
            plain = plain or said
            for (_, text), before, after in zip(prompts, plain, said, strict=True):
                if after != before:
                    changed.setdefault(text, {"off": before})[key] = after
            results.setdefault(key, {})["real_prompts_wer_percent"] = wer(
                [(text, hyp) for (_, text), hyp in zip(prompts, said, strict=True)]
            )
            print(key, results[key], flush=True)
        for name in dialplans:
            key = f"{config} ({name})"
            asr.use_vocabulary(vocabularies[name])
            mine = [(p, pcm) for p, pcm in phrases if p.dialplan == name]
            said = await recognise(asr, [pcm for _, pcm in mine], vocabularies[name].language)
            for (phrase, _), hyp in zip(mine, said, strict=True):
                transcripts.setdefault(f"{name}: {phrase.text}", {})[config] = hyp
            for kind in ("spelled", "espeak", "piper"):
                rows = [(p, hyp) for (p, _), hyp in zip(mine, said, strict=True) if p.kind == kind]
                if not rows:
                    continue
                hits = sum(hit(k, hyp) for p, hyp in rows for k in p.keywords)
                total = sum(len(p.keywords) for p, _ in rows)
                results.setdefault(key, {})[f"{kind}_keywords"] = f"{hits}/{total}"
                if kind == "spelled":
                    continue  # "C2S" against "C 2 S": a word error rate says nothing
                results[key][f"{kind}_wer_percent"] = wer([(p.text, hyp) for p, hyp in rows])
                right, top1 = understood(plans[name], rows)
                results[key][f"{kind}_intent_right"] = f"{right}/{len(rows)}"
                results[key][f"{kind}_intent_top1"] = f"{top1}/{len(rows)}"
            print(key, results[key], flush=True)
        asr.close()
    report = {
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores",
        "command": f"python benchmarks/asr_bias.py --files {files} --configs "
        + ",".join(m if m == "off" else f"{m}:{n}" for m, n in configs)
        + f" --dialplans {','.join(dialplans)}",
        "real_prompts": len(prompts),
        "phrasings": {name: sum(p.dialplan == name for p, _ in phrases) for name in dialplans},
        "model": f"whisper base, int8, cpu, beam 1, windows 10/20/30 s, batches of {BATCH}",
        "bias_text": {
            f"{mode} {n} ({name})": v.text(mode, n)
            for name, v in vocabularies.items()
            for mode, n in configs
            if mode != "off"
        },
        "results": results,
        "real_prompts_changed": changed,
        "transcripts": transcripts,
    }
    if out is not None:
        write_report(out, report)
    return report


def config(text: str) -> tuple[str, int]:
    """``off``, ``prompt:300``, ``hotwords:100``."""
    mode, _, size = text.partition(":")
    return mode, int(size or 300)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=60, help="real prompts (asr_window.py's)")
    parser.add_argument(
        "--configs",
        default="off,prompt:300,hotwords:300,prompt:100,hotwords:100",
        help="asr.bias:asr.bias_max_chars to compare",
    )
    parser.add_argument("--dialplans", default="helpdesk-fr,assurance-maladie,helpdesk-en")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    configs = [config(c) for c in args.configs.split(",")]
    asyncio.run(run(args.files, configs, args.dialplans.split(","), args.out))
