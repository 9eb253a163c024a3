"""The Pi bridge installs and runs without desktop packages; the app's core stays free of Qt."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# sounddevice is in both: the bridge meters a USB room microphone (imported only when it has one).
DESKTOP_ONLY = ("pyside6", "pyqtgraph", "keyring", "requests")


def requirement_name(requirement: str) -> str:
    for stop in "<>=!~;[ ":
        requirement = requirement.split(stop, 1)[0]
    return requirement.strip().lower()


def test_bridge_install_pulls_no_desktop_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    bridge = project["dependencies"] + project["optional-dependencies"]["bridge"]
    assert not {requirement_name(r) for r in bridge} & set(DESKTOP_ONLY)


def modules_of(package: str) -> list[str]:
    names = []
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__main__":
            continue
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


# The bridge ships in the same distribution as app/ (pure Python), so it may reuse app's Qt-free helpers;
# what it must never need is Qt or another desktop-only package.
@pytest.mark.parametrize("package, forbidden", [
    ("device_bridge", ("PySide6", "pyqtgraph", "ui", "requests", "keyring", "sounddevice")),
    ("app", ("PySide6", "pyqtgraph", "ui")),
])
def test_import_boundaries(package, forbidden):
    modules = modules_of(package)
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {forbidden!r})\n"
        "print(','.join(bad))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"{package} imports {result.stdout.strip()}"
