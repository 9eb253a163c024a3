"""The traffic monitor's side: an upload the bridge asked for is flagged "deletion_command" (informational), not
as quiet-time or as a misactivation; a mute that failed still alarms."""

from __future__ import annotations


def _rig(make_rig, **options):
    # A room microphone that heard nobody speak, so unasked-for uploads get "no_speech_nearby".
    return make_rig(unmuted=("kitchen",), monitor_options={"speech_of": lambda speaker_id, when: False}, **options)


def test_an_expected_upload_gets_only_the_deletion_flag(make_rig):
    rig = _rig(make_rig)
    now = rig.clock()
    rig.engine.add_schedule(speaker_id="kitchen", kind="once", start_at=now, end_at=now + 3600, label="Quiet")
    rig.engine.set_mute("kitchen", False, requested_by="test")  # a manual unmute within the window
    monitor = rig.engine.monitor
    expectation = monitor.expect_upload("kitchen", rig.clock())
    rig.source.inject_burst("kitchen", at=rig.clock() + 1)
    rig.run(4)
    expectation.set_end(rig.clock())
    assert expectation.started is not None and expectation.activation is None
    rig.run(12)

    activation = expectation.activation
    assert activation is not None and activation.id is not None
    assert activation.flags == frozenset({"deletion_command"})
    [started] = rig.events("activation_started")
    assert started.data["flags"] == ["deletion_command"]
    assert rig.events("alarm") == []
    assert rig.store.activations(flagged=True) == []
    assert [a.id for a in rig.store.activations(flagged=False)] == [activation.id]

    # Once the window is over (and forgotten), an upload is judged as usual.
    monitor.forget(expectation)
    rig.source.inject_burst("kitchen", at=rig.clock() + 1)
    rig.run(16)
    later = rig.store.activations(limit=10)[-1]
    assert later.flags == frozenset({"during_schedule", "no_speech_nearby"})
    assert [a.id for a in rig.store.activations(flagged=True)] == [later.id]


def test_an_upload_outside_the_window_is_not_the_command(make_rig):
    rig = _rig(make_rig)
    expectation = rig.engine.monitor.expect_upload("kitchen", rig.clock(), rig.clock() + 2)
    rig.source.inject_burst("kitchen", at=rig.clock() + 8)  # long after the window and its 2 s of slack
    rig.run(20)
    assert expectation.started is None
    assert rig.store.activations(limit=10)[-1].flags == frozenset({"no_speech_nearby"})


def test_another_speakers_upload_is_not_the_command(make_rig):
    rig = make_rig(unmuted=("kitchen", "bedroom"))
    expectation = rig.engine.monitor.expect_upload("kitchen", rig.clock())
    rig.source.inject_burst("bedroom", at=rig.clock() + 1)
    rig.run(16)
    assert expectation.started is None
    assert [a.flags for a in rig.store.activations(limit=10)] == [frozenset()]


def test_a_muted_speaker_that_uploads_anyway_still_raises_the_critical_alarm(make_rig):
    rig = make_rig()  # kitchen muted
    rig.source.set_mute_fails("kitchen")
    expectation = rig.engine.monitor.expect_upload("kitchen", rig.clock())
    rig.source.inject_burst("kitchen", at=rig.clock() + 1)
    rig.run(16)
    assert expectation.activation.flags == frozenset({"while_muted", "deletion_command"})
    assert [e.data["level"] for e in rig.events("alarm")] == ["critical"]
    assert rig.store.activations(flagged=True) == [expectation.activation]


def test_uploading_tells_an_activation_in_progress(make_rig):
    rig = make_rig(unmuted=("kitchen",))
    monitor = rig.engine.monitor
    assert not monitor.uploading("kitchen")
    rig.source.inject_burst("kitchen", at=rig.clock())
    rig.run(3)
    assert monitor.uploading("kitchen") and not monitor.uploading("bedroom")
    rig.run(15)
    assert not monitor.uploading("kitchen")
