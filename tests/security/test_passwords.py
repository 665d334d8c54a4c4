import base64
import hashlib
import io
from pathlib import Path

import pytest

from callbot.cli.main import main
from callbot.cli.security import read_password
from callbot.errors import ConfigError
from callbot.security.passwords import (
    PasswordCheck,
    PasswordHash,
    hash_password,
    verify_password,
)

FAST = 4  # log2 n for tests: the format is the same, the cost is not


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def test_scrypt_round_trip() -> None:
    stored = hash_password("correct horse", log2_n=FAST)
    assert stored.startswith(f"$scrypt$ln={FAST},r=8,p=1$")
    assert verify_password("correct horse", stored)
    assert not verify_password("correct horsE", stored)
    assert not verify_password("", stored)
    assert hash_password("correct horse", log2_n=FAST) != stored  # a fresh salt each time


def test_default_cost_is_scrypt_2_14() -> None:
    stored = hash_password("pw")
    assert stored.startswith("$scrypt$ln=14,r=8,p=1$") and verify_password("pw", stored)


def test_pbkdf2_sha256_is_accepted() -> None:
    salt = b"0123456789abcdef"
    key = hashlib.pbkdf2_hmac("sha256", b"s3cret", salt, 1000, 32)
    stored = f"$pbkdf2-sha256$i=1000${b64(salt)}${b64(key)}"
    assert verify_password("s3cret", stored)
    assert not verify_password("s3cre", stored)


@pytest.mark.parametrize(
    "text",
    [
        "hunter2",  # a plain password put where a hash belongs
        "$scrypt$ln=14,r=8$c2FsdA$a2V5",
        "$scrypt$ln=99,r=8,p=1$c2FsdA$a2V5",
        "$md5$i=1$c2FsdA$a2V5",
        "$pbkdf2-sha256$i=1000$!!$a2V5",
        "$pbkdf2-sha256$i=1000$$a2V5",
    ],
)
def test_malformed_hashes_are_refused_without_being_echoed(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        PasswordHash.parse(text)
    assert text not in str(caught.value)


def test_a_verified_password_is_not_hashed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    check = PasswordCheck.of(None, hash_password("pw", log2_n=FAST))
    assert check is not None and check.slow
    derived = []
    original = PasswordHash.derive

    def counting(self: PasswordHash, password: str) -> bytes:
        derived.append(password)
        return original(self, password)

    monkeypatch.setattr(PasswordHash, "derive", counting)
    assert check.matches("pw") and check.matches("pw") and check.matches("pw")
    assert not check.matches("nope") and not check.matches("nope")
    assert derived == ["pw", "nope", "nope"]  # wrong passwords are never remembered


def test_plain_password_check() -> None:
    check = PasswordCheck.of("pw", None)
    assert check is not None and not check.slow
    assert check.matches("pw") and not check.matches("pw ") and not check.matches("")
    assert PasswordCheck.of(None, None) is None


def test_cli_reads_stdin_and_prints_only_the_hash(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret pass\n"))
    assert main(["security", "hash-password"]) == 0
    out = capsys.readouterr().out
    assert "s3cret" not in out
    assert verify_password("s3cret pass", out.strip())


def test_cli_refuses_an_empty_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("   \n"))
    assert main(["security", "hash-password"]) == 1
    assert "empty password" in capsys.readouterr().err


def test_terminal_password_is_asked_twice(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    answers = iter(["one", "two"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    with pytest.raises(ConfigError, match="differ"):
        read_password(Tty())
    answers = iter(["same", "same"])
    assert read_password(Tty()) == "same"
