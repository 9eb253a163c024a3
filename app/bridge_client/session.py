"""HTTPS to one bridge with its certificate pinned, and the /v1 calls made over it.

The bridge's certificate is self-signed, so there is no CA to trust: the
session accepts exactly the certificate whose sha256 fingerprint was pinned at
pairing (urllib3's `assert_fingerprint`), and nothing else. `trust_env` is off
so that proxies and CA bundles from the environment cannot undo that.
Every request has a timeout; errors become `app.bridge_client.errors` types.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from app.bridge_client.errors import (
    BridgeError,
    BridgeFailed,
    BridgeUnreachable,
    CertificateChanged,
    NotAuthorized,
    RequestRejected,
)
from app.bridge_client.destinations import (
    ActivationDestinations,
    Block,
    BlockPreset,
    Destination,
    DestinationHistory,
)
from app.bridge_client.models import BridgeInfo, Schedule, SpeakerState, base_url

log = logging.getLogger(__name__)

#: (connect, read) seconds for ordinary requests.
REQUEST_TIMEOUT = (3.0, 5.0)
USER_AGENT = "Earmuff desktop"


def normalise_fingerprint(fingerprint: str) -> str:
    """Lowercase hex without separators; raises ValueError unless it is a sha256."""
    cleaned = fingerprint.replace(":", "").replace(" ", "").strip().lower()
    if len(cleaned) != 64 or any(c not in "0123456789abcdef" for c in cleaned):
        raise ValueError(f"not a sha256 fingerprint: {fingerprint!r}")
    return cleaned


def group_fingerprint(fingerprint: str) -> str:
    """'AB:CD:...' as the bridge prints it, for a person to compare."""
    cleaned = fingerprint.replace(":", "").upper()
    return ":".join(cleaned[i:i + 2] for i in range(0, len(cleaned), 2))


class PinnedAdapter(HTTPAdapter):
    """An HTTPAdapter whose connections accept only the certificate with this sha256 fingerprint."""

    def __init__(self, fingerprint: str, **kwargs: Any) -> None:
        self.fingerprint = normalise_fingerprint(fingerprint)
        super().__init__(**kwargs)

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        pool_kwargs["assert_fingerprint"] = self.fingerprint
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)

    def cert_verify(self, conn, url, verify, cert):
        # No CA checks and no host name checks: the pin is stronger than both for a self-signed
        # certificate, and the bridge may be reached by an address its certificate does not name.
        super().cert_verify(conn, url, False, cert)


def pinned_session(fingerprint: str, *, pool_size: int = 4) -> requests.Session:
    """A requests.Session that talks HTTPS only, to a server with this certificate only."""
    session = requests.Session()
    session.trust_env = False
    session.verify = False  # replaced by the pin; see PinnedAdapter
    session.headers["User-Agent"] = USER_AGENT
    session.mount("https://", PinnedAdapter(fingerprint, pool_connections=1, pool_maxsize=pool_size, max_retries=0))
    session.mount("http://", _Refuse())
    return session


class _Refuse(HTTPAdapter):
    def send(self, request, **kwargs):
        raise requests.exceptions.InvalidURL("plain HTTP is never used with a bridge")


def translate(error: BaseException, *, where: str, fingerprint: str) -> BridgeError:
    """The BridgeError for a requests/urllib3/OS error raised while talking to `where`."""
    if isinstance(error, BridgeError):
        return error
    text = str(error)
    if isinstance(error, requests.exceptions.SSLError):
        if "Fingerprints did not match" in text:
            return CertificateChanged(fingerprint, text)
        return BridgeUnreachable(
            f"The secure connection to the bridge at {where} failed. It may be restarting; "
            "Earmuff will try again.", text)
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return BridgeUnreachable(
            f"The bridge at {where} does not answer. Check that it is powered and on the same network.", text)
    if isinstance(error, requests.exceptions.ReadTimeout):
        return BridgeUnreachable(f"The bridge at {where} stopped answering.", text)
    if isinstance(error, (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError, OSError)):
        if "Fingerprints did not match" in text:
            return CertificateChanged(fingerprint, text)
        return BridgeUnreachable(
            f"Cannot reach the bridge at {where}. Check that it is powered and on the same network.", text)
    if isinstance(error, requests.exceptions.RequestException):
        return BridgeUnreachable(f"Talking to the bridge at {where} failed: {text}", text)
    if isinstance(error, ValueError):
        return BridgeFailed(f"The bridge at {where} sent an answer Earmuff does not understand.", text)
    raise error


def detail_of(response: requests.Response) -> str:
    """The bridge's explanation from an error response (FastAPI's "detail", plain or a validation list)."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason or f"HTTP {response.status_code}"
    detail = body.get("detail") if isinstance(body, dict) else body
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                loc = [str(x) for x in item.get("loc", ()) if x != "body"]
                message = str(item.get("msg", "")).removeprefix("Value error, ")
                parts.append(f"{'.'.join(loc)}: {message}" if loc else message)
            else:
                parts.append(str(item))
        return "; ".join(parts)
    return json.dumps(detail)


class BridgeSession:
    """The bridge's /v1 API over a pinned session. Blocking: call it off the GUI thread.

    Thread-safe enough for a small worker pool (requests' connection pool is);
    `close()` ends its connections.

    Attributes:
        url: https://host:port of the bridge.
        fingerprint: the pinned certificate fingerprint.
    """

    def __init__(self, host: str, port: int, fingerprint: str, token: str | None = None, *,
                 timeout: tuple[float, float] = REQUEST_TIMEOUT) -> None:
        self.host = host
        self.port = port
        self.url = base_url(host, port)
        self.fingerprint = normalise_fingerprint(fingerprint)
        self.timeout = timeout
        self._token = token
        self._session = pinned_session(self.fingerprint)

    @property
    def where(self) -> str:
        return self.url.removeprefix("https://")

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> BridgeSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ------------------------------------------------------------------------------
    def request(self, method: str, path: str, *, json_body: Any = None, params: Mapping[str, Any] | None = None,
                auth: bool = True, stream: bool = False, timeout: tuple[float, float] | None = None,
                headers: Mapping[str, str] | None = None) -> requests.Response:
        """Send one request; return the response if 2xx, else raise a BridgeError."""
        all_headers = dict(headers or {})
        if auth:
            if not self._token:
                raise NotAuthorized("no token")
            all_headers["Authorization"] = f"Bearer {self._token}"
        try:
            response = self._session.request(
                method, self.url + path, json=json_body, params=params, headers=all_headers,
                timeout=timeout or self.timeout, stream=stream, allow_redirects=False,
            )
        except Exception as error:  # noqa: BLE001 - translate() re-raises what it does not know
            raise translate(error, where=self.where, fingerprint=self.fingerprint) from error
        if response.status_code < 300:
            return response
        try:
            raise self._error_for(response)
        finally:
            response.close()

    def _error_for(self, response: requests.Response) -> BridgeError:
        detail = detail_of(response)
        if response.status_code == 401 and "WWW-Authenticate" in response.headers:
            return NotAuthorized(detail)
        if response.status_code == 503:
            return BridgeUnreachable(f"The bridge at {self.where} is busy or restarting; Earmuff will try again.",
                                     detail)
        if 400 <= response.status_code < 500:
            return RequestRejected(response.status_code, detail, retry_after=_retry_after(response))
        return BridgeFailed(f"The bridge had a problem ({response.status_code}): {detail}", detail)

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError as error:
            raise translate(error, where=self.where, fingerprint=self.fingerprint) from error

    # -- the API -----------------------------------------------------------------------------------
    def info(self) -> BridgeInfo:
        return self._parse(BridgeInfo.from_json, self._json("GET", "/v1/info", auth=False))

    def speakers(self) -> list[SpeakerState]:
        data = self._json("GET", "/v1/speakers")
        if not isinstance(data, list):
            raise BridgeFailed("The bridge sent a speaker list Earmuff does not understand.")
        return [self._parse(SpeakerState.from_json, item) for item in data]

    def set_mute(self, speaker_id: str, muted: bool, *, reason: str = "", requested_by: str | None = None,
                 duration_s: float | None = None) -> SpeakerState:
        body = {"muted": muted, "reason": reason, "requested_by": requested_by, "duration_s": duration_s}
        data = self._json("PUT", f"/v1/speakers/{_segment(speaker_id)}/mute", json_body=body)
        return self._parse(SpeakerState.from_json, data)

    def schedules(self) -> list[Schedule]:
        data = self._json("GET", "/v1/schedules")
        if not isinstance(data, list):
            raise BridgeFailed("The bridge sent a schedule list Earmuff does not understand.")
        return [self._parse(Schedule.from_json, item) for item in data]

    def add_schedule(self, fields: Mapping[str, Any]) -> Schedule:
        return self._parse(Schedule.from_json, self._json("POST", "/v1/schedules", json_body=dict(fields)))

    def update_schedule(self, schedule_id: int, fields: Mapping[str, Any]) -> Schedule:
        data = self._json("PUT", f"/v1/schedules/{int(schedule_id)}", json_body=dict(fields))
        return self._parse(Schedule.from_json, data)

    def delete_schedule(self, schedule_id: int) -> None:
        self.request("DELETE", f"/v1/schedules/{int(schedule_id)}").close()

    def activations(self, start: float | None = None, end: float | None = None, *, limit: int = 10000) -> list[dict]:
        """The bridge's activations overlapping [start, end], oldest first (raw records; see app.activations)."""
        params: dict[str, Any] = {"limit": int(limit)}
        if start is not None:
            params["from"] = float(start)
        if end is not None:
            params["to"] = float(end)
        data = self._json("GET", "/v1/activations", params=params)
        if not isinstance(data, list):
            raise BridgeFailed("The bridge sent an activation list Earmuff does not understand.")
        return [item for item in data if isinstance(item, dict)]

    def traffic(self, speaker_id: str, start: float, end: float) -> dict:
        """A speaker's 1-second history: {"t0", "step", "up", "down"[, "level", "speech"]} with None gaps."""
        data = self._json("GET", f"/v1/speakers/{_segment(speaker_id)}/traffic",
                          params={"from": float(start), "to": float(end)})
        if not isinstance(data, dict) or not isinstance(data.get("up"), list):
            raise BridgeFailed("The bridge sent a traffic history Earmuff does not understand.")
        return data

    # -- destinations and blocks (a bridge without [destinations] answers RequestRejected 404) -------------
    def destinations(self, speaker_id: str, start: float | None = None, end: float | None = None) -> list[Destination]:
        """Where the speaker sent data, busiest first: all kept, or the bytes in [start, end)."""
        params = {k: float(v) for k, v in (("from", start), ("to", end)) if v is not None}
        data = self._json("GET", f"/v1/speakers/{_segment(speaker_id)}/destinations", params=params)
        return self._list(data, Destination.from_json, "destination list")

    def destination_history(self, speaker_id: str, start: float, end: float) -> DestinationHistory:
        """The speaker's bytes per organisation in minute or hour steps."""
        data = self._json("GET", f"/v1/speakers/{_segment(speaker_id)}/destinations/history",
                          params={"from": float(start), "to": float(end)})
        return self._parse(DestinationHistory.from_json, data)

    def activation_destinations(self, activation_id: int) -> ActivationDestinations:
        data = self._json("GET", f"/v1/activations/{int(activation_id)}/destinations")
        return self._parse(ActivationDestinations.from_json, data)

    def blocks(self, speaker_id: str) -> list[Block]:
        data = self._json("GET", f"/v1/speakers/{_segment(speaker_id)}/blocks")
        return self._list(data, Block.from_json, "block list")

    def add_block(self, speaker_id: str, kind: str, value: str) -> Block:
        """Block a name ("name"), an organisation ("organisation") or a preset's names ("preset", its id)."""
        data = self._json("POST", f"/v1/speakers/{_segment(speaker_id)}/blocks",
                          json_body={"kind": kind, "value": value})
        return self._parse(Block.from_json, data)

    def remove_block(self, speaker_id: str, block_id: int) -> None:
        self.request("DELETE", f"/v1/speakers/{_segment(speaker_id)}/blocks/{int(block_id)}").close()

    def block_presets(self) -> list[BlockPreset]:
        return self._list(self._json("GET", "/v1/destinations/presets"), BlockPreset.from_json, "preset list")

    def _list(self, data: Any, build, what: str) -> list:
        if not isinstance(data, list):
            raise BridgeFailed(f"The bridge sent a {what} Earmuff does not understand.")
        return [self._parse(build, item) for item in data]

    # -- voice deletions (raw JSON; app.deletions.voice reads it; a bridge without them answers 404) ----------
    def deletion_capabilities(self) -> dict:
        """GET /v1/deletions/capabilities: {"tts", "tts_detail", "player", "player_detail", "phrases",
        "recordings"} (app.deletions.voice.DeletionCapabilities.from_bridge reads it)."""
        return self._object(self._json("GET", "/v1/deletions/capabilities"),
                            "description of its voice deletion abilities")

    def deletion_schedules(self) -> list[dict]:
        """The bridge's deletion schedules (VoiceSchedule.from_bridge reads each)."""
        return self._objects(self._json("GET", "/v1/deletions/schedules"), "list of deletion schedules")

    def add_deletion_schedule(self, fields: Mapping[str, Any]) -> dict:
        """Create a schedule from app.deletions.voice.schedule_fields(...); returns it as the bridge stored it.
        A refusal (RequestRejected 422) carries the bridge's reason in plain words."""
        data = self._json("POST", "/v1/deletions/schedules", json_body=dict(fields))
        return self._object(data, "deletion schedule")

    def update_deletion_schedule(self, schedule_id: int, fields: Mapping[str, Any]) -> dict:
        """Change some of a schedule's fields (PATCH: phrase, audio, recording, rrule, dtstart, prerequisite,
        enabled, label)."""
        data = self._json("PATCH", f"/v1/deletions/schedules/{int(schedule_id)}", json_body=dict(fields))
        return self._object(data, "deletion schedule")

    def delete_deletion_schedule(self, schedule_id: int) -> None:
        self.request("DELETE", f"/v1/deletions/schedules/{int(schedule_id)}").close()

    def run_deletion(self, fields: Mapping[str, Any]) -> dict:
        """Start a deletion now (app.deletions.voice.run_fields(...)); returns the run as it began (409 when the
        speaker has one in progress)."""
        return self._object(self._json("POST", "/v1/deletions/run", json_body=dict(fields)), "deletion run")

    def deletion_runs(self, after_id: int = 0, limit: int = 500) -> list[dict]:
        """Runs with an id above `after_id`, oldest first (VoiceRun.from_bridge reads each)."""
        data = self._json("GET", "/v1/deletions/runs", params={"after_id": int(after_id), "limit": int(limit)})
        return self._objects(data, "list of deletion runs")

    def _object(self, data: Any, what: str) -> dict:
        if not isinstance(data, dict):
            raise BridgeFailed(f"The bridge sent a {what} Earmuff does not understand.")
        return data

    def _objects(self, data: Any, what: str) -> list[dict]:
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise BridgeFailed(f"The bridge sent a {what} Earmuff does not understand.")
        return data

    def tokens(self) -> list[dict]:
        data = self._json("GET", "/v1/tokens")
        return data if isinstance(data, list) else []

    def revoke_token(self, token_id: int) -> None:
        self.request("DELETE", f"/v1/tokens/{int(token_id)}").close()

    def _parse(self, build, data: Any):
        try:
            return build(data)
        except (ValueError, TypeError, KeyError) as error:
            raise BridgeFailed(
                f"The bridge at {self.where} sent an answer Earmuff does not understand ({error}).", str(error)
            ) from error


def _retry_after(response: requests.Response) -> float | None:
    try:
        body = response.json()
    except ValueError:
        body = None
    value = body.get("retry_after") if isinstance(body, dict) else None
    if value is None:
        value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _segment(value: str) -> str:
    return requests.utils.quote(value, safe="")
