"""Guards against a Qt binding that corrupts Python's reference counts (PySide6 6.12.0 did)."""

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    fired = Signal(object)


def test_signal_emit_keeps_reference_counts(qtbot):
    emitter = _Emitter()
    received = []
    emitter.fired.connect(received.append)
    before_true, before_none = sys.getrefcount(True), sys.getrefcount(None)
    for n in range(200):
        emitter.fired.emit(n)
    # Other threads may take or drop a few references meanwhile; a leak is one per emit.
    assert abs(sys.getrefcount(True) - before_true) < 50
    assert abs(sys.getrefcount(None) - before_none) < 50
    assert received == list(range(200))
