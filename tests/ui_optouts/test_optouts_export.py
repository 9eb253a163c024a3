"""The report as a PDF from Qt's own writer (readable: a PDF header, and its text extracts with pdftotext when
installed) and as Markdown, both through the save dialog the user sees."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog


@pytest.fixture
def filled(ctx):
    account = ctx.optouts.add_account("amazon", "Amazon - Anna's family")
    ctx.optouts.confirm(account.account_id, "amazon.voice-recordings", note="done in the app")
    ctx.optouts.confirm(account.account_id, "amazon.sidewalk", "On")
    ctx.optouts.add_account("apple", "Apple ID")
    return account


def save_through_dialog(qtbot, page, kind, path):
    dialog = page.choose_export(kind)
    assert isinstance(dialog, QFileDialog) and dialog.isVisible()
    assert dialog.acceptMode() == QFileDialog.AcceptMode.AcceptSave
    assert dialog.selectedFiles()[0].endswith(f".{kind}")
    with qtbot.waitSignal(dialog.fileSelected):
        dialog.selectFile(str(path))
        dialog.accept()
    return path


def test_the_pdf_is_a_real_pdf_whose_text_can_be_read(qtbot, page, filled, tmp_path):
    page.refresh()
    path = save_through_dialog(qtbot, page, "pdf", tmp_path / "report.pdf")
    data = path.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert page.last_export == path
    assert not list(tmp_path.glob(".*.part"))  # written whole, then moved into place
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: the PDF header was checked, not its text")
    raw = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, timeout=30, check=True).stdout
    text = " ".join(raw.split())  # table cells wrap; compare the words
    assert "Earmuff privacy settings report" in text
    assert "Amazon - Anna's family (Amazon)" in text and "Apple ID (Apple)" in text
    assert "Don't save recordings" in text and "done in the app" in text
    assert "Kept on by choice" in text


def test_the_markdown_report_says_the_same(qtbot, page, filled, tmp_path):
    path = save_through_dialog(qtbot, page, "md", tmp_path / "report.md")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Earmuff privacy settings report")
    assert "## Amazon - Anna's family (Amazon)" in text and "## Apple ID (Apple)" in text
    assert "| Amazon Sidewalk | Off | On |" in text


def test_an_unwritable_place_is_reported_not_raised(page, filled, tmp_path, window):
    target = tmp_path / "missing-folder" / "report.pdf"
    assert page.export(target) is None
    assert window.statusBar().currentMessage().startswith(f"Could not save the report to {target}")


def test_page_shortcut_ctrl_p_opens_the_pdf_export(qtbot, page, window):
    window.activateWindow()
    page.accounts_list.setFocus()
    qtbot.waitUntil(page.accounts_list.hasFocus)
    qtbot.keyClick(page.accounts_list, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    assert page.file_dialog is not None and page.file_dialog.isVisible()
    assert page.file_dialog.selectedFiles()[0].endswith(".pdf")
    page.file_dialog.reject()
