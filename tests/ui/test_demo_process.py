"""The demo as a user starts it: `main.py --demo` comes up, pairs its simulated bridge, and SIGTERM ends it
cleanly, with its child processes (simulated home and bridge) gone too."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]


def test_demo_starts_pairs_and_stops_on_sigterm_with_its_children(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    app = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "--demo", "--data-dir", str(tmp_path)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    log = tmp_path / "logs" / "earmuff.log"
    paired = threading.Event()
    stop_watching = threading.Event()

    def watch() -> None:
        while not stop_watching.wait(0.2):
            if log.exists() and "paired with the demo bridge" in log.read_text(errors="replace"):
                paired.set()
                return

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        assert paired.wait(60), log.read_text(errors="replace") if log.exists() else "no log"
        children = psutil.Process(app.pid).children(recursive=True)
        assert len(children) >= 2  # the simulated home and the simulated bridge
        app.send_signal(signal.SIGTERM)
        assert app.wait(30) == 0, app.stderr.read()
        gone, alive = psutil.wait_procs(children, timeout=15)
        assert not alive, [p.cmdline() for p in alive]
        assert "Earmuff closed" in log.read_text(errors="replace")
    finally:
        stop_watching.set()
        watcher.join(5)
        if app.poll() is None:
            app.kill()
            app.wait(10)
        app.stderr.close()
