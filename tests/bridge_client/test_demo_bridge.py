"""--demo: the app starts `earmuff-bridge serve --simulate` as a child, reads its ready line and pairs by itself."""

from __future__ import annotations

import pytest
from client_helpers import Recorder

from app.context import AppContext, DemoBridgeProcess, parse_ready_line
from app.secrets import MemorySecretStore

FINGERPRINT = "ab" * 32


def test_the_ready_line_is_parsed():
    ready = parse_ready_line(f"bridge ready: url=https://127.0.0.1:40123 fingerprint={FINGERPRINT} code=012345 id=x1")
    assert (ready.host, ready.port, ready.fingerprint, ready.code, ready.bridge_id) == (
        "127.0.0.1", 40123, FINGERPRINT, "012345", "x1")
    six = parse_ready_line("bridge ready: url=https://[::1]:9 fingerprint=AB:CD code=000001 id=y")
    assert (six.host, six.port, six.fingerprint, six.url) == ("::1", 9, "abcd", "https://[::1]:9")
    assert parse_ready_line("pairing code: 123456") is None


def test_demo_mode_gets_a_bridge_process_and_an_in_memory_token_store(data_dir):
    from app.logging_setup import teardown_logging

    ctx = AppContext.create(data_dir, demo=True)
    try:
        assert isinstance(ctx.demo_bridge, DemoBridgeProcess)
        assert ctx.demo_bridge.data_dir == data_dir / "demo-bridge"
        assert isinstance(ctx.bridges.secrets, MemorySecretStore)
    finally:
        ctx.close()  # never started: nothing to stop
        teardown_logging()


@pytest.mark.timeout(60)
def test_the_demo_bridge_is_paired_automatically_and_shows_three_speakers(data_dir):
    from app.logging_setup import teardown_logging

    process = DemoBridgeProcess(data_dir / "demo-bridge")
    ctx = AppContext.create(data_dir, interfaces=("127.0.0.1",), secrets=MemorySecretStore(), demo_bridge=process)
    recorder = Recorder()
    ctx.bridges.add_listener(recorder)
    try:
        ctx.start()
        status = recorder.wait_for(lambda: (s := recorder.last_status()) and s.online and len(s.speakers) == 3
                                   and s, timeout=45)
        assert status.name == "Demo bridge"
        assert [s.name for s in status.speakers] == ["Kitchen speaker", "Bedroom speaker", "Living room speaker"]
        assert status.fingerprint == process.ready.fingerprint
        assert ctx.bridges.secrets.get_token(status.bridge_id)
        # the demo bridge is not written to the database: its port and token change every run
        from app.storage.bridges_repo import BridgeRepository

        ctx.writer.flush()
        assert BridgeRepository(ctx.database).load_all() == []
    finally:
        ctx.close()
        teardown_logging()
    assert process._process is None
