"""Pairing: the code, its renewal, the lockout after five wrong codes (also across a restart), the button."""

from __future__ import annotations

import re
import stat

from bridge_helpers import bridge_config, pair, pin

from device_bridge.api.pairing import CODE_FILE, CODE_LIFETIME_S, LOCKOUT_S, read_code_file

PAIRING_BUTTON = 5


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_pairing_returns_a_working_token_and_renews_the_code(bridge, connect):
    client = connect(bridge)
    code = bridge.pairing_code()
    assert re.fullmatch(r"\d{6}", code)
    response = client.post("/v1/pair", json={"code": code, "client_name": "Anna's laptop"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "token_id", "bridge_id"}
    assert body["bridge_id"] == bridge.bridge_id
    assert connect(bridge, body["token"]).get("/v1/speakers").status_code == 200

    assert bridge.pairing_code() != code  # used once, then renewed
    again = client.post("/v1/pair", json={"code": code, "client_name": "someone else"})
    assert again.status_code == 401


def test_the_code_file_holds_the_current_code_privately(bridge, clock):
    path = bridge.data_dir / CODE_FILE
    assert read_code_file(bridge.data_dir) == bridge.pairing_code()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    clock.advance(CODE_LIFETIME_S)
    bridge.pairing.refresh()  # what the service's timer thread does every second
    assert read_code_file(bridge.data_dir) == bridge.pairing_code()


def test_wrong_code(bridge, connect):
    response = connect(bridge).post("/v1/pair", json={"code": _wrong(bridge.pairing_code()), "client_name": "x"})
    assert response.status_code == 401
    assert response.json() == {"detail": "wrong pairing code"}


def test_code_renews_every_ten_minutes(bridge, connect, clock):
    client = connect(bridge)
    old = bridge.pairing_code()
    clock.advance(CODE_LIFETIME_S - 1)
    assert bridge.pairing_code() == old
    clock.advance(1)
    new = bridge.pairing_code()
    assert new != old
    assert client.post("/v1/pair", json={"code": old, "client_name": "late"}).status_code == 401
    assert client.post("/v1/pair", json={"code": new, "client_name": "on time"}).status_code == 200


def test_five_wrong_codes_lock_pairing_for_a_minute(bridge, connect, clock):
    client = connect(bridge)
    for _ in range(5):
        response = client.post("/v1/pair", json={"code": _wrong(bridge.pairing_code()), "client_name": "guess"})
        assert response.status_code == 401
    locked = client.post("/v1/pair", json={"code": bridge.pairing_code(), "client_name": "right code, too late"})
    assert locked.status_code == 429
    assert locked.json()["retry_after"] == LOCKOUT_S
    assert locked.headers["Retry-After"] == str(int(LOCKOUT_S))
    assert client.get("/v1/info").json()["pairing"] == "locked"

    clock.advance(LOCKOUT_S - 10)
    locked = client.post("/v1/pair", json={"code": bridge.pairing_code(), "client_name": "still locked"})
    assert locked.status_code == 429 and locked.json()["retry_after"] == 10

    clock.advance(10)
    assert client.get("/v1/info").json()["pairing"] == "open"
    pair(client, bridge)
    # The count started again: four wrong codes do not lock.
    for _ in range(4):
        client.post("/v1/pair", json={"code": _wrong(bridge.pairing_code()), "client_name": "guess"})
    pair(client, bridge)


def test_lockout_survives_a_restart(start_bridge, connect, data_dir, clock):
    config = bridge_config()
    first = start_bridge(config)
    client = connect(first)
    for _ in range(5):
        client.post("/v1/pair", json={"code": _wrong(first.pairing_code()), "client_name": "guess"})
    first.stop()

    clock.advance(30)
    second = start_bridge(config)
    response = connect(second).post("/v1/pair", json={"code": second.pairing_code(), "client_name": "x"})
    assert response.status_code == 429
    assert response.json()["retry_after"] == LOCKOUT_S - 30


def test_pairing_button_opens_a_60_second_window(start_bridge, connect, pins, clock):
    bridge = start_bridge(bridge_config(pairing_button_pin=PAIRING_BUTTON))
    client = connect(bridge)
    assert client.get("/v1/info").json()["pairing"] == "button"
    refused = client.post("/v1/pair", json={"code": bridge.pairing_code(), "client_name": "x"})
    assert refused.status_code == 403
    assert refused.json() == {"detail": "press the pairing button on the bridge first"}

    button = pin(pins, PAIRING_BUTTON)
    button.drive_low()  # pressed (the button connects the pin to ground)
    button.drive_high()
    assert client.get("/v1/info").json()["pairing"] == "open"
    clock.advance(59)
    pair(client, bridge)
    # One pairing per press.
    assert client.post("/v1/pair", json={"code": bridge.pairing_code(), "client_name": "y"}).status_code == 403

    button.drive_low()
    button.drive_high()
    clock.advance(60)
    assert client.get("/v1/info").json()["pairing"] == "button"
    assert client.post("/v1/pair", json={"code": bridge.pairing_code(), "client_name": "z"}).status_code == 403


def test_pairing_rejects_malformed_requests_without_counting_them(bridge, connect):
    client = connect(bridge)
    for body in ({"code": "123456"}, {"client_name": "x"}, {"code": "", "client_name": "x"},
                 {"code": "123456", "client_name": "x", "admin": True}):
        response = client.post("/v1/pair", json=body)
        assert response.status_code == 422, body
        assert isinstance(response.json()["detail"], str)
    pair(client, bridge)
