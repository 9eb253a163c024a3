"""Reading the counters in-process through libnftables, in namespaces (root only): no process is started,
threads read at the same time, a missing library falls back to the nft command with the reason logged,
and a table an older bridge left behind (named counters) is replaced with its mute kept."""

from __future__ import annotations

import logging
import subprocess
import threading

import pytest
from netns_lab import SPEAKER_ID, UDP_V4_OVERHEAD, make_table, run

from device_bridge.traffic.model import Counters
from device_bridge.traffic.nft import NftTableMissing

pytestmark = pytest.mark.netns


def test_reading_starts_no_process(lab, table, monkeypatch):
    def no_processes(*args, **kwargs):
        raise AssertionError(f"a process was started: {args[0]}")

    before = table.read()[SPEAKER_ID]
    monkeypatch.setattr(subprocess, "Popen", no_processes)  # subprocess.run goes through Popen too
    lab.udp_exchange(count=10, size=600, reply_size=80)
    after = table.read()[SPEAKER_ID]
    assert table.in_process
    assert after.up_bytes - before.up_bytes == 10 * (600 + UDP_V4_OVERHEAD)
    assert after.down_bytes - before.down_bytes == 10 * (80 + UDP_V4_OVERHEAD)
    assert SPEAKER_ID in table.read_lan()
    assert table.dropped(SPEAKER_ID).packets == 0
    assert not table.is_muted(SPEAKER_ID)


def test_threads_read_at_the_same_time_each_on_its_own_context(lab, table):
    before = table.read()[SPEAKER_ID].up_bytes
    start = threading.Barrier(3)
    seen: dict[str, list[int]] = {"sampler": [], "sense": []}
    errors: list[BaseException] = []

    def sample() -> None:
        try:
            start.wait(10)
            for _ in range(200):
                seen["sampler"].append(table.read()[SPEAKER_ID].up_bytes)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    def sense() -> None:
        try:
            start.wait(10)
            for _ in range(100):
                assert not table.is_muted(SPEAKER_ID)
                seen["sense"].append(table.read_lan()[SPEAKER_ID].up_bytes)
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=sample, name="sampler"), threading.Thread(target=sense, name="sense")]
    for thread in threads:
        thread.start()
    start.wait(10)
    lab.udp_exchange(count=30, size=500, reply_size=50)
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert len(seen["sampler"]) == 200 and len(seen["sense"]) == 100
    after = table.read()[SPEAKER_ID].up_bytes
    assert after - before == 30 * (500 + UDP_V4_OVERHEAD)
    assert seen["sampler"] == sorted(seen["sampler"])  # cumulative: never went back
    assert before <= seen["sampler"][0] and seen["sampler"][-1] <= after


def test_without_the_library_reads_go_through_nft_and_the_log_says_why(lab, table, caplog):
    fallback = make_table(lab, library="libnftables-missing.so.1")
    try:
        with caplog.at_level(logging.WARNING, logger="device_bridge.traffic.nft"):
            assert not fallback.in_process
        assert "Reading nftables through the nft command" in caplog.text
        assert "libnftables-missing.so.1 could not be loaded" in caplog.text
        before = fallback.read()[SPEAKER_ID]
        lab.udp_exchange(count=10, size=700, reply_size=90)
        counted = fallback.read()[SPEAKER_ID]
        assert Counters(counted.up_bytes - before.up_bytes, counted.up_packets - before.up_packets,
                        counted.down_bytes - before.down_bytes, counted.down_packets - before.down_packets) == \
            Counters(10 * (700 + UDP_V4_OVERHEAD), 10, 10 * (90 + UDP_V4_OVERHEAD), 10)
        assert fallback.read() == table.read()
        assert caplog.text.count("could not be loaded") == 1  # said once, not at every reading
    finally:
        fallback.close()


def test_a_table_left_by_an_older_bridge_is_replaced_and_its_mute_kept(lab):
    # The layout before the counters moved into sets: named counter objects, the drop rule counting into one.
    run(*lab.nft(), "-f", "-", input=(
        "table inet earmuff {\n\tcounter drop_kitchen_echo {\n\t}\n\tchain uplink_kitchen_echo {\n"
        '\t\tcounter name "drop_kitchen_echo" drop\n\t}\n}\n'
    ))
    table = make_table(lab)
    try:
        assert not table.installed()
        with pytest.raises(NftTableMissing):
            table.read()
        assert table.ensure_installed() is True
        assert table.is_muted(SPEAKER_ID)
        assert table.read() == {SPEAKER_ID: Counters(0, 0, 0, 0)}
    finally:
        table.remove()
        table.close()
