"""`earmuff-bridge serve --simulate` as real processes: the demo's bridge (with --tour) runs voice deletions, and a
bridge killed with SIGKILL while a deletion has the mute lifted comes back with the speaker muted (state and pin)
and the run ended "skipped"."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest
from bridge_helpers import BridgeProcess, Client, bridge_env, wait_until
from deletion_helpers import ALEXA

def Bridge(data_dir: Path, *extra: str) -> BridgeProcess:  # noqa: N802 - reads like the class it makes
    """`python -m device_bridge serve --simulate ...` on a free port, without an advert."""
    return BridgeProcess("serve", "--simulate", "--data-dir", str(data_dir), "--port", "0", "--no-advertise", *extra,
                         env=bridge_env())


@pytest.fixture
def bridges():
    started: list[BridgeProcess] = []
    yield started
    for bridge in started:
        bridge.kill()


def _paired(ready: re.Match) -> Client:
    anonymous = Client(ready["url"], ready["fingerprint"])
    try:
        token = anonymous.post("/v1/pair", json={"code": ready["code"], "client_name": "test"}).json()["token"]
    finally:
        anonymous.close()
    return Client(ready["url"], ready["fingerprint"], token)


def test_the_demo_bridge_runs_and_schedules_voice_deletions(bridges, data_dir):
    demo = Bridge(data_dir, "--tour")
    bridges.append(demo)
    api = _paired(demo.wait_ready())
    try:
        capabilities = api.get("/v1/deletions/capabilities").json()
        assert (capabilities["tts"], capabilities["player"]) == (True, True)
        schedule = api.post("/v1/deletions/schedules", json={
            "speaker_id": "bedroom", "vendor": "google", "phrase": "Hey Google, delete today's activity",
            "rrule": "FREQ=DAILY;BYHOUR=23;BYMINUTE=55", "dtstart": "2026-01-01T23:55"})
        assert schedule.status_code == 201 and len(schedule.json()["next_runs"]) == 3
        # The tour keeps the bedroom speaker muted: the run lifts its mute, and puts it back.
        queued = api.post("/v1/deletions/run", json={"speaker_id": "bedroom", "vendor": "google",
                                                      "phrase": "Hey Google, delete today's activity"}).json()

        def finished():
            run = api.get("/v1/deletions/runs", params={"after_id": queued["id"] - 1}).json()[0]
            return run if run["state"] == "done" else None

        run = wait_until(finished, timeout=60, interval=0.2)
        assert (run["outcome"], run["mute_lifted"], run["mute_restored"]) == ("sent_and_uploaded", True, True)
        bedroom = api.get("/v1/speakers/bedroom").json()
        assert (bedroom["muted"], bedroom["confirmation"]) == (True, "confirmed")
        flags = {a["id"]: a["flags"] for a in api.get("/v1/activations", params={"speaker": "bedroom"}).json()}
        assert "deletion_command" in flags[run["activation_id"]]
    finally:
        api.close()
    demo.process.send_signal(signal.SIGTERM)
    assert demo.finish() == 0


def test_sigkill_during_the_watch_comes_back_muted_with_the_run_skipped(bridges, data_dir):
    first = Bridge(data_dir)
    bridges.append(first)
    api = _paired(first.wait_ready())
    token = api.session.headers["Authorization"].split()[1]
    try:
        assert api.get("/v1/speakers/kitchen").json()["muted"] is True
        run = api.post("/v1/deletions/run", json={"speaker_id": "kitchen", "vendor": "amazon", "phrase": ALEXA})
        assert run.status_code == 202, run.text

        def watching():
            current = api.get("/v1/deletions/runs").json()[-1]
            return current if current["phase"] == "watching" else None

        during = wait_until(watching, timeout=30, interval=0.05)
        speaker = api.get("/v1/speakers/kitchen").json()
        first.process.send_signal(signal.SIGKILL)
        assert first.finish() == -signal.SIGKILL
    finally:
        api.close()
    assert during["mute_lifted"] is True and during["state"] == "running"
    assert (speaker["muted"], speaker["source"]) == (False, "deletion")  # lifted when it was killed

    second = Bridge(data_dir)
    bridges.append(second)
    again = second.wait_ready()
    api = Client(again["url"], again["fingerprint"], token)
    try:
        kitchen = api.get("/v1/speakers/kitchen").json()
        # Muted, and the sense line (which follows the relay's pin in the simulation) confirms the pin.
        assert (kitchen["muted"], kitchen["confirmation"], kitchen["sensed_muted"]) == (True, "confirmed", True)
        [ended] = [r for r in api.get("/v1/deletions/runs").json() if r["id"] == during["id"]]
        assert (ended["state"], ended["outcome"], ended["mute_restored"]) == ("done", "skipped", True)
        assert ended["why"] == "the bridge stopped during the deletion; the mute was restored when it started again"
    finally:
        api.close()
    second.process.send_signal(signal.SIGTERM)
    assert second.finish() == 0
