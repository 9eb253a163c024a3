"""Printing the opt-outs report to PDF with Qt's own writer (no printer, no external tool)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PySide6.QtCore import QMarginsF, QSizeF
from PySide6.QtGui import QFont, QPageLayout, QPageSize, QPdfWriter, QTextDocument


def _report_font() -> QFont:
    """DejaVu Sans 9 pt without ligatures, so "ff" in the PDF is searched and copied as two letters."""
    font = QFont("DejaVu Sans", 9)
    for tag in ("liga", "clig", "dlig"):
        font.setFeature(QFont.Tag(tag), 0)
    return font


def write_pdf(path: str | os.PathLike, html: str, title: str) -> Path:
    """Lay `html` out on A4 pages and write it to `path`, replacing it only once complete.

    Raises OSError when the file cannot be written.
    """
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(handle)
    try:
        writer = QPdfWriter(temporary)
        writer.setTitle(title)
        writer.setCreator("Earmuff")
        writer.setResolution(300)
        writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                                         QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter))
        document = QTextDocument()
        # Lay out at the writer's resolution on its printable area, so the text uses the page's full width.
        document.documentLayout().setPaintDevice(writer)
        document.setDefaultFont(_report_font())
        document.setHtml(html)
        document.setPageSize(QSizeF(writer.pageLayout().paintRectPixels(writer.resolution()).size()))
        document.print_(writer)
        del writer  # ends the PDF: QPdfWriter finishes the file when it is destroyed
        if os.path.getsize(temporary) == 0:
            raise OSError(f"Qt wrote nothing to {path}")
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return path
