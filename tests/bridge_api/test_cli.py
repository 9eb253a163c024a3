"""`earmuff-bridge serve / pair-code / --simulate` as a user (or the desktop demo) runs them: real processes."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from bridge_helpers import ROOT, BridgeProcess, Client, bridge_env, pair

from device_bridge.api.tls import grouped
from device_bridge.cli import main
from device_bridge.config import load_config, loads_config

@pytest.fixture
def env(data_dir: Path) -> dict[str, str]:
    return bridge_env()


@pytest.fixture
def processes() -> Iterator[list[BridgeProcess]]:
    running: list[BridgeProcess] = []
    yield running
    for process in running:
        process.kill()


def _start(processes, env, *args: str) -> BridgeProcess:
    process = BridgeProcess(*args, env=env)
    processes.append(process)
    return process


def test_kill_9_right_after_an_acknowledged_change_loses_nothing(processes, env, data_dir):
    args = ("serve", "--simulate", "--data-dir", str(data_dir), "--port", "0")
    first = _start(processes, env, *args)
    ready = first.wait_ready()
    client = Client(ready["url"], ready["fingerprint"])
    try:
        token = client.post("/v1/pair", json={"code": ready["code"], "client_name": "demo"}).json()["token"]
        api = Client(ready["url"], ready["fingerprint"], token)
        try:
            assert api.put("/v1/speakers/kitchen/mute", json={"muted": False}).status_code == 200
            assert api.put("/v1/speakers/living-room/mute", json={"muted": False}).status_code == 200
            created = api.post("/v1/schedules", json={"speaker_id": "*", "days": [0], "start": "01:00", "end": "02:00"})
            assert created.status_code == 201
            first.process.send_signal(signal.SIGKILL)  # no goodbye, no shutdown: straight after the acks
            assert first.finish() == -signal.SIGKILL
        finally:
            api.close()

        second = _start(processes, env, *args)
        again = second.wait_ready()
        assert (again["fingerprint"], again["id"]) == (ready["fingerprint"], ready["id"])
        api = Client(again["url"], again["fingerprint"], token)
        try:
            states = {s["speaker_id"]: s["muted"] for s in api.get("/v1/speakers").json()}
            assert states == {"kitchen": False, "bedroom": True, "living-room": False}
            assert [s["id"] for s in api.get("/v1/schedules").json()] == [created.json()["id"]]
        finally:
            api.close()
        second.process.send_signal(signal.SIGTERM)
        assert second.finish() == 0
        assert "bridge stopped" in second.output
    finally:
        client.close()


def test_simulate_shortcut_prints_the_ready_line_and_confirms_mutes(processes, env, data_dir):
    bridge = _start(processes, env, "--simulate", "--data-dir", str(data_dir), "--port", "0", "--no-advertise")
    ready = bridge.wait_ready()
    assert f"certificate fingerprint: {grouped(ready['fingerprint'])}" in bridge.output
    anonymous = Client(ready["url"], ready["fingerprint"])
    try:
        info = anonymous.get("/v1/info").json()
        assert (info["name"], info["fingerprint"], info["bridge_id"]) == (
            "Demo bridge", ready["fingerprint"], ready["id"])
        token = anonymous.post("/v1/pair", json={"code": ready["code"], "client_name": "demo"}).json()["token"]
        api = Client(ready["url"], ready["fingerprint"], token)
        try:
            kitchen = api.put("/v1/speakers/kitchen/mute", json={"muted": False}).json()
            assert (kitchen["muted"], kitchen["confirmation"]) == (False, "confirmed")
        finally:
            api.close()
    finally:
        anonymous.close()
    bridge.process.send_signal(signal.SIGINT)
    assert bridge.finish() == 0


def test_pair_code_prints_the_running_bridges_code(bridge, capsys):
    assert main(["pair-code", "--data-dir", str(bridge.data_dir)]) == 0
    out = capsys.readouterr().out
    assert f"pairing code: {bridge.pairing_code()} " in out
    assert f"certificate fingerprint: {grouped(bridge.fingerprint)}" in out


def test_pair_code_follows_renewals(bridge, connect, capsys):
    pair(connect(bridge), bridge)  # renews the code
    assert main(["pair-code", "--data-dir", str(bridge.data_dir)]) == 0
    assert f"pairing code: {bridge.pairing_code()} " in capsys.readouterr().out


def test_pair_code_without_a_running_bridge(tmp_path, capsys):
    assert main(["pair-code", "--data-dir", str(tmp_path)]) == 1
    assert "is the bridge running?" in capsys.readouterr().err


def test_invalid_config_exits_2_naming_the_key(env, data_dir, tmp_path):
    config = tmp_path / "bridge.toml"
    config.write_text('name = "Kitchen bridge"\n[[speaker]]\nid = "kitchen"\ndriver = "relay"\npin = 41\n')
    result = subprocess.run(
        [sys.executable, "-m", "device_bridge", "serve", "--config", str(config), "--data-dir", str(data_dir)],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=60,
    )
    assert result.returncode == 2
    assert "speaker[0].pin" in result.stderr and "41" in result.stderr
    assert "bridge ready" not in result.stdout


def test_missing_config_exits_2(env, data_dir, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "device_bridge", "serve", "--config", str(tmp_path / "nope.toml")],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=60,
    )
    assert result.returncode == 2
    assert "nope.toml" in result.stderr


def test_port_in_use_exits_1_with_a_clear_message(env, data_dir):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "device_bridge", "serve", "--simulate", "--data-dir", str(data_dir),
             "--port", str(port), "--no-advertise"],
            capture_output=True, text=True, env=env, cwd=ROOT, timeout=60,
        )
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr


def test_unusable_data_dir_exits_1_with_a_clear_message(env, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = subprocess.run(
        [sys.executable, "-m", "device_bridge", "serve", "--simulate", "--data-dir", str(blocker / "data"),
         "--port", "0", "--no-advertise"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=60,
    )
    assert result.returncode == 1
    assert f"the data directory {blocker / 'data'} is not usable" in result.stderr


def test_serve_needs_a_config_or_simulate(capsys):
    assert main(["serve"]) == 2
    assert "--config" in capsys.readouterr().err


def test_the_example_config_is_valid():
    config = load_config(ROOT / "resources" / "pi" / "bridge.example.toml")
    assert config.name == "Kitchen bridge"
    assert [(s.id, s.driver) for s in config.speakers] == [("kitchen", "relay")]


def test_every_commented_example_key_is_valid_when_switched_on():
    text = (ROOT / "resources" / "pi" / "bridge.example.toml").read_text()
    keys = "|".join([r"\[\[speaker\]\]", "id", "name", "driver", "pin", "pulse_ms", "sense_pin", "sense_active_high",
                     "settle_ms", "override_pin", "pairing_button_pin"])
    switched_on = re.sub(rf"(?m)^# ({keys})( |$)", r"\1\2", text)
    config = loads_config(switched_on)
    assert config.pairing_button_pin is not None
    assert [s.driver for s in config.speakers] == ["relay", "button", "power"]
    assert config.speakers[0].override_pin is not None
