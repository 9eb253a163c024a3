"""Earmuff's desktop interface (PySide6). Everything Qt lives in this package.

Widgets get an `AppContext` by constructor injection and learn about devices
only through `ui.adapters`, which turns the registry's thread-side callbacks
into queued Qt signals.
"""
