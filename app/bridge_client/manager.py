"""All paired bridges: one live link each, commands off the caller's thread, and listeners told what changed.

`BridgeManager` is Qt-free. Per paired bridge it runs an `EventStream` (its
own thread) that keeps a `BridgeStatus` current: online with live speaker
states, or offline with the last known ones while it retries with backoff.
Commands (mute, mute for a while, schedules, pairing, forgetting) run on a
small worker pool; each takes a `callback(Outcome)` that receives the value or
the error on that worker thread (ui.bridge_adapter carries it to the GUI).
Listeners (see `BridgeListener`) are called on the manager's threads, never
while it holds its lock.

With `samples_backfill_s` the streams also carry the bridges' 10 Hz traffic samples and microphone
readings (listeners' `sample`), starting that many seconds back. On every (re)connection the manager
fetches the activations the app may have missed (from `sync_from(bridge_id)`, else the last
`ACTIVATION_SYNC_S`) and hands them to listeners' `activations_synced`; live ones arrive as `activation`.
Then it fetches the voice deletion runs after `runs_after(bridge_id)` (listeners' `deletion_runs_synced`);
live ones arrive as `deletion_run`. A bridge without voice deletions (404) is skipped quietly.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from app.bridge_client import pairing as pairing_module
from app.bridge_client.destinations import NewOrganisation
from app.bridge_client.errors import (
    BridgeError,
    BridgeFailed,
    BridgeUnreachable,
    CertificateChanged,
    NotAuthorized,
    RequestRejected,
)
from app.bridge_client.models import (
    BridgeAlarm,
    BridgeListener,
    BridgeStatus,
    CommandFailure,
    Connection,
    PairedBridge,
    Schedule,
    SpeakerState,
)
from app.bridge_client.pairing import BridgeProbe, Pairing
from app.bridge_client.session import REQUEST_TIMEOUT, BridgeSession, normalise_fingerprint
from app.bridge_client.stream import STREAM_TIMEOUT, Backoff, EventStream, StreamEvent
from app.deletions.voice import DeletionCapabilities, VoiceRun, VoiceSchedule
from app.secrets import SecretStore, SecretStoreUnavailable

log = logging.getLogger(__name__)

#: How often a heartbeat may update the stored "last seen" (other changes are stored at once).
CONTACT_SAVE_INTERVAL_S = 60.0
#: How far back the first activation sync with a bridge reaches (the bridge's default retention).
ACTIVATION_SYNC_S = 90 * 86400.0
#: Stream event types that describe activations.
ACTIVATION_EVENTS = frozenset({"activation_started", "activation_ended"})
#: How many voice deletion runs one request fetches when syncing (the bridge's maximum page).
RUN_SYNC_PAGE = 500
#: At most this many pages per sync (a year of runs is far fewer).
RUN_SYNC_PAGES = 20


class TokenUnavailable(BridgeError):
    """The bridge's token cannot be read: no keyring, or it is not in the keyring any more."""

    fatal = True


@dataclass(frozen=True)
class Outcome:
    """A command's result or its error (exactly one is set)."""

    value: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def message(self) -> str:
        """The error for the user ('' when it worked)."""
        if self.error is None:
            return ""
        return getattr(self.error, "user_message", None) or str(self.error)


@dataclass(frozen=True)
class ForgetResult:
    """What forgetting a bridge managed to do.

    Attributes:
        bridge_id: the bridge forgotten.
        revoked: the bridge was told to drop this computer's token.
        notes: plain sentences about what could not be done (shown to the user).
    """

    bridge_id: str
    revoked: bool
    notes: tuple[str, ...] = ()


Callback = Callable[[Outcome], None]
Store = Callable[[Callable[[Any], None]], None]


def default_client_name() -> str:
    """How this computer introduces itself to a bridge (the bridge lists tokens by it)."""
    try:
        host = socket.gethostname().split(".")[0]
    except OSError:
        host = ""
    return f"Earmuff on {host}" if host else "Earmuff desktop"


class _Link:
    """One paired bridge: its record, its status, its stream and the session commands use."""

    def __init__(self, record: PairedBridge, persist: bool) -> None:
        self.record = record
        self.persist = persist
        self.status = BridgeStatus(
            bridge_id=record.bridge_id, name=record.name, host=record.host, port=record.port,
            fingerprint=record.fingerprint, connection=Connection.OFFLINE if record.last_seen else Connection.CONNECTING,
            last_contact=record.last_seen, speakers=record.last_state,
        )
        self.stream: EventStream | None = None
        self.token: str | None = None
        self.session: BridgeSession | None = None
        self.contact_saved_at = 0.0


class BridgeManager:
    """Connections to every paired bridge, and the commands the UI sends them.

    Attributes:
        client_name: how this computer names itself when pairing.
        secrets: where tokens are kept (keyring, or memory in the demo).
    """

    def __init__(
        self,
        secrets: SecretStore,
        *,
        bridges: Iterable[PairedBridge] = (),
        store: Store | None = None,
        client_name: str | None = None,
        clock: Callable[[], float] = time.time,
        max_workers: int = 4,
        backoff: Callable[[], Backoff] = Backoff,
        stream_timeout: tuple[float, float] = STREAM_TIMEOUT,
        request_timeout: tuple[float, float] = REQUEST_TIMEOUT,
        samples_backfill_s: float | None = None,
        sync_from: Callable[[str], float | None] | None = None,
        runs_after: Callable[[str], int | None] | None = None,
    ) -> None:
        """`bridges`: the paired bridges to start with. `store(job)` runs `job(repository_or_none)` writes
        later on a writer thread (None: nothing is stored). `samples_backfill_s`: ask the streams for
        samples, replaying that many seconds (None: no samples). `sync_from(bridge_id)`: the time from which
        to fetch a bridge's activations on connecting (None: the last ACTIVATION_SYNC_S). `runs_after(bridge_id)`:
        the voice deletion run id after which to fetch a bridge's runs on connecting (None: all it keeps)."""
        self.secrets = secrets
        self.client_name = client_name or default_client_name()
        self._store = store
        self._clock = clock
        self._backoff = backoff
        self._stream_timeout = stream_timeout
        self._request_timeout = request_timeout
        self._samples_backfill_s = samples_backfill_s
        self._sync_from = sync_from
        self._runs_after = runs_after
        self._lock = threading.RLock()
        self._listeners: list[BridgeListener] = []
        self._links: dict[str, _Link] = {r.bridge_id: _Link(r, persist=True) for r in bridges}
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="earmuff-bridge-worker")
        self._started = False
        self._closed = False

    # -- listeners -------------------------------------------------------------------------------
    def add_listener(self, listener: BridgeListener) -> None:
        with self._lock:
            if listener not in self._listeners:
                self._listeners.append(listener)

    def remove_listener(self, listener: BridgeListener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _notify(self, method: str, *args: Any) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            handler = getattr(listener, method, None)
            if handler is None:  # listeners need only the methods they care about
                continue
            try:
                handler(*args)
            except Exception:  # noqa: BLE001 - one listener must not break the others
                log.exception("bridge listener %r failed in %s", listener, method)

    # -- life ----------------------------------------------------------------------------------------
    def start(self) -> None:
        """Connect to every paired bridge (each on its own thread)."""
        with self._lock:
            if self._started or self._closed:
                return
            self._started = True
            links = list(self._links.values())
        for link in links:
            self._start_stream(link)

    def close(self, timeout: float = 8.0) -> None:
        """Stop every stream and worker and join them. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            links = list(self._links.values())
        for link in links:
            self._stop_stream(link, timeout)
        self._pool.shutdown(wait=True, cancel_futures=True)
        for link in links:
            self._close_session(link)

    @property
    def closed(self) -> bool:
        return self._closed

    # -- state ----------------------------------------------------------------------------------------
    def statuses(self) -> list[BridgeStatus]:
        with self._lock:
            return [link.status for link in self._links.values()]

    def status(self, bridge_id: str) -> BridgeStatus | None:
        with self._lock:
            link = self._links.get(bridge_id)
            return link.status if link else None

    def speaker_name(self, bridge_id: str, speaker_id: str) -> str:
        """The speaker's name as its bridge last said (its id when the bridge or speaker is unknown)."""
        status = self.status(bridge_id)
        speaker = status.speaker(speaker_id) if status is not None else None
        return speaker.name if speaker is not None else speaker_id

    def is_paired(self, bridge_id: str) -> bool:
        with self._lock:
            return bridge_id in self._links

    def _is_current(self, link: _Link) -> bool:
        with self._lock:
            return not self._closed and self._links.get(link.record.bridge_id) is link

    def _update(self, link: _Link, **changes: Any) -> BridgeStatus:
        with self._lock:
            link.status = replace(link.status, **changes)
            return link.status

    # -- streams ----------------------------------------------------------------------------------------
    def _start_stream(self, link: _Link) -> None:
        with self._lock:
            if self._closed or link.stream is not None:
                return
            if self._links.get(link.record.bridge_id) is not link:
                return
            stream = EventStream(
                lambda: self._open_session(link),
                _LinkHandler(self, link),
                backoff=self._backoff(),
                timeout=self._stream_timeout,
                name=f"earmuff-bridge-stream-{link.record.bridge_id[:8]}",
                samples_backfill_s=self._samples_backfill_s,
                clock=self._clock,
            )
            link.stream = stream
            status = replace(link.status, connection=Connection.CONNECTING, problem="", retry_at=None)
            link.status = status
        stream.start()
        self._notify("bridge_updated", status)

    def _stop_stream(self, link: _Link, timeout: float = 8.0) -> None:
        with self._lock:
            stream, link.stream = link.stream, None
        if stream is not None:
            stream.stop(timeout)

    def _token(self, link: _Link) -> str:
        with self._lock:
            token = link.token
        if token:
            return token
        try:
            token = self.secrets.get_token(link.record.bridge_id)
        except SecretStoreUnavailable as error:
            raise TokenUnavailable(error.user_message, str(error)) from error
        if not token:
            raise TokenUnavailable(
                "This computer's key for the bridge is missing from the keyring. Pair again to control it.")
        with self._lock:
            link.token = token
        return token

    def _open_session(self, link: _Link) -> BridgeSession:
        token = self._token(link)
        record = link.record
        return BridgeSession(record.host, record.port, record.fingerprint, token, timeout=self._request_timeout)

    def _command_session(self, link: _Link) -> BridgeSession:
        with self._lock:
            if link.session is not None:
                return link.session
        session = self._open_session(link)
        with self._lock:
            if link.session is None:
                link.session = session
                return session
        session.close()
        return link.session

    def _close_session(self, link: _Link) -> None:
        with self._lock:
            session, link.session = link.session, None
        if session is not None:
            session.close()

    def _connected(self, link: _Link, session: BridgeSession) -> None:
        info = session.info()
        if info.bridge_id != link.record.bridge_id:
            raise _WrongBridge(
                f"A different bridge (“{info.name}”) now answers at {session.where}. Pair with it, or forget "
                f"the old one.")
        speakers = tuple(session.speakers())
        now = self._clock()
        status = self._update(link, connection=Connection.ONLINE, name=info.name, last_contact=now,
                              speakers=speakers, problem="", retry_at=None, time_zone=info.time_zone)
        self._save_contact(link, now, speakers, name=info.name, force=True)
        self._notify("bridge_updated", status)
        self._sync_activations(link, session, now)
        self._sync_deletion_runs(link, session)

    def _sync_activations(self, link: _Link, session: BridgeSession, now: float) -> None:
        """Fetch what the bridge detected since the app last heard; a failure is logged, not a drop."""
        bridge_id = link.record.bridge_id
        try:
            start = self._sync_from(bridge_id) if self._sync_from is not None else None
        except Exception:  # noqa: BLE001 - the cache is unreadable: sync everything
            log.exception("could not tell when bridge %s's activations were last synced", bridge_id)
            start = None
        if start is None:
            start = now - ACTIVATION_SYNC_S
        try:
            records = session.activations(start, None)
        except BridgeError as error:
            log.warning("bridge %s: could not fetch its activations: %s", bridge_id, error)
            return
        self._notify("activations_synced", bridge_id, records)

    def _sync_deletion_runs(self, link: _Link, session: BridgeSession) -> None:
        """Fetch the voice deletion runs the app has not seen; a failure is logged, not a drop."""
        bridge_id = link.record.bridge_id
        try:
            after = self._runs_after(bridge_id) if self._runs_after is not None else None
        except Exception:  # noqa: BLE001 - the cache is unreadable: sync everything
            log.exception("could not tell which of bridge %s's deletion runs were synced", bridge_id)
            after = None
        after = int(after or 0)
        records: list[dict] = []
        try:
            for _ in range(RUN_SYNC_PAGES):
                page = session.deletion_runs(after, RUN_SYNC_PAGE)
                records += page
                ids = [r["id"] for r in page if isinstance(r.get("id"), int) and not isinstance(r.get("id"), bool)]
                if len(page) < RUN_SYNC_PAGE or not ids or max(ids) <= after:
                    break
                after = max(ids)
        except RequestRejected as error:
            if error.status == 404:
                log.debug("bridge %s has no voice deletions (%s)", bridge_id, error)
            else:
                log.warning("bridge %s: could not fetch its deletion runs: %s", bridge_id, error)
            return
        except BridgeError as error:
            log.warning("bridge %s: could not fetch its deletion runs: %s", bridge_id, error)
            return
        self._notify("deletion_runs_synced", bridge_id, records)

    def _event(self, link: _Link, event: StreamEvent) -> None:
        now = self._clock()
        self._update(link, last_contact=now)
        if event.type == "mute_changed":
            try:
                previous = link.status.speaker(event.speaker_id or event.data.get("speaker_id", ""))
                state = SpeakerState.from_json(event.data, previous=previous)
            except ValueError as error:
                log.warning("bridge %s: mute_changed event not understood: %s", link.record.bridge_id, error)
                return
            self._apply_state(link, state)
        elif event.type == "alarm":
            alarm = BridgeAlarm(
                bridge_id=link.record.bridge_id, speaker_id=event.speaker_id,
                message=str(event.data.get("message") or "The bridge raised an alarm."),
                level=str(event.data.get("level") or "warning"), time=event.time,
            )
            self._notify("alarm", alarm)
        elif event.type == "schedule_changed":
            self._notify("schedules_changed", link.record.bridge_id)
        elif event.type in ACTIVATION_EVENTS:
            data = dict(event.data)
            data.setdefault("speaker_id", event.speaker_id)
            self._notify("activation", link.record.bridge_id, event.type, data)
        elif event.type == "new_destination_org":
            try:
                news = NewOrganisation.from_event(link.record.bridge_id, event.speaker_id or "", event.data)
            except ValueError as error:
                log.warning("bridge %s: new_destination_org event not understood: %s", link.record.bridge_id, error)
                return
            self._notify("new_destination_org", news)
        elif event.type == "blocks_changed" and event.speaker_id:
            self._notify("blocks_changed", link.record.bridge_id, event.speaker_id)
        elif event.type == "deletion_run":
            data = dict(event.data)
            if event.speaker_id:
                data.setdefault("speaker_id", event.speaker_id)
            self._notify("deletion_run", link.record.bridge_id, data)

    def _sample(self, link: _Link, record: dict) -> None:
        self._notify("sample", link.record.bridge_id, record)

    def _heartbeat(self, link: _Link) -> None:
        now = self._clock()
        self._update(link, last_contact=now)
        self._save_contact(link, now, None)

    def _disconnected(self, link: _Link, error: BridgeError, retry_in: float | None) -> None:
        if isinstance(error, CertificateChanged):
            connection = Connection.CERTIFICATE_CHANGED
        elif isinstance(error, NotAuthorized):
            connection = Connection.NOT_AUTHORIZED
            with self._lock:
                link.token = None
        elif isinstance(error, TokenUnavailable):
            connection = Connection.NO_TOKEN
        else:
            connection = Connection.OFFLINE
        retry_at = self._clock() + retry_in if retry_in is not None else None
        status = self._update(link, connection=connection, problem=error.user_message, retry_at=retry_at)
        if status.last_contact:
            self._save_contact(link, status.last_contact, status.speakers, force=True)
        self._notify("bridge_updated", status)

    def _apply_state(self, link: _Link, state: SpeakerState) -> None:
        """Take a speaker's new state unless an older one arrived late."""
        with self._lock:
            current = link.status.speaker(state.speaker_id)
            if current is not None and state.changed_at < current.changed_at:
                return
            if current is not None and state.name == state.speaker_id:
                state = replace(state, name=current.name)
            speakers = tuple(state if s.speaker_id == state.speaker_id else s for s in link.status.speakers)
            if current is None:
                speakers = (*speakers, state)
            link.status = replace(link.status, speakers=speakers)
            last_contact = link.status.last_contact or self._clock()
        self._save_contact(link, last_contact, speakers, force=True)
        self._notify("speaker_state", link.record.bridge_id, state)

    def _save_contact(self, link: _Link, when: float, speakers: tuple[SpeakerState, ...] | None, *,
                      name: str | None = None, force: bool = False) -> None:
        if self._store is None or not link.persist:
            return
        if not force and when - link.contact_saved_at < CONTACT_SAVE_INTERVAL_S:
            return
        link.contact_saved_at = when
        bridge_id = link.record.bridge_id
        self._submit_store(lambda repo: repo.record_contact(bridge_id, when, speakers, name))

    def _submit_store(self, job: Callable[[Any], None]) -> None:
        if self._store is None:
            return
        try:
            self._store(job)
        except Exception:  # noqa: BLE001 - storage trouble must not cut the link
            log.exception("could not store bridge state")

    # -- asynchronous commands ---------------------------------------------------------------------------
    def _run(self, work: Callable[[], Any], callback: Callback | None,
             on_error: Callable[[BaseException], None] | None = None) -> Future | None:
        def task() -> None:
            try:
                outcome = Outcome(value=work())
            except (BridgeError, SecretStoreUnavailable, ValueError) as error:
                outcome = Outcome(error=error)
                if on_error is not None:
                    on_error(error)
            except Exception as error:  # noqa: BLE001 - a bug: still tell the caller
                log.exception("bridge command failed unexpectedly")
                outcome = Outcome(error=BridgeFailed(f"Something went wrong: {error}", str(error)))
            if callback is not None:
                try:
                    callback(outcome)
                except Exception:  # noqa: BLE001
                    log.exception("bridge command callback failed")

        try:
            return self._pool.submit(task)
        except RuntimeError:  # shut down
            if callback is not None:
                callback(Outcome(error=BridgeFailed("Earmuff is closing.")))
            return None

    def _link(self, bridge_id: str) -> _Link:
        with self._lock:
            link = self._links.get(bridge_id)
        if link is None:
            raise BridgeFailed("That bridge is not paired with this computer.", f"unknown bridge {bridge_id}")
        return link

    def _call(self, link: _Link, action: Callable[[BridgeSession], Any]) -> Any:
        """Run `action` on the link's command session; a refused certificate or token changes the status."""
        try:
            return action(self._command_session(link))
        except (CertificateChanged, NotAuthorized, TokenUnavailable) as error:
            self._close_session(link)
            self._stop_stream(link)
            self._disconnected(link, error, None)
            raise

    def probe(self, address: str, callback: Callback) -> Future | None:
        """Find the bridge at `address` ('host', 'host:port'): Outcome(BridgeProbe)."""
        def work() -> BridgeProbe:
            host, port = pairing_module.parse_address(address)
            return pairing_module.probe(host, port)

        return self._run(work, callback)

    def pair(self, found: BridgeProbe, code: str, callback: Callback | None = None, *,
             persist: bool = True) -> Future | None:
        """Pair with a probed bridge: Outcome(PairedBridge). The token goes to the secret store.

        `persist=False` keeps the bridge out of the database (the demo's bridge).
        """
        return self._run(lambda: self.pair_now(found, code, persist=persist), callback)

    def pair_known(self, host: str, port: int, code: str, fingerprint: str, *, persist: bool = True,
                   callback: Callback | None = None) -> Future | None:
        """Pair with a bridge whose fingerprint and code are already known (the demo's, from its output).

        The certificate must match `fingerprint`, so nothing is taken on trust.
        """
        def work() -> PairedBridge:
            found = pairing_module.probe(host, port)
            if found.fingerprint != normalise_fingerprint(fingerprint):
                raise CertificateChanged(found.fingerprint, "the bridge's certificate is not the one it announced")
            return self.pair_now(found, code, persist=persist)

        return self._run(work, callback)

    def pair_now(self, found: BridgeProbe, code: str, *, persist: bool = True) -> PairedBridge:
        """`pair`, blocking on the calling thread (not the GUI's)."""
        result: Pairing = pairing_module.pair(found, code, self.client_name)
        try:
            self.secrets.set_token(result.bridge_id, result.token)
        except SecretStoreUnavailable:
            self._revoke_quietly(found, result)
            raise
        record = PairedBridge(
            bridge_id=result.bridge_id, name=found.info.name, host=found.host, port=found.port,
            fingerprint=found.fingerprint, token_id=result.token_id, paired_at=self._clock(),
        )
        link = _Link(record, persist=persist)
        link.token = result.token
        link.status = replace(link.status, time_zone=found.info.time_zone)
        with self._lock:
            if self._closed:
                raise BridgeFailed("Earmuff is closing.")
            old = self._links.get(record.bridge_id)
            self._links[record.bridge_id] = link
            started = self._started
        if old is not None:
            self._stop_stream(old)
            self._close_session(old)
        if persist and self._store is not None:
            self._submit_store(lambda repo: repo.save(record))
        log.info("paired with bridge %s (%s) at %s:%d", record.name, record.bridge_id, record.host, record.port)
        if started:
            self._start_stream(link)
        else:
            self._notify("bridge_updated", link.status)
        return record

    def _revoke_quietly(self, found: BridgeProbe, result: Pairing) -> None:
        if result.token_id is None:
            return
        try:
            with BridgeSession(found.host, found.port, found.fingerprint, result.token) as session:
                session.revoke_token(result.token_id)
        except BridgeError as error:
            log.warning("could not hand back the unused token to %s: %s", found.host, error)

    def forget(self, bridge_id: str, callback: Callback | None = None) -> Future | None:
        """Revoke our token on the bridge (if it answers), delete it from the keyring, drop the bridge:
        Outcome(ForgetResult)."""
        return self._run(lambda: self._forget(bridge_id), callback)

    def _forget(self, bridge_id: str) -> ForgetResult:
        link = self._link(bridge_id)
        self._stop_stream(link)
        notes: list[str] = []
        revoked = False
        if link.record.token_id is not None and link.status.connection not in (
                Connection.CERTIFICATE_CHANGED, Connection.NOT_AUTHORIZED):
            try:
                self._command_session(link).revoke_token(link.record.token_id)
                revoked = True
            except (BridgeError, SecretStoreUnavailable) as error:
                message = getattr(error, "user_message", str(error))
                notes.append(f"The bridge could not be told to forget this computer ({message}). "
                             "You can remove it there with its token list.")
        self._close_session(link)
        try:
            self.secrets.delete_token(bridge_id)
        except SecretStoreUnavailable as error:
            notes.append(f"The key could not be removed from the keyring: {error.user_message}")
        with self._lock:
            if self._links.get(bridge_id) is link:
                del self._links[bridge_id]
        if link.persist:
            self._submit_store(lambda repo: repo.delete(bridge_id))
        self._notify("bridge_removed", bridge_id)
        return ForgetResult(bridge_id=bridge_id, revoked=revoked, notes=tuple(notes))

    def retry(self, bridge_id: str) -> None:
        """Try to connect now: skip the backoff wait, or start again after a fatal error."""
        with self._lock:
            link = self._links.get(bridge_id)
            if link is None or not self._started:
                return
            stream = link.stream
        if stream is not None and stream.running:
            stream.retry_now()
            return
        self._stop_stream(link)
        self._start_stream(link)

    def address_seen(self, bridge_id: str, host: str, port: int) -> bool:
        """Discovery saw a paired bridge at host:port; follow it if it moved. True if the address changed."""
        with self._lock:
            link = self._links.get(bridge_id)
            if link is None or (link.record.host, link.record.port) == (host, port) or link.status.online:
                return False
            link.record = replace(link.record, host=host, port=port)
            link.status = replace(link.status, host=host, port=port)
            record = link.record
        self._close_session(link)
        if link.persist:
            self._submit_store(lambda repo: repo.save(record))
        log.info("bridge %s moved to %s:%d", bridge_id, host, port)
        self.retry(bridge_id)
        return True

    # -- mute -------------------------------------------------------------------------------------------
    def set_mute(self, bridge_id: str, speaker_id: str, muted: bool, *, reason: str = "",
                 duration_s: float | None = None, callback: Callback | None = None) -> Future | None:
        """Mute or unmute one speaker (for `duration_s` seconds if given): Outcome(SpeakerState)."""
        action = ("mute" if muted else "unmute") if duration_s is None else "mute for a while"

        def work() -> SpeakerState:
            link = self._link(bridge_id)
            state = self._call(link, lambda s: s.set_mute(speaker_id, muted, reason=reason,
                                                           duration_s=duration_s))
            self._apply_state(link, state)
            return state

        def failed(error: BaseException) -> None:
            self._notify("command_failed", CommandFailure(
                bridge_id=bridge_id, speaker_id=speaker_id, action=action,
                message=getattr(error, "user_message", str(error)), error=error))

        return self._run(work, callback, failed)

    def mute_for(self, bridge_id: str, speaker_id: str, seconds: float, *, reason: str = "",
                 callback: Callback | None = None) -> Future | None:
        return self.set_mute(bridge_id, speaker_id, True, reason=reason, duration_s=seconds, callback=callback)

    def set_mute_all(self, muted: bool, *, reason: str = "") -> int:
        """Mute (or unmute) every speaker of every online bridge. Returns how many commands were sent."""
        with self._lock:
            targets = [(link.record.bridge_id, speaker.speaker_id) for link in self._links.values()
                       if link.status.online for speaker in link.status.speakers]
        for bridge_id, speaker_id in targets:
            self.set_mute(bridge_id, speaker_id, muted, reason=reason)
        return len(targets)

    # -- schedules ------------------------------------------------------------------------------------
    def schedules(self, bridge_id: str, callback: Callback) -> Future | None:
        """Outcome(list[Schedule])."""
        return self._run(lambda: self._call(self._link(bridge_id), lambda s: s.schedules()), callback)

    def save_schedule(self, bridge_id: str, fields: Mapping[str, Any], callback: Callback,
                      schedule_id: int | None = None) -> Future | None:
        """Create (schedule_id None) or replace a schedule: Outcome(Schedule); a refusal carries the bridge's reason."""
        def work() -> Schedule:
            link = self._link(bridge_id)
            if schedule_id is None:
                return self._call(link, lambda s: s.add_schedule(fields))
            return self._call(link, lambda s: s.update_schedule(schedule_id, fields))

        return self._run(work, callback)

    def delete_schedule(self, bridge_id: str, schedule_id: int, callback: Callback) -> Future | None:
        return self._run(lambda: self._call(self._link(bridge_id), lambda s: s.delete_schedule(schedule_id)), callback)

    # -- history ----------------------------------------------------------------------------------------
    def traffic_history(self, bridge_id: str, speaker_id: str, start: float, end: float,
                        callback: Callback) -> Future | None:
        """Outcome(dict): the speaker's 1-second history (see BridgeSession.traffic)."""
        return self._run(lambda: self._call(self._link(bridge_id), lambda s: s.traffic(speaker_id, start, end)),
                         callback)

    def activations(self, bridge_id: str, start: float | None, end: float | None,
                    callback: Callback) -> Future | None:
        """Outcome(list[dict]): the bridge's activation records overlapping [start, end]."""
        return self._run(lambda: self._call(self._link(bridge_id), lambda s: s.activations(start, end)), callback)

    # -- destinations and blocks -----------------------------------------------------------------------
    def destinations(self, bridge_id: str, speaker_id: str, callback: Callback, *, start: float | None = None,
                     end: float | None = None) -> Future | None:
        """Outcome(list[Destination]): where the speaker sent data (all kept, or in [start, end))."""
        return self._on_bridge(bridge_id, lambda s: s.destinations(speaker_id, start, end), callback)

    def destination_history(self, bridge_id: str, speaker_id: str, start: float, end: float,
                            callback: Callback) -> Future | None:
        """Outcome(DestinationHistory): the speaker's bytes per organisation over time."""
        return self._on_bridge(bridge_id, lambda s: s.destination_history(speaker_id, start, end), callback)

    def activation_destinations(self, bridge_id: str, activation_id: int, callback: Callback) -> Future | None:
        """Outcome(ActivationDestinations): which destinations received one activation's bytes."""
        return self._on_bridge(bridge_id, lambda s: s.activation_destinations(activation_id), callback)

    def blocks(self, bridge_id: str, speaker_id: str, callback: Callback) -> Future | None:
        """Outcome(list[Block]): the speaker's destination blocks with their drop counts."""
        return self._on_bridge(bridge_id, lambda s: s.blocks(speaker_id), callback)

    def add_block(self, bridge_id: str, speaker_id: str, kind: str, value: str,
                  callback: Callback | None = None) -> Future | None:
        """Outcome(Block): block a name, an organisation or a preset for one speaker."""
        return self._on_bridge(bridge_id, lambda s: s.add_block(speaker_id, kind, value), callback)

    def remove_block(self, bridge_id: str, speaker_id: str, block_id: int,
                     callback: Callback | None = None) -> Future | None:
        """Outcome(None): undo a block."""
        return self._on_bridge(bridge_id, lambda s: s.remove_block(speaker_id, block_id), callback)

    def block_presets(self, bridge_id: str, callback: Callback) -> Future | None:
        """Outcome(list[BlockPreset]): the bridge's one-click telemetry blocks, with their sources."""
        return self._on_bridge(bridge_id, lambda s: s.block_presets(), callback)

    # -- voice deletions ---------------------------------------------------------------------------------
    def deletion_capabilities(self, bridge_id: str, callback: Callback) -> Future | None:
        """Outcome(DeletionCapabilities): whether the bridge can speak phrases, and which it offers."""
        return self._on_bridge(bridge_id, lambda s: _read(DeletionCapabilities.from_bridge, s.deletion_capabilities(),
                                                          s), callback)

    def deletion_schedules(self, bridge_id: str, callback: Callback) -> Future | None:
        """Outcome(list[VoiceSchedule])."""
        def action(session: BridgeSession) -> list[VoiceSchedule]:
            return [_read(lambda d: VoiceSchedule.from_bridge(bridge_id, d), item, session)
                    for item in session.deletion_schedules()]

        return self._on_bridge(bridge_id, action, callback)

    def save_deletion_schedule(self, bridge_id: str, fields: Mapping[str, Any], callback: Callback | None,
                               schedule_id: int | None = None) -> Future | None:
        """Create (schedule_id None) or change a deletion schedule: Outcome(VoiceSchedule). `fields`: all of
        app.deletions.voice.schedule_fields(...) to create; any of them to change. A refusal (RequestRejected)
        carries the bridge's reason in plain words."""
        def action(session: BridgeSession) -> VoiceSchedule:
            if schedule_id is None:
                data = session.add_deletion_schedule(fields)
            else:
                data = session.update_deletion_schedule(schedule_id, fields)
            return _read(lambda d: VoiceSchedule.from_bridge(bridge_id, d), data, session)

        return self._on_bridge(bridge_id, action, callback)

    def delete_deletion_schedule(self, bridge_id: str, schedule_id: int, callback: Callback | None) -> Future | None:
        """Outcome(None)."""
        return self._on_bridge(bridge_id, lambda s: s.delete_deletion_schedule(schedule_id), callback)

    def run_deletion(self, bridge_id: str, fields: Mapping[str, Any], callback: Callback | None) -> Future | None:
        """Start a voice deletion now (app.deletions.voice.run_fields(...)): Outcome(VoiceRun) as it began; its
        progress and outcome arrive as listeners' `deletion_run`. RequestRejected 409: one is in progress."""
        return self._on_bridge(bridge_id, lambda s: _read(lambda d: VoiceRun.from_bridge(bridge_id, d),
                                                          s.run_deletion(fields), s), callback)

    def deletion_runs(self, bridge_id: str, callback: Callback, *, after_id: int = 0,
                      limit: int = RUN_SYNC_PAGE) -> Future | None:
        """Outcome(list[VoiceRun]): the bridge's runs with an id above `after_id`, oldest first."""
        def action(session: BridgeSession) -> list[VoiceRun]:
            return [_read(lambda d: VoiceRun.from_bridge(bridge_id, d), item, session)
                    for item in session.deletion_runs(after_id, limit)]

        return self._on_bridge(bridge_id, action, callback)

    def _on_bridge(self, bridge_id: str, action: Callable[[BridgeSession], Any],
                   callback: Callback | None) -> Future | None:
        return self._run(lambda: self._call(self._link(bridge_id), action), callback)


def _read(build: Callable[[Any], Any], data: Any, session: BridgeSession) -> Any:
    """`build(data)`, with a record Earmuff cannot read reported as the bridge's failure."""
    try:
        return build(data)
    except (ValueError, TypeError, KeyError) as error:
        raise BridgeFailed(f"The bridge at {session.where} sent an answer Earmuff does not understand ({error}).",
                           str(error)) from error


class _WrongBridge(BridgeUnreachable):
    fatal = True


class _LinkHandler:
    """The StreamHandler of one link: hands the stream's news to the manager."""

    def __init__(self, manager: BridgeManager, link: _Link) -> None:
        self._manager = manager
        self._link = link

    def _current(self) -> bool:
        """False once the link was forgotten or replaced by a new pairing: its late news is dropped."""
        return self._manager._is_current(self._link)

    def connected(self, session: BridgeSession) -> None:
        if self._current():
            self._manager._connected(self._link, session)

    def event(self, event: StreamEvent) -> None:
        if self._current():
            self._manager._event(self._link, event)

    def heartbeat(self, event: StreamEvent) -> None:
        if self._current():
            self._manager._heartbeat(self._link)

    def sample(self, record: dict) -> None:
        if self._current():
            self._manager._sample(self._link, record)

    def disconnected(self, error: BridgeError, retry_in: float | None) -> None:
        if self._current():
            self._manager._disconnected(self._link, error, retry_in)
