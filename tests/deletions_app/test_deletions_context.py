"""The app context wires the deletion parts: the run cache (pruned after a year) filled by its recorder, which
listens to the bridges, and the portal reminders with the shipped guides."""

from __future__ import annotations

import datetime as dt
import time

from app.deletions.voice import Recurrence, VoiceRun
from app.storage import Database
from app.storage.deletions_repo import VoiceRunRepository

RUN = {"id": 1, "speaker_id": "kitchen", "vendor": "amazon", "phrase": "Alexa, delete everything I said today",
       "occurrence": 0.0, "state": "done", "phase": "done", "outcome": "skipped",
       "why": "the bridge was not running at 23:55"}


def test_the_context_keeps_voice_runs_and_portal_reminders(data_dir):
    from app.context import AppContext
    from app.logging_setup import teardown_logging

    now = time.time()
    with Database.open(data_dir / "earmuff.db") as db:
        VoiceRunRepository(db).save([VoiceRun.from_bridge("b1", {**RUN, "occurrence": now - 400 * 86400}),
                                     VoiceRun.from_bridge("b1", {**RUN, "id": 2, "occurrence": now - 86400})])
    ctx = AppContext.create(data_dir, interfaces=("127.0.0.1",))
    try:
        heard = []
        ctx.voice_run_recorder.add_listener(heard.append)
        assert ctx.voice_run_recorder in ctx.bridges._listeners  # noqa: SLF001 - the wiring is what is tested
        ctx.voice_run_recorder.deletion_run("b1", {**RUN, "id": 3, "occurrence": now})
        assert [r.id for r in ctx.voice_runs.recent()] == [3, 2]  # the year-old one was pruned at start
        assert [[r.id for r in batch] for batch in heard] == [[3]]
        assert ctx.voice_runs.sync_after("b1") == 3

        assert sorted(ctx.portal.guides) == ["amazon-voice-history", "apple-siri-history", "google-my-activity",
                                             "sonos-account"]
        guide = ctx.portal.guide("apple-siri-history")
        reminder = ctx.portal.add(guide.id, Recurrence.monthly(1, 10, 0, dt.date.today()))
        assert ctx.portal.reminders() == [reminder] and reminder.next_due > now
    finally:
        ctx.close()
        teardown_logging()
