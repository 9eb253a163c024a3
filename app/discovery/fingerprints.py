"""Identify a device from one DNS-SD service, with rules kept as data in resources/fingerprints/.

Rule grammar (rules.json):
    id, service_types      which services the rule looks at
    when                   optional condition; see `_condition`:
                           {"txt_equals": {key: value}}, {"txt_present": key}, {"txt_missing": key},
                           {"port_not": n}, {"oui_vendor": {"of": <value>, "equals": vendor}},
                           {"any": [...]}, {"all": [...]}
    role                   "device" (default) or "group" (the service is a speaker group, not a device)
    priority, id_rank      how much this rule's fields / stable id count when a device has several services
    vendor, model, kind, name, stable_id, mac, group_id
                           lists of alternatives; the first that yields a non-empty string wins
    membership             a group this device says it belongs to (e.g. a HomePod stereo pair)

A value alternative takes its text from one source, {"txt": key}, {"instance": true},
{"host": true}, {"const": text}, {"oui": <value>} (vendor of a MAC address) or
{"table": name, "of": <value>}, and may then apply "regex" (first group), "format": "mac",
"upper"/"lower", "prefix"/"suffix".
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from app.devices import DeviceKind, GroupKind
from app.discovery.records import ServiceRecord
from app.resources import resource_path

log = logging.getLogger(__name__)


class RulesError(ValueError):
    """The fingerprint data is malformed; the message names the rule and field."""


@dataclass(frozen=True)
class GroupHint:
    kind: GroupKind
    group_id: str
    name: str | None
    min_members: int = 1


@dataclass(frozen=True)
class Identity:
    """What one service says about its device.

    Attributes:
        rule_id: the rule that matched, or None when none did.
        is_group: the service advertises a speaker group, not a device.
        group: for a group service, the group; for a device, a group it claims (membership).
    """

    rule_id: str | None = None
    is_group: bool = False
    priority: int = 0
    id_rank: int = 0
    vendor: str | None = None
    model: str | None = None
    kind: DeviceKind | None = None
    name: str | None = None
    stable_id: str | None = None
    mac: str | None = None
    group: GroupHint | None = None


def normalise_mac(text: str | None) -> str | None:
    """'f434f02393e5', 'F4-34-F0-23-93-E5' -> 'F4:34:F0:23:93:E5'; None if it is not a MAC."""
    if not text:
        return None
    hex_only = re.sub(r"[^0-9A-Fa-f]", "", text)
    if len(hex_only) != 12 or len(re.sub(r"[:\-. ]", "", text)) != 12:
        return None
    return ":".join(hex_only[i : i + 2] for i in range(0, 12, 2)).upper()


class OuiLookup:
    """Vendor of a MAC address from the IEEE registry that netaddr ships, mapped to a short name."""

    def __init__(self, vendor_names: "Table") -> None:
        self._vendor_names = vendor_names

    @lru_cache(maxsize=1024)
    def organisation(self, mac: str) -> str | None:
        normal = normalise_mac(mac)
        if normal is None:
            return None
        from netaddr import EUI, NotRegisteredError  # imported lazily: its index loads on first use

        try:
            return str(EUI(normal).oui.registration().org)
        except (NotRegisteredError, ValueError, IndexError):
            return None

    def vendor(self, mac: str | None) -> str | None:
        if not mac:
            return None
        org = self.organisation(mac)
        if org is None:
            return None
        return self._vendor_names.lookup(org) or org


class Table:
    """A case-insensitive lookup with trailing-'*' prefix keys."""

    def __init__(self, name: str, entries: dict[str, str]) -> None:
        self.name = name
        self._exact: dict[str, str] = {}
        self._prefixes: list[tuple[str, str]] = []
        for key, value in entries.items():
            if key.startswith("_"):
                continue
            if not isinstance(value, str):
                raise RulesError(f"table {name!r}: value for {key!r} must be a string")
            if key.endswith("*"):
                self._prefixes.append((key[:-1].casefold(), value))
            else:
                self._exact[key.casefold()] = value
        self._prefixes.sort(key=lambda item: -len(item[0]))

    def lookup(self, text: str | None) -> str | None:
        if not text:
            return None
        folded = text.casefold().strip()
        if folded in self._exact:
            return self._exact[folded]
        for prefix, value in self._prefixes:
            if folded.startswith(prefix):
                return value
        return None


_FIELDS = ("vendor", "model", "kind", "name", "stable_id", "mac", "group_id")
_SOURCES = ("txt", "instance", "host", "const", "oui", "table")


class Fingerprinter:
    """Applies the rules to services. Thread-safe: it holds no mutable state but caches."""

    def __init__(self, rules: dict[str, Any], tables: dict[str, Any]) -> None:
        raw_tables = tables.get("tables")
        if not isinstance(raw_tables, dict):
            raise RulesError("tables file: 'tables' must be an object")
        self.tables = {name: Table(name, entries) for name, entries in raw_tables.items()}
        self.oui = OuiLookup(self.tables.get("vendor-names") or Table("vendor-names", {}))
        self.service_types: tuple[str, ...] = tuple(
            entry["type"] for entry in rules.get("service_types", []) if isinstance(entry, dict) and "type" in entry
        )
        self.type_labels = {
            entry["type"].lower(): entry.get("label", entry["type"]) for entry in rules.get("service_types", [])
        }
        self.rules: list[dict[str, Any]] = list(rules.get("rules", []))
        for rule in self.rules:
            self._check_rule(rule)
        self._by_type: dict[str, list[dict[str, Any]]] = {}
        for rule in self.rules:
            for service_type in rule["service_types"]:
                self._by_type.setdefault(service_type.lower(), []).append(rule)

    @classmethod
    def from_resources(cls, directory: Path | None = None) -> Fingerprinter:
        base = directory or resource_path("fingerprints")
        try:
            rules = json.loads((base / "rules.json").read_text(encoding="utf-8"))
            tables = json.loads((base / "tables.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise RulesError(f"cannot read fingerprint rules in {base}: {exc}") from exc
        return cls(rules, tables)

    # -- validation ---------------------------------------------------------------------------

    def _check_rule(self, rule: dict[str, Any]) -> None:
        rule_id = rule.get("id")
        if not isinstance(rule_id, str) or not rule_id:
            raise RulesError(f"a rule has no 'id': {json.dumps(rule)[:80]}")
        types = rule.get("service_types")
        if not isinstance(types, list) or not types:
            raise RulesError(f"rule {rule_id!r}: 'service_types' must be a non-empty list")
        role = rule.get("role", "device")
        if role not in ("device", "group"):
            raise RulesError(f"rule {rule_id!r}: 'role' must be 'device' or 'group', not {role!r}")
        if role == "group":
            self._group_kind(rule_id, rule.get("group_kind"))
        for field in _FIELDS:
            if field in rule:
                self._check_alternatives(rule_id, field, rule[field])
        if "membership" in rule:
            membership = rule["membership"]
            self._group_kind(rule_id, membership.get("group_kind"))
            self._check_alternatives(rule_id, "membership.group_id", membership.get("group_id"))
        for kind_value in rule.get("kind", []):
            if "const" in kind_value:
                self._kind(rule_id, kind_value["const"])

    def _check_alternatives(self, rule_id: str, field: str, alternatives: Any) -> None:
        if not isinstance(alternatives, list):
            raise RulesError(f"rule {rule_id!r}: {field!r} must be a list of alternatives")
        for alternative in alternatives:
            self._check_value(rule_id, field, alternative)

    def _check_value(self, rule_id: str, field: str, value: Any) -> None:
        if not isinstance(value, dict) or not any(source in value for source in _SOURCES):
            raise RulesError(f"rule {rule_id!r}: {field!r} alternative {value!r} names no source")
        if "table" in value:
            if value["table"] not in self.tables:
                raise RulesError(f"rule {rule_id!r}: {field!r} uses unknown table {value['table']!r}")
            self._check_value(rule_id, field, value.get("of"))
        if "oui" in value:
            self._check_value(rule_id, field, value["oui"])
        if "regex" in value:
            try:
                pattern = re.compile(value["regex"])
            except re.error as exc:
                raise RulesError(f"rule {rule_id!r}: {field!r} regex {value['regex']!r}: {exc}") from exc
            if pattern.groups < 1:
                raise RulesError(f"rule {rule_id!r}: {field!r} regex {value['regex']!r} needs a group")

    @staticmethod
    def _kind(rule_id: str, text: str) -> DeviceKind:
        try:
            return DeviceKind(text)
        except ValueError:
            raise RulesError(f"rule {rule_id!r}: unknown kind {text!r}") from None

    @staticmethod
    def _group_kind(rule_id: str, text: Any) -> GroupKind:
        try:
            return GroupKind(text)
        except ValueError:
            raise RulesError(f"rule {rule_id!r}: unknown group_kind {text!r}") from None

    # -- evaluation ---------------------------------------------------------------------------

    def identify(self, record: ServiceRecord) -> Identity:
        """What `record` says about its device. Never raises on odd input."""
        for rule in self._by_type.get(record.service_type.lower(), []):
            if "when" in rule and not self._condition(rule["when"], record):
                continue
            return self._apply(rule, record)
        return Identity(name=record.instance or None, kind=DeviceKind.OTHER)

    def _apply(self, rule: dict[str, Any], record: ServiceRecord) -> Identity:
        rule_id = rule["id"]
        values = {field: self._first(rule.get(field, []), record) for field in _FIELDS}
        if rule.get("role") == "group":
            group_id = values["group_id"] or record.name
            return Identity(
                rule_id=rule_id,
                is_group=True,
                name=values["name"],
                group=GroupHint(GroupKind(rule["group_kind"]), group_id, values["name"]),
            )
        kind = None
        if values["kind"]:
            try:
                kind = DeviceKind(values["kind"])
            except ValueError:
                log.warning("rule %s produced unknown kind %r for %s", rule_id, values["kind"], record.name)
        membership = None
        if "membership" in rule:
            spec = rule["membership"]
            group_id = self._first(spec.get("group_id", []), record)
            if group_id:
                membership = GroupHint(
                    GroupKind(spec["group_kind"]),
                    group_id,
                    self._first(spec.get("name", []), record),
                    int(spec.get("min_members", 1)),
                )
        return Identity(
            rule_id=rule_id,
            priority=int(rule.get("priority", 0)),
            id_rank=int(rule.get("id_rank", 0)),
            vendor=values["vendor"],
            model=values["model"],
            kind=kind,
            name=values["name"],
            stable_id=values["stable_id"],
            mac=normalise_mac(values["mac"]),
            group=membership,
        )

    def _first(self, alternatives: list[dict[str, Any]], record: ServiceRecord) -> str | None:
        for alternative in alternatives:
            value = self._value(alternative, record)
            if value:
                return value
        return None

    def _value(self, spec: dict[str, Any], record: ServiceRecord) -> str | None:
        if "txt" in spec:
            text = record.get(spec["txt"])
        elif "instance" in spec:
            text = record.instance
        elif "host" in spec:
            text = (record.server or "").removesuffix(".").removesuffix(".local")
        elif "const" in spec:
            text = spec["const"]
        elif "oui" in spec:
            text = self.oui.vendor(self._value(spec["oui"], record))
        elif "table" in spec:
            text = self.tables[spec["table"]].lookup(self._value(spec["of"], record))
        else:
            return None
        if text is None:
            return None
        if "regex" in spec:
            match = re.search(spec["regex"], text)
            if not match:
                return None
            text = match.group(1)
        if spec.get("format") == "mac":
            text = normalise_mac(text)
            if text is None:
                return None
        if spec.get("upper"):
            text = text.upper()
        if spec.get("lower"):
            text = text.lower()
        text = spec.get("prefix", "") + text.strip() + spec.get("suffix", "")
        return text or None

    def _condition(self, condition: dict[str, Any], record: ServiceRecord) -> bool:
        if "any" in condition:
            return any(self._condition(part, record) for part in condition["any"])
        if "all" in condition:
            return all(self._condition(part, record) for part in condition["all"])
        if "txt_equals" in condition:
            return all(
                (record.get(key) or "").casefold() == str(expected).casefold()
                for key, expected in condition["txt_equals"].items()
            )
        if "txt_present" in condition:
            return record.has(condition["txt_present"])
        if "txt_missing" in condition:
            return not record.has(condition["txt_missing"])
        if "port_not" in condition:
            return record.port is not None and record.port != condition["port_not"]
        if "oui_vendor" in condition:
            spec = condition["oui_vendor"]
            return self.oui.vendor(self._value(spec["of"], record)) == spec["equals"]
        raise RulesError(f"unknown condition {condition!r}")

    def type_label(self, service_type: str) -> str:
        return self.type_labels.get(service_type.lower(), service_type)
