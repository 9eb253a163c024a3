"""The app's destination calls against a real simulated bridge: destinations, history, presets, blocks (with the
bridge's refusals), an activation's destinations and the new-organisation news on the event stream."""

from __future__ import annotations

import threading
import time

import pytest

from app.bridge_client import Outcome
from app.bridge_client.destinations import (
    ActivationDestinations,
    Block,
    BlockPreset,
    Destination,
    DestinationHistory,
    NewOrganisation,
)
from app.bridge_client.errors import RequestRejected
from app.destinations import activation_summary, destinations_for_activation, human_bytes, new_organisation_notice

WAIT_S = 20.0


class Result:
    def __init__(self) -> None:
        self._done = threading.Event()
        self.outcome: Outcome | None = None

    def __call__(self, outcome: Outcome) -> None:
        self.outcome = outcome
        self._done.set()

    def get(self) -> Outcome:
        assert self._done.wait(WAIT_S), "the command never finished"
        assert self.outcome is not None
        return self.outcome


def call(method, *args, **kwargs) -> Outcome:
    result = Result()
    method(*args, callback=result, **kwargs)
    return result.get()


def until(predicate, timeout: float = WAIT_S):
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {predicate}"
        pause.wait(0.2)
    return value


def test_destinations_history_presets_and_blocks(connected, bridge):
    manager, recorder, bridge_id = connected
    rows = until(lambda: call(manager.destinations, bridge_id, "kitchen").value)
    assert all(isinstance(r, Destination) for r in rows)
    assert {r.organisation for r in rows} >= {"Amazon"}
    now = time.time()
    history = call(manager.destination_history, bridge_id, "kitchen", now - 3600, now).value
    assert isinstance(history, DestinationHistory) and history.step == 60 and history.series[0].label == "Amazon"
    presets = call(manager.block_presets, bridge_id).value
    assert all(isinstance(p, BlockPreset) for p in presets) and presets[0].id == "amazon-device-metrics"

    block = call(manager.add_block, bridge_id, "kitchen", "preset", "amazon-device-metrics").value
    assert isinstance(block, Block) and block.title == "Amazon device metrics"
    recorder.wait_for(lambda: (bridge_id, "kitchen") in recorder.block_changes)
    assert [b.id for b in call(manager.blocks, bridge_id, "kitchen").value] == [block.id]
    refused = call(manager.add_block, bridge_id, "kitchen", "organisation", "Acme")
    assert isinstance(refused.error, RequestRejected) and refused.error.status == 400
    assert "not an organisation" in refused.message
    assert call(manager.remove_block, bridge_id, "kitchen", block.id).ok
    assert call(manager.blocks, bridge_id, "kitchen").value == []
    gone = call(manager.remove_block, bridge_id, "kitchen", block.id)
    assert isinstance(gone.error, RequestRejected) and gone.error.status == 404


def test_an_activation_and_a_new_organisation_reach_the_app(connected, bridge):
    manager, recorder, bridge_id = connected
    assert call(manager.set_mute, bridge_id, "kitchen", False).ok  # a muted speaker's microphone sends nothing
    source = bridge.engine.monitor.source
    injected_at = time.time()
    source.inject_burst("kitchen", kind="slow", shape=[20_000] * 6)  # to upload.example.net: someone new
    news = recorder.wait_for(lambda: [n for n in recorder.news if n.organisation is None])[0]
    assert isinstance(news, NewOrganisation) and news.domain == "example.net" and news.speaker_id == "kitchen"
    title, message = new_organisation_notice(news, "Kitchen speaker")
    assert title == "Kitchen speaker talks to someone new" and "example.net" in message
    recorder.wait_for(lambda: [d for _b, kind, d in recorder.activations if kind == "activation_ended"], timeout=40)

    def worked_out() -> ActivationDestinations | None:
        # The simulated speakers also make requests of their own now and then: find the injected upload's.
        ended = [d for _b, kind, d in list(recorder.activations)
                 if kind == "activation_ended" and d["speaker_id"] == "kitchen" and d["start"] >= injected_at - 2]
        for activation in ended:
            asked = Result()
            destinations_for_activation(manager, bridge_id, activation["id"], asked)  # the Activity page's hook
            value = asked.get().value
            if value.complete and value.destinations and value.destinations[0].name == "upload.example.net":
                return value
        return None

    result = until(worked_out, timeout=40)
    assert isinstance(result, ActivationDestinations) and result.destinations[0].name == "upload.example.net"
    assert activation_summary(result).startswith(f"{human_bytes(result.destinations[0].bytes_up)} to "
                                                 "upload.example.net")
    missing = call(manager.activation_destinations, bridge_id, 9999)
    assert isinstance(missing.error, RequestRejected) and missing.error.status == 404


@pytest.mark.parametrize("size, text", [(0, "0 B"), (820, "820 B"), (46_300, "46 kB"), (1_430_000, "1.4 MB")])
def test_sizes_read_like_network_tools(size, text):
    assert human_bytes(size) == text
