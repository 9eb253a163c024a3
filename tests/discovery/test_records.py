"""TXT records kept byte for byte, read the DNS-SD way (case-insensitive keys, first duplicate wins)."""

from hypothesis import given
from hypothesis import strategies as st

from app.discovery.records import ServiceRecord, build_txt, instance_of, parse_txt


def record(txt: bytes) -> ServiceRecord:
    return ServiceRecord("_raop._tcp.local.", "x._raop._tcp.local.", "x.local.", 7000, (), txt)


def test_boolean_empty_and_binary_values_are_kept_apart():
    rdata = b"\x02rs" + b"\x03rs=" + b"\x06bin=\x00\xff" + b"\x04ve=5"
    rec = record(rdata)
    entries = rec.entries
    assert [e.key for e in entries] == ["rs", "rs", "bin", "ve"]
    assert entries[0].value is None and entries[1].value == b""
    assert rec.get_bytes("BIN") == b"\x00\xff"
    assert entries[2].is_binary and entries[2].display_value() == "0x00ff"
    assert entries[0].display_value() == "(no value)"


def test_first_duplicate_wins_and_keys_ignore_case():
    rec = record(build_txt([("Model", "first"), ("model", "second")]))
    assert rec.get("MODEL") == "first"
    assert rec.txt_dict() == {"model": "first"}


def test_truncated_string_keeps_what_arrived(caplog):
    caplog.set_level("INFO")
    rec = record(b"\x10md=Nest")
    assert rec.get("md") == "Nest"
    assert "truncated" in caplog.text


def test_instance_with_dots_at_and_nbsp():
    name = "Anna\u2019s\u00a0Room @ home.v2._airplay._tcp.local."
    assert instance_of(name, "_airplay._tcp.local.") == "Anna\u2019s\u00a0Room @ home.v2"


@given(st.binary(max_size=600))
def test_any_bytes_parse_without_error(rdata):
    rec = record(rdata)
    for entry in rec.entries:
        assert entry.raw in rdata
        entry.display_value()
    rec.get("md")


@given(st.lists(st.tuples(st.text(min_size=1, max_size=20).filter(lambda k: "=" not in k),
                          st.one_of(st.none(), st.binary(max_size=40))), max_size=10))
def test_build_then_parse_round_trips(pairs):
    pairs = [(k, v) for k, v in pairs if len(k.encode()) + (len(v) + 1 if v is not None else 0) <= 255]
    parsed = parse_txt(build_txt(pairs))
    assert [(e.key, e.value) for e in parsed] == [(k, v) for k, v in pairs]
