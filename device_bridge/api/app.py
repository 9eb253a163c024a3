"""The bridge's HTTP API, version 1 (FastAPI). Served over TLS only, by device_bridge.service.

Two routers: `public` (info, pairing) and `protected`, whose router-level dependency demands a bearer token
for every route on it. Errors are JSON `{"detail": "<plain message>"}`; validation errors (422) add the
machine-readable list as "errors".
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from device_bridge.api import schemas
from device_bridge.api.auth import Authenticator, TokenInfo
from device_bridge.api.identity import BridgeIdentity
from device_bridge.api.pairing import PairingError, PairingLocked, PairingManager
from device_bridge.api.stream import HEARTBEAT_S, StreamHub, TooManyStreams
from device_bridge.deletion.runner import RunInProgress
from device_bridge.microphone import mic_history
from device_bridge.traffic.monitor import MAX_HISTORY_RANGE_S, activation_record, traffic_history
from device_bridge.traffic.nft import NftError

API_VERSION = 1
_bearer = HTTPBearer(auto_error=False, description="the token from POST /v1/pair")


@dataclass(frozen=True)
class _Context:
    engine: Any
    store: Any
    identity: BridgeIdentity
    pairing: PairingManager
    auth: Authenticator
    streams: StreamHub
    speakers: dict[str, Any]  # speaker id -> SpeakerConfig
    monitor: Any  # the engine's TrafficMonitor, or None when traffic is not measured
    microphone: Any  # the RoomMicrophone, or None without one
    destinations: Any  # the DestinationTracker, or None when destinations are not tracked
    deletions: Any  # the DeletionRunner, or None when this bridge runs no voice deletions
    clock: Callable[[], float]


def _ctx(request: Request) -> _Context:
    return request.app.state.bridge


def require_token(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> TokenInfo:
    """The caller's token record; 401 with `WWW-Authenticate: Bearer` without a valid one."""
    if credentials is None:
        raise HTTPException(401, "this needs a bearer token: pair first (POST /v1/pair)",
                            headers={"WWW-Authenticate": "Bearer"})
    info = _ctx(request).auth.check(credentials.credentials)
    if info is None:
        raise HTTPException(401, "unknown or revoked token: pair again",
                            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return info


Ctx = Annotated[_Context, Depends(_ctx)]
Token = Annotated[TokenInfo, Depends(require_token)]
_PROBLEM = {"model": schemas.Problem}

public = APIRouter(prefix="/v1", tags=["pairing"])
protected = APIRouter(
    prefix="/v1", dependencies=[Depends(require_token)], responses={401: {**_PROBLEM, "description": "no valid token"}}
)


# --- public ----------------------------------------------------------------------------------------

@public.get("/info", response_model=schemas.Info, summary="Who this bridge is (no token needed)")
def get_info(ctx: Ctx) -> dict[str, Any]:
    identity = ctx.identity
    return {
        "bridge_id": identity.bridge_id,
        "name": identity.name,
        "version": identity.version,
        "api": API_VERSION,
        "fingerprint": identity.fingerprint,
        "pairing": ctx.pairing.mode,
        "time_zone": identity.time_zone,
    }


@public.post(
    "/pair",
    response_model=schemas.PairResponse,
    summary="Trade the pairing code for a token",
    responses={401: _PROBLEM, 403: _PROBLEM, 429: {"model": schemas.Locked}},
)
def pair(body: schemas.PairRequest, ctx: Ctx) -> dict[str, Any]:
    paired = ctx.pairing.pair(body.code, body.client_name.strip() or "unnamed client")
    return {"token": paired.token, "token_id": paired.token_id, "bridge_id": ctx.identity.bridge_id}


# --- tokens ----------------------------------------------------------------------------------------

@protected.get("/tokens", response_model=list[schemas.TokenOut], tags=["tokens"], summary="Paired clients")
def list_tokens(ctx: Ctx) -> list[dict[str, Any]]:
    return [dataclasses.asdict(info) for info in ctx.auth.tokens()]


@protected.delete("/tokens/{token_id}", status_code=204, tags=["tokens"], summary="Unpair a client",
                  responses={404: _PROBLEM})
def revoke_token(token_id: int, ctx: Ctx) -> Response:
    if not ctx.auth.revoke(token_id):
        raise HTTPException(404, f"no token {token_id}")
    ctx.streams.end_streams_of(token_id)
    return Response(status_code=204)


# --- speakers and mute -----------------------------------------------------------------------------

def _speaker(ctx: _Context, state: Any) -> dict[str, Any]:
    config = ctx.speakers.get(state.speaker_id)
    return {
        **dataclasses.asdict(state),
        "name": config.name if config else state.speaker_id,
        "driver": config.driver if config else "relay",
        # The network driver's sense is the kernel's table: it can always tell.
        "has_sense": bool(config is not None and (config.sense_pin is not None or config.driver == "network")),
    }


def _state(ctx: _Context, speaker_id: str) -> Any:
    try:
        return ctx.engine.state(speaker_id)
    except KeyError:
        raise HTTPException(404, f"no speaker {speaker_id!r}") from None


@protected.get("/speakers", response_model=list[schemas.Speaker], tags=["mute"], summary="Speakers and their mute")
def list_speakers(ctx: Ctx) -> list[dict[str, Any]]:
    return [_speaker(ctx, state) for state in ctx.engine.speakers()]


@protected.get("/speakers/{speaker_id}", response_model=schemas.Speaker, tags=["mute"], responses={404: _PROBLEM})
def get_speaker(speaker_id: str, ctx: Ctx) -> dict[str, Any]:
    return _speaker(ctx, _state(ctx, speaker_id))


@protected.put(
    "/speakers/{speaker_id}/mute",
    response_model=schemas.Speaker,
    tags=["mute"],
    summary="Mute or unmute; with duration_s, mute for that long",
    description="Returns once the change is stored and on the pin.",
    responses={400: _PROBLEM, 404: _PROBLEM},
)
def put_mute(speaker_id: str, body: schemas.MuteRequest, ctx: Ctx, token: Token) -> dict[str, Any]:
    _state(ctx, speaker_id)  # 404 before anything else
    requested_by = token.client_name if body.requested_by is None else body.requested_by
    try:
        if body.duration_s is not None:
            if not body.muted:
                raise HTTPException(400, "duration_s only goes with muted=true (mute for a while)")
            ctx.engine.mute_for(speaker_id, body.duration_s, reason=body.reason, requested_by=requested_by)
            state = ctx.engine.state(speaker_id)
        else:
            state = ctx.engine.set_mute(
                speaker_id, body.muted, reason=body.reason, requested_by=requested_by, source="api"
            )
    except KeyError:
        raise HTTPException(404, f"no speaker {speaker_id!r}") from None
    except ValueError as err:
        raise HTTPException(400, str(err)) from None
    return _speaker(ctx, state)


# --- schedules -------------------------------------------------------------------------------------

def _schedule(schedule: Any) -> dict[str, Any]:
    return dataclasses.asdict(schedule)


@protected.get("/schedules", response_model=list[schemas.Schedule], tags=["schedules"])
def list_schedules(ctx: Ctx) -> list[dict[str, Any]]:
    return [_schedule(s) for s in ctx.engine.schedules()]


@protected.post("/schedules", response_model=schemas.Schedule, status_code=201, tags=["schedules"],
                responses={400: _PROBLEM})
def create_schedule(body: schemas.ScheduleCreate, ctx: Ctx) -> dict[str, Any]:
    try:
        return _schedule(ctx.engine.add_schedule(**body.model_dump(exclude_unset=True)))
    except (ValueError, KeyError) as err:
        raise HTTPException(400, _message(err)) from None


@protected.put("/schedules/{schedule_id}", response_model=schemas.Schedule, tags=["schedules"],
               summary="Change some or all fields", responses={400: _PROBLEM, 404: _PROBLEM})
def update_schedule(schedule_id: int, body: schemas.ScheduleUpdate, ctx: Ctx) -> dict[str, Any]:
    fields = body.model_dump(exclude_unset=True)
    if not fields:
        raise HTTPException(400, "nothing to change: send at least one field")
    _known_schedule(ctx, schedule_id)
    try:
        return _schedule(ctx.engine.update_schedule(schedule_id, **fields))
    except KeyError as err:
        raise HTTPException(404, _message(err)) from None
    except ValueError as err:
        raise HTTPException(400, str(err)) from None


@protected.delete("/schedules/{schedule_id}", status_code=204, tags=["schedules"], responses={404: _PROBLEM})
def delete_schedule(schedule_id: int, ctx: Ctx) -> Response:
    _known_schedule(ctx, schedule_id)
    try:
        ctx.engine.delete_schedule(schedule_id)
    except KeyError:
        raise HTTPException(404, f"no schedule {schedule_id}") from None
    return Response(status_code=204)


def _known_schedule(ctx: _Context, schedule_id: int) -> None:
    if not any(s.id == schedule_id for s in ctx.engine.schedules()):
        raise HTTPException(404, f"no schedule {schedule_id}")


def _message(err: Exception) -> str:
    # KeyError's str() is the repr of its argument; show the plain text.
    return str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)


# --- traffic and activations -----------------------------------------------------------------------

@protected.get(
    "/activations",
    response_model=list[schemas.Activation],
    tags=["traffic"],
    summary="Detected activations that overlap a time range, oldest first",
    responses={400: _PROBLEM, 404: _PROBLEM},
)
def list_activations(
    ctx: Ctx,
    from_: Annotated[float | None, Query(alias="from", allow_inf_nan=False,
                                         description="epoch seconds (default: no lower bound)")] = None,
    to: Annotated[float | None, Query(allow_inf_nan=False, description="epoch seconds (default: none)")] = None,
    speaker: Annotated[str | None, Query(max_length=32, description="only this speaker")] = None,
    flagged: Annotated[bool | None, Query(description="true: only flagged ones; false: only unflagged")] = None,
    limit: Annotated[int, Query(ge=1, le=10000, description="at most this many (the newest)")] = 1000,
) -> list[dict[str, Any]]:
    if from_ is not None and to is not None and to < from_:
        raise HTTPException(400, "'to' is before 'from'")
    if speaker is not None and speaker not in ctx.speakers:
        raise HTTPException(404, f"no speaker {speaker!r}")
    found = ctx.store.activations(from_, to, speaker_id=speaker, flagged=flagged, limit=limit)
    return [activation_record(a) for a in found]


@protected.get(
    "/speakers/{speaker_id}/traffic",
    response_model=schemas.TrafficHistory,
    tags=["traffic"],
    summary="A speaker's uplink and downlink, and the sound near it, in 1-second steps",
    description="Default range: the last hour. The bridge keeps 24 hours (traffic_history_hours). "
                "level and speech come from the bridge's room microphone when it is near the speaker.",
    responses={400: _PROBLEM, 404: _PROBLEM},
)
def get_traffic(
    speaker_id: str,
    ctx: Ctx,
    from_: Annotated[float | None, Query(alias="from", allow_inf_nan=False,
                                         description="epoch seconds (default: an hour before 'to')")] = None,
    to: Annotated[float | None, Query(allow_inf_nan=False, description="epoch seconds (default: now)")] = None,
) -> dict[str, Any]:
    _state(ctx, speaker_id)
    end = ctx.clock() if to is None else to
    start = end - 3600.0 if from_ is None else from_
    if end < start:
        raise HTTPException(400, "'to' is before 'from'")
    if end - start > MAX_HISTORY_RANGE_S:
        raise HTTPException(400, f"ask for at most {MAX_HISTORY_RANGE_S / 86400:.0f} days at a time")
    if ctx.monitor is not None:
        ctx.monitor.flush_history()
    history = traffic_history(ctx.store, speaker_id, start, end)
    return {**history, **mic_history(ctx.microphone, speaker_id, history["t0"], len(history["up"]))}


# --- destinations and blocks -----------------------------------------------------------------------

_NOT_TRACKED = ("this bridge does not track destinations: add a [destinations] section to its config "
                '(with traffic_source = "nftables")')


def _tracker(ctx: _Context, speaker_id: str | None = None) -> Any:
    """The DestinationTracker (404 without one), after checking the speaker (404 for an unknown one)."""
    if speaker_id is not None:
        _state(ctx, speaker_id)
    if ctx.destinations is None:
        raise HTTPException(404, _NOT_TRACKED)
    return ctx.destinations


def _range(from_: float | None, to: float | None) -> None:
    if from_ is not None and to is not None and to < from_:
        raise HTTPException(400, "'to' is before 'from'")


@protected.get(
    "/speakers/{speaker_id}/destinations",
    response_model=list[schemas.Destination],
    tags=["destinations"],
    summary="Where a speaker sent data: names, organisations, bytes up and down, first and last seen",
    description="Without from/to: everything kept (retention as for activations). With them: the bytes in "
                "that range (minute steps for the last traffic_history_hours, hour steps before).",
    responses={400: _PROBLEM, 404: _PROBLEM},
)
def list_destinations(
    speaker_id: str,
    ctx: Ctx,
    from_: Annotated[float | None, Query(alias="from", allow_inf_nan=False, description="epoch seconds")] = None,
    to: Annotated[float | None, Query(allow_inf_nan=False, description="epoch seconds")] = None,
) -> list[dict[str, Any]]:
    tracker = _tracker(ctx, speaker_id)
    _range(from_, to)
    return tracker.destinations(speaker_id, from_, to)


@protected.get(
    "/speakers/{speaker_id}/destinations/history",
    response_model=schemas.DestinationHistory,
    tags=["destinations"],
    summary="A speaker's bytes per organisation over time",
    description="Default range: the last 24 hours. Minute steps for ranges up to 6 hours within "
                "traffic_history_hours, hour steps otherwise.",
    responses={400: _PROBLEM, 404: _PROBLEM},
)
def destination_history(
    speaker_id: str,
    ctx: Ctx,
    from_: Annotated[float | None, Query(alias="from", allow_inf_nan=False, description="epoch seconds")] = None,
    to: Annotated[float | None, Query(allow_inf_nan=False, description="epoch seconds (default: now)")] = None,
) -> dict[str, Any]:
    tracker = _tracker(ctx, speaker_id)
    end = ctx.clock() if to is None else to
    start = end - 86400.0 if from_ is None else from_
    _range(start, end)
    try:
        return tracker.history(speaker_id, start, end)
    except ValueError as err:
        raise HTTPException(400, str(err)) from None


@protected.get(
    "/activations/{activation_id}/destinations",
    response_model=schemas.ActivationDestinations,
    tags=["destinations"],
    summary="Which destinations received an activation's bytes",
    responses={404: _PROBLEM},
)
def activation_destinations(activation_id: int, ctx: Ctx) -> dict[str, Any]:
    tracker = _tracker(ctx)
    if not ctx.store.query("SELECT 1 FROM activations WHERE id = ?", (activation_id,)):
        raise HTTPException(404, f"no activation {activation_id}")
    found = tracker.activation_destinations(activation_id)
    return {"activation_id": activation_id, "complete": found is not None, "destinations": found or []}


@protected.get("/speakers/{speaker_id}/blocks", response_model=list[schemas.Block], tags=["destinations"],
               summary="A speaker's destination blocks and what each dropped", responses={404: _PROBLEM})
def list_blocks(speaker_id: str, ctx: Ctx) -> list[dict[str, Any]]:
    return _tracker(ctx, speaker_id).blocks(speaker_id)


@protected.post(
    "/speakers/{speaker_id}/blocks",
    response_model=schemas.Block,
    status_code=201,
    tags=["destinations"],
    summary="Block a name, an organisation or a preset for one speaker",
    description="The bridge drops the speaker's packets to the covered names' addresses, which it keeps in step "
                "with the DNS answers and TLS server names it sees. It works at once for addresses already "
                "seen. Blocking works on addresses: other names at a blocked address stop too (also_affects).",
    responses={400: _PROBLEM, 404: _PROBLEM, 409: _PROBLEM, 503: _PROBLEM},
)
def create_block(speaker_id: str, body: schemas.BlockCreate, ctx: Ctx) -> dict[str, Any]:
    tracker = _tracker(ctx, speaker_id)
    if any(b["kind"] == body.kind and b["value"].lower() == body.value.strip().lower()
           for b in tracker.blocks(speaker_id)):
        raise HTTPException(409, f"{speaker_id} already has that block")
    try:
        return tracker.add_block(speaker_id, body.kind, body.value)
    except ValueError as err:
        raise HTTPException(400, str(err)) from None
    except NftError as err:
        raise HTTPException(503, f"the bridge could not set up the block: {err}") from None


@protected.delete("/speakers/{speaker_id}/blocks/{block_id}", status_code=204, tags=["destinations"],
                  summary="Undo a block", responses={404: _PROBLEM, 503: _PROBLEM})
def delete_block(speaker_id: str, block_id: int, ctx: Ctx) -> Response:
    tracker = _tracker(ctx, speaker_id)
    try:
        removed = tracker.remove_block(speaker_id, block_id)
    except NftError as err:
        raise HTTPException(503, f"the bridge could not remove the block: {err}") from None
    if not removed:
        raise HTTPException(404, f"{speaker_id} has no block {block_id}")
    return Response(status_code=204)


@protected.get("/destinations/presets", response_model=list[schemas.Preset], tags=["destinations"],
               summary="One-click blocks for documented telemetry endpoints, with their sources",
               responses={404: _PROBLEM})
def list_presets(ctx: Ctx) -> list[dict[str, Any]]:
    return [preset.to_json() for preset in _tracker(ctx).presets.values()]


# --- voice deletions -------------------------------------------------------------------------------

def _deletions(ctx: _Context) -> Any:
    if ctx.deletions is None:
        raise HTTPException(404, "this bridge does not run voice deletions")
    return ctx.deletions


@protected.get("/deletions/capabilities", response_model=schemas.DeletionCapabilities, tags=["deletions"],
               summary="Whether the bridge can speak and play deletion commands, and which phrases it knows",
               responses={404: _PROBLEM})
def deletion_capabilities(ctx: Ctx) -> dict[str, Any]:
    return _deletions(ctx).capabilities()


@protected.get("/deletions/schedules", response_model=list[schemas.DeletionSchedule], tags=["deletions"],
               summary="Scheduled voice deletions, with their next runs and last run", responses={404: _PROBLEM})
def list_deletion_schedules(ctx: Ctx) -> list[dict[str, Any]]:
    return _deletions(ctx).schedules()


@protected.post(
    "/deletions/schedules",
    response_model=schemas.DeletionSchedule,
    status_code=201,
    tags=["deletions"],
    summary="Schedule a voice deletion: a phrase said to a speaker by an RFC 5545 rule",
    description="rrule and dtstart are read in the bridge's time zone; a rule may run at most once an hour.",
    responses={404: _PROBLEM, 422: _PROBLEM},
)
def create_deletion_schedule(body: schemas.DeletionScheduleCreate, ctx: Ctx) -> dict[str, Any]:
    try:
        return _deletions(ctx).add_schedule(body.model_dump())
    except ValueError as err:
        raise HTTPException(422, str(err)) from None


@protected.patch(
    "/deletions/schedules/{schedule_id}",
    response_model=schemas.DeletionSchedule,
    tags=["deletions"],
    summary="Change some fields of a voice deletion schedule (not its speaker or vendor)",
    responses={404: _PROBLEM, 422: _PROBLEM},
)
def update_deletion_schedule(schedule_id: int, body: schemas.DeletionScheduleUpdate, ctx: Ctx) -> dict[str, Any]:
    runner = _deletions(ctx)
    fields = body.model_dump(exclude_unset=True)
    try:
        if not fields:
            return runner.schedule(schedule_id)
        return runner.update_schedule(schedule_id, fields)
    except KeyError:
        raise HTTPException(404, f"no voice deletion schedule {schedule_id}") from None
    except ValueError as err:
        raise HTTPException(422, str(err)) from None


@protected.delete("/deletions/schedules/{schedule_id}", status_code=204, tags=["deletions"],
                  summary="Remove a voice deletion schedule (its runs stay in the history)", responses={404: _PROBLEM})
def delete_deletion_schedule(schedule_id: int, ctx: Ctx) -> Response:
    try:
        _deletions(ctx).delete_schedule(schedule_id)
    except KeyError:
        raise HTTPException(404, f"no voice deletion schedule {schedule_id}") from None
    return Response(status_code=204)


@protected.post(
    "/deletions/run",
    response_model=schemas.DeletionRun,
    status_code=202,
    tags=["deletions"],
    summary="Run a voice deletion now",
    description="Starts at once on the bridge's deletion thread (after a run of another speaker in progress); "
                "follow it with the deletion_run events or GET /v1/deletions/runs.",
    responses={404: _PROBLEM, 409: _PROBLEM, 422: _PROBLEM, 503: _PROBLEM},
)
def run_deletion(body: schemas.DeletionRunRequest, ctx: Ctx) -> dict[str, Any]:
    try:
        return _deletions(ctx).run_now(body.model_dump())
    except RunInProgress:
        raise HTTPException(409, f"{body.speaker_id} already has a voice deletion in progress") from None
    except ValueError as err:
        raise HTTPException(422, str(err)) from None
    except RuntimeError as err:
        raise HTTPException(503, str(err)) from None


@protected.get("/deletions/runs", response_model=list[schemas.DeletionRun], tags=["deletions"],
               summary="Voice deletion runs after an id, oldest first (kept a year)", responses={404: _PROBLEM})
def list_deletion_runs(
    ctx: Ctx,
    after_id: Annotated[int, Query(ge=0, description="only runs with a greater id")] = 0,
    limit: Annotated[int, Query(ge=1, le=5000, description="at most this many")] = 500,
) -> list[dict[str, Any]]:
    return _deletions(ctx).runs(after_id, limit)


# --- events and schema -----------------------------------------------------------------------------

@protected.get(
    "/events",
    tags=["events"],
    summary="Live events as NDJSON",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {"schema": {
                         "oneOf": [schemas.Event.model_json_schema(), schemas.Sample.model_json_schema(),
                                   schemas.MicReading.model_json_schema()]}}},
                     "description": "one JSON event per line; a heartbeat line after 5 s of silence; with "
                                    "samples=1 also 10 sample lines per speaker a second and 10 mic lines "
                                    "per room microphone a second (sent every 0.2 s)"},
               503: _PROBLEM},
)
async def stream_events(
    ctx: Ctx, token: Token,
    since: Annotated[int | None, Query(ge=0, description="send the stored events after this seq first")] = None,
    samples: Annotated[bool, Query(description="also send each speaker's 10 Hz traffic samples and the room "
                                               "microphone's 10 Hz readings")] = False,
    samples_since: Annotated[float | None, Query(
        allow_inf_nan=False, description="with samples: first replay the samples after this time "
                                         "(epoch seconds; the bridge keeps the last 10 minutes)")] = None,
) -> StreamingResponse:
    if samples_since is not None and not samples:
        raise HTTPException(400, "samples_since goes with samples=1")
    try:
        lines = ctx.streams.open(since, lambda: not ctx.auth.is_revoked(token.id), owner=token.id,
                                 samples=samples, samples_since=samples_since)
    except TooManyStreams:
        raise HTTPException(503, "too many event streams are open; try again later") from None
    return StreamingResponse(lines, media_type="application/x-ndjson", headers={"Cache-Control": "no-store"})


@protected.get("/openapi.json", include_in_schema=False)
async def openapi_schema(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


# --- the app ---------------------------------------------------------------------------------------

def create_app(
    engine: Any,
    store: Any,
    identity: BridgeIdentity,
    pairing: PairingManager,
    *,
    heartbeat_s: float = HEARTBEAT_S,
    clock: Callable[[], float] = time.time,
    microphone: Any = None,
    destinations: Any = None,
    deletions: Any = None,
) -> FastAPI:
    """The API for one bridge. `app.state.bridge.streams.close()` ends every event stream (on shutdown).
    `microphone`: the bridge's RoomMicrophone, whose history the traffic history includes. `destinations`: the
    DestinationTracker behind the destination and block routes (None: they answer 404). `deletions`: the
    DeletionRunner behind the voice deletion routes (None: they answer 404)."""
    app = FastAPI(
        title="Earmuff bridge",
        version=identity.version,
        summary="Hardware mute, schedules, traffic, activations, voice deletions and events of one Earmuff bridge. "
        "HTTPS only; pin the certificate.",
        openapi_url=None,  # served below, behind the token
        docs_url=None,
        redoc_url=None,
    )
    config = getattr(engine, "config", None)
    monitor = getattr(engine, "monitor", None)
    app.state.bridge = _Context(
        engine=engine,
        store=store,
        identity=identity,
        pairing=pairing,
        auth=pairing.authenticator,
        streams=StreamHub(engine.events, heartbeat_s=heartbeat_s, clock=clock, samples=monitor),
        speakers={s.id: s for s in getattr(config, "speakers", ())},
        monitor=monitor,
        microphone=microphone,
        destinations=destinations,
        deletions=deletions,
        clock=clock,
    )
    app.include_router(public)
    app.include_router(protected)
    app.add_exception_handler(PairingError, _pairing_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    return app


async def _pairing_error(_request: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, PairingError)
    if isinstance(err, PairingLocked):
        return JSONResponse({"detail": str(err), "retry_after": err.retry_after}, status_code=429,
                            headers={"Retry-After": str(err.retry_after)})
    return JSONResponse({"detail": str(err)}, status_code=err.status)


async def _validation_error(_request: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, RequestValidationError)
    errors = jsonable_encoder(err.errors())
    parts = []
    for error in errors:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid")))
    return JSONResponse({"detail": "; ".join(parts) or "invalid request", "errors": errors}, status_code=422)
