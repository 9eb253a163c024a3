"""The privacy-settings report: every account's checklist and status, as Markdown or as HTML.

`build_report` takes a snapshot (so both formats say the same thing); `to_markdown` and `to_html`
render it. The HTML is what Qt's QTextDocument understands (tables, no CSS layout), for the PDF the
UI prints with QPdfWriter. E-mail addresses are never part of a report.
"""

from __future__ import annotations

import datetime
import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from app.optouts.local import LocalControl
from app.optouts.recheck import Recheck
from app.optouts.speakers import SpeakerRef
from app.optouts.status import ChecklistItem, PrivacyStatus
from app.optouts.tracker import DueItem, OptOutTracker

TITLE = "Earmuff privacy settings report"


def format_time(epoch: float | None) -> str:
    if epoch is None:
        return ""
    return datetime.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M")


def format_date(epoch: float | None) -> str:
    if epoch is None:
        return ""
    return datetime.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d")


@dataclass(frozen=True)
class ReportLine:
    """One checklist item as the report shows it."""

    title: str
    target_name: str
    recommended: str
    value: str
    state: Recheck
    protective: bool
    confirmed_at: float | None
    due_at: float | None
    note: str
    reason: str
    unverified: tuple[str, ...]
    sources: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.title} ({self.target_name})" if self.target_name else self.title

    @property
    def state_text(self) -> str:
        if self.state is Recheck.TODO:
            return "Not done yet"
        if self.state is Recheck.RETIRED:
            return "Retired by the vendor"
        if not self.protective and not self.state.is_due:
            return "Kept on by choice"
        return self.state.label


@dataclass(frozen=True)
class AccountSection:
    label: str
    vendor_name: str
    status: PrivacyStatus
    speakers: tuple[str, ...]
    lines: tuple[ReportLine, ...]
    retired: tuple[ReportLine, ...]
    local: tuple[tuple[str, str, str], ...]  # (what, speaker, state)


@dataclass(frozen=True)
class SpeakerLine:
    name: str
    accounts: str
    status: str


@dataclass(frozen=True)
class Report:
    generated_at: float
    totals: PrivacyStatus
    sections: tuple[AccountSection, ...]
    speakers: tuple[SpeakerLine, ...]
    due: tuple[DueItem, ...]
    catalog_verified: str
    catalog_problems: tuple[str, ...]


def _line(item: ChecklistItem) -> ReportLine:
    setting = item.setting
    confirmation = item.confirmation
    return ReportLine(
        title=setting.title, target_name=item.target_name, recommended=setting.recommended,
        value=confirmation.value if confirmation else "", state=item.recheck.state, protective=item.protective,
        confirmed_at=confirmation.confirmed_at if confirmation else None, due_at=item.recheck.due_at,
        note=confirmation.note if confirmation else "", reason=item.recheck.reason,
        unverified=tuple(u.note for u in setting.uncertain),
        sources=tuple(source.url for source in setting.sources))


def _local_state(control: LocalControl) -> str:
    if not control.enabled:
        return f"Not available: {control.reason}"
    if control.active is None:
        return "Unknown"
    return "On" if control.active else "Off"


def build_report(tracker: OptOutTracker, now: float, *, speakers: Mapping[str, SpeakerRef] | None = None,
                 local: Mapping[int, Iterable[LocalControl]] | None = None) -> Report:
    """A snapshot of every account. `speakers`: key -> current speaker (for today's names);
    `local`: account id -> its locally enforced controls as the page last saw them."""
    speakers = dict(speakers or {})
    names = {key: s.name for key, s in speakers.items()}
    sections = []
    all_items: list[ChecklistItem] = []
    for account in tracker.accounts():
        vendor = tracker.vendor_of(account)
        items = tracker.items(account.account_id, now, names=names)
        all_items.extend(items)
        links = tracker.links(account.account_id)
        controls = list((local or {}).get(account.account_id, ()))
        sections.append(AccountSection(
            label=account.label, vendor_name=vendor.name if vendor else account.vendor,
            status=PrivacyStatus.of(items),
            speakers=tuple(names.get(link.speaker_key, link.name) for link in links),
            lines=tuple(_line(i) for i in items if not i.setting.is_retired),
            retired=tuple(_line(i) for i in items if i.setting.is_retired),
            local=tuple((c.title, c.speaker.name if c.speaker else "", _local_state(c)) for c in controls)))
    speaker_lines = []
    keys = {link.speaker_key for link in tracker.links()} | set(speakers)
    for key in sorted(keys, key=lambda k: names.get(k, k).casefold()):
        accounts = tracker.speaker_accounts(key)
        status = tracker.speaker_status(key, now)
        name = names.get(key) or next((x.name for x in tracker.links() if x.speaker_key == key), key)
        speaker_lines.append(SpeakerLine(
            name=name, accounts=", ".join(a.label for a in accounts) or "No account linked",
            status=f"{status.headline}: {status.describe(now)}" if status is not None else "Not covered"))
    verified = sorted({s.last_verified for s in tracker.catalog.settings()})
    return Report(
        generated_at=now, totals=PrivacyStatus.of(all_items), sections=tuple(sections),
        speakers=tuple(speaker_lines), due=tuple(tracker.due_items(now)),
        catalog_verified=verified[-1].isoformat() if verified else "",
        catalog_problems=tuple(str(p) for p in tracker.catalog.problems))


# -- Markdown ------------------------------------------------------------------------------------------
def _md(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(str(text).split()).replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*") \
        .replace("_", "\\_")


def to_markdown(report: Report) -> str:
    now = report.generated_at
    out = [f"# {TITLE}", "", f"Made on {format_time(now)}.", ""]
    if not report.sections:
        out += ["No vendor accounts have been added yet.", ""]
    else:
        out += [f"**Overall:** {report.totals.headline}. {report.totals.describe(now)}.", ""]
    if report.due:
        out += ["## To re-check", ""]
        for item in report.due:
            where = f" on {item.target_name}" if item.target_name else ""
            out.append(f"- {_md(item.setting_title)}{_md(where)} ({_md(item.account_label)}): {_md(item.state.label)}"
                       + (f". {_md(item.reason)}" if item.reason else ""))
        out.append("")
    for section in report.sections:
        out += [f"## {_md(section.label)} ({_md(section.vendor_name)})", "",
                f"**Status:** {section.status.headline}. {section.status.describe(now)}.", ""]
        if section.speakers:
            out += ["Speakers: " + ", ".join(_md(s) for s in section.speakers), ""]
        out += ["| Setting | Recommended | Recorded | Confirmed | Status | Re-check by | Note |",
                "|---|---|---|---|---|---|---|"]
        for line in section.lines:
            name = line.name + (" (unverified)" if line.unverified else "")
            out.append("| " + " | ".join(_md(cell) for cell in (
                name, line.recommended, line.value or "-", format_date(line.confirmed_at) or "-", line.state_text,
                format_date(line.due_at) if line.confirmed_at else "-", line.note or "")) + " |")
        out.append("")
        if section.local:
            out += ["Enforced by your Earmuff bridge:", ""]
            for what, speaker, state in section.local:
                out.append(f"- {_md(what)}" + (f" ({_md(speaker)})" if speaker else "") + f": {_md(state)}")
            out.append("")
        if section.retired:
            out += ["Retired by the vendor:", ""]
            for line in section.retired:
                out.append(f"- {_md(line.title)}: {_md(line.reason)}")
            out.append("")
    if report.speakers:
        out += ["## Speakers", "", "| Speaker | Accounts | Status |", "|---|---|---|"]
        for speaker in report.speakers:
            out.append(f"| {_md(speaker.name)} | {_md(speaker.accounts)} | {_md(speaker.status)} |")
        out.append("")
    out += ["## About these settings", "",
            f"The settings come from Earmuff's catalog (entries last verified against their sources on "
            f"{report.catalog_verified or 'an unknown date'}). Settings marked “unverified” rest on secondary "
            "sources only: check the vendor's own page. Every value here is what you recorded in Earmuff, not "
            "something Earmuff read from the vendor.", ""]
    if report.catalog_problems:
        out += ["Parts of the catalog could not be read:", ""] + [f"- {_md(p)}" for p in report.catalog_problems]
        out.append("")
    return "\n".join(out)


# -- HTML (for QTextDocument and the PDF) ---------------------------------------------------------------
_LEVEL_COLOURS = {"protected": "#1b7f3b", "incomplete": "#8a5a00", "attention": "#b3261e", "empty": "#555555"}


#: The checklist table's columns and their share of the width, in per cent.
_COLUMNS = (("Setting", 30), ("Recommended", 17), ("Recorded", 15), ("Status", 24), ("Note", 14))


def _h(text: str) -> str:
    return html.escape(str(text), quote=True)


def to_html(report: Report) -> str:
    now = report.generated_at
    cell = 'style="padding:3px 6px; border-bottom:1px solid #cccccc;"'
    head = 'style="padding:3px 6px; background:#eeeeee; text-align:left;"'
    out = ["<html><head><meta charset='utf-8'><title>" + _h(TITLE) + "</title></head>",
           "<body>",
           f"<h1>{_h(TITLE)}</h1>", f"<p>Made on {_h(format_time(now))}.</p>"]
    if not report.sections:
        out.append("<p>No vendor accounts have been added yet.</p>")
    else:
        colour = _LEVEL_COLOURS[report.totals.level]
        out.append(f"<p><b style='color:{colour}'>{_h(report.totals.headline)}.</b> "
                   f"{_h(report.totals.describe(now))}.</p>")
    if report.due:
        out.append("<h2>To re-check</h2><ul>")
        for item in report.due:
            where = f" on {item.target_name}" if item.target_name else ""
            reason = f". {item.reason}" if item.reason else ""
            out.append(f"<li>{_h(item.setting_title + where)} ({_h(item.account_label)}): "
                       f"{_h(item.state.label + reason)}</li>")
        out.append("</ul>")
    for section in report.sections:
        colour = _LEVEL_COLOURS[section.status.level]
        out.append(f"<h2>{_h(section.label)} ({_h(section.vendor_name)})</h2>")
        out.append(f"<p><b style='color:{colour}'>{_h(section.status.headline)}.</b> "
                   f"{_h(section.status.describe(now))}.</p>")
        if section.speakers:
            out.append(f"<p>Speakers: {_h(', '.join(section.speakers))}</p>")
        out.append("<table cellspacing='0' width='100%'><tr>" + "".join(
            f"<th width='{w}%' {head}>{_h(h)}</th>" for h, w in _COLUMNS) + "</tr>")
        for line in section.lines:
            name = _h(line.name) + (" <i>(unverified)</i>" if line.unverified else "")
            status = f"<b>{_h(line.state_text)}</b>"
            if line.confirmed_at is not None:
                status += f"<br>confirmed {_h(format_date(line.confirmed_at))}"
                if line.due_at is not None:
                    status += f"<br>re-check by {_h(format_date(line.due_at))}"
            out.append("<tr>" + "".join(f"<td {cell}>{value}</td>" for value in (
                name, _h(line.recommended), _h(line.value or "-"), status, _h(line.note))) + "</tr>")
        out.append("</table>")
        if section.local:
            out.append("<p>Enforced by your Earmuff bridge:</p><ul>")
            for what, speaker, state in section.local:
                out.append(f"<li>{_h(what)}{_h(f' ({speaker})' if speaker else '')}: {_h(state)}</li>")
            out.append("</ul>")
        if section.retired:
            out.append("<p>Retired by the vendor:</p><ul>")
            for line in section.retired:
                out.append(f"<li>{_h(line.title)}: {_h(line.reason)}</li>")
            out.append("</ul>")
    if report.speakers:
        out.append("<h2>Speakers</h2><table cellspacing='0' width='100%'><tr>" + "".join(
            f"<th {head}>{_h(h)}</th>" for h in ("Speaker", "Accounts", "Status")) + "</tr>")
        for speaker in report.speakers:
            out.append(f"<tr><td {cell}>{_h(speaker.name)}</td><td {cell}>{_h(speaker.accounts)}</td>"
                       f"<td {cell}>{_h(speaker.status)}</td></tr>")
        out.append("</table>")
    out.append("<h2>About these settings</h2>")
    out.append(f"<p>The settings come from Earmuff's catalog (entries last verified against their sources on "
               f"{_h(report.catalog_verified or 'an unknown date')}). Settings marked “unverified” rest on "
               "secondary sources only: check the vendor's own page. Every value here is what you recorded in "
               "Earmuff, not something Earmuff read from the vendor.</p>")
    if report.catalog_problems:
        out.append("<p>Parts of the catalog could not be read:</p><ul>" +
                   "".join(f"<li>{_h(p)}</li>" for p in report.catalog_problems) + "</ul>")
    out.append("</body></html>")
    return "\n".join(out)
