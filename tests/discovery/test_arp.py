"""Reading a neighbour's MAC from the kernel's table (the real /proc file is covered in test_netns.py)."""

from app.discovery.arp import lookup_mac, parse_arp_command, parse_proc_arp
from app.discovery.fingerprints import Fingerprinter
from app.registry import DeviceRegistry

PROC = """IP address       HW type     Flags       HW address            Mask     Device
192.168.1.23     0x1         0x2         68:db:f5:90:19:64     *        wlan0
192.168.1.24     0x1         0x0         00:00:00:00:00:00     *        wlan0
garbage
"""


def test_proc_arp_keeps_complete_entries_only():
    assert parse_proc_arp(PROC) == {"192.168.1.23": "68:DB:F5:90:19:64"}


def test_bsd_arp_output_with_dropped_zeros():
    out = "? (10.0.0.7) at 68:db:f5:9:19:64 on en0 ifscope [ethernet]\n? (10.0.0.8) at (incomplete) on en0\n"
    assert parse_arp_command(out) == {"10.0.0.7": "68:DB:F5:09:19:64"}


def test_lookup_reads_the_given_file(tmp_path):
    path = tmp_path / "arp"
    path.write_text(PROC)
    assert lookup_mac("192.168.1.23", proc_arp=path) == "68:DB:F5:90:19:64"
    assert lookup_mac("192.168.1.99", proc_arp=path) is None


def test_manual_add_uses_the_arp_table_when_no_mac_is_given():
    registry = DeviceRegistry(Fingerprinter.from_resources(), neighbour_mac={"192.168.1.23": "68:DB:F5:90:19:64"}.get)
    device = registry.add_manual("192.168.1.23")
    assert (device.mac, device.vendor) == ("68:DB:F5:90:19:64", "Amazon")
