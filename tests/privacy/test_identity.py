import pytest

from callbot.errors import ConfigError
from callbot.privacy.identity import caller_hash, normalize_number


@pytest.mark.parametrize(
    "number", ["0612345678", "06 12 34 56 78", "+33 6 12 34 56 78", "0033612345678", "33612345678"]
)
def test_one_caller_one_hash_whatever_the_form(number: str) -> None:
    assert normalize_number(number) == "0612345678"
    assert caller_hash(number, "salt") == caller_hash("0612345678", "salt")


def test_the_salt_changes_the_hash_and_the_number_is_not_in_it() -> None:
    a, b = caller_hash("0612345678", "salt-a"), caller_hash("0612345678", "salt-b")
    assert a != b and len(a) == 64 and "0612345678" not in a


def test_anonymous_callers_get_no_key() -> None:
    assert caller_hash("", "salt") == ""
    assert caller_hash("anonymous", "salt") == ""
    assert caller_hash("0000", "salt") == ""


def test_an_empty_salt_is_refused() -> None:
    with pytest.raises(ConfigError):
        caller_hash("0612345678", "")
