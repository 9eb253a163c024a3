"""BridgeAdapter batches the stream's samples for the GUI and passes on activation news."""

from __future__ import annotations

import threading

from app.bridge_client import BridgeManager
from app.secrets import MemorySecretStore
from app.storage.activation_recorder import ActivationRecorder
from app.storage.database import Database
from app.storage.writer import BackgroundWriter
from ui.bridge_adapter import BridgeAdapter


def test_samples_from_a_stream_thread_arrive_in_order_and_in_batches(qtbot):
    manager = BridgeManager(MemorySecretStore())
    adapter = BridgeAdapter(manager)
    adapter.attach()
    batches: list[list[dict]] = []
    adapter.samples_arrived.connect(batches.append)

    def stream() -> None:
        for i in range(200):
            manager._notify("sample", "b1", {"type": "sample", "speaker_id": "kitchen", "time": float(i)})

    thread = threading.Thread(target=stream)
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: sum(len(b) for b in batches) == 200)
    records = [r for batch in batches for r in batch]
    assert [r["time"] for r in records] == [float(i) for i in range(200)]
    assert all(r["bridge_id"] == "b1" for r in records)
    assert len(batches) < 200  # batched, not one signal per sample

    adapter.detach()
    manager._notify("sample", "b1", {"type": "sample", "speaker_id": "kitchen", "time": 500.0})
    qtbot.wait(250)
    assert sum(len(b) for b in batches) == 200  # nothing after detach
    manager.close()


def test_activation_events_and_cache_changes_become_signals(qtbot, tmp_path):
    manager = BridgeManager(MemorySecretStore())
    db = Database.open(tmp_path / "e.db")
    writer = BackgroundWriter(db)
    recorder = ActivationRecorder(writer, manager.speaker_name)
    manager.add_listener(recorder)
    adapter = BridgeAdapter(manager, recorder=recorder)
    adapter.attach()
    record = {"id": 1, "speaker_id": "kitchen", "start": 10.0, "end": 16.0, "bytes_up": 220_000,
              "peak_rate": 76_000.0, "confidence": 0.99, "flags": ["while_muted"]}
    with qtbot.waitSignal(adapter.activation_event) as event, qtbot.waitSignal(adapter.activations_changed):
        threading.Thread(target=manager._notify, args=("activation", "b1", "activation_ended", record)).start()
    assert event.args == ["b1", "activation_ended", record]
    adapter.detach()
    manager.close()
    writer.close()
    db.close()
