import pytest

from callbot.security.proxy import TrustedProxies, groups

PROXIES = TrustedProxies.parse(["10.0.0.5", "192.168.0.0/24", "::1"])


def test_parse_and_trust() -> None:
    assert PROXIES.trusts("10.0.0.5") and PROXIES.trusts("192.168.0.77")
    assert PROXIES.trusts("::1") and PROXIES.trusts("[::1]")
    assert not PROXIES.trusts("10.0.0.6") and not PROXIES.trusts(None)
    assert not PROXIES.trusts("not an address")
    assert not TrustedProxies() and PROXIES
    with pytest.raises(ValueError, match=r"'10\.0\.0\.300'"):
        TrustedProxies.parse(["10.0.0.300"])


def test_forwarded_for_is_ignored_from_an_untrusted_peer() -> None:
    assert PROXIES.client_address("203.0.113.9", "198.51.100.1") == "203.0.113.9"


def test_forwarded_for_is_read_from_the_right_while_hops_are_trusted() -> None:
    assert PROXIES.client_address("10.0.0.5", "198.51.100.1") == "198.51.100.1"
    # The client wrote the first entry itself; the proxies appended the rest.
    chain = "1.2.3.4, 198.51.100.1, 192.168.0.3"
    assert PROXIES.client_address("10.0.0.5", chain) == "198.51.100.1"
    assert PROXIES.client_address("10.0.0.5", None) == "10.0.0.5"
    assert PROXIES.client_address("10.0.0.5", "192.168.0.3") == "192.168.0.3"


def test_groups() -> None:
    assert groups("ops, agent;metrics  x") == {"ops", "agent", "metrics", "x"}
    assert groups("callbot-ops,admins,callbot-agent", "callbot-") == {"ops", "agent"}
    assert groups(None) == frozenset() and groups("  ") == frozenset()
