"""NftTable without the kernel: how speakers are matched, the batch it writes, how it reads nft's JSON, and
the errors it gives when nft is missing, slow or not allowed. Runs anywhere (a stand-in `nft` script)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from contextlib import closing
from pathlib import Path

import pytest

from device_bridge.config import SpeakerConfig
from device_bridge.mute.network import NetworkDriver
from device_bridge.mute.state import MISMATCH
from device_bridge.traffic.libnft import Libnftables, LibraryUnavailable
from device_bridge.traffic.model import Counters
from device_bridge.traffic.nft import NftError, NftTable, NftTableMissing, PacketCount, SpeakerMatch, matchable

ROOT = Path(__file__).resolve().parents[2]


def test_speaker_match_normalises_and_refuses_what_nft_cannot_match():
    assert SpeakerMatch("kitchen", mac="68-DB-F5-90-19-64").mac == "68:db:f5:90:19:64"
    assert SpeakerMatch("kitchen", ip="fd77:0::2").ip == "fd77::2"
    for bad in (dict(mac="68:db:f5"), dict(ip="10.0.0.300"), dict()):
        with pytest.raises(ValueError):
            SpeakerMatch("kitchen", **bad)
    with pytest.raises(ValueError):
        SpeakerMatch("Kitchen Echo", ip="10.0.0.2")


def test_matchable_reads_mac_and_ip_from_configs_that_have_them():
    class Config:
        def __init__(self, id, mac=None, ip=None):
            self.id, self.mac, self.ip = id, mac, ip

    plain = SpeakerConfig(id="hall", name="Hall", driver="relay", pin=17)  # no mac/ip fields (yet)
    found = matchable([Config("kitchen", mac="02:00:00:00:00:01"), Config("den", ip="10.0.0.9"), Config("attic"), plain])
    assert [(m.speaker_id, m.mac, m.ip) for m in found] == [("kitchen", "02:00:00:00:00:01", None), ("den", None, "10.0.0.9")]
    with pytest.raises(ValueError, match="twice"):
        NftTable(found + found)


def test_the_batch_replaces_the_table_atomically_and_carries_the_mute_over():
    table = NftTable([SpeakerMatch("kitchen-echo", mac="02:00:00:00:00:01"), SpeakerMatch("den", ip="10.0.0.9")])
    batch = table.render(["den"], replace=True)
    # Create-then-delete first, so the batch works whether or not the table exists; all one transaction.
    assert batch.startswith("table inet earmuff {\n}\ndelete table inet earmuff\ntable inet earmuff {\n")
    assert "ether saddr 02:00:00:00:00:01 ip daddr != @lan4 jump uplink_kitchen_echo" in batch
    assert "ether saddr 02:00:00:00:00:01 ip6 daddr != @lan6 jump uplink_kitchen_echo" in batch
    assert "update @addr4_kitchen_echo { ip saddr timeout 30m }" in batch
    assert "ip saddr 10.0.0.9 ip daddr != @lan4 jump uplink_den" in batch
    assert "ip6 saddr 10.0.0.9" not in batch and "ip6 daddr != @lan6 jump uplink_den" not in batch
    # The counters are elements of three sets, keyed by position (x 2, + 1 for down) and named by comment.
    assert ('elements = { 0x00000000 comment "kitchen-echo up", 0x00000001 comment "kitchen-echo down", '
            '0x00000002 comment "den up", 0x00000003 comment "den down" }') in batch.split("set count_internet {")[1]
    assert 'elements = { 0x00000000 comment "kitchen-echo dropped", 0x00000001 comment "den dropped" }' in batch
    assert "ip daddr @addr4_den ip saddr != @lan4 update @count_internet { 0x00000003 }" in batch
    assert "ip daddr @addr4_den ip saddr @lan4 update @count_lan { 0x00000003 }" in batch
    den_chain = batch.split("chain uplink_den {\n")[1].split("\n\t}")[0].split("\n")
    assert [rule.strip() for rule in den_chain] == [
        "update @count_drop { 0x00000001 } drop",  # before the uplink counter
        "update @count_internet { 0x00000002 }",
    ]
    assert "drop" not in batch.split("chain uplink_kitchen_echo {")[1].split("\n\t}")[0]


FAKE_NFT = textwrap.dedent("""
    import json, sys
    args = sys.argv[1:]
    # One-off: the command is in the arguments. Long-running (-i): one command on stdin, answered, then gone.
    command = sys.stdin.readline().split() if "-i" in args else args
    mode = {mode!r}
    if mode == "sleep":
        import time; time.sleep(30)
    if mode == "missing":
        sys.stderr.write("Error: No such file or directory\\nlist set inet earmuff count_internet\\n"
                         "                      ^^^^^^^^^^^^^^\\n")
        sys.exit(1)
    if mode == "broken":
        sys.stderr.write("Error: Could not process rule: Device or resource busy\\n")
        sys.exit(1)
    # "den" is first (keys 0 = up, 1 = down); "gone" (2, 3) has no elements; 4 and 5 are nobody's.
    sets = {{"count_internet": {{0: (3, 1500), 1: (2, 300), 4: (1, 1), 5: (1, 1)}},
             "count_lan": {{0: (5, 400), 1: (1, 60)}}, "count_drop": {{0: (7, 700)}}}}
    name = command[-1]
    elements = [{{"elem": {{"val": key, "comment": "den", "counter": {{"packets": p, "bytes": b}}}}}}
                for key, (p, b) in sets[name].items()]
    items = [{{"metainfo": {{"version": "1.0.6"}}}},
             {{"set": {{"family": "inet", "name": name, "table": "earmuff", "type": "mark", "elem": elements}}}}]
    print(json.dumps({{"nftables": items}}))
""")


def fake_nft(tmp_path, mode: str = "ok") -> tuple[str, ...]:
    script = tmp_path / f"nft_{mode}.py"
    script.write_text(FAKE_NFT.format(mode=mode))
    return (sys.executable, str(script))


def test_read_turns_nft_json_into_counters_per_speaker(tmp_path):
    speakers = [SpeakerMatch("den", ip="10.0.0.9"), SpeakerMatch("gone", ip="10.0.0.8")]
    for session in (True, False):
        with closing(NftTable(speakers, nft=fake_nft(tmp_path), session=session)) as table:
            assert table.read() == {"den": Counters(up_bytes=1500, up_packets=3, down_bytes=300, down_packets=2)}
            assert table.read_lan() == {"den": Counters(up_bytes=400, up_packets=5, down_bytes=60, down_packets=1)}
            assert table.dropped("den") == PacketCount(7, 700)
            with pytest.raises(KeyError):
                table.dropped("attic")


def test_errors_say_what_to_do(tmp_path):
    for nft, match in (
        ((str(tmp_path / "no-such-nft"),), "install nftables"),
        (fake_nft(tmp_path, "sleep"), "did not answer within 0.5 s"),
        (fake_nft(tmp_path, "missing"), "not in the kernel"),
        (fake_nft(tmp_path, "broken"), "Device or resource busy"),
    ):
        for session in (True, False):
            with closing(NftTable([], nft=nft, timeout_s=0.5, session=session)) as table:
                with pytest.raises(NftError, match=match):
                    table.read()
    with closing(NftTable([], nft=fake_nft(tmp_path, "missing"))) as table:
        with pytest.raises(NftTableMissing):
            table.read()


def as_nobody(command: list[str]) -> list[str]:
    """`command` without CAP_NET_ADMIN: as user nobody when this is root, as it is otherwise."""
    if os.geteuid() != 0:
        return command
    if shutil.which("setpriv") is None:
        pytest.skip("needs setpriv to drop root")
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]


@pytest.mark.skipif(shutil.which("nft") is None, reason="needs the nft command (apt-get install nftables)")
def test_without_cap_net_admin_the_error_names_the_capability():
    nft = tuple(as_nobody(["nft"]))
    for session in (True, False):
        with closing(NftTable([], nft=nft, session=session)) as table:
            with pytest.raises(NftError, match="needs CAP_NET_ADMIN"):
                table.read()


def test_a_library_that_cannot_be_used_says_why():
    with pytest.raises(LibraryUnavailable, match="libnftables-missing.so.1 could not be loaded"):
        Libnftables("libnftables-missing.so.1")
    with pytest.raises(LibraryUnavailable, match=r"libc.so.6 has no nft_ctx_new\(\)"):
        Libnftables("libc.so.6")


IN_PROCESS_WITHOUT_CAP_NET_ADMIN = textwrap.dedent("""
    import logging
    from device_bridge.traffic.nft import NftError, NftTable, SpeakerMatch
    logging.basicConfig(level=logging.WARNING, format="log: %(message)s")
    table = NftTable([SpeakerMatch("den", ip="10.0.0.9")])
    print(table.in_process)
    for _ in range(3):
        try:
            table.read()
        except NftError as error:
            print(error)
    print(table.in_process)
""")


@pytest.mark.skipif(shutil.which("nft") is None, reason="needs the nft command (apt-get install nftables)")
def test_without_cap_net_admin_in_process_reads_hand_over_to_nft_which_names_the_capability():
    try:
        Libnftables().close()
    except LibraryUnavailable as error:
        pytest.skip(str(error))
    command = as_nobody([sys.executable, "-c", IN_PROCESS_WITHOUT_CAP_NET_ADMIN])
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    if done.returncode != 0 and "Permission denied" in done.stderr:
        pytest.skip(f"this Python cannot run as user nobody: {done.stderr.strip()[-200:]}")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "True"  # the library loads; the kernel refuses it at the first reading
    assert len(lines) == 5 and all("the bridge needs CAP_NET_ADMIN for nftables" in line for line in lines[1:4])
    assert lines[4] == "False"
    assert done.stderr.count("the kernel refused libnftables") == 1
    assert done.stderr.count("you must be root") == 1  # the library's own complaint, not one per reading


def network_speaker(speaker_id: str = "den") -> SpeakerConfig:
    return SpeakerConfig(id=speaker_id, name="Den", driver="network", pin=None)


def test_network_driver_needs_the_table_and_a_speaker_it_can_match():
    table = NftTable([SpeakerMatch("den", ip="10.0.0.9")])
    with pytest.raises(ValueError, match="needs the bridge's nftables table"):
        NetworkDriver(network_speaker())
    with pytest.raises(ValueError, match="mac or ip"):
        NetworkDriver(network_speaker("attic"), table=table)
    driver = NetworkDriver(network_speaker(), table=table)
    assert driver.kind == "network" and driver.output_pin is None and driver.sense_pin is None
    driver.close()
    driver.close()


def test_network_driver_reports_a_failed_mute_as_a_mismatch(tmp_path):
    with closing(NftTable([SpeakerMatch("den", ip="10.0.0.9")], nft=fake_nft(tmp_path, "broken"))) as table:
        driver = NetworkDriver(network_speaker(), table=table)
        result = driver.apply(True)
    assert result.status == MISMATCH and result.sensed_muted is None
    assert "could not add its nftables drop rule" in result.detail and "busy" in result.detail

