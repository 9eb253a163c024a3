"""First contact and pairing against a real bridge over TLS on 127.0.0.1."""

from __future__ import annotations

import pytest

from app.bridge_client import (
    CERTIFICATE_CHANGED_MESSAGE,
    BridgeSession,
    BridgeUnreachable,
    CertificateChanged,
    PairingLocked,
    WrongCode,
    group_fingerprint,
    parse_address,
)
from app.bridge_client.pairing import fetch_fingerprint, pair, probe


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


@pytest.mark.parametrize(("text", "expected"), [
    ("192.168.1.60", ("192.168.1.60", 8443)),
    (" earmuff-pi.local:9443 ", ("earmuff-pi.local", 9443)),
    ("https://10.0.0.2:8443/", ("10.0.0.2", 8443)),
    ("fe80::1", ("fe80::1", 8443)),
    ("[fe80::1]:9000", ("fe80::1", 9000)),
])
def test_addresses_are_read_the_way_people_type_them(text, expected):
    assert parse_address(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("", "Enter the bridge's address"),
    ("pi.local:99999", "port"),
    ("pi local", "not an address"),
])
def test_nonsense_addresses_are_explained(text, message):
    with pytest.raises(ValueError, match=message):
        parse_address(text)


def test_probe_shows_the_certificate_the_bridge_really_has(bridge):
    found = probe("127.0.0.1", bridge.port)
    assert found.fingerprint == bridge.fingerprint == fetch_fingerprint("127.0.0.1", bridge.port)
    assert found.info.bridge_id == bridge.bridge_id
    assert found.info.name == "Demo bridge"
    assert found.grouped_fingerprint == group_fingerprint(bridge.fingerprint)
    assert found.grouped_fingerprint.count(":") == 31 and found.grouped_fingerprint.isupper()


def test_the_right_code_gives_a_token_that_works(bridge):
    found = probe("127.0.0.1", bridge.port)
    result = pair(found, bridge.pairing_code(), "Anna's laptop")
    assert result.bridge_id == bridge.bridge_id and result.token_id is not None
    with BridgeSession("127.0.0.1", bridge.port, found.fingerprint, result.token) as session:
        assert [s.speaker_id for s in session.speakers()] == ["kitchen", "bedroom", "living-room"]
        assert [t["client_name"] for t in session.tokens()] == ["Anna's laptop"]


def test_a_wrong_code_is_refused_with_a_plain_reason(bridge):
    found = probe("127.0.0.1", bridge.port)
    with pytest.raises(WrongCode) as caught:
        pair(found, wrong(bridge.pairing_code()), "Anna's laptop")
    assert "not the bridge's current pairing code" in caught.value.user_message
    assert "earmuff-bridge pair-code" in caught.value.user_message


def test_a_code_that_is_not_six_digits_is_not_even_sent(bridge):
    found = probe("127.0.0.1", bridge.port)
    with pytest.raises(ValueError, match="6 digits"):
        pair(found, "12ab", "Anna's laptop")


def test_five_wrong_codes_lock_pairing_and_the_message_says_how_long(bridge):
    found = probe("127.0.0.1", bridge.port)
    errors = []
    for _ in range(6):
        try:
            pair(found, wrong(bridge.pairing_code()), "Mallory")
        except (WrongCode, PairingLocked) as error:
            errors.append(error)
    assert all(isinstance(e, WrongCode) for e in errors[:5])
    locked = errors[-1]
    assert isinstance(locked, PairingLocked)
    assert 0 < locked.retry_after <= 60
    assert "Too many wrong codes" in locked.user_message and "second" in locked.user_message
    with pytest.raises(PairingLocked):  # even the right code waits
        pair(found, bridge.pairing_code(), "Anna's laptop")


def test_pairing_refuses_a_certificate_that_changed_since_the_probe(bridges):
    first = bridges.start("first")
    found = probe("127.0.0.1", first.port)
    first.stop()
    impostor = bridges.start("impostor", port=first.port)
    with pytest.raises(CertificateChanged) as caught:
        pair(found, impostor.pairing_code(), "Anna's laptop")
    assert caught.value.user_message == CERTIFICATE_CHANGED_MESSAGE


def test_nothing_listening_is_reported_as_unreachable(bridges):
    service = bridges.start()
    port = service.port
    service.stop()
    with pytest.raises(BridgeUnreachable) as caught:
        probe("127.0.0.1", port)
    assert caught.value.user_message.startswith(f"Cannot reach 127.0.0.1:{port}")
