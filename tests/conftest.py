"""Suite-wide set-up: headless Qt, an isolated data dir, and a check that no test leaks threads."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
import uuid

# Must happen before anything imports Qt: without a platform and a display, Qt aborts the process.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tests never read or write the user's real data directory.
os.environ.pop("EARMUFF_RESOURCES", None)

import pytest  # noqa: E402

# Threads that libraries start once per process and keep on purpose.
_LONG_LIVED = ("pydevd", "QDBusConnection")


def _live_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t is not threading.main_thread() and t.is_alive()}


@pytest.fixture(autouse=True)
def no_thread_leaks(request):
    """Fail a test that leaves a thread of ours (or zeroconf's) running."""
    before = _live_threads()
    yield
    if request.node.get_closest_marker("allow_thread_leak"):
        return
    leaked = []
    for thread in _live_threads() - before:
        thread.join(timeout=5.0)
        if thread.is_alive() and not thread.name.startswith(_LONG_LIVED):
            leaked.append(thread.name)
    assert not leaked, f"threads left running: {leaked}"


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A fresh data directory; platformdirs is pointed at tmp too, in case something forgets --data-dir."""
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def pin_factory():
    """gpiozero's MockFactory as the default pin factory for one test; reset and closed afterwards."""
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory

    previous = Device.pin_factory
    factory = MockFactory()
    Device.pin_factory = factory
    yield factory
    factory.reset()
    factory.close()
    Device.pin_factory = previous


GUI_FOLDERS = ("ui", "ui_activity", "ui_live", "ui_optouts", "ui_deletions")


def pytest_collection_modifyitems(items):
    # WORKAROUND: the offscreen platform plugin warns "This plugin does not support
    # propagateSizeHints()" whenever a window or dialog with a minimum size is shown; it is
    # about the plugin, not our code, and real platforms do not say it.
    for item in items:
        if item.path.parent.name in GUI_FOLDERS and item.path.parent.parent.name == "tests":
            item.add_marker(pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints"))


def _netns_problem() -> str | None:
    if os.geteuid() != 0:
        return "needs root to create a network namespace"
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed"
    return None


@pytest.fixture
def nft_command():
    """`ip netns exec <fresh namespace> nft`: nftables in a namespace of the test's own, deleted afterwards
    (skipped with the reason where namespaces cannot be made)."""
    problem = _netns_problem()
    if problem is not None:
        pytest.skip(problem)
    name = f"earmuff-nft-{uuid.uuid4().hex[:8]}"
    made = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True, timeout=10, check=False)
    if made.returncode != 0:
        pytest.skip(f"cannot create a network namespace: {made.stderr.strip()}")
    try:
        yield ("ip", "netns", "exec", name, "nft")
    finally:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True, timeout=10, check=False)


@pytest.fixture
def pulse_daemon(tmp_path, monkeypatch):
    """Start a PulseAudio daemon of this test's own with `start(config_text)` (its socket, config and cookie in
    tmp); returns the environment that reaches it, also set for this process (PortAudio's ALSA "pulse" device reads
    it when it connects). Stopped after the test, and PortAudio then forgets its devices (later tests see none)."""
    from app.audio import list_input_devices

    daemons: list[subprocess.Popen] = []

    def start(config_text: str) -> dict[str, str]:
        env = {name: str(tmp_path / name.lower()) for name in ("HOME", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME")}
        for path in env.values():
            os.makedirs(path, mode=0o700, exist_ok=True)
        (tmp_path / "pa.pa").write_text(config_text)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        daemon = subprocess.Popen(
            ["pulseaudio", "-n", "-F", str(tmp_path / "pa.pa"), "--daemonize=no", "--exit-idle-time=-1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        daemons.append(daemon)
        deadline = time.monotonic() + 15.0
        while subprocess.run(["pactl", "info"], capture_output=True, timeout=10).returncode != 0:
            if daemon.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"pulseaudio did not start: {daemon.stderr.read()[-500:] if daemon.poll() else ''}")
            threading.Event().wait(0.05)
        return env

    yield start
    for daemon in daemons:
        daemon.terminate()
        try:
            daemon.wait(10)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait(5)
        daemon.stderr.close()
    if daemons:
        list_input_devices(refresh=True)
