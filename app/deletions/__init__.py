"""Deleting what speakers recorded: scheduled voice deletions on a bridge, portal reminders, and which way to go.

Qt-free. `voice` holds the phrases, recurrence rules and the bridge's schedule and run records; `portal` the
vendors' manual deletion guides and the PortalTracker (reminders on the app's database); `mechanisms` tells
which ways exist to delete one recording. Legal erasure requests live in app.erasure.
"""
