"""Where the shipped data files (resources/) live."""

from __future__ import annotations

import os
from pathlib import Path

_DEFAULT = Path(__file__).resolve().parent.parent / "resources"


def resources_dir() -> Path:
    """resources/ beside the packages (a source checkout or editable install); EARMUFF_RESOURCES overrides."""
    override = os.environ.get("EARMUFF_RESOURCES")
    return Path(override) if override else _DEFAULT


def resource_path(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)
