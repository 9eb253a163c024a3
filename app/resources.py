"""Where the shipped data files (resources/) live.

In a source checkout or an editable install they are the repository's resources/ folder; a wheel
installs the same files under <prefix>/share/earmuff (see [tool.setuptools.data-files]).
EARMUFF_RESOURCES overrides both.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_SOURCE = Path(__file__).resolve().parent.parent / "resources"
_INSTALLED = Path(sys.prefix) / "share" / "earmuff"


def resources_dir() -> Path:
    override = os.environ.get("EARMUFF_RESOURCES")
    if override:
        return Path(override)
    if (_SOURCE / "fingerprints").is_dir():
        return _SOURCE
    return _INSTALLED


def resource_path(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)
