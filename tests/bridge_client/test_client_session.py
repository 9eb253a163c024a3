"""The pinned session: only the pinned certificate, never plain HTTP, always a timeout, plain errors."""

from __future__ import annotations

import socket

import pytest

from app.bridge_client import (
    CERTIFICATE_CHANGED_MESSAGE,
    BridgeSession,
    BridgeUnreachable,
    CertificateChanged,
    NotAuthorized,
)
from app.bridge_client.pairing import pair, probe
from app.bridge_client.session import normalise_fingerprint, pinned_session


def test_the_pinned_certificate_is_accepted_even_though_no_ca_signed_it(bridge, monkeypatch):
    # An environment CA bundle must not matter either way (trust_env is off).
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/ca.pem")
    with BridgeSession("127.0.0.1", bridge.port, bridge.fingerprint) as session:
        assert session.info().bridge_id == bridge.bridge_id


def test_another_certificate_is_refused_with_the_explanation(bridge):
    other = "00" * 32
    with BridgeSession("127.0.0.1", bridge.port, other) as session:
        with pytest.raises(CertificateChanged) as caught:
            session.info()
    assert caught.value.user_message == CERTIFICATE_CHANGED_MESSAGE
    assert caught.value.expected == other


def test_plain_http_is_never_used():
    session = pinned_session("ab" * 32)
    try:
        with pytest.raises(Exception, match="plain HTTP"):
            session.get("http://127.0.0.1:1/v1/info", timeout=1)
    finally:
        session.close()


def test_fingerprints_are_normalised_and_checked():
    grouped = ":".join(["AB"] * 32)
    assert normalise_fingerprint(grouped) == "ab" * 32
    with pytest.raises(ValueError):
        normalise_fingerprint("abcd")


def test_a_refused_token_means_pair_again(bridge):
    with BridgeSession("127.0.0.1", bridge.port, bridge.fingerprint, "not-a-token") as session:
        with pytest.raises(NotAuthorized) as caught:
            session.speakers()
    assert "Pair again to control it" in caught.value.user_message


def test_a_revoked_token_stops_working(bridge):
    result = pair(probe("127.0.0.1", bridge.port), bridge.pairing_code(), "Anna's laptop")
    with BridgeSession("127.0.0.1", bridge.port, bridge.fingerprint, result.token) as session:
        session.revoke_token(result.token_id)
        with pytest.raises(NotAuthorized):
            session.speakers()


def test_a_server_that_never_answers_times_out():
    # Accepted by the kernel's backlog, but nobody ever speaks TLS: only the timeout ends it.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        with BridgeSession("127.0.0.1", port, "ab" * 32, timeout=(0.5, 0.5)) as session:
            with pytest.raises(BridgeUnreachable):
                session.info()
