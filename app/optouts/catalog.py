"""The opt-out catalog: each vendor's privacy settings, loaded from resources/optouts/ and checked.

One JSON file per vendor, checked against schema.json and then for what a schema cannot say
(a recommended value that is not one of the options, a source key with no URL, a replacement that
does not exist). Loading never stops at the first problem: a file that is broken at its top level
is left out, a setting that is broken is left out of its vendor, and everything else loads. Each
problem names the file and the field (`CatalogProblem`), for the log and for the page.

Every setting carries a content hash over what the user acts on (options, recommended value, where
to change it...), not its wording, so a catalog update that changes what to do marks earlier
confirmations for a re-check while a reworded explanation does not.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from app.optouts.schema import Problem, check_schema, format_path, validate
from app.resources import resource_path

log = logging.getLogger(__name__)

SCHEMA_FILE = "schema.json"
DEFAULT_RECHECK_DAYS = 90
#: The fields whose change means "look at the vendor's setting again" (see module docstring).
HASHED_FIELDS = ("kind", "scope", "options", "recommended", "protective", "where", "voice", "status", "retired")


def catalog_dir() -> Path:
    return resource_path("optouts")


@dataclass(frozen=True)
class CatalogProblem:
    """Something wrong in a catalog file.

    Attributes:
        file: the file's name ("amazon.json").
        field: where in it ("settings[3] (amazon.sidewalk).where.web"), or "(the whole file)".
        message: what is wrong.
        skipped: what was left out because of it ("the whole file", "setting amazon.sidewalk").
    """

    file: str
    field: str
    message: str
    skipped: str = ""

    def __str__(self) -> str:
        tail = f" ({self.skipped} left out)" if self.skipped else ""
        return f"{self.file}: {self.field}: {self.message}{tail}"


@dataclass(frozen=True)
class Source:
    key: str
    url: str


@dataclass(frozen=True)
class Where:
    """Where to change a setting.

    Attributes:
        app: the path in the vendor's app, steps separated by " > ".
        web: a page where the setting itself can be changed ("" if none).
        help: the vendor's page about it ("" if none).
    """

    app: str
    web: str = ""
    help: str = ""

    @property
    def steps(self) -> tuple[str, ...]:
        return tuple(step.strip() for step in self.app.split(">") if step.strip())

    @property
    def url(self) -> str:
        """The page "Open vendor page" opens: the settings page, else the help page."""
        return self.web or self.help


@dataclass(frozen=True)
class Voice:
    """Whether the setting can be changed by voice: available is "yes" | "partly" | "no" | "not-applicable"."""

    available: str
    phrase: str = ""
    note: str = ""


@dataclass(frozen=True)
class Uncertainty:
    field: str
    note: str


@dataclass(frozen=True)
class Retirement:
    date: datetime.date
    note: str
    replacement: str = ""


@dataclass(frozen=True)
class VendorChange:
    """A known change by the vendor (dated or not) that concerns some settings.

    Attributes:
        date: the first day it may have happened (a "2022" entry counts from 2022-01-01), or None.
        date_text: the date as the catalog gives it.
    """

    summary: str
    settings: tuple[str, ...]
    sources: tuple[Source, ...]
    date: datetime.date | None = None
    date_text: str = ""


@dataclass(frozen=True)
class Setting:
    """One privacy setting (kind "choice") or recurring task (kind "task") of a vendor.

    Attributes:
        setting_id: "amazon.sidewalk" (vendor id, dot, name).
        vendor: the vendor id.
        kind: "choice" (pick one of `options`) or "task" (do it again now and then).
        scope: "account" (one value for the account) or "device" (set on each speaker).
        options: the values the user can record (a task: just `recommended`).
        recommended: the value that protects; `protective`: every value that does.
        families: the device families it concerns (ids of the vendor's `families`).
        last_verified: when the entry was last checked against its sources.
        recheck_days: the re-check interval once confirmed.
        uncertain: facts only secondary sources give (shown as unverified).
        retired: set when the vendor removed the setting.
        content_hash: sha256 of `content_json`, the canonical JSON of HASHED_FIELDS.
    """

    setting_id: str
    vendor: str
    title: str
    summary: str
    trade_off: str
    kind: str
    scope: str
    options: tuple[str, ...]
    recommended: str
    protective: tuple[str, ...]
    where: Where
    voice: Voice
    families: tuple[str, ...]
    sources: tuple[Source, ...]
    last_verified: datetime.date
    recheck_days: int
    content_hash: str
    content_json: str = field(default="{}", compare=False, repr=False)
    recommended_note: str = ""
    recheck_reason: str = ""
    uncertain: tuple[Uncertainty, ...] = ()
    retired: Retirement | None = None

    @property
    def is_retired(self) -> bool:
        return self.retired is not None

    @property
    def per_device(self) -> bool:
        return self.scope == "device"

    def is_protective(self, value: str) -> bool:
        return value in self.protective

    def uncertainty(self, field_name: str) -> Uncertainty | None:
        """The note when `field_name` ("voice", "where.app"...) is marked uncertain."""
        for item in self.uncertain:
            if item.field == field_name:
                return item
        return None


@dataclass(frozen=True)
class Vendor:
    """One vendor's file.

    Attributes:
        vendor_id, name, assistant, note: who it is.
        device_vendors: the vendor names discovery reports for its speakers.
        families: family id -> name.
        settings: in the file's order (only those that passed the checks).
        changes: known vendor changes.
        file: the file it came from.
    """

    vendor_id: str
    name: str
    assistant: str
    device_vendors: tuple[str, ...]
    families: Mapping[str, str]
    settings: tuple[Setting, ...]
    changes: tuple[VendorChange, ...] = ()
    note: str = ""
    file: str = ""

    def setting(self, setting_id: str) -> Setting | None:
        return next((s for s in self.settings if s.setting_id == setting_id), None)

    @property
    def active_settings(self) -> tuple[Setting, ...]:
        return tuple(s for s in self.settings if not s.is_retired)

    def changes_for(self, setting_id: str) -> tuple[VendorChange, ...]:
        return tuple(change for change in self.changes if setting_id in change.settings)


@dataclass(frozen=True)
class Catalog:
    """Every vendor that loaded, and every problem met on the way.

    Attributes:
        vendors: vendor id -> Vendor, in alphabetical order of the files.
        problems: what was wrong (empty for a healthy catalog).
        directory: where it was read from.
    """

    vendors: Mapping[str, Vendor]
    problems: tuple[CatalogProblem, ...] = ()
    directory: Path | None = None

    def vendor(self, vendor_id: str) -> Vendor | None:
        return self.vendors.get(vendor_id)

    @cached_property
    def _settings(self) -> dict[str, Setting]:
        return {s.setting_id: s for v in self.vendors.values() for s in v.settings}

    def setting(self, setting_id: str) -> Setting | None:
        return self._settings.get(setting_id)

    def settings(self) -> list[Setting]:
        return list(self._settings.values())

    def vendor_for_device(self, device_vendor: str | None) -> Vendor | None:
        """The catalog vendor of a speaker whose discovered vendor is `device_vendor` ("Amazon")."""
        if not device_vendor:
            return None
        wanted = device_vendor.strip().casefold()
        for vendor in self.vendors.values():
            if any(name.casefold() == wanted for name in vendor.device_vendors):
                return vendor
        return None


def setting_content(raw: Mapping[str, Any]) -> str:
    """The canonical JSON of a setting's HASHED_FIELDS (absent fields count as absent)."""
    subset = {name: raw[name] for name in HASHED_FIELDS if name in raw}
    if "protective" not in subset and "recommended" in subset:
        subset["protective"] = [subset["recommended"]]
    return json.dumps(subset, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def setting_hash(raw: Mapping[str, Any]) -> str:
    """sha256 (hex) of `setting_content(raw)`."""
    return hashlib.sha256(setting_content(raw).encode("utf-8")).hexdigest()


def parse_partial_date(text: str) -> datetime.date:
    """"2022" -> 2022-01-01, "2023-05" -> 2023-05-01, "2025-03-28" -> itself. ValueError otherwise."""
    parts = [int(p) for p in text.split("-")]
    while len(parts) < 3:
        parts.append(1)
    return datetime.date(*parts)


def load_schema(directory: Path | None = None) -> dict:
    path = (directory or catalog_dir()) / SCHEMA_FILE
    schema = json.loads(path.read_text(encoding="utf-8"))
    check_schema(schema)
    return schema


def load_catalog(directory: str | Path | None = None, *, schema: dict | None = None) -> Catalog:
    """Read every vendor file in `directory` (default: resources/optouts). Never raises for content:
    problems are in `Catalog.problems`. A missing or unreadable schema makes every file a problem."""
    directory = Path(directory) if directory is not None else catalog_dir()
    problems: list[CatalogProblem] = []
    if schema is None:
        try:
            schema = load_schema(directory)
        except (OSError, ValueError) as error:
            problem = CatalogProblem(SCHEMA_FILE, "(the whole file)", f"cannot be used: {error}", "every vendor")
            log.error("opt-out catalog: %s", problem)
            return Catalog({}, (problem,), directory)
    vendors: dict[str, Vendor] = {}
    try:
        files = sorted(p for p in directory.glob("*.json") if p.name != SCHEMA_FILE)
    except OSError as error:
        files = []
        problems.append(CatalogProblem(directory.name, "(the folder)", f"cannot be read: {error}", "every vendor"))
    for path in files:
        vendor = _load_file(path, schema, problems)
        if vendor is None:
            continue
        if vendor.vendor_id in vendors:
            problems.append(CatalogProblem(path.name, "vendor", f"{vendor.vendor_id!r} is already defined by "
                                           f"{vendors[vendor.vendor_id].file}", "the whole file"))
            continue
        vendors[vendor.vendor_id] = vendor
    _check_unique_ids(vendors, problems)
    for problem in problems:
        log.warning("opt-out catalog: %s", problem)
    return Catalog(vendors, tuple(problems), directory)


def _check_unique_ids(vendors: dict[str, Vendor], problems: list[CatalogProblem]) -> None:
    seen: dict[str, str] = {}
    for vendor_id, vendor in list(vendors.items()):
        for setting in vendor.settings:
            if setting.setting_id in seen:
                problems.append(CatalogProblem(vendor.file, "settings", f"{setting.setting_id!r} is also defined in "
                                               f"{seen[setting.setting_id]}", "the whole file"))
                del vendors[vendor_id]
                break
            seen[setting.setting_id] = vendor.file


def _load_file(path: Path, schema: dict, problems: list[CatalogProblem]) -> Vendor | None:
    name = path.name
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        problems.append(CatalogProblem(name, "(the whole file)", f"cannot be read: {error}", "the whole file"))
        return None
    except UnicodeDecodeError as error:
        problems.append(CatalogProblem(name, "(the whole file)", f"is not UTF-8 text: {error}", "the whole file"))
        return None
    except json.JSONDecodeError as error:
        problems.append(CatalogProblem(name, f"line {error.lineno}, column {error.colno}",
                                       f"is not valid JSON: {error.msg}", "the whole file"))
        return None

    found = validate(document, schema)
    raw_settings = document.get("settings") if isinstance(document, dict) else None
    broken_settings: dict[int, list[Problem]] = {}
    fatal: list[Problem] = []
    for problem in found:
        path_ = problem.path
        if len(path_) >= 2 and path_[0] == "settings" and isinstance(path_[1], int):
            broken_settings.setdefault(path_[1], []).append(problem)
        else:
            fatal.append(problem)
    if fatal:
        for problem in fatal:
            problems.append(CatalogProblem(name, problem.field, problem.message, "the whole file"))
        return None
    assert isinstance(document, dict) and isinstance(raw_settings, list)

    vendor_id = document["vendor"]
    if path.stem != vendor_id:
        problems.append(CatalogProblem(name, "vendor", f"is {vendor_id!r}, but the file is named {name}; "
                                       f"name it {vendor_id}.json", "the whole file"))
        return None
    sources_map: dict[str, str] = dict(document["sources"])
    families: dict[str, str] = dict(document["families"])

    settings: list[Setting] = []
    raws: dict[str, dict] = {}
    for index, raw in enumerate(raw_settings):
        label = _setting_label(index, raw)
        if index in broken_settings:
            for problem in broken_settings[index]:
                rest = problem.path[2:]
                field_path = label + ("." + format_path(rest) if rest else "")
                problems.append(CatalogProblem(name, field_path, problem.message,
                                               f"setting {_setting_name(raw, index)}"))
            continue
        messages = _semantic_problems(raw, vendor_id, sources_map, families)
        if messages:
            for field_name, message in messages:
                problems.append(CatalogProblem(name, f"{label}.{field_name}", message,
                                               f"setting {_setting_name(raw, index)}"))
            continue
        raws[raw["id"]] = raw
        settings.append(_build_setting(raw, vendor_id, sources_map))

    # References to a setting that was left out (and reported) are dropped quietly; to one that does not
    # exist at all, they are a problem of their own.
    written = {raw["id"] for raw in raw_settings if isinstance(raw, dict) and isinstance(raw.get("id"), str)}
    ids = {s.setting_id for s in settings}
    kept: list[Setting] = []
    for setting in settings:
        retired = setting.retired
        if retired and retired.replacement and retired.replacement not in ids:
            if retired.replacement in written:
                setting = replace(setting, retired=replace(retired, replacement=""))
            else:
                problems.append(CatalogProblem(
                    name, f"{_label_of(raw_settings, setting.setting_id)}.retired.replacement",
                    f"{retired.replacement!r} is not a setting in this file", f"setting {setting.setting_id}"))
                continue
        kept.append(setting)

    changes: list[VendorChange] = []
    kept_ids = {s.setting_id for s in kept}
    for index, raw_change in enumerate(document.get("changes", [])):
        change, message = _build_change(raw_change, sources_map, kept_ids | written)
        if change is None:
            problems.append(CatalogProblem(name, f"changes[{index}]{message[0]}", message[1], f"change #{index + 1}"))
            continue
        change = replace(change, settings=tuple(x for x in change.settings if x in kept_ids))
        if change.settings:
            changes.append(change)

    return Vendor(
        vendor_id=vendor_id,
        name=document["name"],
        assistant=document["assistant"],
        device_vendors=tuple(document["device_vendors"]),
        families=families,
        settings=tuple(kept),
        changes=tuple(changes),
        note=document.get("note", ""),
        file=name,
    )


def _setting_name(raw: Any, index: int) -> str:
    if isinstance(raw, dict) and isinstance(raw.get("id"), str) and raw["id"]:
        return raw["id"]
    return f"#{index + 1}"


def _setting_label(index: int, raw: Any) -> str:
    """"settings[3] (amazon.sidewalk)": the index and, when it has one, the id."""
    if isinstance(raw, dict) and isinstance(raw.get("id"), str) and raw["id"]:
        return f"settings[{index}] ({raw['id']})"
    return f"settings[{index}]"


def _label_of(raw_settings: list, setting_id: str) -> str:
    for index, raw in enumerate(raw_settings):
        if isinstance(raw, dict) and raw.get("id") == setting_id:
            return _setting_label(index, raw)
    return setting_id


def _semantic_problems(raw: dict, vendor_id: str, sources: Mapping[str, str],
                       families: Mapping[str, str]) -> list[tuple[str, str]]:
    """What the schema cannot check, as (field, message) pairs."""
    found: list[tuple[str, str]] = []
    if not raw["id"].startswith(vendor_id + "."):
        found.append(("id", f"must start with the vendor id, like {vendor_id}.{raw['id'].split('.')[-1]}"))
    options = raw.get("options")
    if raw["kind"] == "choice":
        if options is None:
            found.append(("options", "is missing: a choice needs the values to choose from"))
        elif raw["recommended"] not in options:
            found.append(("recommended", f"{raw['recommended']!r} is not one of the options {options}"))
        for value in raw.get("protective", []):
            if options is not None and value not in options:
                found.append(("protective", f"{value!r} is not one of the options {options}"))
        if options is not None and "protective" in raw and raw["recommended"] not in raw["protective"]:
            found.append(("protective", f"must include the recommended value {raw['recommended']!r}"))
    elif options is not None:
        found.append(("options", "a task has no options; leave this out"))
    for index, key in enumerate(raw["sources"]):
        if key not in sources:
            found.append((f"sources[{index}]", f"{key!r} is not in the file's sources"))
    for index, family in enumerate(raw["families"]):
        if family not in families:
            found.append((f"families[{index}]", f"{family!r} is not in the file's families"))
    if raw["status"] == "retired" and "retired" not in raw:
        found.append(("retired", "is missing: a retired setting needs its date and a note"))
    if raw["status"] == "active" and "retired" in raw:
        found.append(("retired", "is given, but status is 'active'"))
    voice = raw["voice"]
    if voice["available"] in ("yes", "partly") and not voice.get("phrase"):
        found.append(("voice.phrase", "is missing: say what to say"))
    try:
        verified = datetime.date.fromisoformat(raw["last_verified"])
        if verified > datetime.date.today():
            found.append(("last_verified", f"{raw['last_verified']} is in the future"))
    except ValueError:
        pass  # the schema reported it
    return found


def _build_setting(raw: dict, vendor_id: str, sources: Mapping[str, str]) -> Setting:
    options = tuple(raw.get("options") or (raw["recommended"],))
    retired = raw.get("retired")
    return Setting(
        setting_id=raw["id"],
        vendor=vendor_id,
        title=raw["title"],
        summary=raw["summary"],
        trade_off=raw["trade_off"],
        kind=raw["kind"],
        scope=raw["scope"],
        options=options,
        recommended=raw["recommended"],
        protective=tuple(raw.get("protective") or (raw["recommended"],)),
        where=Where(app=raw["where"]["app"], web=raw["where"].get("web", ""), help=raw["where"].get("help", "")),
        voice=Voice(available=raw["voice"]["available"], phrase=raw["voice"].get("phrase", ""),
                    note=raw["voice"].get("note", "")),
        families=tuple(raw["families"]),
        sources=tuple(Source(key, sources[key]) for key in raw["sources"]),
        last_verified=datetime.date.fromisoformat(raw["last_verified"]),
        recheck_days=int(raw.get("recheck_days", DEFAULT_RECHECK_DAYS)),
        content_hash=setting_hash(raw),
        content_json=setting_content(raw),
        recommended_note=raw.get("recommended_note", ""),
        recheck_reason=raw.get("recheck_reason", ""),
        uncertain=tuple(Uncertainty(u["field"], u["note"]) for u in raw.get("uncertain", ())),
        retired=Retirement(datetime.date.fromisoformat(retired["date"]), retired["note"],
                           retired.get("replacement", "")) if retired else None,
    )


def _build_change(raw: dict, sources: Mapping[str, str],
                  setting_ids: Iterable[str]) -> tuple[VendorChange | None, tuple[str, str]]:
    ids = set(setting_ids)
    for index, setting_id in enumerate(raw["settings"]):
        if setting_id not in ids:
            return None, (f".settings[{index}]", f"{setting_id!r} is not a setting in this file")
    for index, key in enumerate(raw["sources"]):
        if key not in sources:
            return None, (f".sources[{index}]", f"{key!r} is not in the file's sources")
    date_text = raw.get("date", "")
    try:
        date = parse_partial_date(date_text) if date_text else None
    except ValueError:
        return None, (".date", f"{date_text!r} is not a date")
    return VendorChange(summary=raw["summary"], settings=tuple(raw["settings"]),
                        sources=tuple(Source(k, sources[k]) for k in raw["sources"]), date=date,
                        date_text=date_text), ("", "")
