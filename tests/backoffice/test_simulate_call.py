"""End to end: ``callbot simulate`` calls the shipped health-insurance dialplan, keys
the menu and the identity in, and hears its personal answer from the sample back-office;
then says goodbye in a real recording (Debian's Asterisk French sounds, a human voice,
heard by Whisper) and rates the call. The bot runs with the real models in its own
process, as ops run it.

The question is keyed: Whisper base does not understand the corpus's espeak-ng French
("je voudrais savoir quand je serai remboursé de ma consultation" comes out as "et vous
nez à moi qu'en y a serait en boussée de ma concustation"), and no recording of the
Asterisk sounds asks about a reimbursement.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from callbot.backoffice.server import BackgroundBackoffice
from tests.backoffice.conftest import ASSURANCE, CAMILLE, TOKEN, pointed_copy
from tests.conftest import sound

pytestmark = pytest.mark.models


def test_a_keyed_identity_gets_the_personal_answer_and_a_recorded_goodbye_ends_it(
    backoffice: BackgroundBackoffice, models_dir: Path, tmp_path: Path
) -> None:
    dialplan = pointed_copy(ASSURANCE, backoffice.url, tmp_path)
    nir, born = CAMILLE
    year, month, day = born.split("-")
    turns = [
        "dtmf:3",  # where my reimbursement stands
        f"dtmf:{nir}",  # fifteen keys end the entry
        "dtmf:1",  # yes, that is my number
        f"dtmf:{day}{month}{year}#",
        str(sound("vm-goodbye")),  # "au revoir", a human voice
        "dtmf:5",  # the satisfaction score
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLBOT_")}
    env |= {
        "CALLBOT_MODELS_DIR": str(models_dir),
        "CALLBOT_BACKOFFICE_AUTHORIZATION": TOKEN,
        "CALLBOT_RECORDS_URL": str(tmp_path / "records.sqlite3"),
        "CALLBOT_HANDOVER_STORE_PATH": str(tmp_path / "handover.sqlite3"),
        "CALLBOT_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "callbot", "simulate", "--dialplan", str(dialplan), *turns]
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    said = " ".join(turn["bot_text"] or "" for turn in record["turns"])
    assert record["turns"][0]["intent"] == "suivi_remboursement", done.stdout
    assert "vérifier votre identité" in said
    assert "clé 16, c'est bien ça" in said
    assert (
        "Pour une consultation chez un médecin généraliste du 5 octobre 2026, votre "
        "remboursement est de 21 euros. Le 9 octobre 2026 : paiement envoyé à votre banque."
    ) in said
    goodbye = next(turn for turn in record["turns"] if turn["kind"] == "speech")
    assert (goodbye["caller_text"], goodbye["intent"]) == ("Au revoir.", "au_revoir")
    assert "Merci pour votre note" in said
    assert record["hung_up_by"] == "bot"
